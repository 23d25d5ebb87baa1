package ledger_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
)

// t0 is when every test ledger starts.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// tid returns a distinct non-zero transfer id for n.
func tid(n int) ledger.ID {
	var id ledger.ID
	binary.BigEndian.PutUint64(id[:8], uint64(n))
	id[15] = 0x5a
	return id
}

// ful returns a fulfilment for n; its condition is ledger.ConditionOf(ful(n)).
func ful(n int) [32]byte {
	var f [32]byte
	binary.BigEndian.PutUint64(f[:8], uint64(n))
	f[31] = 0xf1
	return f
}

func fingerprint(s string) [32]byte {
	var f [32]byte
	copy(f[:], s)
	f[31] = 1
	return f
}

// state is a comparable copy of everything a ledger exposes, sorted.
type state struct {
	Participants []ledger.Participant
	Accounts     []ledger.Account
	Pending      []ledger.Transfer
}

func snapshot(l *ledger.Ledger) state {
	s := state{Participants: l.Participants(), Accounts: l.Accounts(), Pending: l.Pending()}
	slices.SortFunc(s.Participants, func(a, b ledger.Participant) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(s.Accounts, func(a, b ledger.Account) int { return strings.Compare(a.AccountKey.String(), b.AccountKey.String()) })
	slices.SortFunc(s.Pending, func(a, b ledger.Transfer) int { return slices.Compare(a.ID[:], b.ID[:]) })
	return s
}

func mustApply(t *testing.T, l *ledger.Ledger, now time.Time, c ledger.Command) ledger.Result {
	t.Helper()
	r, err := l.Apply(now, &c)
	if err != nil {
		t.Fatalf("Apply(%s %s %s): %v", c.Op, c.ID, c.Participant, err)
	}
	return r
}

// mustFail applies c, checks that it fails with want, and that it changed
// nothing the ledger exposes.
func mustFail(t *testing.T, l *ledger.Ledger, now time.Time, c ledger.Command, want error) error {
	t.Helper()
	before := snapshot(l)
	beforeT, beforeOK := l.InMemory(c.ID)
	r, err := l.Apply(now, &c)
	if !errors.Is(err, want) {
		t.Fatalf("Apply(%s) = %+v, %v; want error %v", c.Op, r, err, want)
	}
	if !reflect.DeepEqual(r, ledger.Result{}) {
		t.Errorf("Apply(%s) failed but returned result %+v", c.Op, r)
	}
	if after := snapshot(l); !reflect.DeepEqual(before, after) {
		t.Errorf("failed %s changed the ledger:\nbefore %+v\nafter  %+v", c.Op, before, after)
	}
	afterT, afterOK := l.InMemory(c.ID)
	if beforeOK != afterOK || !reflect.DeepEqual(beforeT, afterT) {
		t.Errorf("failed %s changed transfer %s: before %+v (%v), after %+v (%v)", c.Op, c.ID, beforeT, beforeOK, afterT, afterOK)
	}
	return err
}

func account(t *testing.T, l *ledger.Ledger, p, cur string, typ ledger.AccountType) ledger.Account {
	t.Helper()
	a, ok := l.Account(ledger.AccountKey{Participant: p, Currency: cur, Type: typ})
	if !ok {
		t.Fatalf("account %s/%s/%s missing", p, cur, typ)
	}
	return a
}

// totals is what an account holds, without its key.
type totals struct{ DebitsPosted, CreditsPosted, DebitsPending, CreditsPending int64 }

func totalsOf(a ledger.Account) totals {
	return totals{a.DebitsPosted, a.CreditsPosted, a.DebitsPending, a.CreditsPending}
}

func checkAccount(t *testing.T, l *ledger.Ledger, p, cur string, typ ledger.AccountType, want totals) {
	t.Helper()
	if got := totalsOf(account(t, l, p, cur, typ)); got != want {
		t.Errorf("%s/%s/%s = %+v, want %+v", p, cur, typ, got, want)
	}
}

func create(id, name string) ledger.Command {
	return ledger.Command{Op: ledger.OpCreateParticipant, Participant: id, Name: name}
}

func enable(p, cur string) ledger.Command {
	return ledger.Command{Op: ledger.OpEnableCurrency, Participant: p, Currency: cur}
}

func setNDC(p, cur string, ndc int64) ledger.Command {
	return ledger.Command{Op: ledger.OpSetNDC, Participant: p, Currency: cur, Amount: ndc}
}

func fundsIn(n int, p, cur string, amount int64) ledger.Command {
	return ledger.Command{Op: ledger.OpFundsIn, ID: tid(n), Participant: p, Currency: cur, Amount: amount, Fingerprint: fingerprint(fmt.Sprint("in", n))}
}

func fundsOut(n int, p, cur string, amount int64) ledger.Command {
	return ledger.Command{Op: ledger.OpFundsOutReserve, ID: tid(n), Participant: p, Currency: cur, Amount: amount, Fingerprint: fingerprint(fmt.Sprint("out", n))}
}

func prepare(n int, payer, payee string, amount int64, expiry time.Time) ledger.Command {
	return ledger.Command{
		Op: ledger.OpPrepare, ID: tid(n), Payer: payer, Payee: payee, Currency: "USD", Amount: amount,
		Condition: ledger.ConditionOf(ful(n)), Expiry: expiry, Fingerprint: fingerprint(fmt.Sprint("prepare", n)),
	}
}

func fulfil(n int) ledger.Command {
	return ledger.Command{Op: ledger.OpFulfil, ID: tid(n), Fulfilment: ful(n)}
}

func abort(n int, reason string) ledger.Command {
	return ledger.Command{Op: ledger.OpAbort, ID: tid(n), Reason: reason}
}

// Participants of the standard test ledger. Each has USD enabled; payer and
// payee hold 10000 of collateral and an NDC of 5000.
const (
	payer = "payerfsp"
	payee = "payeefsp"
	other = "otherfsp"
)

func newLedger(t *testing.T) *ledger.Ledger {
	t.Helper()
	l := ledger.New(nil)
	for i, p := range []string{payer, payee, other} {
		mustApply(t, l, t0, create(p, "FSP "+p))
		mustApply(t, l, t0, enable(p, "USD"))
		if p != other {
			mustApply(t, l, t0, fundsIn(900+i, p, "USD", 10000))
			mustApply(t, l, t0, setNDC(p, "USD", 5000))
		}
	}
	return l
}

func TestCreateParticipant(t *testing.T) {
	tests := []struct {
		name, id, pname string
		want            error
	}{
		{"simple", "dfsp1", "DFSP One", nil},
		{"all allowed characters", "aZ09._-", "x", nil},
		{"32 bytes", strings.Repeat("a", 32), "x", nil},
		{"128 byte name", "dfsp1", strings.Repeat("n", 128), nil},
		{"unicode name", "dfsp1", "Bänk ✓ 銀行", nil},
		{"empty id", "", "x", ledger.ErrInvalidParticipantID},
		{"33 bytes", strings.Repeat("a", 33), "x", ledger.ErrInvalidParticipantID},
		{"hub", "hub", "x", ledger.ErrInvalidParticipantID},
		{"space", "a b", "x", ledger.ErrInvalidParticipantID},
		{"slash", "a/b", "x", ledger.ErrInvalidParticipantID},
		{"colon", "a:b", "x", ledger.ErrInvalidParticipantID},
		{"non-ascii", "bänk", "x", ledger.ErrInvalidParticipantID},
		{"nul", "a\x00", "x", ledger.ErrInvalidParticipantID},
		{"empty name", "dfsp1", "", ledger.ErrInvalidName},
		{"129 byte name", "dfsp1", strings.Repeat("n", 129), ledger.ErrInvalidName},
		{"newline in name", "dfsp1", "a\nb", ledger.ErrInvalidName},
		{"nul in name", "dfsp1", "a\x00b", ledger.ErrInvalidName},
		{"invalid utf-8 name", "dfsp1", "a\xffb", ledger.ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ledger.New(nil)
			if tt.want != nil {
				mustFail(t, l, t0, create(tt.id, tt.pname), tt.want)
				if got := len(l.Participants()); got != 0 {
					t.Errorf("%d participants after a failed create, want 0", got)
				}
				return
			}
			r := mustApply(t, l, t0, create(tt.id, tt.pname))
			want := ledger.Participant{ID: tt.id, Name: tt.pname, Status: ledger.StatusActive, Created: t0}
			if !reflect.DeepEqual(r.Participant, want) || r.Duplicate {
				t.Errorf("result %+v, want participant %+v, not duplicate", r, want)
			}
			got, ok := l.Participant(tt.id)
			if !ok || !reflect.DeepEqual(got, want) {
				t.Errorf("Participant(%q) = %+v, %v; want %+v", tt.id, got, ok, want)
			}
		})
	}
}

