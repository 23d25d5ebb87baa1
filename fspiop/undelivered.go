package fspiop

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
)

// undeliveredWorkers is how many undelivered messages are handled at once.
const undeliveredWorkers = 4

// undeliveredLoop tells the senders of undelivered requests until Close.
func (s *Server) undeliveredLoop(failures <-chan *callback.Failure) {
	defer s.bg.Done()
	for {
		select {
		case f := <-failures:
			s.Undelivered(f)
		case <-s.stop:
			return
		}
	}
}

// Undelivered handles a message the hub could not deliver: when a request
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
		// The payer is told in the same commit as the abort. If the
		// transfer is final already (answered meanwhile, or expired), or
		// the ledger has stopped, the payer learns the outcome from those.
		_, err = s.w.SubmitOwing(context.Background(), ledger.Command{Op: ledger.OpAbort, ID: id, Reason: abortReason(e)},
			func(*ledger.Result) []store.Message {
				return s.out.Owe(s.errorRequest(from, "transfers", Latest, callback.TransferError, transferPath(f.Vars.ID), f.Vars, e))
			})
		if err != nil && !errors.Is(err, ledger.ErrTransferFinal) && !errors.Is(err, ledger.ErrTransferExpired) {
			s.log.Warn("fspiop: abort an undelivered transfer", "transfer", f.Vars.ID, "err", err)
		}
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

// Close stops dropping old records and reading undelivered messages, and
// waits for an abort under way. Call it once the API takes no more requests
// and before the ledger writer and the store close; undelivered messages
// after it are only recorded for the operator (a transfer among them
// expires). It returns at once when called again.
func (s *Server) Close() {
	if s.closing.Swap(true) {
		return
	}
	close(s.stop)
	s.records.Close()
	s.bg.Wait()
}
