package fspiop

import (
	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/exchange"
)

// transactionRequestPost is what the hub reads of POST
// /transactionRequests: the payee FSP asks the payer FSP to pay.
type transactionRequestPost struct {
	TransactionRequestID string       `json:"transactionRequestId"`
	Payee                *partyField  `json:"payee"`
	Payer                *PartyIDInfo `json:"payer"`
	Amount               *Money       `json:"amount"`
	TransactionType      *struct {
		Scenario string `json:"scenario"`
	} `json:"transactionType"`
	Expiration string `json:"expiration"`
}

func transactionRequestPath(id string) string { return "/transactionRequests/" + id }

func (s *Server) postTransactionRequest(c *call) *Error {
	var b transactionRequestPost
	if e := decode(c.body, &b); e != nil {
		return e
	}
	if _, e := correlationID("transactionRequestId", b.TransactionRequestID); e != nil {
		return e
	}
	if b.Payee == nil {
		return missing("payee")
	}
	if _, e := party("payee.partyIdInfo", b.Payee.PartyIDInfo); e != nil {
		return e
	}
	payer, e := party("payer", b.Payer)
	if e != nil {
		return e
	}
	if _, e := b.Amount.minor("amount"); e != nil {
		return e
	}
	if b.TransactionType == nil || b.TransactionType.Scenario == "" {
		return missing("transactionType.scenario")
	}
	id := b.TransactionRequestID
	vars := callback.Vars{ID: id}
	path := transactionRequestPath(id)
	if b.Expiration != "" {
		exp, e := dateTime("expiration", b.Expiration)
		if e != nil {
			return e
		}
		if !exp.After(s.clk.Now()) {
			s.sendError(c.source, "transactionRequests", c.ver, callback.TrxReqService, path, vars, &Error{Code: "3301", Detail: "the request's expiration has passed"})
			return nil
		}
	}
	to, e := s.route(c, b.Payer.FspID, payer, b.Amount.Currency)
	if e == nil {
		e = s.currencies(to, c.source, b.Amount.Currency)
	}
	if e != nil {
		if e.Status != 0 {
			return e
		}
		s.sendError(c.source, "transactionRequests", c.ver, callback.TrxReqService, path, vars, e)
		return nil
	}
	return s.relay(c, exchange.TransactionRequests, "transactionRequests", callback.TrxReqService, id, to)
}

func (s *Server) putTransactionRequest(c *call) *Error {
	return s.answerTransactionRequest(c, false, "")
}

func (s *Server) putTransactionRequestError(c *call) *Error {
	if _, e := parseErrorBody(c.body); e != nil {
		return e
	}
	return s.answerTransactionRequest(c, true, "/error")
}

func (s *Server) answerTransactionRequest(c *call, failed bool, suffix string) *Error {
	id := c.id
	if _, e := correlationID("transaction request id in the path", id); e != nil {
		return e
	}
	if !failed {
		var b struct {
			State string `json:"transactionRequestState"`
		}
		if e := decode(c.body, &b); e != nil {
			return e
		}
		switch b.State {
		case "RECEIVED", "PENDING", "ACCEPTED", "REJECTED":
		case "":
			return missing("transactionRequestState")
		default:
			return badRequest("3100", "transactionRequestState %q is not RECEIVED, PENDING, ACCEPTED or REJECTED", truncate(b.State, 16))
		}
	}
	to, e := s.answerExchange(c, exchange.TransactionRequests, id, failed)
	if e != nil {
		return e
	}
	if to == "" {
		return nil
	}
	s.forward(c, to, callback.TrxReqService, transactionRequestPath(id)+suffix, callback.Vars{ID: id})
	return nil
}

func (s *Server) getTransactionRequest(c *call) *Error {
	id := c.id
	if _, e := correlationID("transaction request id in the path", id); e != nil {
		return e
	}
	return s.getExchange(c, exchange.TransactionRequests, id, "transactionRequests", callback.TrxReqService, transactionRequestPath(id), "3206")
}
