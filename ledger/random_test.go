package ledger_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hutong/hutong/internal/testseed"
	"github.com/hutong/hutong/ledger"
)

var (
	randParticipants = []string{"fsp0", "fsp1", "fsp2", "fsp3", "fsp4", "fsp5", "fsp6", "fsp7"}
	randCurrencies   = []string{"EUR", "JPY", "KWD", "USD"}
)

// TestRandomized applies long random command sequences to a ledger and to a
// reference model kept in plain maps, and checks after every batch that
// they agree and that the ledger's invariants hold. It then replays the
// encoded commands through a fresh ledger and compares the result.
func TestRandomized(t *testing.T) {
	seed := testseed.Seed(t)
	n := 20000
	if testing.Short() {
		n = 3000
	}
	h := newHarness(t, seed)
	h.run(n)
	h.replay()
	t.Logf("%d commands in %d batches: %d applied, %d duplicates, %d failed, %d expired; errors %v",
		n, len(h.log), h.applied, h.duplicates, h.failed, h.expired, h.errCount)
	// The sequence must reach the interesting outcomes, or it tests little.
	for _, want := range []error{ledger.ErrNDCExceeded, ledger.ErrInsufficientLiquidity, ledger.ErrInvalidFulfilment,
		ledger.ErrModifiedRequest, ledger.ErrTransferExpired, ledger.ErrTransferFinal} {
		if h.errCount[want.(*ledger.Error).Code] == 0 && !testing.Short() {
			t.Errorf("no command failed with %v", want)
		}
	}
	if h.expired == 0 || h.duplicates == 0 {
		t.Errorf("no expiries (%d) or duplicates (%d)", h.expired, h.duplicates)
	}
}

// model is the reference: what the ledger should hold.
type model struct {
	parts     map[string]*ledger.Participant
	accts     map[ledger.AccountKey]*ledger.Account
	transfers map[ledger.ID]*ledger.Transfer
	ids       []ledger.ID            // every transfer id, in creation order
	reserved  map[ledger.ID]struct{} // reserved transfers of every kind
	windows   map[string]uint64      // the open settlement window of each currency
}

type logged struct {
	at   time.Time
	cmds []byte
}

type harness struct {
	t   *testing.T
	rng *rand.Rand
	l   *ledger.Ledger
	m   model
	now time.Time

	final    *finalMap       // what "checkpoints" stored, for the ledger's lookups
	inFlight *ledger.Changes // taken by Changes, not yet stored and forgotten
	everNew  map[ledger.ID]bool
	stored   struct {
		parts map[string]ledger.Participant
		accts map[ledger.AccountKey]ledger.Account
	}
	finalSeen map[ledger.ID]ledger.State // first final state seen of each transfer
	touched   map[ledger.ID]struct{}
	// Accounts and participants that changed since the last Changes.
	dirtyAccts map[ledger.AccountKey]bool
	dirtyParts map[string]bool
	nextID     int

	log                                  []logged
	applied, duplicates, failed, expired int
	errCount                             map[string]int
	batches                              int
}

func newHarness(t *testing.T, seed uint64) *harness {
	h := &harness{
		t:         t,
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now:       t0,
		final:     &finalMap{m: map[ledger.ID]ledger.Transfer{}},
		everNew:   map[ledger.ID]bool{},
		finalSeen: map[ledger.ID]ledger.State{},
		touched:   map[ledger.ID]struct{}{},
		errCount:  map[string]int{},

		dirtyAccts: map[ledger.AccountKey]bool{},
		dirtyParts: map[string]bool{},
		m: model{
			parts:     map[string]*ledger.Participant{},
			accts:     map[ledger.AccountKey]*ledger.Account{},
			transfers: map[ledger.ID]*ledger.Transfer{},
			reserved:  map[ledger.ID]struct{}{},
			windows:   map[string]uint64{},
		},
	}
	h.stored.parts = map[string]ledger.Participant{}
	h.stored.accts = map[ledger.AccountKey]ledger.Account{}
	h.l = ledger.New(h.final)
	return h
}

func (h *harness) run(n int) {
	// Set up: participants, currencies, collateral and caps.
	var setup []ledger.Command
	for i, p := range randParticipants {
		setup = append(setup, create(p, "Participant "+p))
		for _, cur := range randCurrencies {
			if h.rng.IntN(4) == 0 && i > 1 {
				continue
			}
			setup = append(setup, enable(p, cur),
				setNDC(p, cur, 5000+h.rng.Int64N(50000)),
				h.newFundsIn(p, cur, 10000+h.rng.Int64N(100000)))
		}
	}
	h.batch(setup, true)
	for done := 0; done < n; {
		size := 1 + h.rng.IntN(48)
		if h.rng.IntN(10) == 0 {
			size = 1
		}
		size = min(size, n-done)
		cmds := make([]ledger.Command, size)
		for i := range cmds {
			cmds[i] = h.gen()
		}
		h.now = h.now.Add(time.Duration(h.rng.IntN(1500)) * time.Millisecond)
		h.batch(cmds, h.rng.IntN(8) != 0)
		done += size
	}
	h.flushChanges(true)
	h.fullCheck()
	h.checkStored()
}

