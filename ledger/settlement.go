package ledger

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hutong/hutong/money"
)

// Settlement. Every currency has one open settlement window; each payment
// that commits joins the window open in its currency at that moment and
// stays in it. A window holds, per payer and payee, the count and amount of
// its payments, so closing one is a constant amount of work however many
// payments it holds. Closing opens the next window in the same command.
//
// How a currency settles is its Model. Under the deferred net models, closed
// windows are settled later by a Settlement that goes through the states
// PENDING_SETTLEMENT, PS_TRANSFERS_RECORDED, PS_TRANSFERS_RESERVED,
// PS_TRANSFERS_COMMITTED and SETTLED, or ends ABORTED before it commits.
// Reserving records each movement as pending; committing posts them all in
// one command: a net debtor's position and settlement account go down by
// what it owes and a net creditor's go up by what it is owed. Under the
// multilateral model each participant settles its net against the hub's
// multilateral and reconciliation accounts; under the bilateral model each
// pair of participants settles what one owes the other directly. Under
// immediate gross settlement, each payment moves the settlement accounts as
// it commits and the positions are left as they were; its windows are
// settled the moment they close.

// Model is how a currency's payments are settled.
type Model uint8

const (
	// ModelMultilateral is deferred multilateral net settlement, the
	// default: each participant settles its net over all others.
	ModelMultilateral Model = 1
	// ModelBilateral is deferred bilateral net settlement: each pair of
	// participants settles its net between them.
	ModelBilateral Model = 2
	// ModelGross is immediate gross settlement: each payment settles
	// against the payer's settlement account as it commits.
	ModelGross Model = 3
)

var modelNames = [...]string{
	ModelMultilateral: "DEFERRED_MULTILATERAL_NET",
	ModelBilateral:    "DEFERRED_BILATERAL_NET",
	ModelGross:        "IMMEDIATE_GROSS",
}

func (m Model) String() string {
	if int(m) < len(modelNames) && modelNames[m] != "" {
		return modelNames[m]
	}
	return fmt.Sprintf("Model(%d)", uint8(m))
}

// Valid reports whether m is one of the models.
func (m Model) Valid() bool { return m >= ModelMultilateral && m <= ModelGross }

// ParseModel returns the model named s, as String writes it.
func ParseModel(s string) (Model, bool) {
	for m, name := range modelNames {
		if name != "" && name == s {
			return Model(m), true
		}
	}
	return 0, false
}

// WindowState is where a settlement window is in its life.
type WindowState uint8

const (
	// WindowOpen: committed payments join it.
	WindowOpen WindowState = 1
	// WindowClosed: it takes no more payments and awaits settlement.
	WindowClosed WindowState = 2
	// WindowPendingSettlement: a settlement in progress covers it.
	WindowPendingSettlement WindowState = 3
	// WindowSettled: its payments are settled.
	WindowSettled WindowState = 4
)

var windowStateNames = [...]string{
	WindowOpen:              "OPEN",
	WindowClosed:            "CLOSED",
	WindowPendingSettlement: "PENDING_SETTLEMENT",
	WindowSettled:           "SETTLED",
}

func (s WindowState) String() string {
	if int(s) < len(windowStateNames) && windowStateNames[s] != "" {
		return windowStateNames[s]
	}
	return fmt.Sprintf("WindowState(%d)", uint8(s))
}

// ParseWindowState returns the state named s, as String writes it.
func ParseWindowState(s string) (WindowState, bool) {
	for st, name := range windowStateNames {
		if name != "" && name == s {
			return WindowState(st), true
		}
	}
	return 0, false
}

// Flow is what one payer paid one payee in a window: the count and total of
// the payments. In a settlement's obligations it is what Payer owes Payee
// after netting the pair, with Count the payments both ways.
type Flow struct {
	Payer  string
	Payee  string
	Count  int64
	Amount int64
}

