package settlement_test

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hutong/hutong/settlement"
)

// TestRequestError checks a refused request matches ErrInvalidRequest and
// gives the client the reason without the package prefix, wrapped or not.
func TestRequestError(t *testing.T) {
	var st settlement.Statement
	err := st.WriteCAMT053(io.Discard, "", time.Time{})
	for _, err := range []error{err, fmt.Errorf("statement: %w", err)} {
		if !errors.Is(err, settlement.ErrInvalidRequest) {
			t.Fatalf("error %v does not match ErrInvalidRequest", err)
		}
		var re *settlement.RequestError
		if !errors.As(err, &re) {
			t.Fatalf("error %v is not a *RequestError", err)
		}
		want := `invalid request: unknown currency ""`
		if got := re.Message(); got != want {
			t.Errorf("Message() = %q, want %q", got, want)
		}
		if got := re.Error(); got != "settlement: "+want {
			t.Errorf("Error() = %q, want %q", got, "settlement: "+want)
		}
	}
}
