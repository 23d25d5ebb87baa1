package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/store"
	storekv "github.com/hutong/hutong/store/kv"
	"github.com/hutong/hutong/store/pebble"
)

var (
	quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
	t0    = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
)

func openStore(t testing.TB, dir string) *pebble.Store {
	t.Helper()
	s, err := pebble.Open(dir, pebble.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20, Logger: quiet})
	if err != nil {
		t.Fatalf("pebble.Open(%s): %v", dir, err)
	}
	return s
}

// newDirectory returns a directory over a fresh store that is closed when
// the test ends, and its clock.
func newDirectory(t testing.TB) (*Directory, *clock.Fake, storekv.Space) {
	t.Helper()
	s := openStore(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	clk := clock.NewFake(t0)
	return New(s.KV(), clk), clk, s.KV()
}

func msisdn(n string) Party { return Party{Type: TypeMSISDN, ID: n} }

func mustRegister(t *testing.T, d *Directory, e Entry) Entry {
	t.Helper()
	got, err := d.Register(t.Context(), e)
	if err != nil {
		t.Fatalf("Register(%+v): %v", e, err)
	}
	return got
}

func TestRegisterLookupRemove(t *testing.T) {
	d, clk, _ := newDirectory(t)
	ctx := t.Context()

	// Registered under one spelling, found under the other.
	got := mustRegister(t, d, Entry{Party: msisdn("+255712345678"), FSP: "dfsp1", Currency: "USD"})
	want := Entry{Party: msisdn("255712345678"), FSP: "dfsp1", Currency: "USD", Updated: t0}
	if got != want {
		t.Fatalf("Register = %+v, want %+v", got, want)
	}
	for _, tt := range []struct {
		p        Party
		currency string
		err      error
	}{
		{msisdn("255712345678"), "", nil},
		{msisdn("+255712345678"), "", nil},
		{msisdn("255712345678"), "USD", nil},
		{msisdn("255712345678"), "TZS", ErrNotFound},
		{msisdn("255712345679"), "", ErrNotFound},
	} {
		got, err := d.Lookup(ctx, tt.p, tt.currency)
		if !errors.Is(err, tt.err) {
			t.Fatalf("Lookup(%v, %q) error = %v, want %v", tt.p, tt.currency, err, tt.err)
		}
		if err == nil && got != want {
			t.Fatalf("Lookup(%v, %q) = %+v, want %+v", tt.p, tt.currency, got, want)
		}
	}

	// The same registration again changes nothing, not even the time.
	clk.Advance(time.Minute)
	if got := mustRegister(t, d, Entry{Party: msisdn("255712345678"), FSP: "dfsp1", Currency: "USD"}); got != want {
		t.Fatalf("Register again = %+v, want %+v", got, want)
	}
	// Another currency from the owner is an update.
	want = Entry{Party: msisdn("255712345678"), FSP: "dfsp1", Currency: "TZS", Updated: t0.Add(time.Minute)}
	if got := mustRegister(t, d, Entry{Party: msisdn("255712345678"), FSP: "dfsp1", Currency: "TZS"}); got != want {
		t.Fatalf("Register TZS = %+v, want %+v", got, want)
	}
	if _, err := d.Lookup(ctx, msisdn("255712345678"), "USD"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup USD after the change: %v, want ErrNotFound", err)
	}

	// Another FSP can neither take nor remove it.
	got, err := d.Register(ctx, Entry{Party: msisdn("255712345678"), FSP: "dfsp2"})
	if !errors.Is(err, ErrOwnedElsewhere) || got != want {
		t.Fatalf("Register by dfsp2 = %+v, %v; want %+v, ErrOwnedElsewhere", got, err, want)
	}
	if _, err := d.Remove(ctx, msisdn("255712345678"), "dfsp2", ""); !errors.Is(err, ErrOwnedElsewhere) {
		t.Fatalf("Remove by dfsp2: %v, want ErrOwnedElsewhere", err)
	}
	// A remove for a currency the entry does not serve finds nothing.
	if _, err := d.Remove(ctx, msisdn("255712345678"), "dfsp1", "USD"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Remove USD: %v, want ErrNotFound", err)
	}
	if got, err := d.Lookup(ctx, msisdn("255712345678"), ""); err != nil || got != want {
		t.Fatalf("Lookup after refused changes = %+v, %v; want %+v", got, err, want)
	}

	// The owner removes it; then it is free for dfsp2.
	got, err = d.Remove(ctx, msisdn("+255712345678"), "dfsp1", "TZS")
	if err != nil || got != want {
		t.Fatalf("Remove = %+v, %v; want %+v", got, err, want)
	}
	if _, err := d.Lookup(ctx, msisdn("255712345678"), ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup after Remove: %v, want ErrNotFound", err)
	}
	if _, err := d.Remove(ctx, msisdn("255712345678"), "dfsp1", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Remove again: %v, want ErrNotFound", err)
	}
	mustRegister(t, d, Entry{Party: msisdn("255712345678"), FSP: "dfsp2"})
	if got, err := d.Lookup(ctx, msisdn("255712345678"), "EUR"); err != nil || got.FSP != "dfsp2" {
		t.Fatalf("Lookup of dfsp2's any-currency entry for EUR = %+v, %v", got, err)
	}
	if es, _, err := d.List(ctx, "dfsp1", "", 0); err != nil || len(es) != 0 {
		t.Fatalf("List(dfsp1) = %+v, %v; want nothing", es, err)
	}
}

func TestSubIDsAreDistinctParties(t *testing.T) {
	d, _, _ := newDirectory(t)
	ctx := t.Context()
	parties := []Entry{
		{Party: Party{TypeBusiness, "shoe", ""}, FSP: "dfsp1"},
		{Party: Party{TypeBusiness, "shoe", "emp1"}, FSP: "dfsp2"},
		{Party: Party{TypeAlias, "shoe", ""}, FSP: "dfsp3"},
		{Party: Party{TypeBusiness, "Shoe", ""}, FSP: "dfsp4"},
		{Party: Party{TypePersonalID, "123", "PASSPORT"}, FSP: "dfsp1"},
		{Party: Party{TypePersonalID, "123", "DRIVING_LICENSE"}, FSP: "dfsp2"},
	}
	for _, e := range parties {
		mustRegister(t, d, e)
	}
	for _, e := range parties {
		got, err := d.Lookup(ctx, e.Party, "")
		if err != nil || got.FSP != e.FSP {
			t.Errorf("Lookup(%v) = %+v, %v; want %s", e.Party, got, err, e.FSP)
		}
	}
}

func TestInvalidRequests(t *testing.T) {
	d, _, _ := newDirectory(t)
	ctx := t.Context()
	good := msisdn("255712345678")
	tests := []struct {
		name  string
		call  func() error
		field string
		err   error
	}{
		{"register bad party", func() error {
			_, err := d.Register(ctx, Entry{Party: msisdn("0712"), FSP: "dfsp1"})
			return err
		}, "partyIdentifier", ErrInvalidParty},
		{"register unknown type", func() error {
			_, err := d.Register(ctx, Entry{Party: Party{Type: "PHONE", ID: "1"}, FSP: "dfsp1"})
			return err
		}, "partyIdType", ErrUnknownType},
		{"register no fsp", func() error {
			_, err := d.Register(ctx, Entry{Party: good})
			return err
		}, "fspId", ErrInvalidFSP},
		{"register bad fsp", func() error {
			_, err := d.Register(ctx, Entry{Party: good, FSP: "dfsp/1"})
			return err
		}, "fspId", ErrInvalidFSP},
		{"register hub", func() error {
			_, err := d.Register(ctx, Entry{Party: good, FSP: "hub"})
			return err
		}, "fspId", ErrInvalidFSP},
		{"register fsp 33", func() error {
			_, err := d.Register(ctx, Entry{Party: good, FSP: strings.Repeat("f", 33)})
			return err
		}, "fspId", ErrInvalidFSP},
		{"register lower currency", func() error {
			_, err := d.Register(ctx, Entry{Party: good, FSP: "dfsp1", Currency: "usd"})
			return err
		}, "currency", ErrInvalidCurrency},
		{"register unknown currency", func() error {
			_, err := d.Register(ctx, Entry{Party: good, FSP: "dfsp1", Currency: "ABC"})
			return err
		}, "currency", ErrInvalidCurrency},
		{"lookup bad party", func() error {
			_, err := d.Lookup(ctx, Party{Type: TypeIBAN, ID: "GB00"}, "")
			return err
		}, "partyIdentifier", ErrInvalidParty},
		{"lookup bad currency", func() error {
			_, err := d.Lookup(ctx, good, "US")
			return err
		}, "currency", ErrInvalidCurrency},
		{"remove bad party", func() error {
			_, err := d.Remove(ctx, Party{Type: TypePersonalID, ID: "1"}, "dfsp1", "")
			return err
		}, "partySubIdOrType", ErrInvalidParty},
		{"remove no fsp", func() error {
			_, err := d.Remove(ctx, good, "", "")
			return err
		}, "fspId", ErrInvalidFSP},
		{"remove bad currency", func() error {
			_, err := d.Remove(ctx, good, "dfsp1", "XXXX")
			return err
		}, "currency", ErrInvalidCurrency},
		{"list bad fsp", func() error {
			_, _, err := d.List(ctx, "", "", 0)
			return err
		}, "fspId", ErrInvalidFSP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want a *FieldError for %s matching %v", err, tt.field, tt.err)
			}
		})
	}
	if es, _, err := d.List(ctx, "dfsp1", "", 0); err != nil || len(es) != 0 {
		t.Fatalf("after only invalid requests, List = %+v, %v; want nothing", es, err)
	}
}

