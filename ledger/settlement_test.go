package ledger_test

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
)

// world is everything a ledger exposes, settlement included, in a
// comparable and sorted form.
type world struct {
	state
	Windows     []ledger.Window
	Settlements []ledger.Settlement
}

func worldOf(l *ledger.Ledger) world {
	return world{state: snapshot(l), Windows: l.Windows("", true), Settlements: l.Settlements()}
}

// mustRefuse applies c, checks that it fails with want and that it changed
// nothing the ledger exposes, windows and settlements included.
func mustRefuse(t *testing.T, l *ledger.Ledger, now time.Time, c ledger.Command, want error) error {
	t.Helper()
	before := worldOf(l)
	r, err := l.Apply(now, &c)
	if !errors.Is(err, want) {
		t.Fatalf("Apply(%s) = %+v, %v; want error %v", c.Op, r, err, want)
	}
	if !reflect.DeepEqual(r, ledger.Result{}) {
		t.Errorf("Apply(%s) failed but returned result %+v", c.Op, r)
	}
	if after := worldOf(l); !reflect.DeepEqual(before, after) {
		t.Errorf("failed %s changed the ledger:\nbefore %+v\nafter  %+v", c.Op, before, after)
	}
	return err
}

// settleLedger returns a ledger whose participants all have cur enabled,
// 10000 of collateral and a cap of 10000.
func settleLedger(t *testing.T, cur string, parts ...string) *ledger.Ledger {
	t.Helper()
	l := ledger.New(nil)
	for i, p := range parts {
		mustApply(t, l, t0, create(p, "FSP "+p))
		fund(t, l, 800+i, p, cur)
	}
	return l
}

// fund enables cur for p with 10000 of collateral and a cap of 10000.
func fund(t *testing.T, l *ledger.Ledger, n int, p, cur string) {
	t.Helper()
	mustApply(t, l, t0, enable(p, cur))
	mustApply(t, l, t0, fundsIn(n, p, cur, 10000))
	mustApply(t, l, t0, setNDC(p, cur, 10000))
}

func prepareIn(n int, cur, from, to string, amount int64, expiry time.Time) ledger.Command {
	c := prepare(n, from, to, amount, expiry)
	c.Currency = cur
	return c
}

// pay prepares and fulfils payment n at now and returns it committed.
func pay(t *testing.T, l *ledger.Ledger, now time.Time, n int, cur, from, to string, amount int64) ledger.Transfer {
	t.Helper()
	mustApply(t, l, now, prepareIn(n, cur, from, to, amount, now.Add(time.Minute)))
	return mustApply(t, l, now, fulfil(n)).Transfer
}

func closeCmd(cur string, window uint64) ledger.Command {
	return ledger.Command{Op: ledger.OpCloseWindow, Currency: cur, Window: window}
}

func modelCmd(cur string, m ledger.Model) ledger.Command {
	return ledger.Command{Op: ledger.OpSetModel, Currency: cur, Model: m}
}

func createCmd(windows ...uint64) ledger.Command {
	return ledger.Command{Op: ledger.OpCreateSettlement, Windows: windows}
}

func stateCmd(id uint64, s ledger.SettlementState, reason string) ledger.Command {
	return ledger.Command{Op: ledger.OpSettlementState, Settlement: id, SettlementState: s, Reason: reason}
}

func pos(p, cur string) ledger.AccountKey {
	return ledger.AccountKey{Participant: p, Currency: cur, Type: ledger.AccountPosition}
}

func set(p, cur string) ledger.AccountKey {
	return ledger.AccountKey{Participant: p, Currency: cur, Type: ledger.AccountSettlement}
}

func hub(cur string, typ ledger.AccountType) ledger.AccountKey {
	return ledger.AccountKey{Participant: ledger.HubID, Currency: cur, Type: typ}
}

func balance(t *testing.T, l *ledger.Ledger, k ledger.AccountKey) int64 {
	t.Helper()
	a := account(t, l, k.Participant, k.Currency, k.Type)
	return a.Balance()
}

// sumsToZero checks that the posted balances and the pending amounts of all
// accounts of each currency sum to zero.
func sumsToZero(t *testing.T, l *ledger.Ledger) {
	t.Helper()
	sums := map[string][2]int64{}
	for _, a := range l.Accounts() {
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
}

// at returns t0 plus s seconds.
func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func TestSettlementNames(t *testing.T) {
	for m := ledger.Model(0); m < 6; m++ {
		got, ok := ledger.ParseModel(m.String())
		if ok != m.Valid() || (ok && got != m) {
			t.Errorf("ParseModel(%q) = %v, %v; Valid() = %v", m.String(), got, ok, m.Valid())
		}
	}
	for s := ledger.WindowState(0); s < 7; s++ {
		got, ok := ledger.ParseWindowState(s.String())
		if want := s >= ledger.WindowOpen && s <= ledger.WindowSettled; ok != want || (ok && got != s) {
			t.Errorf("ParseWindowState(%q) = %v, %v", s.String(), got, ok)
		}
	}
	for s := ledger.SettlementState(0); s < 9; s++ {
		got, ok := ledger.ParseSettlementState(s.String())
		if want := s >= ledger.SettlementPending && s <= ledger.SettlementAborted; ok != want || (ok && got != s) {
			t.Errorf("ParseSettlementState(%q) = %v, %v", s.String(), got, ok)
		}
	}
	for _, tt := range []struct{ got, want string }{
		{ledger.ModelMultilateral.String(), "DEFERRED_MULTILATERAL_NET"},
		{ledger.ModelBilateral.String(), "DEFERRED_BILATERAL_NET"},
		{ledger.ModelGross.String(), "IMMEDIATE_GROSS"},
		{ledger.Model(9).String(), "Model(9)"},
		{ledger.WindowPendingSettlement.String(), "PENDING_SETTLEMENT"},
		{ledger.WindowState(0).String(), "WindowState(0)"},
		{ledger.SettlementRecorded.String(), "PS_TRANSFERS_RECORDED"},
		{ledger.SettlementState(7).String(), "SettlementState(7)"},
		{ledger.OpSetModel.String(), "SET_SETTLEMENT_MODEL"},
		{ledger.OpSettlementState.String(), "SETTLEMENT_STATE"},
	} {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
	for _, s := range []string{"", "deferred_multilateral_net", "OPEN ", "Model(1)"} {
		if _, ok := ledger.ParseModel(s); ok {
			t.Errorf("ParseModel(%q) succeeded", s)
		}
		if _, ok := ledger.ParseWindowState(s); ok {
			t.Errorf("ParseWindowState(%q) succeeded", s)
		}
		if _, ok := ledger.ParseSettlementState(s); ok {
			t.Errorf("ParseSettlementState(%q) succeeded", s)
		}
	}
}

func TestFirstWindow(t *testing.T) {
	l := ledger.New(nil)
	if _, ok := l.Model("USD"); ok {
		t.Errorf("Model(USD) found before any participant enabled it")
	}
	if w, ok := l.OpenWindow("USD"); ok {
		t.Errorf("OpenWindow(USD) = %+v before any participant enabled it", w)
	}
	mustApply(t, l, t0, create("a", "A"))
	mustApply(t, l, t0, create("b", "B"))
	mustApply(t, l, at(1), enable("a", "USD"))
	mustApply(t, l, at(2), enable("b", "USD")) // the currency already has its window
	mustApply(t, l, at(3), enable("b", "EUR"))
	want := []ledger.Window{
		{ID: 1, Currency: "USD", Model: ledger.ModelMultilateral, State: ledger.WindowOpen, Opened: at(1)},
		{ID: 2, Currency: "EUR", Model: ledger.ModelMultilateral, State: ledger.WindowOpen, Opened: at(3)},
	}
	if got := l.Windows("", true); !reflect.DeepEqual(got, want) {
		t.Errorf("Windows() = %+v\nwant %+v", got, want)
	}
	if got := l.Windows("EUR", false); !reflect.DeepEqual(got, want[1:]) {
		t.Errorf("Windows(EUR) = %+v, want %+v", got, want[1:])
	}
	if got := l.Windows("JPY", false); len(got) != 0 {
		t.Errorf("Windows(JPY) = %+v, want none", got)
	}
	if m, ok := l.Model("USD"); !ok || m != ledger.ModelMultilateral {
		t.Errorf("Model(USD) = %v, %v; want the default multilateral", m, ok)
	}
	if w, ok := l.OpenWindow("EUR"); !ok || w.ID != 2 {
		t.Errorf("OpenWindow(EUR) = %+v, %v", w, ok)
	}
	if _, ok := l.Window(3); ok {
		t.Errorf("Window(3) exists")
	}
	c := l.Changes()
	slices.SortFunc(c.Windows, func(a, b ledger.Window) int { return int(a.ID) - int(b.ID) })
	if !reflect.DeepEqual(c.Windows, want) {
		t.Errorf("Changes().Windows = %+v, want %+v", c.Windows, want)
	}
	l.Forget()
}

func TestPaymentsJoinTheOpenWindow(t *testing.T) {
	l := settleLedger(t, "USD", "a", "b", "c")
	fund(t, l, 850, "a", "EUR")
	fund(t, l, 851, "c", "EUR")
	exp := at(60)
	// Reserved payments join no window until they commit, and then the one
	// open at that moment.
	mustApply(t, l, at(1), prepareIn(1, "USD", "c", "a", 40, exp))
	mustApply(t, l, at(1), prepareIn(2, "USD", "a", "b", 7, exp))
	mustApply(t, l, at(1), prepareIn(3, "USD", "a", "b", 8, exp))
	mustApply(t, l, at(1), prepareIn(4, "EUR", "a", "c", 9, exp))
	mustApply(t, l, at(1), prepareIn(5, "USD", "b", "a", 10, exp))
	mustApply(t, l, at(1), prepareIn(6, "USD", "b", "c", 11, at(5)))
	for _, n := range []int{1, 2, 3, 4} {
		tr := mustApply(t, l, at(2), fulfil(n)).Transfer
		if want := map[string]uint64{"USD": 1, "EUR": 2}[tr.Currency]; tr.Window != want {
			t.Errorf("payment %d committed in window %d, want %d", n, tr.Window, want)
		}
	}
	mustApply(t, l, at(3), abort(5, "no"))
	mustApply(t, l, at(5), ledger.Command{Op: ledger.OpExpire, ID: tid(6)})
	for _, n := range []int{5, 6} {
		if tr, _ := l.InMemory(tid(n)); tr.Window != 0 {
			t.Errorf("payment %d is %s in window %d, want none", n, tr.State, tr.Window)
		}
	}
	// A resend of the fulfil is a duplicate that reports the window.
	if r := mustApply(t, l, at(4), fulfil(1)); !r.Duplicate || r.Transfer.Window != 1 {
		t.Errorf("resent fulfil = %+v, want a duplicate in window 1", r)
	}
	w, _ := l.OpenWindow("USD")
	want := ledger.Window{ID: 1, Currency: "USD", Model: ledger.ModelMultilateral, State: ledger.WindowOpen, Opened: t0,
		Count: 3, Amount: 55, Flows: []ledger.Flow{{"a", "b", 2, 15}, {"c", "a", 1, 40}}}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("open window = %+v\nwant %+v", w, want)
	}
	if w, _ := l.Window(2); w.Count != 1 || w.Amount != 9 || !reflect.DeepEqual(w.Flows, []ledger.Flow{{"a", "c", 1, 9}}) {
		t.Errorf("EUR window = %+v", w)
	}
	// Windows leaves the flows out unless asked.
	for _, w := range l.Windows("", false) {
		if w.Flows != nil {
			t.Errorf("Windows(\"\", false) returned window %d with flows", w.ID)
		}
	}
}

// The open window's flows are documented as sorted; they are reported so
// while the window is open too, not only once it closes.
func TestOpenWindowFlowsSorted(t *testing.T) {
	l := settleLedger(t, "USD", "a", "b", "c")
	pay(t, l, at(1), 1, "USD", "c", "b", 1)
	pay(t, l, at(1), 2, "USD", "b", "a", 1)
	pay(t, l, at(1), 3, "USD", "c", "a", 1)
	pay(t, l, at(1), 4, "USD", "a", "c", 1)
	want := []ledger.Flow{{"a", "c", 1, 1}, {"b", "a", 1, 1}, {"c", "a", 1, 1}, {"c", "b", 1, 1}}
	w, _ := l.OpenWindow("USD")
	w1, _ := l.Window(1)
	all := l.Windows("USD", true)
	c := l.Changes()
	l.Forget()
	for name, got := range map[string][]ledger.Flow{"OpenWindow": w.Flows, "Window": w1.Flows, "Windows": all[0].Flows, "Changes": c.Windows[0].Flows} {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s flows = %v, want %v", name, got, want)
		}
	}
	// Sorting a copy does not disturb the window's own index: later payments
	// still add to the right flow.
	pay(t, l, at(2), 5, "USD", "c", "b", 10)
	pay(t, l, at(2), 6, "USD", "b", "c", 100)
	w, _ = l.OpenWindow("USD")
	want = []ledger.Flow{{"a", "c", 1, 1}, {"b", "a", 1, 1}, {"b", "c", 1, 100}, {"c", "a", 1, 1}, {"c", "b", 2, 11}}
	if !reflect.DeepEqual(w.Flows, want) {
		t.Errorf("flows = %v, want %v", w.Flows, want)
	}
}

