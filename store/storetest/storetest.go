// Package storetest is the conformance suite every store.Store backend
// passes. A backend's tests call Run with a function that opens the backend
// in a directory:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, dir string) store.Store {
//			s, err := mybackend.Open(dir)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The suite closes every store it opens, and reopens the same directory to
// check what survives a restart.
package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong/journal"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
)

// opener opens a backend in dir, creating it when dir is empty.
type opener func(t *testing.T, dir string) store.Store

// Run runs the conformance suite against the backend that open opens.
func Run(t *testing.T, open func(t *testing.T, dir string) store.Store) {
	type test struct {
		name string
		fn   func(*testing.T, *harness)
	}
	// Grouped by the part of the store each checks, as its callers see it.
	parts := []struct {
		name  string
		tests []test
	}{
		{"Writer", []test{ // store.Writer: the ledger writer's side
			{"EmptyLoad", testEmptyLoad},
			{"AppendFollowsHead", testAppendFollowsHead},
			{"AppendMany", testAppendMany},
			{"Journal", testJournal},
			{"CheckpointLoad", testCheckpointLoad},
			{"FinalLeavesPending", testFinalLeavesPending},
			{"CheckpointBounds", testCheckpointBounds},
			{"Finder", testFinder},
			{"FinderSnapshot", testFinderSnapshot},
			{"TransferIDs", testTransferIDs},
			{"TransferCount", testTransferCount},
		}},
		{"Reader", []test{ // store.Reader: reports, statements, the audit
			{"Transfer", testTransfer},
			{"ParticipantTransfers", testParticipantTransfers},
			{"ParticipantTransfersOrder", testParticipantTransfersOrder},
			{"ParticipantTransfersStable", testParticipantTransfersStable},
			{"ParticipantTransfersCursor", testParticipantTransfersCursor},
			{"Participants", testParticipants},
			{"Accounts", testAccounts},
			{"EachTransfer", testEachTransfer},
			{"Completed", testCompleted},
			{"WindowsSettlements", testWindowsSettlements},
			{"ReadsDuringCheckpoints", testReadsDuringCheckpoints},
		}},
		{"Outbox", []test{ // store.Outbox: messages owed to participants
			{"Owed", testOwed},
		}},
		{"KV", []test{ // kv.Space: the records that are not money
			{"KV", testKV},
		}},
		{"Lifecycle", []test{ // every part across a reopen and after Close
			{"Reopen", testReopen},
			{"WritesAfterClose", testWritesAfterClose},
			{"ReadsAfterClose", testReadsAfterClose},
		}},
	}
	for _, part := range parts {
		t.Run(part.name, func(t *testing.T) {
			for _, tt := range part.tests {
				t.Run(tt.name, func(t *testing.T) {
					h := &harness{t: t, open: open, dir: t.TempDir()}
					h.reopen()
					t.Cleanup(h.close)
					tt.fn(t, h)
				})
			}
		})
	}
}

// harness holds one store under test and what was appended to it.
type harness struct {
	t      *testing.T
	open   opener
	dir    string
	s      store.Store
	closed bool
	head   journal.Head
	cp     uint64 // last checkpoint seq
}

func (h *harness) close() {
	if h.s != nil && !h.closed {
		h.closed = true
		if err := h.s.Close(); err != nil {
			h.t.Errorf("Close: %v", err)
		}
	}
}

// reopen closes the store, if open, and opens the directory again.
func (h *harness) reopen() {
	h.close()
	h.s = h.open(h.t, h.dir)
	if h.s == nil {
		h.t.Fatalf("open returned a nil store")
	}
	h.closed = false
}

func ctx(t *testing.T) context.Context { return t.Context() }

var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// tid returns a distinct non-zero transfer id for n.
func tid(n int) ledger.ID {
	var id ledger.ID
	binary.BigEndian.PutUint64(id[8:], uint64(n))
	id[0] = 0x7e
	return id
}

func cmd(n int) []byte {
	c := ledger.Command{Op: ledger.OpFulfil, ID: tid(n), Fulfilment: [32]byte{byte(n)}}
	return ledger.AppendCommand(nil, &c)
}

// appendEntry appends an entry with one command that follows the head.
func (h *harness) appendEntry() journal.Entry {
	h.t.Helper()
	e := journal.Entry{Time: t0.Add(time.Duration(h.head.Seq) * time.Second), Commands: cmd(int(h.head.Seq))}
	next := e.Seal(h.head)
	if err := h.s.Append(ctx(h.t), &e); err != nil {
		h.t.Fatalf("Append entry %d: %v", e.Seq, err)
	}
	h.head = next
	return e
}

// checkpoint appends an entry and stores c as of it.
func (h *harness) checkpoint(c store.Checkpoint) {
	h.t.Helper()
	h.appendEntry()
	c.Seq = h.head.Seq
	if err := h.s.Checkpoint(ctx(h.t), &c); err != nil {
		h.t.Fatalf("Checkpoint at %d: %v", c.Seq, err)
	}
	h.cp = c.Seq
}

func payment(n int, payer, payee string, state ledger.State, created time.Time) ledger.Transfer {
	t := ledger.Transfer{
		ID: tid(n), Kind: ledger.KindPayment, State: state, Payer: payer, Payee: payee, Currency: "USD",
		Amount: int64(100 * n), Condition: [32]byte{1, byte(n)}, Fingerprint: [32]byte{2, byte(n)},
		Expiry: created.Add(time.Minute), Created: created,
	}
	if state.Final() {
		t.Completed = created.Add(time.Second)
	}
	if state == ledger.StateCommitted {
		t.Fulfilment = [32]byte{3, byte(n)}
	}
	if state == ledger.StateAborted {
		t.Reason = "aborted " + fmt.Sprint(n)
	}
	return t
}

func fundsIn(n int, p string, created time.Time) ledger.Transfer {
	return ledger.Transfer{ID: tid(n), Kind: ledger.KindFundsIn, State: ledger.StateCommitted, Payer: ledger.HubID, Payee: p,
		Currency: "EUR", Amount: 5000, Created: created, Completed: created}
}

func fundsOut(n int, p string, created time.Time) ledger.Transfer {
	return ledger.Transfer{ID: tid(n), Kind: ledger.KindFundsOut, State: ledger.StateReserved, Payer: p, Payee: ledger.HubID,
		Currency: "EUR", Amount: 700, Fingerprint: [32]byte{9}, Created: created}
}

func changes(isNew bool, ts ...ledger.Transfer) []ledger.TransferChange {
	out := make([]ledger.TransferChange, len(ts))
	for i, t := range ts {
		out[i] = ledger.TransferChange{Transfer: t, New: isNew}
	}
	return out
}

func participant(id string, status ledger.Status, currencies ...string) ledger.Participant {
	p := ledger.Participant{ID: id, Name: "Participant " + id, Status: status, Created: t0}
	for i, c := range currencies {
		p.Currencies = append(p.Currencies, ledger.CurrencyLimit{Currency: c, NDC: int64(1000 * (i + 1))})
	}
	return p
}

