package fspiop

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
)

// transferPost is the body of POST /transfers.
type transferPost struct {
	TransferID string `json:"transferId"`
	PayeeFsp   string `json:"payeeFsp"`
	PayerFsp   string `json:"payerFsp"`
	Amount     *Money `json:"amount"`
	IlpPacket  string `json:"ilpPacket"`
	Condition  string `json:"condition"`
	Expiration string `json:"expiration"`
}

// transferPut is the body of PUT /transfers/{ID}, and of the hub's own.
type transferPut struct {
	Fulfilment         string `json:"fulfilment,omitempty"`
	CompletedTimestamp string `json:"completedTimestamp,omitempty"`
	TransferState      string `json:"transferState"`
}

func transferPath(id string) string { return "/transfers/" + id }

// postTransfer reserves the payer's position and sends the transfer to the
// payee. It answers 202 once the reservation, or its refusal, is durable;
// a refusal reaches the payer as PUT /transfers/{ID}/error.
func (s *Server) postTransfer(c *call) *Error {
	var b transferPost
	if e := decode(c.body, &b); e != nil {
		return e
	}
	id, e := correlationID("transferId", b.TransferID)
	if e != nil {
		return e
	}
	if e := fspID("payerFsp", b.PayerFsp); e != nil {
		return e
	}
	if e := fspID("payeeFsp", b.PayeeFsp); e != nil {
		return e
	}
	if b.PayerFsp != c.source {
		return badRequest("3100", "payerFsp %q is not the FSPIOP-Source %q", b.PayerFsp, c.source)
	}
	if c.dest != "" && b.PayeeFsp != c.dest {
		return badRequest("3100", "payeeFsp %q is not the FSPIOP-Destination %q", b.PayeeFsp, c.dest)
	}
	amount, e := b.Amount.minor("amount")
	if e != nil {
		return e
	}
	if e := ilpPacket("ilpPacket", b.IlpPacket); e != nil {
		return e
	}
	cond, e := digest32("condition", b.Condition)
	if e != nil {
		return e
	}
	expiry, e := dateTime("expiration", b.Expiration)
	if e != nil {
		return e
	}
	vars := callback.Vars{ID: b.TransferID}
	path := transferPath(b.TransferID)
	// The transfer goes on to the payee in the same commit as the
	// reservation: once the payer hears 202, the payee will hear of it.
	r, err := s.submitOwing(c, ledger.Command{
		Op: ledger.OpPrepare, ID: id, Payer: b.PayerFsp, Payee: b.PayeeFsp,
		Currency: b.Amount.Currency, Amount: amount, Condition: cond, Expiry: expiry,
		Fingerprint: sha256.Sum256(c.body),
	}, func(*ledger.Result) []*callback.Request {
		return []*callback.Request{forwardRequest(c, b.PayeeFsp, callback.TransferPost, "/transfers", vars)}
	})
	var le *ledger.Error
	switch {
	case errors.As(err, &le):
		s.sendError(c.source, "transfers", c.ver, callback.TransferError, path, vars, ledgerError(le))
		return nil
	case err != nil:
		return internal(err)
	case r.Duplicate:
		// A resend: ignored while the transfer is in flight, answered again
		// once it is final.
		if r.Transfer.State.Final() {
			s.transferOutcome(c.source, c.ver, &r.Transfer)
		}
		return nil
	}
	return nil
}

// ledgerError maps a ledger rule to its FSPIOP error.
func ledgerError(le *ledger.Error) *Error {
	return &Error{Status: http.StatusBadRequest, Code: ledgerCode(le), Detail: le.Message()}
}

// transferOutcome tells a participant how a final transfer ended:
// PUT /transfers/{ID} when committed, the error callback when not.
func (s *Server) transferOutcome(to string, ver Version, t *ledger.Transfer) {
	id := t.ID.String()
	vars := callback.Vars{ID: id}
	if t.State == ledger.StateCommitted {
		s.send(to, "transfers", ver, http.MethodPut, callback.TransferPut, transferPath(id), vars, committedBody(t))
		return
	}
	s.sendError(to, "transfers", ver, callback.TransferError, transferPath(id), vars, abortError(t))
}