// ErrInvalidName promises names of up to 128 characters; the check counts
// bytes, so a name of 128 two-byte characters is refused.
func TestParticipantNameCountsCharacters(t *testing.T) {
	l := ledger.New(nil)
	name := strings.Repeat("é", 128)
	if _, err := l.Apply(t0, &ledger.Command{Op: ledger.OpCreateParticipant, Participant: "dfsp1", Name: name}); err != nil {
		t.Errorf("name of 128 characters (%d bytes): %v", len(name), err)
	}
	mustFail(t, l, t0, create("dfsp2", strings.Repeat("é", 129)), ledger.ErrInvalidName)
}

func TestCreateParticipantTwice(t *testing.T) {
	l := ledger.New(nil)
	first := mustApply(t, l, t0, create("dfsp1", "One"))
	t.Run("identical is a duplicate", func(t *testing.T) {
		r := mustApply(t, l, t0.Add(time.Hour), create("dfsp1", "One"))
		if !r.Duplicate {
			t.Errorf("Duplicate = false, want true")
		}
		if !reflect.DeepEqual(r.Participant, first.Participant) {
			t.Errorf("participant %+v, want the original %+v", r.Participant, first.Participant)
		}
	})
	t.Run("different name", func(t *testing.T) {
		mustFail(t, l, t0, create("dfsp1", "Two"), ledger.ErrParticipantExists)
	})
}

func TestSetStatus(t *testing.T) {
	l := ledger.New(nil)
	mustApply(t, l, t0, create("dfsp1", "One"))
	status := func(s ledger.Status) ledger.Command {
		return ledger.Command{Op: ledger.OpSetStatus, Participant: "dfsp1", Status: s}
	}
	steps := []struct {
		name      string
		cmd       ledger.Command
		want      ledger.Status
		duplicate bool
		err       error
	}{
		{"activate when active", status(ledger.StatusActive), ledger.StatusActive, true, nil},
		{"suspend", status(ledger.StatusSuspended), ledger.StatusSuspended, false, nil},
		{"suspend again", status(ledger.StatusSuspended), ledger.StatusSuspended, true, nil},
		{"activate", status(ledger.StatusActive), ledger.StatusActive, false, nil},
		{"status zero", status(0), ledger.StatusActive, false, ledger.ErrInvalidCommand},
		{"status 3", status(3), ledger.StatusActive, false, ledger.ErrInvalidCommand},
		{"unknown participant", ledger.Command{Op: ledger.OpSetStatus, Participant: "nobody", Status: ledger.StatusSuspended}, ledger.StatusActive, false, ledger.ErrParticipantNotFound},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.err != nil {
				mustFail(t, l, t0, s.cmd, s.err)
			} else {
				r := mustApply(t, l, t0, s.cmd)
				if r.Duplicate != s.duplicate || r.Participant.Status != s.want {
					t.Errorf("result status %s duplicate %v, want %s %v", r.Participant.Status, r.Duplicate, s.want, s.duplicate)
				}
			}
			if p, _ := l.Participant("dfsp1"); p.Status != s.want {
				t.Errorf("status %s, want %s", p.Status, s.want)
			}
		})
	}
}

func TestEnableCurrency(t *testing.T) {
	t.Run("errors", func(t *testing.T) {
		l := ledger.New(nil)
		mustApply(t, l, t0, create("dfsp1", "One"))
		for _, tt := range []struct {
			name string
			cmd  ledger.Command
			want error
		}{
			{"unknown participant", enable("nobody", "USD"), ledger.ErrParticipantNotFound},
			{"not ISO 4217", enable("dfsp1", "ABC"), ledger.ErrUnknownCurrency},
			{"lower case", enable("dfsp1", "usd"), ledger.ErrUnknownCurrency},
			{"empty", enable("dfsp1", ""), ledger.ErrUnknownCurrency},
			{"no minor unit", enable("dfsp1", "XAU"), ledger.ErrUnknownCurrency},
		} {
			t.Run(tt.name, func(t *testing.T) { mustFail(t, l, t0, tt.cmd, tt.want) })
		}
		if n := len(l.Accounts()); n != 0 {
			t.Errorf("%d accounts after failed enables, want 0", n)
		}
	})

	t.Run("opens accounts", func(t *testing.T) {
		l := ledger.New(nil)
		mustApply(t, l, t0, create("dfsp1", "One"))
		r := mustApply(t, l, t0, enable("dfsp1", "USD"))
		if want := []ledger.CurrencyLimit{{Currency: "USD"}}; r.Duplicate || !reflect.DeepEqual(r.Participant.Currencies, want) {
			t.Errorf("result %+v, want currencies %+v", r, want)
		}
		var got []string
		for _, a := range snapshot(l).Accounts {
			if totalsOf(a) != (totals{}) {
				t.Errorf("new account %s is not empty: %+v", a.AccountKey, a)
			}
			got = append(got, a.AccountKey.String())
		}
		want := []string{
			"dfsp1/USD/POSITION", "dfsp1/USD/SETTLEMENT",
			"hub/USD/HUB_FEES", "hub/USD/HUB_MULTILATERAL_SETTLEMENT", "hub/USD/HUB_RECONCILIATION",
		}
		if !slices.Equal(got, want) {
			t.Errorf("accounts %q, want %q", got, want)
		}
	})

	t.Run("twice is a duplicate", func(t *testing.T) {
		l := ledger.New(nil)
		mustApply(t, l, t0, create("dfsp1", "One"))
		mustApply(t, l, t0, enable("dfsp1", "USD"))
		mustApply(t, l, t0, setNDC("dfsp1", "USD", 77))
		before := snapshot(l)
		r := mustApply(t, l, t0, enable("dfsp1", "USD"))
		if !r.Duplicate {
			t.Errorf("Duplicate = false, want true")
		}
		if want := []ledger.CurrencyLimit{{Currency: "USD", NDC: 77}}; !reflect.DeepEqual(r.Participant.Currencies, want) {
			t.Errorf("currencies %+v, want %+v (NDC kept)", r.Participant.Currencies, want)
		}
		if after := snapshot(l); !reflect.DeepEqual(before, after) {
			t.Errorf("duplicate enable changed the ledger")
		}
	})

	t.Run("sorted by currency", func(t *testing.T) {
		l := ledger.New(nil)
		mustApply(t, l, t0, create("dfsp1", "One"))
		for _, c := range []string{"USD", "EUR", "KWD", "JPY"} {
			mustApply(t, l, t0, enable("dfsp1", c))
		}
		p, _ := l.Participant("dfsp1")
		var got []string
		for _, c := range p.Currencies {
			got = append(got, c.Currency)
		}
		if want := []string{"EUR", "JPY", "KWD", "USD"}; !slices.Equal(got, want) {
			t.Errorf("currencies %q, want %q", got, want)
		}
	})

	t.Run("second participant keeps hub accounts", func(t *testing.T) {
		l := ledger.New(nil)
		mustApply(t, l, t0, create("dfsp1", "One"))
		mustApply(t, l, t0, enable("dfsp1", "USD"))
		mustApply(t, l, t0, fundsIn(1, "dfsp1", "USD", 500))
		mustApply(t, l, t0, create("dfsp2", "Two"))
		mustApply(t, l, t0, enable("dfsp2", "USD"))
		checkAccount(t, l, ledger.HubID, "USD", ledger.AccountHubReconciliation, totals{CreditsPosted: 500})
	})
}

