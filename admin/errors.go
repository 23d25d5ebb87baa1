package admin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/hutong/hutong/admin/adminapi"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/writer"
)

// Codes the API itself answers with. Refusals by the ledger carry the
// ledger.Error's Code instead (PARTICIPANT_NOT_FOUND, MODIFIED_REQUEST,
// INSUFFICIENT_LIQUIDITY, ...); INVALID_ID, INVALID_AMOUNT and
// UNKNOWN_CURRENCY are shared with the ledger, so a client sees one code
// whichever side refused.
const (
	codeInvalidJSON      = "INVALID_JSON"
	codeUnknownField     = "UNKNOWN_FIELD"
	codeWrongType        = "WRONG_TYPE"
	codeTrailingData     = "TRAILING_DATA"
	codeMissingField     = "MISSING_FIELD"
	codeBodyTooLarge     = "BODY_TOO_LARGE"
	codeUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE"
	codeInvalidID        = "INVALID_ID"
	codeInvalidAmount    = "INVALID_AMOUNT"
	codeUnknownCurrency  = "UNKNOWN_CURRENCY"
	codeInvalidReason    = "INVALID_REASON"
	codeInvalidQuery     = "INVALID_QUERY"
	codeInvalidCursor    = "INVALID_CURSOR"
	codeUnavailable      = "UNAVAILABLE"
	codeOutcomeUnknown   = "OUTCOME_UNKNOWN"
	codeInternal         = "INTERNAL"
	codeUnauthorized     = "UNAUTHORIZED"

	msgInternal = "internal error; the hub operator's logs have the details"
)

// apiError is a failed request: the status and the code and message for the
// client, kept apart from err, the cause, which is only logged.
type apiError struct {
	status int
	code   string
	msg    string
	err    error
}

func (e *apiError) Error() string {
	if e.err != nil {
		return e.code + ": " + e.msg + ": " + e.err.Error()
	}
	return e.code + ": " + e.msg
}

func (e *apiError) Unwrap() error { return e.err }

func badRequest(code, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: msg}
}

// ledgerStatus is the HTTP status of each rule the ledger enforces. A code
// missing here is answered with 422: it is a rule, and it changed nothing.
var ledgerStatus = map[string]int{
	ledger.ErrInvalidCommand.Code:       http.StatusBadRequest,
	ledger.ErrInvalidID.Code:            http.StatusBadRequest,
	ledger.ErrInvalidParticipantID.Code: http.StatusBadRequest,
	ledger.ErrInvalidName.Code:          http.StatusBadRequest,
	ledger.ErrUnknownCurrency.Code:      http.StatusBadRequest,
	ledger.ErrInvalidAmount.Code:        http.StatusBadRequest,
	ledger.ErrInvalidNDC.Code:           http.StatusBadRequest,
	ledger.ErrMalformedCondition.Code:   http.StatusBadRequest,
	ledger.ErrSameParticipant.Code:      http.StatusBadRequest,
	ledger.ErrExpiryNotInFuture.Code:    http.StatusBadRequest,
	ledger.ErrInvalidFulfilment.Code:    http.StatusBadRequest,

	ledger.ErrParticipantNotFound.Code: http.StatusNotFound,
	ledger.ErrPayerNotFound.Code:       http.StatusNotFound,
	ledger.ErrPayeeNotFound.Code:       http.StatusNotFound,
	ledger.ErrTransferNotFound.Code:    http.StatusNotFound,

	ledger.ErrParticipantExists.Code: http.StatusConflict,
	ledger.ErrModifiedRequest.Code:   http.StatusConflict,
	ledger.ErrTransferFinal.Code:     http.StatusConflict,
	ledger.ErrTransferExpired.Code:   http.StatusConflict,
	ledger.ErrWrongKind.Code:         http.StatusConflict,

	ledger.ErrNDCExceeded.Code:           http.StatusUnprocessableEntity,
	ledger.ErrInsufficientLiquidity.Code: http.StatusUnprocessableEntity,
	ledger.ErrCurrencyNotEnabled.Code:    http.StatusUnprocessableEntity,
	ledger.ErrPayerCurrency.Code:         http.StatusUnprocessableEntity,
	ledger.ErrPayeeCurrency.Code:         http.StatusUnprocessableEntity,
	ledger.ErrPayerSuspended.Code:        http.StatusUnprocessableEntity,
	ledger.ErrPayeeSuspended.Code:        http.StatusUnprocessableEntity,
	ledger.ErrOverflow.Code:              http.StatusUnprocessableEntity,

	ledger.ErrWindowNotFound.Code:     http.StatusNotFound,
	ledger.ErrSettlementNotFound.Code: http.StatusNotFound,
	// A window's currency and model never change: a request that mixes
	// them, or names a gross window, can never succeed.
	ledger.ErrMixedWindows.Code: http.StatusBadRequest,
	ledger.ErrGrossWindow.Code:  http.StatusBadRequest,
	// A currency gets its window when it is first enabled for a participant.
	ledger.ErrNoWindow.Code:             http.StatusConflict,
	ledger.ErrWindowNotOpen.Code:        http.StatusConflict,
	ledger.ErrWindowNotClosed.Code:      http.StatusConflict,
	ledger.ErrSettlementTransition.Code: http.StatusConflict,
}