func account(p, cur string, typ ledger.AccountType, n int64) ledger.Account {
	return ledger.Account{AccountKey: ledger.AccountKey{Participant: p, Currency: cur, Type: typ},
		DebitsPosted: n, CreditsPosted: 2 * n, DebitsPending: 3 * n, CreditsPending: 4 * n}
}

// Comparisons that treat equal instants as equal whatever their zone.

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

func normTransfer(t ledger.Transfer) ledger.Transfer {
	t.Expiry, t.Created, t.Completed = normTime(t.Expiry), normTime(t.Created), normTime(t.Completed)
	return t
}

func normParticipant(p ledger.Participant) ledger.Participant {
	p.Created = normTime(p.Created)
	if len(p.Currencies) == 0 {
		p.Currencies = nil
	}
	return p
}

func sameTransfer(a, b ledger.Transfer) bool {
	return reflect.DeepEqual(normTransfer(a), normTransfer(b))
}

func checkTransfers(t *testing.T, what string, got, want []ledger.Transfer) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d transfers %v, want %d %v", what, len(got), ids(got), len(want), ids(want))
		return
	}
	for i := range got {
		if !sameTransfer(got[i], want[i]) {
			t.Errorf("%s: transfer %d\n got %+v\nwant %+v", what, i, got[i], want[i])
		}
	}
}

func ids(ts []ledger.Transfer) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID.String())
	}
	return out
}

func sortByID(ts []ledger.Transfer) []ledger.Transfer {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b ledger.Transfer) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return ts
}

func checkParticipants(t *testing.T, what string, got, want []ledger.Participant) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d participants %+v, want %d", what, len(got), got, len(want))
		return
	}
	for i := range got {
		if !reflect.DeepEqual(normParticipant(got[i]), normParticipant(want[i])) {
			t.Errorf("%s: participant %d\n got %+v\nwant %+v", what, i, got[i], want[i])
		}
	}
}

func checkAccounts(t *testing.T, what string, got, want []ledger.Account) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testEmptyLoad(t *testing.T, h *harness) {
	snap, err := h.s.Load(ctx(t))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if snap.Head != (journal.Head{}) || snap.Checkpoint != 0 || len(snap.Participants)+len(snap.Accounts)+len(snap.Pending) != 0 {
		t.Errorf("Load of an empty store = %+v, want the zero snapshot", snap)
	}
	n := 0
	if err := h.s.Journal(ctx(t), 0, func(*journal.Entry) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("Journal of an empty store: %d entries, %v", n, err)
	}
	if _, err := h.s.Transfer(ctx(t), tid(1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Transfer: %v, want ErrNotFound", err)
	}
	if _, err := h.s.Participant(ctx(t), "dfsp1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Participant: %v, want ErrNotFound", err)
	}
	if ps, err := h.s.Participants(ctx(t)); err != nil || len(ps) != 0 {
		t.Errorf("Participants = %v, %v; want none", ps, err)
	}
	if as, err := h.s.Accounts(ctx(t), ""); err != nil || len(as) != 0 {
		t.Errorf("Accounts = %v, %v; want none", as, err)
	}
	if ts, next, err := h.s.ParticipantTransfers(ctx(t), "dfsp1", "", 10); err != nil || len(ts) != 0 || next != "" {
		t.Errorf("ParticipantTransfers = %v, %q, %v; want none", ts, next, err)
	}
}