func TestSetNDC(t *testing.T) {
	l := ledger.New(nil)
	mustApply(t, l, t0, create("dfsp1", "One"))
	mustApply(t, l, t0, enable("dfsp1", "USD"))
	t.Run("negative", func(t *testing.T) { mustFail(t, l, t0, setNDC("dfsp1", "USD", -1), ledger.ErrInvalidNDC) })
	t.Run("currency not enabled", func(t *testing.T) {
		mustFail(t, l, t0, setNDC("dfsp1", "EUR", 10), ledger.ErrCurrencyNotEnabled)
	})
	t.Run("unknown participant", func(t *testing.T) {
		mustFail(t, l, t0, setNDC("nobody", "USD", 10), ledger.ErrParticipantNotFound)
	})
	for _, step := range []struct {
		ndc       int64
		duplicate bool
	}{{1000, false}, {1000, true}, {0, false}, {math.MaxInt64, false}} {
		t.Run(fmt.Sprint("set ", step.ndc), func(t *testing.T) {
			r := mustApply(t, l, t0, setNDC("dfsp1", "USD", step.ndc))
			if r.Duplicate != step.duplicate {
				t.Errorf("Duplicate = %v, want %v", r.Duplicate, step.duplicate)
			}
			p, _ := l.Participant("dfsp1")
			if lim, ok := p.Limit("USD"); !ok || lim.NDC != step.ndc {
				t.Errorf("Limit(USD) = %+v, %v; want NDC %d", lim, ok, step.ndc)
			}
		})
	}
}

func TestFundsIn(t *testing.T) {
	l := ledger.New(nil)
	mustApply(t, l, t0, create("dfsp1", "One"))
	mustApply(t, l, t0, enable("dfsp1", "USD"))
	mustApply(t, l, t0, create("dfsp2", "Two"))
	mustApply(t, l, t0, enable("dfsp2", "USD"))

	c := fundsIn(1, "dfsp1", "USD", 2500)
	r := mustApply(t, l, t0, c)
	want := ledger.Transfer{
		ID: tid(1), Kind: ledger.KindFundsIn, State: ledger.StateCommitted, Payer: ledger.HubID, Payee: "dfsp1",
		Currency: "USD", Amount: 2500, Fingerprint: c.Fingerprint, Created: t0, Completed: t0,
	}
	if r.Duplicate || !reflect.DeepEqual(r.Transfer, want) {
		t.Fatalf("funds in = %+v\nwant %+v", r, want)
	}
	checkAccount(t, l, "dfsp1", "USD", ledger.AccountSettlement, totals{DebitsPosted: 2500})
	checkAccount(t, l, ledger.HubID, "USD", ledger.AccountHubReconciliation, totals{CreditsPosted: 2500})
	if got, ok := l.InMemory(tid(1)); !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("InMemory = %+v, %v; want %+v", got, ok, want)
	}

	t.Run("resend is a duplicate", func(t *testing.T) {
		before := snapshot(l)
		r := mustApply(t, l, t0.Add(time.Minute), c)
		if !r.Duplicate || !reflect.DeepEqual(r.Transfer, want) {
			t.Errorf("resend = %+v, want duplicate of %+v", r, want)
		}
		if !reflect.DeepEqual(before, snapshot(l)) {
			t.Errorf("resend changed the ledger")
		}
	})

	modified := func(f func(*ledger.Command)) ledger.Command { m := c; f(&m); return m }
	for _, tt := range []struct {
		name string
		cmd  ledger.Command
		want error
	}{
		{"resend with another amount", modified(func(m *ledger.Command) { m.Amount++ }), ledger.ErrModifiedRequest},
		{"resend with another fingerprint", modified(func(m *ledger.Command) { m.Fingerprint[0] ^= 1 }), ledger.ErrModifiedRequest},
		{"resend for another participant", modified(func(m *ledger.Command) { m.Participant = "dfsp2" }), ledger.ErrModifiedRequest},
		{"resend as funds out", modified(func(m *ledger.Command) { m.Op = ledger.OpFundsOutReserve }), ledger.ErrModifiedRequest},
		{"zero amount", fundsIn(2, "dfsp1", "USD", 0), ledger.ErrInvalidAmount},
		{"negative amount", fundsIn(2, "dfsp1", "USD", -5), ledger.ErrInvalidAmount},
		{"currency not enabled", fundsIn(2, "dfsp1", "EUR", 5), ledger.ErrCurrencyNotEnabled},
		{"unknown participant", fundsIn(2, "nobody", "USD", 5), ledger.ErrParticipantNotFound},
		{"to the hub", fundsIn(2, ledger.HubID, "USD", 5), ledger.ErrParticipantNotFound},
		{"zero id", modified(func(m *ledger.Command) { m.ID = ledger.ID{} }), ledger.ErrInvalidID},
		{"overflow", fundsIn(2, "dfsp1", "USD", math.MaxInt64), ledger.ErrOverflow},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mustFail(t, l, t0, tt.cmd, tt.want)
		})
	}
}

