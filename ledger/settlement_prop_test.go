package ledger_test

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/internal/testseed"
	"github.com/hutong/hutong/ledger"
)

// TestSettlementRandomized runs random sequences of payments, window closes,
// model switches and settlements through a ledger and through a reference
// kept in plain maps, written from the settlement rules, and checks after
// every command that they agree. Every few commands it also checks, from
// the ledger's own records alone, that windows, settlements and balances
// are consistent: each committed payment in exactly one window, nets that
// sum to zero, positions equal to the payments not yet settled. Halfway it
// restores a second ledger from what Changes handed out and runs it in
// lockstep; at the end it replays the encoded commands through a fresh
// ledger, which must reach the same state.
func TestSettlementRandomized(t *testing.T) {
	seeds := []uint64{testseed.Given()} // -seed runs that one
	if testseed.Given() == 0 {
		n := 6
		if testing.Short() {
			n = 2
		}
		base := uint64(time.Now().UnixNano())
		seeds = seeds[:0]
		for i := range n {
			seeds = append(seeds, base+uint64(i)*0x9e3779b97f4a7c15)
		}
	}
	steps := 2500
	if testing.Short() {
		steps = 600
	}
	stats := &simStats{}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("seed %d (rerun with -seed %d)", seed, seed)
			newSim(t, seed, stats).run(steps)
		})
	}
	t.Logf("%+v", *stats)
	if t.Failed() || testing.Short() || len(seeds) == 1 {
		return
	}
	// The runs must reach the interesting outcomes, or they test little.
	for name, n := range map[string]int{
		"multilateral settlements committed": stats.committed[ledger.ModelMultilateral],
		"bilateral settlements committed":    stats.committed[ledger.ModelBilateral],
		"aborts from PENDING_SETTLEMENT":     stats.abortedFrom[ledger.SettlementPending],
		"aborts from PS_TRANSFERS_RECORDED":  stats.abortedFrom[ledger.SettlementRecorded],
		"aborts from PS_TRANSFERS_RESERVED":  stats.abortedFrom[ledger.SettlementReserved],
		"refused transitions":                stats.refusedTransitions,
		"refused settlements":                stats.refusedCreates,
		"gross payments":                     stats.grossPayments,
		"gross NDC refusals":                 stats.grossNDC,
		"gross liquidity refusals":           stats.grossLiquidity,
		"model switches that closed":         stats.switchClosed,
		"expired payments":                   stats.expired,
	} {
		if n == 0 {
			t.Errorf("no %s in %d runs", name, len(seeds))
		}
	}
}

type simStats struct {
	committed          [4]int
	abortedFrom        [7]int
	refusedTransitions int
	refusedCreates     int
	grossPayments      int
	grossNDC           int
	grossLiquidity     int
	switchClosed       int
	expired            int
}

// simEntry is one command as journaled, with what it returned.
type simEntry struct {
	at  time.Time
	enc []byte
	res ledger.Result
	err error
}

type sim struct {
	t      *testing.T
	rng    *rand.Rand
	stats  *simStats
	l      *ledger.Ledger
	shadow *ledger.Ledger // restored from l's changes, run in lockstep once made
	final  *finalMap
	saved  *savedState
	now    time.Time
	parts  []string
	curs   []string
	nextID int
	log    []simEntry

	// The reference.
	accts      map[ledger.AccountKey]*ledger.Account
	ndc        map[ledger.AccountKey]int64 // by position account
	pays       map[ledger.ID]*ledger.Transfer
	funds      map[ledger.ID]*ledger.Transfer // funds in and out
	ids        []ledger.ID                    // every transfer, in creation order
	windows    map[uint64]*ledger.Window
	open       map[string]uint64
	nextWindow uint64
	settles    map[uint64]*ledger.Settlement
	nextSettle uint64
	touched    map[ledger.AccountKey]bool // positions changed by the current command
}

func newSim(t *testing.T, seed uint64, stats *simStats) *sim {
	s := &sim{
		t:          t,
		rng:        rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)),
		stats:      stats,
		final:      &finalMap{m: map[ledger.ID]ledger.Transfer{}},
		saved:      newSavedState(),
		now:        t0,
		curs:       []string{"USD", "EUR", "JPY"},
		accts:      map[ledger.AccountKey]*ledger.Account{},
		ndc:        map[ledger.AccountKey]int64{},
		pays:       map[ledger.ID]*ledger.Transfer{},
		funds:      map[ledger.ID]*ledger.Transfer{},
		windows:    map[uint64]*ledger.Window{},
		open:       map[string]uint64{},
		settles:    map[uint64]*ledger.Settlement{},
		nextWindow: 1,
		nextSettle: 1,
		touched:    map[ledger.AccountKey]bool{},
	}
	s.l = ledger.New(s.final)
	s.l.TrackPositions()
	for i := range 3 + s.rng.IntN(4) {
		s.parts = append(s.parts, fmt.Sprintf("p%d", i))
	}
	return s
}

func (s *sim) id() ledger.ID {
	s.nextID++
	return tid(1000000 + s.nextID)
}

func (s *sim) acct(k ledger.AccountKey) *ledger.Account {
	a := s.accts[k]
	if a == nil {
		s.t.Fatalf("reference has no account %s", k)
	}
	return a
}

// The ways a movement applies to the reference accounts.
const (
	simReserve = iota
	simPost
	simCommit
	simRelease
)

// move applies one double-entry movement to the reference.
func (s *sim) move(debit, credit ledger.AccountKey, amount int64, how int) {
	d, c := s.acct(debit), s.acct(credit)
	switch how {
	case simReserve:
		d.DebitsPending += amount
		c.CreditsPending += amount
	case simPost:
		d.DebitsPosted += amount
		c.CreditsPosted += amount
	case simCommit:
		d.DebitsPending -= amount
		c.CreditsPending -= amount
		d.DebitsPosted += amount
		c.CreditsPosted += amount
	case simRelease:
		d.DebitsPending -= amount
		c.CreditsPending -= amount
	}
	for _, k := range []ledger.AccountKey{debit, credit} {
		if k.Type == ledger.AccountPosition {
			s.touched[k] = true
		}
	}
}

// legs are the movements settling st makes, written from the rules: under
// the multilateral model each participant settles its net against the hub,
// under the bilateral model each payer pays each payee what it owes.
func simLegs(st *ledger.Settlement) []ledger.Leg {
	var legs []ledger.Leg
	cur := st.Currency
	switch st.Model {
	case ledger.ModelMultilateral:
		mls, rec := hub(cur, ledger.AccountHubMultilateral), hub(cur, ledger.AccountHubReconciliation)
		for _, n := range st.Nets {
			if n.Net > 0 {
				legs = append(legs, ledger.Leg{Debit: mls, Credit: pos(n.Participant, cur), Amount: n.Net},
					ledger.Leg{Debit: rec, Credit: set(n.Participant, cur), Amount: n.Net})
			} else if n.Net < 0 {
				legs = append(legs, ledger.Leg{Debit: pos(n.Participant, cur), Credit: mls, Amount: -n.Net},
					ledger.Leg{Debit: set(n.Participant, cur), Credit: rec, Amount: -n.Net})
			}
		}
	case ledger.ModelBilateral:
		for _, o := range st.Owed {
			legs = append(legs, ledger.Leg{Debit: pos(o.Payee, cur), Credit: pos(o.Payer, cur), Amount: o.Amount},
				ledger.Leg{Debit: set(o.Payee, cur), Credit: set(o.Payer, cur), Amount: o.Amount})
		}
	}
	return legs
}

