// Package audit checks a store against its journal: the hash chain links
// every entry to the one before, replaying the journal through a fresh
// ledger reproduces every stored account, participant and transfer, and the
// balances of each currency sum to zero. `hutong verify` runs it.
package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hutong/hutong/journal"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
)

// Report is what Verify checked.
type Report struct {
	Entries         uint64 // journal entries walked
	Commands        uint64 // commands replayed
	Checkpoint      uint64 // entry the stored state reflects
	Transfers       uint64 // stored transfers, each compared with the replay
	Accounts        int
	Participants    int
	Windows         int // settlement windows
	Settlements     int
	AfterCheckpoint uint64 // entries after the checkpoint, replayed but not yet stored as state
}

func (r Report) String() string {
	return fmt.Sprintf("journal entries %d (hash chain intact), commands replayed %d, checkpoint at entry %d, "+
		"transfers %d, accounts %d, participants %d, settlement windows %d, settlements %d match the replay; "+
		"%d entries after the checkpoint replay cleanly",
		r.Entries, r.Commands, r.Checkpoint, r.Transfers, r.Accounts, r.Participants, r.Windows, r.Settlements, r.AfterCheckpoint)
}

// Failure is the first thing Verify found wrong. Seq is the journal entry
// it concerns, 0 when it concerns stored state as a whole.
type Failure struct {
	Seq  uint64
	What string
	Err  error
}

func (f *Failure) Error() string {
	s := "verify: "
	if f.Seq > 0 {
		s += fmt.Sprintf("journal entry %d: ", f.Seq)
	}
	s += f.What
	if f.Err != nil {
		s += ": " + f.Err.Error()
	}
	return s
}

func (f *Failure) Unwrap() error { return f.Err }

// Progress, if set, is called after every 100 entries with the entries and
// commands replayed so far.
type Progress func(entries, commands uint64)

// Store is what the audit reads: the stored state, the journal and the
// snapshot the writer would restore from. store.Store implements it.
type Store interface {
	store.Reader
	Load(ctx context.Context) (store.Snapshot, error)
}