// wideParty has identifiers of 128 four-byte characters, whose readable key
// would pass the store's key limit.
func wideParty(c rune) Party {
	return Party{Type: TypeAlias, ID: strings.Repeat(string(c), 128), SubID: strings.Repeat("𝄞", 128)}
}

func TestHashedKeys(t *testing.T) {
	d, _, kv := newDirectory(t)
	ctx := t.Context()
	p, q := wideParty('𝄞'), wideParty('𝄢')
	if _, hashed := keySuffix(p); !hashed {
		t.Fatalf("keySuffix(%d+%d bytes) is not hashed", len(p.ID), len(p.SubID))
	}
	mustRegister(t, d, Entry{Party: p, FSP: "dfsp1"})
	mustRegister(t, d, Entry{Party: q, FSP: "dfsp2"})
	for _, tt := range []struct {
		p   Party
		fsp string
	}{{p, "dfsp1"}, {q, "dfsp2"}} {
		got, err := d.Lookup(ctx, tt.p, "")
		if err != nil || got.FSP != tt.fsp || got.Party != tt.p {
			t.Fatalf("Lookup = %+v, %v; want %s", got, err, tt.fsp)
		}
	}
	es, _, err := d.List(ctx, "dfsp1", "", 0)
	if err != nil || len(es) != 1 || es[0].Party != p {
		t.Fatalf("List(dfsp1) = %+v, %v; want the wide party", es, err)
	}
	var keys int
	err = kv.Scan(ctx, []byte("dir/"), 0, func(k, _ []byte) error {
		keys++
		if len(k) > storekv.MaxKey {
			t.Errorf("key of %d bytes", len(k))
		}
		return nil
	})
	if err != nil || keys != 4 {
		t.Fatalf("scan: %d keys, %v; want 4", keys, err)
	}
	if _, err := d.Remove(ctx, p, "dfsp1", ""); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := d.Lookup(ctx, p, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup after Remove: %v", err)
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	d := New(s.KV(), clock.NewFake(t0))
	ctx := t.Context()
	entries := []Entry{
		{Party: msisdn("255712345678"), FSP: "dfsp1", Currency: "TZS"},
		{Party: Party{Type: TypeEmail, ID: "Jane@Example.org"}, FSP: "dfsp2"},
		{Party: Party{Type: TypeIBAN, ID: "DE89 3704 0044 0532 0130 00"}, FSP: "dfsp1", Currency: "EUR"},
		{Party: wideParty('𝄞'), FSP: "dfsp2"},
	}
	var want []Entry
	for _, e := range entries {
		want = append(want, mustRegister(t, d, e))
	}
	if _, err := d.Remove(ctx, want[0].Party, "dfsp1", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir)
	defer s.Close()
	d = New(s.KV(), clock.NewFake(t0.Add(time.Hour)))
	if _, err := d.Lookup(ctx, want[0].Party, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed entry after reopen: %v, want ErrNotFound", err)
	}
	for _, w := range want[1:] {
		got, err := d.Lookup(ctx, w.Party, "")
		if err != nil || got != w {
			t.Errorf("after reopen Lookup(%v) = %+v, %v; want %+v", w.Party, got, err, w)
		}
	}
	es, _, err := d.List(ctx, "dfsp2", "", 0)
	if err != nil || len(es) != 2 {
		t.Fatalf("List(dfsp2) after reopen = %+v, %v; want 2", es, err)
	}
}

func TestRegisterMany(t *testing.T) {
	d, clk, _ := newDirectory(t)
	ctx := t.Context()
	mustRegister(t, d, Entry{Party: msisdn("111"), FSP: "dfsp2"})
	mustRegister(t, d, Entry{Party: msisdn("222"), FSP: "dfsp1", Currency: "USD"})
	clk.Advance(time.Second)
	t1 := t0.Add(time.Second)

	batch := []Entry{
		0:  {Party: msisdn("+333"), FSP: "dfsp1"},                 // new
		1:  {Party: msisdn("0333"), FSP: "dfsp1"},                 // malformed
		2:  {Party: msisdn("111"), FSP: "dfsp1"},                  // dfsp2's
		3:  {Party: msisdn("222"), FSP: "dfsp1", Currency: "USD"}, // unchanged
		4:  {Party: msisdn("444"), FSP: "dfsp1"},                  // new ...
		5:  {Party: msisdn("+444"), FSP: "dfsp3"},                 // ... so not dfsp3's
		6:  {Party: msisdn("555"), FSP: "dfsp1", Currency: "USD"}, // new ...
		7:  {Party: msisdn("555"), FSP: "dfsp1", Currency: "EUR"}, // ... and changed: the last wins
		8:  {Party: msisdn("666"), FSP: "dfsp1", Currency: "NOT"}, // bad currency
		9:  {Party: Party{TypeAlias, "x", ""}, FSP: "hub"},        // bad FSP
		10: {Party: Party{TypeAlias, "shop", ""}, FSP: "dfsp1"},   // new
		11: {Party: Party{TypeAlias, "shop", ""}, FSP: "dfsp1"},   // repeated in the batch
	}
	errs := d.RegisterMany(ctx, batch)
	if len(errs) != len(batch) {
		t.Fatalf("%d errors for %d entries", len(errs), len(batch))
	}
	wantErr := []error{nil, ErrInvalidParty, ErrOwnedElsewhere, nil, nil, ErrOwnedElsewhere, nil, nil, ErrInvalidCurrency, ErrInvalidFSP, nil, nil}
	for i, want := range wantErr {
		if want == nil && errs[i] != nil || !errors.Is(errs[i], want) {
			t.Errorf("entry %d (%+v): error %v, want %v", i, batch[i], errs[i], want)
		}
	}
	want := map[string]Entry{
		"111": {Party: msisdn("111"), FSP: "dfsp2", Updated: t0},
		"222": {Party: msisdn("222"), FSP: "dfsp1", Currency: "USD", Updated: t0},
		"333": {Party: msisdn("333"), FSP: "dfsp1", Updated: t1},
		"444": {Party: msisdn("444"), FSP: "dfsp1", Updated: t1},
		"555": {Party: msisdn("555"), FSP: "dfsp1", Currency: "EUR", Updated: t1},
	}
	for id, w := range want {
		got, err := d.Lookup(ctx, msisdn(id), "")
		if err != nil || got != w {
			t.Errorf("Lookup(%s) = %+v, %v; want %+v", id, got, err, w)
		}
	}
	if _, err := d.Lookup(ctx, msisdn("666"), ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(666): %v, want ErrNotFound", err)
	}
	es, _, err := d.List(ctx, "dfsp1", "", 0)
	if err != nil || len(es) != 5 {
		t.Fatalf("List(dfsp1) = %+v, %v; want 5 entries", es, err)
	}
	if errs := d.RegisterMany(ctx, nil); len(errs) != 0 {
		t.Fatalf("RegisterMany(nil) = %v", errs)
	}
}

// faultyKV fails every Apply while fail is set.
type faultyKV struct {
	storekv.Space
	fail atomic.Bool
}

var errDisk = errors.New("disk on fire")

func (f *faultyKV) Apply(ctx context.Context, b *storekv.Batch) error {
	if f.fail.Load() {
		return errDisk
	}
	return f.Space.Apply(ctx, b)
}

func TestWriteFailure(t *testing.T) {
	_, _, kv := newDirectory(t)
	fkv := &faultyKV{Space: kv}
	d := New(fkv, clock.NewFake(t0))
	ctx := t.Context()
	mustRegister(t, d, Entry{Party: msisdn("111"), FSP: "dfsp1"})
	fkv.fail.Store(true)

	errs := d.RegisterMany(ctx, []Entry{
		{Party: msisdn("111"), FSP: "dfsp1"}, // already stored: no write needed
		{Party: msisdn("222"), FSP: "dfsp1"},
		{Party: msisdn("222"), FSP: "dfsp1"},
		{Party: msisdn("333"), FSP: "dfsp2"},
		{Party: msisdn("0"), FSP: "dfsp2"},
	})
	wantErr := []error{nil, errDisk, errDisk, errDisk, ErrInvalidParty}
	for i, want := range wantErr {
		if want == nil && errs[i] != nil || !errors.Is(errs[i], want) {
			t.Errorf("entry %d: error %v, want %v", i, errs[i], want)
		}
	}
	if _, err := d.Register(ctx, Entry{Party: msisdn("444"), FSP: "dfsp1"}); !errors.Is(err, errDisk) {
		t.Errorf("Register: %v, want errDisk", err)
	}
	if _, err := d.Remove(ctx, msisdn("111"), "dfsp1", ""); !errors.Is(err, errDisk) {
		t.Errorf("Remove: %v, want errDisk", err)
	}
	fkv.fail.Store(false)
	for _, id := range []string{"222", "333", "444"} {
		if _, err := d.Lookup(ctx, msisdn(id), ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup(%s) after failed writes: %v, want ErrNotFound", id, err)
		}
	}
	if got, err := d.Lookup(ctx, msisdn("111"), ""); err != nil || got.FSP != "dfsp1" {
		t.Errorf("Lookup(111) after a failed Remove = %+v, %v", got, err)
	}
}

func TestList(t *testing.T) {
	d, _, _ := newDirectory(t)
	ctx := t.Context()
	var batch []Entry
	for i := range 25 {
		batch = append(batch, Entry{Party: msisdn(fmt.Sprintf("1%03d", i)), FSP: "dfsp1"})
	}
	for i := range 5 {
		batch = append(batch, Entry{Party: msisdn(fmt.Sprintf("2%03d", i)), FSP: "dfsp10"})
	}
	batch = append(batch, Entry{Party: Party{TypeAlias, "zz", ""}, FSP: "dfsp1"})
	for i, err := range d.RegisterMany(ctx, batch) {
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}

	var all []Entry
	cursor, pages := "", 0
	for {
		es, next, err := d.List(ctx, "dfsp1", cursor, 10)
		if err != nil {
			t.Fatalf("List page %d: %v", pages, err)
		}
		pages++
		all = append(all, es...)
		if next == "" {
			break
		}
		if len(es) != 10 {
			t.Fatalf("page %d has %d entries and a next cursor", pages, len(es))
		}
		cursor = next
	}
	if pages != 3 || len(all) != 26 {
		t.Fatalf("%d pages, %d entries; want 3, 26", pages, len(all))
	}
	// Ordered by key: ALIAS before MSISDN, identifiers in order.
	if all[0].Party != (Party{TypeAlias, "zz", ""}) {
		t.Errorf("first entry %+v, want the ALIAS", all[0])
	}
	for i, e := range all[1:] {
		if want := msisdn(fmt.Sprintf("1%03d", i)); e.Party != want || e.FSP != "dfsp1" || e.Updated != t0 {
			t.Errorf("entry %d = %+v, want %v of dfsp1", i+1, e, want)
		}
	}
	// dfsp10's entries are its own, not under dfsp1.
	es, next, err := d.List(ctx, "dfsp10", "", 0)
	if err != nil || len(es) != 5 || next != "" {
		t.Fatalf("List(dfsp10) = %d entries, %q, %v; want 5", len(es), next, err)
	}
	// A page exactly full has no next cursor.
	if es, next, err := d.List(ctx, "dfsp10", "", 5); err != nil || len(es) != 5 || next != "" {
		t.Fatalf("List(dfsp10, 5) = %d entries, %q, %v; want 5 and no cursor", len(es), next, err)
	}
	for _, c := range []string{"!!", "a b", "="} {
		if _, _, err := d.List(ctx, "dfsp1", c, 0); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("List with cursor %q: %v, want ErrInvalidCursor", c, err)
		}
	}
	if es, _, err := d.List(ctx, "nobody", "", 0); err != nil || len(es) != 0 {
		t.Errorf("List(nobody) = %+v, %v", es, err)
	}
}