// expectSettlement computes a new settlement's figures from the windows'
// flows.
func expectSettlement(id uint64, cur string, m ledger.Model, ids []uint64, windows func(uint64) ledger.Window, now time.Time) ledger.Settlement {
	st := ledger.Settlement{ID: id, Currency: cur, Model: m, State: ledger.SettlementPending, Windows: slices.Sorted(slices.Values(ids)),
		Created: now, Updated: now, History: []ledger.StateChange{{State: ledger.SettlementPending, At: now}}}
	nets := map[string]*ledger.Net{}
	net := func(p string) *ledger.Net {
		if nets[p] == nil {
			nets[p] = &ledger.Net{Participant: p}
		}
		return nets[p]
	}
	type pair struct{ lo, hi string }
	pairs := map[pair]*ledger.Flow{}
	for _, id := range st.Windows {
		w := windows(id)
		st.Count += w.Count
		st.Amount += w.Amount
		for _, f := range w.Flows {
			net(f.Payer).Sent += f.Amount
			net(f.Payer).SentCount += f.Count
			net(f.Payee).Received += f.Amount
			net(f.Payee).ReceivedCount += f.Count
			k, sign := pair{f.Payer, f.Payee}, int64(1)
			if f.Payee < f.Payer {
				k, sign = pair{f.Payee, f.Payer}, -1
			}
			if pairs[k] == nil {
				pairs[k] = &ledger.Flow{Payer: k.lo, Payee: k.hi}
			}
			pairs[k].Count += f.Count
			pairs[k].Amount += sign * f.Amount
		}
	}
	for _, n := range nets {
		n.Net = n.Sent - n.Received
		st.Nets = append(st.Nets, *n)
		st.Position += max(n.Net, 0)
	}
	slices.SortFunc(st.Nets, func(a, b ledger.Net) int { return strings.Compare(a.Participant, b.Participant) })
	if m == ledger.ModelBilateral {
		for _, p := range pairs {
			switch {
			case p.Amount > 0:
				st.Owed = append(st.Owed, *p)
			case p.Amount < 0:
				st.Owed = append(st.Owed, ledger.Flow{Payer: p.Payee, Payee: p.Payer, Count: p.Count, Amount: -p.Amount})
			}
		}
		slices.SortFunc(st.Owed, compareFlows)
	}
	return st
}

// simFulfilment is payment id's fulfilment.
func simFulfilment(id ledger.ID) [32]byte { return sha256.Sum256(id[:]) }

func compareFlows(a, b ledger.Flow) int {
	return cmp.Or(strings.Compare(a.Payer, b.Payer), strings.Compare(a.Payee, b.Payee))
}

func compareLegs(a, b ledger.Leg) int {
	return cmp.Or(a.Debit.Compare(b.Debit), a.Credit.Compare(b.Credit), cmp.Compare(a.Amount, b.Amount))
}

// canMove is the settlement lifecycle: one step forward, or ABORTED before
// the movements are committed.
func canMove(from, to ledger.SettlementState) bool {
	switch from {
	case ledger.SettlementPending:
		return to == ledger.SettlementRecorded || to == ledger.SettlementAborted
	case ledger.SettlementRecorded:
		return to == ledger.SettlementReserved || to == ledger.SettlementAborted
	case ledger.SettlementReserved:
		return to == ledger.SettlementCommitted || to == ledger.SettlementAborted
	case ledger.SettlementCommitted:
		return to == ledger.SettlementSettled
	}
	return false
}

// exec applies c to the ledger, and to the restored copy once there is one,
// which must answer the same; it checks that a refused command changed
// nothing and that TouchedPositions reports what the reference changed.
func (s *sim) exec(c ledger.Command, want ...error) (ledger.Result, error) {
	t := s.t
	t.Helper()
	clear(s.touched)
	res, err := s.l.Apply(s.now, &c)
	s.log = append(s.log, simEntry{at: s.now, enc: ledger.AppendCommand(nil, &c), res: res, err: err})
	if s.shadow != nil {
		res2, err2 := s.shadow.Apply(s.now, &c)
		if fmt.Sprint(err) != fmt.Sprint(err2) || !reflect.DeepEqual(res, res2) {
			t.Errorf("%s: restored ledger answered %+v, %v\noriginal %+v, %v", c.Op, res2, err2, res, err)
		}
	}
	switch {
	case len(want) == 0 && err != nil:
		t.Fatalf("%s at %v: %v (command %+v)", c.Op, s.now, err, c)
	case len(want) > 0 && !slices.ContainsFunc(want, func(w error) bool { return errors.Is(err, w) }):
		t.Fatalf("%s at %v = %+v, %v; want one of %v (command %+v)", c.Op, s.now, res, err, want, c)
	case len(want) > 0 && !reflect.DeepEqual(res, ledger.Result{}):
		t.Errorf("%s failed with %v but returned %+v", c.Op, err, res)
	}
	return res, err
}

// afterCommand checks what every command must leave behind.
func (s *sim) afterCommand(c *ledger.Command) {
	t := s.t
	t.Helper()
	s.checkAccounts()
	// Only the positions the command changed are reported, each once.
	var want []ledger.Position
	for k := range s.touched {
		a := s.acct(k)
		want = append(want, ledger.Position{Participant: k.Participant, Currency: k.Currency,
			Balance: a.Balance(), Reserved: a.DebitsPending, NDC: s.ndc[k]})
	}
	slices.SortFunc(want, func(a, b ledger.Position) int {
		return pos(a.Participant, a.Currency).Compare(pos(b.Participant, b.Currency))
	})
	got := s.l.TouchedPositions()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: TouchedPositions() = %+v\nwant %+v", c.Op, got, want)
	}
	if s.shadow != nil {
		if got2 := s.shadow.TouchedPositions(); !reflect.DeepEqual(got2, got) {
			t.Errorf("%s: restored TouchedPositions() = %+v, original %+v", c.Op, got2, got)
		}
	}
	// The windows and settlements the command could have touched.
	ids := append([]uint64{c.Window}, c.Windows...)
	for _, id := range s.open {
		ids = append(ids, id)
	}
	for _, id := range ids {
		s.checkWindow(id)
	}
	s.checkSettlement(c.Settlement)
	s.checkSettlement(s.nextSettle - 1)
	// Nothing beyond the next ids exists.
	if w, ok := s.l.Window(s.nextWindow); ok {
		t.Errorf("window %d exists, the reference's next id: %+v", s.nextWindow, w)
	}
	if st, ok := s.l.Settlement(s.nextSettle); ok {
		t.Errorf("settlement %d exists, the reference's next id: %+v", s.nextSettle, st)
	}
	if t.Failed() {
		t.FailNow()
	}
}

