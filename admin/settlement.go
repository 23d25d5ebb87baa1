package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hutong/hutong/ledger"
)

// Codes of the settlement routes.
const (
	codeInvalidModel = "INVALID_MODEL"
	codeInvalidState = "INVALID_STATE"
)

// maxSeq is the largest window or settlement id the API parses; ids are
// JSON numbers, exact in every client up to 2^53.
const maxSeq = 1<<53 - 1

// The settlement JSON. Amounts are in the window's or settlement's
// currency; counts are numbers of payments.

// modelJSON is a currency's settlement model and the window open in it.
type modelJSON struct {
	Currency string `json:"currency"`
	Model    string `json:"model"`
	Window   uint64 `json:"window"`
}

type modelList struct {
	Models []modelJSON `json:"models"`
}

// windowJSON is a settlement window without its flows.
type windowJSON struct {
	ID         uint64 `json:"id"`
	Currency   string `json:"currency"`
	Model      string `json:"model"`
	State      string `json:"state"`
	Opened     string `json:"opened"`
	Closed     string `json:"closed,omitempty"`
	Settlement uint64 `json:"settlement,omitempty"`
	Count      int64  `json:"count"`
	Amount     string `json:"amount"`
}

// windowDetail is a window with what each payer paid each payee in it.
type windowDetail struct {
	windowJSON
	Flows []flowJSON `json:"flows"`
}

// flowJSON is, in a window, what Payer paid Payee; in a settlement's owed,
// what Payer owes Payee after netting the pair, Count being the payments
// both ways.
type flowJSON struct {
	Payer  string `json:"payer"`
	Payee  string `json:"payee"`
	Count  int64  `json:"count"`
	Amount string `json:"amount"`
}

type windowList struct {
	Windows []windowJSON `json:"windows"`
}

// closedWindow answers a close: the window closed and the one opened in its
// place.
type closedWindow struct {
	Closed windowDetail `json:"closed"`
	Next   windowJSON   `json:"next"`
}

func toWindow(w *ledger.Window) windowJSON {
	return windowJSON{
		ID:         w.ID,
		Currency:   w.Currency,
		Model:      w.Model.String(),
		State:      w.State.String(),
		Opened:     timestamp(w.Opened),
		Closed:     timestamp(w.Closed),
		Settlement: w.Settlement,
		Count:      w.Count,
		Amount:     format(w.Amount, w.Currency),
	}
}

func toWindowDetail(w *ledger.Window) windowDetail {
	out := windowDetail{windowJSON: toWindow(w), Flows: toFlows(w.Flows, w.Currency)}
	// An open window keeps its flows in arrival order.
	slices.SortFunc(out.Flows, func(a, b flowJSON) int {
		return cmp.Or(strings.Compare(a.Payer, b.Payer), strings.Compare(a.Payee, b.Payee))
	})
	return out
}

func toFlows(fs []ledger.Flow, currency string) []flowJSON {
	out := make([]flowJSON, 0, len(fs))
	for _, f := range fs {
		out = append(out, flowJSON{Payer: f.Payer, Payee: f.Payee, Count: f.Count, Amount: format(f.Amount, currency)})
	}
	return out
}

// settlementSummary is a settlement without its nets, obligations and
// history.
type settlementSummary struct {
	ID       uint64   `json:"id"`
	Currency string   `json:"currency"`
	Model    string   `json:"model"`
	State    string   `json:"state"`
	Allowed  []string `json:"allowed"`
	Windows  []uint64 `json:"windows"`
	Created  string   `json:"created"`
	Updated  string   `json:"updated"`
	Reason   string   `json:"reason,omitempty"`
	Count    int64    `json:"count"`
	Amount   string   `json:"amount"`
	Position string   `json:"position"`
}

// settlementJSON is a settlement with every participant's net, what each
// pair owes under the bilateral model, and its history.
type settlementJSON struct {
	settlementSummary
	Nets    []netJSON         `json:"nets"`
	Owed    []flowJSON        `json:"owed,omitempty"`
	History []stateChangeJSON `json:"history"`
}