func TestCloseWindow(t *testing.T) {
	l := settleLedger(t, "USD", "a", "b", "c")
	fund(t, l, 850, "a", "EUR")
	pay(t, l, at(1), 1, "USD", "c", "b", 5)
	pay(t, l, at(1), 2, "USD", "a", "b", 6)
	pay(t, l, at(1), 3, "USD", "c", "b", 7)

	r := mustApply(t, l, at(2), closeCmd("USD", 0))
	want := ledger.Window{ID: 1, Currency: "USD", Model: ledger.ModelMultilateral, State: ledger.WindowClosed,
		Opened: t0, Closed: at(2), Count: 3, Amount: 18, Flows: []ledger.Flow{{"a", "b", 1, 6}, {"c", "b", 2, 12}}}
	if r.Window == nil || !reflect.DeepEqual(*r.Window, want) || r.Duplicate {
		t.Fatalf("close = %+v, window %+v\nwant %+v", r, r.Window, want)
	}
	if got, _ := l.Window(1); !reflect.DeepEqual(got, want) {
		t.Errorf("Window(1) = %+v, want %+v", got, want)
	}
	open, _ := l.OpenWindow("USD")
	if wantOpen := (ledger.Window{ID: 3, Currency: "USD", Model: ledger.ModelMultilateral, State: ledger.WindowOpen, Opened: at(2)}); !reflect.DeepEqual(open, wantOpen) {
		t.Errorf("next window = %+v, want %+v", open, wantOpen)
	}
	if tr := pay(t, l, at(3), 4, "USD", "a", "c", 1); tr.Window != 3 {
		t.Errorf("payment after the close joined window %d, want 3", tr.Window)
	}
	// An empty window closes too, by id.
	r = mustApply(t, l, at(4), closeCmd("EUR", 2))
	if r.Window.ID != 2 || r.Window.State != ledger.WindowClosed || r.Window.Count != 0 {
		t.Errorf("close of the empty EUR window = %+v", r.Window)
	}

	for _, tt := range []struct {
		name string
		c    ledger.Command
		want error
	}{
		{"again by id", closeCmd("USD", 1), ledger.ErrWindowNotOpen},
		{"again by id, no currency", closeCmd("", 1), ledger.ErrWindowNotOpen},
		{"unknown id", closeCmd("USD", 99), ledger.ErrWindowNotFound},
		{"id of another currency", closeCmd("EUR", 3), ledger.ErrWindowNotFound},
		{"currency not enabled", closeCmd("JPY", 0), ledger.ErrNoWindow},
		{"no currency, no id", closeCmd("", 0), ledger.ErrNoWindow},
		{"unknown currency", closeCmd("XXX", 0), ledger.ErrNoWindow},
	} {
		t.Run(tt.name, func(t *testing.T) { mustRefuse(t, l, at(5), tt.c, tt.want) })
	}
	// Two closes of the same window by id: the second fails cleanly.
	mustApply(t, l, at(6), closeCmd("USD", 3))
	mustRefuse(t, l, at(6), closeCmd("USD", 3), ledger.ErrWindowNotOpen)
	if got := len(l.Windows("", false)); got != 5 {
		t.Errorf("%d windows, want 5", got)
	}
}

func TestSetModel(t *testing.T) {
	l := settleLedger(t, "USD", "a", "b")
	t.Run("refused", func(t *testing.T) {
		mustRefuse(t, l, t0, modelCmd("USD", 0), ledger.ErrInvalidCommand)
		mustRefuse(t, l, t0, modelCmd("USD", 4), ledger.ErrInvalidCommand)
		mustRefuse(t, l, t0, modelCmd("EUR", ledger.ModelGross), ledger.ErrNoWindow)
		mustRefuse(t, l, t0, modelCmd("", ledger.ModelGross), ledger.ErrNoWindow)
	})
	// Same model: a duplicate.
	r := mustApply(t, l, at(1), modelCmd("USD", ledger.ModelMultilateral))
	if !r.Duplicate || r.Window == nil || r.Window.ID != 1 || r.Window.Model != ledger.ModelMultilateral {
		t.Errorf("same model = %+v (window %+v), want a duplicate on window 1", r, r.Window)
	}
	// An empty open window changes model in place.
	r = mustApply(t, l, at(2), modelCmd("USD", ledger.ModelBilateral))
	if r.Duplicate || r.Window.ID != 1 || r.Window.Model != ledger.ModelBilateral || r.Window.State != ledger.WindowOpen {
		t.Errorf("switch of an empty window = %+v", r.Window)
	}
	if m, _ := l.Model("USD"); m != ledger.ModelBilateral {
		t.Errorf("Model(USD) = %v, want bilateral", m)
	}
	// A window with payments closes under its model, and the next opens
	// under the new one.
	pay(t, l, at(3), 1, "USD", "a", "b", 10)
	r = mustApply(t, l, at(4), modelCmd("USD", ledger.ModelGross))
	if r.Window.ID != 2 || r.Window.Model != ledger.ModelGross || r.Window.State != ledger.WindowOpen || !r.Window.Opened.Equal(at(4)) {
		t.Errorf("switch of a window with payments: open window = %+v, want window 2, gross, opened at %v", r.Window, at(4))
	}
	if w, _ := l.Window(1); w.State != ledger.WindowClosed || w.Model != ledger.ModelBilateral || !w.Closed.Equal(at(4)) || w.Count != 1 {
		t.Errorf("window 1 after the switch = %+v, want closed, bilateral, at %v", w, at(4))
	}
	// A gross window with payments is settled when it closes.
	pay(t, l, at(5), 2, "USD", "b", "a", 3)
	mustApply(t, l, at(6), modelCmd("USD", ledger.ModelMultilateral))
	if w, _ := l.Window(2); w.State != ledger.WindowSettled || w.Settlement != 0 || w.Count != 1 {
		t.Errorf("gross window after the switch = %+v, want settled", w)
	}
	if w, _ := l.OpenWindow("USD"); w.ID != 3 || w.Model != ledger.ModelMultilateral {
		t.Errorf("open window = %+v, want 3, multilateral", w)
	}
}

