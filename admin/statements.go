package admin

// Reports, statements and reconciliation: the documents of package
// settlement, served in the form the client asks for. A report or statement
// is answered as JSON by default, as CSV (text/csv) or, for statements, as
// an ISO 20022 camt.053 message (application/xml) when ?format= says so or,
// without ?format=, when the Accept header lists that type first. A document
// is written whole before anything is sent, so a document that cannot be
// built (one that would not balance) is answered with an error, never cut
// short.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hutong/hutong/admin/adminapi"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/operate"
	"github.com/hutong/hutong/settlement"
)

// Codes of the report, statement and reconciliation routes.
const (
	codeInvalidRecords = "INVALID_RECORDS"
	codeNotAcceptable  = "NOT_ACCEPTABLE"
)

// maxRecordsBody is the largest records file a reconciliation takes, in
// bytes: some tens of thousands of transfers.
const maxRecordsBody = 4 << 20

// maxLineErrors is how many bad lines of a records file an error answer
// lists; the message says how many more there were.
const maxLineErrors = 1000

// docFormat is a form a document can be written in.
type docFormat uint8

const (
	formatJSON docFormat = iota + 1
	formatCSV
	formatCAMT053
)

// Content types of the document forms.
const (
	contentCSV = "text/csv; charset=utf-8"
	contentXML = "application/xml; charset=utf-8"
)

// formats lists every form, in the order messages name them.
var formats = []struct {
	name  string   // the value of ?format=
	types []string // the media types of Accept that ask for it, the first being what it is sent as
	f     docFormat
}{
	{"json", []string{"application/json"}, formatJSON},
	{"csv", []string{"text/csv"}, formatCSV},
	{"camt053", []string{"application/xml", "text/xml"}, formatCAMT053},
}

// docFormatOf chooses the form of the answer among allowed (the first of which
// is the default): ?format= when given, else the first type the Accept
// header lists that the endpoint can write, else the default. An Accept
// header that lists only types the endpoint cannot write is answered with
// 406 NOT_ACCEPTABLE; a ?format= it does not write with 400.
func docFormatOf(r *http.Request, q url.Values, allowed ...docFormat) (docFormat, error) {
	var names, types []string
	for _, x := range formats {
		if slices.Contains(allowed, x.f) {
			names = append(names, x.name)
			types = append(types, x.types[0])
		}
	}
	if q.Has("format") {
		v := q.Get("format")
		for _, x := range formats {
			if x.name == v && slices.Contains(allowed, x.f) {
				return x.f, nil
			}
		}
		return 0, badRequest(codeInvalidQuery, fmt.Sprintf("format %s is not one this endpoint writes; write %s",
			strconv.Quote(truncate(v, 32)), strings.Join(names, ", ")))
	}
	accept := r.Header.Get("Accept")
	if strings.TrimSpace(accept) == "" {
		return allowed[0], nil
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		if mt == "*/*" {
			return allowed[0], nil
		}
		for _, x := range formats {
			if !slices.Contains(allowed, x.f) {
				continue
			}
			for _, t := range x.types {
				if mt == t || (strings.HasSuffix(mt, "/*") && strings.HasPrefix(t, strings.TrimSuffix(mt, "*"))) {
					return x.f, nil
				}
			}
		}
	}
	return 0, &apiError{status: http.StatusNotAcceptable, code: codeNotAcceptable,
		msg: fmt.Sprintf("Accept %s lists no form this endpoint writes; accept one of %s, or pass ?format= (%s)",
			strconv.Quote(truncate(accept, 64)), strings.Join(types, ", "), strings.Join(names, ", "))}
}

// writeDocument answers with a document written whole by write.
func writeDocument(rw http.ResponseWriter, contentType string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	h := rw.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(http.StatusOK)
	rw.Write(buf.Bytes()) // a failed write means the client has gone
	return nil
}

// writeReport answers with a report in the form f.
func writeReport(rw http.ResponseWriter, rep *settlement.Report, f docFormat) error {
	if f == formatCSV {
		return writeDocument(rw, contentCSV, rep.WriteCSV)
	}
	return writeDocument(rw, "application/json", rep.WriteJSON)
}

func (s *Server) windowReport(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseSeq("window id", r.PathValue("id"))
	if err != nil {
		return err
	}
	q, err := query(r, "format")
	if err != nil {
		return err
	}
	f, err := docFormatOf(r, q, formatJSON, formatCSV)
	if err != nil {
		return err
	}
	rep, err := s.ops.WindowReport(r.Context(), id)
	if err != nil {
		return err
	}
	return writeReport(rw, &rep, f)
}

func (s *Server) settlementReport(rw http.ResponseWriter, r *http.Request) error {
	id, err := parseSeq("settlement id", r.PathValue("id"))
	if err != nil {
		return err
	}
	q, err := query(r, "format")
	if err != nil {
		return err
	}
	f, err := docFormatOf(r, q, formatJSON, formatCSV)
	if err != nil {
		return err
	}
	rep, err := s.ops.SettlementReport(r.Context(), id)
	if err != nil {
		return err
	}
	return writeReport(rw, &rep, f)
}

// parseTime parses an RFC 3339 time given in query parameter name.
func parseTime(name, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, badRequest(codeInvalidQuery, fmt.Sprintf("%s %s is not an RFC 3339 time; write it as 2025-01-02T15:04:05Z or with an offset, 2025-01-02T23:04:05+08:00",
			name, strconv.Quote(truncate(s, 40))))
	}
	return t.UTC(), nil
}