func committedBody(t *ledger.Transfer) []byte {
	return mustJSON(transferPut{
		Fulfilment:         EncodeDigest(t.Fulfilment),
		CompletedTimestamp: DateTime(t.Completed),
		TransferState:      "COMMITTED",
	})
}

// abortReason is how the hub records why a payment was aborted: the FSPIOP
// code, a space, and the description.
func abortReason(e *Error) string { return truncate(e.Code+" "+e.Description(), ledger.MaxReason) }

// abortError is the error a participant is told for an aborted or expired
// transfer.
func abortError(t *ledger.Transfer) *Error {
	if t.State == ledger.StateExpired {
		return &Error{Code: "3303", Detail: "no fulfilment before the expiration"}
	}
	return abortErrorFromReason(t.Reason)
}

func abortErrorFromReason(reason string) *Error {
	code, desc, ok := strings.Cut(reason, " ")
	if ok && len(code) == 4 && code[0] >= '1' && code[0] <= '9' {
		// The description already names the code; keep it as recorded.
		e := &Error{Code: code}
		name := codeNames[code]
		if d, found := strings.CutPrefix(desc, name+" - "); found {
			e.Detail = d
		} else if desc != name {
			e.Detail = desc
		}
		return e
	}
	return &Error{Code: "5000", Detail: "transfer aborted"}
}

// putTransfer takes the payee's fulfilment: the ledger commits, the payer
// is told, and a payee that answered RESERVED gets the commit notification.
func (s *Server) putTransfer(c *call) *Error {
	idStr := c.id
	id, e := correlationID("transfer id in the path", idStr)
	if e != nil {
		return e
	}
	var b transferPut
	if e := decode(c.body, &b); e != nil {
		return e
	}
	reserved := false
	switch b.TransferState {
	case "COMMITTED":
	case "RESERVED":
		reserved = true
	case "":
		return missing("transferState")
	default:
		return badRequest("3100", "transferState must be COMMITTED or RESERVED, not %q; a payee rejects with PUT /transfers/{ID}/error", truncate(b.TransferState, 16))
	}
	ful, e := digest32("fulfilment", b.Fulfilment)
	if e != nil {
		return e
	}
	if b.CompletedTimestamp != "" {
		if _, e := dateTime("completedTimestamp", b.CompletedTimestamp); e != nil {
			return e
		}
	}
	vars := callback.Vars{ID: idStr}
	path := transferPath(idStr)
	// The payer is told, and a payee that answered RESERVED notified, in
	// the same commit as the transfer's.
	r, err := s.submitOwing(c, ledger.Command{Op: ledger.OpFulfil, ID: id, Fulfilment: ful, Participant: c.source},
		func(r *ledger.Result) []*callback.Request {
			if reserved {
				return []*callback.Request{
					s.hubRequest(r.Transfer.Payer, "transfers", Latest, http.MethodPut, callback.TransferPut, path, vars, committedBody(&r.Transfer)),
					s.notifyRequest(c.source, &r.Transfer),
				}
			}
			return []*callback.Request{forwardRequest(c, r.Transfer.Payer, callback.TransferPut, path, vars)}
		})
	var le *ledger.Error
	switch {
	case err == nil && r.Duplicate:
		// The payee resends when it missed the commit notification.
		if reserved {
			s.notify(c.source, &r.Transfer)
		}
		return nil
	case err == nil:
		return nil
	case errors.Is(err, ledger.ErrInvalidFulfilment):
		return s.abortInvalidFulfilment(c, id, reserved)
	case errors.Is(err, ledger.ErrTransferExpired):
		t := ledger.Transfer{ID: id, State: ledger.StateExpired}
		if reserved {
			s.notify(c.source, &t)
		} else {
			s.sendError(c.source, "transfers", c.ver, callback.TransferError, path, vars, abortError(&t))
		}
		return nil
	case errors.Is(err, ledger.ErrTransferFinal):
		t, terr := s.transfer(c, id)
		if terr != nil {
			return internal(terr)
		}
		switch {
		case reserved:
			s.notify(c.source, &t)
		case t.State != ledger.StateCommitted:
			s.sendError(c.source, "transfers", c.ver, callback.TransferError, path, vars, abortError(&t))
		}
		return nil
	case errors.As(err, &le):
		s.sendError(c.source, "transfers", c.ver, callback.TransferError, path, vars, ledgerError(le))
		return nil
	default:
		return internal(err)
	}
}