func (h *harness) id() ledger.ID {
	h.nextID++
	var id ledger.ID
	for i := range id {
		id[i] = byte(h.rng.Uint32())
	}
	id[0], id[1] = byte(h.nextID>>8), byte(h.nextID)
	return id
}

func (h *harness) pick(s []string) string { return s[h.rng.IntN(len(s))] }

func (h *harness) newFundsIn(p, cur string, amount int64) ledger.Command {
	return ledger.Command{Op: ledger.OpFundsIn, ID: h.id(), Participant: p, Currency: cur, Amount: amount, Fingerprint: h.digest()}
}

func (h *harness) digest() [32]byte {
	var d [32]byte
	for i := range d {
		d[i] = byte(h.rng.Uint32())
	}
	return d
}

// fulfilmentOf makes every payment's fulfilment derivable from its id.
func fulfilmentOf(id ledger.ID) [32]byte {
	var f [32]byte
	copy(f[:], id[:])
	copy(f[16:], "fulfilment-of-id")
	return f
}

func (h *harness) anyID() (ledger.ID, bool) {
	if len(h.m.ids) == 0 {
		return ledger.ID{}, false
	}
	return h.m.ids[h.rng.IntN(len(h.m.ids))], true
}

// reservedOf returns a random reserved transfer of kind k, if any.
func (h *harness) reservedOf(k ledger.Kind) (ledger.ID, bool) {
	// Maps iterate in random order, but not a seeded one: sort for
	// reproducibility.
	var ids []ledger.ID
	for id := range h.m.reserved {
		if h.m.transfers[id].Kind == k {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return ledger.ID{}, false
	}
	slices.SortFunc(ids, func(a, b ledger.ID) int { return slices.Compare(a[:], b[:]) })
	return ids[h.rng.IntN(len(ids))], true
}

// gen returns a random command.
func (h *harness) gen() ledger.Command {
	r := h.rng.IntN(100)
	switch {
	case r < 35: // prepare
		i := h.rng.IntN(len(randParticipants))
		j := (i + 1 + h.rng.IntN(len(randParticipants)-1)) % len(randParticipants)
		if h.rng.IntN(50) == 0 {
			j = i
		}
		payer, payee := randParticipants[i], randParticipants[j]
		id := h.id()
		c := ledger.Command{
			Op: ledger.OpPrepare, ID: id, Payer: payer, Payee: payee, Currency: h.pick(randCurrencies),
			Amount: 1 + h.rng.Int64N(6000), Condition: ledger.ConditionOf(fulfilmentOf(id)), Fingerprint: h.digest(),
			Expiry: h.now.Add(time.Duration(1+h.rng.IntN(20000))*time.Millisecond + time.Duration(h.rng.IntN(1000))),
		}
		switch h.rng.IntN(60) {
		case 0:
			c.Amount = 0
		case 1:
			c.Expiry = h.now
		case 2:
			c.Expiry = h.now.Add(-time.Second)
		case 3:
			c.Condition = [32]byte{}
		case 4:
			c.Payer = "nobody"
		case 5:
			c.Amount = 40000 + h.rng.Int64N(100000)
		}
		return c
	case r < 57: // fulfil
		id, ok := h.reservedOf(ledger.KindPayment)
		if !ok || h.rng.IntN(8) == 0 {
			id, ok = h.anyID()
		}
		if !ok || h.rng.IntN(50) == 0 {
			id = h.id()
		}
		c := ledger.Command{Op: ledger.OpFulfil, ID: id, Fulfilment: fulfilmentOf(id)}
		if h.rng.IntN(6) == 0 {
			c.Fulfilment[h.rng.IntN(32)] ^= 1 << h.rng.IntN(8)
		}
		return c
	case r < 63: // abort
		id, ok := h.reservedOf(ledger.KindPayment)
		if !ok || h.rng.IntN(6) == 0 {
			id, _ = h.anyID()
		}
		reason := [...]string{"", "payee rejected", strings.Repeat("x", ledger.MaxReason), strings.Repeat("y", ledger.MaxReason+1), "bad \xff"}[h.rng.IntN(5)]
		return ledger.Command{Op: ledger.OpAbort, ID: id, Reason: reason}
	case r < 70: // funds in
		return h.newFundsIn(h.pick(randParticipants), h.pick(randCurrencies), h.rng.Int64N(20000))
	case r < 75: // funds out reserve
		return ledger.Command{Op: ledger.OpFundsOutReserve, ID: h.id(), Participant: h.pick(randParticipants),
			Currency: h.pick(randCurrencies), Amount: h.rng.Int64N(30000), Fingerprint: h.digest()}
	case r < 80: // funds out commit or abort
		id, ok := h.reservedOf(ledger.KindFundsOut)
		if !ok || h.rng.IntN(5) == 0 {
			id, _ = h.anyID()
		}
		if h.rng.IntN(2) == 0 {
			return ledger.Command{Op: ledger.OpFundsOutCommit, ID: id}
		}
		return ledger.Command{Op: ledger.OpFundsOutAbort, ID: id, Reason: "withdrawal cancelled"}
	case r < 83: // NDC
		ndc := h.rng.Int64N(60000)
		if h.rng.IntN(20) == 0 {
			ndc = -1
		}
		return setNDC(h.pick(randParticipants), h.pick(randCurrencies), ndc)
	case r < 85: // suspend or activate; mostly active
		s := ledger.StatusActive
		if h.rng.IntN(6) == 0 {
			s = ledger.StatusSuspended
		}
		return ledger.Command{Op: ledger.OpSetStatus, Participant: h.pick(randParticipants), Status: s}
	case r < 86: // participants and currencies again
		switch h.rng.IntN(4) {
		case 0:
			return create(h.pick(randParticipants), "Participant fsp0")
		case 1:
			return create("hub", "x")
		case 2:
			return enable(h.pick(randParticipants), h.pick(append([]string{"XXX"}, randCurrencies...)))
		}
		return create("newfsp", "")
	default: // resend of a create command, as it was or modified
		id, ok := h.anyID()
		if !ok {
			return ledger.Command{Op: ledger.OpFundsOutCommit, ID: h.id()}
		}
		t := h.m.transfers[id]
		var c ledger.Command
		switch t.Kind {
		case ledger.KindPayment:
			c = ledger.Command{Op: ledger.OpPrepare, ID: id, Payer: t.Payer, Payee: t.Payee, Currency: t.Currency,
				Amount: t.Amount, Condition: t.Condition, Expiry: t.Expiry, Fingerprint: t.Fingerprint}
		case ledger.KindFundsIn:
			c = ledger.Command{Op: ledger.OpFundsIn, ID: id, Participant: t.Payee, Currency: t.Currency, Amount: t.Amount, Fingerprint: t.Fingerprint}
		case ledger.KindFundsOut:
			c = ledger.Command{Op: ledger.OpFundsOutReserve, ID: id, Participant: t.Payer, Currency: t.Currency, Amount: t.Amount, Fingerprint: t.Fingerprint}
		}
		if h.rng.IntN(3) == 0 {
			switch h.rng.IntN(3) {
			case 0:
				c.Amount++
			case 1:
				c.Fingerprint[0] ^= 1
			case 2:
				c.Currency = h.pick(randCurrencies)
			}
		}
		return c
	}
}

// batch runs what the writer does for one batch: expire what is due, apply
// each command, then maybe hand changes to a "checkpoint" or finish one.
func (h *harness) batch(cmds []ledger.Command, expire bool) {
	t := h.t
	h.batches++
	clear(h.touched)
	beforeAccts := map[ledger.AccountKey]ledger.Account{}
	for _, a := range h.l.Accounts() {
		beforeAccts[a.AccountKey] = a
	}
	beforeParts := map[string]ledger.Participant{}
	for _, p := range h.l.Participants() {
		beforeParts[p.ID] = p
	}
	var enc []byte
	if expire {
		max := 1 << 30
		if h.rng.IntN(5) == 0 {
			max = 1 + h.rng.IntN(3)
		}
		due := h.l.Due(h.now, max)
		h.checkDue(due, max)
		for _, id := range due {
			c := ledger.Command{Op: ledger.OpExpire, ID: id}
			enc = h.apply(c, enc)
		}
	}
	for _, c := range cmds {
		enc = h.apply(c, enc)
	}
	h.log = append(h.log, logged{at: h.now, cmds: enc})
	for _, a := range h.l.Accounts() {
		if b, ok := beforeAccts[a.AccountKey]; !ok || b != a {
			h.dirtyAccts[a.AccountKey] = true
		}
	}
	for _, p := range h.l.Participants() {
		if b, ok := beforeParts[p.ID]; !ok || !equalParticipant(b, p) {
			h.dirtyParts[p.ID] = true
		}
	}
	h.check()
	if t.Failed() {
		t.FailNow()
	}
	h.flushChanges(false)
	if h.batches%50 == 0 {
		h.fullCheck()
	}
	if t.Failed() {
		t.FailNow()
	}
}

// flushChanges takes Changes or stores and forgets the ones taken, at random
// like checkpoints that take a while; always when force.
func (h *harness) flushChanges(force bool) {
	if h.inFlight != nil && (force || h.rng.IntN(2) == 0) {
		h.store(h.inFlight)
		h.l.Forget()
		h.inFlight = nil
	}
	if h.inFlight == nil && (force || h.rng.IntN(3) == 0) {
		c := h.l.Changes()
		h.inFlight = &c
		// Changes lists everything that changed since it was last called.
		for _, a := range c.Accounts {
			delete(h.dirtyAccts, a.AccountKey)
		}
		for _, p := range c.Participants {
			delete(h.dirtyParts, p.ID)
		}
		for k := range h.dirtyAccts {
			h.t.Errorf("account %s changed but Changes does not list it", k)
		}
		for id := range h.dirtyParts {
			h.t.Errorf("participant %s changed but Changes does not list it", id)
		}
		clear(h.dirtyAccts)
		clear(h.dirtyParts)
	}
	if force {
		h.store(h.inFlight)
		h.l.Forget()
		h.inFlight = nil
	}
}

func (h *harness) store(c *ledger.Changes) {
	t := h.t
	for _, p := range c.Participants {
		h.stored.parts[p.ID] = p
	}
	for _, a := range c.Accounts {
		h.stored.accts[a.AccountKey] = a
	}
	for _, tc := range c.Transfers {
		if tc.New == h.everNew[tc.ID] {
			t.Errorf("transfer %s: Changes says New=%v, but it was first listed earlier: %v", tc.ID, tc.New, h.everNew[tc.ID])
		}
		h.everNew[tc.ID] = true
		h.final.m[tc.ID] = tc.Transfer
	}
}

// apply applies c to the ledger and the model and compares the outcomes.
func (h *harness) apply(c ledger.Command, enc []byte) []byte {
	t := h.t
	t.Helper()
	want, wantErr := h.m.apply(h.now, &c)
	got, err := h.l.Apply(h.now, &c)
	if wantErr != nil {
		h.failed++
		var le *ledger.Error
		if errors.As(wantErr, &le) {
			h.errCount[le.Code]++
		}
		if !errors.Is(err, wantErr) {
			t.Errorf("%s %s at %v: got %+v, %v; model says %v", c.Op, c.ID, h.now, got, err, wantErr)
		}
		return enc
	}
	if err != nil {
		t.Errorf("%s %s at %v: error %v; model says %+v", c.Op, c.ID, h.now, err, want)
		return enc
	}
	if got.Duplicate != want.Duplicate || !equalTransfer(got.Transfer, want.Transfer) || !equalParticipant(got.Participant, want.Participant) {
		t.Errorf("%s %s at %v:\n got %+v\nwant %+v", c.Op, c.ID, h.now, got, want)
	}
	if !c.ID.IsZero() {
		h.touched[c.ID] = struct{}{}
	}
	if want.Duplicate {
		h.duplicates++
		return enc
	}
	h.applied++
	if c.Op == ledger.OpExpire {
		h.expired++
	}
	if c.Op == ledger.OpPrepare {
		// The payer's position with its reservations is within its NDC and
		// its collateral at the moment the prepare succeeds.
		p, _ := h.l.Participant(c.Payer)
		lim, _ := p.Limit(c.Currency)
		pos, _ := h.l.Account(ledger.AccountKey{Participant: c.Payer, Currency: c.Currency, Type: ledger.AccountPosition})
		settle, _ := h.l.Account(ledger.AccountKey{Participant: c.Payer, Currency: c.Currency, Type: ledger.AccountSettlement})
		if held := pos.Balance() + pos.DebitsPending; held > lim.NDC || held > settle.Balance()-settle.CreditsPending {
			t.Errorf("prepare %s left %s with position+reserved %d over NDC %d or collateral %d",
				c.ID, c.Payer, held, lim.NDC, settle.Balance()-settle.CreditsPending)
		}
	}
	return ledger.AppendCommand(enc, &c)
}

func (h *harness) checkDue(due []ledger.ID, max int) {
	t := h.t
	var want []ledger.ID
	for id := range h.m.reserved {
		tr := h.m.transfers[id]
		if tr.Kind == ledger.KindPayment && !tr.Expiry.After(h.now) {
			want = append(want, id)
		}
	}
	if len(due) != min(len(want), max) {
		t.Errorf("Due(%v, %d) returned %d transfers, the model has %d due", h.now, max, len(due), len(want))
	}
	seen := map[ledger.ID]bool{}
	var latest time.Time
	for i, id := range due {
		tr, ok := h.m.transfers[id]
		if !ok || tr.State != ledger.StateReserved || tr.Expiry.After(h.now) || seen[id] {
			t.Errorf("Due returned %s, which is not due or repeated", id)
			continue
		}
		seen[id] = true
		if i > 0 && tr.Expiry.Before(latest) {
			t.Errorf("Due is not earliest first")
		}
		latest = tr.Expiry
	}
	for _, id := range want {
		if !seen[id] && h.m.transfers[id].Expiry.Before(latest) {
			t.Errorf("Due skipped %s, earlier than one it returned", id)
		}
	}
}

// check compares the ledger with the model after a batch.
func (h *harness) check() {
	t := h.t
	accts := h.l.Accounts()
	if len(accts) != len(h.m.accts) {
		t.Errorf("ledger has %d accounts, model %d", len(accts), len(h.m.accts))
	}
	sums := map[string][2]int64{}
	for _, a := range accts {
		if w, ok := h.m.accts[a.AccountKey]; !ok || *w != a {
			t.Errorf("account %s = %+v, model %+v", a.AccountKey, a, w)
		}
		s := sums[a.Currency]
		s[0] += a.Balance()
		s[1] += a.DebitsPending - a.CreditsPending
		sums[a.Currency] = s
	}
	for cur, s := range sums {
		if s != [2]int64{} {
			t.Errorf("%s: balances sum to %d and pending amounts to %d, want 0 and 0", cur, s[0], s[1])
		}
	}
	parts := h.l.Participants()
	if len(parts) != len(h.m.parts) {
		t.Errorf("ledger has %d participants, model %d", len(parts), len(h.m.parts))
	}
	for _, p := range parts {
		if w, ok := h.m.parts[p.ID]; !ok || !equalParticipant(p, *w) {
			t.Errorf("participant %+v, model %+v", p, w)
		}
		// Every position with its reservations stays covered by collateral.
		for _, cl := range p.Currencies {
			pos, _ := h.l.Account(ledger.AccountKey{Participant: p.ID, Currency: cl.Currency, Type: ledger.AccountPosition})
			settle, _ := h.l.Account(ledger.AccountKey{Participant: p.ID, Currency: cl.Currency, Type: ledger.AccountSettlement})
			if held, avail := pos.Balance()+pos.DebitsPending, settle.Balance()-settle.CreditsPending; held > avail {
				t.Errorf("%s %s: position+reserved %d exceeds free collateral %d", p.ID, cl.Currency, held, avail)
			}
		}
	}
	pending := h.l.Pending()
	if len(pending) != len(h.m.reserved) || h.l.PendingCount() != len(pending) {
		t.Errorf("ledger has %d (count %d) reserved transfers, model %d", len(pending), h.l.PendingCount(), len(h.m.reserved))
	}
	for _, p := range pending {
		if _, ok := h.m.reserved[p.ID]; !ok || !equalTransfer(p, *h.m.transfers[p.ID]) {
			t.Errorf("pending %+v, model %+v", p, h.m.transfers[p.ID])
		}
	}
	for id := range h.touched {
		h.checkTransfer(id)
	}
	var earliest time.Time
	for id := range h.m.reserved {
		if tr := h.m.transfers[id]; tr.Kind == ledger.KindPayment && (earliest.IsZero() || tr.Expiry.Before(earliest)) {
			earliest = tr.Expiry
		}
	}
	if next, ok := h.l.NextExpiry(); ok != !earliest.IsZero() || !next.Equal(earliest) {
		t.Errorf("NextExpiry() = %v, %v; model %v", next, ok, earliest)
	}
}

// lookup finds a transfer as the ledger would: in memory, else stored.
func (h *harness) lookup(id ledger.ID) (ledger.Transfer, bool) {
	if tr, ok := h.l.InMemory(id); ok {
		return tr, true
	}
	tr, ok := h.final.m[id]
	return tr, ok
}

func (h *harness) checkTransfer(id ledger.ID) {
	t := h.t
	want, inModel := h.m.transfers[id]
	got, ok := h.lookup(id)
	if !inModel {
		if ok {
			t.Errorf("transfer %s exists in the ledger, not in the model: %+v", id, got)
		}
		return
	}
	if !ok || !equalTransfer(got, *want) {
		t.Errorf("transfer %s = %+v (%v)\nmodel %+v", id, got, ok, *want)
		return
	}
	_, pending := h.m.reserved[id]
	if pending != (got.State == ledger.StateReserved) {
		t.Errorf("transfer %s is %s but reserved in the model is %v", id, got.State, pending)
	}
	if s, ok := h.finalSeen[id]; ok && s != got.State {
		t.Errorf("transfer %s was %s, now %s: a final state changed", id, s, got.State)
	}
	if got.State.Final() {
		h.finalSeen[id] = got.State
	}
}

// fullCheck checks every transfer ever created.
func (h *harness) fullCheck() {
	inPending := map[ledger.ID]bool{}
	for _, p := range h.l.Pending() {
		inPending[p.ID] = true
	}
	for _, id := range h.m.ids {
		h.checkTransfer(id)
		if inPending[id] != (h.m.transfers[id].State == ledger.StateReserved) {
			h.t.Errorf("transfer %s: in Pending() %v, state %s", id, inPending[id], h.m.transfers[id].State)
		}
	}
}

// checkStored checks that what Changes handed out, applied in order, is the
// ledger's state: nothing was left out.
func (h *harness) checkStored() {
	t := h.t
	for _, a := range h.l.Accounts() {
		if got := h.stored.accts[a.AccountKey]; got != a {
			t.Errorf("stored account %+v, ledger %+v", got, a)
		}
	}
	for _, p := range h.l.Participants() {
		if got := h.stored.parts[p.ID]; !equalParticipant(got, p) {
			t.Errorf("stored participant %+v, ledger %+v", got, p)
		}
	}
	if len(h.stored.accts) != len(h.l.Accounts()) || len(h.stored.parts) != len(h.l.Participants()) {
		t.Errorf("stored %d accounts and %d participants, ledger has %d and %d",
			len(h.stored.accts), len(h.stored.parts), len(h.l.Accounts()), len(h.l.Participants()))
	}
	for _, id := range h.m.ids {
		if got, ok := h.final.m[id]; !ok || !equalTransfer(got, *h.m.transfers[id]) {
			t.Errorf("stored transfer %+v (%v), model %+v", got, ok, *h.m.transfers[id])
		}
	}
	if len(h.final.m) != len(h.m.ids) {
		t.Errorf("stored %d transfers, model has %d", len(h.final.m), len(h.m.ids))
	}
}

// replay applies the logged commands to a fresh ledger at the same times:
// each must apply again, and the result must be the same state.
func (h *harness) replay() {
	t := h.t
	l := ledger.New(nil)
	for i, b := range h.log {
		rest := b.cmds
		for len(rest) > 0 {
			c, r, err := ledger.DecodeCommand(rest)
			if err != nil {
				t.Fatalf("batch %d: decode: %v", i, err)
			}
			rest = r
			res, err := l.Apply(b.at, &c)
			if err != nil || res.Duplicate {
				t.Fatalf("batch %d at %v: replay of %s %s = %+v, %v", i, b.at, c.Op, c.ID, res, err)
			}
		}
	}
	if got, want := snapshot(l), snapshot(h.l); !reflect.DeepEqual(got, want) {
		t.Errorf("replayed state differs:\n got %+v\nwant %+v", got, want)
	}
	for _, id := range h.m.ids {
		if got, ok := l.InMemory(id); !ok || !equalTransfer(got, *h.m.transfers[id]) {
			t.Errorf("replayed transfer %+v (%v), model %+v", got, ok, *h.m.transfers[id])
		}
	}
}

// The reference model. Its rules are written from the package
// documentation, in the order the ledger checks them.

func (m *model) acct(p, cur string, typ ledger.AccountType) *ledger.Account {
	return m.accts[ledger.AccountKey{Participant: p, Currency: cur, Type: typ}]
}

func (m *model) ndc(p *ledger.Participant, cur string) (int64, bool) {
	for _, c := range p.Currencies {
		if c.Currency == cur {
			return c.NDC, true
		}
	}
	return 0, false
}

func cloneParticipant(p *ledger.Participant) ledger.Participant {
	c := *p
	c.Currencies = slices.Clone(p.Currencies)
	return c
}

func (m *model) apply(now time.Time, c *ledger.Command) (ledger.Result, error) {
	switch c.Op {
	case ledger.OpCreateParticipant:
		if !slices.Contains(randParticipants, c.Participant) && c.Participant != "newfsp" {
			return ledger.Result{}, ledger.ErrInvalidParticipantID
		}
		if c.Name == "" {
			return ledger.Result{}, ledger.ErrInvalidName
		}
		if p, ok := m.parts[c.Participant]; ok {
			if p.Name == c.Name {
				return ledger.Result{Participant: cloneParticipant(p), Duplicate: true}, nil
			}
			return ledger.Result{}, ledger.ErrParticipantExists
		}
		p := &ledger.Participant{ID: c.Participant, Name: c.Name, Status: ledger.StatusActive, Created: now}
		m.parts[p.ID] = p
		return ledger.Result{Participant: cloneParticipant(p)}, nil
	case ledger.OpSetStatus:
		p, ok := m.parts[c.Participant]
		if !ok {
			return ledger.Result{}, ledger.ErrParticipantNotFound
		}
		if p.Status == c.Status {
			return ledger.Result{Participant: cloneParticipant(p), Duplicate: true}, nil
		}
		p.Status = c.Status
		return ledger.Result{Participant: cloneParticipant(p)}, nil
	case ledger.OpEnableCurrency:
		p, ok := m.parts[c.Participant]
		if !ok {
			return ledger.Result{}, ledger.ErrParticipantNotFound
		}
		if !slices.Contains(randCurrencies, c.Currency) {
			return ledger.Result{}, ledger.ErrUnknownCurrency
		}
		if _, ok := m.ndc(p, c.Currency); ok {
			return ledger.Result{Participant: cloneParticipant(p), Duplicate: true}, nil
		}
		p.Currencies = append(p.Currencies, ledger.CurrencyLimit{Currency: c.Currency})
		if _, ok := m.windows[c.Currency]; !ok {
			m.windows[c.Currency] = uint64(len(m.windows) + 1)
		}
		slices.SortFunc(p.Currencies, func(a, b ledger.CurrencyLimit) int { return strings.Compare(a.Currency, b.Currency) })
		for _, k := range []ledger.AccountKey{
			{Participant: p.ID, Currency: c.Currency, Type: ledger.AccountPosition},
			{Participant: p.ID, Currency: c.Currency, Type: ledger.AccountSettlement},
			{Participant: ledger.HubID, Currency: c.Currency, Type: ledger.AccountHubMultilateral},
			{Participant: ledger.HubID, Currency: c.Currency, Type: ledger.AccountHubReconciliation},
			{Participant: ledger.HubID, Currency: c.Currency, Type: ledger.AccountHubFees},
		} {
			if m.accts[k] == nil {
				m.accts[k] = &ledger.Account{AccountKey: k}
			}
		}
		return ledger.Result{Participant: cloneParticipant(p)}, nil
	case ledger.OpSetNDC:
		p, ok := m.parts[c.Participant]
		if !ok {
			return ledger.Result{}, ledger.ErrParticipantNotFound
		}
		if c.Amount < 0 {
			return ledger.Result{}, ledger.ErrInvalidNDC
		}
		for i := range p.Currencies {
			if p.Currencies[i].Currency == c.Currency {
				dup := p.Currencies[i].NDC == c.Amount
				p.Currencies[i].NDC = c.Amount
				return ledger.Result{Participant: cloneParticipant(p), Duplicate: dup}, nil
			}
		}
		return ledger.Result{}, ledger.ErrCurrencyNotEnabled
	case ledger.OpFundsIn, ledger.OpFundsOutReserve, ledger.OpPrepare:
		return m.create(now, c)
	case ledger.OpFundsOutCommit, ledger.OpFundsOutAbort, ledger.OpFulfil, ledger.OpAbort:
		return m.finish(now, c)
	case ledger.OpExpire:
		t, ok := m.transfers[c.ID]
		if !ok || t.State != ledger.StateReserved || t.Kind != ledger.KindPayment || now.Before(t.Expiry) {
			return ledger.Result{}, ledger.ErrInvalidCommand
		}
		m.release(t)
		t.Reason = "expired"
		m.complete(now, t, ledger.StateExpired)
		return ledger.Result{Transfer: *t}, nil
	}
	return ledger.Result{}, ledger.ErrInvalidCommand
}

func sameRequest(t *ledger.Transfer, c *ledger.Command) bool {
	switch c.Op {
	case ledger.OpPrepare:
		return t.Kind == ledger.KindPayment && t.Payer == c.Payer && t.Payee == c.Payee && t.Currency == c.Currency &&
			t.Amount == c.Amount && t.Condition == c.Condition && t.Expiry.Equal(c.Expiry) && t.Fingerprint == c.Fingerprint
	case ledger.OpFundsIn:
		return t.Kind == ledger.KindFundsIn && t.Payee == c.Participant && t.Currency == c.Currency &&
			t.Amount == c.Amount && t.Fingerprint == c.Fingerprint
	default:
		return t.Kind == ledger.KindFundsOut && t.Payer == c.Participant && t.Currency == c.Currency &&
			t.Amount == c.Amount && t.Fingerprint == c.Fingerprint
	}
}

func (m *model) create(now time.Time, c *ledger.Command) (ledger.Result, error) {
	if c.ID.IsZero() {
		return ledger.Result{}, ledger.ErrInvalidID
	}
	if t, ok := m.transfers[c.ID]; ok {
		if !sameRequest(t, c) {
			return ledger.Result{}, ledger.ErrModifiedRequest
		}
		return ledger.Result{Transfer: *t, Duplicate: true}, nil
	}
	t := &ledger.Transfer{ID: c.ID, Currency: c.Currency, Amount: c.Amount, Fingerprint: c.Fingerprint, Created: now}
	if c.Op == ledger.OpPrepare {
		payer, ok := m.parts[c.Payer]
		if !ok {
			return ledger.Result{}, ledger.ErrPayerNotFound
		}
		payee, ok := m.parts[c.Payee]
		switch {
		case !ok:
			return ledger.Result{}, ledger.ErrPayeeNotFound
		case payer.Status != ledger.StatusActive:
			return ledger.Result{}, ledger.ErrPayerSuspended
		case payee.Status != ledger.StatusActive:
			return ledger.Result{}, ledger.ErrPayeeSuspended
		case payer == payee:
			return ledger.Result{}, ledger.ErrSameParticipant
		}
		ndc, ok := m.ndc(payer, c.Currency)
		if !ok {
			return ledger.Result{}, ledger.ErrPayerCurrency
		}
		if _, ok := m.ndc(payee, c.Currency); !ok {
			return ledger.Result{}, ledger.ErrPayeeCurrency
		}
		switch {
		case c.Amount <= 0:
			return ledger.Result{}, ledger.ErrInvalidAmount
		case c.Condition == [32]byte{}:
			return ledger.Result{}, ledger.ErrMalformedCondition
		case !c.Expiry.After(now):
			return ledger.Result{}, ledger.ErrExpiryNotInFuture
		}
		pos := m.acct(payer.ID, c.Currency, ledger.AccountPosition)
		settle := m.acct(payer.ID, c.Currency, ledger.AccountSettlement)
		need := pos.DebitsPosted - pos.CreditsPosted + pos.DebitsPending + c.Amount
		if need > ndc {
			return ledger.Result{}, ledger.ErrNDCExceeded
		}
		if need > settle.DebitsPosted-settle.CreditsPosted-settle.CreditsPending {
			return ledger.Result{}, ledger.ErrInsufficientLiquidity
		}
		pos.DebitsPending += c.Amount
		m.acct(payee.ID, c.Currency, ledger.AccountPosition).CreditsPending += c.Amount
		t.Kind, t.State, t.Payer, t.Payee = ledger.KindPayment, ledger.StateReserved, payer.ID, payee.ID
		t.Condition, t.Expiry = c.Condition, c.Expiry
	} else {
		p, ok := m.parts[c.Participant]
		if !ok {
			return ledger.Result{}, ledger.ErrParticipantNotFound
		}
		if _, ok := m.ndc(p, c.Currency); !ok {
			return ledger.Result{}, ledger.ErrCurrencyNotEnabled
		}
		if c.Amount <= 0 {
			return ledger.Result{}, ledger.ErrInvalidAmount
		}
		settle := m.acct(p.ID, c.Currency, ledger.AccountSettlement)
		recon := m.acct(ledger.HubID, c.Currency, ledger.AccountHubReconciliation)
		if c.Op == ledger.OpFundsIn {
			settle.DebitsPosted += c.Amount
			recon.CreditsPosted += c.Amount
			t.Kind, t.State, t.Payer, t.Payee, t.Completed = ledger.KindFundsIn, ledger.StateCommitted, ledger.HubID, p.ID, now
		} else {
			pos := m.acct(p.ID, c.Currency, ledger.AccountPosition)
			owed := max(pos.DebitsPosted-pos.CreditsPosted+pos.DebitsPending, 0)
			if settle.DebitsPosted-settle.CreditsPosted-settle.CreditsPending-c.Amount < owed {
				return ledger.Result{}, ledger.ErrInsufficientLiquidity
			}
			settle.CreditsPending += c.Amount
			recon.DebitsPending += c.Amount
			t.Kind, t.State, t.Payer, t.Payee = ledger.KindFundsOut, ledger.StateReserved, p.ID, ledger.HubID
		}
	}
	m.transfers[t.ID] = t
	m.ids = append(m.ids, t.ID)
	if t.State == ledger.StateReserved {
		m.reserved[t.ID] = struct{}{}
	}
	return ledger.Result{Transfer: *t}, nil
}

func (m *model) finish(now time.Time, c *ledger.Command) (ledger.Result, error) {
	kind, want := ledger.KindPayment, ledger.StateCommitted
	switch c.Op {
	case ledger.OpFundsOutCommit:
		kind = ledger.KindFundsOut
	case ledger.OpFundsOutAbort:
		kind, want = ledger.KindFundsOut, ledger.StateAborted
	case ledger.OpAbort:
		want = ledger.StateAborted
	}
	if want == ledger.StateAborted && (len(c.Reason) > ledger.MaxReason || !utf8.ValidString(c.Reason)) {
		return ledger.Result{}, ledger.ErrInvalidCommand
	}
	if c.ID.IsZero() {
		return ledger.Result{}, ledger.ErrInvalidID
	}
	t, ok := m.transfers[c.ID]
	switch {
	case !ok:
		return ledger.Result{}, ledger.ErrTransferNotFound
	case t.Kind != kind:
		return ledger.Result{}, ledger.ErrWrongKind
	case t.State == want && (c.Op != ledger.OpFulfil || t.Fulfilment == c.Fulfilment):
		return ledger.Result{Transfer: *t, Duplicate: true}, nil
	case t.State == ledger.StateExpired:
		return ledger.Result{}, ledger.ErrTransferExpired
	case t.State != ledger.StateReserved:
		return ledger.Result{}, ledger.ErrTransferFinal
	case kind == ledger.KindPayment && !now.Before(t.Expiry):
		return ledger.Result{}, ledger.ErrTransferExpired
	}
	switch c.Op {
	case ledger.OpFulfil:
		if ledger.ConditionOf(c.Fulfilment) != t.Condition {
			return ledger.Result{}, ledger.ErrInvalidFulfilment
		}
		pos := m.acct(t.Payer, t.Currency, ledger.AccountPosition)
		payee := m.acct(t.Payee, t.Currency, ledger.AccountPosition)
		pos.DebitsPosted += t.Amount
		pos.DebitsPending -= t.Amount
		payee.CreditsPosted += t.Amount
		payee.CreditsPending -= t.Amount
		t.Fulfilment = c.Fulfilment
		t.Window = m.windows[t.Currency]
	case ledger.OpAbort:
		m.release(t)
		t.Reason = c.Reason
	case ledger.OpFundsOutCommit, ledger.OpFundsOutAbort:
		settle := m.acct(t.Payer, t.Currency, ledger.AccountSettlement)
		recon := m.acct(ledger.HubID, t.Currency, ledger.AccountHubReconciliation)
		settle.CreditsPending -= t.Amount
		recon.DebitsPending -= t.Amount
		if c.Op == ledger.OpFundsOutCommit {
			settle.CreditsPosted += t.Amount
			recon.DebitsPosted += t.Amount
		} else {
			t.Reason = c.Reason
		}
	}
	m.complete(now, t, want)
	return ledger.Result{Transfer: *t}, nil
}

func (m *model) release(t *ledger.Transfer) {
	m.acct(t.Payer, t.Currency, ledger.AccountPosition).DebitsPending -= t.Amount
	m.acct(t.Payee, t.Currency, ledger.AccountPosition).CreditsPending -= t.Amount
}

func (m *model) complete(now time.Time, t *ledger.Transfer, s ledger.State) {
	t.State, t.Completed = s, now
	delete(m.reserved, t.ID)
}

// String helps failure messages.
func (h *harness) String() string { return fmt.Sprintf("batch %d at %v", h.batches, h.now) }