type netJSON struct {
	Participant   string `json:"participant"`
	Sent          string `json:"sent"`
	Received      string `json:"received"`
	SentCount     int64  `json:"sentCount"`
	ReceivedCount int64  `json:"receivedCount"`
	Net           string `json:"net"`
}

type stateChangeJSON struct {
	State  string `json:"state"`
	At     string `json:"at"`
	Reason string `json:"reason,omitempty"`
}

type settlementList struct {
	Settlements []settlementSummary `json:"settlements"`
}

// settlementStates lists the states in the order of the lifecycle.
var settlementStates = []ledger.SettlementState{
	ledger.SettlementPending, ledger.SettlementRecorded, ledger.SettlementReserved,
	ledger.SettlementCommitted, ledger.SettlementSettled, ledger.SettlementAborted,
}

func toSettlementSummary(s *ledger.Settlement) settlementSummary {
	out := settlementSummary{
		ID:       s.ID,
		Currency: s.Currency,
		Model:    s.Model.String(),
		State:    s.State.String(),
		Allowed:  []string{},
		Windows:  slices.Clone(s.Windows),
		Created:  timestamp(s.Created),
		Updated:  timestamp(s.Updated),
		Reason:   s.Reason,
		Count:    s.Count,
		Amount:   format(s.Amount, s.Currency),
		Position: format(s.Position, s.Currency),
	}
	if out.Windows == nil {
		out.Windows = []uint64{}
	}
	for _, st := range settlementStates {
		if s.State.CanMove(st) {
			out.Allowed = append(out.Allowed, st.String())
		}
	}
	return out
}

func toSettlement(s *ledger.Settlement) settlementJSON {
	out := settlementJSON{
		settlementSummary: toSettlementSummary(s),
		Nets:              make([]netJSON, 0, len(s.Nets)),
		History:           make([]stateChangeJSON, 0, len(s.History)),
	}
	c := s.Currency
	for _, n := range s.Nets {
		out.Nets = append(out.Nets, netJSON{Participant: n.Participant, Sent: format(n.Sent, c), Received: format(n.Received, c),
			SentCount: n.SentCount, ReceivedCount: n.ReceivedCount, Net: format(n.Net, c)})
	}
	if len(s.Owed) > 0 {
		out.Owed = toFlows(s.Owed, c)
	}
	for _, h := range s.History {
		out.History = append(out.History, stateChangeJSON{State: h.State.String(), At: timestamp(h.At), Reason: h.Reason})
	}
	return out
}

// parseSeq parses a window or settlement id, given in field (or path
// segment) name: a whole number from 1, in decimal digits only.
func parseSeq(name, s string) (uint64, error) {
	// ParseUint in base 10 takes digits only, leading zeros included: an
	// id has one spelling.
	if s != "" && s[0] != '0' {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil && n <= maxSeq {
			return n, nil
		}
	}
	return 0, badRequest(codeInvalidID, fmt.Sprintf("%s %s is not an id: write a whole number from 1 to %d in decimal digits, such as 12",
		name, strconv.Quote(truncate(s, 32)), uint64(maxSeq)))
}

func parseModel(name, s string) (ledger.Model, error) {
	m, ok := ledger.ParseModel(s)
	if !ok {
		return 0, badRequest(codeInvalidModel, fmt.Sprintf("%s %s is not a settlement model; write DEFERRED_MULTILATERAL_NET, DEFERRED_BILATERAL_NET or IMMEDIATE_GROSS",
			name, strconv.Quote(truncate(s, 40))))
	}
	return m, nil
}

func windowNotFound(id uint64) error {
	return &apiError{status: http.StatusNotFound, code: ledger.ErrWindowNotFound.Code,
		msg: fmt.Sprintf("no settlement window has id %d", id)}
}