func (s *sim) checkAccounts() {
	t := s.t
	accts := s.l.Accounts()
	if len(accts) != len(s.accts) {
		t.Errorf("ledger has %d accounts, reference %d", len(accts), len(s.accts))
	}
	for _, a := range accts {
		if w := s.accts[a.AccountKey]; w == nil || *w != a {
			t.Errorf("account %s = %+v\nreference %+v", a.AccountKey, totalsOf(a), w)
		}
	}
	sumsToZero(t, s.l)
}

func (s *sim) checkWindow(id uint64) {
	if id == 0 {
		return
	}
	got, ok := s.l.Window(id)
	want, inRef := s.windows[id]
	if ok != inRef || (ok && !reflect.DeepEqual(got, *want)) {
		s.t.Errorf("window %d = %+v (%v)\nreference %+v", id, got, ok, want)
	}
}

func (s *sim) checkSettlement(id uint64) {
	if id == 0 {
		return
	}
	got, ok := s.l.Settlement(id)
	want, inRef := s.settles[id]
	if ok != inRef || (ok && !reflect.DeepEqual(got, *want)) {
		s.t.Errorf("settlement %d = %+v (%v)\nreference %+v", id, got, ok, want)
	}
}

// enabled returns the participants that have cur enabled.
func (s *sim) enabled(cur string) []string {
	var out []string
	for _, p := range s.parts {
		if _, ok := s.ndc[pos(p, cur)]; ok {
			out = append(out, p)
		}
	}
	return out
}

func (s *sim) pick(list []string) string { return list[s.rng.IntN(len(list))] }

