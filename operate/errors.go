package operate

import (
	"errors"
	"fmt"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
)

// ParticipantNotFoundError is returned when no participant has the id a
// workflow was given. It unwraps to ledger.ErrParticipantNotFound.
type ParticipantNotFoundError struct {
	ID string
}

func (e *ParticipantNotFoundError) Error() string {
	return fmt.Sprintf("operate: no participant has id %q", e.ID)
}

func (e *ParticipantNotFoundError) Unwrap() error { return ledger.ErrParticipantNotFound }

// TransferNotFoundError is returned when no transfer has the id a workflow
// was given. It unwraps to ledger.ErrTransferNotFound.
type TransferNotFoundError struct {
	ID ledger.ID
}

func (e *TransferNotFoundError) Error() string {
	return fmt.Sprintf("operate: no transfer has id %s", e.ID)
}

func (e *TransferNotFoundError) Unwrap() error { return ledger.ErrTransferNotFound }

// WindowNotFoundError is returned when no settlement window has the id a
// workflow was given. It unwraps to ledger.ErrWindowNotFound.
type WindowNotFoundError struct {
	ID uint64
}

func (e *WindowNotFoundError) Error() string {
	return fmt.Sprintf("operate: no settlement window has id %d", e.ID)
}

func (e *WindowNotFoundError) Unwrap() error { return ledger.ErrWindowNotFound }

// SettlementNotFoundError is returned when no settlement has the id a
// workflow was given. It unwraps to ledger.ErrSettlementNotFound.
type SettlementNotFoundError struct {
	ID uint64
}

func (e *SettlementNotFoundError) Error() string {
	return fmt.Sprintf("operate: no settlement has id %d", e.ID)
}

func (e *SettlementNotFoundError) Unwrap() error { return ledger.ErrSettlementNotFound }

// NoWindowError is returned for a currency that has no settlement window
// because it is not enabled for any participant. It unwraps to
// ledger.ErrNoWindow.
type NoWindowError struct {
	Currency string
}

func (e *NoWindowError) Error() string {
	return fmt.Sprintf("operate: currency %s is not enabled for any participant, so it has no settlement window", e.Currency)
}

func (e *NoWindowError) Unwrap() error { return ledger.ErrNoWindow }

// WindowNotOpenError is returned when closing a window by id that is
// already closed. It unwraps to ledger.ErrWindowNotOpen.
type WindowNotOpenError struct {
	ID uint64
}

func (e *WindowNotOpenError) Error() string {
	return fmt.Sprintf("operate: settlement window %d is already closed", e.ID)
}

func (e *WindowNotOpenError) Unwrap() error { return ledger.ErrWindowNotOpen }

// WindowNotClosedError is returned by CreateSettlement for a window that is
// not closed: still open, being settled by another settlement, or settled.
// Window is the window, without its flows. It unwraps to
// ledger.ErrWindowNotClosed.
type WindowNotClosedError struct {
	Window ledger.Window
}

func (e *WindowNotClosedError) Error() string {
	w := &e.Window
	switch w.State {
	case ledger.WindowOpen:
		return fmt.Sprintf("operate: settlement window %d is still open", w.ID)
	case ledger.WindowPendingSettlement:
		return fmt.Sprintf("operate: settlement window %d is already being settled by settlement %d", w.ID, w.Settlement)
	}
	return fmt.Sprintf("operate: settlement window %d is already settled", w.ID)
}

func (e *WindowNotClosedError) Unwrap() error { return ledger.ErrWindowNotClosed }

// MixedWindowsError is returned by CreateSettlement for windows that cannot
// be settled together: Other is in another currency than Currency (the
// currency the request named), or differs from First in currency or model.
// Both windows are without their flows. It unwraps to
// ledger.ErrMixedWindows.
type MixedWindowsError struct {
	First, Other ledger.Window
	Currency     string // the currency asked for; "" when none was
}

// WrongCurrency reports whether the refusal is that Other is not in the
// currency asked for, rather than that it differs from First.
func (e *MixedWindowsError) WrongCurrency() bool {
	return e.Currency != "" && e.Other.Currency != e.Currency
}

func (e *MixedWindowsError) Error() string {
	if e.WrongCurrency() {
		return fmt.Sprintf("operate: settlement window %d is in %s, not %s", e.Other.ID, e.Other.Currency, e.Currency)
	}
	return fmt.Sprintf("operate: settlement windows %d (%s, %s) and %d (%s, %s) differ",
		e.First.ID, e.First.Currency, e.First.Model, e.Other.ID, e.Other.Currency, e.Other.Model)
}

func (e *MixedWindowsError) Unwrap() error { return ledger.ErrMixedWindows }

// GrossWindowError is returned by CreateSettlement for a window of the
// immediate gross model, settled when it closed. It unwraps to
// ledger.ErrGrossWindow.
type GrossWindowError struct {
	Window ledger.Window // without its flows
}