func settlementNotFound(id uint64) error {
	return &apiError{status: http.StatusNotFound, code: ledger.ErrSettlementNotFound.Code,
		msg: fmt.Sprintf("no settlement has id %d", id)}
}

func noWindow(currency string) error {
	return &apiError{status: http.StatusConflict, code: ledger.ErrNoWindow.Code,
		msg: fmt.Sprintf("currency %s is not enabled for any participant, so it has no settlement window; "+
			"enable it for a participant with POST /admin/v1/participants/{id}/currencies", currency)}
}

func (s *Server) settlementModels(rw http.ResponseWriter, r *http.Request) error {
	var open []ledger.Window
	err := s.w.Query(r.Context(), func(l *ledger.Ledger) {
		for _, w := range l.Windows("", false) {
			if w.State == ledger.WindowOpen {
				open = append(open, w)
			}
		}
	})
	if err != nil {
		return err
	}
	slices.SortFunc(open, func(a, b ledger.Window) int { return cmp.Compare(a.Currency, b.Currency) })
	out := modelList{Models: make([]modelJSON, 0, len(open))}
	for _, w := range open {
		out.Models = append(out.Models, modelJSON{Currency: w.Currency, Model: w.Model.String(), Window: w.ID})
	}
	writeJSON(rw, http.StatusOK, out)
	return nil
}

func (s *Server) setSettlementModel(rw http.ResponseWriter, r *http.Request) error {
	cur, err := currency("currency", r.PathValue("currency"))
	if err != nil {
		return err
	}
	var req struct {
		Model string `json:"model"`
	}
	if err := s.decode(rw, r, &req, bodyRequired); err != nil {
		return err
	}
	if err := required("model", req.Model); err != nil {
		return err
	}
	m, err := parseModel("model", req.Model)
	if err != nil {
		return err
	}
	res, err := s.w.Submit(r.Context(), ledger.Command{Op: ledger.OpSetModel, Currency: cur.Code, Model: m})
	if errors.Is(err, ledger.ErrNoWindow) {
		return noWindow(cur.Code)
	}
	if err != nil {
		return err
	}
	writeJSON(rw, http.StatusOK, modelJSON{Currency: cur.Code, Model: res.Window.Model.String(), Window: res.Window.ID})
	return nil
}

func (s *Server) listWindows(rw http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "currency", "state")
	if err != nil {
		return err
	}
	var code string
	if q.Has("currency") {
		c, err := currency("currency", q.Get("currency"))
		if err != nil {
			return err
		}
		code = c.Code
	}
	var state ledger.WindowState
	if q.Has("state") {
		v := q.Get("state")
		st, ok := ledger.ParseWindowState(v)
		if !ok {
			return badRequest(codeInvalidState, fmt.Sprintf("state %s is not a window state; write OPEN, CLOSED, PENDING_SETTLEMENT or SETTLED",
				strconv.Quote(truncate(v, 40))))
		}
		state = st
	}
	var ws []ledger.Window
	if err := s.w.Query(r.Context(), func(l *ledger.Ledger) { ws = l.Windows(code, false) }); err != nil {
		return err
	}
	out := windowList{Windows: make([]windowJSON, 0, len(ws))}
	for i := range ws {
		if state == 0 || ws[i].State == state {
			out.Windows = append(out.Windows, toWindow(&ws[i]))
		}
	}
	writeJSON(rw, http.StatusOK, out)
	return nil
}

func (s *Server) getWindow(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseSeq("window id", r.PathValue("id"))
	if err != nil {
		return err
	}
	var w ledger.Window
	var ok bool
	if err := s.w.Query(r.Context(), func(l *ledger.Ledger) { w, ok = l.Window(id) }); err != nil {
		return err
	}
	if !ok {
		return windowNotFound(id)
	}
	writeJSON(rw, http.StatusOK, toWindowDetail(&w))
	return nil
}