// notify sends the payee's commit notification, PATCH /transfers/{ID},
// with the transfer's final state.
func (s *Server) notify(payee string, t *ledger.Transfer) {
	s.out.Send(s.notifyRequest(payee, t))
}

// notifyRequest is the commit notification notify sends.
func (s *Server) notifyRequest(payee string, t *ledger.Transfer) *callback.Request {
	state := "ABORTED"
	if t.State == ledger.StateCommitted {
		state = "COMMITTED"
	}
	completed := t.Completed
	if completed.IsZero() {
		completed = s.clk.Now()
	}
	id := t.ID.String()
	return s.hubRequest(payee, "transfers", Version{1, 1}, http.MethodPatch, callback.TransferPatch, transferPath(id), callback.Vars{ID: id},
		mustJSON(transferPut{CompletedTimestamp: DateTime(completed), TransferState: state}))
}

// abortInvalidFulfilment aborts a transfer whose payee sent a fulfilment
// that does not match its condition, and tells both sides.
func (s *Server) abortInvalidFulfilment(c *call, id ledger.ID, reserved bool) *Error {
	e := &Error{Code: "3100", Detail: "the payee's fulfilment does not match the condition"}
	idStr := id.String()
	vars := callback.Vars{ID: idStr}
	path := transferPath(idStr)
	// Both sides are told in the same commit as the abort.
	_, err := s.submitOwing(c, ledger.Command{Op: ledger.OpAbort, ID: id, Reason: abortReason(e), Participant: c.source},
		func(r *ledger.Result) []*callback.Request {
			payee := s.errorRequest(c.source, "transfers", c.ver, callback.TransferError, path, vars, e)
			if reserved {
				payee = s.notifyRequest(c.source, &r.Transfer)
			}
			return []*callback.Request{s.errorRequest(r.Transfer.Payer, "transfers", Latest, callback.TransferError, path, vars, e), payee}
		})
	if errors.Is(err, ledger.ErrTransferFinal) || errors.Is(err, ledger.ErrTransferExpired) {
		// Ended meanwhile (a correct fulfilment, or expiry): the payee
		// learns how.
		t, terr := s.transfer(c, id)
		if terr != nil {
			return internal(terr)
		}
		if reserved {
			s.notify(c.source, &t)
		} else if t.State != ledger.StateCommitted {
			s.sendError(c.source, "transfers", c.ver, callback.TransferError, path, vars, abortError(&t))
		}
		return nil
	}
	if err != nil {
		var le *ledger.Error
		if errors.As(err, &le) {
			// Expired or aborted meanwhile: the payee learns the outcome.
			s.sendError(c.source, "transfers", c.ver, callback.TransferError, path, vars, ledgerError(le))
			return nil
		}
		return internal(err)
	}
	return nil
}