func TestFundsOut(t *testing.T) {
	// setup: collateral 1000; a payment of 300 committed and one of 200
	// reserved, so 500 of the collateral covers the position.
	setup := func(t *testing.T) *ledger.Ledger {
		l := ledger.New(nil)
		for _, p := range []string{"dfsp1", "dfsp2"} {
			mustApply(t, l, t0, create(p, p))
			mustApply(t, l, t0, enable(p, "USD"))
			mustApply(t, l, t0, setNDC(p, "USD", 100000))
		}
		mustApply(t, l, t0, fundsIn(1, "dfsp1", "USD", 1000))
		mustApply(t, l, t0, prepare(2, "dfsp1", "dfsp2", 300, t0.Add(time.Hour)))
		mustApply(t, l, t0, fulfil(2))
		mustApply(t, l, t0, prepare(3, "dfsp1", "dfsp2", 200, t0.Add(time.Hour)))
		return l
	}

	t.Run("liquidity", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			amounts []int64 // reserved in order; all but the last succeed
			last    error
		}{
			{"all but the position", []int64{500}, nil},
			{"one more than free", []int64{501}, ledger.ErrInsufficientLiquidity},
			{"two reservations to the limit", []int64{250, 250}, nil},
			{"reservations count", []int64{250, 250, 1}, ledger.ErrInsufficientLiquidity},
			{"zero", []int64{0}, ledger.ErrInvalidAmount},
			{"negative", []int64{-1}, ledger.ErrInvalidAmount},
		} {
			t.Run(tt.name, func(t *testing.T) {
				l := setup(t)
				for i, amt := range tt.amounts {
					c := fundsOut(10+i, "dfsp1", "USD", amt)
					if i == len(tt.amounts)-1 && tt.last != nil {
						mustFail(t, l, t0, c, tt.last)
						return
					}
					mustApply(t, l, t0, c)
				}
			})
		}
	})

	t.Run("other errors", func(t *testing.T) {
		l := setup(t)
		mustFail(t, l, t0, fundsOut(10, "dfsp1", "EUR", 1), ledger.ErrCurrencyNotEnabled)
		mustFail(t, l, t0, fundsOut(10, "nobody", "USD", 1), ledger.ErrParticipantNotFound)
		mustFail(t, l, t0, fundsOut(1, "dfsp1", "USD", 1000), ledger.ErrModifiedRequest) // id of the funds in
	})

	t.Run("reserve then commit", func(t *testing.T) {
		l := setup(t)
		c := fundsOut(10, "dfsp1", "USD", 400)
		r := mustApply(t, l, t0, c)
		want := ledger.Transfer{
			ID: tid(10), Kind: ledger.KindFundsOut, State: ledger.StateReserved, Payer: "dfsp1", Payee: ledger.HubID,
			Currency: "USD", Amount: 400, Fingerprint: c.Fingerprint, Created: t0,
		}
		if r.Duplicate || !reflect.DeepEqual(r.Transfer, want) {
			t.Fatalf("reserve = %+v\nwant %+v", r, want)
		}
		checkAccount(t, l, "dfsp1", "USD", ledger.AccountSettlement, totals{DebitsPosted: 1000, CreditsPending: 400})
		checkAccount(t, l, ledger.HubID, "USD", ledger.AccountHubReconciliation, totals{CreditsPosted: 1000, DebitsPending: 400})
		if r := mustApply(t, l, t0, c); !r.Duplicate || !reflect.DeepEqual(r.Transfer, want) {
			t.Errorf("resend of reserve = %+v, want duplicate", r)
		}

		t1 := t0.Add(time.Minute)
		commit := ledger.Command{Op: ledger.OpFundsOutCommit, ID: tid(10)}
		r = mustApply(t, l, t1, commit)
		want.State, want.Completed = ledger.StateCommitted, t1
		if r.Duplicate || !reflect.DeepEqual(r.Transfer, want) {
			t.Fatalf("commit = %+v\nwant %+v", r, want)
		}
		checkAccount(t, l, "dfsp1", "USD", ledger.AccountSettlement, totals{DebitsPosted: 1000, CreditsPosted: 400})
		checkAccount(t, l, ledger.HubID, "USD", ledger.AccountHubReconciliation, totals{CreditsPosted: 1000, DebitsPosted: 400})
		if r := mustApply(t, l, t1.Add(time.Minute), commit); !r.Duplicate || !reflect.DeepEqual(r.Transfer, want) {
			t.Errorf("second commit = %+v, want duplicate of %+v", r, want)
		}
		mustFail(t, l, t1, ledger.Command{Op: ledger.OpFundsOutAbort, ID: tid(10)}, ledger.ErrTransferFinal)
		// What is left free is 1000-400-500 = 100.
		mustFail(t, l, t1, fundsOut(11, "dfsp1", "USD", 101), ledger.ErrInsufficientLiquidity)
		mustApply(t, l, t1, fundsOut(11, "dfsp1", "USD", 100))
	})

	t.Run("reserve then abort", func(t *testing.T) {
		l := setup(t)
		mustApply(t, l, t0, fundsOut(10, "dfsp1", "USD", 500))
		mustFail(t, l, t0, fundsOut(11, "dfsp1", "USD", 1), ledger.ErrInsufficientLiquidity)
		mustFail(t, l, t0, ledger.Command{Op: ledger.OpFundsOutAbort, ID: tid(10), Reason: strings.Repeat("r", ledger.MaxReason+1)}, ledger.ErrInvalidCommand)
		mustFail(t, l, t0, ledger.Command{Op: ledger.OpFundsOutAbort, ID: tid(10), Reason: "\xff"}, ledger.ErrInvalidCommand)
		abortC := ledger.Command{Op: ledger.OpFundsOutAbort, ID: tid(10), Reason: "changed my mind"}
		r := mustApply(t, l, t0, abortC)
		if r.Transfer.State != ledger.StateAborted || r.Transfer.Reason != "changed my mind" || r.Transfer.Completed != t0 || r.Duplicate {
			t.Errorf("abort = %+v", r)
		}
		checkAccount(t, l, "dfsp1", "USD", ledger.AccountSettlement, totals{DebitsPosted: 1000})
		checkAccount(t, l, ledger.HubID, "USD", ledger.AccountHubReconciliation, totals{CreditsPosted: 1000})
		if r := mustApply(t, l, t0, abortC); !r.Duplicate || r.Transfer.State != ledger.StateAborted {
			t.Errorf("second abort = %+v, want duplicate", r)
		}
		mustFail(t, l, t0, ledger.Command{Op: ledger.OpFundsOutCommit, ID: tid(10)}, ledger.ErrTransferFinal)
		mustApply(t, l, t0, fundsOut(11, "dfsp1", "USD", 500))
	})

	t.Run("finishing errors", func(t *testing.T) {
		l := setup(t)
		mustFail(t, l, t0, ledger.Command{Op: ledger.OpFundsOutCommit, ID: tid(99)}, ledger.ErrTransferNotFound)
		mustFail(t, l, t0, ledger.Command{Op: ledger.OpFundsOutCommit}, ledger.ErrInvalidID)
		mustFail(t, l, t0, ledger.Command{Op: ledger.OpFundsOutCommit, ID: tid(3)}, ledger.ErrWrongKind) // a payment
		mustFail(t, l, t0, ledger.Command{Op: ledger.OpFundsOutCommit, ID: tid(1)}, ledger.ErrWrongKind) // funds in
		mustFail(t, l, t0, ledger.Command{Op: ledger.OpFundsOutAbort, ID: tid(3)}, ledger.ErrWrongKind)  // a payment
		mustApply(t, l, t0, fundsOut(10, "dfsp1", "USD", 1))
		mustFail(t, l, t0, ledger.Command{Op: ledger.OpFulfil, ID: tid(10)}, ledger.ErrWrongKind)
		mustFail(t, l, t0, ledger.Command{Op: ledger.OpAbort, ID: tid(10)}, ledger.ErrWrongKind)
	})
}

func TestPrepareErrors(t *testing.T) {
	exp := t0.Add(time.Minute)
	base := prepare(1, payer, payee, 100, exp)
	with := func(f func(*ledger.Command)) ledger.Command { c := base; f(&c); return c }
	tests := []struct {
		name  string
		setup []ledger.Command
		cmd   ledger.Command
		want  error
	}{
		{"zero id", nil, with(func(c *ledger.Command) { c.ID = ledger.ID{} }), ledger.ErrInvalidID},
		{"payer unknown", nil, with(func(c *ledger.Command) { c.Payer = "nobody" }), ledger.ErrPayerNotFound},
		{"payee unknown", nil, with(func(c *ledger.Command) { c.Payee = "nobody" }), ledger.ErrPayeeNotFound},
		{"payer is the hub", nil, with(func(c *ledger.Command) { c.Payer = ledger.HubID }), ledger.ErrPayerNotFound},
		{"payee is the hub", nil, with(func(c *ledger.Command) { c.Payee = ledger.HubID }), ledger.ErrPayeeNotFound},
		{"payer suspended", []ledger.Command{{Op: ledger.OpSetStatus, Participant: payer, Status: ledger.StatusSuspended}}, base, ledger.ErrPayerSuspended},
		{"payee suspended", []ledger.Command{{Op: ledger.OpSetStatus, Participant: payee, Status: ledger.StatusSuspended}}, base, ledger.ErrPayeeSuspended},
		{"same participant", nil, with(func(c *ledger.Command) { c.Payee = payer }), ledger.ErrSameParticipant},
		{"currency not enabled for payer", []ledger.Command{enable(payee, "EUR")}, with(func(c *ledger.Command) { c.Currency = "EUR" }), ledger.ErrPayerCurrency},
		{"currency not enabled for payee", []ledger.Command{enable(payer, "EUR")}, with(func(c *ledger.Command) { c.Currency = "EUR" }), ledger.ErrPayeeCurrency},
		{"unknown currency", nil, with(func(c *ledger.Command) { c.Currency = "ZZZ" }), ledger.ErrPayerCurrency},
		{"zero amount", nil, with(func(c *ledger.Command) { c.Amount = 0 }), ledger.ErrInvalidAmount},
		{"negative amount", nil, with(func(c *ledger.Command) { c.Amount = -100 }), ledger.ErrInvalidAmount},
		{"zero condition", nil, with(func(c *ledger.Command) { c.Condition = [32]byte{} }), ledger.ErrMalformedCondition},
		{"expiry now", nil, with(func(c *ledger.Command) { c.Expiry = t0 }), ledger.ErrExpiryNotInFuture},
		{"expiry past", nil, with(func(c *ledger.Command) { c.Expiry = t0.Add(-time.Second) }), ledger.ErrExpiryNotInFuture},
		{"no expiry", nil, with(func(c *ledger.Command) { c.Expiry = time.Time{} }), ledger.ErrExpiryNotInFuture},
		{"NDC exceeded", nil, with(func(c *ledger.Command) { c.Amount = 5001 }), ledger.ErrNDCExceeded},
		{"NDC 0", []ledger.Command{setNDC(payer, "USD", 0)}, with(func(c *ledger.Command) { c.Amount = 1 }), ledger.ErrNDCExceeded},
		{"collateral exceeded under a larger NDC", []ledger.Command{setNDC(payer, "USD", 20000)}, with(func(c *ledger.Command) { c.Amount = 10001 }), ledger.ErrInsufficientLiquidity},
		{"collateral reserved for funds out", []ledger.Command{fundsOut(50, payer, "USD", 9901)}, base, ledger.ErrInsufficientLiquidity},
		{"reservations count against the NDC", []ledger.Command{prepare(50, payer, payee, 4950, exp)}, base, ledger.ErrNDCExceeded},
		{"pending credits do not count", []ledger.Command{prepare(50, payer, payee, 5000, exp), prepare(51, payee, payer, 5000, exp)}, with(func(c *ledger.Command) { c.Amount = 1 }), ledger.ErrNDCExceeded},
		{"overflow", []ledger.Command{setNDC(payer, "USD", math.MaxInt64), fundsIn(50, payer, "USD", math.MaxInt64-20000), prepare(51, payer, payee, math.MaxInt64-10000, exp)}, with(func(c *ledger.Command) { c.Amount = math.MaxInt64 }), ledger.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(t)
			for _, c := range tt.setup {
				mustApply(t, l, t0, c)
			}
			mustFail(t, l, t0, tt.cmd, tt.want)
			if _, ok := l.InMemory(tt.cmd.ID); ok {
				t.Errorf("failed prepare left transfer %s in memory", tt.cmd.ID)
			}
		})
	}
}

