package directory

import (
	"errors"
	"github.com/hutong/hutong/internal/testseed"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestRandomOps drives a directory with random registrations, batches,
// removals and lookups, over parties given under several spellings, and
// after every step checks it against a plain map: every party's lookup
// and every FSP's list.
func TestRandomOps(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	d, clk, _ := newDirectory(t)
	ctx := t.Context()

	// Each party with spellings that normalize to it.
	spellings := [][]Party{
		{msisdn("255712345678"), msisdn("+255712345678")},
		{msisdn("16135551212"), msisdn("+16135551212")},
		{{TypeEmail, "jane@example.org", ""}, {TypeEmail, "jane@EXAMPLE.org", ""}, {TypeEmail, "jane@Example.Org", ""}},
		{{TypeEmail, "Jane@example.org", ""}},
		{{TypeIBAN, "GB82WEST12345698765432", ""}, {TypeIBAN, "gb82 west 1234 5698 7654 32", ""}},
		{{TypeIBAN, "DE89370400440532013000", ""}, {TypeIBAN, "DE89 3704 0044 0532 0130 00", ""}},
		{{TypePersonalID, "123", "PASSPORT"}},
		{{TypePersonalID, "123", "VOTERS_ID"}},
		{{TypeBusiness, "shoe", ""}},
		{{TypeBusiness, "shoe", "till-1"}},
		{{TypeAlias, "shoe", ""}},
		{wideParty('𝄞')},
	}
	fsps := []string{"dfsp1", "dfsp2", "dfsp3"}
	currencies := []string{"", "", "USD", "TZS"}
	pick := func() (Party, Party) {
		ps := spellings[rng.IntN(len(spellings))]
		return ps[rng.IntN(len(ps))], ps[0]
	}

	model := map[Party]Entry{} // by normalized party
	register := func(p, canon Party, fsp, cur string) error {
		cur0, ok := model[canon]
		switch {
		case ok && cur0.FSP != fsp:
			return ErrOwnedElsewhere
		case ok && cur0.Currency == cur:
		default:
			model[canon] = Entry{Party: canon, FSP: fsp, Currency: cur, Updated: clk.Now()}
		}
		return nil
	}
	sameErr := func(got, want error) bool {
		if want == nil {
			return got == nil
		}
		return errors.Is(got, want)
	}

	for step := range 400 {
		clk.Advance(time.Millisecond)
		switch op := rng.IntN(10); {
		case op < 4:
			p, canon := pick()
			fsp, cur := fsps[rng.IntN(len(fsps))], currencies[rng.IntN(len(currencies))]
			want := register(p, canon, fsp, cur)
			_, err := d.Register(ctx, Entry{Party: p, FSP: fsp, Currency: cur})
			if !sameErr(err, want) {
				t.Fatalf("step %d: Register(%v, %s, %q) = %v, want %v", step, p, fsp, cur, err, want)
			}
		case op < 6:
			n := 1 + rng.IntN(5)
			var batch []Entry
			var want []error
			for range n {
				p, canon := pick()
				fsp, cur := fsps[rng.IntN(len(fsps))], currencies[rng.IntN(len(currencies))]
				batch = append(batch, Entry{Party: p, FSP: fsp, Currency: cur})
				want = append(want, register(p, canon, fsp, cur))
			}
			errs := d.RegisterMany(ctx, batch)
			for i := range batch {
				if !sameErr(errs[i], want[i]) {
					t.Fatalf("step %d: RegisterMany entry %d %+v: %v, want %v", step, i, batch[i], errs[i], want[i])
				}
			}
		case op < 8:
			p, canon := pick()
			fsp, cur := fsps[rng.IntN(len(fsps))], currencies[rng.IntN(len(currencies))]
			var want error
			e, ok := model[canon]
			switch {
			case !ok || !e.matches(cur):
				want = ErrNotFound
			case e.FSP != fsp:
				want = ErrOwnedElsewhere
			default:
				delete(model, canon)
			}
			got, err := d.Remove(ctx, p, fsp, cur)
			if !sameErr(err, want) || err == nil && got != e {
				t.Fatalf("step %d: Remove(%v, %s, %q) = %+v, %v; want %+v, %v", step, p, fsp, cur, got, err, e, want)
			}
		default:
			p, canon := pick()
			cur := currencies[rng.IntN(len(currencies))]
			e, ok := model[canon]
			got, err := d.Lookup(ctx, p, cur)
			if !ok || !e.matches(cur) {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("step %d: Lookup(%v, %q) = %+v, %v; want ErrNotFound", step, p, cur, got, err)
				}
			} else if err != nil || got != e {
				t.Fatalf("step %d: Lookup(%v, %q) = %+v, %v; want %+v", step, p, cur, got, err, e)
			}
		}
		checkModel(t, step, d, model, spellings, fsps)
	}
}

func checkModel(t *testing.T, step int, d *Directory, model map[Party]Entry, spellings [][]Party, fsps []string) {
	t.Helper()
	ctx := t.Context()
	for _, ps := range spellings {
		e, ok := model[ps[0]]
		for _, p := range ps {
			got, err := d.Lookup(ctx, p, "")
			if !ok {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("step %d: Lookup(%v) = %+v, %v; want ErrNotFound", step, p, got, err)
				}
			} else if err != nil || got != e {
				t.Fatalf("step %d: Lookup(%v) = %+v, %v; want %+v", step, p, got, err, e)
			}
		}
	}
	for _, fsp := range fsps {
		var want []Entry
		for _, e := range model {
			if e.FSP == fsp {
				want = append(want, e)
			}
		}
		var got []Entry
		cursor := ""
		for {
			es, next, err := d.List(ctx, fsp, cursor, 2)
			if err != nil {
				t.Fatalf("step %d: List(%s): %v", step, fsp, err)
			}
			got = append(got, es...)
			if next == "" {
				break
			}
			cursor = next
		}
		key := func(e Entry) string { s, _ := keySuffix(e.Party); return s }
		byKey := func(a, b Entry) int {
			switch ka, kb := key(a), key(b); {
			case ka < kb:
				return -1
			case ka > kb:
				return 1
			}
			return 0
		}
		slices.SortFunc(want, byKey)
		if !slices.IsSortedFunc(got, byKey) {
			t.Fatalf("step %d: List(%s) out of order: %+v", step, fsp, got)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: List(%s) = %+v, want %+v", step, fsp, got, want)
		}
	}
}
