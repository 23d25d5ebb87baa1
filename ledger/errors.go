package ledger

import "fmt"

// Error is a rule the ledger enforces. Each is a sentinel: compare with
// errors.Is, or find it with errors.As. Code is stable and machine-readable,
// and no two rules share one; adapters map it to their protocol's codes.
type Error struct {
	Code string
	msg  string
}

func (e *Error) Error() string { return "ledger: " + e.msg }

// Message is what the rule says, for a client to read: the error's text
// without the package prefix.
func (e *Error) Message() string { return e.msg }

// DetailError is a broken rule with what about the command broke it. It
// wraps its rule, so errors.Is and errors.As find the sentinel as they would
// for the rule alone.
type DetailError struct {
	Rule   *Error // the rule broken
	Detail string // what in the command broke it
}

func (e *DetailError) Error() string { return "ledger: " + e.Message() }

// Message is the rule's message followed by the detail, for a client to
// read.
func (e *DetailError) Message() string { return e.Rule.msg + ": " + e.Detail }

// Unwrap returns e.Rule.
func (e *DetailError) Unwrap() error { return e.Rule }

// detail returns e broken with the detail made from format.
func (e *Error) detail(format string, args ...any) error {
	return &DetailError{Rule: e, Detail: fmt.Sprintf(format, args...)}
}

// rules holds every Error in declaration order; newError adds to it.
var rules []*Error

func newError(code, msg string) *Error {
	e := &Error{Code: code, msg: msg}
	rules = append(rules, e)
	return e
}

// Errors returns every rule the ledger enforces, in declaration order, so an
// adapter can check that it maps each of them to its protocol.
func Errors() []*Error { return append([]*Error(nil), rules...) }

// Rules a command can break. A command that returns one of these changed
// nothing.
var (
	ErrInvalidCommand        = newError("INVALID_COMMAND", "invalid command")
	ErrInvalidID             = newError("INVALID_ID", "transfer id must be a non-zero UUID")
	ErrInvalidParticipantID  = newError("INVALID_PARTICIPANT_ID", "participant id must be 1 to 32 characters of letters, digits, '.', '_' or '-', and not \""+HubID+"\"")
	ErrInvalidName           = newError("INVALID_NAME", "participant name must be 1 to 128 printable characters")
	ErrParticipantExists     = newError("PARTICIPANT_EXISTS", "participant already exists")
	ErrParticipantNotFound   = newError("PARTICIPANT_NOT_FOUND", "participant not found")
	ErrPayerNotFound         = newError("PAYER_NOT_FOUND", "payer FSP not found")
	ErrPayeeNotFound         = newError("PAYEE_NOT_FOUND", "payee FSP not found")
	ErrPayerSuspended        = newError("PAYER_SUSPENDED", "payer FSP is suspended")
	ErrPayeeSuspended        = newError("PAYEE_SUSPENDED", "payee FSP is suspended")
	ErrSameParticipant       = newError("SAME_PARTICIPANT", "payer and payee FSP must differ")
	ErrUnknownCurrency       = newError("UNKNOWN_CURRENCY", "currency is not an ISO 4217 code with a minor unit")
	ErrCurrencyNotEnabled    = newError("CURRENCY_NOT_ENABLED", "currency is not enabled for the participant")
	ErrPayerCurrency         = newError("PAYER_CURRENCY_NOT_ENABLED", "currency is not enabled for the payer FSP")
	ErrPayeeCurrency         = newError("PAYEE_CURRENCY_NOT_ENABLED", "currency is not enabled for the payee FSP")
	ErrInvalidAmount         = newError("INVALID_AMOUNT", "amount must be greater than zero")
	ErrInvalidNDC            = newError("INVALID_NDC", "net debit cap must not be negative")
	ErrExpiryNotInFuture     = newError("EXPIRY_NOT_IN_FUTURE", "expiration is not in the future")
	ErrExpiryTooFar          = newError("EXPIRY_TOO_FAR", "expiration is more than 30 days ahead")
	ErrMalformedCondition    = newError("MALFORMED_CONDITION", "condition must be a 32-byte SHA-256 digest, base64url without padding")
	ErrNDCExceeded           = newError("NDC_EXCEEDED", "payer FSP's position would exceed its net debit cap")
	ErrInsufficientLiquidity = newError("INSUFFICIENT_LIQUIDITY", "payer FSP's settlement balance does not cover its position")
	ErrModifiedRequest       = newError("MODIFIED_REQUEST", "transfer id was already used with different content")
	ErrTransferNotFound      = newError("TRANSFER_NOT_FOUND", "transfer not found")
	ErrNotPayee              = newError("NOT_PAYEE", "only the transfer's payee FSP may fulfil or abort it")
	ErrWrongKind             = newError("WRONG_KIND", "the transfer is not of the kind this command applies to")
	ErrInvalidFulfilment     = newError("INVALID_FULFILMENT", "fulfilment does not match the transfer's condition")
	ErrTransferExpired       = newError("TRANSFER_EXPIRED", "transfer has expired")
	ErrTransferFinal         = newError("TRANSFER_FINAL", "transfer is already final")
	ErrOverflow              = newError("OVERFLOW", "amount would overflow an account total")
	ErrNoWindow              = newError("NO_WINDOW", "currency is not enabled for any participant, so it has no settlement window")
	ErrWindowNotFound        = newError("WINDOW_NOT_FOUND", "settlement window not found")
	ErrWindowNotOpen         = newError("WINDOW_NOT_OPEN", "settlement window is already closed")
	ErrWindowNotClosed       = newError("WINDOW_NOT_CLOSED", "a settlement covers only closed windows that no other settlement covers")
	ErrMixedWindows          = newError("MIXED_WINDOWS", "a settlement's windows must all be of one currency and one settlement model")
	ErrGrossWindow           = newError("GROSS_WINDOW", "window settles gross: its payments settled as they committed")
	ErrSettlementNotFound    = newError("SETTLEMENT_NOT_FOUND", "settlement not found")
	ErrCollateralShort       = newError("INSUFFICIENT_COLLATERAL", "a net debtor's collateral does not cover what the settlement takes from it")
	ErrSettlementTransition  = newError("SETTLEMENT_TRANSITION", "the settlement cannot move to that state")
)
