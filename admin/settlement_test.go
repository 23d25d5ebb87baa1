package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"github.com/hutong/hutong/admin/adminapi"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
)

// settlementHarness is a harness with participants funded in USD, and
// payments made through the writer.
type settlementHarness struct {
	*harness
	payments int
}

// newSettlementHarness creates participants with USD enabled, a net debit
// cap of 10000 and 1000 of collateral each.
func newSettlementHarness(t testing.TB, participants ...string) *settlementHarness {
	t.Helper()
	h := &settlementHarness{harness: newHarness(t, Options{})}
	for _, p := range participants {
		h.participant(p, "USD")
		h.mustCall(http.StatusOK, "PUT", "/admin/v1/participants/"+p+"/currencies/USD/ndc", map[string]string{"amount": "10000"}, nil)
		h.fundsIn(p, "USD", "1000")
	}
	return h
}

// pay makes a payment of minor units of USD from payer to payee, prepared
// and fulfilled through the writer.
func (h *settlementHarness) pay(payer, payee string, minor int64) {
	h.t.Helper()
	h.payments++
	fulfilment := sha256.Sum256([]byte(fmt.Sprintf("payment %d", h.payments)))
	id, err := ledger.ParseID(newID())
	if err != nil {
		h.t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := h.w.Submit(ctx, ledger.Command{Op: ledger.OpPrepare, ID: id, Payer: payer, Payee: payee, Currency: "USD",
		Amount: minor, Condition: ledger.ConditionOf(fulfilment), Expiry: h.clock.Now().Add(time.Minute)}); err != nil {
		h.t.Fatalf("prepare %s -> %s: %v", payer, payee, err)
	}
	if _, err := h.w.Submit(ctx, ledger.Command{Op: ledger.OpFulfil, ID: id, Payee: payee, Fulfilment: fulfilment}); err != nil {
		h.t.Fatalf("fulfil %s -> %s: %v", payer, payee, err)
	}
}

// balances returns each participant's USD position and settlement
// balances, as "position/settlement".
func (h *settlementHarness) balances(participants ...string) map[string]string {
	h.t.Helper()
	out := make(map[string]string)
	for _, p := range participants {
		acc := h.accounts(p)
		out[p] = acc["USD/POSITION"].Balance + "/" + acc["USD/SETTLEMENT"].Balance
	}
	return out
}

// settlementState is the ledger's windows and settlements, with the rest of
// its state: equal values mean nothing changed.
func (h *settlementHarness) settlementState() string {
	h.t.Helper()
	var ws []ledger.Window
	var ss []ledger.Settlement
	if err := h.w.Query(context.Background(), func(l *ledger.Ledger) { ws, ss = l.Windows("", true), l.Settlements() }); err != nil {
		h.t.Fatal(err)
	}
	return fmt.Sprintf("%s\nwindows %+v\nsettlements %+v", h.state(), ws, ss)
}

func (h *settlementHarness) openWindow() uint64 {
	h.t.Helper()
	var list adminapi.ModelList
	h.mustCall(http.StatusOK, "GET", "/admin/v1/settlement-models", nil, &list)
	for _, m := range list.Models {
		if m.Currency == "USD" {
			return m.Window
		}
	}
	h.t.Fatalf("no USD model in %+v", list)
	return 0
}

func (h *settlementHarness) close(id uint64) adminapi.ClosedWindow {
	h.t.Helper()
	var c adminapi.ClosedWindow
	h.mustCall(http.StatusOK, "POST", fmt.Sprintf("/admin/v1/settlement-windows/%d/close", id), nil, &c)
	return c
}

func (h *settlementHarness) create(windows ...uint64) adminapi.Settlement {
	h.t.Helper()
	var s adminapi.Settlement
	h.mustCall(http.StatusCreated, "POST", "/admin/v1/settlements", map[string]any{"windows": windows}, &s)
	return s
}

func (h *settlementHarness) move(id uint64, state, reason string) adminapi.Settlement {
	h.t.Helper()
	var s adminapi.Settlement
	h.mustCall(http.StatusOK, "PUT", fmt.Sprintf("/admin/v1/settlements/%d/state", id), map[string]string{"state": state, "reason": reason}, &s)
	if s.State != state {
		h.t.Fatalf("moved to %s, answer says %s", state, s.State)
	}
	return s
}

func (h *settlementHarness) window(id uint64) adminapi.WindowDetail {
	h.t.Helper()
	var w adminapi.WindowDetail
	h.mustCall(http.StatusOK, "GET", fmt.Sprintf("/admin/v1/settlement-windows/%d", id), nil, &w)
	return w
}

// refused sends a request that must be refused with status and code, and
// checks it changed nothing.
func (h *settlementHarness) refused(t *testing.T, method, path, body string, status int, code string) string {
	t.Helper()
	before := h.settlementState()
	got, _, b := h.do(method, path, "application/json", body)
	if got != status {
		t.Fatalf("%s %s %s: status %d, want %d: %s", method, path, body, got, status, b)
	}
	var e adminapi.ErrorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("not an error body: %s", b)
	}
	if gotCode := errorCode(t, b); gotCode != code {
		t.Errorf("%s %s %s: code %s, want %s: %s", method, path, body, gotCode, code, e.Error.Message)
	}
	if after := h.settlementState(); after != before {
		t.Errorf("%s %s %s changed the state:\nbefore %s\nafter  %s", method, path, body, before, after)
	}
	return e.Error.Message
}

