package admin

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hutong/hutong/ledger"
)

// fundsRequest is the body of funds in and funds out.
type fundsRequest struct {
	ID       string `json:"id"`
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

func (s *Server) fundsIn(rw http.ResponseWriter, r *http.Request) error {
	return s.funds(rw, r, ledger.OpFundsIn)
}

func (s *Server) fundsOut(rw http.ResponseWriter, r *http.Request) error {
	return s.funds(rw, r, ledger.OpFundsOutReserve)
}

// funds moves collateral in, or reserves it to go out.
func (s *Server) funds(rw http.ResponseWriter, r *http.Request, op ledger.Op) error {
	participant := r.PathValue("id")
	var req fundsRequest
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
	cmd := ledger.Command{Op: op, ID: id, Participant: participant, Currency: cur.Code, Amount: amt}
	cmd.Fingerprint = fingerprint(&cmd)
	res, err := s.w.Submit(r.Context(), cmd)
	switch {
	case err == nil:
	case errors.Is(err, ledger.ErrModifiedRequest):
		return &apiError{status: http.StatusConflict, code: ledger.ErrModifiedRequest.Code,
			msg: fmt.Sprintf("transfer id %s was already used for a different request; use a new id for a new movement", id)}
	case errors.Is(err, ledger.ErrInsufficientLiquidity) && op == ledger.OpFundsOutReserve:
		return &apiError{status: http.StatusUnprocessableEntity, code: ledger.ErrInsufficientLiquidity.Code,
			msg: fmt.Sprintf("participant %q cannot withdraw %s %s: its settlement balance, less funds out already reserved, "+
				"would no longer cover its position and reserved payments", participant, req.Amount, cur.Code)}
	case errors.Is(err, ledger.ErrInvalidAmount):
		return badRequest(codeInvalidAmount, "amount must be greater than zero")
	default:
		return refine(err, participant, cur.Code)
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	rw.Header().Set("Location", "/admin/v1/transfers/"+res.Transfer.ID.String())
	writeJSON(rw, status, toTransfer(&res.Transfer))
	return nil
}

// fingerprint is the SHA-256 of the fields that make a funds movement what
// it is, so that a resend under the same id is recognised as the same
// request and anything else as a different one.
func fingerprint(c *ledger.Command) [32]byte {
	// Participant ids and currency codes cannot hold a NUL, so the fields
	// cannot run into each other.
	b := make([]byte, 0, 96)
	b = append(b, "hutong admin v1\x00"...)
	b = append(b, c.Op.String()...)
	b = append(b, 0)
	b = append(b, c.ID.String()...)
	b = append(b, 0)
	b = append(b, c.Participant...)
	b = append(b, 0)
	b = append(b, c.Currency...)
	b = append(b, 0)
	b = strconv.AppendInt(b, c.Amount, 10)
	return sha256.Sum256(b)
}

func (s *Server) commitFundsOut(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseID("transferId", r.PathValue("transferId"))
	if err != nil {
		return err
	}
	if err := s.decode(rw, r, &struct{}{}, bodyOptional); err != nil {
		return err
	}
	return s.finishFundsOut(rw, r, ledger.Command{Op: ledger.OpFundsOutCommit, ID: id})
}

func (s *Server) abortFundsOut(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseID("transferId", r.PathValue("transferId"))
	if err != nil {
		return err
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := s.decode(rw, r, &req, bodyOptional); err != nil {
		return err
	}
	if len(req.Reason) > ledger.MaxReason {
		return badRequest(codeInvalidReason, fmt.Sprintf("reason is %d bytes; at most %d are kept", len(req.Reason), ledger.MaxReason))
	}
	return s.finishFundsOut(rw, r, ledger.Command{Op: ledger.OpFundsOutAbort, ID: id, Reason: req.Reason})
}

func (s *Server) finishFundsOut(rw http.ResponseWriter, r *http.Request, cmd ledger.Command) error {
	res, err := s.w.Submit(r.Context(), cmd)
	switch {
	case err == nil:
	case errors.Is(err, ledger.ErrTransferNotFound):
		return transferNotFound(cmd.ID)
	case errors.Is(err, ledger.ErrWrongKind):
		return &apiError{status: http.StatusConflict, code: ledger.ErrWrongKind.Code,
			msg: fmt.Sprintf("transfer %s is not a funds out; only funds out are committed or aborted here", cmd.ID)}
	case errors.Is(err, ledger.ErrTransferFinal):
		return &apiError{status: http.StatusConflict, code: ledger.ErrTransferFinal.Code,
			msg: fmt.Sprintf("transfer %s is already final the other way; GET /admin/v1/transfers/%s shows its state", cmd.ID, cmd.ID)}
	default:
		return err
	}
	writeJSON(rw, http.StatusOK, toTransfer(&res.Transfer))
	return nil
}

func transferNotFound(id ledger.ID) error {
	return &apiError{status: http.StatusNotFound, code: ledger.ErrTransferNotFound.Code,
		msg: fmt.Sprintf("no transfer has id %s", id)}
}
