package fspiop

import (
	"net/http"
	"testing"

	"github.com/hutong/hutong/ledger"
)

// ledgerCodesWant is the FSPIOP code of every ledger rule by its ledger
// code, as the ledger carried them before the table moved here. An empty
// code is a rule that had none, answered with 3100.
var ledgerCodesWant = map[string]string{
	"INVALID_COMMAND":            "3100",
	"INVALID_ID":                 "3101",
	"INVALID_PARTICIPANT_ID":     "3101",
	"INVALID_NAME":               "3101",
	"PARTICIPANT_EXISTS":         "",
	"PARTICIPANT_NOT_FOUND":      "3200",
	"PAYER_NOT_FOUND":            "3202",
	"PAYEE_NOT_FOUND":            "3203",
	"PAYER_SUSPENDED":            "3202",
	"PAYEE_SUSPENDED":            "3203",
	"SAME_PARTICIPANT":           "3100",
	"UNKNOWN_CURRENCY":           "3100",
	"CURRENCY_NOT_ENABLED":       "3201",
	"PAYER_CURRENCY_NOT_ENABLED": "3202",
	"PAYEE_CURRENCY_NOT_ENABLED": "3203",
	"INVALID_AMOUNT":             "3100",
	"INVALID_NDC":                "3100",
	"EXPIRY_NOT_IN_FUTURE":       "3303",
	"EXPIRY_TOO_FAR":             "3100",
	"MALFORMED_CONDITION":        "3100",
	"NDC_EXCEEDED":               "4200",
	"INSUFFICIENT_LIQUIDITY":     "4001",
	"MODIFIED_REQUEST":           "3106",
	"TRANSFER_NOT_FOUND":         "3208",
	"NOT_PAYEE":                  "3100",
	"WRONG_KIND":                 "3100",
	"INVALID_FULFILMENT":         "3100",
	"TRANSFER_EXPIRED":           "3303",
	"TRANSFER_FINAL":             "2001",
	"OVERFLOW":                   "2001",
	"NO_WINDOW":                  "3100",
	"WINDOW_NOT_FOUND":           "",
	"WINDOW_NOT_OPEN":            "",
	"WINDOW_NOT_CLOSED":          "",
	"MIXED_WINDOWS":              "",
	"GROSS_WINDOW":               "",
	"SETTLEMENT_NOT_FOUND":       "",
	"INSUFFICIENT_COLLATERAL":    "",
	"SETTLEMENT_TRANSITION":      "",
}

// TestLedgerCodes checks every ledger rule has an FSPIOP code in the table,
// the one it had, and that the table names nothing else.
func TestLedgerCodes(t *testing.T) {
	rules := ledger.Errors()
	for _, le := range rules {
		t.Run(le.Code, func(t *testing.T) {
			got, ok := ledgerCodes[le]
			if !ok {
				t.Fatalf("ledger rule %s has no FSPIOP code in ledgerCodes", le.Code)
			}
			want, ok := ledgerCodesWant[le.Code]
			if !ok {
				t.Fatalf("ledger rule %s is not in ledgerCodesWant; add the code it should answer", le.Code)
			}
			if want == "" {
				want = "3100"
			}
			if got != want {
				t.Errorf("ledgerCodes[%s] = %s, want %s", le.Code, got, want)
			}
			e := ledgerError(le)
			if e.Status != http.StatusBadRequest || e.Code != want || e.Detail != le.Message() {
				t.Errorf("ledgerError(%s) = %d %s %q, want %d %s %q", le.Code, e.Status, e.Code, e.Detail,
					http.StatusBadRequest, want, le.Message())
			}
		})
	}
	if len(ledgerCodes) != len(rules) {
		t.Errorf("ledgerCodes has %d entries for %d ledger rules", len(ledgerCodes), len(rules))
	}
	if len(ledgerCodesWant) != len(rules) {
		t.Errorf("ledgerCodesWant has %d entries for %d ledger rules", len(ledgerCodesWant), len(rules))
	}
}
