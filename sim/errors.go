package sim

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. *Error wraps one of the first five; test with errors.Is.
var (
	// ErrCallback is wrapped by the *Error of a step answered with an FSPIOP
	// error callback (PUT .../error); Code and Description are its
	// errorInformation.
	ErrCallback = errors.New("sim: error callback")
	// ErrRefused is wrapped by the *Error of a request the hub answered
	// with an HTTP status other than the one expected (202 for a request,
	// 200 for a callback), or could not be sent.
	ErrRefused = errors.New("sim: request refused")
	// ErrTimeout is wrapped, with the context's error, by the *Error of a
	// step whose callback had not come when the context ended. In the
	// transfer phase the outcome is unknown: the transfer may still commit,
	// and its callback, when it comes, still settles the customer's
	// balance.
	ErrTimeout = errors.New("sim: no callback before the context ended")
	// ErrFulfilment is wrapped by the *Error of a transfer committed with a
	// fulfilment that does not match its condition.
	ErrFulfilment = errors.New("sim: fulfilment does not match the condition")
	// ErrUnexpected is wrapped by the *Error of a step answered with a
	// callback the protocol does not allow there (a missing field, a
	// transfer state other than COMMITTED, a currency not asked for). Such a
	// callback is also counted as a protocol error.
	ErrUnexpected = errors.New("sim: unexpected callback")

	// ErrUnknownCustomer is returned when the payer or payee customer is
	// not one of the FSP's customers.
	ErrUnknownCustomer = errors.New("sim: unknown customer")
	// ErrInsufficientFunds is wrapped by the *Error of a transfer refused
	// before it was sent because the payer customer's balance is too low.
	ErrInsufficientFunds = errors.New("sim: insufficient funds")
	// ErrClosed is returned by an FSP that has been closed.
	ErrClosed = errors.New("sim: closed")
	// ErrConfig is wrapped by the errors Config.Validate returns.
	ErrConfig = errors.New("sim: invalid config")
	// ErrParty is wrapped by the errors ParseParty returns.
	ErrParty = errors.New("sim: invalid party")
)

// Phase names a step of a payment or of the FSP's own set up.
type Phase string

// The phases an *Error names.
const (
	PhaseDiscovery Phase = "discovery" // GET /parties
	PhaseQuote     Phase = "quote"     // POST /quotes
	PhaseTransfer  Phase = "transfer"  // POST /transfers
	PhaseRegister  Phase = "register"  // POST /participants
	PhaseRequest   Phase = "request"   // POST /transactionRequests
)

// Error is a failed step of a payment or of a registration.
type Error struct {
	Phase       Phase  // which step failed
	Code        string // FSPIOP errorCode, when the failure carries one
	Description string // FSPIOP errorDescription, or what went wrong
	Status      int    // HTTP status of a refused request, else 0
	Err         error  // ErrCallback, ErrRefused, ErrTimeout, ErrFulfilment, ErrUnexpected or ErrInsufficientFunds
}

// Error describes the failure, e.g.
// `sim: quote: FSPIOP error 5103: Payee FSP rejected quote`.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sim: %s: ", e.Phase)
	switch {
	case e.Code != "":
		fmt.Fprintf(&b, "FSPIOP error %s", e.Code)
		if e.Status != 0 {
			fmt.Fprintf(&b, " (HTTP %d)", e.Status)
		}
		if e.Description != "" {
			b.WriteString(": " + e.Description)
		}
	case e.Status != 0:
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if e.Description != "" {
			b.WriteString(": " + e.Description)
		}
	default:
		if e.Err != nil {
			b.WriteString(strings.TrimPrefix(e.Err.Error(), "sim: "))
		}
		if e.Description != "" {
			b.WriteString(": " + e.Description)
		}
	}
	return b.String()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// FSPIOP error codes the simulated FSPs send (API Definition v1.1, section
// 7.6).
const (
	CodeMalformedSyntax     = "3101" // a header or body element is malformed
	CodeMissingElement      = "3102" // a mandatory header or element is missing
	CodeUnknownURI          = "3002" // no such path
	CodeUnacceptableVersion = "3001" // Content-Type or Accept names another version
	CodeGenericClient       = "3000" // the method is not allowed on the path
	CodePartyNotFound       = "3204" // no customer with this identifier
	CodeTransferExpired     = "3303" // the transfer's expiration has passed
	CodeGenericValidation   = "3100" // a value is out of range (an amount, a fee larger than it)
	CodeTooLargePayload     = "3104" // the body is larger than Config.MaxBody
	CodeInternalError       = "2001" // the FSP failed while answering (a bug)
	CodePayeeRejection      = "5100" // generic payee rejection
	CodeRejectedQuote       = "5103" // RejectQuotes' default: the payee FSP refuses to quote
	CodeRejectedTransfer    = "5105" // the payee FSP rejects the transfer (ILP checks)
	CodePayeeCurrency       = "5106" // the payee has no account in the currency
)