// TestSettlementMultilateral takes payments through a window, a settlement
// and every state, and checks the nets and the accounts they move.
func TestSettlementMultilateral(t *testing.T) {
	h := newSettlementHarness(t, "a", "b", "c")
	w1 := h.openWindow()
	h.pay("a", "b", 10000)
	h.pay("b", "c", 3000)
	h.pay("c", "a", 2000)
	h.pay("a", "b", 5050)
	if got, want := h.balances("a", "b", "c"), map[string]string{"a": "130.5/1000", "b": "-120.5/1000", "c": "-10/1000"}; !mapsEqual(got, want) {
		t.Fatalf("balances before settlement %v, want %v", got, want)
	}

	open := h.window(w1)
	wantFlows := []adminapi.Flow{{Payer: "a", Payee: "b", Count: 2, Amount: "150.5"}, {Payer: "b", Payee: "c", Count: 1, Amount: "30"}, {Payer: "c", Payee: "a", Count: 1, Amount: "20"}}
	if open.State != "OPEN" || open.Model != "DEFERRED_MULTILATERAL_NET" || open.Count != 4 || open.Amount != "200.5" ||
		open.Closed != "" || open.Settlement != 0 || !slices.Equal(open.Flows, wantFlows) {
		t.Fatalf("open window %+v", open)
	}
	var list adminapi.WindowList
	h.mustCall(http.StatusOK, "GET", "/admin/v1/settlement-windows?currency=USD&state=OPEN", nil, &list)
	if len(list.Windows) != 1 || list.Windows[0] != open.Window {
		t.Fatalf("open windows %+v", list)
	}

	h.clock.Advance(time.Hour)
	closed := h.close(w1)
	if closed.Closed.ID != w1 || closed.Closed.State != "CLOSED" || closed.Closed.Closed != "2025-03-01T13:00:00Z" ||
		!slices.Equal(closed.Closed.Flows, wantFlows) {
		t.Errorf("closed %+v", closed.Closed)
	}
	if closed.Next.ID <= w1 || closed.Next.State != "OPEN" || closed.Next.Count != 0 || closed.Next.Currency != "USD" {
		t.Errorf("next %+v", closed.Next)
	}
	if got := h.openWindow(); got != closed.Next.ID {
		t.Errorf("open window %d, close said %d", got, closed.Next.ID)
	}
	h.refused(t, "POST", fmt.Sprintf("/admin/v1/settlement-windows/%d/close", w1), "", 409, "WINDOW_NOT_OPEN")

	status, hdr, b := h.do("POST", "/admin/v1/settlements", "application/json", fmt.Sprintf(`{"windows":[%d]}`, w1))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, b)
	}
	var s adminapi.Settlement
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if hdr.Get("Location") != fmt.Sprintf("/admin/v1/settlements/%d", s.ID) {
		t.Errorf("location %q", hdr.Get("Location"))
	}
	wantNets := []adminapi.Net{
		{Participant: "a", Sent: "150.5", Received: "20", SentCount: 2, ReceivedCount: 1, Net: "130.5"},
		{Participant: "b", Sent: "30", Received: "150.5", SentCount: 1, ReceivedCount: 2, Net: "-120.5"},
		{Participant: "c", Sent: "20", Received: "30", SentCount: 1, ReceivedCount: 1, Net: "-10"},
	}
	if s.ID != 1 || s.Currency != "USD" || s.Model != "DEFERRED_MULTILATERAL_NET" || s.State != "PENDING_SETTLEMENT" ||
		!slices.Equal(s.Windows, []uint64{w1}) || s.Count != 4 || s.Amount != "200.5" || s.Position != "130.5" ||
		!slices.Equal(s.Nets, wantNets) || s.Owed != nil ||
		!slices.Equal(s.Allowed, []string{"PS_TRANSFERS_RECORDED", "ABORTED"}) ||
		len(s.History) != 1 || s.History[0].State != "PENDING_SETTLEMENT" {
		t.Fatalf("settlement %+v", s)
	}
	if w := h.window(w1); w.State != "PENDING_SETTLEMENT" || w.Settlement != s.ID {
		t.Errorf("window after create %+v", w.Window)
	}
	msg := h.refused(t, "POST", "/admin/v1/settlements", fmt.Sprintf(`{"windows":[%d]}`, w1), 409, "WINDOW_NOT_CLOSED")
	if !strings.Contains(msg, "settlement 1") {
		t.Errorf("second create: message %q does not name the settlement", msg)
	}

	path := fmt.Sprintf("/admin/v1/settlements/%d/state", s.ID)
	msg = h.refused(t, "PUT", path, `{"state":"PS_TRANSFERS_COMMITTED"}`, 409, "SETTLEMENT_TRANSITION")
	if !strings.Contains(msg, "PS_TRANSFERS_RECORDED") || strings.HasPrefix(msg, "ledger:") {
		t.Errorf("wrong step: message %q does not name the next state", msg)
	}

	recorded := h.move(s.ID, "PS_TRANSFERS_RECORDED", "")
	before := h.settlementState()
	again := h.move(s.ID, "PS_TRANSFERS_RECORDED", "")
	if after := h.settlementState(); after != before {
		t.Errorf("repeating the state changed the ledger")
	}
	if fmt.Sprint(again) != fmt.Sprint(recorded) {
		t.Errorf("repeat answered\n%+v\nfirst\n%+v", again, recorded)
	}

	h.move(s.ID, "PS_TRANSFERS_RESERVED", "")
	acc := h.accounts("a")
	if acc["USD/POSITION"].PendingCredits != "130.5" || acc["USD/POSITION"].Balance != "130.5" {
		t.Errorf("a's position once reserved %+v", acc["USD/POSITION"])
	}
	if pos := h.accounts("b")["USD/POSITION"]; pos.Reserved != "120.5" {
		t.Errorf("b's position once reserved %+v", pos)
	}

	h.clock.Advance(time.Minute)
	committed := h.move(s.ID, "PS_TRANSFERS_COMMITTED", "")
	if got, want := h.balances("a", "b", "c"), map[string]string{"a": "0/869.5", "b": "0/1120.5", "c": "0/1010"}; !mapsEqual(got, want) {
		t.Errorf("balances after commit %v, want %v", got, want)
	}
	for _, p := range []string{"a", "b", "c"} {
		if pos := h.accounts(p)["USD/POSITION"]; pos.Reserved != "0" || pos.PendingCredits != "0" {
			t.Errorf("%s's position keeps pending amounts: %+v", p, pos)
		}
	}
	if !slices.Equal(committed.Allowed, []string{"SETTLED"}) {
		t.Errorf("allowed after commit %v", committed.Allowed)
	}
	msg = h.refused(t, "PUT", path, `{"state":"ABORTED","reason":"too late"}`, 409, "SETTLEMENT_TRANSITION")
	if !strings.Contains(msg, "no longer be aborted") {
		t.Errorf("abort after commit: %q", msg)
	}

	settled := h.move(s.ID, "SETTLED", "confirmed by the bank")
	var states []string
	for _, c := range settled.History {
		states = append(states, c.State)
	}
	if want := []string{"PENDING_SETTLEMENT", "PS_TRANSFERS_RECORDED", "PS_TRANSFERS_RESERVED", "PS_TRANSFERS_COMMITTED", "SETTLED"}; !slices.Equal(states, want) {
		t.Errorf("history %v, want %v", states, want)
	}
	if last := settled.History[len(settled.History)-1]; last.Reason != "confirmed by the bank" || last.At != "2025-03-01T13:01:00Z" {
		t.Errorf("last step %+v", last)
	}
	if len(settled.Allowed) != 0 || settled.Allowed == nil {
		t.Errorf("allowed once settled %v", settled.Allowed)
	}
	if w := h.window(w1); w.State != "SETTLED" {
		t.Errorf("window once settled %s", w.State)
	}

	var got adminapi.Settlement
	h.mustCall(http.StatusOK, "GET", fmt.Sprintf("/admin/v1/settlements/%d", s.ID), nil, &got)
	if fmt.Sprint(got) != fmt.Sprint(settled) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, settled)
	}
	var sl adminapi.SettlementList
	h.mustCall(http.StatusOK, "GET", "/admin/v1/settlements?state=SETTLED&currency=USD", nil, &sl)
	if len(sl.Settlements) != 1 || fmt.Sprint(sl.Settlements[0]) != fmt.Sprint(settled.SettlementSummary) {
		t.Errorf("settled list %+v", sl)
	}
	for _, q := range []string{"?state=ABORTED", "?currency=EUR"} {
		h.mustCall(http.StatusOK, "GET", "/admin/v1/settlements"+q, nil, &sl)
		if len(sl.Settlements) != 0 {
			t.Errorf("%s: %+v", q, sl)
		}
	}
	h.mustCall(http.StatusOK, "GET", "/admin/v1/settlement-windows?state=SETTLED", nil, &list)
	if len(list.Windows) != 1 || list.Windows[0].ID != w1 {
		t.Errorf("settled windows %+v", list)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestSettle drives settlements to SETTLED in one request, from the start
// and from part way.
func TestSettle(t *testing.T) {
	h := newSettlementHarness(t, "a", "b")
	w1 := h.openWindow()
	h.pay("a", "b", 700)
	next := h.close(w1).Next.ID
	h.pay("b", "a", 200)
	h.close(next)

	s1 := h.create(w1)
	var got adminapi.Settlement
	h.mustCall(http.StatusOK, "POST", fmt.Sprintf("/admin/v1/settlements/%d/settle", s1.ID), nil, &got)
	if got.State != "SETTLED" || len(got.History) != 5 {
		t.Errorf("settled from the start: %+v", got)
	}
	if bal := h.balances("a", "b"); !mapsEqual(bal, map[string]string{"a": "-2/993", "b": "2/1007"}) {
		// The second window's payment is not settled yet.
		t.Errorf("balances %v", bal)
	}
	before := h.settlementState()
	var again adminapi.Settlement
	h.mustCall(http.StatusOK, "POST", fmt.Sprintf("/admin/v1/settlements/%d/settle", s1.ID), map[string]any{}, &again)
	if fmt.Sprint(again) != fmt.Sprint(got) || h.settlementState() != before {
		t.Errorf("settling a settled settlement changed it")
	}

	s2 := h.create(next)
	h.move(s2.ID, "PS_TRANSFERS_RECORDED", "")
	h.move(s2.ID, "PS_TRANSFERS_RESERVED", "")
	h.mustCall(http.StatusOK, "POST", fmt.Sprintf("/admin/v1/settlements/%d/settle", s2.ID), nil, &got)
	var states []string
	for _, c := range got.History {
		states = append(states, c.State)
	}
	if want := []string{"PENDING_SETTLEMENT", "PS_TRANSFERS_RECORDED", "PS_TRANSFERS_RESERVED", "PS_TRANSFERS_COMMITTED", "SETTLED"}; !slices.Equal(states, want) {
		t.Errorf("history %v, want %v", states, want)
	}
	if bal := h.balances("a", "b"); !mapsEqual(bal, map[string]string{"a": "0/995", "b": "0/1005"}) {
		t.Errorf("balances once both settled %v", bal)
	}

	// An aborted settlement cannot be settled.
	h.pay("a", "b", 100)
	w3 := h.openWindow()
	h.close(w3)
	s3 := h.create(w3)
	h.move(s3.ID, "ABORTED", "wrong window")
	msg := h.refused(t, "POST", fmt.Sprintf("/admin/v1/settlements/%d/settle", s3.ID), "", 409, "SETTLEMENT_TRANSITION")
	if !strings.Contains(msg, "ABORTED") {
		t.Errorf("settle aborted: %q", msg)
	}
	h.refused(t, "POST", "/admin/v1/settlements/99/settle", "", 404, "SETTLEMENT_NOT_FOUND")
	h.refused(t, "POST", "/admin/v1/settlements/1/settle", `{"now":true}`, 400, "UNKNOWN_FIELD")
}

// TestSettlementAbort aborts a reserved settlement and settles its window
// anew.
func TestSettlementAbort(t *testing.T) {
	h := newSettlementHarness(t, "a", "b")
	w1 := h.openWindow()
	h.pay("a", "b", 2500)
	h.close(w1)
	s1 := h.create(w1)
	h.move(s1.ID, "PS_TRANSFERS_RECORDED", "")
	h.move(s1.ID, "PS_TRANSFERS_RESERVED", "")
	path := fmt.Sprintf("/admin/v1/settlements/%d/state", s1.ID)
	h.refused(t, "PUT", path, `{"state":"ABORTED"}`, 400, "MISSING_FIELD")
	h.refused(t, "PUT", path, `{"state":"ABORTED","reason":"  "}`, 400, "MISSING_FIELD")

	aborted := h.move(s1.ID, "ABORTED", "bank rejected the file")
	if aborted.Reason != "bank rejected the file" || len(aborted.Allowed) != 0 {
		t.Errorf("aborted %+v", aborted)
	}
	for _, p := range []string{"a", "b"} {
		if pos := h.accounts(p)["USD/POSITION"]; pos.Reserved != "0" || pos.PendingCredits != "0" {
			t.Errorf("%s's position after abort %+v", p, pos)
		}
	}
	if bal := h.balances("a", "b"); !mapsEqual(bal, map[string]string{"a": "25/1000", "b": "-25/1000"}) {
		t.Errorf("balances after abort %v", bal)
	}
	if w := h.window(w1); w.State != "CLOSED" || w.Settlement != 0 {
		t.Errorf("window after abort %+v", w.Window)
	}
	// Aborting again is a repeat; anything else is refused.
	h.move(s1.ID, "ABORTED", "again")
	h.refused(t, "PUT", path, `{"state":"PS_TRANSFERS_COMMITTED"}`, 409, "SETTLEMENT_TRANSITION")

	s2 := h.create(w1)
	if s2.ID != 2 {
		t.Errorf("second settlement id %d", s2.ID)
	}
	h.mustCall(http.StatusOK, "POST", fmt.Sprintf("/admin/v1/settlements/%d/settle", s2.ID), nil, nil)
	if bal := h.balances("a", "b"); !mapsEqual(bal, map[string]string{"a": "0/975", "b": "0/1025"}) {
		t.Errorf("balances after settling anew %v", bal)
	}
	var sl adminapi.SettlementList
	h.mustCall(http.StatusOK, "GET", "/admin/v1/settlements?state=ABORTED", nil, &sl)
	if len(sl.Settlements) != 1 || sl.Settlements[0].ID != s1.ID || sl.Settlements[0].Reason != "bank rejected the file" {
		t.Errorf("aborted list %+v", sl)
	}
}

// TestSettlementBilateral settles pairs of participants, and refuses to mix
// windows of two models.
func TestSettlementBilateral(t *testing.T) {
	h := newSettlementHarness(t, "a", "b", "c")
	w1 := h.openWindow()
	h.pay("a", "c", 100)

	var m adminapi.SettlementModel
	h.mustCall(http.StatusOK, "PUT", "/admin/v1/settlement-models/USD", map[string]string{"model": "DEFERRED_BILATERAL_NET"}, &m)
	if m.Currency != "USD" || m.Model != "DEFERRED_BILATERAL_NET" || m.Window == w1 {
		t.Fatalf("set model: %+v (window %d had a payment: it must have closed)", m, w1)
	}
	w2 := m.Window
	if w := h.window(w1); w.State != "CLOSED" || w.Model != "DEFERRED_MULTILATERAL_NET" {
		t.Errorf("old window %+v", w.Window)
	}
	before := h.settlementState()
	var again adminapi.SettlementModel
	h.mustCall(http.StatusOK, "PUT", "/admin/v1/settlement-models/USD", map[string]string{"model": "DEFERRED_BILATERAL_NET"}, &again)
	if again != m || h.settlementState() != before {
		t.Errorf("setting the model again: %+v", again)
	}

	h.pay("a", "b", 10000)
	h.pay("b", "a", 4000)
	h.pay("a", "c", 1000)
	h.pay("c", "b", 500)
	h.close(w2)
	h.refused(t, "POST", "/admin/v1/settlements", fmt.Sprintf(`{"windows":[%d,%d]}`, w1, w2), 400, "MIXED_WINDOWS")

	s := h.create(w2)
	wantOwed := []adminapi.Flow{{Payer: "a", Payee: "b", Count: 2, Amount: "60"}, {Payer: "a", Payee: "c", Count: 1, Amount: "10"}, {Payer: "c", Payee: "b", Count: 1, Amount: "5"}}
	if s.Model != "DEFERRED_BILATERAL_NET" || !slices.Equal(s.Owed, wantOwed) || s.Position != "70" {
		t.Fatalf("bilateral settlement %+v", s)
	}
	wantNets := []adminapi.Net{{Participant: "a", Sent: "110", Received: "40", SentCount: 2, ReceivedCount: 1, Net: "70"}, {Participant: "b", Sent: "40", Received: "105", SentCount: 1, ReceivedCount: 2, Net: "-65"}, {Participant: "c", Sent: "5", Received: "10", SentCount: 1, ReceivedCount: 1, Net: "-5"}}
	if !slices.Equal(s.Nets, wantNets) {
		t.Errorf("nets %+v, want %+v", s.Nets, wantNets)
	}
	h.mustCall(http.StatusOK, "POST", fmt.Sprintf("/admin/v1/settlements/%d/settle", s.ID), nil, nil)
	// w1's payment (a paid c 1) is not settled.
	if bal := h.balances("a", "b", "c"); !mapsEqual(bal, map[string]string{"a": "1/930", "b": "0/1065", "c": "-1/1005"}) {
		t.Errorf("balances %v", bal)
	}
	var ml adminapi.ModelList
	h.mustCall(http.StatusOK, "GET", "/admin/v1/settlement-models", nil, &ml)
	if len(ml.Models) != 1 || ml.Models[0].Model != "DEFERRED_BILATERAL_NET" || ml.Models[0].Window == w2 {
		t.Errorf("models %+v", ml)
	}
}

// TestSettlementGross checks that gross payments move collateral at once
// and their windows settle as they close.
func TestSettlementGross(t *testing.T) {
	h := newSettlementHarness(t, "a", "b")
	h.participant("e", "EUR")
	w1 := h.openWindow()
	var m adminapi.SettlementModel
	h.mustCall(http.StatusOK, "PUT", "/admin/v1/settlement-models/USD", map[string]string{"model": "IMMEDIATE_GROSS"}, &m)
	if m.Window != w1 || m.Model != "IMMEDIATE_GROSS" {
		t.Fatalf("an empty window changes model in place: %+v", m)
	}
	h.pay("a", "b", 10000)
	if bal := h.balances("a", "b"); !mapsEqual(bal, map[string]string{"a": "0/900", "b": "0/1100"}) {
		t.Errorf("balances after a gross payment %v", bal)
	}
	var c adminapi.ClosedWindow
	h.mustCall(http.StatusOK, "POST", "/admin/v1/settlement-windows/close", map[string]string{"currency": "USD"}, &c)
	if c.Closed.ID != w1 || c.Closed.State != "SETTLED" || c.Closed.Count != 1 || c.Next.Model != "IMMEDIATE_GROSS" {
		t.Errorf("closed gross window %+v", c)
	}
	msg := h.refused(t, "POST", "/admin/v1/settlements", fmt.Sprintf(`{"windows":[%d]}`, w1), 400, "GROSS_WINDOW")
	if !strings.Contains(msg, strconv.FormatUint(w1, 10)) {
		t.Errorf("message %q does not name the window", msg)
	}

	var ml adminapi.ModelList
	h.mustCall(http.StatusOK, "GET", "/admin/v1/settlement-models", nil, &ml)
	if len(ml.Models) != 2 || ml.Models[0].Currency != "EUR" || ml.Models[0].Model != "DEFERRED_MULTILATERAL_NET" ||
		ml.Models[1].Currency != "USD" || ml.Models[1].Window != c.Next.ID {
		t.Errorf("models %+v", ml)
	}
}

// TestConcurrentClose closes one window from two clients at once: exactly
// one succeeds.
func TestConcurrentClose(t *testing.T) {
	h := newSettlementHarness(t, "a", "b")
	for round := range 20 {
		w := h.openWindow()
		h.pay("a", "b", 1)
		path := h.srv.URL + fmt.Sprintf("/admin/v1/settlement-windows/%d/close", w)
		type answer struct {
			status int
			body   []byte
			err    error
		}
		answers := make([]answer, 2)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Go(func() {
				resp, err := h.srv.Client().Post(path, "", nil)
				if err != nil {
					answers[i].err = err
					return
				}
				defer resp.Body.Close()
				answers[i].status = resp.StatusCode
				answers[i].body, answers[i].err = io.ReadAll(resp.Body)
			})
		}
		wg.Wait()
		var ok, refused int
		for _, a := range answers {
			switch {
			case a.err != nil:
				t.Fatal(a.err)
			case a.status == http.StatusOK:
				ok++
			case a.status == http.StatusConflict && errorCode(t, a.body) == "WINDOW_NOT_OPEN":
				refused++
			default:
				t.Errorf("round %d: status %d: %s", round, a.status, a.body)
			}
		}
		if ok != 1 || refused != 1 {
			t.Fatalf("round %d: %d closes succeeded and %d were refused, want 1 and 1", round, ok, refused)
		}
		if got := h.window(w); got.State != "CLOSED" || got.Count != 1 {
			t.Fatalf("round %d: window %+v", round, got.Window)
		}
	}
	var list adminapi.WindowList
	h.mustCall(http.StatusOK, "GET", "/admin/v1/settlement-windows?state=OPEN", nil, &list)
	if len(list.Windows) != 1 {
		t.Errorf("open windows after the closes: %+v", list)
	}
}