func testAppendFollowsHead(t *testing.T, h *harness) {
	e1 := h.appendEntry()
	conflict := func(name string, e journal.Entry) {
		t.Helper()
		if err := h.s.Append(ctx(t), &e); !errors.Is(err, store.ErrConflict) {
			t.Errorf("Append %s: %v, want ErrConflict", name, err)
		}
	}
	conflict("the same entry again", e1)
	e := journal.Entry{Time: t0, Commands: cmd(2)}
	e.Seal(journal.Head{Seq: 2, Hash: e1.Hash})
	conflict("with a gap", e)
	e.Seal(journal.Head{Seq: 1, Hash: [32]byte{1}})
	conflict("with the wrong prev", e)
	e.Seal(journal.Head{})
	conflict("as seq 1 again", e)
	e.Seal(journal.Head{Seq: 1, Hash: e1.Hash})
	e.Seq = 0
	conflict("as seq 0", e)

	e2 := h.appendEntry()
	snap, err := h.s.Load(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := (journal.Head{Seq: 2, Hash: e2.Hash}); snap.Head != want {
		t.Errorf("Load().Head = %+v, want %+v", snap.Head, want)
	}
	if snap.Checkpoint != 0 {
		t.Errorf("Load().Checkpoint = %d without a checkpoint", snap.Checkpoint)
	}
}

// testAppendMany appends several entries at once: all or none.
func testAppendMany(t *testing.T, h *harness) {
	if err := h.s.Append(ctx(t)); err != nil {
		t.Errorf("Append of no entries: %v", err)
	}
	seal := func(head journal.Head, n int) ([]*journal.Entry, journal.Head) {
		var es []*journal.Entry
		for i := 0; i < n; i++ {
			e := &journal.Entry{Time: t0.Add(time.Duration(head.Seq) * time.Second), Commands: cmd(int(head.Seq))}
			head = e.Seal(head)
			es = append(es, e)
		}
		return es, head
	}
	es, next := seal(h.head, 3)
	if err := h.s.Append(ctx(t), es...); err != nil {
		t.Fatalf("Append of 3 entries: %v", err)
	}
	h.head = next
	// A batch whose second entry does not follow the first writes nothing.
	bad, _ := seal(h.head, 3)
	bad[1].Prev[0] ^= 1
	bad[1].Hash = bad[1].ComputeHash()
	if err := h.s.Append(ctx(t), bad...); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Append of a broken chain: %v, want ErrConflict", err)
	}
	gap, _ := seal(h.head, 3)
	if err := h.s.Append(ctx(t), gap[0], gap[2]); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Append with a gap: %v, want ErrConflict", err)
	}
	var seqs []uint64
	if err := h.s.Journal(ctx(t), 0, func(e *journal.Entry) error { seqs = append(seqs, e.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs, []uint64{1, 2, 3}) {
		t.Errorf("journal holds %v after failed appends, want [1 2 3]", seqs)
	}
	// The head did not move either: the good batch still follows.
	good, next := seal(h.head, 2)
	if err := h.s.Append(ctx(t), good...); err != nil {
		t.Fatalf("Append after failed ones: %v", err)
	}
	h.head = next
	h.reopen()
	if snap, err := h.s.Load(ctx(t)); err != nil || snap.Head != h.head {
		t.Errorf("after reopen: head %+v, %v; want %+v", snap.Head, err, h.head)
	}
}

func testJournal(t *testing.T, h *harness) {
	var want []journal.Entry
	for i := 0; i < 5; i++ {
		want = append(want, h.appendEntry())
	}
	read := func(from uint64) []journal.Entry {
		t.Helper()
		var got []journal.Entry
		err := h.s.Journal(ctx(t), from, func(e *journal.Entry) error {
			c := *e
			c.Commands = bytes.Clone(e.Commands)
			got = append(got, c)
			return nil
		})
		if err != nil {
			t.Fatalf("Journal(%d): %v", from, err)
		}
		return got
	}
	for _, from := range []uint64{0, 1, 3, 5, 6, 100} {
		got := read(from)
		w := want[min(max(int(from), 1), 6)-1:]
		if len(got) != len(w) {
			t.Errorf("Journal(%d) gave %d entries, want %d", from, len(got), len(w))
			continue
		}
		for i := range got {
			g, e := got[i], w[i]
			if g.Seq != e.Seq || g.Prev != e.Prev || g.Hash != e.Hash || !g.Time.Equal(e.Time) || !bytes.Equal(g.Commands, e.Commands) {
				t.Errorf("Journal(%d) entry %d = %+v, want %+v", from, i, g, e)
			}
			if g.ComputeHash() != g.Hash {
				t.Errorf("Journal(%d) entry %d fails its hash", from, g.Seq)
			}
		}
	}
	stop := errors.New("stop")
	n := 0
	err := h.s.Journal(ctx(t), 1, func(*journal.Entry) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Errorf("Journal with fn failing at the 2nd entry: %v after %d calls", err, n)
	}
	cancelled, cancel := context.WithCancel(ctx(t))
	cancel()
	if err := h.s.Journal(cancelled, 1, func(*journal.Entry) error { return nil }); err == nil {
		t.Errorf("Journal with a cancelled context succeeded")
	}
}

// fixture is a state stored in two checkpoints: after the first, payments 1
// and 2 and funds out 4 are reserved and funds in 3 is committed; the second
// commits 1, aborts 4 and adds payment 5, reserved.
type fixture struct {
	participants []ledger.Participant
	accounts     []ledger.Account
	transfers    map[ledger.ID]ledger.Transfer // latest state
	pending      []ledger.Transfer
}

func (h *harness) storeFixture() fixture {
	var f fixture
	f.participants = []ledger.Participant{
		participant("dfsp1", ledger.StatusActive, "EUR", "USD"),
		participant("dfsp2", ledger.StatusActive, "USD"),
	}
	f.accounts = []ledger.Account{
		account("dfsp1", "USD", ledger.AccountPosition, 1),
		account("dfsp1", "USD", ledger.AccountSettlement, 2),
		account("dfsp2", "USD", ledger.AccountPosition, 3),
		account(ledger.HubID, "USD", ledger.AccountHubReconciliation, 4),
	}
	p1 := payment(1, "dfsp1", "dfsp2", ledger.StateReserved, t0.Add(1*time.Second))
	p2 := payment(2, "dfsp2", "dfsp1", ledger.StateReserved, t0.Add(2*time.Second))
	in3 := fundsIn(3, "dfsp1", t0.Add(3*time.Second))
	out4 := fundsOut(4, "dfsp1", t0.Add(4*time.Second))
	h.checkpoint(store.Checkpoint{
		Participants: f.participants,
		Accounts:     f.accounts,
		Transfers:    changes(true, p1, p2, in3, out4),
	})

	p1c := payment(1, "dfsp1", "dfsp2", ledger.StateCommitted, t0.Add(1*time.Second))
	out4a := out4
	out4a.State, out4a.Completed, out4a.Reason = ledger.StateAborted, t0.Add(6*time.Second), "cancelled"
	p5 := payment(5, "dfsp1", "dfsp2", ledger.StateReserved, t0.Add(5*time.Second))
	f.participants[1].Status = ledger.StatusSuspended
	acct := account("dfsp1", "USD", ledger.AccountPosition, 10)
	f.accounts[0] = acct
	h.appendEntry() // the checkpoint need not be at every entry
	h.checkpoint(store.Checkpoint{
		Participants: f.participants[1:],
		Accounts:     []ledger.Account{acct},
		Transfers:    append(changes(false, p1c, out4a), changes(true, p5)...),
	})
	f.transfers = map[ledger.ID]ledger.Transfer{}
	for _, t := range []ledger.Transfer{p1c, p2, in3, out4a, p5} {
		f.transfers[t.ID] = t
	}
	f.pending = []ledger.Transfer{p2, p5}
	return f
}

func (h *harness) checkLoad(f fixture) {
	t := h.t
	t.Helper()
	snap, err := h.s.Load(ctx(t))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if snap.Head != h.head || snap.Checkpoint != h.cp {
		t.Errorf("Load: head %+v checkpoint %d, want %+v and %d", snap.Head, snap.Checkpoint, h.head, h.cp)
	}
	checkParticipants(t, "Load participants", snap.Participants, f.participants)
	checkAccounts(t, "Load accounts", sortAccounts(snap.Accounts), sortAccounts(f.accounts))
	checkTransfers(t, "Load pending", sortByID(snap.Pending), sortByID(f.pending))
}

func sortAccounts(as []ledger.Account) []ledger.Account {
	as = slices.Clone(as)
	slices.SortFunc(as, func(a, b ledger.Account) int {
		if c := strings.Compare(a.Participant, b.Participant); c != 0 {
			return c
		}
		if c := strings.Compare(a.Currency, b.Currency); c != 0 {
			return c
		}
		return int(a.Type) - int(b.Type)
	})
	return as
}

func testCheckpointLoad(t *testing.T, h *harness) {
	p := participant("dfsp1", ledger.StatusActive, "USD")
	a := account("dfsp1", "USD", ledger.AccountPosition, 5)
	p1 := payment(1, "dfsp1", "dfsp2", ledger.StateReserved, t0)
	in2 := fundsIn(2, "dfsp1", t0)
	out3 := fundsOut(3, "dfsp1", t0)
	h.checkpoint(store.Checkpoint{Participants: []ledger.Participant{p}, Accounts: []ledger.Account{a}, Transfers: changes(true, p1, in2, out3)})
	h.appendEntry() // entries after the checkpoint are the caller's to replay
	h.checkLoad(fixture{participants: []ledger.Participant{p}, accounts: []ledger.Account{a}, pending: []ledger.Transfer{p1, out3}})
	snap, _ := h.s.Load(ctx(t))
	if snap.Checkpoint != 1 || snap.Head.Seq != 2 {
		t.Errorf("Load: checkpoint %d head %d, want 1 and 2", snap.Checkpoint, snap.Head.Seq)
	}
}

func testFinalLeavesPending(t *testing.T, h *harness) {
	f := h.storeFixture()
	h.checkLoad(f)
	// A transfer reserved and finished between two checkpoints is stored
	// final and never pending.
	p6 := payment(6, "dfsp1", "dfsp2", ledger.StateAborted, t0.Add(7*time.Second))
	p2 := f.transfers[tid(2)]
	p2.State, p2.Completed, p2.Reason = ledger.StateExpired, t0.Add(time.Hour), "expired"
	h.checkpoint(store.Checkpoint{Transfers: append(changes(true, p6), changes(false, p2)...)})
	f.pending = f.pending[1:]
	f.transfers[p2.ID], f.transfers[p6.ID] = p2, p6
	h.checkLoad(f)
	for id, want := range f.transfers {
		got, err := h.s.Transfer(ctx(t), id)
		if err != nil || !sameTransfer(got, want) {
			t.Errorf("Transfer(%s) = %+v, %v\nwant %+v", id, got, err, want)
		}
	}
}

func testCheckpointBounds(t *testing.T, h *harness) {
	h.appendEntry()
	h.appendEntry()
	if err := h.s.Checkpoint(ctx(t), &store.Checkpoint{Seq: 3}); err == nil {
		t.Errorf("Checkpoint past the head succeeded")
	}
	if err := h.s.Checkpoint(ctx(t), &store.Checkpoint{Seq: 2}); err != nil {
		t.Fatalf("Checkpoint at the head: %v", err)
	}
	if err := h.s.Checkpoint(ctx(t), &store.Checkpoint{Seq: 1}); err == nil {
		t.Errorf("Checkpoint before the previous one succeeded")
	}
	if snap, err := h.s.Load(ctx(t)); err != nil || snap.Checkpoint != 2 {
		t.Errorf("Load: checkpoint %d, %v; want 2", snap.Checkpoint, err)
	}
}

func testTransfer(t *testing.T, h *harness) {
	f := h.storeFixture()
	for id, want := range f.transfers {
		got, err := h.s.Transfer(ctx(t), id)
		if err != nil || !sameTransfer(got, want) {
			t.Errorf("Transfer(%s) = %+v, %v\nwant %+v", id, got, err, want)
		}
	}
	for _, id := range []ledger.ID{tid(99), {}, {0xff, 0xff}} {
		if got, err := h.s.Transfer(ctx(t), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Transfer(%s) = %+v, %v; want ErrNotFound", id, got, err)
		}
	}
}

func testFinder(t *testing.T, h *harness) {
	f, err := h.s.NewFinder()
	if err != nil {
		t.Fatalf("NewFinder: %v", err)
	}
	defer func() {
		if err := f.Close(); err != nil {
			t.Errorf("Finder.Close: %v", err)
		}
	}()
	if got, ok, err := f.FinalTransfer(tid(1)); ok || err != nil {
		t.Errorf("FinalTransfer in an empty store = %+v, %v, %v", got, ok, err)
	}
	fix := h.storeFixture()
	if got, ok, err := f.FinalTransfer(tid(1)); ok || err != nil {
		t.Errorf("FinalTransfer before Refresh = %+v, %v, %v; want not found", got, ok, err)
	}
	if err := f.Refresh(); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	for id, want := range fix.transfers {
		got, ok, err := f.FinalTransfer(id)
		if !ok || err != nil || !sameTransfer(got, want) {
			t.Errorf("FinalTransfer(%s) = %+v, %v, %v\nwant %+v", id, got, ok, err, want)
		}
	}
	if got, ok, err := f.FinalTransfer(tid(99)); ok || err != nil {
		t.Errorf("FinalTransfer(unknown) = %+v, %v, %v", got, ok, err)
	}
	// A later checkpoint is invisible until the next Refresh.
	p1 := fix.transfers[tid(2)]
	p1.State, p1.Completed = ledger.StateCommitted, t0.Add(time.Hour)
	p7 := payment(7, "dfsp1", "dfsp2", ledger.StateCommitted, t0.Add(time.Hour))
	h.checkpoint(store.Checkpoint{Transfers: append(changes(false, p1), changes(true, p7)...)})
	if _, ok, _ := f.FinalTransfer(tid(7)); ok {
		t.Errorf("FinalTransfer found a transfer checkpointed after the last Refresh")
	}
	if err := f.Refresh(); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if got, ok, err := f.FinalTransfer(tid(2)); !ok || err != nil || !sameTransfer(got, p1) {
		t.Errorf("FinalTransfer after Refresh = %+v, %v, %v; want %+v", got, ok, err, p1)
	}
	if got, ok, err := f.FinalTransfer(tid(7)); !ok || err != nil || !sameTransfer(got, p7) {
		t.Errorf("FinalTransfer after Refresh = %+v, %v, %v; want %+v", got, ok, err, p7)
	}
}

// testFinderSnapshot checks that a Finder sees a transfer it already found
// as of its last Refresh, not as a later checkpoint changed it.
func testFinderSnapshot(t *testing.T, h *harness) {
	p := payment(1, "dfsp1", "dfsp2", ledger.StateReserved, t0)
	h.checkpoint(store.Checkpoint{Transfers: changes(true, p)})
	f, err := h.s.NewFinder()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	done := p
	done.State, done.Completed = ledger.StateAborted, t0.Add(time.Second)
	h.checkpoint(store.Checkpoint{Transfers: changes(false, done)})
	if got, ok, err := f.FinalTransfer(p.ID); !ok || err != nil || !sameTransfer(got, p) {
		t.Errorf("FinalTransfer before Refresh = %+v, %v, %v; want the reserved state %+v", got, ok, err, p)
	}
	if err := f.Refresh(); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := f.FinalTransfer(p.ID); !ok || err != nil || !sameTransfer(got, done) {
		t.Errorf("FinalTransfer after Refresh = %+v, %v, %v; want %+v", got, ok, err, done)
	}
}

// pagesOf reads all of a participant's transfers limit at a time.
func (h *harness) pagesOf(participant string, limit int) ([]ledger.Transfer, int) {
	t := h.t
	t.Helper()
	var all []ledger.Transfer
	cursor := ""
	pages := 0
	for {
		ts, next, err := h.s.ParticipantTransfers(ctx(t), participant, cursor, limit)
		if err != nil {
			t.Fatalf("ParticipantTransfers(%q, %q, %d): %v", participant, cursor, limit, err)
		}
		pages++
		if len(ts) > limit {
			t.Errorf("page of %d transfers, limit %d", len(ts), limit)
		}
		all = append(all, ts...)
		if next == "" {
			return all, pages
		}
		if pages > 1000 {
			t.Fatalf("paging does not end")
		}
		cursor = next
	}
}

// participantFixture stores transfers of dfsp1, dfsp2 and dfsp3 over three
// checkpoints, and returns them as they are stored at the end.
func (h *harness) participantFixture() []ledger.Transfer {
	// dfsp1 sends, receives and moves funds; dfsp2 and dfsp3 only some.
	var all []ledger.Transfer
	add := func(tr ledger.Transfer) { all = append(all, tr) }
	for i := 1; i <= 6; i++ {
		created := t0.Add(time.Duration(i) * time.Minute)
		switch i % 3 {
		case 0:
			add(payment(i, "dfsp1", "dfsp2", ledger.StateReserved, created))
		case 1:
			add(payment(i, "dfsp2", "dfsp1", ledger.StateCommitted, created))
		case 2:
			add(payment(i, "dfsp1", "dfsp3", ledger.StateAborted, created))
		}
	}
	add(fundsIn(7, "dfsp1", t0.Add(7*time.Minute)))
	add(fundsOut(8, "dfsp1", t0.Add(30*time.Second)))
	add(payment(9, "dfsp2", "dfsp3", ledger.StateCommitted, t0.Add(9*time.Minute)))
	h.checkpoint(store.Checkpoint{Transfers: changes(true, all[:5]...)})
	h.checkpoint(store.Checkpoint{Transfers: changes(true, all[5:]...)})
	// Transfer 3 becomes final later.
	p3 := all[2]
	p3.State, p3.Completed = ledger.StateExpired, t0.Add(time.Hour)
	all[2] = p3
	h.checkpoint(store.Checkpoint{Transfers: changes(false, p3)})
	return all
}

func transfersOf(all []ledger.Transfer, p string) []ledger.Transfer {
	var out []ledger.Transfer
	for _, tr := range all {
		if tr.Payer == p || tr.Payee == p {
			out = append(out, tr)
		}
	}
	return out
}

// testParticipantTransfers pages through participants' transfers: every
// transfer once, in its latest state, pages no longer than the limit.
func testParticipantTransfers(t *testing.T, h *harness) {
	all := h.participantFixture()
	for _, tt := range []struct {
		participant string
		limit       int
	}{
		{"dfsp1", 3}, {"dfsp1", 4}, {"dfsp1", 8}, {"dfsp1", 100}, {"dfsp1", 1},
		{"dfsp2", 2}, {"dfsp3", 10}, {"nobody", 10},
		{"dfsp", 10}, // a prefix of other ids
	} {
		t.Run(fmt.Sprintf("%s limit %d", tt.participant, tt.limit), func(t *testing.T) {
			got, _ := h.pagesOf(tt.participant, tt.limit)
			checkTransfers(t, "all pages", sortByID(got), sortByID(transfersOf(all, tt.participant)))
		})
	}
	if ts, next, err := h.s.ParticipantTransfers(ctx(t), "dfsp1", "", 100); err != nil || len(ts) != 8 || next != "" {
		t.Errorf("one page for all of dfsp1's transfers: %d, %q, %v; want 8 and no cursor", len(ts), next, err)
	}
}

// testParticipantTransfersOrder checks the order store.Store documents:
// newest first by creation, ties broken by id, highest first.
func testParticipantTransfersOrder(t *testing.T, h *harness) {
	all := h.participantFixture()
	for _, p := range []string{"dfsp1", "dfsp2", "dfsp3"} {
		want := transfersOf(all, p)
		slices.SortStableFunc(want, func(a, b ledger.Transfer) int {
			if c := b.Created.Compare(a.Created); c != 0 {
				return c
			}
			return bytes.Compare(b.ID[:], a.ID[:])
		})
		for _, limit := range []int{1, 3, 100} {
			got, _ := h.pagesOf(p, limit)
			checkTransfers(t, fmt.Sprintf("%s in order, limit %d", p, limit), got, want)
		}
	}
}

// testParticipantTransfersStable pages while transfers finish between
// pages: none is listed twice or left out.
func testParticipantTransfersStable(t *testing.T, h *harness) {
	var ts []ledger.Transfer
	for i := 1; i <= 6; i++ {
		state := ledger.StateReserved
		if i%2 == 0 {
			state = ledger.StateCommitted
		}
		ts = append(ts, payment(i, "dfsp1", "dfsp2", state, t0.Add(time.Duration(i)*time.Second)))
	}
	h.checkpoint(store.Checkpoint{Transfers: changes(true, ts...)})
	seen := map[ledger.ID]int{}
	cursor := ""
	for pages := 0; pages < 50; pages++ {
		page, next, err := h.s.ParticipantTransfers(ctx(t), "dfsp1", cursor, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range page {
			seen[tr.ID]++
			// Whatever was just listed finishes now, and so does a reserved
			// one not listed yet.
			if tr.State == ledger.StateReserved {
				done := tr
				done.State, done.Completed = ledger.StateAborted, t0.Add(time.Hour+time.Duration(pages)*time.Second)
				h.checkpoint(store.Checkpoint{Transfers: changes(false, done)})
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for _, tr := range ts {
		if seen[tr.ID] != 1 {
			t.Errorf("transfer %s listed %d times while paging, want once", tr.ID, seen[tr.ID])
		}
	}
}

func testParticipantTransfersCursor(t *testing.T, h *harness) {
	var ts []ledger.Transfer
	for i := 1; i <= 5; i++ {
		ts = append(ts, payment(i, "dfsp1", "dfsp2", ledger.StateCommitted, t0.Add(time.Duration(i)*time.Second)))
	}
	h.checkpoint(store.Checkpoint{Transfers: changes(true, ts...)})
	page, next, err := h.s.ParticipantTransfers(ctx(t), "dfsp1", "", 2)
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("first page: %d transfers, cursor %q, %v", len(page), next, err)
	}
	// A cursor stays valid after later checkpoints, and pages do not
	// repeat what came before.
	h.checkpoint(store.Checkpoint{Transfers: changes(true, payment(6, "dfsp1", "dfsp2", ledger.StateCommitted, t0.Add(time.Hour)))})
	page2, _, err := h.s.ParticipantTransfers(ctx(t), "dfsp1", next, 2)
	if err != nil {
		t.Fatalf("second page: %v", err)
	}
	checkTransfers(t, "second page after a new transfer", page2, []ledger.Transfer{ts[2], ts[1]})

	// Transfers created at the same instant page without loss or repeats.
	var same []ledger.Transfer
	for i := 10; i < 14; i++ {
		same = append(same, payment(i, "dfsp9", "dfsp2", ledger.StateCommitted, t0.Add(time.Hour)))
	}
	h.checkpoint(store.Checkpoint{Transfers: changes(true, same...)})
	for _, limit := range []int{1, 3} {
		got, _ := h.pagesOf("dfsp9", limit)
		checkTransfers(t, fmt.Sprintf("same creation time, limit %d", limit), sortByID(got), sortByID(same))
	}

	for _, bad := range []string{"zz", "not a cursor", "00", strings.Repeat("0", 47), strings.Repeat("g", 48), next + "00", "\x00"} {
		ts, got, err := h.s.ParticipantTransfers(ctx(t), "dfsp1", bad, 2)
		var ce *store.CursorError
		if !errors.As(err, &ce) || ce.Cursor != bad {
			t.Errorf("ParticipantTransfers with cursor %q = %v, %q, %v; want a *store.CursorError for it", bad, ids(ts), got, err)
		}
	}
}

func testParticipants(t *testing.T, h *harness) {
	ps := []ledger.Participant{
		participant("zeta", ledger.StatusActive, "USD"),
		participant("alpha", ledger.StatusSuspended),
		participant("Mid", ledger.StatusActive, "EUR", "JPY", "USD"),
		participant("mid.2", ledger.StatusActive, "KWD"),
	}
	h.checkpoint(store.Checkpoint{Participants: ps})
	upd := participant("alpha", ledger.StatusActive, "EUR")
	h.checkpoint(store.Checkpoint{Participants: []ledger.Participant{upd}})
	want := []ledger.Participant{ps[2], upd, ps[3], ps[0]} // byte order of ids
	got, err := h.s.Participants(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	checkParticipants(t, "Participants", got, want)
	for _, p := range want {
		got, err := h.s.Participant(ctx(t), p.ID)
		if err != nil || !reflect.DeepEqual(normParticipant(got), normParticipant(p)) {
			t.Errorf("Participant(%q) = %+v, %v; want %+v", p.ID, got, err, p)
		}
	}
	for _, id := range []string{"nobody", "mid", "alph", ""} {
		if _, err := h.s.Participant(ctx(t), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Participant(%q): %v, want ErrNotFound", id, err)
		}
	}
}

func testAccounts(t *testing.T, h *harness) {
	all := []ledger.Account{
		account("b", "USD", ledger.AccountSettlement, 1),
		account("a", "USD", ledger.AccountSettlement, 2),
		account("a", "USD", ledger.AccountPosition, 3),
		account("a", "EUR", ledger.AccountPosition, 4),
		account("ab", "EUR", ledger.AccountPosition, 5),
		account(ledger.HubID, "USD", ledger.AccountHubFees, 6),
		account(ledger.HubID, "USD", ledger.AccountHubMultilateral, 7),
		account(ledger.HubID, "EUR", ledger.AccountHubReconciliation, 8),
	}
	h.checkpoint(store.Checkpoint{Accounts: all})
	upd := account("a", "USD", ledger.AccountPosition, 30)
	h.checkpoint(store.Checkpoint{Accounts: []ledger.Account{upd}})
	all[2] = upd
	want := sortAccounts(all)
	got, err := h.s.Accounts(ctx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	checkAccounts(t, `Accounts("")`, got, want)
	for _, p := range []string{"a", "ab", "b", ledger.HubID, "nobody", "A"} {
		var w []ledger.Account
		for _, a := range want {
			if a.Participant == p {
				w = append(w, a)
			}
		}
		got, err := h.s.Accounts(ctx(t), p)
		if err != nil {
			t.Fatal(err)
		}
		checkAccounts(t, fmt.Sprintf("Accounts(%q)", p), got, w)
	}
}

func testEachTransfer(t *testing.T, h *harness) {
	f := h.storeFixture()
	seen := map[ledger.ID]int{}
	err := h.s.EachTransfer(ctx(t), func(tr *ledger.Transfer) error {
		seen[tr.ID]++
		if want, ok := f.transfers[tr.ID]; !ok || !sameTransfer(*tr, want) {
			t.Errorf("EachTransfer gave %+v, want %+v", *tr, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id := range f.transfers {
		if seen[id] != 1 {
			t.Errorf("EachTransfer gave %s %d times, want once", id, seen[id])
		}
	}
	if len(seen) != len(f.transfers) {
		t.Errorf("EachTransfer gave %d transfers, want %d", len(seen), len(f.transfers))
	}
	stop := errors.New("stop")
	if err := h.s.EachTransfer(ctx(t), func(*ledger.Transfer) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("EachTransfer with a failing fn: %v, want its error", err)
	}
}

func testTransferIDs(t *testing.T, h *harness) {
	f := h.storeFixture()
	seen := map[ledger.ID]int{}
	if err := h.s.TransferIDs(ctx(t), func(id ledger.ID) error { seen[id]++; return nil }); err != nil {
		t.Fatal(err)
	}
	for id := range f.transfers {
		if seen[id] != 1 {
			t.Errorf("TransferIDs gave %s %d times, want once", id, seen[id])
		}
	}
	if len(seen) != len(f.transfers) {
		t.Errorf("TransferIDs gave %d ids, want %d", len(seen), len(f.transfers))
	}
	stop := errors.New("stop")
	if err := h.s.TransferIDs(ctx(t), func(ledger.ID) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("TransferIDs with a failing fn: %v, want its error", err)
	}
}

// testReadsDuringCheckpoints reads transfers while checkpoints reserve and
// then finish them: a reader sees each in one state or the other, never an
// error.
func testReadsDuringCheckpoints(t *testing.T, h *harness) {
	const n = 100
	var current atomic.Int64
	current.Store(1)
	done := make(chan struct{})
	errs := make(chan error, 100)
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				i := int(current.Load())
				for _, k := range []int{i - 1, i} {
					if k < 1 {
						continue
					}
					tr, err := h.s.Transfer(context.Background(), tid(k))
					if err != nil && !errors.Is(err, store.ErrNotFound) {
						select {
						case errs <- fmt.Errorf("Transfer(%d) during checkpoints: %w", k, err):
						default:
						}
					} else if err == nil && tr.ID != tid(k) {
						errs <- fmt.Errorf("Transfer(%d) gave %s", k, tr.ID)
					}
				}
				if _, _, err := h.s.ParticipantTransfers(context.Background(), "dfsp1", "", 2); err != nil {
					select {
					case errs <- fmt.Errorf("ParticipantTransfers during checkpoints: %w", err):
					default:
					}
				}
			}
		}()
	}
	for i := 1; i <= n; i++ {
		p := payment(i, "dfsp1", "dfsp2", ledger.StateReserved, t0.Add(time.Duration(i)*time.Second))
		h.checkpoint(store.Checkpoint{Transfers: changes(true, p)})
		current.Store(int64(i))
		p = payment(i, "dfsp1", "dfsp2", ledger.StateCommitted, t0.Add(time.Duration(i)*time.Second))
		h.checkpoint(store.Checkpoint{Transfers: changes(false, p)})
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testReopen(t *testing.T, h *harness) {
	f := h.storeFixture()
	h.appendEntry()
	h.appendEntry() // entries past the last checkpoint
	var journalBefore [][]byte
	_ = h.s.Journal(ctx(t), 0, func(e *journal.Entry) error {
		journalBefore = append(journalBefore, journal.Append(nil, e))
		return nil
	})
	pagesBefore, _ := h.pagesOf("dfsp1", 2)
	accountsBefore, _ := h.s.Accounts(ctx(t), "")

	h.reopen()
	h.checkLoad(f)
	var journalAfter [][]byte
	if err := h.s.Journal(ctx(t), 0, func(e *journal.Entry) error {
		journalAfter = append(journalAfter, journal.Append(nil, e))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(journalBefore, journalAfter, bytes.Equal) {
		t.Errorf("journal after reopen differs: %d entries before, %d after", len(journalBefore), len(journalAfter))
	}
	for id, want := range f.transfers {
		if got, err := h.s.Transfer(ctx(t), id); err != nil || !sameTransfer(got, want) {
			t.Errorf("Transfer(%s) after reopen = %+v, %v", id, got, err)
		}
	}
	pagesAfter, _ := h.pagesOf("dfsp1", 2)
	checkTransfers(t, "ParticipantTransfers after reopen", pagesAfter, pagesBefore)
	accountsAfter, _ := h.s.Accounts(ctx(t), "")
	checkAccounts(t, "Accounts after reopen", accountsAfter, accountsBefore)
	ps, _ := h.s.Participants(ctx(t))
	checkParticipants(t, "Participants after reopen", ps, f.participants)

	// The journal goes on from the head it had.
	stale := journal.Entry{Time: t0}
	stale.Seal(journal.Head{Seq: h.head.Seq - 1})
	if err := h.s.Append(ctx(t), &stale); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Append of an old seq after reopen: %v, want ErrConflict", err)
	}
	h.appendEntry()
	if err := h.s.Checkpoint(ctx(t), &store.Checkpoint{Seq: h.cp - 1}); err == nil {
		t.Errorf("Checkpoint before the last one succeeded after reopen")
	}
	h.checkpoint(store.Checkpoint{})
	h.reopen()
	h.checkLoad(f)
}

func testWritesAfterClose(t *testing.T, h *harness) {
	h.appendEntry()
	h.close()
	e := journal.Entry{Time: t0}
	e.Seal(h.head)
	if err := h.s.Append(ctx(t), &e); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	if err := h.s.Checkpoint(ctx(t), &store.Checkpoint{Seq: 1}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Checkpoint after Close: %v, want ErrClosed", err)
	}
	// Nothing was written: the head is where it was.
	h.reopen()
	if snap, err := h.s.Load(ctx(t)); err != nil || snap.Head != h.head || snap.Checkpoint != 0 {
		t.Errorf("after reopen: head %+v checkpoint %d, %v; want %+v and 0", snap.Head, snap.Checkpoint, err, h.head)
	}
}

func testReadsAfterClose(t *testing.T, h *harness) {
	h.storeFixture()
	h.close()
	for _, tt := range []struct {
		name string
		fn   func() error
	}{
		{"Load", func() error { _, err := h.s.Load(ctx(t)); return err }},
		{"Transfer", func() error { _, err := h.s.Transfer(ctx(t), tid(1)); return err }},
		{"ParticipantTransfers", func() error { _, _, err := h.s.ParticipantTransfers(ctx(t), "dfsp1", "", 10); return err }},
		{"Participant", func() error { _, err := h.s.Participant(ctx(t), "dfsp1"); return err }},
		{"Participants", func() error { _, err := h.s.Participants(ctx(t)); return err }},
		{"Accounts", func() error { _, err := h.s.Accounts(ctx(t), ""); return err }},
		{"Journal", func() error { return h.s.Journal(ctx(t), 0, func(*journal.Entry) error { return nil }) }},
		{"EachTransfer", func() error { return h.s.EachTransfer(ctx(t), func(*ledger.Transfer) error { return nil }) }},
		{"NewFinder", func() error {
			f, err := h.s.NewFinder()
			if err == nil {
				f.Close()
			}
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s after Close panics: %v", tt.name, r)
					}
				}()
				err = tt.fn()
			}()
			if !errors.Is(err, store.ErrClosed) {
				t.Errorf("%s after Close: %v, want ErrClosed", tt.name, err)
			}
		})
	}
}

// testTransferCount checks that Load counts the stored transfers: new ones
// add to it, later states of stored ones do not, and it survives a reopen.
func testTransferCount(t *testing.T, h *harness) {
	p1 := payment(1, "dfsp1", "dfsp2", ledger.StateReserved, t0)
	p2 := payment(2, "dfsp2", "dfsp1", ledger.StateCommitted, t0.Add(time.Second))
	h.checkpoint(store.Checkpoint{Transfers: changes(true, p1, p2)})
	done := p1
	done.State, done.Completed = ledger.StateAborted, t0.Add(time.Minute)
	h.checkpoint(store.Checkpoint{Transfers: changes(false, done)})
	h.checkpoint(store.Checkpoint{Transfers: changes(true, payment(3, "dfsp1", "dfsp3", ledger.StateCommitted, t0.Add(2*time.Minute)))})
	for _, when := range []string{"before reopen", "after reopen"} {
		snap, err := h.s.Load(ctx(t))
		if err != nil || snap.Transfers != 3 {
			t.Errorf("%s: Load counts %d transfers, %v; want 3", when, snap.Transfers, err)
		}
		h.reopen()
	}
}

func testCompleted(t *testing.T, h *harness) {
	f := h.storeFixture()
	var finals []ledger.Transfer
	for _, tr := range f.transfers {
		if tr.State.Final() {
			finals = append(finals, tr)
		}
	}
	slices.SortFunc(finals, func(a, b ledger.Transfer) int {
		if c := a.Completed.Compare(b.Completed); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	if len(finals) < 3 {
		t.Fatalf("fixture has %d final transfers; the test needs 3", len(finals))
	}
	collect := func(from, to time.Time) []ledger.Transfer {
		var got []ledger.Transfer
		err := h.s.Completed(ctx(t), from, to, func(tr *ledger.Transfer) error {
			got = append(got, *tr)
			return nil
		})
		if err != nil {
			t.Fatalf("Completed(%v, %v): %v", from, to, err)
		}
		return got
	}
	within := func(from, to time.Time) []ledger.Transfer {
		var want []ledger.Transfer
		for _, tr := range finals {
			if !tr.Completed.Before(from) && tr.Completed.Before(to) {
				want = append(want, tr)
			}
		}
		return want
	}
	mid := finals[len(finals)/2].Completed
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, r := range []struct {
		name     string
		from, to time.Time
	}{
		{"all", time.Time{}, far},
		{"before mid", time.Time{}, mid},
		{"from mid", mid, far},
		{"exactly mid", mid, mid.Add(1)},
		{"empty", mid, mid},
		{"reversed", far, time.Time{}},
	} {
		got, want := collect(r.from, r.to), within(r.from, r.to)
		if len(got) != len(want) {
			t.Errorf("%s: Completed gave %v, want %v", r.name, ids(got), ids(want))
			continue
		}
		for i := range got {
			if !sameTransfer(got[i], want[i]) {
				t.Errorf("%s: #%d = %+v, want %+v", r.name, i, got[i], want[i])
			}
		}
	}
	stop := errors.New("stop")
	if err := h.s.Completed(ctx(t), time.Time{}, far, func(*ledger.Transfer) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Completed with a failing fn: %v, want its error", err)
	}
}

func testWindowsSettlements(t *testing.T, h *harness) {
	w1 := ledger.Window{ID: 1, Currency: "USD", Model: ledger.ModelMultilateral, State: ledger.WindowPendingSettlement,
		Opened: t0, Closed: t0.Add(time.Hour), Settlement: 1, Count: 3, Amount: 600,
		Flows: []ledger.Flow{{Payer: "a", Payee: "b", Count: 2, Amount: 500}, {Payer: "b", Payee: "a", Count: 1, Amount: 100}}}
	w2 := ledger.Window{ID: 2, Currency: "USD", Model: ledger.ModelMultilateral, State: ledger.WindowOpen, Opened: t0.Add(time.Hour)}
	s1 := ledger.Settlement{ID: 1, Currency: "USD", Model: ledger.ModelMultilateral, State: ledger.SettlementPending,
		Windows: []uint64{1}, Created: t0.Add(2 * time.Hour), Updated: t0.Add(2 * time.Hour), Count: 3, Amount: 600, Position: 400,
		Nets: []ledger.Net{{Participant: "a", Sent: 500, Received: 100, SentCount: 2, ReceivedCount: 1, Net: 400},
			{Participant: "b", Sent: 100, Received: 500, SentCount: 1, ReceivedCount: 2, Net: -400}},
		History: []ledger.StateChange{{State: ledger.SettlementPending, At: t0.Add(2 * time.Hour)}}}
	h.checkpoint(store.Checkpoint{Windows: []ledger.Window{w2, w1}, Settlements: []ledger.Settlement{s1}})
	// A later checkpoint changes one of each.
	w2.Count, w2.Amount, w2.Flows = 1, 7, []ledger.Flow{{Payer: "b", Payee: "a", Count: 1, Amount: 7}}
	s1.State = ledger.SettlementRecorded
	s1.History = append(s1.History, ledger.StateChange{State: ledger.SettlementRecorded, At: t0.Add(3 * time.Hour)})
	h.checkpoint(store.Checkpoint{Windows: []ledger.Window{w2}, Settlements: []ledger.Settlement{s1}})
	check := func(when string) {
		ws, err := h.s.Windows(ctx(t))
		if err != nil {
			t.Fatalf("%s: Windows: %v", when, err)
		}
		if want := []ledger.Window{w1, w2}; !reflect.DeepEqual(normWindows(ws), normWindows(want)) {
			t.Errorf("%s: Windows = %+v\nwant %+v", when, ws, want)
		}
		ss, err := h.s.Settlements(ctx(t))
		if err != nil {
			t.Fatalf("%s: Settlements: %v", when, err)
		}
		if want := []ledger.Settlement{s1}; !reflect.DeepEqual(normSettlements(ss), normSettlements(want)) {
			t.Errorf("%s: Settlements = %+v\nwant %+v", when, ss, want)
		}
		snap, err := h.s.Load(ctx(t))
		if err != nil {
			t.Fatalf("%s: Load: %v", when, err)
		}
		if len(snap.Windows) != 2 || len(snap.Settlements) != 1 {
			t.Errorf("%s: Load gave %d windows and %d settlements, want 2 and 1", when, len(snap.Windows), len(snap.Settlements))
		}
	}
	check("before reopening")
	h.reopen()
	check("after reopening")
}

func normWindows(ws []ledger.Window) []ledger.Window {
	out := slices.Clone(ws)
	for i := range out {
		out[i].Opened, out[i].Closed = normTime(out[i].Opened), normTime(out[i].Closed)
	}
	return out
}

func normSettlements(ss []ledger.Settlement) []ledger.Settlement {
	out := slices.Clone(ss)
	for i := range out {
		s := &out[i]
		s.Created, s.Updated = normTime(s.Created), normTime(s.Updated)
		s.History = slices.Clone(s.History)
		for j := range s.History {
			s.History[j].At = normTime(s.History[j].At)
		}
	}
	return out
}

// owed lists the messages the store keeps, as id: value.
func (h *harness) owed() map[uint64]string {
	h.t.Helper()
	out := map[uint64]string{}
	var last uint64
	err := h.s.Owed(ctx(h.t), func(id uint64, value []byte) error {
		if len(out) > 0 && id <= last {
			h.t.Errorf("Owed lists %d after %d, want id order", id, last)
		}
		last = id
		out[id] = string(value)
		return nil
	})
	if err != nil {
		h.t.Fatalf("Owed: %v", err)
	}
	return out
}

// testOwed checks that owed messages share their entries' commit, survive a
// reopen, and leave when delivered.
func testOwed(t *testing.T, h *harness) {
	if got := h.owed(); len(got) != 0 {
		t.Fatalf("a new store owes %v", got)
	}
	e := journal.Entry{Time: t0, Commands: cmd(1)}
	next := e.Seal(h.head)
	msgs := []store.Message{{ID: 7, Value: []byte("forward")}, {ID: 9, Value: []byte("notify")}}
	if err := h.s.AppendOwed(ctx(t), msgs, &e); err != nil {
		t.Fatalf("AppendOwed: %v", err)
	}
	h.head = next
	// A conflicting entry stores none of its messages.
	stale := journal.Entry{Time: t0, Commands: cmd(2)}
	stale.Seal(journal.Head{})
	if err := h.s.AppendOwed(ctx(t), []store.Message{{ID: 8, Value: []byte("lost")}}, &stale); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AppendOwed of a conflicting entry: %v, want ErrConflict", err)
	}
	// Messages alone, with no entry.
	if err := h.s.AppendOwed(ctx(t), []store.Message{{ID: 3, Value: []byte("quote")}, {ID: 12, Value: nil}}); err != nil {
		t.Fatalf("AppendOwed without entries: %v", err)
	}
	want := map[uint64]string{3: "quote", 7: "forward", 9: "notify", 12: ""}
	if got := h.owed(); !reflect.DeepEqual(got, want) {
		t.Errorf("Owed = %v, want %v", got, want)
	}
	h.reopen()
	if got := h.owed(); !reflect.DeepEqual(got, want) {
		t.Errorf("Owed after reopen = %v, want %v", got, want)
	}
	if snap, err := h.s.Load(ctx(t)); err != nil || snap.Head != h.head {
		t.Errorf("Load().Head = %+v, %v; want %+v", snap.Head, err, h.head)
	}
	if err := h.s.Delivered(ctx(t), 7, 3, 100); err != nil {
		t.Fatalf("Delivered: %v", err)
	}
	want = map[uint64]string{9: "notify", 12: ""}
	if got := h.owed(); !reflect.DeepEqual(got, want) {
		t.Errorf("Owed after Delivered = %v, want %v", got, want)
	}
	h.reopen()
	if got := h.owed(); !reflect.DeepEqual(got, want) {
		t.Errorf("Owed after Delivered and reopen = %v, want %v", got, want)
	}
	// The journal is unchanged by all of it.
	var seqs []uint64
	if err := h.s.Journal(ctx(t), 0, func(e *journal.Entry) error { seqs = append(seqs, e.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs, []uint64{1}) {
		t.Errorf("journal holds %v, want [1]", seqs)
	}
	if err := h.s.AppendOwed(ctx(t), []store.Message{{ID: 1, Value: make([]byte, store.MaxMessage+1)}}); err == nil {
		t.Errorf("AppendOwed of a message over MaxMessage succeeded")
	}
}