// threeWay commits, in USD: a→b 100 and 50, b→c 30, a→c 50, c→a 20.
// Multilaterally a owes 180, b is owed 120 and c 60. Bilaterally a owes b
// 150 and c 30, and b owes c 30.
func threeWay(t *testing.T, l *ledger.Ledger) {
	t.Helper()
	pay(t, l, at(1), 1, "USD", "a", "b", 100)
	pay(t, l, at(1), 2, "USD", "a", "b", 50)
	pay(t, l, at(1), 3, "USD", "b", "c", 30)
	pay(t, l, at(1), 4, "USD", "a", "c", 50)
	pay(t, l, at(1), 5, "USD", "c", "a", 20)
}

var threeWayNets = []ledger.Net{
	{Participant: "a", Sent: 200, Received: 20, SentCount: 3, ReceivedCount: 1, Net: 180},
	{Participant: "b", Sent: 30, Received: 150, SentCount: 1, ReceivedCount: 2, Net: -120},
	{Participant: "c", Sent: 20, Received: 80, SentCount: 1, ReceivedCount: 2, Net: -60},
}

func TestMultilateralSettlement(t *testing.T) {
	l := settleLedger(t, "USD", "a", "b", "c")
	threeWay(t, l)
	mustApply(t, l, at(2), closeCmd("USD", 0))
	before := worldOf(l)

	r := mustApply(t, l, at(3), createCmd(1))
	want := ledger.Settlement{
		ID: 1, Currency: "USD", Model: ledger.ModelMultilateral, State: ledger.SettlementPending,
		Windows: []uint64{1}, Created: at(3), Updated: at(3), Nets: threeWayNets,
		History: []ledger.StateChange{{State: ledger.SettlementPending, At: at(3)}},
		Count:   5, Amount: 250, Position: 180,
	}
	if r.Settlement == nil || !reflect.DeepEqual(*r.Settlement, want) {
		t.Fatalf("created %+v\nwant %+v", r.Settlement, want)
	}
	if got, _ := l.Settlement(1); !reflect.DeepEqual(got, want) {
		t.Errorf("Settlement(1) = %+v, want %+v", got, want)
	}
	if w, _ := l.Window(1); w.State != ledger.WindowPendingSettlement || w.Settlement != 1 {
		t.Errorf("window 1 = %s in settlement %d, want PENDING_SETTLEMENT in 1", w.State, w.Settlement)
	}
	mls, rec := hub("USD", ledger.AccountHubMultilateral), hub("USD", ledger.AccountHubReconciliation)
	wantLegs := []ledger.Leg{
		{Debit: mls, Credit: pos("a", "USD"), Amount: 180}, {Debit: rec, Credit: set("a", "USD"), Amount: 180},
		{Debit: pos("b", "USD"), Credit: mls, Amount: 120}, {Debit: set("b", "USD"), Credit: rec, Amount: 120},
		{Debit: pos("c", "USD"), Credit: mls, Amount: 60}, {Debit: set("c", "USD"), Credit: rec, Amount: 60},
	}
	if got := r.Settlement.Legs(); !reflect.DeepEqual(got, wantLegs) {
		t.Errorf("Legs() = %+v\nwant %+v", got, wantLegs)
	}
	// Creating and recording move nothing.
	mustApply(t, l, at(4), stateCmd(1, ledger.SettlementRecorded, ""))
	if got := snapshot(l); !reflect.DeepEqual(got, before.state) {
		t.Errorf("accounts moved before the settlement was reserved")
	}

	mustApply(t, l, at(5), stateCmd(1, ledger.SettlementReserved, ""))
	for k, want := range map[ledger.AccountKey]totals{
		pos("a", "USD"): {DebitsPosted: 200, CreditsPosted: 20, CreditsPending: 180},
		pos("b", "USD"): {DebitsPosted: 30, CreditsPosted: 150, DebitsPending: 120},
		pos("c", "USD"): {DebitsPosted: 20, CreditsPosted: 80, DebitsPending: 60},
		set("a", "USD"): {DebitsPosted: 10000, CreditsPending: 180},
		set("b", "USD"): {DebitsPosted: 10000, DebitsPending: 120},
		set("c", "USD"): {DebitsPosted: 10000, DebitsPending: 60},
		mls:             {DebitsPending: 180, CreditsPending: 180},
		rec:             {CreditsPosted: 30000, DebitsPending: 180, CreditsPending: 180},
	} {
		checkAccount(t, l, k.Participant, k.Currency, k.Type, want)
	}
	sumsToZero(t, l)

	r = mustApply(t, l, at(6), stateCmd(1, ledger.SettlementCommitted, ""))
	for k, want := range map[ledger.AccountKey]totals{
		pos("a", "USD"): {DebitsPosted: 200, CreditsPosted: 200},
		pos("b", "USD"): {DebitsPosted: 150, CreditsPosted: 150},
		pos("c", "USD"): {DebitsPosted: 80, CreditsPosted: 80},
		set("a", "USD"): {DebitsPosted: 10000, CreditsPosted: 180},
		set("b", "USD"): {DebitsPosted: 10120},
		set("c", "USD"): {DebitsPosted: 10060},
		mls:             {DebitsPosted: 180, CreditsPosted: 180},
		rec:             {DebitsPosted: 180, CreditsPosted: 30180},
	} {
		checkAccount(t, l, k.Participant, k.Currency, k.Type, want)
	}
	sumsToZero(t, l)
	if w, _ := l.Window(1); w.State != ledger.WindowPendingSettlement {
		t.Errorf("window 1 is %s once committed, want PENDING_SETTLEMENT until settled", w.State)
	}
	r = mustApply(t, l, at(7), stateCmd(1, ledger.SettlementSettled, ""))
	if w, _ := l.Window(1); w.State != ledger.WindowSettled || w.Settlement != 1 {
		t.Errorf("window 1 = %s in %d once settled", w.State, w.Settlement)
	}
	wantHist := []ledger.StateChange{
		{State: ledger.SettlementPending, At: at(3)}, {State: ledger.SettlementRecorded, At: at(4)},
		{State: ledger.SettlementReserved, At: at(5)}, {State: ledger.SettlementCommitted, At: at(6)},
		{State: ledger.SettlementSettled, At: at(7)},
	}
	if s := r.Settlement; s.State != ledger.SettlementSettled || !s.Updated.Equal(at(7)) || !reflect.DeepEqual(s.History, wantHist) {
		t.Errorf("settled = %+v, want history %+v", s, wantHist)
	}
}

func TestBilateralSettlement(t *testing.T) {
	l := settleLedger(t, "USD", "a", "b", "c")
	mustApply(t, l, t0, modelCmd("USD", ledger.ModelBilateral))
	threeWay(t, l)
	mustApply(t, l, at(2), closeCmd("USD", 0))
	r := mustApply(t, l, at(3), ledger.Command{Op: ledger.OpCreateSettlement, Currency: "USD", Windows: []uint64{1}})
	s := r.Settlement
	wantOwed := []ledger.Flow{{"a", "b", 2, 150}, {"a", "c", 2, 30}, {"b", "c", 1, 30}}
	if s.Model != ledger.ModelBilateral || !reflect.DeepEqual(s.Nets, threeWayNets) || !reflect.DeepEqual(s.Owed, wantOwed) || s.Position != 180 {
		t.Fatalf("bilateral settlement = %+v\nwant nets %+v, owed %+v", s, threeWayNets, wantOwed)
	}
	wantLegs := []ledger.Leg{
		{Debit: pos("b", "USD"), Credit: pos("a", "USD"), Amount: 150}, {Debit: set("b", "USD"), Credit: set("a", "USD"), Amount: 150},
		{Debit: pos("c", "USD"), Credit: pos("a", "USD"), Amount: 30}, {Debit: set("c", "USD"), Credit: set("a", "USD"), Amount: 30},
		{Debit: pos("c", "USD"), Credit: pos("b", "USD"), Amount: 30}, {Debit: set("c", "USD"), Credit: set("b", "USD"), Amount: 30},
	}
	if got := s.Legs(); !reflect.DeepEqual(got, wantLegs) {
		t.Errorf("Legs() = %+v\nwant %+v", got, wantLegs)
	}
	for _, st := range []ledger.SettlementState{ledger.SettlementRecorded, ledger.SettlementReserved, ledger.SettlementCommitted, ledger.SettlementSettled} {
		mustApply(t, l, at(4), stateCmd(1, st, ""))
	}
	for k, want := range map[ledger.AccountKey]int64{
		pos("a", "USD"): 0, pos("b", "USD"): 0, pos("c", "USD"): 0,
		set("a", "USD"): 9820, set("b", "USD"): 10120, set("c", "USD"): 10060,
		hub("USD", ledger.AccountHubMultilateral): 0, hub("USD", ledger.AccountHubReconciliation): -30000,
	} {
		if got := balance(t, l, k); got != want {
			t.Errorf("%s = %d, want %d", k, got, want)
		}
	}
	checkAccount(t, l, ledger.HubID, "USD", ledger.AccountHubMultilateral, totals{})
	sumsToZero(t, l)
}