// TestSettlementRefusals sends requests that cannot succeed and checks each
// is refused with its code and changes nothing.
func TestSettlementRefusals(t *testing.T) {
	h := newSettlementHarness(t, "a", "b")
	w1 := h.openWindow()
	h.pay("a", "b", 100)
	w2 := h.close(w1).Next.ID
	w3 := h.close(w2).Next.ID
	s1 := h.create(w1)

	reason := strings.Repeat("r", ledger.MaxReason+1)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"model unknown", "PUT", "/admin/v1/settlement-models/USD", `{"model":"NET"}`, 400, "INVALID_MODEL"},
		{"model lower case", "PUT", "/admin/v1/settlement-models/USD", `{"model":"immediate_gross"}`, 400, "INVALID_MODEL"},
		{"model missing", "PUT", "/admin/v1/settlement-models/USD", `{}`, 400, "MISSING_FIELD"},
		{"model as a number", "PUT", "/admin/v1/settlement-models/USD", `{"model":3}`, 400, "WRONG_TYPE"},
		{"model no body", "PUT", "/admin/v1/settlement-models/USD", ``, 400, "INVALID_JSON"},
		{"model of unknown currency", "PUT", "/admin/v1/settlement-models/usd", `{"model":"IMMEDIATE_GROSS"}`, 400, "UNKNOWN_CURRENCY"},
		{"model of currency nobody has", "PUT", "/admin/v1/settlement-models/EUR", `{"model":"IMMEDIATE_GROSS"}`, 409, "NO_WINDOW"},
		{"windows bad state", "GET", "/admin/v1/settlement-windows?state=open", ``, 400, "INVALID_STATE"},
		{"windows bad currency", "GET", "/admin/v1/settlement-windows?currency=US", ``, 400, "UNKNOWN_CURRENCY"},
		{"windows unknown parameter", "GET", "/admin/v1/settlement-windows?limit=5", ``, 400, "INVALID_QUERY"},
		{"windows parameter twice", "GET", "/admin/v1/settlement-windows?state=OPEN&state=CLOSED", ``, 400, "INVALID_QUERY"},
		{"window id zero", "GET", "/admin/v1/settlement-windows/0", ``, 400, "INVALID_ID"},
		{"window id leading zero", "GET", "/admin/v1/settlement-windows/01", ``, 400, "INVALID_ID"},
		{"window id negative", "GET", "/admin/v1/settlement-windows/-1", ``, 400, "INVALID_ID"},
		{"window id signed", "GET", "/admin/v1/settlement-windows/+1", ``, 400, "INVALID_ID"},
		{"window id word", "GET", "/admin/v1/settlement-windows/close", ``, 400, "INVALID_ID"},
		{"window id huge", "GET", "/admin/v1/settlement-windows/99999999999999999999", ``, 400, "INVALID_ID"},
		{"window unknown", "GET", "/admin/v1/settlement-windows/99", ``, 404, "WINDOW_NOT_FOUND"},
		{"close unknown", "POST", "/admin/v1/settlement-windows/99/close", ``, 404, "WINDOW_NOT_FOUND"},
		{"close closed", "POST", fmt.Sprintf("/admin/v1/settlement-windows/%d/close", w2), ``, 409, "WINDOW_NOT_OPEN"},
		{"close pending", "POST", fmt.Sprintf("/admin/v1/settlement-windows/%d/close", w1), ``, 409, "WINDOW_NOT_OPEN"},
		{"close with a field", "POST", fmt.Sprintf("/admin/v1/settlement-windows/%d/close", w3), `{"currency":"USD"}`, 400, "UNKNOWN_FIELD"},
		{"close bad id", "POST", "/admin/v1/settlement-windows/x1/close", ``, 400, "INVALID_ID"},
		{"close currency missing", "POST", "/admin/v1/settlement-windows/close", `{}`, 400, "MISSING_FIELD"},
		{"close currency no body", "POST", "/admin/v1/settlement-windows/close", ``, 400, "INVALID_JSON"},
		{"close currency unknown", "POST", "/admin/v1/settlement-windows/close", `{"currency":"ABC"}`, 400, "UNKNOWN_CURRENCY"},
		{"close currency nobody has", "POST", "/admin/v1/settlement-windows/close", `{"currency":"EUR"}`, 409, "NO_WINDOW"},
		{"close currency trailing", "POST", "/admin/v1/settlement-windows/close", `{"currency":"USD"} {}`, 400, "TRAILING_DATA"},
		{"create no windows", "POST", "/admin/v1/settlements", `{}`, 400, "MISSING_FIELD"},
		{"create null windows", "POST", "/admin/v1/settlements", `{"windows":null}`, 400, "MISSING_FIELD"},
		{"create empty windows", "POST", "/admin/v1/settlements", `{"windows":[]}`, 400, "MISSING_FIELD"},
		{"create windows not an array", "POST", "/admin/v1/settlements", `{"windows":1}`, 400, "WRONG_TYPE"},
		{"create window zero", "POST", "/admin/v1/settlements", `{"windows":[0]}`, 400, "INVALID_ID"},
		{"create window fraction", "POST", "/admin/v1/settlements", `{"windows":[1.5]}`, 400, "INVALID_ID"},
		{"create window exponent", "POST", "/admin/v1/settlements", `{"windows":[1e1]}`, 400, "INVALID_ID"},
		{"create window negative", "POST", "/admin/v1/settlements", `{"windows":[-1]}`, 400, "INVALID_ID"},
		{"create window string", "POST", "/admin/v1/settlements", `{"windows":["1"]}`, 400, "INVALID_ID"},
		{"create window null", "POST", "/admin/v1/settlements", `{"windows":[null]}`, 400, "INVALID_ID"},
		{"create window twice", "POST", "/admin/v1/settlements", fmt.Sprintf(`{"windows":[%d,%d]}`, w2, w2), 400, "INVALID_ID"},
		{"create unknown window", "POST", "/admin/v1/settlements", fmt.Sprintf(`{"windows":[%d,99]}`, w2), 404, "WINDOW_NOT_FOUND"},
		{"create open window", "POST", "/admin/v1/settlements", fmt.Sprintf(`{"windows":[%d]}`, w3), 409, "WINDOW_NOT_CLOSED"},
		{"create covered window", "POST", "/admin/v1/settlements", fmt.Sprintf(`{"windows":[%d,%d]}`, w2, w1), 409, "WINDOW_NOT_CLOSED"},
		{"create other currency", "POST", "/admin/v1/settlements", fmt.Sprintf(`{"windows":[%d],"currency":"EUR"}`, w2), 400, "MIXED_WINDOWS"},
		{"create bad currency", "POST", "/admin/v1/settlements", fmt.Sprintf(`{"windows":[%d],"currency":"eur"}`, w2), 400, "UNKNOWN_CURRENCY"},
		{"create unknown field", "POST", "/admin/v1/settlements", fmt.Sprintf(`{"windows":[%d],"model":"x"}`, w2), 400, "UNKNOWN_FIELD"},
		{"create key in other case", "POST", "/admin/v1/settlements", fmt.Sprintf(`{"Windows":[%d]}`, w2), 400, "UNKNOWN_FIELD"},
		{"create not JSON", "POST", "/admin/v1/settlements", `{"windows":[`, 400, "INVALID_JSON"},
		{"list bad state", "GET", "/admin/v1/settlements?state=DONE", ``, 400, "INVALID_STATE"},
		{"list bad currency", "GET", "/admin/v1/settlements?currency=usd", ``, 400, "UNKNOWN_CURRENCY"},
		{"list unknown parameter", "GET", "/admin/v1/settlements?windows=1", ``, 400, "INVALID_QUERY"},
		{"get unknown", "GET", "/admin/v1/settlements/99", ``, 404, "SETTLEMENT_NOT_FOUND"},
		{"get bad id", "GET", "/admin/v1/settlements/1.0", ``, 400, "INVALID_ID"},
		{"state bad name", "PUT", fmt.Sprintf("/admin/v1/settlements/%d/state", s1.ID), `{"state":"RECORDED"}`, 400, "INVALID_STATE"},
		{"state missing", "PUT", fmt.Sprintf("/admin/v1/settlements/%d/state", s1.ID), `{"reason":"x"}`, 400, "MISSING_FIELD"},
		{"state reason too long", "PUT", fmt.Sprintf("/admin/v1/settlements/%d/state", s1.ID), `{"state":"ABORTED","reason":"` + reason + `"}`, 400, "INVALID_REASON"},
		{"state skipping a step", "PUT", fmt.Sprintf("/admin/v1/settlements/%d/state", s1.ID), `{"state":"PS_TRANSFERS_RESERVED"}`, 409, "SETTLEMENT_TRANSITION"},
		{"state backwards", "PUT", fmt.Sprintf("/admin/v1/settlements/%d/state", s1.ID), `{"state":"SETTLED"}`, 409, "SETTLEMENT_TRANSITION"},
		{"state of unknown", "PUT", "/admin/v1/settlements/99/state", `{"state":"PS_TRANSFERS_RECORDED"}`, 404, "SETTLEMENT_NOT_FOUND"},
		{"state bad id", "PUT", "/admin/v1/settlements/0/state", `{"state":"PS_TRANSFERS_RECORDED"}`, 400, "INVALID_ID"},
		{"settle bad id", "POST", "/admin/v1/settlements/abc/settle", ``, 400, "INVALID_ID"},
		{"wrong method", "DELETE", "/admin/v1/settlements/1", ``, 405, "METHOD_NOT_ALLOWED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.refused(t, tt.method, tt.path, tt.body, tt.wantStatus, tt.wantCode)
		})
	}

	t.Run("no content type", func(t *testing.T) {
		before := h.settlementState()
		status, _, b := h.do("POST", "/admin/v1/settlement-windows/close", "", `{"currency":"USD"}`)
		if status != http.StatusUnsupportedMediaType || errorCode(t, b) != "UNSUPPORTED_MEDIA_TYPE" {
			t.Errorf("status %d: %s", status, b)
		}
		if h.settlementState() != before {
			t.Errorf("state changed")
		}
	})
	t.Run("messages name the windows", func(t *testing.T) {
		tests := []struct{ body, want string }{
			{fmt.Sprintf(`{"windows":[%d,99]}`, w2), "no settlement window has id 99"},
			{fmt.Sprintf(`{"windows":[%d]}`, w3), fmt.Sprintf("window %d is still open", w3)},
			{fmt.Sprintf(`{"windows":[%d,%d]}`, w2, w1), fmt.Sprintf("window %d is already being settled by settlement %d", w1, s1.ID)},
			{fmt.Sprintf(`{"windows":[%d],"currency":"EUR"}`, w2), fmt.Sprintf("window %d is in USD, not EUR", w2)},
		}
		for _, tt := range tests {
			_, _, b := h.do("POST", "/admin/v1/settlements", "application/json", tt.body)
			var e adminapi.ErrorBody
			if err := json.Unmarshal(b, &e); err != nil || !strings.Contains(e.Error.Message, tt.want) {
				t.Errorf("%s: message %q, want it to contain %q", tt.body, e.Error.Message, tt.want)
			}
		}
	})
}

