package ledger

// Error is a rule the ledger enforces. Each is a sentinel: compare with
// errors.Is. Code is stable and machine-readable; FSPIOP is the FSPIOP API
// error code the rule maps to, where there is one.
type Error struct {
	Code   string
	FSPIOP string
	msg    string
}

func (e *Error) Error() string { return "ledger: " + e.msg }

func newError(code, fspiop, msg string) *Error { return &Error{Code: code, FSPIOP: fspiop, msg: msg} }

// Rules a command can break. A command that returns one of these changed
// nothing.
var (
	ErrInvalidCommand        = newError("INVALID_COMMAND", "3100", "invalid command")
	ErrInvalidID             = newError("INVALID_ID", "3101", "transfer id must be a non-zero UUID")
	ErrInvalidParticipantID  = newError("INVALID_PARTICIPANT_ID", "3101", "participant id must be 1 to 32 characters of letters, digits, '.', '_' or '-', and not \"hub\"")
	ErrInvalidName           = newError("INVALID_NAME", "3101", "participant name must be 1 to 128 printable characters")
	ErrParticipantExists     = newError("PARTICIPANT_EXISTS", "", "participant already exists")
	ErrParticipantNotFound   = newError("PARTICIPANT_NOT_FOUND", "3200", "participant not found")
	ErrPayerNotFound         = newError("PAYER_NOT_FOUND", "3202", "payer FSP not found")
	ErrPayeeNotFound         = newError("PAYEE_NOT_FOUND", "3203", "payee FSP not found")
	ErrPayerSuspended        = newError("PAYER_SUSPENDED", "3202", "payer FSP is suspended")
	ErrPayeeSuspended        = newError("PAYEE_SUSPENDED", "3203", "payee FSP is suspended")
	ErrSameParticipant       = newError("SAME_PARTICIPANT", "3100", "payer and payee FSP must differ")
	ErrUnknownCurrency       = newError("UNKNOWN_CURRENCY", "3100", "currency is not an ISO 4217 code with a minor unit")
	ErrCurrencyNotEnabled    = newError("CURRENCY_NOT_ENABLED", "3201", "currency is not enabled for the participant")
	ErrPayerCurrency         = newError("PAYER_CURRENCY_NOT_ENABLED", "3202", "currency is not enabled for the payer FSP")
	ErrPayeeCurrency         = newError("PAYEE_CURRENCY_NOT_ENABLED", "3203", "currency is not enabled for the payee FSP")
	ErrInvalidAmount         = newError("INVALID_AMOUNT", "3100", "amount must be greater than zero")
	ErrInvalidNDC            = newError("INVALID_NDC", "3100", "net debit cap must not be negative")
	ErrExpiryNotInFuture     = newError("EXPIRY_NOT_IN_FUTURE", "3303", "expiration is not in the future")
	ErrExpiryTooFar          = newError("EXPIRY_TOO_FAR", "3100", "expiration is more than 30 days ahead")
	ErrMalformedCondition    = newError("MALFORMED_CONDITION", "3100", "condition must be a 32-byte SHA-256 digest, base64url without padding")
	ErrNDCExceeded           = newError("NDC_EXCEEDED", "4200", "payer FSP's position would exceed its net debit cap")
	ErrInsufficientLiquidity = newError("INSUFFICIENT_LIQUIDITY", "4001", "payer FSP's settlement balance does not cover its position")
	ErrModifiedRequest       = newError("MODIFIED_REQUEST", "3106", "transfer id was already used with different content")
	ErrTransferNotFound      = newError("TRANSFER_NOT_FOUND", "3208", "transfer not found")
	ErrNotPayee              = newError("NOT_PAYEE", "3100", "only the transfer's payee FSP may fulfil or abort it")
	ErrWrongKind             = newError("WRONG_KIND", "3100", "the transfer is not of the kind this command applies to")
	ErrInvalidFulfilment     = newError("INVALID_FULFILMENT", "3100", "fulfilment does not match the transfer's condition")
	ErrTransferExpired       = newError("TRANSFER_EXPIRED", "3303", "transfer has expired")
	ErrTransferFinal         = newError("TRANSFER_FINAL", "2001", "transfer is already final")
	ErrOverflow              = newError("OVERFLOW", "2001", "amount would overflow an account total")
	ErrNoWindow              = newError("NO_WINDOW", "3100", "currency is not enabled for any participant, so it has no settlement window")
	ErrWindowNotFound        = newError("WINDOW_NOT_FOUND", "", "settlement window not found")
	ErrWindowNotOpen         = newError("WINDOW_NOT_OPEN", "", "settlement window is already closed")
	ErrWindowNotClosed       = newError("WINDOW_NOT_CLOSED", "", "a settlement covers only closed windows that no other settlement covers")
	ErrMixedWindows          = newError("MIXED_WINDOWS", "", "a settlement's windows must all be of one currency and one settlement model")
	ErrGrossWindow           = newError("GROSS_WINDOW", "", "window settles gross: its payments settled as they committed")
	ErrSettlementNotFound    = newError("SETTLEMENT_NOT_FOUND", "", "settlement not found")
	ErrCollateralShort       = newError("INSUFFICIENT_COLLATERAL", "", "a net debtor's collateral does not cover what the settlement takes from it")
	ErrSettlementTransition  = newError("SETTLEMENT_TRANSITION", "", "the settlement cannot move to that state")
)