// A pair whose payments cancel out owes nothing, but its payments still
// count.
func TestBilateralPairThatNets(t *testing.T) {
	l := settleLedger(t, "USD", "a", "b")
	mustApply(t, l, t0, modelCmd("USD", ledger.ModelBilateral))
	pay(t, l, at(1), 1, "USD", "a", "b", 40)
	pay(t, l, at(1), 2, "USD", "b", "a", 40)
	mustApply(t, l, at(2), closeCmd("USD", 0))
	s := mustApply(t, l, at(3), createCmd(1)).Settlement
	if len(s.Owed) != 0 || len(s.Legs()) != 0 || s.Count != 2 || s.Amount != 80 || s.Position != 0 {
		t.Errorf("settlement of a pair that nets to zero = %+v", s)
	}
}

func TestGrossSettlement(t *testing.T) {
	l := ledger.New(nil)
	for _, p := range []string{"a", "b"} {
		mustApply(t, l, t0, create(p, p))
		mustApply(t, l, t0, enable(p, "USD"))
		mustApply(t, l, t0, setNDC(p, "USD", 300))
	}
	mustApply(t, l, t0, fundsIn(1, "a", "USD", 500))
	mustApply(t, l, t0, modelCmd("USD", ledger.ModelGross))
	exp := at(60)

	// The cap still bounds what a payer has in flight...
	mustRefuse(t, l, at(1), prepareIn(2, "USD", "a", "b", 301, exp), ledger.ErrNDCExceeded)
	// ...and payments settle against the payer's collateral at once: the
	// positions do not move.
	pay(t, l, at(2), 3, "USD", "a", "b", 300)
	checkAccount(t, l, "a", "USD", ledger.AccountPosition, totals{DebitsPosted: 300, CreditsPosted: 300})
	checkAccount(t, l, "b", "USD", ledger.AccountPosition, totals{DebitsPosted: 300, CreditsPosted: 300})
	checkAccount(t, l, "a", "USD", ledger.AccountSettlement, totals{DebitsPosted: 500, CreditsPosted: 300})
	checkAccount(t, l, "b", "USD", ledger.AccountSettlement, totals{DebitsPosted: 300})
	sumsToZero(t, l)
	// 250 is within the cap (the position is back at 0) but beyond the 200
	// of collateral left.
	mustRefuse(t, l, at(3), prepareIn(4, "USD", "a", "b", 250, exp), ledger.ErrInsufficientLiquidity)
	// A reservation holds collateral until it finishes.
	mustApply(t, l, at(3), prepareIn(5, "USD", "a", "b", 200, exp))
	mustRefuse(t, l, at(3), prepareIn(6, "USD", "a", "b", 1, exp), ledger.ErrInsufficientLiquidity)
	mustApply(t, l, at(4), abort(5, "changed my mind"))
	// b pays with the collateral it received.
	pay(t, l, at(5), 7, "USD", "b", "a", 300)
	mustRefuse(t, l, at(5), prepareIn(8, "USD", "b", "a", 1, exp), ledger.ErrInsufficientLiquidity)
	for k, want := range map[ledger.AccountKey]int64{pos("a", "USD"): 0, pos("b", "USD"): 0, set("a", "USD"): 500, set("b", "USD"): 0} {
		if got := balance(t, l, k); got != want {
			t.Errorf("%s = %d, want %d", k, got, want)
		}
	}
	sumsToZero(t, l)

	w := mustApply(t, l, at(6), closeCmd("USD", 0)).Window
	want := ledger.Window{ID: 1, Currency: "USD", Model: ledger.ModelGross, State: ledger.WindowSettled, Opened: t0, Closed: at(6),
		Count: 2, Amount: 600, Flows: []ledger.Flow{{"a", "b", 1, 300}, {"b", "a", 1, 300}}}
	if !reflect.DeepEqual(*w, want) {
		t.Errorf("closed gross window = %+v\nwant %+v", *w, want)
	}
	mustRefuse(t, l, at(7), createCmd(1), ledger.ErrGrossWindow)
	mustRefuse(t, l, at(7), createCmd(2), ledger.ErrGrossWindow) // the open one
	if next, _ := l.OpenWindow("USD"); next.Model != ledger.ModelGross {
		t.Errorf("next window is %v, want gross", next.Model)
	}
}

// Payments reserved under one model and committed under another settle
// under the model of the window they join.
func TestModelAtCommitDecides(t *testing.T) {
	l := settleLedger(t, "USD", "a", "b")
	mustApply(t, l, at(1), prepareIn(1, "USD", "a", "b", 100, at(60)))
	mustApply(t, l, at(2), modelCmd("USD", ledger.ModelGross)) // window 1 is empty: it turns gross
	if tr := mustApply(t, l, at(3), fulfil(1)).Transfer; tr.Window != 1 {
		t.Errorf("payment joined window %d, want 1", tr.Window)
	}
	if got := balance(t, l, pos("a", "USD")); got != 0 {
		t.Errorf("payer position after a gross commit = %d, want 0", got)
	}
	if got := balance(t, l, set("a", "USD")); got != 9900 {
		t.Errorf("payer collateral after a gross commit = %d, want 9900", got)
	}
	mustApply(t, l, at(4), prepareIn(2, "USD", "a", "b", 40, at(60)))
	mustApply(t, l, at(5), modelCmd("USD", ledger.ModelMultilateral)) // closes gross window 1
	if tr := mustApply(t, l, at(6), fulfil(2)).Transfer; tr.Window != 2 {
		t.Errorf("payment joined window %d, want 2", tr.Window)
	}
	if got := balance(t, l, pos("a", "USD")); got != 40 {
		t.Errorf("payer position after a net commit = %d, want 40", got)
	}
	if got := balance(t, l, set("a", "USD")); got != 9900 {
		t.Errorf("payer collateral after a net commit = %d, want 9900", got)
	}
}

func TestCreateSettlementRefused(t *testing.T) {
	l := settleLedger(t, "USD", "a", "b")      // USD window 1
	fund(t, l, 850, "a", "EUR")                // EUR window 2
	fund(t, l, 851, "b", "EUR")                //
	pay(t, l, at(1), 1, "USD", "a", "b", 10)   //
	mustApply(t, l, at(1), closeCmd("USD", 0)) // 1 closed, 3 open
	pay(t, l, at(2), 2, "USD", "b", "a", 20)   //
	mustApply(t, l, at(2), closeCmd("USD", 0)) // 3 closed, 4 open
	mustApply(t, l, at(3), closeCmd("USD", 0)) // 4 closed empty, 5 open
	mustApply(t, l, at(4), modelCmd("USD", ledger.ModelBilateral))
	pay(t, l, at(4), 3, "USD", "a", "b", 30)
	mustApply(t, l, at(4), closeCmd("USD", 0)) // 5 closed bilateral, 6 open
	mustApply(t, l, at(5), modelCmd("USD", ledger.ModelGross))
	pay(t, l, at(5), 4, "USD", "a", "b", 40)
	mustApply(t, l, at(5), closeCmd("USD", 0)) // 6 settled gross, 7 open gross
	pay(t, l, at(6), 5, "EUR", "a", "b", 50)
	mustApply(t, l, at(6), closeCmd("EUR", 0)) // 2 closed, 8 open
	mustApply(t, l, at(7), createCmd(4))       // settlement 1 covers 4

	many := make([]uint64, ledger.MaxSettlementWindows+1)
	for i := range many {
		many[i] = uint64(i + 1)
	}
	for _, tt := range []struct {
		name     string
		currency string
		windows  []uint64
		want     error
	}{
		{"no windows", "", nil, ledger.ErrInvalidCommand},
		{"empty list", "", []uint64{}, ledger.ErrInvalidCommand},
		{"too many windows", "", many, ledger.ErrInvalidCommand},
		{"window named twice", "", []uint64{1, 3, 1}, ledger.ErrInvalidCommand},
		{"unknown window", "", []uint64{99}, ledger.ErrWindowNotFound},
		{"window zero", "", []uint64{0}, ledger.ErrWindowNotFound},
		{"one unknown among good ones", "", []uint64{1, 99, 3}, ledger.ErrWindowNotFound},
		{"two currencies", "", []uint64{1, 2}, ledger.ErrMixedWindows},
		{"two models", "", []uint64{3, 5}, ledger.ErrMixedWindows},
		{"gross and settled", "", []uint64{6}, ledger.ErrGrossWindow},
		{"gross and open", "", []uint64{7}, ledger.ErrGrossWindow},
		{"gross among net", "", []uint64{1, 6}, ledger.ErrGrossWindow},
		{"open", "", []uint64{8}, ledger.ErrWindowNotClosed},
		{"closed and open", "", []uint64{2, 8}, ledger.ErrWindowNotClosed},
		{"in a live settlement", "", []uint64{4}, ledger.ErrWindowNotClosed},
		{"one in a live settlement", "", []uint64{1, 3, 4}, ledger.ErrWindowNotClosed},
		{"currency other than the windows'", "EUR", []uint64{1}, ledger.ErrMixedWindows},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mustRefuse(t, l, at(8), ledger.Command{Op: ledger.OpCreateSettlement, Currency: tt.currency, Windows: tt.windows}, tt.want)
		})
	}
	// The ids the caller gives in any order are kept sorted, and the next
	// settlement id follows on even after refusals.
	s := mustApply(t, l, at(9), ledger.Command{Op: ledger.OpCreateSettlement, Currency: "USD", Windows: []uint64{3, 1}}).Settlement
	if s.ID != 2 || !slices.Equal(s.Windows, []uint64{1, 3}) || s.Count != 2 || s.Amount != 30 {
		t.Errorf("settlement = %+v, want id 2 over windows [1 3], 2 payments of 30", s)
	}
	// A bilateral window settles on its own.
	if s := mustApply(t, l, at(9), createCmd(5)).Settlement; s.Model != ledger.ModelBilateral || s.ID != 3 {
		t.Errorf("settlement of window 5 = %+v", s)
	}
	if s := mustApply(t, l, at(9), createCmd(2)).Settlement; s.Currency != "EUR" || s.ID != 4 {
		t.Errorf("settlement of window 2 = %+v", s)
	}
}