// TestSettlementCodesDocumented checks the settlement routes' own codes are
// in the document's enum.
func TestSettlementCodesDocumented(t *testing.T) {
	for _, code := range []string{codeInvalidModel, codeInvalidState} {
		if !bytes.Contains(openAPI, []byte("- "+code+"\n")) {
			t.Errorf("error code %s is not in the document's enum", code)
		}
	}
	for _, e := range []*ledger.Error{ledger.ErrNoWindow, ledger.ErrWindowNotFound, ledger.ErrWindowNotOpen, ledger.ErrWindowNotClosed,
		ledger.ErrMixedWindows, ledger.ErrGrossWindow, ledger.ErrSettlementNotFound, ledger.ErrSettlementTransition} {
		if _, ok := ledgerStatus[e.Code]; !ok {
			t.Errorf("ledger code %s has no status", e.Code)
		}
	}
}

// TestClassifyTransitionError checks a refused settlement step is a
// conflict with the ledger's own words, wrapped or not.
func TestClassifyTransitionError(t *testing.T) {
	te := &ledger.TransitionError{From: ledger.SettlementPending, To: ledger.SettlementReserved}
	for _, err := range []error{te, fmt.Errorf("step: %w", te)} {
		ae := classify(err)
		if ae.status != http.StatusConflict || ae.code != "SETTLEMENT_TRANSITION" ||
			ae.msg != strings.TrimPrefix(te.Error(), "ledger: ") || !strings.Contains(ae.msg, "PS_TRANSFERS_RECORDED") {
			t.Errorf("classify(%v) = %d %s %q", err, ae.status, ae.code, ae.msg)
		}
	}
}

