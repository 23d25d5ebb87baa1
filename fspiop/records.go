package fspiop

import (
	"crypto/sha256"
	"errors"
	"net/http"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/exchange"
)

// Quotes and transaction requests are not money: the hub records them, in
// package exchange, only to route their answers back and to tell a resend
// from a modified request. What is FSPIOP about them stays here: the
// content a resend must repeat (the body, byte for byte), the error codes,
// and the callbacks.

// DefaultRetention is how long quote and transaction request records are
// kept when Options.Retention is zero.
const DefaultRetention = exchange.DefaultRetention

// relay records a new request from one FSP to another and sends it on. A
// resend is answered from the record; another request under the same id
// is refused with 3106.
func (s *Server) relay(c *call, ns exchange.Namespace, resource string, k callback.Kind, id, to string) *Error {
	vars := callback.Vars{ID: id}
	path := "/" + resource + "/" + id
	q := exchange.Request{Requester: c.source, Responder: to, Fingerprint: sha256.Sum256(c.body)}
	out, old, err := s.records.Begin(c.ctx, ns, id, q)
	if err != nil {
		return internal(err)
	}
	switch out {
	case exchange.Modified:
		s.sendError(c.source, resource, c.ver, k, path, vars, badRequest("3106", "id %s was already used for a request with other content", id))
	case exchange.ResendPending:
		// Ignored: the answer is on its way.
	case exchange.ResendAnswered:
		s.resend(old, c.source, k, path, vars)
	default:
		s.forward(c, to, k, "/"+resource, vars)
	}
	return nil
}

// resend answers a resent request again once it has its answer; while it
// has none, the resend is ignored.
func (s *Server) resend(x *exchange.Record, to string, k callback.Kind, path string, vars callback.Vars) {
	switch x.State {
	case exchange.Answered:
	case exchange.Failed:
		path += "/error"
	default:
		return
	}
	s.out.Send(&callback.Request{To: to, Kind: k, Method: http.MethodPut, Path: path, Vars: vars, Header: x.Header, Body: x.Body})
}

// answerExchange records the answer to a request and returns the
// participant it goes back to: the requester on record, or the callback's
// FSPIOP-Destination when there is no record; "" when it goes to nobody.
func (s *Server) answerExchange(c *call, ns exchange.Namespace, id string, failed bool) (string, *Error) {
	a := exchange.Reply{Responder: c.source, Failed: failed, Header: forwardHeader(&c.rc.Request.Header), Body: c.body}
	to, err := s.records.Answer(c.ctx, ns, id, a)
	switch {
	case errors.Is(err, exchange.ErrNotFound):
		// Never recorded, or dropped after the retention.
		return c.dest, nil
	case errors.Is(err, exchange.ErrWrongResponder):
		return "", badRequest("3100", "%s is not the participant the request %s was sent to", c.source, id)
	case errors.Is(err, exchange.ErrAnswered):
		// An error after the answer: the requester keeps the answer it
		// has, which is also what a resend or a GET gets.
		return "", nil
	case err != nil:
		return "", internal(err)
	}
	return to, nil
}

// getExchange answers a GET from the record when the request has its
// answer, and otherwise asks the FSP it was sent to.
func (s *Server) getExchange(c *call, ns exchange.Namespace, id, resource string, k callback.Kind, path, notFound string) *Error {
	vars := callback.Vars{ID: id}
	x, err := s.records.Get(c.ctx, ns, id)
	switch {
	case err != nil && !errors.Is(err, exchange.ErrNotFound):
		return internal(err)
	case err == nil && x.Requester == c.source && x.State != exchange.Pending:
		s.resend(x, c.source, k, path, vars)
	case err == nil && x.Requester == c.source:
		s.forward(c, x.Responder, k, path, vars)
	case err != nil && c.dest != "":
		// Not on record (lost with a machine crash, or never sent through
		// this hub): ask the FSP named.
		s.forward(c, c.dest, k, path, vars)
	default:
		s.sendError(c.source, resource, c.ver, k, path, vars, &Error{Code: notFound, Detail: "no request " + id + " of yours"})
	}
	return nil
}