// settlementAt returns a ledger with the threeWay payments in closed window
// 1 and settlement 1 over it, moved to state s.
func settlementAt(t *testing.T, s ledger.SettlementState) *ledger.Ledger {
	t.Helper()
	l := settleLedger(t, "USD", "a", "b", "c")
	threeWay(t, l)
	mustApply(t, l, at(2), closeCmd("USD", 0))
	mustApply(t, l, at(3), createCmd(1))
	path := map[ledger.SettlementState][]ledger.SettlementState{
		ledger.SettlementPending:   nil,
		ledger.SettlementRecorded:  {ledger.SettlementRecorded},
		ledger.SettlementReserved:  {ledger.SettlementRecorded, ledger.SettlementReserved},
		ledger.SettlementCommitted: {ledger.SettlementRecorded, ledger.SettlementReserved, ledger.SettlementCommitted},
		ledger.SettlementSettled:   {ledger.SettlementRecorded, ledger.SettlementReserved, ledger.SettlementCommitted, ledger.SettlementSettled},
		ledger.SettlementAborted:   {ledger.SettlementAborted},
	}[s]
	for i, st := range path {
		mustApply(t, l, at(4+i), stateCmd(1, st, "step"))
	}
	return l
}

func TestSettlementTransitions(t *testing.T) {
	const (
		P  = ledger.SettlementPending
		R  = ledger.SettlementRecorded
		Rs = ledger.SettlementReserved
		C  = ledger.SettlementCommitted
		S  = ledger.SettlementSettled
		A  = ledger.SettlementAborted
	)
	allowed := map[[2]ledger.SettlementState]bool{
		{P, R}: true, {R, Rs}: true, {Rs, C}: true, {C, S}: true,
		{P, A}: true, {R, A}: true, {Rs, A}: true,
	}
	messages := map[[2]ledger.SettlementState]string{
		{P, C}:  "ledger: settlement is PENDING_SETTLEMENT; it can move only to PS_TRANSFERS_RECORDED (or ABORTED before it commits), not PS_TRANSFERS_COMMITTED",
		{P, S}:  "ledger: settlement is PENDING_SETTLEMENT; it can move only to PS_TRANSFERS_RECORDED (or ABORTED before it commits), not SETTLED",
		{R, P}:  "ledger: settlement is PS_TRANSFERS_RECORDED; it can move only to PS_TRANSFERS_RESERVED (or ABORTED before it commits), not PENDING_SETTLEMENT",
		{Rs, R}: "ledger: settlement is PS_TRANSFERS_RESERVED; it can move only to PS_TRANSFERS_COMMITTED (or ABORTED before it commits), not PS_TRANSFERS_RECORDED",
		{C, A}:  "ledger: settlement is PS_TRANSFERS_COMMITTED; it can no longer be aborted",
		{C, Rs}: "ledger: settlement is PS_TRANSFERS_COMMITTED; it can move only to SETTLED, not PS_TRANSFERS_RESERVED",
		{S, A}:  "ledger: settlement is already SETTLED; it cannot move to ABORTED",
		{S, P}:  "ledger: settlement is already SETTLED; it cannot move to PENDING_SETTLEMENT",
		{A, R}:  "ledger: settlement is already ABORTED; it cannot move to PS_TRANSFERS_RECORDED",
		{A, P}:  "ledger: settlement is already ABORTED; it cannot move to PENDING_SETTLEMENT",
	}
	for from := P; from <= A; from++ {
		for to := ledger.SettlementState(0); to <= A+1; to++ {
			t.Run(from.String()+"→"+to.String(), func(t *testing.T) {
				l := settlementAt(t, from)
				before, _ := l.Settlement(1)
				if got := from.CanMove(to); got != allowed[[2]ledger.SettlementState{from, to}] {
					t.Errorf("CanMove = %v", got)
				}
				switch {
				case to < P || to > A:
					mustRefuse(t, l, at(20), stateCmd(1, to, ""), ledger.ErrInvalidCommand)
				case to == from:
					r := mustApply(t, l, at(20), stateCmd(1, to, "again"))
					if !r.Duplicate || !reflect.DeepEqual(*r.Settlement, before) {
						t.Errorf("same state again = %+v, want a duplicate of %+v", r.Settlement, before)
					}
				case allowed[[2]ledger.SettlementState{from, to}]:
					r := mustApply(t, l, at(20), stateCmd(1, to, "why"))
					want := before
					want.State, want.Updated = to, at(20)
					want.History = append(slices.Clone(before.History), ledger.StateChange{State: to, At: at(20), Reason: "why"})
					if to == A {
						want.Reason = "why"
					}
					if r.Duplicate || !reflect.DeepEqual(*r.Settlement, want) {
						t.Errorf("moved to %+v\nwant %+v", r.Settlement, want)
					}
				default:
					err := mustRefuse(t, l, at(20), stateCmd(1, to, ""), ledger.ErrSettlementTransition)
					var te *ledger.TransitionError
					if !errors.As(err, &te) || te.From != from || te.To != to {
						t.Errorf("error %#v, want a *TransitionError from %s to %s", err, from, to)
					}
					if want, ok := messages[[2]ledger.SettlementState{from, to}]; ok && err.Error() != want {
						t.Errorf("message %q\nwant    %q", err.Error(), want)
					}
					if !strings.Contains(err.Error(), from.String()) || !strings.Contains(err.Error(), to.String()) && to != A {
						t.Errorf("message %q does not name both states", err.Error())
					}
				}
			})
		}
	}
}

func TestSettlementStateRefused(t *testing.T) {
	l := settlementAt(t, ledger.SettlementRecorded)
	for _, tt := range []struct {
		name string
		c    ledger.Command
		want error
	}{
		{"settlement 0", stateCmd(0, ledger.SettlementReserved, ""), ledger.ErrSettlementNotFound},
		{"unknown settlement", stateCmd(2, ledger.SettlementReserved, ""), ledger.ErrSettlementNotFound},
		{"abort reason too long", stateCmd(1, ledger.SettlementAborted, strings.Repeat("r", ledger.MaxReason+1)), ledger.ErrInvalidCommand},
		{"abort reason not UTF-8", stateCmd(1, ledger.SettlementAborted, "bad \xff"), ledger.ErrInvalidCommand},
		// Every step keeps its reason in the history, so every step checks it.
		{"step reason too long", stateCmd(1, ledger.SettlementReserved, strings.Repeat("r", ledger.MaxReason+1)), ledger.ErrInvalidCommand},
		{"step reason not UTF-8", stateCmd(1, ledger.SettlementReserved, "\xc3"), ledger.ErrInvalidCommand},
	} {
		t.Run(tt.name, func(t *testing.T) { mustRefuse(t, l, at(20), tt.c, tt.want) })
	}
	long := strings.Repeat("é", ledger.MaxReason/2)
	s := mustApply(t, l, at(21), stateCmd(1, ledger.SettlementAborted, long)).Settlement
	if s.Reason != long || s.History[len(s.History)-1].Reason != long {
		t.Errorf("abort with a reason of %d bytes kept %q", len(long), s.Reason)
	}
}