func TestCorruptRecord(t *testing.T) {
	d, _, kv := newDirectory(t)
	ctx := t.Context()
	p := msisdn("255712345678")
	e := mustRegister(t, d, Entry{Party: p, FSP: "dfsp1"})
	suffix, _ := keySuffix(p)
	good := appendRecord(nil, &e)
	bad := [][]byte{
		nil,
		{},
		{2},                                  // unknown version
		good[:len(good)-1],                   // truncated
		append(good, 0),                      // trailing byte
		{1, 5, 'd', 'f'},                     // length past the end
		{1, 0, 2, 'U', 'S', 0, 1, 1, '1', 0}, // currency of 2 bytes
		{1, 0, 0, 0, 9, 1, '1', 0},           // type code 9
	}
	for i, v := range bad {
		b := &storekv.Batch{}
		b.Set(partyKey(suffix), v)
		if err := kv.Apply(ctx, b); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Lookup(ctx, p, ""); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("record %d %x: Lookup error %v, want store.ErrCorrupt", i, v, err)
		}
		if _, err := d.Register(ctx, Entry{Party: p, FSP: "dfsp1"}); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("record %d %x: Register error %v, want store.ErrCorrupt", i, v, err)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	tests := []Entry{
		{Party: msisdn("1"), FSP: "d", Updated: time.Unix(0, 0).UTC()},
		{Party: Party{TypePersonalID, "A123", "PASSPORT"}, FSP: "dfsp-1.x_y", Currency: "USD", Updated: t0},
		{Party: wideParty('𝄞'), FSP: strings.Repeat("f", 32), Currency: "XOF", Updated: time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC)},
	}
	for _, e := range tests {
		b := appendRecord(nil, &e)
		got, _, err := decodeRecord(b, true)
		if err != nil || got != e {
			t.Errorf("decode(encode(%+v)) = %+v, %v", e, got, err)
		}
	}
}

