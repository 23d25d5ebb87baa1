package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hutong/hutong/admin/adminapi"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/operate"
)

func (s *Server) fundsIn(rw http.ResponseWriter, r *http.Request) error {
	return s.funds(rw, r, (*operate.Workflows).FundsIn)
}

func (s *Server) fundsOut(rw http.ResponseWriter, r *http.Request) error {
	return s.funds(rw, r, (*operate.Workflows).FundsOut)
}

// funds moves collateral in, or reserves it to go out, with move.
func (s *Server) funds(rw http.ResponseWriter, r *http.Request, move func(*operate.Workflows, context.Context, operate.Funds) (operate.Moved, error)) error {
	participant := r.PathValue("id")
	var req adminapi.FundsRequest
	if err := s.decode(rw, r, &req, bodyRequired); err != nil {
		return err
	}
	if err := required("id", req.ID, "currency", req.Currency, "amount", req.Amount); err != nil {
		return err
	}
	id, err := parseID("id", req.ID)
	if err != nil {
		return err
	}
	cur, err := currency("currency", req.Currency)
	if err != nil {
		return err
	}
	amt, err := amount(req.Amount, cur)
	if err != nil {
		return err
	}
	res, err := move(s.ops, r.Context(), operate.Funds{ID: id, Participant: participant, Currency: cur.Code, Amount: amt})
	if errors.Is(err, ledger.ErrInvalidAmount) {
		return badRequest(codeInvalidAmount, "amount must be greater than zero")
	}
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	rw.Header().Set("Location", "/admin/v1/transfers/"+res.Transfer.ID.String())
	writeJSON(rw, status, toTransfer(&res.Transfer))
	return nil
}

func (s *Server) commitFundsOut(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseID("transferId", r.PathValue("transferId"))
	if err != nil {
		return err
	}
	if err := s.decode(rw, r, &struct{}{}, bodyOptional); err != nil {
		return err
	}
	t, err := s.ops.CommitFundsOut(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(rw, http.StatusOK, toTransfer(&t))
	return nil
}

func (s *Server) abortFundsOut(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseID("transferId", r.PathValue("transferId"))
	if err != nil {
		return err
	}
	var req adminapi.AbortFundsOutRequest
	if err := s.decode(rw, r, &req, bodyOptional); err != nil {
		return err
	}
	t, err := s.ops.AbortFundsOut(r.Context(), id, req.Reason)
	if err != nil {
		return err
	}
	writeJSON(rw, http.StatusOK, toTransfer(&t))
	return nil
}

func transferNotFound(id ledger.ID) *apiError {
	return &apiError{status: http.StatusNotFound, code: ledger.ErrTransferNotFound.Code,
		msg: fmt.Sprintf("no transfer has id %s", id)}
}