// Verify checks s. It returns a *Failure for the first problem found, or
// another error when s could not be read at all.
func Verify(ctx context.Context, s Store, progress Progress) (Report, error) {
	var r Report
	snap, err := s.Load(ctx)
	if err != nil {
		var f *Failure
		if errors.Is(err, store.ErrCorrupt) {
			return r, &Failure{What: "stored state does not load", Err: err}
		} else if errors.As(err, &f) {
			return r, f
		}
		return r, err
	}
	r.Checkpoint = snap.Checkpoint
	led := ledger.New(nil)
	var prev journal.Head
	compared := 0

	check := func(seq uint64) error {
		ch := led.Changes()
		defer led.Forget()
		var ts []ledger.Transfer
		for i := range ch.Transfers {
			if t := &ch.Transfers[i].Transfer; t.State.Final() {
				ts = append(ts, *t)
			}
		}
		if seq == snap.Checkpoint {
			ts = append(ts, led.Pending()...) // the rest are compared when final
		}
		for i := range ts {
			if err := compareTransfer(ctx, s, &ts[i]); err != nil {
				return &Failure{Seq: seq, What: "a stored transfer does not match the journal", Err: err}
			}
			compared++
		}
		return nil
	}

	err = s.Journal(ctx, 1, func(e *journal.Entry) error {
		switch {
		case e.Seq != prev.Seq+1:
			return &Failure{Seq: e.Seq, What: fmt.Sprintf("sequence gap: entry %d follows %d", e.Seq, prev.Seq)}
		case e.Prev != prev.Hash:
			return &Failure{Seq: e.Seq, What: "does not link to the hash of the entry before it"}
		case e.ComputeHash() != e.Hash:
			return &Failure{Seq: e.Seq, What: "its contents do not match its hash (changed after it was written)"}
		}
		err := e.EachCommand(func(c *ledger.Command) error {
			res, err := led.Apply(e.Time, c)
			if err == nil && res.Duplicate {
				err = errors.New("it repeats a command already applied")
			}
			if err != nil {
				return &Failure{Seq: e.Seq, What: fmt.Sprintf("%s %s does not replay", c.Op, c.ID), Err: err}
			}
			r.Commands++
			return nil
		})
		if err != nil {
			var f *Failure
			if errors.As(err, &f) {
				return f
			}
			return &Failure{Seq: e.Seq, What: "commands do not decode", Err: err}
		}
		prev = journal.Head{Seq: e.Seq, Hash: e.Hash}
		r.Entries++
		if progress != nil && r.Entries%100 == 0 {
			progress(r.Entries, r.Commands)
		}
		switch {
		case e.Seq < snap.Checkpoint && e.Seq%256 == 0:
			return check(e.Seq)
		case e.Seq == snap.Checkpoint:
			if err := check(e.Seq); err != nil {
				return err
			}
			return compareState(ctx, s, led, &r)
		case e.Seq > snap.Checkpoint:
			r.AfterCheckpoint++
		}
		return nil
	})
	if err != nil {
		var f *Failure
		if errors.As(err, &f) {
			return r, f
		}
		if errors.Is(err, store.ErrCorrupt) {
			return r, &Failure{Seq: prev.Seq + 1, What: "entry does not decode", Err: err}
		}
		return r, err
	}
	if prev != snap.Head {
		return r, &Failure{What: fmt.Sprintf("the journal ends at entry %d but the store's head is %d", prev.Seq, snap.Head.Seq)}
	}
	if snap.Checkpoint == 0 {
		if err := compareState(ctx, s, ledger.New(nil), &r); err != nil {
			return r, err
		}
	}
	// Every stored transfer must be one the replay produced.
	var stored uint64
	err = s.EachTransfer(ctx, func(*ledger.Transfer) error { stored++; return nil })
	if err != nil {
		return r, &Failure{What: "stored transfers do not read back", Err: err}
	}
	if stored != uint64(compared) {
		return r, &Failure{What: fmt.Sprintf("the store holds %d transfers but the journal up to the checkpoint creates %d", stored, compared)}
	}
	r.Transfers = stored
	if err := zeroSum(led.Accounts()); err != nil {
		return r, &Failure{Seq: prev.Seq, What: err.Error()}
	}
	return r, nil
}

func compareTransfer(ctx context.Context, s store.Reader, want *ledger.Transfer) error {
	got, err := s.Transfer(ctx, want.ID)
	if err != nil {
		return fmt.Errorf("transfer %s: stored copy unreadable: %w", want.ID, err)
	}
	if !bytes.Equal(ledger.AppendTransfer(nil, &got), ledger.AppendTransfer(nil, want)) {
		return fmt.Errorf("transfer %s: stored %s %s %d %s differs from the journal's %s %s %d %s",
			want.ID, got.State, got.Currency, got.Amount, got.Payer+"->"+got.Payee,
			want.State, want.Currency, want.Amount, want.Payer+"->"+want.Payee)
	}
	return nil
}