func (e *GrossWindowError) Error() string {
	return fmt.Sprintf("operate: settlement window %d is %s", e.Window.ID, e.Window.Model)
}

func (e *GrossWindowError) Unwrap() error { return ledger.ErrGrossWindow }

// CannotSettleError is returned by Settle for a settlement in a state from
// which no step leads to SETTLED (ABORTED). It unwraps to
// ledger.ErrSettlementTransition.
type CannotSettleError struct {
	Settlement uint64
	State      ledger.SettlementState
}

func (e *CannotSettleError) Error() string {
	return fmt.Sprintf("operate: settlement %d is %s; it cannot be settled", e.Settlement, e.State)
}

func (e *CannotSettleError) Unwrap() error { return ledger.ErrSettlementTransition }

// StepError is returned by Settle when one of its steps fails. The steps
// before it stand: the settlement is at Reached (at least, when Err is an
// unknown outcome). It unwraps to Err, the step's own error.
type StepError struct {
	Settlement uint64
	Reached    ledger.SettlementState
	To         ledger.SettlementState // the step that failed
	Err        error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("operate: settlement %d is at %s; the step to %s failed: %v", e.Settlement, e.Reached, e.To, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// CurrencyNotEnabledError is returned when a workflow names a currency that
// is not enabled for the participant. It unwraps to
// ledger.ErrCurrencyNotEnabled.
type CurrencyNotEnabledError struct {
	Participant string
	Currency    string
}

func (e *CurrencyNotEnabledError) Error() string {
	return fmt.Sprintf("operate: currency %s is not enabled for participant %q", e.Currency, e.Participant)
}

func (e *CurrencyNotEnabledError) Unwrap() error { return ledger.ErrCurrencyNotEnabled }

// ModifiedRequestError is returned for a funds movement whose id was
// already used for a different movement. It unwraps to
// ledger.ErrModifiedRequest.
type ModifiedRequestError struct {
	ID ledger.ID
}

func (e *ModifiedRequestError) Error() string {
	return fmt.Sprintf("operate: transfer id %s was already used for a different request", e.ID)
}

func (e *ModifiedRequestError) Unwrap() error { return ledger.ErrModifiedRequest }

// CollateralError is returned by FundsOut when the participant's settlement
// balance, less funds out already reserved, would no longer cover its
// position and reserved payments. It unwraps to
// ledger.ErrInsufficientLiquidity.
type CollateralError struct {
	Participant string
	Currency    string
	Amount      int64 // minor units of Currency
}

func (e *CollateralError) Error() string {
	return fmt.Sprintf("operate: participant %q cannot withdraw %s %s", e.Participant, formatAmount(e.Amount, e.Currency), e.Currency)
}

func (e *CollateralError) Unwrap() error { return ledger.ErrInsufficientLiquidity }

// NotFundsOutError is returned when committing or aborting a transfer that
// is not a funds out. It unwraps to ledger.ErrWrongKind.
type NotFundsOutError struct {
	ID ledger.ID
}

func (e *NotFundsOutError) Error() string {
	return fmt.Sprintf("operate: transfer %s is not a funds out", e.ID)
}

func (e *NotFundsOutError) Unwrap() error { return ledger.ErrWrongKind }

// FundsOutFinalError is returned when committing a funds out that was
// aborted, or aborting one that was committed. It unwraps to
// ledger.ErrTransferFinal.
type FundsOutFinalError struct {
	ID ledger.ID
}

func (e *FundsOutFinalError) Error() string {
	return fmt.Sprintf("operate: transfer %s is already final the other way", e.ID)
}

func (e *FundsOutFinalError) Unwrap() error { return ledger.ErrTransferFinal }

// ReasonTooLongError is returned for a reason longer than the ledger keeps.
type ReasonTooLongError struct {
	Len, Max int // bytes
}

func (e *ReasonTooLongError) Error() string {
	return fmt.Sprintf("operate: reason is %d bytes; at most %d are kept", e.Len, e.Max)
}

// ErrReasonRequired is returned by SetSettlementState when aborting a
// settlement without a reason.
var ErrReasonRequired = errors.New("operate: a reason is required to abort a settlement")

// EmptyRangeError is returned by Statement when the range, once its
// defaults are filled in and its end is cut at now, holds no time.
type EmptyRangeError struct {
	From, To time.Time
}

func (e *EmptyRangeError) Error() string {
	return fmt.Sprintf("operate: the statement would run from %s to %s, which is empty", stamp(e.From), stamp(e.To))
}

// stamp writes a time as the documents do.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// formatAmount writes minor units of the currency code as an FSPIOP amount.
func formatAmount(minor int64, code string) string {
	c, ok := money.Lookup(code)
	if !ok {
		c = money.Currency{Code: code}
	}
	return money.FormatAmount(minor, c)
}