// timeRange parses the optional from and to query parameters.
func timeRange(q url.Values) (from, to time.Time, err error) {
	if q.Has("from") {
		if from, err = parseTime("from", q.Get("from")); err != nil {
			return from, to, err
		}
	}
	if q.Has("to") {
		if to, err = parseTime("to", q.Get("to")); err != nil {
			return from, to, err
		}
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, badRequest(codeInvalidQuery, fmt.Sprintf("from %s is not before to %s; the range is from <= time < to",
			q.Get("from"), q.Get("to")))
	}
	return from, to, nil
}

// stamp writes a time as the documents do.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (s *Server) participantStatement(rw http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	q, err := query(r, "currency", "account", "from", "to", "format")
	if err != nil {
		return err
	}
	f, err := docFormatOf(r, q, formatJSON, formatCSV, formatCAMT053)
	if err != nil {
		return err
	}
	if !q.Has("currency") {
		return badRequest(codeInvalidQuery, "query parameter \"currency\" is required, e.g. ?currency=USD")
	}
	cur, err := currency("currency", q.Get("currency"))
	if err != nil {
		return err
	}
	var account ledger.AccountType
	switch v := q.Get("account"); v {
	case "POSITION":
		account = ledger.AccountPosition
	case "SETTLEMENT":
		account = ledger.AccountSettlement
	case "":
		return badRequest(codeInvalidQuery, "query parameter \"account\" is required: POSITION or SETTLEMENT")
	default:
		return badRequest(codeInvalidQuery, fmt.Sprintf("account %s is not a participant's account; write POSITION or SETTLEMENT",
			strconv.Quote(truncate(v, 32))))
	}
	from, to, err := timeRange(q)
	if err != nil {
		return err
	}
	st, err := s.ops.Statement(r.Context(), operate.StatementRequest{Participant: id, Currency: cur.Code, Account: account, From: from, To: to})
	var disabled *operate.CurrencyNotEnabledError
	if errors.As(err, &disabled) {
		return &apiError{status: http.StatusConflict, code: ledger.ErrCurrencyNotEnabled.Code,
			msg: fmt.Sprintf("currency %s is not enabled for participant %q, which has no %s accounts", cur.Code, id, cur.Code)}
	}
	if err != nil {
		return invalidRequest(err)
	}
	switch f {
	case formatCSV:
		return writeDocument(rw, contentCSV, st.WriteCSV)
	case formatCAMT053:
		return writeDocument(rw, contentXML, func(w io.Writer) error { return st.WriteCAMT053(w, "", st.Built) })
	}
	return writeDocument(rw, "application/json", st.WriteJSON)
}

// invalidRequest answers settlement.ErrInvalidRequest with 400 and the
// package's own words; any other error is left as it is.
func invalidRequest(err error) error {
	if re := (*settlement.RequestError)(nil); errors.As(err, &re) {
		return &apiError{status: http.StatusBadRequest, code: codeInvalidQuery,
			msg: re.Message(), err: err}
	}
	return err
}

func (s *Server) reconcile(rw http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	q, err := query(r, "from", "to", "funds")
	if err != nil {
		return err
	}
	from, to, err := timeRange(q)
	if err != nil {
		return err
	}
	var funds bool
	switch v := q.Get("funds"); v {
	case "", "false":
	case "true":
		funds = true
	default:
		return badRequest(codeInvalidQuery, fmt.Sprintf("funds %s must be true or false", strconv.Quote(truncate(v, 32))))
	}
	// An unknown participant is answered before the body is read.
	if _, err := s.ops.Participant(r.Context(), id); err != nil {
		return err
	}

	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxRecordsBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &apiError{status: http.StatusRequestEntityTooLarge, code: codeBodyTooLarge,
				msg: fmt.Sprintf("the records file is larger than the %d bytes allowed; reconcile a shorter range at a time", tooLarge.Limit)}
		}
		return badRequest(codeInvalidRecords, "the request body could not be read")
	}
	if len(body) == 0 {
		return badRequest(codeInvalidRecords, "the request body is empty; send the participant's records as CSV with a header line")
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "text/csv" {
		return &apiError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMedia,
			msg: fmt.Sprintf("Content-Type %s is not supported; send the records as text/csv", strconv.Quote(truncate(ct, 64)))}
	}
	records, err := settlement.ParseRecords(bytes.NewReader(body))
	var re *settlement.RecordsError
	if errors.As(err, &re) {
		writeRecordsError(rw, re)
		return nil
	}
	if err != nil {
		return err
	}

	rec, err := s.ops.Reconcile(r.Context(), settlement.ReconcileRequest{
		Participant: id, Records: records, From: from, To: to, Funds: funds})
	if err != nil {
		return invalidRequest(err)
	}
	return writeDocument(rw, "application/json", rec.WriteJSON)
}

func writeRecordsError(rw http.ResponseWriter, re *settlement.RecordsError) {
	n := len(re.Lines)
	msg := fmt.Sprintf("the records file has %d bad line", n)
	if n != 1 {
		msg += "s"
	}
	msg += " (counting the header as line 1), each in \"lines\""
	for i, l := range re.Lines {
		if i == 3 {
			msg += "; ..."
			break
		}
		msg += "; " + l.String()
	}
	lines := re.Lines
	if len(lines) > maxLineErrors {
		msg += fmt.Sprintf("; the first %d are listed", maxLineErrors)
		lines = lines[:maxLineErrors]
	}
	out := adminapi.ErrorBody{Error: adminapi.ErrorDetail{Code: codeInvalidRecords, Message: msg, Lines: make([]adminapi.LineError, 0, len(lines))}}
	for _, l := range lines {
		out.Error.Lines = append(out.Error.Lines, adminapi.LineError{Line: l.Line, Message: l.Msg})
	}
	writeJSON(rw, http.StatusBadRequest, out)
}
