package settlement

import (
	"errors"
	"fmt"
)

var (
	// ErrUnbalanced is returned when a report does not balance: its nets
	// do not sum to zero, a participant's net is not its sent less its
	// received, its totals disagree with the window or settlement it was
	// built from, or its bilateral obligations disagree with its nets. It
	// means the input is corrupt or a bug; such a report is never written.
	ErrUnbalanced = errors.New("settlement: report does not balance")

	// ErrOverflow is returned when a total would not fit in an int64 of
	// minor units.
	ErrOverflow = errors.New("settlement: amount total out of range")

	// ErrInvalidRequest is returned for a request that cannot be answered
	// as given: an unknown currency, an account type a statement does not
	// cover, an empty or reversed time range, a message id ISO does not
	// allow. A *RequestError wrapping it says which.
	ErrInvalidRequest = errors.New("settlement: invalid request")

	// ErrUnknownWindow is returned by BuildStatement for a committed
	// payment whose settlement window is not among the windows given, so
	// that whether it settled gross cannot be told.
	ErrUnknownWindow = errors.New("settlement: window not given")

	// ErrInvalidRecords is matched (errors.Is) by the *RecordsError that
	// ParseRecords returns for a file it rejects.
	ErrInvalidRecords = errors.New("settlement: invalid records file")
)

// RequestError is the error for a request that cannot be answered as given.
// It matches ErrInvalidRequest; Detail says what is wrong with the request.
type RequestError struct {
	Detail string
}

func (e *RequestError) Error() string { return "settlement: " + e.Message() }

// Message says, for a client to read, that the request is invalid and why.
func (e *RequestError) Message() string { return "invalid request: " + e.Detail }

// Unwrap returns ErrInvalidRequest.
func (e *RequestError) Unwrap() error { return ErrInvalidRequest }

// invalidRequest returns a *RequestError with the detail made from format.
func invalidRequest(format string, args ...any) error {
	return &RequestError{Detail: fmt.Sprintf(format, args...)}
}