func TestPrepareReserves(t *testing.T) {
	l := newLedger(t)
	exp := t0.Add(time.Minute)
	c := prepare(1, payer, payee, 1234, exp.In(time.FixedZone("X", 3600)))
	r := mustApply(t, l, t0, c)
	want := ledger.Transfer{
		ID: tid(1), Kind: ledger.KindPayment, State: ledger.StateReserved, Payer: payer, Payee: payee,
		Currency: "USD", Amount: 1234, Condition: c.Condition, Fingerprint: c.Fingerprint, Expiry: exp, Created: t0,
	}
	if r.Duplicate || !reflect.DeepEqual(r.Transfer, want) {
		t.Fatalf("prepare = %+v\nwant %+v", r, want)
	}
	checkAccount(t, l, payer, "USD", ledger.AccountPosition, totals{DebitsPending: 1234})
	checkAccount(t, l, payee, "USD", ledger.AccountPosition, totals{CreditsPending: 1234})
	checkAccount(t, l, payer, "USD", ledger.AccountSettlement, totals{DebitsPosted: 10000})
	if got := snapshot(l).Pending; len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("Pending() = %+v, want [%+v]", got, want)
	}
	if got := l.PendingCount(); got != 1 {
		t.Errorf("PendingCount() = %d, want 1", got)
	}
	if got, ok := l.NextExpiry(); !ok || !got.Equal(exp) {
		t.Errorf("NextExpiry() = %v, %v; want %v", got, ok, exp)
	}
}

func TestPrepareLimits(t *testing.T) {
	exp := t0.Add(time.Minute)
	t.Run("exactly at the NDC", func(t *testing.T) {
		l := newLedger(t)
		mustApply(t, l, t0, prepare(1, payer, payee, 3000, exp))
		mustApply(t, l, t0, prepare(2, payer, payee, 2000, exp))
		mustFail(t, l, t0, prepare(3, payer, payee, 1, exp), ledger.ErrNDCExceeded)
	})
	t.Run("exactly at the collateral", func(t *testing.T) {
		l := newLedger(t)
		mustApply(t, l, t0, setNDC(payer, "USD", 1<<40))
		mustApply(t, l, t0, prepare(1, payer, payee, 10000, exp))
		mustFail(t, l, t0, prepare(2, payer, payee, 1, exp), ledger.ErrInsufficientLiquidity)
	})
	t.Run("aborting frees the reservation", func(t *testing.T) {
		l := newLedger(t)
		mustApply(t, l, t0, prepare(1, payer, payee, 5000, exp))
		mustFail(t, l, t0, prepare(2, payer, payee, 1, exp), ledger.ErrNDCExceeded)
		mustApply(t, l, t0, abort(1, ""))
		mustApply(t, l, t0, prepare(2, payer, payee, 5000, exp))
	})
	t.Run("receiving increases headroom", func(t *testing.T) {
		l := newLedger(t)
		mustApply(t, l, t0, prepare(1, payer, payee, 5000, exp))
		mustApply(t, l, t0, fulfil(1))
		mustFail(t, l, t0, prepare(2, payer, payee, 1, exp), ledger.ErrNDCExceeded)
		mustApply(t, l, t0, prepare(3, payee, payer, 1200, exp))
		// Reserved credits give no headroom yet.
		mustFail(t, l, t0, prepare(2, payer, payee, 1, exp), ledger.ErrNDCExceeded)
		mustApply(t, l, t0, fulfil(3))
		checkAccount(t, l, payer, "USD", ledger.AccountPosition, totals{DebitsPosted: 5000, CreditsPosted: 1200})
		mustFail(t, l, t0, prepare(2, payer, payee, 1201, exp), ledger.ErrNDCExceeded)
		mustApply(t, l, t0, prepare(2, payer, payee, 1200, exp))
	})
	t.Run("negative position beyond the NDC", func(t *testing.T) {
		// A participant owed money may send up to NDC more than it is owed.
		l := newLedger(t)
		mustApply(t, l, t0, setNDC(payee, "USD", 20000))
		mustApply(t, l, t0, fundsIn(50, payee, "USD", 10000))
		mustApply(t, l, t0, prepare(1, payee, payer, 8000, exp))
		mustApply(t, l, t0, fulfil(1))
		mustFail(t, l, t0, prepare(2, payer, payee, 13001, exp), ledger.ErrNDCExceeded)
		mustApply(t, l, t0, setNDC(payer, "USD", 1<<40))
		// Collateral 10000 plus the 8000 owed.
		mustFail(t, l, t0, prepare(2, payer, payee, 18001, exp), ledger.ErrInsufficientLiquidity)
		mustApply(t, l, t0, prepare(2, payer, payee, 18000, exp))
	})
}

func TestPrepareResend(t *testing.T) {
	exp := t0.Add(time.Minute)
	c := prepare(1, payer, payee, 100, exp)
	modified := []struct {
		name string
		f    func(*ledger.Command)
	}{
		{"amount", func(c *ledger.Command) { c.Amount++ }},
		{"payer", func(c *ledger.Command) { c.Payer = other }},
		{"payee", func(c *ledger.Command) { c.Payee = other }},
		{"currency", func(c *ledger.Command) { c.Currency = "EUR" }},
		{"condition", func(c *ledger.Command) { c.Condition[5] ^= 1 }},
		{"expiry", func(c *ledger.Command) { c.Expiry = c.Expiry.Add(time.Nanosecond) }},
		{"fingerprint", func(c *ledger.Command) { c.Fingerprint[0] ^= 1 }},
		{"as funds in", func(c *ledger.Command) { c.Op, c.Participant = ledger.OpFundsIn, payer }},
	}
	for _, phase := range []struct {
		name  string
		then  []ledger.Command
		state ledger.State
	}{
		{"reserved", nil, ledger.StateReserved},
		{"committed", []ledger.Command{fulfil(1)}, ledger.StateCommitted},
		{"aborted", []ledger.Command{abort(1, "no")}, ledger.StateAborted},
	} {
		t.Run(phase.name, func(t *testing.T) {
			l := newLedger(t)
			mustApply(t, l, t0, c)
			for _, then := range phase.then {
				mustApply(t, l, t0.Add(time.Second), then)
			}
			// Even after the payer is suspended, and in the same zone or another.
			mustApply(t, l, t0, ledger.Command{Op: ledger.OpSetStatus, Participant: payer, Status: ledger.StatusSuspended})
			current, _ := l.InMemory(tid(1))
			before := snapshot(l)
			resend := c
			resend.Expiry = resend.Expiry.In(time.FixedZone("Y", -7200))
			r := mustApply(t, l, t0.Add(2*time.Second), resend)
			if !r.Duplicate || r.Transfer.State != phase.state || !reflect.DeepEqual(r.Transfer, current) {
				t.Errorf("resend = %+v, want duplicate with current state %+v", r, current)
			}
			if !reflect.DeepEqual(before, snapshot(l)) {
				t.Errorf("resend changed the ledger")
			}
			for _, m := range modified {
				t.Run("modified "+m.name, func(t *testing.T) {
					mc := c
					m.f(&mc)
					err := mustFail(t, l, t0, mc, ledger.ErrModifiedRequest)
					var le *ledger.Error
					if !errors.As(err, &le) || le.Code != "MODIFIED_REQUEST" {
						t.Errorf("error %+v, want MODIFIED_REQUEST", le)
					}
				})
			}
		})
	}
}

