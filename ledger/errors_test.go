package ledger_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hutong/hutong/ledger"
)

// TestErrorsCodes checks every rule has a code of its own and a message, so
// an adapter's table keyed by code cannot confuse two rules.
func TestErrorsCodes(t *testing.T) {
	rules := ledger.Errors()
	if len(rules) == 0 {
		t.Fatal("Errors() is empty")
	}
	seen := map[string]bool{}
	for _, e := range rules {
		if e.Code == "" || e.Message() == "" {
			t.Errorf("rule %+v has no code or no message", e)
		}
		if seen[e.Code] {
			t.Errorf("code %s is used by two rules", e.Code)
		}
		seen[e.Code] = true
		if got, want := e.Error(), "ledger: "+e.Message(); got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	}
	for _, want := range []*ledger.Error{ledger.ErrInvalidCommand, ledger.ErrTransferFinal, ledger.ErrSettlementTransition} {
		if !seen[want.Code] {
			t.Errorf("Errors() lacks %s", want.Code)
		}
	}
	rules[0] = nil
	if ledger.Errors()[0] == nil {
		t.Error("Errors() returned the ledger's own slice")
	}
}

// TestDetailError checks a rule broken with detail still matches its rule
// and tells the client both.
func TestDetailError(t *testing.T) {
	l := ledger.New(nil)
	_, err := l.Apply(t0, &ledger.Command{Op: 250})
	for _, err := range []error{err, fmt.Errorf("submit: %w", err)} {
		if !errors.Is(err, ledger.ErrInvalidCommand) {
			t.Fatalf("error %v does not match ErrInvalidCommand", err)
		}
		var le *ledger.Error
		if !errors.As(err, &le) || le != ledger.ErrInvalidCommand {
			t.Errorf("errors.As found %v, want the sentinel", le)
		}
		var de *ledger.DetailError
		if !errors.As(err, &de) {
			t.Fatalf("error %v is not a *DetailError", err)
		}
		if got, want := de.Message(), "invalid command: unknown operation 250"; got != want {
			t.Errorf("Message() = %q, want %q", got, want)
		}
		if got, want := de.Error(), "ledger: invalid command: unknown operation 250"; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	}
}

// TestTransitionErrorMessage checks the client's message is the error
// without the package prefix.
func TestTransitionErrorMessage(t *testing.T) {
	te := &ledger.TransitionError{From: ledger.SettlementPending, To: ledger.SettlementReserved}
	if got, want := te.Error(), "ledger: "+te.Message(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
