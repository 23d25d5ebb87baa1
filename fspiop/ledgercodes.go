package fspiop

import "github.com/hutong/hutong/ledger"

// ledgerCodes is the FSPIOP error code each ledger rule is answered with.
// Every rule has an entry (a test holds the table to ledger.Errors); the
// rules only the admin API can break answer 3100 should one reach FSPIOP.
var ledgerCodes = map[*ledger.Error]string{
	ledger.ErrInvalidCommand:        "3100",
	ledger.ErrInvalidID:             "3101",
	ledger.ErrInvalidParticipantID:  "3101",
	ledger.ErrInvalidName:           "3101",
	ledger.ErrParticipantNotFound:   "3200",
	ledger.ErrPayerNotFound:         "3202",
	ledger.ErrPayeeNotFound:         "3203",
	ledger.ErrPayerSuspended:        "3202",
	ledger.ErrPayeeSuspended:        "3203",
	ledger.ErrSameParticipant:       "3100",
	ledger.ErrUnknownCurrency:       "3100",
	ledger.ErrCurrencyNotEnabled:    "3201",
	ledger.ErrPayerCurrency:         "3202",
	ledger.ErrPayeeCurrency:         "3203",
	ledger.ErrInvalidAmount:         "3100",
	ledger.ErrInvalidNDC:            "3100",
	ledger.ErrExpiryNotInFuture:     "3303",
	ledger.ErrExpiryTooFar:          "3100",
	ledger.ErrMalformedCondition:    "3100",
	ledger.ErrNDCExceeded:           "4200",
	ledger.ErrInsufficientLiquidity: "4001",
	ledger.ErrModifiedRequest:       "3106",
	ledger.ErrTransferNotFound:      "3208",
	ledger.ErrNotPayee:              "3100",
	ledger.ErrWrongKind:             "3100",
	ledger.ErrInvalidFulfilment:     "3100",
	ledger.ErrTransferExpired:       "3303",
	ledger.ErrTransferFinal:         "2001",
	ledger.ErrOverflow:              "2001",
	ledger.ErrNoWindow:              "3100",

	// Admin API only.
	ledger.ErrParticipantExists:    "3100",
	ledger.ErrWindowNotFound:       "3100",
	ledger.ErrWindowNotOpen:        "3100",
	ledger.ErrWindowNotClosed:      "3100",
	ledger.ErrMixedWindows:         "3100",
	ledger.ErrGrossWindow:          "3100",
	ledger.ErrSettlementNotFound:   "3100",
	ledger.ErrCollateralShort:      "3100",
	ledger.ErrSettlementTransition: "3100",
}

// ledgerCode returns the FSPIOP error code for le: its entry in
// ledgerCodes, or 3100 (generic validation error) for a rule the table
// lacks.
func ledgerCode(le *ledger.Error) string {
	if code, ok := ledgerCodes[le]; ok {
		return code
	}
	return "3100"
}
