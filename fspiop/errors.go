package fspiop

import (
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// Error is an FSPIOP error: one of the specification's four-digit codes
// with a description, answered synchronously with Status or sent in an
// error callback. Err, when set, is the cause, logged and never sent.
type Error struct {
	Status     int    // HTTP status when answered synchronously
	Code       string // FSPIOP error code, e.g. "3101"
	Detail     string // what was wrong, for the developer reading it
	Extensions []Extension
	Err        error
}

// Extension is a key and value of an FSPIOP extension list.
type Extension struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("fspiop: %s %s: %v", e.Code, e.Detail, e.Err)
	}
	return "fspiop: " + e.Code + " " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// codeNames are the specification's names of the error codes the hub
// sends or passes on (API Definition v1.1, section 7.6).
var codeNames = map[string]string{
	"1000": "Communication error",
	"1001": "Destination communication error",
	"2000": "Generic server error",
	"2001": "Internal server error",
	"2002": "Not implemented",
	"2003": "Service currently unavailable",
	"2004": "Server timed out",
	"2005": "Server busy",
	"3000": "Generic client error",
	"3001": "Unacceptable version requested",
	"3002": "Unknown URI",
	"3003": "Add Party information error",
	"3100": "Generic validation error",
	"3101": "Malformed syntax",
	"3102": "Missing mandatory element",
	"3103": "Too many elements",
	"3104": "Too large payload",
	"3105": "Invalid signature",
	"3106": "Modified request",
	"3107": "Missing mandatory extension parameter",
	"3200": "Generic ID not found",
	"3201": "Destination FSP Error",
	"3202": "Payer FSP ID not found",
	"3203": "Payee FSP ID not found",
	"3204": "Party not found",
	"3205": "Quote ID not found",
	"3206": "Transaction request ID not found",
	"3207": "Transaction ID not found",
	"3208": "Transfer ID not found",
	"3300": "Generic expired error",
	"3301": "Transaction request expired",
	"3302": "Quote expired",
	"3303": "Transfer expired",
	"4000": "Generic Payer error",
	"4001": "Payer FSP insufficient liquidity",
	"4200": "Payer limit error",
	"5000": "Generic Payee error",
	"5100": "Generic Payee rejection",
	"5105": "Payee FSP rejected transaction",
}

// newError returns an error with code and a detail made from format.
func newError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Detail: fmt.Sprintf(format, args...)}
}

func badRequest(code, format string, args ...any) *Error {
	return newError(http.StatusBadRequest, code, format, args...)
}

func missing(what string) *Error { return badRequest("3102", "%s is missing", what) }

// maxDescription is the longest ErrorDescription the specification allows.
const maxDescription = 128

// Description is the errorDescription sent: the code's name and the detail,
// cut to the specification's 128 characters.
func (e *Error) Description() string {
	d := codeNames[e.Code]
	if d == "" {
		d = "Error"
	}
	if e.Detail != "" {
		d += " - " + e.Detail
	}
	return truncate(d, maxDescription)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// errorBody is the body of an error response or callback.
type errorBody struct {
	ErrorInformation errorInformation `json:"errorInformation"`
}

type errorInformation struct {
	ErrorCode        string         `json:"errorCode"`
	ErrorDescription string         `json:"errorDescription"`
	ExtensionList    *extensionList `json:"extensionList,omitempty"`
}

type extensionList struct {
	Extension []Extension `json:"extension"`
}

// Body is the error's JSON body, {"errorInformation": {...}}.
func (e *Error) Body() []byte {
	b := errorBody{ErrorInformation: errorInformation{ErrorCode: e.Code, ErrorDescription: e.Description()}}
	if len(e.Extensions) > 0 {
		b.ErrorInformation.ExtensionList = &extensionList{Extension: e.Extensions}
	}
	out, err := json.Marshal(b)
	if err != nil {
		panic(err) // strings only
	}
	return out
}
