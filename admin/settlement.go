package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hutong/hutong/admin/adminapi"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/operate"
)

// Codes of the settlement routes.
const (
	codeInvalidModel = "INVALID_MODEL"
	codeInvalidState = "INVALID_STATE"
)

// maxSeq is the largest window or settlement id the API parses; ids are
// JSON numbers, exact in every client up to 2^53.
const maxSeq = 1<<53 - 1

// The settlement JSON, from the ledger's windows and settlements. Amounts
// are in the window's or settlement's currency; counts are numbers of
// payments.

func toWindow(w *ledger.Window) adminapi.Window {
	return adminapi.Window{
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

// toWindowDetail converts a window with its flows, which operate gives
// sorted by payer and payee.
func toWindowDetail(w *ledger.Window) adminapi.WindowDetail {
	return adminapi.WindowDetail{Window: toWindow(w), Flows: toFlows(w.Flows, w.Currency)}
}

func toFlows(fs []ledger.Flow, currency string) []adminapi.Flow {
	out := make([]adminapi.Flow, 0, len(fs))
	for _, f := range fs {
		out = append(out, adminapi.Flow{Payer: f.Payer, Payee: f.Payee, Count: f.Count, Amount: format(f.Amount, currency)})
	}
	return out
}

// settlementStates lists the states in the order of the lifecycle.
var settlementStates = []ledger.SettlementState{
	ledger.SettlementPending, ledger.SettlementRecorded, ledger.SettlementReserved,
	ledger.SettlementCommitted, ledger.SettlementSettled, ledger.SettlementAborted,
}

func toSettlementSummary(s *ledger.Settlement) adminapi.SettlementSummary {
	out := adminapi.SettlementSummary{
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

func toSettlement(s *ledger.Settlement) adminapi.Settlement {
	out := adminapi.Settlement{
		SettlementSummary: toSettlementSummary(s),
		Nets:              make([]adminapi.Net, 0, len(s.Nets)),
		History:           make([]adminapi.StateChange, 0, len(s.History)),
	}
	c := s.Currency
	for _, n := range s.Nets {
		out.Nets = append(out.Nets, adminapi.Net{Participant: n.Participant, Sent: format(n.Sent, c), Received: format(n.Received, c),
			SentCount: n.SentCount, ReceivedCount: n.ReceivedCount, Net: format(n.Net, c)})
	}
	if len(s.Owed) > 0 {
		out.Owed = toFlows(s.Owed, c)
	}
	for _, h := range s.History {
		out.History = append(out.History, adminapi.StateChange{State: h.State.String(), At: timestamp(h.At), Reason: h.Reason})
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

func (s *Server) settlementModels(rw http.ResponseWriter, r *http.Request) error {
	ms, err := s.ops.Models(r.Context())
	if err != nil {
		return err
	}
	out := adminapi.ModelList{Models: make([]adminapi.SettlementModel, 0, len(ms))}
	for _, m := range ms {
		out.Models = append(out.Models, toModel(m))
	}
	writeJSON(rw, http.StatusOK, out)
	return nil
}

func toModel(m operate.CurrencyModel) adminapi.SettlementModel {
	return adminapi.SettlementModel{Currency: m.Currency, Model: m.Model.String(), Window: m.Window}
}

func (s *Server) setSettlementModel(rw http.ResponseWriter, r *http.Request) error {
	cur, err := currency("currency", r.PathValue("currency"))
	if err != nil {
		return err
	}
	var req adminapi.ModelRequest
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
	res, err := s.ops.SetModel(r.Context(), cur.Code, m)
	if err != nil {
		return err
	}
	writeJSON(rw, http.StatusOK, toModel(res))
	return nil
}

func (s *Server) listWindows(rw http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "currency", "state")
	if err != nil {
		return err
	}
	var f operate.WindowFilter
	if q.Has("currency") {
		c, err := currency("currency", q.Get("currency"))
		if err != nil {
			return err
		}
		f.Currency = c.Code
	}
	if q.Has("state") {
		v := q.Get("state")
		st, ok := ledger.ParseWindowState(v)
		if !ok {
			return badRequest(codeInvalidState, fmt.Sprintf("state %s is not a window state; write OPEN, CLOSED, PENDING_SETTLEMENT or SETTLED",
				strconv.Quote(truncate(v, 40))))
		}
		f.State = st
	}
	ws, err := s.ops.Windows(r.Context(), f)
	if err != nil {
		return err
	}
	out := adminapi.WindowList{Windows: make([]adminapi.Window, 0, len(ws))}
	for i := range ws {
		out.Windows = append(out.Windows, toWindow(&ws[i]))
	}
	writeJSON(rw, http.StatusOK, out)
	return nil
}

func (s *Server) getWindow(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseSeq("window id", r.PathValue("id"))
	if err != nil {
		return err
	}
	w, err := s.ops.Window(r.Context(), id)
	if err != nil {
		return err
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
	res, err := s.ops.CloseWindow(r.Context(), id)
	return writeClosed(rw, res, err)
}

func (s *Server) closeOpenWindow(rw http.ResponseWriter, r *http.Request) error {
	var req adminapi.CloseWindowRequest
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
	res, err := s.ops.CloseOpenWindow(r.Context(), cur.Code)
	return writeClosed(rw, res, err)
}

// writeClosed answers a close with the window closed and the window opened
// in its place.
func writeClosed(rw http.ResponseWriter, res operate.ClosedWindow, err error) error {
	if err != nil {
		return err
	}
	writeJSON(rw, http.StatusOK, adminapi.ClosedWindow{Closed: toWindowDetail(&res.Closed), Next: toWindow(&res.Next)})
	return nil
}

func (s *Server) createSettlement(rw http.ResponseWriter, r *http.Request) error {
	// The windows are decoded one by one, so that a bad one is named by
	// its place in the list.
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
	st, err := s.ops.CreateSettlement(r.Context(), ids, code)
	if err != nil {
		return err
	}
	rw.Header().Set("Location", "/admin/v1/settlements/"+strconv.FormatUint(st.ID, 10))
	writeJSON(rw, http.StatusCreated, toSettlement(&st))
	return nil
}

func (s *Server) listSettlements(rw http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "currency", "state")
	if err != nil {
		return err
	}
	var f operate.SettlementFilter
	if q.Has("currency") {
		c, err := currency("currency", q.Get("currency"))
		if err != nil {
			return err
		}
		f.Currency = c.Code
	}
	if q.Has("state") {
		st, err := parseSettlementState("state", q.Get("state"))
		if err != nil {
			return err
		}
		f.State = st
	}
	ss, err := s.ops.Settlements(r.Context(), f)
	if err != nil {
		return err
	}
	out := adminapi.SettlementList{Settlements: make([]adminapi.SettlementSummary, 0, len(ss))}
	for i := range ss {
		out.Settlements = append(out.Settlements, toSettlementSummary(&ss[i]))
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

func (s *Server) getSettlement(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseSeq("settlement id", r.PathValue("id"))
	if err != nil {
		return err
	}
	st, err := s.ops.Settlement(r.Context(), id)
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
	var req adminapi.SettlementStateRequest
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
	st, err := s.ops.SetSettlementState(r.Context(), id, to, req.Reason)
	if err != nil {
		return err
	}
	writeJSON(rw, http.StatusOK, toSettlement(&st))
	return nil
}

func (s *Server) settle(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseSeq("settlement id", r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.decode(rw, r, &struct{}{}, bodyOptional); err != nil {
		return err
	}
	st, err := s.ops.Settle(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(rw, http.StatusOK, toSettlement(&st))
	return nil
}