func (s *Server) closeWindow(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseSeq("window id", r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.decode(rw, r, &struct{}{}, bodyOptional); err != nil {
		return err
	}
	return s.close(rw, r, ledger.Command{Op: ledger.OpCloseWindow, Window: id})
}

func (s *Server) closeOpenWindow(rw http.ResponseWriter, r *http.Request) error {
	var req struct {
		Currency string `json:"currency"`
	}
	if err := s.decode(rw, r, &req, bodyRequired); err != nil {
		return err
	}
	if err := required("currency", req.Currency); err != nil {
		return err
	}
	cur, err := currency("currency", req.Currency)
	if err != nil {
		return err
	}
	return s.close(rw, r, ledger.Command{Op: ledger.OpCloseWindow, Currency: cur.Code})
}

// close closes a window and answers with it and the window opened in its
// place.
func (s *Server) close(rw http.ResponseWriter, r *http.Request, cmd ledger.Command) error {
	res, err := s.w.Submit(r.Context(), cmd)
	switch {
	case err == nil:
	case errors.Is(err, ledger.ErrNoWindow):
		return noWindow(cmd.Currency)
	case errors.Is(err, ledger.ErrWindowNotFound):
		return windowNotFound(cmd.Window)
	case errors.Is(err, ledger.ErrWindowNotOpen):
		return &apiError{status: http.StatusConflict, code: ledger.ErrWindowNotOpen.Code,
			msg: fmt.Sprintf("settlement window %d is already closed; GET /admin/v1/settlement-windows?state=OPEN lists the open ones", cmd.Window)}
	default:
		return err
	}
	closed := res.Window
	// The command opened the next window of the currency, and no window of
	// the currency opened after the closed one before it: the next is the
	// first of the currency with a higher id.
	var next ledger.Window
	var found bool
	err = s.w.Query(r.Context(), func(l *ledger.Ledger) {
		for _, w := range l.Windows(closed.Currency, false) {
			if w.ID > closed.ID {
				next, found = w, true
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("admin: no window of %s opened after window %d closed", closed.Currency, closed.ID)
	}
	writeJSON(rw, http.StatusOK, closedWindow{Closed: toWindowDetail(closed), Next: toWindow(&next)})
	return nil
}

func (s *Server) createSettlement(rw http.ResponseWriter, r *http.Request) error {
	var req struct {
		Windows  []json.RawMessage `json:"windows"`
		Currency string            `json:"currency"`
	}
	if err := s.decode(rw, r, &req, bodyRequired); err != nil {
		return err
	}
	if req.Windows == nil {
		return badRequest(codeMissingField, "field \"windows\" is required: the ids of the closed windows to settle, such as [1, 2]")
	}
	if len(req.Windows) == 0 {
		return badRequest(codeMissingField, "field \"windows\" must name at least one window")
	}
	if len(req.Windows) > ledger.MaxSettlementWindows {
		return badRequest(codeInvalidID, fmt.Sprintf("field \"windows\" names %d windows; a settlement covers at most %d",
			len(req.Windows), ledger.MaxSettlementWindows))
	}
	ids := make([]uint64, 0, len(req.Windows))
	for i, raw := range req.Windows {
		id, err := parseSeq(fmt.Sprintf("windows[%d]", i), strings.TrimSpace(string(raw)))
		if err != nil {
			return err
		}
		if slices.Contains(ids, id) {
			return badRequest(codeInvalidID, fmt.Sprintf("window %d is named twice in \"windows\"", id))
		}
		ids = append(ids, id)
	}
	var code string
	if req.Currency != "" {
		c, err := currency("currency", req.Currency)
		if err != nil {
			return err
		}
		code = c.Code
	}
	res, err := s.w.Submit(r.Context(), ledger.Command{Op: ledger.OpCreateSettlement, Windows: ids, Currency: code})
	if err != nil {
		return s.refineCreate(r.Context(), err, ids, code)
	}
	rw.Header().Set("Location", "/admin/v1/settlements/"+strconv.FormatUint(res.Settlement.ID, 10))
	writeJSON(rw, http.StatusCreated, toSettlement(res.Settlement))
	return nil
}

// refineCreate says which window stopped a settlement being created. Windows
// are never removed and their currency and model never change, so the
// ledger's state read after the refusal still shows why.
func (s *Server) refineCreate(ctx context.Context, err error, ids []uint64, currency string) error {
	var le *ledger.Error
	if !errors.As(err, &le) {
		return err
	}
	var ws []ledger.Window
	var missing uint64
	qerr := s.w.Query(ctx, func(l *ledger.Ledger) {
		for _, id := range ids {
			w, ok := l.Window(id)
			if !ok {
				missing = id
				return
			}
			w.Flows = nil
			ws = append(ws, w)
		}
	})
	if qerr != nil {
		return err
	}
	status := ledgerStatus[le.Code]
	switch le {
	case ledger.ErrWindowNotFound:
		if missing != 0 {
			return windowNotFound(missing)
		}
	case ledger.ErrWindowNotClosed:
		for _, w := range ws {
			switch w.State {
			case ledger.WindowOpen:
				return &apiError{status: status, code: le.Code,
					msg: fmt.Sprintf("settlement window %d is still open; close it first with POST /admin/v1/settlement-windows/%d/close", w.ID, w.ID)}
			case ledger.WindowPendingSettlement:
				return &apiError{status: status, code: le.Code,
					msg: fmt.Sprintf("settlement window %d is already being settled by settlement %d", w.ID, w.Settlement)}
			case ledger.WindowSettled:
				return &apiError{status: status, code: le.Code,
					msg: fmt.Sprintf("settlement window %d is already settled", w.ID)}
			}
		}
	case ledger.ErrMixedWindows:
		for _, w := range ws {
			first := ws[0]
			if currency != "" && w.Currency != currency {
				return &apiError{status: status, code: le.Code,
					msg: fmt.Sprintf("settlement window %d is in %s, not %s", w.ID, w.Currency, currency)}
			}
			if w.Currency != first.Currency || w.Model != first.Model {
				return &apiError{status: status, code: le.Code,
					msg: fmt.Sprintf("settlement windows %d (%s, %s) and %d (%s, %s) differ; a settlement covers windows of one currency and one model",
						first.ID, first.Currency, first.Model, w.ID, w.Currency, w.Model)}
			}
		}
	case ledger.ErrGrossWindow:
		for _, w := range ws {
			if w.Model == ledger.ModelGross {
				return &apiError{status: status, code: le.Code,
					msg: fmt.Sprintf("settlement window %d is %s: its payments settled as they committed, and it was settled when it closed", w.ID, w.Model)}
			}
		}
	}
	return err
}

func (s *Server) listSettlements(rw http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "currency", "state")
	if err != nil {
		return err
	}
	var code string
	if q.Has("currency") {
		c, err := currency("currency", q.Get("currency"))
		if err != nil {
			return err
		}
		code = c.Code
	}
	var state ledger.SettlementState
	if q.Has("state") {
		st, err := parseSettlementState("state", q.Get("state"))
		if err != nil {
			return err
		}
		state = st
	}
	var ss []ledger.Settlement
	if err := s.w.Query(r.Context(), func(l *ledger.Ledger) { ss = l.Settlements() }); err != nil {
		return err
	}
	out := settlementList{Settlements: make([]settlementSummary, 0, len(ss))}
	for i := range ss {
		if (code == "" || ss[i].Currency == code) && (state == 0 || ss[i].State == state) {
			out.Settlements = append(out.Settlements, toSettlementSummary(&ss[i]))
		}
	}
	writeJSON(rw, http.StatusOK, out)
	return nil
}

func parseSettlementState(name, s string) (ledger.SettlementState, error) {
	st, ok := ledger.ParseSettlementState(s)
	if !ok {
		names := make([]string, len(settlementStates))
		for i, st := range settlementStates {
			names[i] = st.String()
		}
		return 0, badRequest(codeInvalidState, fmt.Sprintf("%s %s is not a settlement state; write one of %s",
			name, strconv.Quote(truncate(s, 40)), strings.Join(names, ", ")))
	}
	return st, nil
}

// settlement reads one settlement.
func (s *Server) settlement(ctx context.Context, id uint64) (ledger.Settlement, error) {
	var st ledger.Settlement
	var ok bool
	if err := s.w.Query(ctx, func(l *ledger.Ledger) { st, ok = l.Settlement(id) }); err != nil {
		return st, err
	}
	if !ok {
		return st, settlementNotFound(id)
	}
	return st, nil
}

func (s *Server) getSettlement(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseSeq("settlement id", r.PathValue("id"))
	if err != nil {
		return err
	}
	st, err := s.settlement(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(rw, http.StatusOK, toSettlement(&st))
	return nil
}

func (s *Server) setSettlementState(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseSeq("settlement id", r.PathValue("id"))
	if err != nil {
		return err
	}
	var req struct {
		State  string `json:"state"`
		Reason string `json:"reason"`
	}
	if err := s.decode(rw, r, &req, bodyRequired); err != nil {
		return err
	}
	if err := required("state", req.State); err != nil {
		return err
	}
	to, err := parseSettlementState("state", req.State)
	if err != nil {
		return err
	}
	if len(req.Reason) > ledger.MaxReason {
		return badRequest(codeInvalidReason, fmt.Sprintf("reason is %d bytes; at most %d are kept", len(req.Reason), ledger.MaxReason))
	}
	if to == ledger.SettlementAborted && strings.TrimSpace(req.Reason) == "" {
		return badRequest(codeMissingField, "field \"reason\" is required to abort a settlement: say why, for the record")
	}
	res, err := s.moveSettlement(r.Context(), id, to, req.Reason)
	if err != nil {
		return err
	}
	writeJSON(rw, http.StatusOK, toSettlement(res))
	return nil
}

// moveSettlement submits one state change.
func (s *Server) moveSettlement(ctx context.Context, id uint64, to ledger.SettlementState, reason string) (*ledger.Settlement, error) {
	res, err := s.w.Submit(ctx, ledger.Command{Op: ledger.OpSettlementState, Settlement: id, SettlementState: to, Reason: reason})
	if errors.Is(err, ledger.ErrSettlementNotFound) {
		return nil, settlementNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	return res.Settlement, nil
}

// settleSteps is the way from each state to SETTLED.
var settleSteps = map[ledger.SettlementState]ledger.SettlementState{
	ledger.SettlementPending:   ledger.SettlementRecorded,
	ledger.SettlementRecorded:  ledger.SettlementReserved,
	ledger.SettlementReserved:  ledger.SettlementCommitted,
	ledger.SettlementCommitted: ledger.SettlementSettled,
}

func (s *Server) settle(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseSeq("settlement id", r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.decode(rw, r, &struct{}{}, bodyOptional); err != nil {
		return err
	}
	st, err := s.settlement(r.Context(), id)
	if err != nil {
		return err
	}
	cur := &st
	for cur.State != ledger.SettlementSettled {
		to, ok := settleSteps[cur.State]
		if !ok {
			return &apiError{status: http.StatusConflict, code: ledger.ErrSettlementTransition.Code,
				msg: fmt.Sprintf("settlement %d is %s; it cannot be settled", id, cur.State)}
		}
		next, err := s.moveSettlement(r.Context(), id, to, "")
		if err != nil {
			// Each step is its own command: those before this one stand.
			ae := classify(err)
			reached := "is at " + cur.State.String()
			if ae.code == codeOutcomeUnknown {
				reached = "reached at least " + cur.State.String()
			}
			return &apiError{status: ae.status, code: ae.code, err: ae.err,
				msg: fmt.Sprintf("settlement %d %s; the step to %s failed: %s", id, reached, to, ae.msg)}
		}
		cur = next
	}
	writeJSON(rw, http.StatusOK, toSettlement(cur))
	return nil
}