// An aborted settlement leaves every account as it was before the
// settlement was created, and frees its windows for another settlement.
func TestAbortRestores(t *testing.T) {
	for _, from := range []ledger.SettlementState{ledger.SettlementPending, ledger.SettlementRecorded, ledger.SettlementReserved} {
		for _, m := range []ledger.Model{ledger.ModelMultilateral, ledger.ModelBilateral} {
			t.Run(from.String()+" "+m.String(), func(t *testing.T) {
				l := settleLedger(t, "USD", "a", "b", "c")
				mustApply(t, l, t0, modelCmd("USD", m))
				threeWay(t, l)
				mustApply(t, l, at(2), closeCmd("USD", 0))
				before := worldOf(l)
				s1 := mustApply(t, l, at(3), createCmd(1)).Settlement
				for st := ledger.SettlementRecorded; st <= from; st++ {
					mustApply(t, l, at(4), stateCmd(1, st, ""))
				}
				mustApply(t, l, at(5), stateCmd(1, ledger.SettlementAborted, "bank holiday"))
				after := worldOf(l)
				if !reflect.DeepEqual(after.state, before.state) {
					t.Errorf("abort from %s left accounts\n%+v\nwant %+v", from, after.Accounts, before.Accounts)
				}
				if !reflect.DeepEqual(after.Windows, before.Windows) {
					t.Errorf("abort from %s left windows %+v, want %+v", from, after.Windows, before.Windows)
				}
				s, _ := l.Settlement(1)
				if s.State != ledger.SettlementAborted || s.Reason != "bank holiday" || !reflect.DeepEqual(s.Nets, s1.Nets) {
					t.Errorf("aborted settlement = %+v", s)
				}
				// The window is settled again, from the start.
				s2 := mustApply(t, l, at(6), createCmd(1)).Settlement
				if s2.ID != 2 || !reflect.DeepEqual(s2.Nets, s1.Nets) || !reflect.DeepEqual(s2.Owed, s1.Owed) {
					t.Errorf("second settlement of window 1 = %+v, want id 2 with the first's nets", s2)
				}
				for st := ledger.SettlementRecorded; st <= ledger.SettlementSettled; st++ {
					mustApply(t, l, at(7), stateCmd(2, st, ""))
				}
				for _, p := range []string{"a", "b", "c"} {
					if got := balance(t, l, pos(p, "USD")); got != 0 {
						t.Errorf("%s's position after the second settlement = %d, want 0", p, got)
					}
				}
				if got := balance(t, l, set("a", "USD")); got != 9820 {
					t.Errorf("a's collateral = %d, want 9820: the aborted settlement must not count", got)
				}
				if w, _ := l.Window(1); w.State != ledger.WindowSettled || w.Settlement != 2 {
					t.Errorf("window 1 = %s in %d, want SETTLED in 2", w.State, w.Settlement)
				}
				// The aborted one stays aborted.
				mustRefuse(t, l, at(8), stateCmd(1, ledger.SettlementRecorded, ""), ledger.ErrSettlementTransition)
			})
		}
	}
}

// A window belongs to at most one settlement that is not aborted.
func TestWindowInOneLiveSettlement(t *testing.T) {
	l := settleLedger(t, "USD", "a", "b")
	pay(t, l, at(1), 1, "USD", "a", "b", 10)
	mustApply(t, l, at(1), closeCmd("USD", 0))
	pay(t, l, at(2), 2, "USD", "a", "b", 20)
	mustApply(t, l, at(2), closeCmd("USD", 0))
	mustApply(t, l, at(3), createCmd(1))
	for st := ledger.SettlementPending; st <= ledger.SettlementSettled; st++ {
		if st != ledger.SettlementPending {
			mustApply(t, l, at(4), stateCmd(1, st, ""))
		}
		mustRefuse(t, l, at(5), createCmd(1), ledger.ErrWindowNotClosed)
		mustRefuse(t, l, at(5), createCmd(2, 1), ledger.ErrWindowNotClosed)
	}
	if s := mustApply(t, l, at(6), createCmd(2)).Settlement; s.ID != 2 || s.Amount != 20 {
		t.Errorf("settlement of window 2 = %+v", s)
	}
}

// Two currencies settle independently.
func TestSettlementPerCurrency(t *testing.T) {
	l := settleLedger(t, "USD", "a", "b")
	fund(t, l, 850, "a", "EUR")
	fund(t, l, 851, "b", "EUR")
	mustApply(t, l, t0, modelCmd("EUR", ledger.ModelBilateral))
	pay(t, l, at(1), 1, "USD", "a", "b", 10)
	pay(t, l, at(1), 2, "EUR", "b", "a", 7)
	mustApply(t, l, at(2), closeCmd("USD", 0))
	mustApply(t, l, at(2), closeCmd("EUR", 0))
	if m, _ := l.Model("USD"); m != ledger.ModelMultilateral {
		t.Errorf("USD model %v changed with EUR's", m)
	}
	for _, id := range []uint64{1, 2} {
		mustApply(t, l, at(3), createCmd(id))
	}
	for st := ledger.SettlementRecorded; st <= ledger.SettlementCommitted; st++ {
		mustApply(t, l, at(4), stateCmd(2, st, ""))
	}
	// EUR settled; USD untouched.
	for k, want := range map[ledger.AccountKey]int64{
		pos("a", "EUR"): 0, pos("b", "EUR"): 0, set("a", "EUR"): 10007, set("b", "EUR"): 9993,
		pos("a", "USD"): 10, pos("b", "USD"): -10, set("a", "USD"): 10000, set("b", "USD"): 10000,
	} {
		if got := balance(t, l, k); got != want {
			t.Errorf("%s = %d, want %d", k, got, want)
		}
	}
	sumsToZero(t, l)
}

func TestTouchedPositions(t *testing.T) {
	l := settleLedger(t, "USD", "a", "b", "c")
	mustApply(t, l, at(1), prepareIn(1, "USD", "a", "b", 100, at(60)))
	if got := l.TouchedPositions(); got != nil {
		t.Errorf("TouchedPositions() = %+v without TrackPositions, want nil", got)
	}
	l.TrackPositions()
	if got := l.TouchedPositions(); got != nil {
		t.Errorf("TouchedPositions() = %+v before any command, want nil", got)
	}
	p := func(id string, bal, res, ndc int64) ledger.Position {
		return ledger.Position{Participant: id, Currency: "USD", Balance: bal, Reserved: res, NDC: ndc}
	}
	steps := []struct {
		name string
		cmds []ledger.Command
		want []ledger.Position
	}{
		{"fulfil, prepare, prepare: each position once",
			[]ledger.Command{fulfil(1), prepareIn(2, "USD", "a", "b", 30, at(60)), prepareIn(3, "USD", "b", "a", 5, at(60))},
			[]ledger.Position{p("a", 100, 30, 10000), p("b", -100, 5, 10000)}},
		{"refused commands touch nothing",
			[]ledger.Command{prepareIn(4, "USD", "a", "b", 1<<40, at(60)), fulfil(99), closeCmd("JPY", 0), createCmd(7)},
			nil},
		{"a cap change reports the position",
			[]ledger.Command{setNDC("c", "USD", 77)},
			[]ledger.Position{p("c", 0, 0, 77)}},
		{"the same cap again is no change",
			[]ledger.Command{setNDC("c", "USD", 77)},
			nil},
		{"settlement windows move no position",
			[]ledger.Command{abort(2, ""), fulfil(3), closeCmd("USD", 0), createCmd(1), stateCmd(1, ledger.SettlementRecorded, "")},
			[]ledger.Position{p("a", 95, 0, 10000), p("b", -95, 0, 10000)}},
		{"reserving holds the creditor's position",
			[]ledger.Command{stateCmd(1, ledger.SettlementReserved, "")},
			[]ledger.Position{p("a", 95, 0, 10000), p("b", -95, 95, 10000)}},
		{"committing resets them",
			[]ledger.Command{stateCmd(1, ledger.SettlementCommitted, ""), stateCmd(1, ledger.SettlementSettled, "")},
			[]ledger.Position{p("a", 0, 0, 10000), p("b", 0, 0, 10000)}},
		{"gross payments touch both positions",
			[]ledger.Command{modelCmd("USD", ledger.ModelGross), setNDC("c", "USD", 100), prepareIn(5, "USD", "c", "a", 50, at(60)), fulfil(5)},
			[]ledger.Position{p("a", 0, 0, 10000), p("c", 0, 0, 100)}},
		{"nothing", nil, nil},
	}
	for _, st := range steps {
		for _, c := range st.cmds {
			if _, err := l.Apply(at(2), &c); (err != nil) != strings.HasPrefix(st.name, "refused") {
				t.Fatalf("%s: %s: %v", st.name, c.Op, err)
			}
		}
		if got := l.TouchedPositions(); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: TouchedPositions() = %+v\nwant %+v", st.name, got, st.want)
		}
	}
}

func TestChangesListSettlement(t *testing.T) {
	l := settleLedger(t, "USD", "a", "b")
	l.Changes()
	l.Forget()
	pay(t, l, at(1), 1, "USD", "a", "b", 10)
	mustApply(t, l, at(2), closeCmd("USD", 0))
	mustApply(t, l, at(3), createCmd(1))
	c := l.Changes()
	l.Forget()
	ids := func(ws []ledger.Window) []uint64 {
		var out []uint64
		for _, w := range ws {
			out = append(out, w.ID)
		}
		slices.Sort(out)
		return out
	}
	if got := ids(c.Windows); !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("changed windows %v, want [1 2]", got)
	}
	for _, w := range c.Windows {
		if got, _ := l.Window(w.ID); !reflect.DeepEqual(got, w) {
			t.Errorf("changed window %+v differs from Window() %+v", w, got)
		}
	}
	if len(c.Settlements) != 1 || c.Settlements[0].ID != 1 {
		t.Errorf("changed settlements %+v, want settlement 1", c.Settlements)
	}
	// A duplicate changes nothing.
	mustApply(t, l, at(4), stateCmd(1, ledger.SettlementPending, ""))
	mustApply(t, l, at(4), modelCmd("USD", ledger.ModelMultilateral))
	if c := l.Changes(); len(c.Windows)+len(c.Settlements)+len(c.Accounts) != 0 {
		t.Errorf("Changes after duplicates = %+v, want none", c)
	}
	l.Forget()
	mustApply(t, l, at(5), stateCmd(1, ledger.SettlementAborted, "x"))
	c = l.Changes()
	l.Forget()
	if got := ids(c.Windows); !slices.Equal(got, []uint64{1}) || len(c.Settlements) != 1 || c.Settlements[0].State != ledger.SettlementAborted {
		t.Errorf("changes of an abort: windows %v, settlements %+v", got, c.Settlements)
	}
}