// compareState compares the stored participants and accounts with the
// replayed ledger's, as of the checkpoint.
func compareState(ctx context.Context, s store.Reader, led *ledger.Ledger, r *Report) error {
	accts, err := s.Accounts(ctx, "")
	if err != nil {
		return &Failure{What: "stored accounts unreadable", Err: err}
	}
	want := led.Accounts()
	byKey := func(a, b ledger.Account) int { return a.AccountKey.Compare(b.AccountKey) }
	slices.SortFunc(want, byKey)
	slices.SortFunc(accts, byKey)
	for i := 0; i < max(len(want), len(accts)); i++ {
		switch {
		case i >= len(accts):
			return &Failure{What: fmt.Sprintf("account %s is missing from the store", want[i].AccountKey)}
		case i >= len(want):
			return &Failure{What: fmt.Sprintf("stored account %s is not in the journal", accts[i].AccountKey)}
		case accts[i] != want[i]:
			g, w := accts[i], want[i]
			return &Failure{What: fmt.Sprintf("account %s: stored debits %d credits %d pending %d/%d, journal gives debits %d credits %d pending %d/%d",
				w.AccountKey, g.DebitsPosted, g.CreditsPosted, g.DebitsPending, g.CreditsPending,
				w.DebitsPosted, w.CreditsPosted, w.DebitsPending, w.CreditsPending)}
		}
	}
	r.Accounts = len(want)
	ps, err := s.Participants(ctx)
	if err != nil {
		return &Failure{What: "stored participants unreadable", Err: err}
	}
	wantP := led.Participants()
	slices.SortFunc(wantP, func(a, b ledger.Participant) int { return strings.Compare(a.ID, b.ID) })
	if len(ps) != len(wantP) {
		return &Failure{What: fmt.Sprintf("the store holds %d participants, the journal %d", len(ps), len(wantP))}
	}
	for i := range ps {
		if !bytes.Equal(ledger.AppendParticipant(nil, &ps[i]), ledger.AppendParticipant(nil, &wantP[i])) {
			return &Failure{What: fmt.Sprintf("participant %s differs from the journal's", wantP[i].ID)}
		}
	}
	r.Participants = len(ps)
	if err := compareSettlement(ctx, s, led, r); err != nil {
		return err
	}
	return zeroSum(want)
}

// compareSettlement compares the stored settlement windows and settlements
// with the replayed ledger's, and checks that each window's totals are the
// sums of its flows and that each settlement's nets sum to zero.
func compareSettlement(ctx context.Context, s store.Reader, led *ledger.Ledger, r *Report) error {
	ws, err := s.Windows(ctx)
	if err != nil {
		return &Failure{What: "stored settlement windows unreadable", Err: err}
	}
	want := led.Windows("", true)
	if len(ws) != len(want) {
		return &Failure{What: fmt.Sprintf("the store holds %d settlement windows, the journal %d", len(ws), len(want))}
	}
	for i := range ws {
		if !bytes.Equal(ledger.AppendWindow(nil, &ws[i]), ledger.AppendWindow(nil, &want[i])) {
			return &Failure{What: fmt.Sprintf("settlement window %d differs from the journal's", want[i].ID)}
		}
		var count, amount int64
		for _, f := range ws[i].Flows {
			count += f.Count
			amount += f.Amount
		}
		if count != ws[i].Count || amount != ws[i].Amount {
			return &Failure{What: fmt.Sprintf("settlement window %d holds %d payments of %d in all, but its flows sum to %d of %d",
				ws[i].ID, ws[i].Count, ws[i].Amount, count, amount)}
		}
	}
	r.Windows = len(ws)
	ss, err := s.Settlements(ctx)
	if err != nil {
		return &Failure{What: "stored settlements unreadable", Err: err}
	}
	wantS := led.Settlements()
	if len(ss) != len(wantS) {
		return &Failure{What: fmt.Sprintf("the store holds %d settlements, the journal %d", len(ss), len(wantS))}
	}
	for i := range ss {
		if !bytes.Equal(ledger.AppendSettlement(nil, &ss[i]), ledger.AppendSettlement(nil, &wantS[i])) {
			return &Failure{What: fmt.Sprintf("settlement %d differs from the journal's", wantS[i].ID)}
		}
		var sum int64
		for _, n := range ss[i].Nets {
			sum += n.Net
		}
		if sum != 0 {
			return &Failure{What: fmt.Sprintf("settlement %d: its nets sum to %d, not zero", ss[i].ID, sum)}
		}
	}
	r.Settlements = len(ss)
	return nil
}

func zeroSum(accts []ledger.Account) error {
	type sums struct{ posted, pending int64 }
	by := map[string]*sums{}
	for _, a := range accts {
		s := by[a.Currency]
		if s == nil {
			s = &sums{}
			by[a.Currency] = s
		}
		s.posted += a.DebitsPosted - a.CreditsPosted
		s.pending += a.DebitsPending - a.CreditsPending
	}
	for cur, s := range by {
		if s.posted != 0 || s.pending != 0 {
			return fmt.Errorf("%s balances sum to %d posted and %d pending, not zero", cur, s.posted, s.pending)
		}
	}
	return nil
}