// putTransferError takes the payee's refusal: the ledger aborts and the
// payer gets the payee's error as it was sent.
func (s *Server) putTransferError(c *call) *Error {
	idStr := c.id
	id, e := correlationID("transfer id in the path", idStr)
	if e != nil {
		return e
	}
	pe, e := parseErrorBody(c.body)
	if e != nil {
		return e
	}
	// The payer gets the payee's error in the same commit as the abort.
	_, err := s.submitOwing(c, ledger.Command{Op: ledger.OpAbort, ID: id, Reason: abortReason(pe), Participant: c.source},
		func(r *ledger.Result) []*callback.Request {
			return []*callback.Request{forwardRequest(c, r.Transfer.Payer, callback.TransferError, transferPath(idStr)+"/error", callback.Vars{ID: idStr})}
		})
	var le *ledger.Error
	switch {
	case err == nil:
		// Aborted now, or a resend of the abort (told already).
		return nil
	case errors.Is(err, ledger.ErrTransferFinal), errors.Is(err, ledger.ErrTransferExpired):
		// Too late to refuse: the transfer already ended.
		return nil
	case errors.As(err, &le):
		s.sendError(c.source, "transfers", c.ver, callback.TransferError, transferPath(idStr), callback.Vars{ID: idStr}, ledgerError(le))
		return nil
	default:
		return internal(err)
	}
}

// parseErrorBody reads an error callback's body.
func parseErrorBody(body []byte) (*Error, *Error) {
	var b errorBody
	if e := decode(body, &b); e != nil {
		return nil, e
	}
	code := b.ErrorInformation.ErrorCode
	if code == "" {
		return nil, missing("errorInformation.errorCode")
	}
	if len(code) != 4 || code[0] < '1' || code[0] > '9' || strings.Trim(code, "0123456789") != "" {
		return nil, badRequest("3101", "errorCode %q is not four digits", truncate(code, 8))
	}
	if b.ErrorInformation.ErrorDescription == "" {
		return nil, missing("errorInformation.errorDescription")
	}
	return &Error{Code: code, Detail: strings.TrimPrefix(b.ErrorInformation.ErrorDescription, codeNames[code]+" - ")}, nil
}

// getTransfer answers PUT /transfers/{ID} with the transfer's state, to
// its payer or payee only.
func (s *Server) getTransfer(c *call) *Error {
	idStr := c.id
	id, e := correlationID("transfer id in the path", idStr)
	if e != nil {
		return e
	}
	vars := callback.Vars{ID: idStr}
	path := transferPath(idStr)
	t, err := s.transfer(c, id)
	if errors.Is(err, ledger.ErrTransferNotFound) || (err == nil && (t.Kind != ledger.KindPayment || (t.Payer != c.source && t.Payee != c.source))) {
		s.sendError(c.source, "transfers", c.ver, callback.TransferError, path, vars, &Error{Code: "3208", Detail: "no transfer " + idStr + " of yours"})
		return nil
	}
	if err != nil {
		return internal(err)
	}
	body := transferPut{TransferState: t.State.FSPIOP()}
	if t.State.Final() {
		body.CompletedTimestamp = DateTime(t.Completed)
	}
	if t.State == ledger.StateCommitted {
		body.Fulfilment = EncodeDigest(t.Fulfilment)
	}
	s.send(c.source, "transfers", c.ver, http.MethodPut, callback.TransferPut, path, vars, mustJSON(body))
	return nil
}

// ExpiryNotices returns the function to set as the ledger writer's
// OweExpired: the payer and the payee of a payment that expired are told,
// with PUT /transfers/{ID}/error 3303, in the same commit as the expiry.
// hub is the FSPIOP-Source of the notices (DefaultHub when empty).
func ExpiryNotices(out Outbox, hub string, clk clock.Clock) func(*ledger.Transfer) []store.Message {
	if hub == "" {
		hub = DefaultHub
	}
	if clk == nil {
		clk = clock.Real{}
	}
	s := &Server{out: out, hub: hub, clk: clk}
	return func(t *ledger.Transfer) []store.Message {
		if t.Kind != ledger.KindPayment {
			return nil
		}
		e := abortError(t)
		id := t.ID.String()
		vars := callback.Vars{ID: id}
		return out.Owe(
			s.errorRequest(t.Payer, "transfers", Latest, callback.TransferError, transferPath(id), vars, e),
			s.errorRequest(t.Payee, "transfers", Latest, callback.TransferError, transferPath(id), vars, e))
	}
}