// Two FSPs registering the same parties at once: each party gets exactly
// one owner, and the store agrees with what the winners were told.
func TestConcurrentRegister(t *testing.T) {
	d, _, _ := newDirectory(t)
	ctx := t.Context()
	const parties, fsps = 40, 4
	winners := make([][]string, parties) // by party, the FSPs told they hold it
	var mu sync.Mutex
	var wg sync.WaitGroup
	for f := range fsps {
		fsp := fmt.Sprintf("dfsp%d", f)
		wg.Go(func() {
			for i := range parties {
				_, err := d.Register(ctx, Entry{Party: msisdn(fmt.Sprintf("9%d", i)), FSP: fsp})
				switch {
				case err == nil:
					mu.Lock()
					winners[i] = append(winners[i], fsp)
					mu.Unlock()
				case !errors.Is(err, ErrOwnedElsewhere):
					t.Errorf("Register: %v", err)
				}
			}
		})
		// Batches that overlap each other and the single registrations,
		// in another order, to catch a lock-order deadlock.
		wg.Go(func() {
			var batch []Entry
			for i := parties - 1; i >= 0; i-- {
				batch = append(batch, Entry{Party: msisdn(fmt.Sprintf("9%d", i)), FSP: fsp})
			}
			for j, err := range d.RegisterMany(ctx, batch) {
				i := parties - 1 - j
				switch {
				case err == nil:
					mu.Lock()
					winners[i] = append(winners[i], fsp)
					mu.Unlock()
				case !errors.Is(err, ErrOwnedElsewhere):
					t.Errorf("RegisterMany: %v", err)
				}
			}
		})
	}
	wg.Wait()
	for i, ws := range winners {
		got, err := d.Lookup(ctx, msisdn(fmt.Sprintf("9%d", i)), "")
		if err != nil {
			t.Fatalf("Lookup(9%d): %v", i, err)
		}
		// The holder may be told twice (a registration and a batch,
		// the second a no-op), but no other FSP may be told it won.
		for _, w := range ws {
			if w != got.FSP {
				t.Errorf("party 9%d: %s was told it holds it, the store says %s (winners %v)", i, w, got.FSP, ws)
			}
		}
		if len(ws) == 0 {
			t.Errorf("party 9%d: no winner, the store says %s", i, got.FSP)
		}
	}
}
