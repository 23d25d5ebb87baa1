package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/operate"
)

// workflowError is what the client is told of a refusal by one of the
// operator's workflows (package operate), whose typed errors carry the ids
// and values a message names; nil when err is none of them. The statuses
// and codes are those of the ledger refusals the errors unwrap to.
func workflowError(err error) *apiError {
	var (
		pnf      *operate.ParticipantNotFoundError
		tnf      *operate.TransferNotFoundError
		wnf      *operate.WindowNotFoundError
		snf      *operate.SettlementNotFoundError
		noWin    *operate.NoWindowError
		notOpen  *operate.WindowNotOpenError
		notClose *operate.WindowNotClosedError
		mixed    *operate.MixedWindowsError
		gross    *operate.GrossWindowError
		cannot   *operate.CannotSettleError
		step     *operate.StepError
		disabled *operate.CurrencyNotEnabledError
		modified *operate.ModifiedRequestError
		coll     *operate.CollateralError
		notOut   *operate.NotFundsOutError
		final    *operate.FundsOutFinalError
		long     *operate.ReasonTooLongError
		empty    *operate.EmptyRangeError
	)
	switch {
	// A failed step of a settlement first: it wraps the step's own error,
	// which may be any of the others.
	case errors.As(err, &step):
		ae := classify(step.Err)
		reached := "is at " + step.Reached.String()
		if ae.code == codeOutcomeUnknown {
			reached = "reached at least " + step.Reached.String()
		}
		return &apiError{status: ae.status, code: ae.code, err: ae.err,
			msg: fmt.Sprintf("settlement %d %s; the step to %s failed: %s", step.Settlement, reached, step.To, ae.msg)}
	case errors.As(err, &pnf):
		return participantNotFound(pnf.ID)
	case errors.As(err, &tnf):
		return transferNotFound(tnf.ID)
	case errors.As(err, &wnf):
		return windowNotFound(wnf.ID)
	case errors.As(err, &snf):
		return settlementNotFound(snf.ID)
	case errors.As(err, &noWin):
		return noWindow(noWin.Currency)
	case errors.As(err, &notOpen):
		return &apiError{status: http.StatusConflict, code: ledger.ErrWindowNotOpen.Code,
			msg: fmt.Sprintf("settlement window %d is already closed; GET /admin/v1/settlement-windows?state=OPEN lists the open ones", notOpen.ID)}
	case errors.As(err, &notClose):
		w := &notClose.Window
		ae := &apiError{status: ledgerStatus[ledger.ErrWindowNotClosed.Code], code: ledger.ErrWindowNotClosed.Code}
		switch w.State {
		case ledger.WindowOpen:
			ae.msg = fmt.Sprintf("settlement window %d is still open; close it first with POST /admin/v1/settlement-windows/%d/close", w.ID, w.ID)
		case ledger.WindowPendingSettlement:
			ae.msg = fmt.Sprintf("settlement window %d is already being settled by settlement %d", w.ID, w.Settlement)
		default:
			ae.msg = fmt.Sprintf("settlement window %d is already settled", w.ID)
		}
		return ae
	case errors.As(err, &mixed):
		ae := &apiError{status: ledgerStatus[ledger.ErrMixedWindows.Code], code: ledger.ErrMixedWindows.Code}
		first, w := &mixed.First, &mixed.Other
		if mixed.WrongCurrency() {
			ae.msg = fmt.Sprintf("settlement window %d is in %s, not %s", w.ID, w.Currency, mixed.Currency)
		} else {
			ae.msg = fmt.Sprintf("settlement windows %d (%s, %s) and %d (%s, %s) differ; a settlement covers windows of one currency and one model",
				first.ID, first.Currency, first.Model, w.ID, w.Currency, w.Model)
		}
		return ae
	case errors.As(err, &gross):
		return &apiError{status: ledgerStatus[ledger.ErrGrossWindow.Code], code: ledger.ErrGrossWindow.Code,
			msg: fmt.Sprintf("settlement window %d is %s: its payments settled as they committed, and it was settled when it closed", gross.Window.ID, gross.Window.Model)}
	case errors.As(err, &cannot):
		return &apiError{status: http.StatusConflict, code: ledger.ErrSettlementTransition.Code,
			msg: fmt.Sprintf("settlement %d is %s; it cannot be settled", cannot.Settlement, cannot.State)}
	case errors.As(err, &disabled):
		return &apiError{status: http.StatusUnprocessableEntity, code: ledger.ErrCurrencyNotEnabled.Code,
			msg: fmt.Sprintf("currency %s is not enabled for participant %q; enable it with POST /admin/v1/participants/%s/currencies",
				disabled.Currency, disabled.Participant, disabled.Participant)}
	case errors.As(err, &modified):
		return &apiError{status: http.StatusConflict, code: ledger.ErrModifiedRequest.Code,
			msg: fmt.Sprintf("transfer id %s was already used for a different request; use a new id for a new movement", modified.ID)}
	case errors.As(err, &coll):
		return &apiError{status: http.StatusUnprocessableEntity, code: ledger.ErrInsufficientLiquidity.Code,
			msg: fmt.Sprintf("participant %q cannot withdraw %s %s: its settlement balance, less funds out already reserved, "+
				"would no longer cover its position and reserved payments", coll.Participant, format(coll.Amount, coll.Currency), coll.Currency)}
	case errors.As(err, &notOut):
		return &apiError{status: http.StatusConflict, code: ledger.ErrWrongKind.Code,
			msg: fmt.Sprintf("transfer %s is not a funds out; only funds out are committed or aborted here", notOut.ID)}
	case errors.As(err, &final):
		return &apiError{status: http.StatusConflict, code: ledger.ErrTransferFinal.Code,
			msg: fmt.Sprintf("transfer %s is already final the other way; GET /admin/v1/transfers/%s shows its state", final.ID, final.ID)}
	case errors.As(err, &long):
		return badRequest(codeInvalidReason, fmt.Sprintf("reason is %d bytes; at most %d are kept", long.Len, long.Max))
	case errors.Is(err, operate.ErrReasonRequired):
		return badRequest(codeMissingField, "field \"reason\" is required to abort a settlement: say why, for the record")
	case errors.As(err, &empty):
		return badRequest(codeInvalidQuery, fmt.Sprintf("the statement would run from %s to %s, which is empty; give a from before to (and before now)",
			stamp(empty.From), stamp(empty.To)))
	}
	return nil
}

func windowNotFound(id uint64) *apiError {
	return &apiError{status: http.StatusNotFound, code: ledger.ErrWindowNotFound.Code,
		msg: fmt.Sprintf("no settlement window has id %d", id)}
}

func settlementNotFound(id uint64) *apiError {
	return &apiError{status: http.StatusNotFound, code: ledger.ErrSettlementNotFound.Code,
		msg: fmt.Sprintf("no settlement has id %d", id)}
}

func noWindow(currency string) *apiError {
	return &apiError{status: http.StatusConflict, code: ledger.ErrNoWindow.Code,
		msg: fmt.Sprintf("currency %s is not enabled for any participant, so it has no settlement window; "+
			"enable it for a participant with POST /admin/v1/participants/{id}/currencies", currency)}
}
