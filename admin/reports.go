package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hutong/hutong/admin/adminapi"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
)

// Paging of a participant's transfers.
const (
	defaultLimit = 50
	maxLimit     = 500
)

func (s *Server) participantAccounts(rw http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	_, accounts, err := s.ops.Accounts(r.Context(), id)
	if err != nil {
		return err
	}
	out := adminapi.AccountList{Participant: id, Accounts: make([]adminapi.Account, 0, len(accounts))}
	for i := range accounts {
		out.Accounts = append(out.Accounts, toAccount(&accounts[i].Account, accounts[i].NDC))
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
	ps, err := s.ops.Positions(r.Context(), cur.Code)
	if err != nil {
		return err
	}
	out := adminapi.Positions{Currency: ps.Currency, Participants: make([]adminapi.Position, 0, len(ps.Participants)),
		Hub: make([]adminapi.Account, 0, len(ps.Hub))}
	for i := range ps.Participants {
		out.Participants = append(out.Participants, toPosition(&ps.Participants[i]))
	}
	for i := range ps.Hub {
		out.Hub = append(out.Hub, toAccount(&ps.Hub[i], 0))
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
	var ts []ledger.Transfer
	var next string
	err = s.w.Read(r.Context(), func(st store.Reader) error {
		var err error
		ts, next, err = st.ParticipantTransfers(r.Context(), id, q.Get("cursor"), limit)
		return err
	})
	if err != nil {
		return err
	}
	out := adminapi.TransferPage{Transfers: make([]adminapi.Transfer, 0, len(ts)), Next: next}
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