// Window is a settlement window.
type Window struct {
	ID         uint64
	Currency   string
	Model      Model // the currency's model while the window was open
	State      WindowState
	Opened     time.Time
	Closed     time.Time // zero while open
	Settlement uint64    // the settlement covering it, 0 while none does
	Count      int64     // payments committed in it
	Amount     int64     // their total
	Flows      []Flow    // one per payer and payee that paid, sorted by payer then payee
}

// clone copies w. An open window keeps its flows in the order its pairs
// first paid, for its index; the copy has them sorted, as documented.
func (w *Window) clone() Window {
	c := *w
	c.Flows = slices.Clone(w.Flows)
	if w.State == WindowOpen {
		sortFlows(c.Flows)
	}
	return c
}

func sortFlows(fs []Flow) {
	slices.SortFunc(fs, func(a, b Flow) int {
		if c := strings.Compare(a.Payer, b.Payer); c != 0 {
			return c
		}
		return strings.Compare(a.Payee, b.Payee)
	})
}

// SettlementState is where a settlement is in its life.
type SettlementState uint8

const (
	// SettlementPending: created over closed windows; its nets are fixed.
	SettlementPending SettlementState = 1
	// SettlementRecorded: its movements are recorded; nothing has moved.
	SettlementRecorded SettlementState = 2
	// SettlementReserved: its movements are reserved as pending amounts on
	// the accounts they will move.
	SettlementReserved SettlementState = 3
	// SettlementCommitted: its movements are posted: positions are reset by
	// the settled amounts and settlement accounts have moved.
	SettlementCommitted SettlementState = 4
	// SettlementSettled: the settlement bank has confirmed; its windows are
	// settled.
	SettlementSettled SettlementState = 5
	// SettlementAborted: abandoned before it committed; every balance is as
	// it was and its windows are closed again, free to be settled anew.
	SettlementAborted SettlementState = 6
)

var settlementStateNames = [...]string{
	SettlementPending:   "PENDING_SETTLEMENT",
	SettlementRecorded:  "PS_TRANSFERS_RECORDED",
	SettlementReserved:  "PS_TRANSFERS_RESERVED",
	SettlementCommitted: "PS_TRANSFERS_COMMITTED",
	SettlementSettled:   "SETTLED",
	SettlementAborted:   "ABORTED",
}

func (s SettlementState) String() string {
	if int(s) < len(settlementStateNames) && settlementStateNames[s] != "" {
		return settlementStateNames[s]
	}
	return fmt.Sprintf("SettlementState(%d)", uint8(s))
}

// ParseSettlementState returns the state named s, as String writes it.
func ParseSettlementState(s string) (SettlementState, bool) {
	for st, name := range settlementStateNames {
		if name != "" && name == s {
			return SettlementState(st), true
		}
	}
	return 0, false
}

// Final reports whether s is terminal.
func (s SettlementState) Final() bool { return s == SettlementSettled || s == SettlementAborted }

// next is the state each state moves on to.
func (s SettlementState) next() SettlementState {
	switch s {
	case SettlementPending, SettlementRecorded, SettlementReserved, SettlementCommitted:
		return s + 1
	}
	return 0
}

// CanMove reports whether a settlement in state s may move to state to:
// one step forward, or to ABORTED before it has committed.
func (s SettlementState) CanMove(to SettlementState) bool {
	if to == SettlementAborted {
		return s == SettlementPending || s == SettlementRecorded || s == SettlementReserved
	}
	return to != 0 && s.next() == to
}

// Net is one participant's part in a settlement.
type Net struct {
	Participant   string
	Sent          int64 // gross amount of the payments it sent
	Received      int64 // gross amount of the payments it received
	SentCount     int64
	ReceivedCount int64
	Net           int64 // Sent - Received: positive when it owes, negative when owed
}

// StateChange is a step in a settlement's history.
type StateChange struct {
	State  SettlementState
	At     time.Time
	Reason string
}

