package admin

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hutong/hutong/ledger"
)

// Paging of a participant's transfers.
const (
	defaultLimit = 50
	maxLimit     = 500
)

func (s *Server) participantAccounts(rw http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var p ledger.Participant
	var found bool
	var accounts []ledger.Account
	err := s.w.Query(r.Context(), func(l *ledger.Ledger) {
		if p, found = l.Participant(id); !found {
			return
		}
		for _, c := range p.Currencies {
			for _, t := range []ledger.AccountType{ledger.AccountPosition, ledger.AccountSettlement} {
				if a, ok := l.Account(ledger.AccountKey{Participant: id, Currency: c.Currency, Type: t}); ok {
					accounts = append(accounts, a)
				}
			}
		}
	})
	if err != nil {
		return err
	}
	if !found {
		return participantNotFound(id)
	}
	out := accountList{Participant: id, Accounts: make([]accountJSON, 0, len(accounts))}
	for i := range accounts {
		limit, _ := p.Limit(accounts[i].Currency)
		out.Accounts = append(out.Accounts, toAccount(&accounts[i], limit.NDC))
	}
	writeJSON(rw, http.StatusOK, out)
	return nil
}

func (s *Server) positions(rw http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "currency")
	if err != nil {
		return err
	}
	code := q.Get("currency")
	if code == "" {
		return badRequest(codeInvalidQuery, "query parameter \"currency\" is required, e.g. ?currency=USD")
	}
	cur, err := currency("currency", code)
	if err != nil {
		return err
	}
	type row struct {
		p      ledger.Participant
		ndc    int64
		pos    ledger.Account
		settle ledger.Account
	}
	var rows []row
	var hub []ledger.Account
	err = s.w.Query(r.Context(), func(l *ledger.Ledger) {
		for _, p := range l.Participants() {
			limit, ok := p.Limit(cur.Code)
			if !ok {
				continue
			}
			pos, ok1 := l.Account(ledger.AccountKey{Participant: p.ID, Currency: cur.Code, Type: ledger.AccountPosition})
			settle, ok2 := l.Account(ledger.AccountKey{Participant: p.ID, Currency: cur.Code, Type: ledger.AccountSettlement})
			if ok1 && ok2 {
				rows = append(rows, row{p: p, ndc: limit.NDC, pos: pos, settle: settle})
			}
		}
		for _, t := range []ledger.AccountType{ledger.AccountHubMultilateral, ledger.AccountHubReconciliation, ledger.AccountHubFees} {
			if a, ok := l.Account(ledger.AccountKey{Participant: ledger.HubID, Currency: cur.Code, Type: t}); ok {
				hub = append(hub, a)
			}
		}
	})
	if err != nil {
		return err
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.p.ID, b.p.ID) })
	out := positionReport{Currency: cur.Code, Participants: make([]positionJSON, 0, len(rows)), Hub: make([]accountJSON, 0, len(hub))}
	for i := range rows {
		out.Participants = append(out.Participants, toPosition(&rows[i].p, rows[i].ndc, &rows[i].pos, &rows[i].settle))
	}
	for i := range hub {
		out.Hub = append(out.Hub, toAccount(&hub[i], 0))
	}
	writeJSON(rw, http.StatusOK, out)
	return nil
}

func (s *Server) getTransfer(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseID("transfer id", r.PathValue("id"))
	if err != nil {
		return err
	}
	t, err := s.w.Transfer(r.Context(), id)
	if err != nil {
		if errors.Is(err, ledger.ErrTransferNotFound) {
			return transferNotFound(id)
		}
		return err
	}
	writeJSON(rw, http.StatusOK, toTransfer(&t))
	return nil
}

func (s *Server) participantTransfers(rw http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	q, err := query(r, "limit", "cursor")
	if err != nil {
		return err
	}
	limit := defaultLimit
	if q.Has("limit") {
		v := q.Get("limit")
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return badRequest(codeInvalidQuery, fmt.Sprintf("limit %s must be a whole number from 1 to %d", strconv.Quote(truncate(v, 32)), maxLimit))
		}
		limit = n
	}
	var found bool
	if err := s.w.Query(r.Context(), func(l *ledger.Ledger) { _, found = l.Participant(id) }); err != nil {
		return err
	}
	if !found {
		return participantNotFound(id)
	}
	// The store holds what the last checkpoint wrote; make it cover every
	// transfer acknowledged so far.
	if err := s.w.Checkpoint(r.Context()); err != nil {
		return err
	}
	ts, next, err := s.w.Store().ParticipantTransfers(r.Context(), id, q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := transferPage{Transfers: make([]transferJSON, 0, len(ts)), Next: next}
	for i := range ts {
		out.Transfers = append(out.Transfers, toTransfer(&ts[i]))
	}
	writeJSON(rw, http.StatusOK, out)
	return nil
}

func (s *Server) stats(rw http.ResponseWriter, _ *http.Request) error {
	writeJSON(rw, http.StatusOK, toStats(s.w.Stats()))
	return nil
}

// query returns the request's query parameters, refusing any not in allowed
// and any given twice: a misspelt parameter is an error, not a default.
func query(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest(codeInvalidQuery, "the query string is malformed")
	}
	for name, vs := range q {
		if !slices.Contains(allowed, name) {
			return nil, badRequest(codeInvalidQuery, fmt.Sprintf("unknown query parameter %s; this endpoint takes %s",
				strconv.Quote(truncate(name, 32)), strings.Join(allowed, ", ")))
		}
		if len(vs) > 1 {
			return nil, badRequest(codeInvalidQuery, fmt.Sprintf("query parameter %q is given %d times", name, len(vs)))
		}
	}
	return q, nil
}