// classify turns any error a handler returns into what the client is told.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if ae := workflowError(err); ae != nil {
		return ae
	}
	// Outcome unknown first: it wraps the cause (a failed commit, an ended
	// context), which must not be mistaken for a plain failure.
	if errors.Is(err, writer.ErrOutcomeUnknown) {
		return &apiError{status: http.StatusServiceUnavailable, code: codeOutcomeUnknown,
			msg: "the ledger took the request but cannot say whether it was applied; " +
				"repeat the same request (every admin write is safe to repeat) once the hub is available", err: err}
	}
	if errors.Is(err, writer.ErrClosed) || errors.Is(err, writer.ErrFailed) || errors.Is(err, store.ErrClosed) {
		return &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
			msg: "the ledger is not taking requests (shutting down or stopped after a storage failure); retry later", err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
			msg: "the request ended before the ledger answered; retry", err: err}
	}
	// A refused settlement step is its own type, which says what is
	// allowed; it matches ErrSettlementTransition but is not a ledger.Error.
	var te *ledger.TransitionError
	if errors.As(err, &te) {
		return &apiError{status: http.StatusConflict, code: ledger.ErrSettlementTransition.Code,
			msg: te.Message(), err: err}
	}
	var le *ledger.Error
	if errors.As(err, &le) {
		status, ok := ledgerStatus[le.Code]
		if !ok {
			status = http.StatusUnprocessableEntity
		}
		return &apiError{status: status, code: le.Code, msg: ledgerMessage(err, le), err: err}
	}
	var ce *store.CursorError
	if errors.As(err, &ce) {
		return &apiError{status: http.StatusBadRequest, code: codeInvalidCursor,
			msg: "cursor is not one this API issued; pass the \"next\" value of the previous page, or none for the first page", err: err}
	}
	return &apiError{status: http.StatusInternalServerError, code: codeInternal, msg: msgInternal, err: err}
}

// ledgerMessage is the client's message for a ledger refusal: the ledger's
// own words, with the detail it wrapped around the sentinel when it did so.
func ledgerMessage(err error, le *ledger.Error) string {
	if de := (*ledger.DetailError)(nil); errors.As(err, &de) {
		return de.Message()
	}
	return le.Message()
}

// fail writes err as the API's error body and logs what the client is not
// told.
func (s *Server) fail(rw http.ResponseWriter, r *http.Request, err error) {
	ae := classify(err)
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", ae.status, "code", ae.code}
	if ae.err != nil {
		attrs = append(attrs, "err", ae.err)
	}
	switch {
	case ae.status >= 500 && r.Context().Err() == nil:
		s.log.Error("admin: request failed", attrs...)
	case s.log.Enabled(r.Context(), slog.LevelDebug):
		s.log.Debug("admin: request refused", attrs...)
	}
	writeError(rw, ae)
}

// writeError writes the JSON every error is answered with.
func writeError(rw http.ResponseWriter, ae *apiError) {
	writeJSON(rw, ae.status, adminapi.ErrorBody{Error: adminapi.ErrorDetail{Code: ae.code, Message: ae.msg}})
}

// writeJSON writes v as the response body.
func writeJSON(rw http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the API's own types are written, and they always marshal.
		panic("admin: marshal response: " + err.Error())
	}
	h := rw.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(status)
	rw.Write(append(b, '\n')) // a failed write means the client has gone
}