// Settlement settles one or more closed windows of one currency.
type Settlement struct {
	ID       uint64
	Currency string
	Model    Model
	State    SettlementState
	Windows  []uint64 // ascending
	Created  time.Time
	Updated  time.Time
	Reason   string        // why it was aborted, if it was
	Nets     []Net         // one per participant with a payment in its windows, by participant
	Owed     []Flow        // bilateral model only: what each payer owes each payee after netting, by payer then payee
	History  []StateChange // every state it has been in, oldest first
	Count    int64         // payments in its windows
	Amount   int64         // their total
	Position int64         // sum of the positive nets: the money that moves at the settlement bank
}

func (s *Settlement) clone() Settlement {
	c := *s
	c.Windows = slices.Clone(s.Windows)
	c.Nets = slices.Clone(s.Nets)
	c.Owed = slices.Clone(s.Owed)
	c.History = slices.Clone(s.History)
	return c
}

// Leg is one double-entry movement of a settlement: Amount is debited to
// Debit and credited to Credit.
type Leg struct {
	Debit  AccountKey
	Credit AccountKey
	Amount int64
}

// Legs returns the movements that settling s makes, in a fixed order.
func (s *Settlement) Legs() []Leg {
	var legs []Leg
	switch s.Model {
	case ModelMultilateral:
		mls := AccountKey{HubID, s.Currency, AccountHubMultilateral}
		rec := AccountKey{HubID, s.Currency, AccountHubReconciliation}
		for _, n := range s.Nets {
			pos := AccountKey{n.Participant, s.Currency, AccountPosition}
			set := AccountKey{n.Participant, s.Currency, AccountSettlement}
			switch {
			case n.Net > 0:
				legs = append(legs, Leg{mls, pos, n.Net}, Leg{rec, set, n.Net})
			case n.Net < 0:
				legs = append(legs, Leg{pos, mls, -n.Net}, Leg{set, rec, -n.Net})
			}
		}
	case ModelBilateral:
		for _, o := range s.Owed {
			legs = append(legs,
				Leg{AccountKey{o.Payee, s.Currency, AccountPosition}, AccountKey{o.Payer, s.Currency, AccountPosition}, o.Amount},
				Leg{AccountKey{o.Payee, s.Currency, AccountSettlement}, AccountKey{o.Payer, s.Currency, AccountSettlement}, o.Amount})
		}
	}
	return legs
}

type flowKey struct{ payer, payee string }

// openWindow is a window taking payments, with an index of its flows.
type openWindow struct {
	w     *Window
	index map[flowKey]int
}

func newOpenWindow(w *Window) *openWindow {
	o := &openWindow{w: w, index: make(map[flowKey]int, len(w.Flows))}
	for i, f := range w.Flows {
		o.index[flowKey{f.Payer, f.Payee}] = i
	}
	return o
}

// settlementState is the ledger's part for settlement.
type settlementState struct {
	windows        map[uint64]*Window
	open           map[string]*openWindow // by currency
	settlements    map[uint64]*Settlement
	nextWindow     uint64
	nextSettlement uint64

	changedWindows     map[uint64]struct{}
	changedSettlements map[uint64]struct{}
}

func (s *settlementState) init() {
	s.windows = make(map[uint64]*Window)
	s.open = make(map[string]*openWindow)
	s.settlements = make(map[uint64]*Settlement)
	s.nextWindow, s.nextSettlement = 1, 1
	s.changedWindows = make(map[uint64]struct{})
	s.changedSettlements = make(map[uint64]struct{})
}

