package fspiop

import (
	"context"
	"net/http"
	"strings"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/ledger"
)

// Undelivered is set as the callback sender's OnFailure: when a request
// the hub sent on for a participant could not be delivered (no endpoint,
// the recipient unreachable after every retry, or refused), the requester
// is told with error 1001 rather than left waiting. A transfer that never
// reached its payee is aborted first, releasing the payer's reservation.
// Callbacks that fail are only recorded: their recipient can ask again.
func (s *Server) Undelivered(f *callback.Failure) {
	if s.closing.Load() {
		return
	}
	from := f.Header.Get("FSPIOP-Source")
	if from == "" || from == s.hub || f.Method == http.MethodPut || f.Method == http.MethodPatch {
		return
	}
	e := &Error{Code: "1001", Detail: "the hub could not deliver the request to " + f.To}
	switch f.Kind {
	case callback.TransferPost:
		id, err := ledger.ParseID(f.Vars.ID)
		if err != nil {
			return
		}
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			r, err := s.w.Submit(context.Background(), ledger.Command{Op: ledger.OpAbort, ID: id, Reason: abortReason(e)})
			if err != nil || r.Duplicate {
				// Final already (answered meanwhile, or expired), or the
				// ledger has stopped: the payer learns the outcome
				// from those.
				return
			}
			s.sendError(from, "transfers", Latest, callback.TransferError, transferPath(f.Vars.ID), f.Vars, e)
		}()
	case callback.Quotes:
		s.sendError(from, "quotes", Latest, callback.Quotes, quotePath(f.Vars.ID), f.Vars, e)
	case callback.TrxReqService:
		s.sendError(from, "transactionRequests", Latest, callback.TrxReqService, transactionRequestPath(f.Vars.ID), f.Vars, e)
	case callback.PartiesGet, callback.PartiesSubIDGet:
		k := callback.PartiesPutError
		if f.Kind == callback.PartiesSubIDGet {
			k = callback.PartiesSubIDPutError
		}
		if strings.HasPrefix(f.Path, "/parties/") {
			s.sendError(from, "parties", Latest, k, f.Path, f.Vars, e)
		}
	}
}

// Close stops dropping old records and waits for the work Undelivered
// started. Call it after the callback sender has stopped and before the
// ledger writer and the store close. It returns at once when called again.
func (s *Server) Close() {
	if s.closing.Swap(true) {
		return
	}
	s.records.Close()
	s.bg.Wait()
}
