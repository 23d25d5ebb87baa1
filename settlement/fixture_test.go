package settlement_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/settlement"
	"github.com/hutong/hutong/store"
)

// t0 is when every test ledger starts.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// archive is an in-memory store of the ledger's transfers: what
// store.Store's Completed and Transfer would give after a checkpoint.
type archive struct {
	final []ledger.Transfer // final transfers, in completion order
	byID  map[ledger.ID]ledger.Transfer
	calls int // calls of Completed
}

var _ settlement.Archive = (*archive)(nil)

func newArchive() *archive { return &archive{byID: make(map[ledger.ID]ledger.Transfer)} }

func (a *archive) Completed(ctx context.Context, from, to time.Time, fn func(*ledger.Transfer) error) error {
	a.calls++
	for i := range a.final {
		t := &a.final[i]
		if t.Completed.Before(from) || !t.Completed.Before(to) {
			continue
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return nil
}

func (a *archive) Transfer(ctx context.Context, id ledger.ID) (ledger.Transfer, error) {
	t, ok := a.byID[id]
	if !ok {
		return ledger.Transfer{}, fmt.Errorf("transfer %s: %w", id, store.ErrNotFound)
	}
	return t, nil
}

// FinalTransfer lets the ledger find the transfers it has forgotten.
func (a *archive) FinalTransfer(id ledger.ID) (ledger.Transfer, bool, error) {
	t, ok := a.byID[id]
	return t, ok && t.State.Final(), nil
}

// put stores what a batch changed.
func (a *archive) put(ts []ledger.TransferChange) {
	var done []ledger.Transfer
	for _, c := range ts {
		a.byID[c.ID] = c.Transfer
		if c.State.Final() {
			done = append(done, c.Transfer)
		}
	}
	slices.SortStableFunc(done, func(x, y ledger.Transfer) int { return x.Completed.Compare(y.Completed) })
	a.final = append(a.final, done...)
}

// books is a ledger with its archive and a clock that moves one second
// before every command, with the balance of every account after each.
type books struct {
	t       testing.TB
	l       *ledger.Ledger
	arch    *archive
	now     time.Time
	next    int                           // numbers transfer ids
	steps   []time.Time                   // when each command applied
	history []map[ledger.AccountKey]int64 // balances after each command
}

func newBooks(t testing.TB) *books {
	arch := newArchive()
	return &books{t: t, l: ledger.New(arch), arch: arch, now: t0}
}

// try applies c and records the outcome, whether or not it succeeded.
func (b *books) try(c ledger.Command) (ledger.Result, error) {
	b.now = b.now.Add(time.Second)
	r, err := b.l.Apply(b.now, &c)
	ch := b.l.Changes()
	b.arch.put(ch.Transfers)
	b.l.Forget()
	bal := make(map[ledger.AccountKey]int64)
	for _, a := range b.l.Accounts() {
		bal[a.AccountKey] = a.Balance()
	}
	b.steps = append(b.steps, b.now)
	b.history = append(b.history, bal)
	return r, err
}

func (b *books) must(c ledger.Command) ledger.Result {
	b.t.Helper()
	r, err := b.try(c)
	if err != nil {
		b.t.Fatalf("%s %s: %v", c.Op, c.ID, err)
	}
	return r
}

// id returns a new transfer id.
func (b *books) id() ledger.ID {
	b.next++
	var id ledger.ID
	binary.BigEndian.PutUint64(id[:8], uint64(b.next))
	id[8] = 0x80
	id[15] = 0x5a
	return id
}

func fulfilment(id ledger.ID) [32]byte {
	var f [32]byte
	copy(f[:], id[:])
	f[31] = 0xf1
	return f
}

func (b *books) participant(p string, currencies ...string) {
	b.must(ledger.Command{Op: ledger.OpCreateParticipant, Participant: p, Name: "FSP " + p})
	for _, c := range currencies {
		b.must(ledger.Command{Op: ledger.OpEnableCurrency, Participant: p, Currency: c})
		b.must(ledger.Command{Op: ledger.OpSetNDC, Participant: p, Currency: c, Amount: 1 << 40})
	}
}

func (b *books) fundsIn(p, cur string, amount int64) (ledger.ID, error) {
	id := b.id()
	_, err := b.try(ledger.Command{Op: ledger.OpFundsIn, ID: id, Participant: p, Currency: cur, Amount: amount, Fingerprint: [32]byte{1}})
	return id, err
}

// fundsOut reserves a withdrawal and commits it, or aborts it when abort.
func (b *books) fundsOut(p, cur string, amount int64, abort bool) (ledger.ID, error) {
	id := b.id()
	if _, err := b.try(ledger.Command{Op: ledger.OpFundsOutReserve, ID: id, Participant: p, Currency: cur, Amount: amount, Fingerprint: [32]byte{2}}); err != nil {
		return id, err
	}
	op := ledger.OpFundsOutCommit
	if abort {
		op = ledger.OpFundsOutAbort
	}
	_, err := b.try(ledger.Command{Op: op, ID: id, Reason: "changed mind"})
	return id, err
}

// pay prepares a payment and then fulfils it, or aborts it when abort.
func (b *books) pay(payer, payee, cur string, amount int64, abort bool) (ledger.ID, error) {
	id := b.id()
	_, err := b.try(ledger.Command{
		Op: ledger.OpPrepare, ID: id, Payer: payer, Payee: payee, Currency: cur, Amount: amount,
		Condition: ledger.ConditionOf(fulfilment(id)), Expiry: b.now.Add(time.Hour), Fingerprint: [32]byte{3},
	})
	if err != nil {
		return id, err
	}
	if abort {
		_, err = b.try(ledger.Command{Op: ledger.OpAbort, ID: id, Reason: "declined"})
	} else {
		_, err = b.try(ledger.Command{Op: ledger.OpFulfil, ID: id, Fulfilment: fulfilment(id)})
	}
	return id, err
}

// expire prepares a payment and lets it expire.
func (b *books) expire(payer, payee, cur string, amount int64) ledger.ID {
	b.t.Helper()
	id := b.id()
	b.must(ledger.Command{
		Op: ledger.OpPrepare, ID: id, Payer: payer, Payee: payee, Currency: cur, Amount: amount,
		Condition: ledger.ConditionOf(fulfilment(id)), Expiry: b.now.Add(1500 * time.Millisecond), Fingerprint: [32]byte{3},
	})
	b.now = b.now.Add(time.Second)
	b.must(ledger.Command{Op: ledger.OpExpire, ID: id})
	return id
}

func (b *books) closeWindow(cur string) ledger.Window {
	b.t.Helper()
	return *b.must(ledger.Command{Op: ledger.OpCloseWindow, Currency: cur}).Window
}

func (b *books) setModel(cur string, m ledger.Model) {
	b.t.Helper()
	b.must(ledger.Command{Op: ledger.OpSetModel, Currency: cur, Model: m})
}

// settle creates a settlement of windows and moves it through the states up
// to and including last.
func (b *books) settle(last ledger.SettlementState, windows ...uint64) ledger.Settlement {
	b.t.Helper()
	s := *b.must(ledger.Command{Op: ledger.OpCreateSettlement, Windows: windows}).Settlement
	for st := ledger.SettlementRecorded; s.State != last; st++ {
		if last == ledger.SettlementAborted && st == ledger.SettlementCommitted {
			st = ledger.SettlementAborted
		}
		s = *b.must(ledger.Command{Op: ledger.OpSettlementState, Settlement: s.ID, SettlementState: st, Reason: "stop"}).Settlement
	}
	return s
}

func (b *books) source() settlement.Source {
	return settlement.Source{Transfers: b.arch, Settlements: b.l.Settlements(), Windows: b.l.Windows("", false)}
}

func (b *books) balance(k ledger.AccountKey) int64 {
	a, ok := b.l.Account(k)
	if !ok {
		b.t.Fatalf("no account %s", k)
	}
	return a.Balance()
}