func TestParseSeq(t *testing.T) {
	tests := []struct {
		in   string
		want uint64 // 0: refused
	}{
		{"1", 1}, {"12", 12}, {"9007199254740991", 1<<53 - 1},
		{"", 0}, {"0", 0}, {"00", 0}, {"012", 0}, {"-1", 0}, {"+1", 0}, {" 1", 0}, {"1 ", 0}, {"1.0", 0}, {"1e3", 0},
		{"0x1", 0}, {"9007199254740992", 0}, {"18446744073709551616", 0}, {"١", 0},
	}
	for _, tt := range tests {
		got, err := parseSeq("id", tt.in)
		if got != tt.want || (err == nil) != (tt.want != 0) {
			t.Errorf("parseSeq(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParseSeq checks parseSeq accepts exactly the canonical decimal form
// of the numbers from 1 to maxSeq.
func FuzzParseSeq(f *testing.F) {
	for _, s := range []string{"1", "0", "007", "9007199254740991", "9007199254740992", "-3", "1_000", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSeq("id", s)
		if err != nil {
			if n != 0 {
				t.Fatalf("parseSeq(%q) = %d with error %v", s, n, err)
			}
			return
		}
		if n < 1 || n > maxSeq || strconv.FormatUint(n, 10) != s {
			t.Fatalf("parseSeq(%q) = %d", s, n)
		}
	})
}

// FuzzSettlementJSON posts arbitrary bodies to the settlement routes that
// take one and checks the server never fails (5xx) and answers either
// success or the API's error body with a code.
func FuzzSettlementJSON(f *testing.F) {
	h := newSettlementHarness(f, "a", "b")
	w1 := h.openWindow()
	h.pay("a", "b", 100)
	h.close(w1)
	endpoints := []struct{ method, path string }{
		{"PUT", "/admin/v1/settlement-models/USD"},
		{"PUT", "/admin/v1/settlement-models/EUR"},
		{"POST", "/admin/v1/settlement-windows/close"},
		{"POST", fmt.Sprintf("/admin/v1/settlement-windows/%d/close", w1)},
		{"POST", "/admin/v1/settlements"},
		{"PUT", "/admin/v1/settlements/1/state"},
		{"POST", "/admin/v1/settlements/1/settle"},
	}
	seeds := []string{
		``, `{}`, `null`, `[]`, `{"windows":[1]}`, `{"windows":[1,2,3]}`, `{"windows":[-0]}`, `{"windows":[1e400]}`,
		`{"windows":[18446744073709551616]}`, `{"windows":[1],"currency":"USD"}`, `{"windows":[{}]}`,
		`{"model":"DEFERRED_BILATERAL_NET"}`, `{"model":"IMMEDIATE_GROSS"}`, `{"currency":"USD"}`,
		`{"state":"PS_TRANSFERS_RECORDED"}`, `{"state":"ABORTED","reason":"x"}`, `{"state":"SETTLED"}`,
		`{"state":"ABORTED","reason":"\ud800"}`,
	}
	for i := range endpoints {
		for _, s := range seeds {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, body string) {
		ep := endpoints[int(endpoint)%len(endpoints)]
		status, hdr, b := request(t, h.srv, ep.method, ep.path, "application/json", body)
		if status >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", ep.method, ep.path, body, status, b)
		}
		if hdr.Get("Content-Type") != "application/json" || !json.Valid(b) {
			t.Fatalf("%s %s %q: Content-Type %q, body %s", ep.method, ep.path, body, hdr.Get("Content-Type"), b)
		}
		if status/100 != 2 {
			var e adminapi.ErrorBody
			if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%s %s %q: status %d without an error body: %s", ep.method, ep.path, body, status, b)
			}
		}
	})
}