// RestoreSettlement loads the windows and settlements saved from an earlier
// Ledger, after Restore. Every currency with an account must have exactly
// one open window.
func (l *Ledger) RestoreSettlement(windows []Window, settlements []Settlement) error {
	if len(l.windows) != 0 || len(l.settlements) != 0 {
		return fmt.Errorf("ledger: restore settlement into a ledger that has windows")
	}
	for i := range windows {
		w := windows[i].clone()
		if _, dup := l.windows[w.ID]; dup || w.ID == 0 {
			return fmt.Errorf("ledger: restore: window id %d is zero or repeated", w.ID)
		}
		l.windows[w.ID] = &w
		if w.State == WindowOpen {
			if _, dup := l.open[w.Currency]; dup {
				return fmt.Errorf("ledger: restore: two open windows in %s", w.Currency)
			}
			l.open[w.Currency] = newOpenWindow(&w)
		}
		l.nextWindow = max(l.nextWindow, w.ID+1)
	}
	for i := range settlements {
		s := settlements[i].clone()
		if _, dup := l.settlements[s.ID]; dup || s.ID == 0 {
			return fmt.Errorf("ledger: restore: settlement id %d is zero or repeated", s.ID)
		}
		l.settlements[s.ID] = &s
		l.nextSettlement = max(l.nextSettlement, s.ID+1)
	}
	for k := range l.accounts {
		if k.Participant != HubID {
			if _, ok := l.open[k.Currency]; !ok {
				return fmt.Errorf("ledger: restore: no open window in %s", k.Currency)
			}
		}
	}
	return nil
}

// Model returns the settlement model of a currency that is enabled for at
// least one participant.
func (l *Ledger) Model(currency string) (Model, bool) {
	o, ok := l.open[currency]
	if !ok {
		return 0, false
	}
	return o.w.Model, true
}

// Window returns a copy of a window.
func (l *Ledger) Window(id uint64) (Window, bool) {
	w, ok := l.windows[id]
	if !ok {
		return Window{}, false
	}
	return w.clone(), true
}

// OpenWindow returns a copy of the open window of a currency.
func (l *Ledger) OpenWindow(currency string) (Window, bool) {
	o, ok := l.open[currency]
	if !ok {
		return Window{}, false
	}
	return o.w.clone(), true
}