func TestRestoreSettlementRefused(t *testing.T) {
	open := func(id uint64, cur string) ledger.Window {
		return ledger.Window{ID: id, Currency: cur, Model: ledger.ModelMultilateral, State: ledger.WindowOpen, Opened: t0}
	}
	src := settleLedger(t, "USD", "a", "b")
	for _, tt := range []struct {
		name        string
		windows     []ledger.Window
		settlements []ledger.Settlement
	}{
		{"no window for an enabled currency", nil, nil},
		{"no open window", []ledger.Window{{ID: 1, Currency: "USD", Model: ledger.ModelMultilateral, State: ledger.WindowClosed}}, nil},
		{"window id zero", []ledger.Window{open(0, "USD")}, nil},
		{"window id repeated", []ledger.Window{open(1, "USD"), open(1, "EUR")}, nil},
		{"two open windows", []ledger.Window{open(1, "USD"), open(2, "USD")}, nil},
		{"settlement id zero", []ledger.Window{open(1, "USD")}, []ledger.Settlement{{ID: 0}}},
		{"settlement id repeated", []ledger.Window{open(1, "USD")}, []ledger.Settlement{{ID: 1}, {ID: 1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := ledger.New(nil)
			if err := l.Restore(src.Participants(), src.Accounts(), src.Pending()); err != nil {
				t.Fatal(err)
			}
			if err := l.RestoreSettlement(tt.windows, tt.settlements); err == nil {
				t.Errorf("RestoreSettlement succeeded")
			}
		})
	}
	if err := src.RestoreSettlement(nil, nil); err == nil {
		t.Errorf("RestoreSettlement into a ledger with windows succeeded")
	}
}

// A ledger restored from what Changes handed out behaves as the original:
// same windows, settlements and next ids.
func TestRestoreSettlement(t *testing.T) {
	final := &finalMap{m: map[ledger.ID]ledger.Transfer{}}
	saved := newSavedState()
	l := ledger.New(final)
	step := 0
	apply := func(ls []*ledger.Ledger, c ledger.Command) {
		t.Helper()
		step++
		var first ledger.Result
		for i, l := range ls {
			r, err := l.Apply(at(step), &c)
			if err != nil {
				t.Fatalf("ledger %d: %s: %v", i, c.Op, err)
			}
			if i == 0 {
				first = r
			} else if !reflect.DeepEqual(r, first) {
				t.Errorf("%s: restored ledger returned %+v\noriginal %+v", c.Op, r, first)
			}
		}
	}
	flush := func() {
		c := l.Changes()
		saved.add(&c, final)
		l.Forget()
	}
	for i, p := range []string{"a", "b", "c"} {
		apply([]*ledger.Ledger{l}, create(p, p))
		apply([]*ledger.Ledger{l}, enable(p, "USD"))
		apply([]*ledger.Ledger{l}, fundsIn(100+i, p, "USD", 5000))
		apply([]*ledger.Ledger{l}, setNDC(p, "USD", 5000))
	}
	flush()
	threeWay(t, l)
	apply([]*ledger.Ledger{l}, closeCmd("USD", 0))
	apply([]*ledger.Ledger{l}, createCmd(1))
	apply([]*ledger.Ledger{l}, stateCmd(1, ledger.SettlementRecorded, ""))
	apply([]*ledger.Ledger{l}, stateCmd(1, ledger.SettlementReserved, ""))
	flush()
	apply([]*ledger.Ledger{l}, prepareIn(10, "USD", "b", "a", 70, at(100)))
	pay(t, l, at(5), 11, "USD", "c", "b", 3)
	apply([]*ledger.Ledger{l}, modelCmd("USD", ledger.ModelBilateral))
	flush()

	r := saved.restore(t, final)
	if got, want := worldOf(r), worldOf(l); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored %+v\nwant %+v", got, want)
	}
	both := []*ledger.Ledger{l, r}
	apply(both, fulfil(10))
	apply(both, fulfil(11)) // a duplicate, found in the store
	apply(both, closeCmd("USD", 0))
	apply(both, createCmd(3))
	apply(both, stateCmd(1, ledger.SettlementCommitted, ""))
	apply(both, stateCmd(2, ledger.SettlementRecorded, ""))
	apply(both, stateCmd(2, ledger.SettlementAborted, "no"))
	apply(both, createCmd(3))
	pay(t, l, at(50), 12, "USD", "a", "c", 9)
	pay(t, r, at(50), 12, "USD", "a", "c", 9)
	apply(both, closeCmd("USD", 0))
	if got, want := worldOf(r), worldOf(l); !reflect.DeepEqual(got, want) {
		t.Errorf("after the same commands, restored %+v\nwant %+v", got, want)
	}
}

// savedState is what a store would hold: the latest copy of every record
// Changes handed out.
type savedState struct {
	parts       map[string]ledger.Participant
	accts       map[ledger.AccountKey]ledger.Account
	pending     map[ledger.ID]ledger.Transfer
	windows     map[uint64]ledger.Window
	settlements map[uint64]ledger.Settlement
}

func newSavedState() *savedState {
	return &savedState{
		parts:       map[string]ledger.Participant{},
		accts:       map[ledger.AccountKey]ledger.Account{},
		pending:     map[ledger.ID]ledger.Transfer{},
		windows:     map[uint64]ledger.Window{},
		settlements: map[uint64]ledger.Settlement{},
	}
}

// add stores c; final transfers go to final as well.
func (s *savedState) add(c *ledger.Changes, final *finalMap) {
	for _, p := range c.Participants {
		s.parts[p.ID] = p
	}
	for _, a := range c.Accounts {
		s.accts[a.AccountKey] = a
	}
	for _, tc := range c.Transfers {
		if tc.State == ledger.StateReserved {
			s.pending[tc.ID] = tc.Transfer
		} else {
			delete(s.pending, tc.ID)
			final.m[tc.ID] = tc.Transfer
		}
	}
	for _, w := range c.Windows {
		s.windows[w.ID] = w
	}
	for _, st := range c.Settlements {
		s.settlements[st.ID] = st
	}
}

// restore returns a new ledger loaded from s.
func (s *savedState) restore(t *testing.T, final ledger.Finalized) *ledger.Ledger {
	t.Helper()
	var parts []ledger.Participant
	for _, p := range s.parts {
		parts = append(parts, p)
	}
	var accts []ledger.Account
	for _, a := range s.accts {
		accts = append(accts, a)
	}
	var pending []ledger.Transfer
	for _, p := range s.pending {
		pending = append(pending, p)
	}
	var windows []ledger.Window
	for _, w := range s.windows {
		windows = append(windows, w)
	}
	var settlements []ledger.Settlement
	for _, st := range s.settlements {
		settlements = append(settlements, st)
	}
	l := ledger.New(final)
	if err := l.Restore(parts, accts, pending); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if err := l.RestoreSettlement(windows, settlements); err != nil {
		t.Fatalf("RestoreSettlement: %v", err)
	}
	return l
}

// benchLedger returns a ledger with n payments committed among 20
// participants in USD's open window, every pair of participants paying.
func benchLedger(b *testing.B, n int) *ledger.Ledger {
	b.Helper()
	l := ledger.New(nil)
	var parts []string
	for i := range 20 {
		p := fmt.Sprintf("fsp%02d", i)
		parts = append(parts, p)
		for j, c := range []ledger.Command{
			create(p, p),
			enable(p, "USD"),
			setNDC(p, "USD", 1<<50),
			{Op: ledger.OpFundsIn, ID: ledger.ID{0xff, byte(i)}, Participant: p, Currency: "USD", Amount: 1 << 50},
		} {
			if _, err := l.Apply(t0, &c); err != nil {
				b.Fatalf("setup %d: %v", j, err)
			}
		}
	}
	f := [32]byte{1}
	cond := sha256.Sum256(f[:])
	for i := range n {
		var id ledger.ID
		binary.BigEndian.PutUint64(id[:], uint64(i+1))
		k := i % (20 * 19)
		from, to := parts[k/19], parts[(k/19+1+k%19)%20]
		p := ledger.Command{Op: ledger.OpPrepare, ID: id, Payer: from, Payee: to, Currency: "USD",
			Amount: int64(1 + i%1000), Condition: cond, Expiry: t0.Add(time.Minute)}
		if _, err := l.Apply(t0, &p); err != nil {
			b.Fatal(err)
		}
		c := ledger.Command{Op: ledger.OpFulfil, ID: id, Fulfilment: f}
		if _, err := l.Apply(t0, &c); err != nil {
			b.Fatal(err)
		}
		if i%10000 == 9999 {
			l.Changes()
			l.Forget()
		}
	}
	l.Changes()
	l.Forget()
	return l
}

// benchState is a ledger's state, kept to load fresh copies of it.
type benchState struct {
	parts   []ledger.Participant
	accts   []ledger.Account
	windows []ledger.Window
}

var benchStates sync.Map // payment count -> *benchState

func benchStateOf(b *testing.B, n int) *benchState {
	if s, ok := benchStates.Load(n); ok {
		return s.(*benchState)
	}
	l := benchLedger(b, n)
	s := &benchState{parts: l.Participants(), accts: l.Accounts(), windows: l.Windows("", true)}
	benchStates.Store(n, s)
	return s
}