func TestFulfil(t *testing.T) {
	exp := t0.Add(time.Minute)
	t1 := t0.Add(30 * time.Second)
	setup := func(t *testing.T) (*ledger.Ledger, ledger.Transfer) {
		l := newLedger(t)
		r := mustApply(t, l, t0, prepare(1, payer, payee, 700, exp))
		return l, r.Transfer
	}

	t.Run("commits", func(t *testing.T) {
		l, want := setup(t)
		r := mustApply(t, l, t1, fulfil(1))
		want.State, want.Fulfilment, want.Completed, want.Window = ledger.StateCommitted, ful(1), t1, 1
		if r.Duplicate || !reflect.DeepEqual(r.Transfer, want) {
			t.Fatalf("fulfil = %+v\nwant %+v", r, want)
		}
		checkAccount(t, l, payer, "USD", ledger.AccountPosition, totals{DebitsPosted: 700})
		checkAccount(t, l, payee, "USD", ledger.AccountPosition, totals{CreditsPosted: 700})
		if n := l.PendingCount(); n != 0 {
			t.Errorf("PendingCount() = %d, want 0", n)
		}
		if got, ok := l.InMemory(tid(1)); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("InMemory = %+v, %v; want %+v", got, ok, want)
		}
		t.Run("resend is a duplicate", func(t *testing.T) {
			r := mustApply(t, l, t1.Add(time.Hour), fulfil(1))
			if !r.Duplicate || !reflect.DeepEqual(r.Transfer, want) {
				t.Errorf("resend = %+v, want duplicate of %+v", r, want)
			}
		})
		t.Run("another fulfilment after commit", func(t *testing.T) {
			c := fulfil(1)
			c.Fulfilment = ful(2)
			mustFail(t, l, t1, c, ledger.ErrTransferFinal)
		})
		t.Run("abort after commit", func(t *testing.T) { mustFail(t, l, t1, abort(1, ""), ledger.ErrTransferFinal) })
	})

	for _, tt := range []struct {
		name string
		at   time.Time
		cmd  ledger.Command
		want error
	}{
		{"wrong fulfilment", t1, ledger.Command{Op: ledger.OpFulfil, ID: tid(1), Fulfilment: ful(2)}, ledger.ErrInvalidFulfilment},
		{"zero fulfilment", t1, ledger.Command{Op: ledger.OpFulfil, ID: tid(1)}, ledger.ErrInvalidFulfilment},
		{"condition as fulfilment", t1, ledger.Command{Op: ledger.OpFulfil, ID: tid(1), Fulfilment: ledger.ConditionOf(ful(1))}, ledger.ErrInvalidFulfilment},
		{"at expiry", exp, fulfil(1), ledger.ErrTransferExpired},
		{"after expiry", exp.Add(time.Hour), fulfil(1), ledger.ErrTransferExpired},
		{"unknown id", t1, fulfil(2), ledger.ErrTransferNotFound},
		{"zero id", t1, ledger.Command{Op: ledger.OpFulfil, Fulfilment: ful(1)}, ledger.ErrInvalidID},
		{"funds in id", t1, ledger.Command{Op: ledger.OpFulfil, ID: tid(900)}, ledger.ErrWrongKind},
		{"by the payer", t1, ledger.Command{Op: ledger.OpFulfil, ID: tid(1), Fulfilment: ful(1), Participant: payer}, ledger.ErrNotPayee},
		{"by a stranger", t1, ledger.Command{Op: ledger.OpFulfil, ID: tid(1), Fulfilment: ful(1), Participant: "nobody"}, ledger.ErrNotPayee},
		{"abort by the payer", t1, ledger.Command{Op: ledger.OpAbort, ID: tid(1), Participant: payer}, ledger.ErrNotPayee},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, reserved := setup(t)
			mustFail(t, l, tt.at, tt.cmd, tt.want)
			if got, _ := l.InMemory(tid(1)); !reflect.DeepEqual(got, reserved) {
				t.Errorf("transfer after failed fulfil = %+v, want %+v", got, reserved)
			}
			// The right fulfilment still works before expiry.
			if tt.at.Before(exp) {
				if r := mustApply(t, l, t1, fulfil(1)); r.Transfer.State != ledger.StateCommitted {
					t.Errorf("fulfil after failure: state %s", r.Transfer.State)
				}
			}
		})
	}

	t.Run("suspended participants still complete", func(t *testing.T) {
		l, _ := setup(t)
		mustApply(t, l, t0, ledger.Command{Op: ledger.OpSetStatus, Participant: payer, Status: ledger.StatusSuspended})
		mustApply(t, l, t0, ledger.Command{Op: ledger.OpSetStatus, Participant: payee, Status: ledger.StatusSuspended})
		if r := mustApply(t, l, t1, fulfil(1)); r.Transfer.State != ledger.StateCommitted {
			t.Errorf("state %s, want COMMITTED", r.Transfer.State)
		}
	})
}

func TestAbort(t *testing.T) {
	exp := t0.Add(time.Minute)
	t1 := t0.Add(time.Second)
	l := newLedger(t)
	r := mustApply(t, l, t0, prepare(1, payer, payee, 700, exp))
	want := r.Transfer

	mustFail(t, l, t1, abort(1, strings.Repeat("x", ledger.MaxReason+1)), ledger.ErrInvalidCommand)
	mustFail(t, l, t1, abort(1, "\xc3"), ledger.ErrInvalidCommand)
	mustFail(t, l, t1, abort(2, ""), ledger.ErrTransferNotFound)
	mustFail(t, l, t1, ledger.Command{Op: ledger.OpAbort}, ledger.ErrInvalidID)
	mustFail(t, l, exp, abort(1, ""), ledger.ErrTransferExpired)

	reason := strings.Repeat("é", ledger.MaxReason/2)
	byPayee := abort(1, reason)
	byPayee.Participant = payee
	r = mustApply(t, l, t1, byPayee)
	want.State, want.Reason, want.Completed = ledger.StateAborted, reason, t1
	if r.Duplicate || !reflect.DeepEqual(r.Transfer, want) {
		t.Fatalf("abort = %+v\nwant %+v", r, want)
	}
	checkAccount(t, l, payer, "USD", ledger.AccountPosition, totals{})
	checkAccount(t, l, payee, "USD", ledger.AccountPosition, totals{})
	if r := mustApply(t, l, t1, abort(1, "another reason")); !r.Duplicate || !reflect.DeepEqual(r.Transfer, want) {
		t.Errorf("second abort = %+v, want duplicate of %+v", r, want)
	}
	mustFail(t, l, t1, fulfil(1), ledger.ErrTransferFinal)
	if got := l.Due(exp.Add(time.Hour), 10); len(got) != 0 {
		t.Errorf("Due after abort = %v, want none", got)
	}
}

