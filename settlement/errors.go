package settlement

import "errors"

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
	// allow. The wrapping error says which.
	ErrInvalidRequest = errors.New("settlement: invalid request")

	// ErrUnknownWindow is returned by BuildStatement for a committed
	// payment whose settlement window is not among the windows given, so
	// that whether it settled gross cannot be told.
	ErrUnknownWindow = errors.New("settlement: window not given")

	// ErrInvalidRecords is matched (errors.Is) by the *RecordsError that
	// ParseRecords returns for a file it rejects.
	ErrInvalidRecords = errors.New("settlement: invalid records file")
)
