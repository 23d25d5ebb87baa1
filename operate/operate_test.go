package operate_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/operate"
	"github.com/hutong/hutong/settlement"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
)

// fixture is the workflows over a real writer on a Pebble store in a
// temporary directory, with participants a, b and c in USD, each with a
// net debit cap of 1000 and 1000 of collateral.
type fixture struct {
	t     *testing.T
	w     *writer.Writer
	ops   *operate.Workflows
	clock *clock.Fake
	n     byte // the last payment's id
}

var ctx = context.Background()

func newFixture(t *testing.T) *fixture {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	st, err := pebble.Open(t.TempDir(), pebble.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	w, err := writer.Open(ctx, st, writer.Config{Clock: clk, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	f := &fixture{t: t, w: w, ops: operate.New(w, clk), clock: clk}
	for i, p := range []string{"a", "b", "c"} {
		f.submit(ledger.Command{Op: ledger.OpCreateParticipant, Participant: p, Name: "Participant " + p})
		f.submit(ledger.Command{Op: ledger.OpEnableCurrency, Participant: p, Currency: "USD"})
		f.submit(ledger.Command{Op: ledger.OpSetNDC, Participant: p, Currency: "USD", Amount: 100000})
		f.submit(ledger.Command{Op: ledger.OpFundsIn, ID: id(0xf0 + byte(i)), Participant: p, Currency: "USD", Amount: 100000})
	}
	return f
}

func id(n byte) ledger.ID { return ledger.ID{0: 0x33, 6: 0x40, 8: 0x80, 15: n} }

func (f *fixture) submit(c ledger.Command) ledger.Result {
	f.t.Helper()
	res, err := f.w.Submit(ctx, c)
	if err != nil {
		f.t.Fatalf("%s: %v", c.Op, err)
	}
	return res
}

// pay commits a payment of minor units of USD.
func (f *fixture) pay(payer, payee string, minor int64) {
	f.t.Helper()
	f.n++
	ful := sha256.Sum256([]byte{f.n})
	f.submit(ledger.Command{Op: ledger.OpPrepare, ID: id(f.n), Payer: payer, Payee: payee, Currency: "USD", Amount: minor,
		Condition: ledger.ConditionOf(ful), Expiry: f.clock.Now().Add(time.Minute)})
	f.submit(ledger.Command{Op: ledger.OpFulfil, ID: id(f.n), Payee: payee, Fulfilment: ful})
}

// nets returns a settlement's nets by participant.
func nets(s ledger.Settlement) map[string]int64 {
	out := make(map[string]int64)
	for _, n := range s.Nets {
		out[n.Participant] = n.Net
	}
	return out
}

func TestSettle(t *testing.T) {
	f := newFixture(t)
	f.pay("a", "b", 1500)
	f.pay("b", "c", 300)
	f.pay("c", "a", 200)
	f.clock.Advance(time.Hour)

	closed, err := f.ops.CloseOpenWindow(ctx, "USD")
	if err != nil {
		t.Fatal(err)
	}
	if closed.Closed.ID != 1 || closed.Closed.State != ledger.WindowClosed || closed.Closed.Count != 3 || closed.Closed.Amount != 2000 ||
		closed.Next.ID != 2 || closed.Next.State != ledger.WindowOpen {
		t.Fatalf("close: closed %+v, next %+v", closed.Closed, closed.Next)
	}
	var flows []string
	for _, fl := range closed.Closed.Flows {
		flows = append(flows, fl.Payer+">"+fl.Payee)
	}
	if got, want := flows, []string{"a>b", "b>c", "c>a"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("flows %v, want %v (sorted)", got, want)
	}

	s, err := f.ops.CreateSettlement(ctx, []uint64{1}, "USD")
	if err != nil {
		t.Fatal(err)
	}
	if got := nets(s); got["a"] != 1300 || got["b"] != -1200 || got["c"] != -100 || s.State != ledger.SettlementPending {
		t.Errorf("created %s with nets %v", s.State, got)
	}
	s, err = f.ops.SetSettlementState(ctx, s.ID, ledger.SettlementRecorded, "file sent")
	if err != nil || s.State != ledger.SettlementRecorded {
		t.Fatalf("one step: %v, %v", s.State, err)
	}
	s, err = f.ops.Settle(ctx, s.ID)
	if err != nil || s.State != ledger.SettlementSettled {
		t.Fatalf("settle: %v, %v", s.State, err)
	}
	var states []ledger.SettlementState
	for _, h := range s.History {
		states = append(states, h.State)
	}
	want := []ledger.SettlementState{ledger.SettlementPending, ledger.SettlementRecorded, ledger.SettlementReserved,
		ledger.SettlementCommitted, ledger.SettlementSettled}
	if len(states) != len(want) {
		t.Fatalf("history %v, want %v", states, want)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Errorf("history %v, want %v", states, want)
		}
	}
	// Settling a settled settlement changes nothing.
	if again, err := f.ops.Settle(ctx, s.ID); err != nil || len(again.History) != len(want) {
		t.Errorf("settle again: %d steps, %v", len(again.History), err)
	}
	// Positions were reset by the commit; collateral moved.
	ps, err := f.ops.Positions(ctx, "USD")
	if err != nil {
		t.Fatal(err)
	}
	wantSettle := map[string]int64{"a": 100000 - 1300, "b": 100000 + 1200, "c": 100000 + 100}
	for _, p := range ps.Participants {
		if p.Position.Balance() != 0 || p.Settlement.Balance() != wantSettle[p.Participant.ID] || p.Headroom() != 100000 {
			t.Errorf("%s: position %d, settlement %d, headroom %d; want 0, %d, 100000",
				p.Participant.ID, p.Position.Balance(), p.Settlement.Balance(), p.Headroom(), wantSettle[p.Participant.ID])
		}
	}

	rep, err := f.ops.SettlementReport(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lines) != 3 {
		t.Errorf("report of %d lines, want 3", len(rep.Lines))
	}
	list, err := f.ops.Settlements(ctx, operate.SettlementFilter{State: ledger.SettlementSettled})
	if err != nil || len(list) != 1 || list[0].ID != s.ID {
		t.Errorf("settled settlements: %d, %v", len(list), err)
	}
	ws, err := f.ops.Windows(ctx, operate.WindowFilter{Currency: "USD", State: ledger.WindowOpen})
	if err != nil || len(ws) != 1 || ws[0].ID != 2 {
		t.Errorf("open windows %+v, %v", ws, err)
	}
}

// TestSettleRefusals: an aborted settlement cannot be settled, and the
// error says what state it is in.
func TestSettleRefusals(t *testing.T) {
	f := newFixture(t)
	f.pay("a", "b", 100)
	if _, err := f.ops.CloseWindow(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s, err := f.ops.CreateSettlement(ctx, []uint64{1}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ops.SetSettlementState(ctx, s.ID, ledger.SettlementAborted, "wrong amount"); err != nil {
		t.Fatal(err)
	}
	_, err = f.ops.Settle(ctx, s.ID)
	var cannot *operate.CannotSettleError
	if !errors.As(err, &cannot) || cannot.Settlement != s.ID || cannot.State != ledger.SettlementAborted ||
		!errors.Is(err, ledger.ErrSettlementTransition) {
		t.Errorf("settle aborted: %v", err)
	}
}

// TestErrors checks each refusal is the typed error with the values the
// call named, and unwraps to the ledger's sentinel.
func TestErrors(t *testing.T) {
	f := newFixture(t)
	f.pay("a", "b", 100)
	if _, err := f.ops.CloseWindow(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.pay("a", "b", 100) // in window 2
	if _, err := f.ops.SetModel(ctx, "EUR", ledger.ModelGross); err == nil {
		t.Fatal("set model of EUR: no error")
	}

	tests := []struct {
		name     string
		call     func() error
		sentinel error
		check    func(error) bool // the typed error's fields
	}{
		{"unknown window", func() error { _, err := f.ops.Window(ctx, 9); return err }, ledger.ErrWindowNotFound,
			func(err error) bool { var e *operate.WindowNotFoundError; return errors.As(err, &e) && e.ID == 9 }},
		{"unknown settlement", func() error { _, err := f.ops.Settle(ctx, 7); return err }, ledger.ErrSettlementNotFound,
			func(err error) bool { var e *operate.SettlementNotFoundError; return errors.As(err, &e) && e.ID == 7 }},
		{"close twice", func() error { _, err := f.ops.CloseWindow(ctx, 1); return err }, ledger.ErrWindowNotOpen,
			func(err error) bool { var e *operate.WindowNotOpenError; return errors.As(err, &e) && e.ID == 1 }},
		{"no window", func() error { _, err := f.ops.CloseOpenWindow(ctx, "EUR"); return err }, ledger.ErrNoWindow,
			func(err error) bool { var e *operate.NoWindowError; return errors.As(err, &e) && e.Currency == "EUR" }},
		{"settle an open window", func() error { _, err := f.ops.CreateSettlement(ctx, []uint64{1, 2}, ""); return err }, ledger.ErrWindowNotClosed,
			func(err error) bool {
				var e *operate.WindowNotClosedError
				return errors.As(err, &e) && e.Window.ID == 2 && e.Window.State == ledger.WindowOpen
			}},
		{"settle a missing window", func() error { _, err := f.ops.CreateSettlement(ctx, []uint64{1, 99}, ""); return err }, ledger.ErrWindowNotFound,
			func(err error) bool { var e *operate.WindowNotFoundError; return errors.As(err, &e) && e.ID == 99 }},
		{"wrong currency", func() error { _, err := f.ops.CreateSettlement(ctx, []uint64{1}, "EUR"); return err }, ledger.ErrMixedWindows,
			func(err error) bool {
				var e *operate.MixedWindowsError
				return errors.As(err, &e) && e.WrongCurrency() && e.Other.ID == 1 && e.Currency == "EUR"
			}},
		{"abort without a reason", func() error {
			_, err := f.ops.SetSettlementState(ctx, 1, ledger.SettlementAborted, "  ")
			return err
		}, operate.ErrReasonRequired, func(err error) bool { return true }},
		{"reason too long", func() error {
			_, err := f.ops.AbortFundsOut(ctx, id(0x40), string(make([]byte, ledger.MaxReason+1)))
			return err
		}, nil, func(err error) bool {
			var e *operate.ReasonTooLongError
			return errors.As(err, &e) && e.Len == ledger.MaxReason+1 && e.Max == ledger.MaxReason
		}},
		{"cap of an unknown participant", func() error { _, err := f.ops.SetNDC(ctx, "zz", "USD", 1); return err }, ledger.ErrParticipantNotFound,
			func(err error) bool {
				var e *operate.ParticipantNotFoundError
				return errors.As(err, &e) && e.ID == "zz"
			}},
		{"cap in a currency not enabled", func() error { _, err := f.ops.SetNDC(ctx, "a", "EUR", 1); return err }, ledger.ErrCurrencyNotEnabled,
			func(err error) bool {
				var e *operate.CurrencyNotEnabledError
				return errors.As(err, &e) && e.Participant == "a" && e.Currency == "EUR"
			}},
		{"funds out beyond collateral", func() error {
			_, err := f.ops.FundsOut(ctx, operate.Funds{ID: id(0x41), Participant: "a", Currency: "USD", Amount: 100000})
			return err
		}, ledger.ErrInsufficientLiquidity, func(err error) bool {
			var e *operate.CollateralError
			return errors.As(err, &e) && e.Participant == "a" && e.Amount == 100000 && e.Currency == "USD"
		}},
		{"funds id reused", func() error {
			_, err := f.ops.FundsIn(ctx, operate.Funds{ID: id(0xf0), Participant: "a", Currency: "USD", Amount: 5})
			return err
		}, ledger.ErrModifiedRequest, func(err error) bool {
			var e *operate.ModifiedRequestError
			return errors.As(err, &e) && e.ID == id(0xf0)
		}},
		{"commit a payment", func() error { _, err := f.ops.CommitFundsOut(ctx, id(1)); return err }, ledger.ErrWrongKind,
			func(err error) bool { var e *operate.NotFundsOutError; return errors.As(err, &e) && e.ID == id(1) }},
		{"commit an unknown funds out", func() error { _, err := f.ops.CommitFundsOut(ctx, id(0x42)); return err }, ledger.ErrTransferNotFound,
			func(err error) bool {
				var e *operate.TransferNotFoundError
				return errors.As(err, &e) && e.ID == id(0x42)
			}},
		{"statement of an unknown participant", func() error {
			_, err := f.ops.Statement(ctx, operate.StatementRequest{Participant: "zz", Currency: "USD", Account: ledger.AccountPosition})
			return err
		}, ledger.ErrParticipantNotFound, func(err error) bool { var e *operate.ParticipantNotFoundError; return errors.As(err, &e) }},
		{"statement in a currency not enabled", func() error {
			_, err := f.ops.Statement(ctx, operate.StatementRequest{Participant: "a", Currency: "EUR", Account: ledger.AccountPosition})
			return err
		}, ledger.ErrCurrencyNotEnabled, func(err error) bool { var e *operate.CurrencyNotEnabledError; return errors.As(err, &e) }},
		{"statement of the future", func() error {
			from := f.clock.Now().Add(time.Hour)
			_, err := f.ops.Statement(ctx, operate.StatementRequest{Participant: "a", Currency: "USD", Account: ledger.AccountPosition, From: from})
			return err
		}, nil, func(err error) bool {
			var e *operate.EmptyRangeError
			return errors.As(err, &e) && e.To.Equal(f.clock.Now())
		}},
		{"reconcile an unknown participant", func() error {
			_, err := f.ops.Reconcile(ctx, settlement.ReconcileRequest{Participant: "zz"})
			return err
		}, ledger.ErrParticipantNotFound, func(err error) bool { var e *operate.ParticipantNotFoundError; return errors.As(err, &e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("error %v does not match %v", err, tt.sentinel)
			}
			if !tt.check(err) {
				t.Errorf("error %#v has not the fields wanted", err)
			}
		})
	}
}

func TestFundsAndAccounts(t *testing.T) {
	f := newFixture(t)
	f.pay("a", "b", 2500)
	tests := []struct {
		name string
		do   func() error
		// a's SETTLEMENT balance and available, and POSITION headroom after
		balance, available, headroom int64
	}{
		{"funds in", func() error {
			m, err := f.ops.FundsIn(ctx, operate.Funds{ID: id(0x50), Participant: "a", Currency: "USD", Amount: 1000})
			if err == nil && (m.Duplicate || m.Transfer.Kind != ledger.KindFundsIn || m.Transfer.Amount != 1000) {
				t.Errorf("funds in: %+v", m)
			}
			return err
		}, 101000, 101000, 100000 - 2500},
		{"funds in again", func() error {
			m, err := f.ops.FundsIn(ctx, operate.Funds{ID: id(0x50), Participant: "a", Currency: "USD", Amount: 1000})
			if err == nil && !m.Duplicate {
				t.Errorf("a retry is not a duplicate: %+v", m)
			}
			return err
		}, 101000, 101000, 100000 - 2500},
		{"funds out reserved", func() error {
			_, err := f.ops.FundsOut(ctx, operate.Funds{ID: id(0x51), Participant: "a", Currency: "USD", Amount: 400})
			return err
		}, 101000, 100600, 100000 - 2500},
		{"funds out committed", func() error {
			tr, err := f.ops.CommitFundsOut(ctx, id(0x51))
			if err == nil && tr.State != ledger.StateCommitted {
				t.Errorf("committed funds out is %s", tr.State)
			}
			return err
		}, 100600, 100600, 100000 - 2500},
		{"cap lowered", func() error {
			p, err := f.ops.SetNDC(ctx, "a", "USD", 50000)
			if err == nil && p.Currencies[0].NDC != 50000 {
				t.Errorf("cap %d", p.Currencies[0].NDC)
			}
			return err
		}, 100600, 100600, 50000 - 2500},
		{"funds out aborted", func() error {
			if _, err := f.ops.FundsOut(ctx, operate.Funds{ID: id(0x52), Participant: "a", Currency: "USD", Amount: 600}); err != nil {
				return err
			}
			tr, err := f.ops.AbortFundsOut(ctx, id(0x52), "changed mind")
			if err == nil && (tr.State != ledger.StateAborted || tr.Reason != "changed mind") {
				t.Errorf("aborted funds out %s %q", tr.State, tr.Reason)
			}
			return err
		}, 100600, 100600, 50000 - 2500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); err != nil {
				t.Fatal(err)
			}
			p, accounts, err := f.ops.Accounts(ctx, "a")
			if err != nil || p.ID != "a" || len(accounts) != 2 {
				t.Fatalf("accounts: %v, %d of them", err, len(accounts))
			}
			for _, a := range accounts {
				switch a.Type {
				case ledger.AccountPosition:
					if got := a.Headroom(); got != tt.headroom {
						t.Errorf("headroom %d, want %d", got, tt.headroom)
					}
				case ledger.AccountSettlement:
					if a.Balance() != tt.balance || a.Available() != tt.available {
						t.Errorf("settlement balance %d, available %d; want %d, %d", a.Balance(), a.Available(), tt.balance, tt.available)
					}
				}
			}
		})
	}
}

func TestHeadroomHolds(t *testing.T) {
	const maxInt, minInt = int64(^uint64(0) >> 1), -int64(^uint64(0)>>1) - 1
	tests := []struct {
		ndc         int64
		pos         ledger.Account
		want        int64
		description string
	}{
		{1000, ledger.Account{DebitsPosted: 300, DebitsPending: 200}, 500, "cap less position less reserved"},
		{1000, ledger.Account{CreditsPosted: 300}, 1300, "a net creditor has more than its cap"},
		{0, ledger.Account{DebitsPosted: maxInt, DebitsPending: maxInt}, minInt, "held at the lower limit"},
		{maxInt, ledger.Account{CreditsPosted: maxInt}, maxInt, "held at the upper limit"},
	}
	for _, tt := range tests {
		if got := operate.Headroom(tt.ndc, &tt.pos); got != tt.want {
			t.Errorf("%s: Headroom = %d, want %d", tt.description, got, tt.want)
		}
	}
}

func TestStatementAndReconcile(t *testing.T) {
	f := newFixture(t)
	f.pay("a", "b", 1250)
	f.clock.Advance(time.Minute)
	st, err := f.ops.Statement(ctx, operate.StatementRequest{Participant: "a", Currency: "USD", Account: ledger.AccountPosition})
	if err != nil {
		t.Fatal(err)
	}
	if st.Opening != 0 || st.Closing != 1250 || len(st.Movements) != 1 || !st.Built.Equal(f.clock.Now()) || !st.To.Equal(f.clock.Now()) {
		t.Errorf("statement: opening %d, closing %d, %d movements, built %v, to %v", st.Opening, st.Closing, len(st.Movements), st.Built, st.To)
	}

	from, to := f.clock.Now().Add(-time.Hour), f.clock.Now().Add(time.Hour)
	tests := []struct {
		name    string
		records []settlement.Record
		clean   bool
		missing int // at the participant
	}{
		{"agrees", []settlement.Record{{Line: 2, TransferID: id(1), Currency: "USD", Amount: 1250, State: "COMMITTED"}}, true, 0},
		{"misses the payment", nil, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := f.ops.Reconcile(ctx, settlement.ReconcileRequest{Participant: "a", Records: tt.records, From: from, To: to})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Clean() != tt.clean || len(rec.MissingAtParticipant) != tt.missing {
				t.Errorf("clean %v with %d missing at the participant; want %v, %d", rec.Clean(), len(rec.MissingAtParticipant), tt.clean, tt.missing)
			}
		})
	}
}