func TestExpiry(t *testing.T) {
	l := newLedger(t)
	mustApply(t, l, t0, prepare(1, payer, payee, 100, t0.Add(3*time.Second)))
	mustApply(t, l, t0, prepare(2, payer, payee, 200, t0.Add(1*time.Second)))
	mustApply(t, l, t0, prepare(3, payer, payee, 300, t0.Add(2*time.Second)))
	mustApply(t, l, t0, prepare(4, payer, payee, 400, t0.Add(2*time.Second)))
	mustApply(t, l, t0, abort(3, ""))

	if got := l.Due(t0.Add(999*time.Millisecond), 10); len(got) != 0 {
		t.Errorf("Due before any expiry = %v", got)
	}
	mustFail(t, l, t0.Add(999*time.Millisecond), ledger.Command{Op: ledger.OpExpire, ID: tid(2)}, ledger.ErrInvalidCommand)
	mustFail(t, l, t0.Add(time.Hour), ledger.Command{Op: ledger.OpExpire, ID: tid(99)}, ledger.ErrInvalidCommand)
	mustFail(t, l, t0.Add(time.Hour), ledger.Command{Op: ledger.OpExpire, ID: tid(3)}, ledger.ErrInvalidCommand)   // aborted
	mustFail(t, l, t0.Add(time.Hour), ledger.Command{Op: ledger.OpExpire, ID: tid(900)}, ledger.ErrInvalidCommand) // funds in
	mustApply(t, l, t0, fundsOut(5, payer, "USD", 10))
	mustFail(t, l, t0.Add(time.Hour), ledger.Command{Op: ledger.OpExpire, ID: tid(5)}, ledger.ErrInvalidCommand) // funds out
	mustFail(t, l, t0.Add(time.Hour), ledger.Command{Op: ledger.OpExpire}, ledger.ErrInvalidCommand)

	at := t0.Add(2 * time.Second)
	got := l.Due(at, 10)
	if want := []ledger.ID{tid(2), tid(4)}; !slices.Equal(got, want) {
		t.Fatalf("Due(%v) = %v, want %v (earliest first, aborted skipped)", at, got, want)
	}
	for _, id := range got {
		r := mustApply(t, l, at, ledger.Command{Op: ledger.OpExpire, ID: id})
		if r.Transfer.State != ledger.StateExpired || r.Transfer.Reason != "expired" || !r.Transfer.Completed.Equal(at) {
			t.Errorf("expire %s = %+v", id, r.Transfer)
		}
	}
	checkAccount(t, l, payer, "USD", ledger.AccountPosition, totals{DebitsPending: 100})
	checkAccount(t, l, payee, "USD", ledger.AccountPosition, totals{CreditsPending: 100})
	if next, ok := l.NextExpiry(); !ok || !next.Equal(t0.Add(3*time.Second)) {
		t.Errorf("NextExpiry() = %v, %v; want t0+3s", next, ok)
	}
	mustFail(t, l, at, fulfil(2), ledger.ErrTransferExpired)
	mustFail(t, l, at, abort(2, ""), ledger.ErrTransferExpired)
	mustFail(t, l, at, ledger.Command{Op: ledger.OpExpire, ID: tid(2)}, ledger.ErrInvalidCommand)
	if r := mustApply(t, l, at, prepare(2, payer, payee, 200, t0.Add(1*time.Second))); !r.Duplicate || r.Transfer.State != ledger.StateExpired {
		t.Errorf("resend of expired prepare = %+v, want duplicate EXPIRED", r)
	}

	t.Run("max", func(t *testing.T) {
		l := newLedger(t)
		for i := 1; i <= 5; i++ {
			mustApply(t, l, t0, prepare(i, payer, payee, 1, t0.Add(time.Duration(6-i)*time.Second)))
		}
		end := t0.Add(time.Minute)
		if got, want := l.Due(end, 2), []ledger.ID{tid(5), tid(4)}; !slices.Equal(got, want) {
			t.Errorf("Due(max 2) = %v, want %v", got, want)
		}
		for _, id := range []ledger.ID{tid(5), tid(4)} {
			mustApply(t, l, end, ledger.Command{Op: ledger.OpExpire, ID: id})
		}
		if got, want := l.Due(end, 10), []ledger.ID{tid(3), tid(2), tid(1)}; !slices.Equal(got, want) {
			t.Errorf("Due after expiring two = %v, want %v", got, want)
		}
	})
	t.Run("no pending", func(t *testing.T) {
		l := newLedger(t)
		if _, ok := l.NextExpiry(); ok {
			t.Errorf("NextExpiry on an empty ledger reports one")
		}
	})
}