// Windows returns copies of the windows of a currency ("" for all), by id.
// Flows are left out unless withFlows.
func (l *Ledger) Windows(currency string, withFlows bool) []Window {
	var out []Window
	for _, w := range l.windows {
		if currency != "" && w.Currency != currency {
			continue
		}
		var c Window
		if withFlows {
			c = w.clone()
		} else {
			c = *w
			c.Flows = nil
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Window) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Settlement returns a copy of a settlement.
func (l *Ledger) Settlement(id uint64) (Settlement, bool) {
	s, ok := l.settlements[id]
	if !ok {
		return Settlement{}, false
	}
	return s.clone(), true
}

// Settlements returns copies of all settlements, by id.
func (l *Ledger) Settlements() []Settlement {
	out := make([]Settlement, 0, len(l.settlements))
	for _, s := range l.settlements {
		out = append(out, s.clone())
	}
	slices.SortFunc(out, func(a, b Settlement) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// openFirstWindow opens a currency's first window, under the default model,
// when the currency is first enabled.
func (l *Ledger) openFirstWindow(now time.Time, currency string) {
	if _, ok := l.open[currency]; ok {
		return
	}
	l.openNext(now, currency, ModelMultilateral)
}

func (l *Ledger) openNext(now time.Time, currency string, m Model) *Window {
	w := &Window{ID: l.nextWindow, Currency: currency, Model: m, State: WindowOpen, Opened: now}
	l.nextWindow++
	l.windows[w.ID] = w
	l.open[currency] = newOpenWindow(w)
	l.changedWindows[w.ID] = struct{}{}
	return w
}

// joinWindow adds a committing payment to its currency's open window and,
// under gross settlement, settles it. It changes nothing when it fails.
func (l *Ledger) joinWindow(t *Transfer) error {
	o := l.open[t.Currency]
	w := o.w
	count, ok1 := add(w.Count, 1)
	amount, ok2 := add(w.Amount, t.Amount)
	i, found := o.index[flowKey{t.Payer, t.Payee}]
	var flowAmount int64 = t.Amount
	ok3 := true
	if found {
		flowAmount, ok3 = add(w.Flows[i].Amount, t.Amount)
	}
	if !ok1 || !ok2 || !ok3 {
		return ErrOverflow
	}
	if w.Model == ModelGross {
		legs := []Leg{
			{AccountKey{t.Payee, t.Currency, AccountPosition}, AccountKey{t.Payer, t.Currency, AccountPosition}, t.Amount},
			{AccountKey{t.Payee, t.Currency, AccountSettlement}, AccountKey{t.Payer, t.Currency, AccountSettlement}, t.Amount},
		}
		if err := l.move(legs, legPost); err != nil {
			return err
		}
	}
	w.Count, w.Amount = count, amount
	if found {
		w.Flows[i].Count++
		w.Flows[i].Amount = flowAmount
	} else {
		o.index[flowKey{t.Payer, t.Payee}] = len(w.Flows)
		w.Flows = append(w.Flows, Flow{Payer: t.Payer, Payee: t.Payee, Count: 1, Amount: t.Amount})
	}
	t.Window = w.ID
	l.changedWindows[w.ID] = struct{}{}
	return nil
}

// How move applies legs.
const (
	legReserve = iota // add to pending
	legPost           // add to posted
	legCommit         // move from pending to posted
	legRelease        // take from pending
)

// move applies legs to the accounts atomically: when any total would
// overflow or go negative it returns ErrOverflow and changes nothing.
func (l *Ledger) move(legs []Leg, how int) error {
	// Copies of the accounts the legs touch, changed and checked before
	// any is written back. A slice, not a map: under gross settlement this
	// runs for every payment that commits, with two legs.
	var small [4]Account
	work := small[:0]
	get := func(k AccountKey) *Account {
		for i := range work {
			if work[i].AccountKey == k {
				return &work[i]
			}
		}
		work = append(work, *l.account(k.Participant, k.Currency, k.Type))
		return &work[len(work)-1]
	}
	for _, leg := range legs {
		// Look both up before changing either, so neither pointer is
		// left behind by append.
		get(leg.Debit)
		get(leg.Credit)
		d, c := get(leg.Debit), get(leg.Credit)
		var ok [4]bool
		switch how {
		case legReserve:
			d.DebitsPending, ok[0] = add(d.DebitsPending, leg.Amount)
			c.CreditsPending, ok[1] = add(c.CreditsPending, leg.Amount)
			ok[2], ok[3] = true, true
		case legPost:
			d.DebitsPosted, ok[0] = add(d.DebitsPosted, leg.Amount)
			c.CreditsPosted, ok[1] = add(c.CreditsPosted, leg.Amount)
			ok[2], ok[3] = true, true
		case legCommit, legRelease:
			d.DebitsPending, ok[0] = sub(d.DebitsPending, leg.Amount)
			c.CreditsPending, ok[1] = sub(c.CreditsPending, leg.Amount)
			ok[0] = ok[0] && d.DebitsPending >= 0
			ok[1] = ok[1] && c.CreditsPending >= 0
			ok[2], ok[3] = true, true
			if how == legCommit {
				d.DebitsPosted, ok[2] = add(d.DebitsPosted, leg.Amount)
				c.CreditsPosted, ok[3] = add(c.CreditsPosted, leg.Amount)
			}
		}
		if !ok[0] || !ok[1] || !ok[2] || !ok[3] {
			return ErrOverflow
		}
	}
	for i := range work {
		a := l.accounts[work[i].AccountKey]
		*a = work[i]
		l.touch(a)
	}
	return nil
}

func (l *Ledger) setModel(now time.Time, c *Command) (Result, error) {
	if !c.Model.Valid() {
		return Result{}, ErrInvalidCommand.detail("unknown settlement model %d", c.Model)
	}
	o, ok := l.open[c.Currency]
	if !ok {
		return Result{}, ErrNoWindow
	}
	w := o.w
	if w.Model == c.Model {
		r := w.clone()
		return Result{Window: &r, Duplicate: true}, nil
	}
	if w.Count == 0 {
		w.Model = c.Model
		l.changedWindows[w.ID] = struct{}{}
		r := w.clone()
		return Result{Window: &r}, nil
	}
	// The open window's payments settle under the old model: close it.
	l.closeWindow(now, w)
	r := l.openNext(now, c.Currency, c.Model).clone()
	return Result{Window: &r}, nil
}

func (l *Ledger) closeWindow(now time.Time, w *Window) {
	w.State, w.Closed = WindowClosed, now
	if w.Model == ModelGross {
		w.State = WindowSettled
	}
	sortFlows(w.Flows)
	l.changedWindows[w.ID] = struct{}{}
}

func (l *Ledger) closeWindowCmd(now time.Time, c *Command) (Result, error) {
	var w *Window
	if c.Window == 0 {
		o, ok := l.open[c.Currency]
		if !ok {
			return Result{}, ErrNoWindow
		}
		w = o.w
	} else {
		var ok bool
		if w, ok = l.windows[c.Window]; !ok {
			return Result{}, ErrWindowNotFound
		}
		if c.Currency != "" && c.Currency != w.Currency {
			return Result{}, ErrWindowNotFound
		}
		if w.State != WindowOpen {
			return Result{}, ErrWindowNotOpen
		}
	}
	l.closeWindow(now, w)
	l.openNext(now, w.Currency, w.Model)
	r := w.clone()
	return Result{Window: &r}, nil
}

func (l *Ledger) createSettlement(now time.Time, c *Command) (Result, error) {
	if len(c.Windows) == 0 {
		return Result{}, ErrInvalidCommand.detail("a settlement needs at least one window")
	}
	if len(c.Windows) > MaxSettlementWindows {
		return Result{}, ErrInvalidCommand.detail("a settlement covers at most %d windows", MaxSettlementWindows)
	}
	ids := slices.Clone(c.Windows)
	slices.Sort(ids)
	if len(slices.Compact(ids)) != len(c.Windows) {
		return Result{}, ErrInvalidCommand.detail("a window is named twice")
	}
	var currency string
	var model Model
	for i, id := range ids {
		w, ok := l.windows[id]
		if !ok {
			return Result{}, ErrWindowNotFound.detail("%d", id)
		}
		if i == 0 {
			currency, model = w.Currency, w.Model
		}
		switch {
		case w.Currency != currency:
			return Result{}, ErrMixedWindows
		case w.Model == ModelGross:
			return Result{}, ErrGrossWindow.detail("window %d", id)
		case w.Model != model:
			return Result{}, ErrMixedWindows
		case w.State == WindowOpen:
			return Result{}, ErrWindowNotClosed.detail("window %d is open", id)
		case w.State != WindowClosed:
			return Result{}, ErrWindowNotClosed.detail("window %d is %s", id, w.State)
		}
	}
	if c.Currency != "" && c.Currency != currency {
		return Result{}, ErrMixedWindows
	}
	s := &Settlement{
		ID: l.nextSettlement, Currency: currency, Model: model, State: SettlementPending,
		Windows: ids, Created: now, Updated: now,
		History: []StateChange{{State: SettlementPending, At: now}},
	}
	if err := s.compute(l.windows); err != nil {
		return Result{}, err
	}
	l.nextSettlement++
	for _, id := range ids {
		w := l.windows[id]
		w.State, w.Settlement = WindowPendingSettlement, s.ID
		l.changedWindows[id] = struct{}{}
	}
	l.settlements[s.ID] = s
	l.changedSettlements[s.ID] = struct{}{}
	r := s.clone()
	return Result{Settlement: &r}, nil
}

// compute fills in the settlement's totals, nets and obligations from its
// windows.
func (s *Settlement) compute(windows map[uint64]*Window) error {
	nets := make(map[string]*Net)
	pairs := make(map[flowKey]*Flow)
	net := func(p string) *Net {
		n, ok := nets[p]
		if !ok {
			n = &Net{Participant: p}
			nets[p] = n
		}
		return n
	}
	ok := true
	acc := func(dst *int64, v int64) {
		var o bool
		*dst, o = add(*dst, v)
		ok = ok && o
	}
	for _, id := range s.Windows {
		w := windows[id]
		acc(&s.Count, w.Count)
		acc(&s.Amount, w.Amount)
		for _, f := range w.Flows {
			payer, payee := net(f.Payer), net(f.Payee)
			acc(&payer.Sent, f.Amount)
			acc(&payer.SentCount, f.Count)
			acc(&payee.Received, f.Amount)
			acc(&payee.ReceivedCount, f.Count)
			if s.Model == ModelBilateral {
				// Keep each pair once, under its lower id first, signed
				// so that positive means the first owes the second.
				k, sign := flowKey{f.Payer, f.Payee}, int64(1)
				if f.Payee < f.Payer {
					k, sign = flowKey{f.Payee, f.Payer}, -1
				}
				p, found := pairs[k]
				if !found {
					p = &Flow{Payer: k.payer, Payee: k.payee}
					pairs[k] = p
				}
				acc(&p.Count, f.Count)
				acc(&p.Amount, sign*f.Amount)
			}
		}
	}
	for _, n := range nets {
		var o bool
		n.Net, o = sub(n.Sent, n.Received)
		ok = ok && o
		s.Nets = append(s.Nets, *n)
		if n.Net > 0 {
			acc(&s.Position, n.Net)
		}
	}
	if !ok {
		return ErrOverflow
	}
	slices.SortFunc(s.Nets, func(a, b Net) int { return strings.Compare(a.Participant, b.Participant) })
	for _, p := range pairs {
		switch {
		case p.Amount > 0:
			s.Owed = append(s.Owed, *p)
		case p.Amount < 0:
			s.Owed = append(s.Owed, Flow{Payer: p.Payee, Payee: p.Payer, Count: p.Count, Amount: -p.Amount})
		}
	}
	sortFlows(s.Owed)
	return nil
}

func (l *Ledger) settlementStateCmd(now time.Time, c *Command) (Result, error) {
	if c.SettlementState < SettlementPending || c.SettlementState > SettlementAborted {
		return Result{}, ErrInvalidCommand.detail("unknown settlement state %d", c.SettlementState)
	}
	s, ok := l.settlements[c.Settlement]
	if !ok {
		return Result{}, ErrSettlementNotFound
	}
	if c.SettlementState == s.State {
		r := s.clone()
		return Result{Settlement: &r, Duplicate: true}, nil
	}
	if !s.State.CanMove(c.SettlementState) {
		return Result{}, &TransitionError{From: s.State, To: c.SettlementState}
	}
	// Every step keeps its reason in the history.
	if !validReason(c.Reason) {
		return Result{}, ErrInvalidCommand.detail("reason must be valid UTF-8 of at most %d bytes", MaxReason)
	}
	var err error
	switch c.SettlementState {
	case SettlementReserved:
		if err := l.coverable(s); err != nil {
			return Result{}, err
		}
		err = l.move(s.Legs(), legReserve)
	case SettlementCommitted:
		err = l.move(s.Legs(), legCommit)
	case SettlementAborted:
		if s.State == SettlementReserved {
			err = l.move(s.Legs(), legRelease)
		}
	}
	if err != nil {
		return Result{}, err
	}
	switch c.SettlementState {
	case SettlementSettled, SettlementAborted:
		for _, id := range s.Windows {
			w := l.windows[id]
			if c.SettlementState == SettlementSettled {
				w.State = WindowSettled
			} else {
				w.State, w.Settlement = WindowClosed, 0
			}
			l.changedWindows[id] = struct{}{}
		}
	}
	s.State, s.Updated = c.SettlementState, now
	if c.SettlementState == SettlementAborted {
		s.Reason = c.Reason
	}
	s.History = append(s.History, StateChange{State: c.SettlementState, At: now, Reason: c.Reason})
	l.changedSettlements[s.ID] = struct{}{}
	r := s.clone()
	return Result{Settlement: &r}, nil
}

// coverable checks that each net debtor's collateral, less what is already
// reserved against it, covers what the settlement takes from it. Reserving
// then earmarks it, so nothing can withdraw it before the commit; without
// the check a debtor whose position later fell (by payments received in a
// newer window) could have withdrawn the collateral its older debt needs.
func (l *Ledger) coverable(s *Settlement) error {
	need := make(map[AccountKey]int64)
	var order []AccountKey
	for _, leg := range s.Legs() {
		k := leg.Credit
		if k.Type != AccountSettlement || k.Participant == HubID {
			continue
		}
		if _, ok := need[k]; !ok {
			order = append(order, k)
		}
		var ok bool
		if need[k], ok = add(need[k], leg.Amount); !ok {
			return ErrOverflow
		}
	}
	for _, k := range order {
		a := l.account(k.Participant, k.Currency, k.Type)
		avail, ok := sub(a.Balance(), a.CreditsPending)
		if !ok {
			return ErrOverflow
		}
		if avail < need[k] {
			cur, _ := money.Lookup(k.Currency)
			return ErrCollateralShort.detail("%s has %s %s of collateral not already reserved and owes %s %s; record funds in of at least %s %s and reserve again",
				k.Participant, money.Format(avail, cur), k.Currency, money.Format(need[k], cur), k.Currency,
				money.Format(need[k]-avail, cur), k.Currency)
		}
	}
	return nil
}

// MaxSettlementWindows is the most windows one settlement covers.
const MaxSettlementWindows = 1000

// TransitionError is returned for a settlement state change the lifecycle
// does not allow. It matches ErrSettlementTransition.
type TransitionError struct {
	From, To SettlementState
}

func (e *TransitionError) Error() string { return "ledger: " + e.Message() }

// Message says, for a client to read, why the settlement cannot move and
// where it can move instead.
func (e *TransitionError) Message() string {
	if e.From.Final() {
		return fmt.Sprintf("settlement is already %s; it cannot move to %s", e.From, e.To)
	}
	if e.To == SettlementAborted {
		return fmt.Sprintf("settlement is %s; it can no longer be aborted", e.From)
	}
	if !e.From.CanMove(SettlementAborted) {
		return fmt.Sprintf("settlement is %s; it can move only to %s, not %s", e.From, e.From.next(), e.To)
	}
	return fmt.Sprintf("settlement is %s; it can move only to %s (or ABORTED before it commits), not %s", e.From, e.From.next(), e.To)
}

// Is makes errors.Is(err, ErrSettlementTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrSettlementTransition }

// Position is a participant's position in one currency against its net
// debit cap.
type Position struct {
	Participant string
	Currency    string
	Balance     int64 // posted: positive when it owes
	Reserved    int64 // held by payments it has sent and not yet finished
	NDC         int64
}

// TrackPositions makes the ledger remember which positions commands change,
// for TouchedPositions.
func (l *Ledger) TrackPositions() {
	l.trackPositions = true
	l.positions = make(map[*Account]struct{})
}

// TouchedPositions returns the positions changed, or whose cap changed,
// since it was last called, each once. It returns nil unless TrackPositions
// was called.
func (l *Ledger) TouchedPositions() []Position {
	if len(l.positions) == 0 {
		return nil
	}
	keys := make([]AccountKey, 0, len(l.positions))
	for a := range l.positions {
		keys = append(keys, a.AccountKey)
	}
	clear(l.positions)
	slices.SortFunc(keys, AccountKey.Compare)
	out := make([]Position, 0, len(keys))
	for _, k := range keys {
		out = append(out, l.position(k))
	}
	return out
}

// Positions returns every participant's position in every currency it has
// enabled, by participant then currency.
func (l *Ledger) Positions() []Position {
	var keys []AccountKey
	for k := range l.accounts {
		if k.Type == AccountPosition {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, AccountKey.Compare)
	out := make([]Position, 0, len(keys))
	for _, k := range keys {
		out = append(out, l.position(k))
	}
	return out
}

func (l *Ledger) position(k AccountKey) Position {
	a := l.accounts[k]
	var ndc int64
	if p, ok := l.participants[k.Participant]; ok {
		lim, _ := p.Limit(k.Currency)
		ndc = lim.NDC
	}
	return Position{Participant: k.Participant, Currency: k.Currency, Balance: a.Balance(), Reserved: a.DebitsPending, NDC: ndc}
}
