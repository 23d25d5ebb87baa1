package settlement

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
)

// Directions of a transfer as a participant sees it.
const (
	DirectionSent     = "SENT"     // the participant paid
	DirectionReceived = "RECEIVED" // the participant was paid
)

// Record is one line of a participant's records file.
type Record struct {
	Line       int // the line it is on, counting the header as 1
	TransferID ledger.ID
	Currency   string
	Amount     int64     // minor units of Currency, above zero
	State      string    // FSPIOP TransferState: RECEIVED, RESERVED, COMMITTED or ABORTED
	Direction  string    // DirectionSent, DirectionReceived, or "" when not given
	Completed  time.Time // zero when not given
}

// The columns of a records file.
const (
	colTransferID  = "transfer_id"
	colCurrency    = "currency"
	colAmount      = "amount"
	colState       = "state"
	colDirection   = "direction"
	colCompletedAt = "completed_at"
)

var (
	requiredColumns = []string{colTransferID, colCurrency, colAmount, colState}
	knownColumns    = []string{colTransferID, colCurrency, colAmount, colState, colDirection, colCompletedAt}
)

// LineError is what is wrong with one line of a records file.
type LineError struct {
	Line int    // counting the header as 1
	Msg  string // every problem found on the line
}

// String writes "line N: problems".
func (e LineError) String() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// RecordsError is returned by ParseRecords for a file it rejects, with
// every bad line. It matches ErrInvalidRecords.
type RecordsError struct {
	Lines []LineError // ordered by line
}

// maxErrorLines is how many bad lines Error spells out.
const maxErrorLines = 10

func (e *RecordsError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidRecords.Error())
	for i, l := range e.Lines {
		if i == maxErrorLines {
			fmt.Fprintf(&b, "; and %d more bad lines", len(e.Lines)-i)
			break
		}
		b.WriteString("; ")
		b.WriteString(l.String())
	}
	return b.String()
}

// Unwrap returns ErrInvalidRecords.
func (e *RecordsError) Unwrap() error { return ErrInvalidRecords }

// ParseRecords reads a participant's records file (the format is in the
// package comment). It returns every record, in file order, or, when any
// line is bad, no records and a *RecordsError listing every bad line. An
// error reading r is returned as it is.
func ParseRecords(r io.Reader) ([]Record, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // counted here, so that each line is reported
	cr.ReuseRecord = true

	var bad []LineError
	var cols map[string]int
	var records []Record
	seen := make(map[ledger.ID]int)
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("settlement: read records: %w", err)
			}
			bad = append(bad, LineError{Line: pe.StartLine, Msg: "not valid CSV: " + pe.Err.Error()})
			if cols == nil {
				break // no header to read the rest by
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if cols == nil {
			var msg string
			cols, msg = parseHeader(row)
			if cols == nil {
				bad = append(bad, LineError{Line: line, Msg: msg})
				break
			}
			continue
		}
		rec, problems := parseRecord(row, cols, line)
		if rec.Line != 0 {
			if first, dup := seen[rec.TransferID]; dup {
				problems = append(problems, fmt.Sprintf("transfer id %s is already on line %d", rec.TransferID, first))
			} else {
				seen[rec.TransferID] = line
			}
		}
		if len(problems) != 0 {
			bad = append(bad, LineError{Line: line, Msg: strings.Join(problems, "; ")})
			continue
		}
		if len(bad) == 0 {
			records = append(records, rec)
		}
	}
	if cols == nil && len(bad) == 0 {
		bad = append(bad, LineError{Line: 1, Msg: "the file is empty: the first line must be a header naming the columns " + strings.Join(knownColumns, ",")})
	}
	if len(bad) != 0 {
		return nil, &RecordsError{Lines: bad}
	}
	return records, nil
}

// parseHeader maps each column name to its index, or returns nil and what
// is wrong.
func parseHeader(row []string) (map[string]int, string) {
	if len(row) > 0 {
		if _, err := ledger.ParseID(row[0]); err == nil {
			return nil, "the first line must be a header naming the columns (" + strings.Join(knownColumns, ", ") + "), not a record"
		}
	}
	cols := make(map[string]int, len(row))
	var problems []string
	for i, name := range row {
		known := false
		for _, k := range knownColumns {
			known = known || name == k
		}
		switch _, dup := cols[name]; {
		case !known:
			problems = append(problems, fmt.Sprintf("unknown column %q (the columns are %s, in lower case)", name, strings.Join(knownColumns, ", ")))
		case dup:
			problems = append(problems, fmt.Sprintf("column %q is named twice", name))
		default:
			cols[name] = i
		}
	}
	for _, name := range requiredColumns {
		if _, ok := cols[name]; !ok {
			problems = append(problems, fmt.Sprintf("required column %q is missing", name))
		}
	}
	if len(problems) != 0 {
		return nil, strings.Join(problems, "; ")
	}
	return cols, ""
}

// parseRecord parses one line; rec.Line is set when the transfer id
// parsed, whatever else is wrong.
func parseRecord(row []string, cols map[string]int, line int) (Record, []string) {
	var rec Record
	if len(row) != len(cols) {
		return rec, []string{fmt.Sprintf("%d values, the header names %d columns", len(row), len(cols))}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if id, err := ledger.ParseID(row[cols[colTransferID]]); err != nil {
		bad("transfer_id %s is not a UUID in lower-case 8-4-4-4-12 form", quoteValue(row[cols[colTransferID]]))
	} else if id.IsZero() {
		bad("transfer_id is the zero UUID")
	} else {
		rec.TransferID, rec.Line = id, line
	}

	code := row[cols[colCurrency]]
	c, ok := money.Lookup(code)
	if !ok {
		bad("currency %s is not an ISO 4217 code with a minor unit", quoteValue(code))
	} else {
		rec.Currency = code
	}

	amount := row[cols[colAmount]]
	if ok {
		var ae *money.AmountError
		switch v, err := money.ParseAmount(amount, c); {
		case errors.As(err, &ae):
			bad("%s", ae.Message())
		case err != nil:
			bad("%v", err)
		case v == 0:
			bad("amount must be greater than zero")
		default:
			rec.Amount = v
		}
	}

	switch s := row[cols[colState]]; s {
	case "RECEIVED", "RESERVED", "COMMITTED", "ABORTED":
		rec.State = s
	default:
		bad("state %s is not RECEIVED, RESERVED, COMMITTED or ABORTED", quoteValue(s))
	}

	if i, ok := cols[colDirection]; ok {
		switch d := row[i]; d {
		case "", DirectionSent, DirectionReceived:
			rec.Direction = d
		default:
			bad("direction %s is not SENT or RECEIVED", quoteValue(d))
		}
	}

	if i, ok := cols[colCompletedAt]; ok && row[i] != "" {
		t, err := time.Parse(time.RFC3339Nano, row[i])
		if err != nil {
			bad("completed_at %s is not an RFC 3339 time such as 2030-01-02T03:04:05Z", quoteValue(row[i]))
		} else {
			rec.Completed = t.UTC()
		}
	}
	return rec, problems
}

// quoteValue quotes a value for an error message, shortened.
func quoteValue(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}