func TestStateFSPIOP(t *testing.T) {
	for _, tt := range []struct {
		s     ledger.State
		want  string
		final bool
	}{
		{ledger.StateReserved, "RESERVED", false},
		{ledger.StateCommitted, "COMMITTED", true},
		{ledger.StateAborted, "ABORTED", true},
		{ledger.StateExpired, "ABORTED", true},
	} {
		t.Run(tt.s.String(), func(t *testing.T) {
			if got := tt.s.FSPIOP(); got != tt.want {
				t.Errorf("FSPIOP() = %q, want %q", got, tt.want)
			}
			if got := tt.s.Final(); got != tt.final {
				t.Errorf("Final() = %v, want %v", got, tt.final)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{ledger.OpPrepare.String(), "PREPARE"},
		{ledger.OpExpire.String(), "EXPIRE"},
		{ledger.Op(0).String(), "Op(0)"},
		{ledger.Op(200).String(), "Op(200)"},
		{ledger.StateExpired.String(), "EXPIRED"},
		{ledger.State(9).String(), "State(9)"},
		{ledger.KindFundsOut.String(), "FUNDS_OUT"},
		{ledger.Kind(0).String(), "Kind(0)"},
		{ledger.StatusSuspended.String(), "SUSPENDED"},
		{ledger.AccountHubMultilateral.String(), "HUB_MULTILATERAL_SETTLEMENT"},
		{ledger.AccountKey{Participant: "a", Currency: "USD", Type: ledger.AccountPosition}.String(), "a/USD/POSITION"},
		{ledger.ErrNDCExceeded.Error(), "ledger: payer FSP's position would exceed its net debit cap"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestUnknownOp(t *testing.T) {
	l := newLedger(t)
	for _, op := range []ledger.Op{0, 17, 255} {
		mustFail(t, l, t0, ledger.Command{Op: op, ID: tid(1)}, ledger.ErrInvalidCommand)
	}
}

// finalMap is a ledger.Finalized over a map.
type finalMap struct {
	m   map[ledger.ID]ledger.Transfer
	err error
}

func (f *finalMap) FinalTransfer(id ledger.ID) (ledger.Transfer, bool, error) {
	if f.err != nil {
		return ledger.Transfer{}, false, f.err
	}
	t, ok := f.m[id]
	return t, ok, nil
}

func TestChangesAndForget(t *testing.T) {
	final := &finalMap{m: map[ledger.ID]ledger.Transfer{}}
	l := ledger.New(final)
	mustApply(t, l, t0, create("dfsp1", "One"))
	mustApply(t, l, t0, create("dfsp2", "Two"))
	for _, p := range []string{"dfsp1", "dfsp2"} {
		mustApply(t, l, t0, enable(p, "USD"))
		mustApply(t, l, t0, setNDC(p, "USD", 1000))
	}
	mustApply(t, l, t0, fundsIn(1, "dfsp1", "USD", 1000))
	mustApply(t, l, t0, prepare(2, "dfsp1", "dfsp2", 10, t0.Add(time.Minute)))
	mustApply(t, l, t0, prepare(3, "dfsp1", "dfsp2", 20, t0.Add(time.Minute)))

	type change struct {
		id    ledger.ID
		state ledger.State
		isNew bool
	}
	changes := func(c ledger.Changes) (parts, accts []string, ts []change) {
		for _, p := range c.Participants {
			parts = append(parts, p.ID)
		}
		for _, a := range c.Accounts {
			accts = append(accts, a.AccountKey.String())
		}
		for _, tc := range c.Transfers {
			ts = append(ts, change{tc.ID, tc.State, tc.New})
		}
		slices.Sort(parts)
		slices.Sort(accts)
		slices.SortFunc(ts, func(a, b change) int { return slices.Compare(a.id[:], b.id[:]) })
		return
	}

	c1 := l.Changes()
	parts, accts, ts := changes(c1)
	if want := []string{"dfsp1", "dfsp2"}; !slices.Equal(parts, want) {
		t.Errorf("changed participants %q, want %q", parts, want)
	}
	if len(accts) != 7 { // 2 x (POSITION, SETTLEMENT) and 3 hub accounts
		t.Errorf("changed accounts %q, want 7", accts)
	}
	if want := []change{{tid(1), ledger.StateCommitted, true}, {tid(2), ledger.StateReserved, true}, {tid(3), ledger.StateReserved, true}}; !slices.Equal(ts, want) {
		t.Errorf("changed transfers %+v, want %+v", ts, want)
	}
	for _, a := range c1.Accounts {
		if got, _ := l.Account(a.AccountKey); got != a {
			t.Errorf("changed account %+v differs from Account() %+v", a, got)
		}
	}
	// Until Forget the funds in stays in memory.
	if _, ok := l.InMemory(tid(1)); !ok {
		t.Errorf("funds in not in memory before Forget")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Changes before Forget did not panic")
			}
		}()
		l.Changes()
	}()
	// A command between Changes and Forget.
	mustApply(t, l, t0, fulfil(2))
	for _, tc := range c1.Transfers {
		final.m[tc.ID] = tc.Transfer
	}
	l.Forget()
	if _, ok := l.InMemory(tid(1)); ok {
		t.Errorf("funds in still in memory after Forget")
	}
	if got, ok := l.InMemory(tid(2)); !ok || got.State != ledger.StateCommitted {
		t.Errorf("transfer committed after Changes: InMemory = %+v, %v", got, ok)
	}
	if r := mustApply(t, l, t0, fundsIn(1, "dfsp1", "USD", 1000)); !r.Duplicate {
		t.Errorf("resend of a forgotten funds in is not a duplicate: %+v", r)
	}
	mustFail(t, l, t0, fundsIn(1, "dfsp1", "USD", 999), ledger.ErrModifiedRequest)

	mustApply(t, l, t0, ledger.Command{Op: ledger.OpSetStatus, Participant: "dfsp2", Status: ledger.StatusSuspended})
	c2 := l.Changes()
	parts, accts, ts = changes(c2)
	if want := []string{"dfsp2"}; !slices.Equal(parts, want) {
		t.Errorf("changed participants %q, want %q", parts, want)
	}
	if want := []string{"dfsp1/USD/POSITION", "dfsp2/USD/POSITION"}; !slices.Equal(accts, want) {
		t.Errorf("changed accounts %q, want %q", accts, want)
	}
	if want := []change{{tid(2), ledger.StateCommitted, false}}; !slices.Equal(ts, want) {
		t.Errorf("changed transfers %+v, want %+v", ts, want)
	}
	for _, tc := range c2.Transfers {
		final.m[tc.ID] = tc.Transfer
	}
	l.Forget()
	if r := mustApply(t, l, t0, fulfil(2)); !r.Duplicate || r.Transfer.State != ledger.StateCommitted {
		t.Errorf("fulfil of a forgotten committed transfer = %+v, want duplicate", r)
	}
	c3 := l.Changes()
	if len(c3.Participants)+len(c3.Accounts)+len(c3.Transfers) != 0 {
		t.Errorf("Changes after only duplicates = %+v, want none", c3)
	}
	l.Forget()

	t.Run("finalized error", func(t *testing.T) {
		boom := errors.New("disk on fire")
		final.err = boom
		defer func() { final.err = nil }()
		mustFail(t, l, t0, prepare(9, "dfsp1", "dfsp2", 1, t0.Add(time.Minute)), boom)
		mustFail(t, l, t0, fulfil(1), boom)
	})
	t.Run("without finalized", func(t *testing.T) {
		l2 := ledger.New(nil)
		if err := l2.Restore(l.Participants(), l.Accounts(), l.Pending()); err != nil {
			t.Fatal(err)
		}
		if err := l2.RestoreSettlement(l.Windows("", true), l.Settlements()); err != nil {
			t.Fatal(err)
		}
		mustFail(t, l2, t0, fulfil(2), ledger.ErrTransferNotFound)
	})
}

func TestRestore(t *testing.T) {
	l := newLedger(t)
	mustApply(t, l, t0, prepare(1, payer, payee, 100, t0.Add(time.Minute)))
	mustApply(t, l, t0, prepare(2, payer, payee, 200, t0.Add(2*time.Minute)))
	mustApply(t, l, t0, fundsOut(3, payee, "USD", 300))
	want := snapshot(l)

	l2 := ledger.New(nil)
	if err := l2.Restore(want.Participants, want.Accounts, want.Pending); err != nil {
		t.Fatal(err)
	}
	if err := l2.RestoreSettlement(l.Windows("", true), l.Settlements()); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(l2); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored %+v\nwant %+v", got, want)
	}
	// Restored copies are independent of the slices passed in.
	want.Participants[0].Currencies[0].NDC = 1
	if p, _ := l2.Participant(want.Participants[0].ID); p.Currencies[0].NDC == 1 {
		t.Errorf("Restore kept a reference to the caller's Currencies")
	}
	if err := l2.Restore(nil, nil, nil); err == nil {
		t.Errorf("Restore into a non-empty ledger succeeded")
	}
	if got := l2.Due(t0.Add(time.Minute), 10); !slices.Equal(got, []ledger.ID{tid(1)}) {
		t.Errorf("Due after restore = %v, want [%s]", got, tid(1))
	}
	mustApply(t, l2, t0.Add(time.Minute), ledger.Command{Op: ledger.OpExpire, ID: tid(1)})
	mustApply(t, l2, t0, ledger.Command{Op: ledger.OpFundsOutCommit, ID: tid(3)})
	mustApply(t, l2, t0.Add(time.Second), fulfil(2))
	checkAccount(t, l2, payer, "USD", ledger.AccountPosition, totals{DebitsPosted: 200})

	final := want.Pending[0]
	final.State = ledger.StateCommitted
	if err := ledger.New(nil).Restore(nil, nil, []ledger.Transfer{final}); err == nil {
		t.Errorf("Restore of a final transfer as pending succeeded")
	}
}

func TestOverflowChangesNothing(t *testing.T) {
	l := ledger.New(nil)
	for _, p := range []string{"a", "b"} {
		mustApply(t, l, t0, create(p, p))
		mustApply(t, l, t0, enable(p, "USD"))
		mustApply(t, l, t0, setNDC(p, "USD", math.MaxInt64))
	}
	mustApply(t, l, t0, fundsIn(1, "a", "USD", math.MaxInt64))
	// b's settlement account could take it; the hub's reconciliation credits
	// cannot, and the funds in fails whole.
	mustFail(t, l, t0, fundsIn(2, "b", "USD", 1), ledger.ErrOverflow)
	checkAccount(t, l, "b", "USD", ledger.AccountSettlement, totals{})
	exp := t0.Add(time.Minute)
	mustApply(t, l, t0, prepare(3, "a", "b", math.MaxInt64, exp))
	mustFail(t, l, t0, prepare(4, "a", "b", 1, exp), ledger.ErrOverflow)
	mustApply(t, l, t0, fulfil(3))
	checkAccount(t, l, "a", "USD", ledger.AccountPosition, totals{DebitsPosted: math.MaxInt64})
}

// TestForgetRebuildsExpiries finishes thousands of transfers so that their
// expiries, left in the heap, outnumber the reserved ones: Forget then
// rebuilds the heap, which must keep every reserved transfer's expiry.
func TestForgetRebuildsExpiries(t *testing.T) {
	l := newLedger(t)
	mustApply(t, l, t0, setNDC(payer, "USD", 1<<40))
	mustApply(t, l, t0, fundsIn(99999, payer, "USD", 1<<40))
	const n = 6000
	var keep []ledger.ID
	for i := 1; i <= n; i++ {
		// Expiries in an order unlike the ids'.
		exp := t0.Add(time.Hour + time.Duration((i*7919)%n)*time.Second)
		mustApply(t, l, t0, prepare(10000+i, payer, payee, 1, exp))
		if i%500 == 0 {
			keep = append(keep, tid(10000+i))
			continue
		}
		mustApply(t, l, t0, fulfil(10000+i))
	}
	l.Changes()
	l.Forget()
	if got := l.PendingCount(); got != len(keep) {
		t.Fatalf("PendingCount() = %d, want %d", got, len(keep))
	}
	var wantNext time.Time
	for _, p := range l.Pending() {
		if wantNext.IsZero() || p.Expiry.Before(wantNext) {
			wantNext = p.Expiry
		}
	}
	if next, ok := l.NextExpiry(); !ok || !next.Equal(wantNext) {
		t.Errorf("NextExpiry() = %v, %v; want %v", next, ok, wantNext)
	}
	due := l.Due(t0.Add(10*time.Hour), 1<<20)
	slices.SortFunc(due, func(a, b ledger.ID) int { return slices.Compare(a[:], b[:]) })
	if !slices.Equal(due, keep) {
		t.Errorf("Due after the rebuild = %d ids, want the %d reserved ones", len(due), len(keep))
	}
}