// BenchmarkCloseWindow closes a window holding n committed payments among
// 20 participants (380 payer-payee pairs). Closing sorts the window's flows
// and opens the next window, so its cost follows the number of pairs, not
// of payments: the two sizes take the same time. Each iteration closes a
// fresh copy of the window, loaded outside the timer.
func BenchmarkCloseWindow(b *testing.B) {
	for _, n := range []int{1000, 1000000} {
		b.Run(fmt.Sprintf("payments=%d", n), func(b *testing.B) {
			s := benchStateOf(b, n)
			if s.windows[0].Count != int64(n) || len(s.windows[0].Flows) != 380 {
				b.Fatalf("window holds %d payments in %d flows", s.windows[0].Count, len(s.windows[0].Flows))
			}
			c := closeCmd("USD", 0)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				l := ledger.New(nil)
				if err := l.Restore(s.parts, s.accts, nil); err != nil {
					b.Fatal(err)
				}
				if err := l.RestoreSettlement(s.windows, nil); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				r, err := l.Apply(t0, &c)
				if err != nil || r.Window.Count != int64(n) {
					b.Fatalf("close = %+v, %v", r.Window, err)
				}
			}
		})
	}
}

// BenchmarkCreateSettlement creates a settlement over a closed window of
// 100,000 payments among 20 participants, under each net model. The
// settlement is aborted outside the timer, which closes the window again.
func BenchmarkCreateSettlement(b *testing.B) {
	for _, m := range []ledger.Model{ledger.ModelMultilateral, ledger.ModelBilateral} {
		b.Run(m.String(), func(b *testing.B) {
			s := benchStateOf(b, 100000)
			l := ledger.New(nil)
			if err := l.Restore(s.parts, s.accts, nil); err != nil {
				b.Fatal(err)
			}
			ws := slices.Clone(s.windows)
			ws[0].Model = m
			if err := l.RestoreSettlement(ws, nil); err != nil {
				b.Fatal(err)
			}
			for _, c := range []ledger.Command{closeCmd("USD", 0)} {
				if _, err := l.Apply(t0, &c); err != nil {
					b.Fatal(err)
				}
			}
			create := createCmd(ws[0].ID)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r, err := l.Apply(t0, &create)
				if err != nil || r.Settlement.Count != 100000 {
					b.Fatalf("create = %+v, %v", r.Settlement, err)
				}
				b.StopTimer()
				abort := stateCmd(r.Settlement.ID, ledger.SettlementAborted, "")
				if _, err := l.Apply(t0, &abort); err != nil {
					b.Fatal(err)
				}
				if i%1000 == 999 {
					l.Changes()
					l.Forget()
				}
				b.StartTimer()
			}
		})
	}
}

// Totals that would overflow refuse the command whole: a settlement's
// commit, its creation, and a payment joining a window.
func TestSettlementOverflow(t *testing.T) {
	const huge = 1<<63 - 1
	t.Run("commit", func(t *testing.T) {
		l := ledger.New(nil)
		for _, p := range []string{"a", "b"} {
			mustApply(t, l, t0, create(p, p))
			mustApply(t, l, t0, enable(p, "USD"))
			mustApply(t, l, t0, setNDC(p, "USD", huge))
		}
		mustApply(t, l, t0, fundsIn(1, "a", "USD", huge))
		pay(t, l, at(1), 2, "USD", "a", "b", huge)
		mustApply(t, l, at(2), closeCmd("USD", 0))
		mustApply(t, l, at(3), createCmd(1))
		mustApply(t, l, at(3), stateCmd(1, ledger.SettlementRecorded, ""))
		mustApply(t, l, at(3), stateCmd(1, ledger.SettlementReserved, ""))
		// The reconciliation account already holds the deposit as credits;
		// b's share would take them past the largest total.
		mustRefuse(t, l, at(4), stateCmd(1, ledger.SettlementCommitted, ""), ledger.ErrOverflow)
		before := worldOf(l)
		mustApply(t, l, at(5), stateCmd(1, ledger.SettlementAborted, "too big"))
		for _, k := range []ledger.AccountKey{pos("a", "USD"), pos("b", "USD"), set("a", "USD"), set("b", "USD"),
			hub("USD", ledger.AccountHubMultilateral), hub("USD", ledger.AccountHubReconciliation)} {
			if a, _ := l.Account(k); a.DebitsPending != 0 || a.CreditsPending != 0 {
				t.Errorf("%s after the abort = %+v, want nothing pending", k, totalsOf(a))
			}
		}
		if after := worldOf(l); reflect.DeepEqual(after.Accounts, before.Accounts) {
			t.Errorf("abort from PS_TRANSFERS_RESERVED released nothing")
		}
	})
	restored := func(t *testing.T, windows []ledger.Window) *ledger.Ledger {
		t.Helper()
		src := settleLedger(t, "USD", "a", "b")
		l := ledger.New(nil)
		if err := l.Restore(src.Participants(), src.Accounts(), nil); err != nil {
			t.Fatal(err)
		}
		if err := l.RestoreSettlement(windows, nil); err != nil {
			t.Fatal(err)
		}
		return l
	}
	full := func(id uint64, state ledger.WindowState, m ledger.Model) ledger.Window {
		return ledger.Window{ID: id, Currency: "USD", Model: m, State: state, Opened: t0,
			Count: 1, Amount: huge - 1, Flows: []ledger.Flow{{"a", "b", 1, huge - 1}}}
	}
	t.Run("create", func(t *testing.T) {
		l := restored(t, []ledger.Window{
			full(1, ledger.WindowClosed, ledger.ModelMultilateral), full(2, ledger.WindowClosed, ledger.ModelMultilateral),
			{ID: 3, Currency: "USD", Model: ledger.ModelMultilateral, State: ledger.WindowOpen, Opened: t0},
		})
		mustRefuse(t, l, at(1), createCmd(1, 2), ledger.ErrOverflow)
		if s := mustApply(t, l, at(2), createCmd(2)).Settlement; s.ID != 1 {
			t.Errorf("settlement after a refused one has id %d, want 1", s.ID)
		}
	})
	for _, m := range []ledger.Model{ledger.ModelMultilateral, ledger.ModelGross} {
		t.Run("join "+m.String(), func(t *testing.T) {
			l := restored(t, []ledger.Window{full(1, ledger.WindowOpen, m)})
			mustApply(t, l, at(1), prepareIn(1, "USD", "a", "b", 2, at(60)))
			mustRefuse(t, l, at(2), fulfil(1), ledger.ErrOverflow)
			if tr, _ := l.InMemory(tid(1)); tr.State != ledger.StateReserved || tr.Window != 0 {
				t.Errorf("payment after a refused fulfil = %+v", tr)
			}
			mustApply(t, l, at(3), prepareIn(2, "USD", "b", "a", 1, at(60)))
			if tr := mustApply(t, l, at(3), fulfil(2)).Transfer; tr.Window != 1 {
				t.Errorf("payment that fits joined window %d", tr.Window)
			}
		})
	}
}

// TestPositions checks the positions the ledger reports, all of them and
// those a command changed.
func TestPositions(t *testing.T) {
	l := ledger.New(nil)
	l.TrackPositions()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	apply := func(c ledger.Command) {
		t.Helper()
		if _, err := l.Apply(now, &c); err != nil {
			t.Fatalf("%v: %v", c.Op, err)
		}
	}
	apply(ledger.Command{Op: ledger.OpCreateParticipant, Participant: "dfsp1", Name: "One"})
	apply(ledger.Command{Op: ledger.OpCreateParticipant, Participant: "dfsp2", Name: "Two"})
	apply(ledger.Command{Op: ledger.OpEnableCurrency, Participant: "dfsp1", Currency: "USD"})
	apply(ledger.Command{Op: ledger.OpEnableCurrency, Participant: "dfsp1", Currency: "EUR"})
	apply(ledger.Command{Op: ledger.OpEnableCurrency, Participant: "dfsp2", Currency: "USD"})
	apply(ledger.Command{Op: ledger.OpSetNDC, Participant: "dfsp1", Currency: "USD", Amount: 1000})
	apply(ledger.Command{Op: ledger.OpFundsIn, ID: positionID(t, "00000000-0000-4000-8000-000000000001"), Participant: "dfsp1", Currency: "USD", Amount: 5000})
	var ful [32]byte
	ful[0] = 1
	apply(ledger.Command{Op: ledger.OpPrepare, ID: positionID(t, "00000000-0000-4000-8000-000000000002"), Payer: "dfsp1", Payee: "dfsp2",
		Currency: "USD", Amount: 300, Condition: ledger.ConditionOf(ful), Expiry: now.Add(time.Minute)})

	got := l.Positions()
	want := []ledger.Position{
		{Participant: "dfsp1", Currency: "EUR"},
		{Participant: "dfsp1", Currency: "USD", Reserved: 300, NDC: 1000},
		{Participant: "dfsp2", Currency: "USD"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Positions = %+v, want %+v", got, want)
	}
	// What the ledger reports as changed agrees.
	for _, p := range l.TouchedPositions() {
		if !slices.Contains(got, p) {
			t.Errorf("touched position %+v is not among %+v", p, got)
		}
	}
}

func positionID(t *testing.T, s string) ledger.ID {
	t.Helper()
	id, err := ledger.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