func (s *sim) run(steps int) {
	t := s.t
	for _, p := range s.parts {
		s.exec(create(p, "Participant "+p))
	}
	for _, cur := range s.curs[:2] {
		for i, p := range s.parts {
			if i < 2 || s.rng.IntN(4) != 0 {
				s.enable(p, cur)
			}
		}
	}
	s.flush()
	for i := range steps {
		s.step()
		if i%25 == 0 {
			s.fullCheck()
		}
		if i == steps/2 {
			s.restore()
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	s.settleAll()
	s.fullCheck()
	s.flush()
	if got, want := worldOf(s.shadow), worldOf(s.l); !reflect.DeepEqual(got, want) {
		t.Errorf("restored ledger differs after the same commands:\n got %+v\nwant %+v", got, want)
	}
	s.replay()
}

func (s *sim) enable(p, cur string) {
	s.exec(enable(p, cur))
	for _, k := range []ledger.AccountKey{pos(p, cur), set(p, cur),
		hub(cur, ledger.AccountHubMultilateral), hub(cur, ledger.AccountHubReconciliation), hub(cur, ledger.AccountHubFees)} {
		if s.accts[k] == nil {
			s.accts[k] = &ledger.Account{AccountKey: k}
		}
	}
	s.ndc[pos(p, cur)] = 0
	if _, ok := s.open[cur]; !ok {
		s.openWindow(cur, ledger.ModelMultilateral)
	}
	c := enable(p, cur)
	s.afterCommand(&c)
	s.fundsIn(p, cur, 2000+s.rng.Int64N(30000))
	s.setNDC(p, cur, 1000+s.rng.Int64N(20000))
}

func (s *sim) openWindow(cur string, m ledger.Model) {
	w := &ledger.Window{ID: s.nextWindow, Currency: cur, Model: m, State: ledger.WindowOpen, Opened: s.now}
	s.windows[w.ID] = w
	s.open[cur] = w.ID
	s.nextWindow++
}

func (s *sim) closeWindow(w *ledger.Window) {
	w.State, w.Closed = ledger.WindowClosed, s.now
	if w.Model == ledger.ModelGross {
		w.State = ledger.WindowSettled
	}
	s.openWindow(w.Currency, w.Model)
}

func (s *sim) fundsIn(p, cur string, amount int64) {
	c := ledger.Command{Op: ledger.OpFundsIn, ID: s.id(), Participant: p, Currency: cur, Amount: amount}
	r, _ := s.exec(c)
	s.move(set(p, cur), hub(cur, ledger.AccountHubReconciliation), amount, simPost)
	tr := r.Transfer
	s.funds[c.ID] = &tr
	s.ids = append(s.ids, c.ID)
	s.afterCommand(&c)
}

func (s *sim) setNDC(p, cur string, ndc int64) {
	c := setNDC(p, cur, ndc)
	r, _ := s.exec(c)
	if old := s.ndc[pos(p, cur)]; (old == ndc) != r.Duplicate {
		s.t.Errorf("NDC %d → %d: duplicate %v", old, ndc, r.Duplicate)
	} else if old != ndc {
		s.ndc[pos(p, cur)] = ndc
		s.touched[pos(p, cur)] = true
	}
	s.afterCommand(&c)
}

// liveCurrencies are the currencies at least two participants can pay in.
func (s *sim) liveCurrencies() []string {
	var out []string
	for _, cur := range s.curs {
		if len(s.enabled(cur)) >= 2 {
			out = append(out, cur)
		}
	}
	return out
}

func (s *sim) reserved(kind ledger.Kind) []ledger.ID {
	var out []ledger.ID
	for _, id := range s.ids {
		m := s.pays
		if kind != ledger.KindPayment {
			m = s.funds
		}
		if tr, ok := m[id]; ok && tr.State == ledger.StateReserved && tr.Kind == kind {
			out = append(out, id)
		}
	}
	return out
}

func (s *sim) step() {
	s.now = s.now.Add(time.Duration(s.rng.IntN(300)) * time.Millisecond)
	switch r := s.rng.IntN(100); {
	case r < 28:
		s.prepare()
	case r < 48:
		s.fulfil()
	case r < 51:
		s.abort()
	case r < 55:
		s.tick()
	case r < 60:
		cur := s.pick(s.liveCurrencies())
		s.fundsIn(s.pick(s.enabled(cur)), cur, 1+s.rng.Int64N(10000))
	case r < 63:
		s.fundsOut()
	case r < 65:
		cur := s.pick(s.liveCurrencies())
		s.setNDC(s.pick(s.enabled(cur)), cur, s.rng.Int64N(20000))
	case r < 66:
		p, cur := s.pick(s.parts), s.pick(s.curs)
		if _, ok := s.ndc[pos(p, cur)]; !ok {
			s.enable(p, cur)
		}
	case r < 73:
		s.closeWindow0()
	case r < 77:
		s.setModel()
	case r < 84:
		s.createSettlement()
	case r < 97:
		s.settlementState()
	case r < 98:
		s.abortRoundTrip()
	default:
		s.flush()
	}
}

func (s *sim) prepare() {
	cur := s.pick(s.liveCurrencies())
	en := s.enabled(cur)
	payer := s.pick(en)
	payee := s.pick(en)
	for payee == payer {
		payee = s.pick(en)
	}
	amount := 1 + s.rng.Int64N(3000)
	id := s.id()
	c := ledger.Command{Op: ledger.OpPrepare, ID: id, Payer: payer, Payee: payee, Currency: cur, Amount: amount,
		Condition: ledger.ConditionOf(simFulfilment(id)), Expiry: s.now.Add(time.Duration(1+s.rng.IntN(30000)) * time.Millisecond)}
	p, st := s.acct(pos(payer, cur)), s.acct(set(payer, cur))
	need := p.Balance() + p.DebitsPending + amount
	var want []error
	switch {
	case need > s.ndc[pos(payer, cur)]:
		want = []error{ledger.ErrNDCExceeded}
	case need > st.Balance()-st.CreditsPending:
		want = []error{ledger.ErrInsufficientLiquidity}
	}
	r, err := s.exec(c, want...)
	if s.windows[s.open[cur]].Model == ledger.ModelGross {
		switch {
		case errors.Is(err, ledger.ErrNDCExceeded):
			s.stats.grossNDC++
		case errors.Is(err, ledger.ErrInsufficientLiquidity):
			s.stats.grossLiquidity++
		}
	}
	if err == nil {
		s.move(pos(payer, cur), pos(payee, cur), amount, simReserve)
		tr := ledger.Transfer{ID: id, Kind: ledger.KindPayment, State: ledger.StateReserved, Payer: payer, Payee: payee,
			Currency: cur, Amount: amount, Condition: c.Condition, Expiry: c.Expiry, Created: s.now}
		if !equalTransfer(r.Transfer, tr) {
			s.t.Errorf("prepare = %+v\nwant %+v", r.Transfer, tr)
		}
		s.pays[id] = &tr
		s.ids = append(s.ids, id)
	}
	s.afterCommand(&c)
}

func (s *sim) fulfil() {
	ids := s.reserved(ledger.KindPayment)
	if len(ids) == 0 {
		return
	}
	tr := s.pays[ids[s.rng.IntN(len(ids))]]
	c := ledger.Command{Op: ledger.OpFulfil, ID: tr.ID, Fulfilment: simFulfilment(tr.ID)}
	if !s.now.Before(tr.Expiry) {
		s.exec(c, ledger.ErrTransferExpired)
		s.afterCommand(&c)
		return
	}
	r, _ := s.exec(c)
	cur := tr.Currency
	w := s.windows[s.open[cur]]
	s.move(pos(tr.Payer, cur), pos(tr.Payee, cur), tr.Amount, simCommit)
	if w.Model == ledger.ModelGross {
		s.move(pos(tr.Payee, cur), pos(tr.Payer, cur), tr.Amount, simPost)
		s.move(set(tr.Payee, cur), set(tr.Payer, cur), tr.Amount, simPost)
		s.stats.grossPayments++
	}
	w.Count++
	w.Amount += tr.Amount
	i, found := slices.BinarySearchFunc(w.Flows, ledger.Flow{Payer: tr.Payer, Payee: tr.Payee}, compareFlows)
	if found {
		w.Flows[i].Count++
		w.Flows[i].Amount += tr.Amount
	} else {
		w.Flows = slices.Insert(w.Flows, i, ledger.Flow{Payer: tr.Payer, Payee: tr.Payee, Count: 1, Amount: tr.Amount})
	}
	tr.State, tr.Fulfilment, tr.Completed, tr.Window = ledger.StateCommitted, c.Fulfilment, s.now, w.ID
	if !equalTransfer(r.Transfer, *tr) {
		s.t.Errorf("fulfil = %+v\nwant %+v", r.Transfer, *tr)
	}
	s.afterCommand(&c)
}

func (s *sim) abort() {
	ids := s.reserved(ledger.KindPayment)
	if len(ids) == 0 {
		return
	}
	tr := s.pays[ids[s.rng.IntN(len(ids))]]
	c := ledger.Command{Op: ledger.OpAbort, ID: tr.ID, Reason: "declined"}
	if !s.now.Before(tr.Expiry) {
		s.exec(c, ledger.ErrTransferExpired)
	} else {
		s.exec(c)
		s.move(pos(tr.Payer, tr.Currency), pos(tr.Payee, tr.Currency), tr.Amount, simRelease)
		tr.State, tr.Reason, tr.Completed = ledger.StateAborted, c.Reason, s.now
	}
	s.afterCommand(&c)
}

// tick moves the clock on and expires what is due.
func (s *sim) tick() {
	s.now = s.now.Add(time.Duration(s.rng.IntN(8000)) * time.Millisecond)
	var want []ledger.ID
	for _, id := range s.reserved(ledger.KindPayment) {
		if !s.pays[id].Expiry.After(s.now) {
			want = append(want, id)
		}
	}
	sortIDs := func(ids []ledger.ID) []ledger.ID {
		ids = slices.Clone(ids)
		slices.SortFunc(ids, func(a, b ledger.ID) int { return slices.Compare(a[:], b[:]) })
		return ids
	}
	due := s.l.Due(s.now, 1<<30)
	if got, want := sortIDs(due), sortIDs(want); !slices.Equal(got, want) {
		s.t.Errorf("Due(%v) = %v, want %v", s.now, got, want)
	}
	if s.shadow != nil {
		if got, want := sortIDs(s.shadow.Due(s.now, 1<<30)), sortIDs(due); !slices.Equal(got, want) {
			s.t.Errorf("restored Due(%v) = %v, original %v", s.now, got, want)
		}
	}
	for _, id := range due {
		tr := s.pays[id]
		c := ledger.Command{Op: ledger.OpExpire, ID: id}
		s.exec(c)
		s.move(pos(tr.Payer, tr.Currency), pos(tr.Payee, tr.Currency), tr.Amount, simRelease)
		tr.State, tr.Reason, tr.Completed = ledger.StateExpired, "expired", s.now
		s.stats.expired++
		s.afterCommand(&c)
	}
}

func (s *sim) fundsOut() {
	if ids := s.reserved(ledger.KindFundsOut); len(ids) > 0 && s.rng.IntN(2) == 0 {
		tr := s.funds[ids[s.rng.IntN(len(ids))]]
		k, rec := set(tr.Payer, tr.Currency), hub(tr.Currency, ledger.AccountHubReconciliation)
		c := ledger.Command{Op: ledger.OpFundsOutCommit, ID: tr.ID}
		if s.rng.IntN(3) == 0 {
			c = ledger.Command{Op: ledger.OpFundsOutAbort, ID: tr.ID, Reason: "cancelled"}
			s.exec(c)
			s.move(rec, k, tr.Amount, simRelease)
			tr.State = ledger.StateAborted
		} else {
			s.exec(c)
			s.move(rec, k, tr.Amount, simCommit)
			tr.State = ledger.StateCommitted
		}
		s.afterCommand(&c)
		return
	}
	cur := s.pick(s.liveCurrencies())
	p := s.pick(s.enabled(cur))
	amount := 1 + s.rng.Int64N(15000)
	c := ledger.Command{Op: ledger.OpFundsOutReserve, ID: s.id(), Participant: p, Currency: cur, Amount: amount}
	ps, st := s.acct(pos(p, cur)), s.acct(set(p, cur))
	var want []error
	if st.Balance()-st.CreditsPending-amount < max(ps.Balance()+ps.DebitsPending, 0) {
		want = []error{ledger.ErrInsufficientLiquidity}
	}
	if r, err := s.exec(c, want...); err == nil {
		s.move(hub(cur, ledger.AccountHubReconciliation), set(p, cur), amount, simReserve)
		tr := r.Transfer
		s.funds[c.ID] = &tr
		s.ids = append(s.ids, c.ID)
	}
	s.afterCommand(&c)
}

// closeWindow0 closes a window, naming it in one of the ways a caller can,
// some of them wrong.
func (s *sim) closeWindow0() {
	cur := s.pick(s.curs)
	c := closeCmd(cur, 0)
	var want []error
	openID, hasOpen := s.open[cur]
	switch r := s.rng.IntN(10); {
	case r < 5:
		if !hasOpen {
			want = []error{ledger.ErrNoWindow}
		}
	case r < 8 && hasOpen:
		c.Window = openID
		if s.rng.IntN(3) == 0 {
			c.Currency = ""
		}
	default:
		c.Window = 1 + s.rng.Uint64N(s.nextWindow+1)
		w, ok := s.windows[c.Window]
		switch {
		case !ok || w.Currency != cur:
			want = []error{ledger.ErrWindowNotFound}
		case w.State != ledger.WindowOpen:
			want = []error{ledger.ErrWindowNotOpen}
		}
	}
	r, err := s.exec(c, want...)
	if err == nil {
		w := s.windows[s.open[cur]]
		s.closeWindow(w)
		if !reflect.DeepEqual(*r.Window, *w) {
			s.t.Errorf("close = %+v\nwant %+v", *r.Window, *w)
		}
	}
	s.afterCommand(&c)
}

func (s *sim) setModel() {
	cur := s.pick(s.curs)
	m := ledger.Model(1 + s.rng.IntN(3))
	if s.rng.IntN(20) == 0 {
		m = ledger.Model(s.rng.IntN(2) * 4)
	}
	c := modelCmd(cur, m)
	openID, hasOpen := s.open[cur]
	var want []error
	switch {
	case !m.Valid():
		want = []error{ledger.ErrInvalidCommand}
	case !hasOpen:
		want = []error{ledger.ErrNoWindow}
	}
	r, err := s.exec(c, want...)
	if err == nil {
		w := s.windows[openID]
		switch {
		case w.Model == m:
			if !r.Duplicate {
				s.t.Errorf("same model again is not a duplicate")
			}
		case w.Count == 0:
			w.Model = m
		default:
			w.State, w.Closed = ledger.WindowClosed, s.now
			if w.Model == ledger.ModelGross {
				w.State = ledger.WindowSettled
			}
			s.openWindow(cur, m)
			s.stats.switchClosed++
		}
		if want := s.windows[s.open[cur]]; !reflect.DeepEqual(*r.Window, *want) {
			s.t.Errorf("set model = %+v\nwant %+v", *r.Window, *want)
		}
	}
	s.afterCommand(&c)
}

// closedNet returns the closed windows of cur under model m.
func (s *sim) closedNet(cur string, m ledger.Model) []uint64 {
	var out []uint64
	for id := uint64(1); id < s.nextWindow; id++ {
		if w := s.windows[id]; w.Currency == cur && w.Model == m && w.State == ledger.WindowClosed {
			out = append(out, id)
		}
	}
	return out
}

func (s *sim) createSettlement() {
	cur := s.pick(s.curs)
	var ids []uint64
	if s.rng.IntN(10) < 7 {
		m := ledger.Model(1 + s.rng.IntN(2))
		ids = s.closedNet(cur, m)
		s.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		ids = ids[:min(len(ids), 1+s.rng.IntN(4))]
	} else {
		for range 1 + s.rng.IntN(3) {
			ids = append(ids, s.rng.Uint64N(s.nextWindow+1))
		}
	}
	c := ledger.Command{Op: ledger.OpCreateSettlement, Windows: ids}
	if s.rng.IntN(2) == 0 {
		c.Currency = cur
	}
	// Every rule the request breaks; the ledger names one of them.
	var want []error
	if len(ids) == 0 || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
		want = append(want, ledger.ErrInvalidCommand)
	}
	var first *ledger.Window
	for _, id := range ids {
		w, ok := s.windows[id]
		if !ok {
			want = append(want, ledger.ErrWindowNotFound)
			continue
		}
		if first == nil {
			first = w
		}
		if w.Currency != first.Currency || (c.Currency != "" && w.Currency != c.Currency) || w.Model != first.Model {
			want = append(want, ledger.ErrMixedWindows)
		}
		if w.Model == ledger.ModelGross {
			want = append(want, ledger.ErrGrossWindow)
		}
		if w.State != ledger.WindowClosed {
			want = append(want, ledger.ErrWindowNotClosed)
		}
	}
	r, err := s.exec(c, want...)
	if err != nil {
		s.stats.refusedCreates++
		s.afterCommand(&c)
		return
	}
	st := expectSettlement(s.nextSettle, first.Currency, first.Model, ids, func(id uint64) ledger.Window { return *s.windows[id] }, s.now)
	s.nextSettle++
	s.settles[st.ID] = &st
	for _, id := range st.Windows {
		s.windows[id].State, s.windows[id].Settlement = ledger.WindowPendingSettlement, st.ID
	}
	if !reflect.DeepEqual(*r.Settlement, st) {
		s.t.Errorf("created %+v\nwant %+v", *r.Settlement, st)
	}
	got, want2 := r.Settlement.Legs(), simLegs(&st)
	slices.SortFunc(got, compareLegs)
	slices.SortFunc(want2, compareLegs)
	if !slices.Equal(got, want2) {
		s.t.Errorf("Legs() = %+v\nwant %+v", got, want2)
	}
	s.afterCommand(&c)
}

// liveSettlement returns a settlement that is not final, if there is one.
func (s *sim) liveSettlement() (uint64, bool) {
	var live []uint64
	for id := uint64(1); id < s.nextSettle; id++ {
		if !s.settles[id].State.Final() {
			live = append(live, id)
		}
	}
	if len(live) == 0 {
		return 0, false
	}
	return live[s.rng.IntN(len(live))], true
}

func (s *sim) settlementState() {
	id, ok := s.liveSettlement()
	if !ok || s.rng.IntN(10) == 0 {
		id = s.rng.Uint64N(s.nextSettle + 1)
	}
	var to ledger.SettlementState
	switch r := s.rng.IntN(10); {
	case r < 6:
		if st, ok := s.settles[id]; ok {
			to = st.State + 1
		}
	case r < 8:
		to = ledger.SettlementAborted
	default:
		to = ledger.SettlementState(s.rng.IntN(8))
	}
	reason := [...]string{"", "", "bank confirmed", strings.Repeat("x", ledger.MaxReason+1)}[s.rng.IntN(4)]
	s.moveSettlement(id, to, reason)
}

// moveSettlement moves settlement id to state to, checking the ledger's
// answer and the movements it makes against the rules.
func (s *sim) moveSettlement(id uint64, to ledger.SettlementState, reason string) error {
	t := s.t
	c := stateCmd(id, to, reason)
	st, ok := s.settles[id]
	var want []error
	switch {
	case to < ledger.SettlementPending || to > ledger.SettlementAborted:
		want = []error{ledger.ErrInvalidCommand}
	case !ok:
		want = []error{ledger.ErrSettlementNotFound}
	case to == st.State:
	case !canMove(st.State, to):
		want = []error{ledger.ErrSettlementTransition}
	case len(reason) > ledger.MaxReason:
		want = []error{ledger.ErrInvalidCommand}
	case to == ledger.SettlementReserved && !s.covered(st):
		want = []error{ledger.ErrCollateralShort}
	}
	// What the positions and settlement accounts hold before, read from
	// the ledger.
	before := map[ledger.AccountKey]int64{}
	if ok {
		for _, n := range st.Nets {
			before[pos(n.Participant, st.Currency)] = balance(t, s.l, pos(n.Participant, st.Currency))
			before[set(n.Participant, st.Currency)] = balance(t, s.l, set(n.Participant, st.Currency))
		}
	}
	r, err := s.exec(c, want...)
	if err != nil {
		if errors.Is(err, ledger.ErrSettlementTransition) {
			s.stats.refusedTransitions++
			var te *ledger.TransitionError
			if !errors.As(err, &te) || te.From != st.State || te.To != to {
				t.Errorf("error %v, want a *TransitionError from %s to %s", err, st.State, to)
			}
		}
		s.afterCommand(&c)
		return err
	}
	if to == st.State {
		if !r.Duplicate {
			t.Errorf("settlement %d: %s again is not a duplicate", id, to)
		}
		s.afterCommand(&c)
		return nil
	}
	legs := simLegs(st)
	switch to {
	case ledger.SettlementReserved:
		for _, l := range legs {
			s.move(l.Debit, l.Credit, l.Amount, simReserve)
		}
	case ledger.SettlementCommitted:
		for _, l := range legs {
			s.move(l.Debit, l.Credit, l.Amount, simCommit)
		}
		s.stats.committed[st.Model]++
		// Each participant's position and settlement account move by
		// exactly its net, whatever the model.
		for _, n := range st.Nets {
			for _, k := range []ledger.AccountKey{pos(n.Participant, st.Currency), set(n.Participant, st.Currency)} {
				if got := balance(t, s.l, k); got != before[k]-n.Net {
					t.Errorf("settlement %d committed: %s went from %d to %d, want a move of %d", id, k, before[k], got, -n.Net)
				}
			}
		}
	case ledger.SettlementAborted:
		if st.State == ledger.SettlementReserved {
			for _, l := range legs {
				s.move(l.Debit, l.Credit, l.Amount, simRelease)
			}
		}
		s.stats.abortedFrom[st.State]++
		st.Reason = reason
		for _, w := range st.Windows {
			s.windows[w].State, s.windows[w].Settlement = ledger.WindowClosed, 0
		}
	case ledger.SettlementSettled:
		for _, w := range st.Windows {
			s.windows[w].State = ledger.WindowSettled
		}
	}
	st.State, st.Updated = to, s.now
	st.History = append(st.History, ledger.StateChange{State: to, At: s.now, Reason: reason})
	if r.Duplicate || !reflect.DeepEqual(*r.Settlement, *st) {
		t.Errorf("moved to %+v\nwant %+v", *r.Settlement, *st)
	}
	s.afterCommand(&c)
	return nil
}

// abortRoundTrip creates a settlement, moves it to a state that can still
// abort, aborts it, and checks that every account and window is exactly as
// before.
func (s *sim) abortRoundTrip() {
	cur := s.pick(s.curs)
	ids := s.closedNet(cur, ledger.Model(1+s.rng.IntN(2)))
	if len(ids) == 0 {
		return
	}
	before := worldOf(s.l)
	s.exec(createCmd(ids...))
	st := expectSettlement(s.nextSettle, cur, s.windows[ids[0]].Model, ids, func(id uint64) ledger.Window { return *s.windows[id] }, s.now)
	s.nextSettle++
	s.settles[st.ID] = &st
	for _, id := range ids {
		s.windows[id].State, s.windows[id].Settlement = ledger.WindowPendingSettlement, st.ID
	}
	c := createCmd(ids...)
	s.afterCommand(&c)
	from := ledger.SettlementState(1 + s.rng.IntN(3))
	for to := ledger.SettlementRecorded; to <= from; to++ {
		s.moveSettlement(st.ID, to, "")
	}
	s.moveSettlement(st.ID, ledger.SettlementAborted, "round trip")
	after := worldOf(s.l)
	if !reflect.DeepEqual(after.state, before.state) || !reflect.DeepEqual(after.Windows, before.Windows) {
		s.t.Errorf("settlement %d aborted from %s left the ledger changed:\nbefore %+v\nafter  %+v",
			st.ID, st.History[len(st.History)-2].State, before.Accounts, after.Accounts)
	}
}

// flush hands the changes to the "store", as a checkpoint does.
func (s *sim) flush() {
	c := s.l.Changes()
	if s.shadow != nil {
		c2 := s.shadow.Changes()
		if !sameChanges(c, c2) {
			s.t.Errorf("restored ledger's changes differ:\n got %+v\nwant %+v", c2, c)
		}
		s.shadow.Forget()
	}
	s.saved.add(&c, s.final)
	s.l.Forget()
}

func sameChanges(a, b ledger.Changes) bool {
	for _, c := range []*ledger.Changes{&a, &b} {
		slices.SortFunc(c.Participants, func(x, y ledger.Participant) int { return strings.Compare(x.ID, y.ID) })
		slices.SortFunc(c.Accounts, func(x, y ledger.Account) int { return x.AccountKey.Compare(y.AccountKey) })
		slices.SortFunc(c.Transfers, func(x, y ledger.TransferChange) int { return slices.Compare(x.ID[:], y.ID[:]) })
		slices.SortFunc(c.Windows, func(x, y ledger.Window) int { return cmp.Compare(x.ID, y.ID) })
		slices.SortFunc(c.Settlements, func(x, y ledger.Settlement) int { return cmp.Compare(x.ID, y.ID) })
	}
	return reflect.DeepEqual(a, b)
}

// restore loads a second ledger from everything Changes handed out; from
// now on it must answer every command as the original does.
func (s *sim) restore() {
	s.flush()
	s.shadow = s.saved.restore(s.t, s.final)
	s.shadow.TrackPositions()
	if got, want := worldOf(s.shadow), worldOf(s.l); !reflect.DeepEqual(got, want) {
		s.t.Fatalf("restored ledger differs:\n got %+v\nwant %+v", got, want)
	}
}

// lookup finds a transfer as the ledger would: in memory, else stored.
func (s *sim) lookup(id ledger.ID) ledger.Transfer {
	if tr, ok := s.l.InMemory(id); ok {
		return tr
	}
	tr, ok := s.final.m[id]
	if !ok {
		s.t.Fatalf("transfer %s is neither in memory nor stored", id)
	}
	return tr
}

// fullCheck compares everything with the reference, then checks from the
// ledger's records alone that they add up.
func (s *sim) fullCheck() {
	t := s.t
	var wantW []ledger.Window
	for id := uint64(1); id < s.nextWindow; id++ {
		wantW = append(wantW, *s.windows[id])
	}
	windows := s.l.Windows("", true)
	if !reflect.DeepEqual(windows, wantW) {
		t.Errorf("windows %+v\nreference %+v", windows, wantW)
	}
	wantS := []ledger.Settlement{}
	for id := uint64(1); id < s.nextSettle; id++ {
		wantS = append(wantS, *s.settles[id])
	}
	settlements := s.l.Settlements()
	if !reflect.DeepEqual(settlements, wantS) {
		t.Errorf("settlements %+v\nreference %+v", settlements, wantS)
	}
	if t.Failed() {
		t.FailNow()
	}
	byID := map[uint64]ledger.Window{}
	for _, w := range windows {
		byID[w.ID] = w
	}
	sByID := map[uint64]ledger.Settlement{}
	for _, st := range settlements {
		sByID[st.ID] = st
	}

	// Every committed payment is in exactly one window of its currency, and
	// the windows hold exactly the committed payments.
	type total struct{ count, amount int64 }
	perCur := map[string]total{}
	flows := map[uint64]map[[2]string]ledger.Flow{}
	posWant := map[ledger.AccountKey]int64{}
	setWant := map[ledger.AccountKey]int64{}
	for _, id := range s.ids {
		tr := s.lookup(id)
		if want := s.pays[id]; want != nil && !equalTransfer(tr, *want) {
			t.Errorf("transfer %+v\nreference %+v", tr, *want)
		}
		switch {
		case tr.Kind == ledger.KindFundsIn:
			setWant[set(tr.Payee, tr.Currency)] += tr.Amount
		case tr.Kind == ledger.KindFundsOut && tr.State == ledger.StateCommitted:
			setWant[set(tr.Payer, tr.Currency)] -= tr.Amount
		}
		if tr.Kind != ledger.KindPayment {
			continue
		}
		if tr.State != ledger.StateCommitted {
			if tr.Window != 0 {
				t.Errorf("%s payment %s is in window %d", tr.State, tr.ID, tr.Window)
			}
			continue
		}
		w, ok := byID[tr.Window]
		if !ok || w.Currency != tr.Currency {
			t.Errorf("committed payment %s in %s is in window %d (%+v)", tr.ID, tr.Currency, tr.Window, w)
			continue
		}
		c := perCur[tr.Currency]
		perCur[tr.Currency] = total{c.count + 1, c.amount + tr.Amount}
		if flows[w.ID] == nil {
			flows[w.ID] = map[[2]string]ledger.Flow{}
		}
		f := flows[w.ID][[2]string{tr.Payer, tr.Payee}]
		flows[w.ID][[2]string{tr.Payer, tr.Payee}] = ledger.Flow{Payer: tr.Payer, Payee: tr.Payee, Count: f.Count + 1, Amount: f.Amount + tr.Amount}
		// Gross payments settle at once; net ones stay in the positions
		// until a settlement of their window commits.
		if w.Model == ledger.ModelGross {
			setWant[set(tr.Payer, tr.Currency)] -= tr.Amount
			setWant[set(tr.Payee, tr.Currency)] += tr.Amount
			continue
		}
		if st, ok := sByID[w.Settlement]; !ok || (st.State != ledger.SettlementCommitted && st.State != ledger.SettlementSettled) {
			posWant[pos(tr.Payer, tr.Currency)] += tr.Amount
			posWant[pos(tr.Payee, tr.Currency)] -= tr.Amount
		}
	}
	got := map[string]total{}
	for _, w := range windows {
		c := got[w.Currency]
		got[w.Currency] = total{c.count + w.Count, c.amount + w.Amount}
		want := slices.SortedFunc(func(yield func(ledger.Flow) bool) {
			for _, f := range flows[w.ID] {
				if !yield(f) {
					return
				}
			}
		}, compareFlows)
		if !slices.Equal(w.Flows, want) {
			t.Errorf("window %d flows %+v, its payments make %+v", w.ID, w.Flows, want)
		}
		var sum total
		for _, f := range w.Flows {
			sum = total{sum.count + f.Count, sum.amount + f.Amount}
		}
		if sum != (total{w.Count, w.Amount}) {
			t.Errorf("window %d holds %d payments of %d, its flows %+v", w.ID, w.Count, w.Amount, sum)
		}
		if (w.State == ledger.WindowPendingSettlement) != (w.Settlement != 0 && !sByID[w.Settlement].State.Final()) && w.State != ledger.WindowSettled {
			t.Errorf("window %d is %s, its settlement %d is %s", w.ID, w.State, w.Settlement, sByID[w.Settlement].State)
		}
	}
	for _, cur := range s.curs {
		if got[cur] != perCur[cur] {
			t.Errorf("%s windows hold %+v, the committed payments are %+v", cur, got[cur], perCur[cur])
		}
	}

	// Settlements: nets sum to zero, gross sent and received are the
	// windows' flows, and committed ones moved the settlement accounts.
	for _, st := range settlements {
		var net, sent, recv, sentN, recvN, position int64
		for _, n := range st.Nets {
			net += n.Net
			sent += n.Sent
			recv += n.Received
			sentN += n.SentCount
			recvN += n.ReceivedCount
			position += max(n.Net, 0)
			if n.Net != n.Sent-n.Received {
				t.Errorf("settlement %d: %s net %d is not %d - %d", st.ID, n.Participant, n.Net, n.Sent, n.Received)
			}
		}
		var wc, wa int64
		for _, id := range st.Windows {
			wc += byID[id].Count
			wa += byID[id].Amount
			if w := byID[id]; w.Currency != st.Currency || w.Model != st.Model {
				t.Errorf("settlement %d (%s %s) covers window %+v", st.ID, st.Currency, st.Model, w)
			}
		}
		if net != 0 || sent != wa || recv != wa || sentN != wc || recvN != wc || st.Amount != wa || st.Count != wc || st.Position != position {
			t.Errorf("settlement %d: nets sum to %d, sent %d/%d received %d/%d, windows hold %d/%d, settlement says %d/%d, position %d of %d",
				st.ID, net, sent, sentN, recv, recvN, wa, wc, st.Amount, st.Count, st.Position, position)
		}
		want := expectSettlement(st.ID, st.Currency, st.Model, st.Windows, func(id uint64) ledger.Window { return byID[id] }, st.Created)
		if !reflect.DeepEqual(st.Nets, want.Nets) || !reflect.DeepEqual(st.Owed, want.Owed) {
			t.Errorf("settlement %d nets %+v owed %+v; its windows make %+v and %+v", st.ID, st.Nets, st.Owed, want.Nets, want.Owed)
		}
		// What each participant owes bilaterally adds up to its net.
		if st.Model == ledger.ModelBilateral {
			owes := map[string]int64{}
			for _, o := range st.Owed {
				owes[o.Payer] += o.Amount
				owes[o.Payee] -= o.Amount
			}
			for _, n := range st.Nets {
				if owes[n.Participant] != n.Net {
					t.Errorf("settlement %d: %s owes %d bilaterally, net %d", st.ID, n.Participant, owes[n.Participant], n.Net)
				}
			}
		}
		if st.State == ledger.SettlementCommitted || st.State == ledger.SettlementSettled {
			for _, n := range st.Nets {
				setWant[set(n.Participant, st.Currency)] -= n.Net
			}
		}
		for _, id := range st.Windows {
			w := byID[id]
			switch {
			case st.State == ledger.SettlementAborted:
				if w.Settlement == st.ID {
					t.Errorf("window %d still names aborted settlement %d", id, st.ID)
				}
			case w.Settlement != st.ID:
				t.Errorf("window %d is in settlement %d and %d", id, w.Settlement, st.ID)
			}
		}
	}

	// Positions are the net payments committed in windows whose settlement
	// has not committed; settlement accounts are collateral less what
	// settled.
	for _, a := range s.l.Accounts() {
		switch a.Type {
		case ledger.AccountPosition:
			if a.Balance() != posWant[a.AccountKey] {
				t.Errorf("%s = %d, the unsettled payments make %d", a.AccountKey, a.Balance(), posWant[a.AccountKey])
			}
		case ledger.AccountSettlement:
			if a.Balance() != setWant[a.AccountKey] {
				t.Errorf("%s = %d, deposits, withdrawals and settlements make %d", a.AccountKey, a.Balance(), setWant[a.AccountKey])
			}
		}
	}
}

// settleAll closes some windows and settles every closed one to the end;
// then the positions are the payments of the open windows alone.
func (s *sim) settleAll() {
	t := s.t
	// Enough collateral everywhere that no settlement is refused for want
	// of it; those refusals are tested along the way.
	for _, cur := range s.curs {
		for _, p := range s.enabled(cur) {
			s.fundsIn(p, cur, 1_000_000_000)
		}
	}
	for _, cur := range s.curs {
		if id, ok := s.open[cur]; ok && s.rng.IntN(2) == 0 {
			c := closeCmd(cur, id)
			s.exec(c)
			s.closeWindow(s.windows[id])
			s.afterCommand(&c)
		}
	}
	for id := uint64(1); id < s.nextSettle; id++ {
		for st := s.settles[id]; !st.State.Final(); {
			s.moveSettlement(id, st.State+1, "")
		}
	}
	for _, cur := range s.curs {
		for _, m := range []ledger.Model{ledger.ModelMultilateral, ledger.ModelBilateral} {
			for ids := s.closedNet(cur, m); len(ids) > 0; ids = ids[min(len(ids), ledger.MaxSettlementWindows):] {
				part := ids[:min(len(ids), ledger.MaxSettlementWindows)]
				c := ledger.Command{Op: ledger.OpCreateSettlement, Windows: part}
				s.exec(c)
				st := expectSettlement(s.nextSettle, cur, m, part, func(id uint64) ledger.Window { return *s.windows[id] }, s.now)
				s.nextSettle++
				s.settles[st.ID] = &st
				for _, id := range part {
					s.windows[id].State, s.windows[id].Settlement = ledger.WindowPendingSettlement, st.ID
				}
				s.afterCommand(&c)
				for to := ledger.SettlementRecorded; to <= ledger.SettlementSettled; to++ {
					s.moveSettlement(st.ID, to, "")
				}
			}
		}
	}
	open := map[ledger.AccountKey]int64{}
	for _, w := range s.l.Windows("", true) {
		switch {
		case w.State == ledger.WindowOpen:
			if w.Model != ledger.ModelGross {
				for _, f := range w.Flows {
					open[pos(f.Payer, w.Currency)] += f.Amount
					open[pos(f.Payee, w.Currency)] -= f.Amount
				}
			}
		case w.State != ledger.WindowSettled:
			t.Errorf("window %d is %s after settling everything", w.ID, w.State)
		}
	}
	for _, a := range s.l.Accounts() {
		if a.Type == ledger.AccountPosition && a.Balance() != open[a.AccountKey] {
			t.Errorf("after settling every closed window %s = %d, the open window's payments make %d", a.AccountKey, a.Balance(), open[a.AccountKey])
		}
	}
}

// replay applies the journaled commands to a fresh ledger at the same times:
// each must give the same answer, and the ledger the same state.
func (s *sim) replay() {
	t := s.t
	l := ledger.New(nil)
	for i, e := range s.log {
		c, rest, err := ledger.DecodeCommand(e.enc)
		if err != nil || len(rest) != 0 {
			t.Fatalf("command %d: decode: %v, %d bytes left", i, err, len(rest))
		}
		r, err := l.Apply(e.at, &c)
		if fmt.Sprint(err) != fmt.Sprint(e.err) || !reflect.DeepEqual(r, e.res) {
			t.Fatalf("command %d (%s) at %v replays to %+v, %v\noriginally %+v, %v", i, c.Op, e.at, r, err, e.res, e.err)
		}
	}
	if got, want := worldOf(l), worldOf(s.l); !reflect.DeepEqual(got, want) {
		t.Errorf("replayed ledger differs:\n got %+v\nwant %+v", got, want)
	}
}

// covered reports whether each net debtor's collateral not already reserved
// covers what reserving st takes from it.
func (s *sim) covered(st *ledger.Settlement) bool {
	need := map[ledger.AccountKey]int64{}
	for _, l := range simLegs(st) {
		if l.Credit.Type == ledger.AccountSettlement && l.Credit.Participant != ledger.HubID {
			need[l.Credit] += l.Amount
		}
	}
	for k, n := range need {
		a, _ := s.l.Account(k)
		if a.Balance()-a.CreditsPending < n {
			return false
		}
	}
	return true
}
