package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// protocolError is a request refused because its sender broke the
// protocol.
type protocolError struct {
	status int    // 400, 404 or 405
	code   string // FSPIOP errorCode of the answer
	msg    string
}

func badRequest(code, format string, a ...any) *protocolError {
	return &protocolError{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, a...)}
}

// inbound is a request being answered.
type inbound struct {
	r        *http.Request
	method   string
	resource string   // first path segment
	segs     []string // unescaped path segments after the resource
	source   string   // FSPIOP-Source
	body     []byte
	after    []func() // run once the request is recorded
}

// then runs fn after the request has been recorded as an Event, so that a
// waiter woken by fn finds the event.
func (in *inbound) then(fn func()) { in.after = append(in.after, fn) }

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// serveHTTP answers every request: it checks the headers and the body,
// answers 202 (requests) or 200 (callbacks) and leaves the work to the
// workers, or answers 4xx for a request that breaks the protocol.
func (f *FSP) serveHTTP(w http.ResponseWriter, r *http.Request) {
	f.stats.received.Add(1)
	now := f.now()
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 {
			bodyPool.Put(buf)
		}
	}()
	in := &inbound{r: r, method: r.Method}
	status, perr := f.route(in, buf)
	if perr != nil {
		status = perr.status
		f.stats.protocolErrors.Add(1)
	}
	if f.cfg.EventBuffer > 0 {
		ev := Event{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: bytes.Clone(buf.Bytes()), Time: now, Status: status}
		if perr != nil {
			ev.ProtocolError = perr.msg
		}
		f.events.record(ev)
	}
	for _, fn := range in.after {
		fn()
	}
	resource := in.resource
	if _, ok := contentTypes[resource]; !ok {
		resource = "parties"
	}
	w.Header()["Content-Type"] = contentTypes[resource]
	if perr != nil {
		w.WriteHeader(status)
		w.Write(appendErrorBody(nil, perr.code, perr.msg))
		return
	}
	w.Header()["Content-Length"] = zeroLength
	w.WriteHeader(status)
}

var zeroLength = []string{"0"}

// route checks the request and dispatches it.
func (f *FSP) route(in *inbound, buf *bytes.Buffer) (int, *protocolError) {
	r := in.r
	n, err := io.Copy(buf, io.LimitReader(r.Body, f.cfg.MaxBody+1))
	if err != nil {
		return 0, badRequest(CodeMalformedSyntax, "reading the body: %v", err)
	}
	if n > f.cfg.MaxBody {
		return 0, badRequest("3104", "body larger than %d bytes", f.cfg.MaxBody)
	}
	in.body = buf.Bytes()
	segs, perr := splitPath(r.URL)
	if perr != nil {
		return 0, perr
	}
	in.resource, in.segs = segs[0], segs[1:]
	if in.resource == "liquidityAlerts" && len(in.segs) == 0 && in.method == http.MethodPost {
		// The hub's own webhook, not FSPIOP: a liquidity alert, kept in
		// the event log.
		if !json.Valid(in.body) {
			return 0, badRequest(CodeMalformedSyntax, "liquidity alert is not JSON")
		}
		return http.StatusOK, nil
	}
	handler, perr := f.lookup(in)
	if perr != nil {
		return 0, perr
	}
	if perr := f.checkHeaders(in); perr != nil {
		return 0, perr
	}
	// Every handler of a method with a body decodes it, which checks that
	// it is well-formed JSON.
	if in.method != http.MethodGet && len(bytes.TrimSpace(in.body)) == 0 {
		return 0, badRequest(CodeMissingElement, "%s %s has no body", in.method, r.URL.Path)
	}
	if perr := handler(in); perr != nil {
		return 0, perr
	}
	if in.method == http.MethodGet || in.method == http.MethodPost {
		return http.StatusAccepted, nil
	}
	return http.StatusOK, nil
}

func splitPath(u *url.URL) ([]string, *protocolError) {
	raw := strings.TrimPrefix(u.EscapedPath(), "/")
	raw = strings.TrimSuffix(raw, "/")
	if raw == "" {
		return nil, &protocolError{status: http.StatusNotFound, code: CodeUnknownURI, msg: "no resource in the path"}
	}
	segs := strings.Split(raw, "/")
	for i, s := range segs {
		v, err := url.PathUnescape(s)
		if err != nil || v == "" {
			return nil, badRequest(CodeMalformedSyntax, "path segment %q is malformed", s)
		}
		segs[i] = v
	}
	return segs, nil
}

type handlerFunc func(*inbound) *protocolError

// lookup finds the handler of in's method and path.
func (f *FSP) lookup(in *inbound) (handlerFunc, *protocolError) {
	segs, m := in.segs, in.method
	notFound := &protocolError{status: http.StatusNotFound, code: CodeUnknownURI, msg: "unknown path " + in.r.URL.Path}
	notAllowed := &protocolError{status: http.StatusMethodNotAllowed, code: CodeGenericClient, msg: m + " is not allowed on " + in.r.URL.Path}
	isErr := len(segs) > 0 && segs[len(segs)-1] == "error"
	switch in.resource {
	case "parties":
		// {Type}/{ID}, {Type}/{ID}/{SubId}, and the same with /error; a
		// SubId "error" cannot be told from the error callback.
		if len(segs) < 2 || len(segs) > 4 || len(segs) == 4 && !isErr {
			return nil, notFound
		}
		switch {
		case m == http.MethodGet && !isErr:
			return f.getParties, nil
		case m == http.MethodPut && isErr:
			return f.putPartiesError, nil
		case m == http.MethodPut:
			return f.putParties, nil
		}
		return nil, notAllowed
	case "participants":
		if len(segs) == 0 || len(segs) > 4 {
			return nil, notFound
		}
		if m != http.MethodPut {
			return nil, notAllowed
		}
		if !partyIDTypes[segs[0]] {
			// {requestId} or {requestId}/error
			switch {
			case len(segs) == 1:
				return f.putParticipantsBatch, nil
			case len(segs) == 2 && isErr:
				return f.putParticipantsBatchError, nil
			}
			return nil, notFound
		}
		if len(segs) < 2 || len(segs) == 4 && !isErr {
			return nil, notFound
		}
		if isErr && len(segs) > 2 {
			return f.putParticipantsError, nil
		}
		return f.putParticipants, nil
	case "quotes":
		return route3(segs, m, f.postQuotes, f.putQuotes, nil, f.putQuotesError, notFound, notAllowed)
	case "transfers":
		return route3(segs, m, f.postTransfers, f.putTransfers, f.patchTransfers, f.putTransfersError, notFound, notAllowed)
	case "transactionRequests":
		return route3(segs, m, f.postTransactionRequests, f.putTransactionRequests, nil, f.putTransactionRequestsError, notFound, notAllowed)
	}
	return nil, notFound
}

// route3 routes the resources with POST /r, PUT (and PATCH) /r/{ID} and
// PUT /r/{ID}/error.
func route3(segs []string, m string, post, put, patch, putErr handlerFunc, notFound, notAllowed *protocolError) (handlerFunc, *protocolError) {
	switch len(segs) {
	case 0:
		if m == http.MethodPost {
			return post, nil
		}
	case 1:
		if m == http.MethodPut {
			return put, nil
		}
		if m == http.MethodPatch && patch != nil {
			return patch, nil
		}
	case 2:
		if segs[1] != "error" {
			return nil, notFound
		}
		if m == http.MethodPut {
			return putErr, nil
		}
	default:
		return nil, notFound
	}
	return nil, notAllowed
}

// checkHeaders checks what the FSPIOP API requires of every request:
// Content-Type (and, on GET and POST, Accept) naming in's resource at major
// version 1, a Date, FSPIOP-Source, and FSPIOP-Destination naming this FSP.
func (f *FSP) checkHeaders(in *inbound) *protocolError {
	h := in.r.Header
	ct := h.Get("Content-Type")
	if ct == "" {
		return badRequest(CodeMissingElement, "no Content-Type header")
	}
	if perr := checkMediaType(ct, in.resource, false); perr != nil {
		return perr
	}
	if in.method == http.MethodGet || in.method == http.MethodPost {
		acc := h.Get("Accept")
		if acc == "" {
			return badRequest(CodeMissingElement, "no Accept header")
		}
		if perr := checkAccept(acc, in.resource); perr != nil {
			return perr
		}
	}
	date := h.Get("Date")
	if date == "" {
		return badRequest(CodeMissingElement, "no Date header")
	}
	if last := f.lastDate.Load(); last == nil || *last != date {
		if _, err := http.ParseTime(date); err != nil {
			return badRequest(CodeMalformedSyntax, "Date %q is not an HTTP date", date)
		}
		f.lastDate.Store(&date)
	}
	in.source = h.Get("Fspiop-Source")
	if in.source == "" {
		return badRequest(CodeMissingElement, "no FSPIOP-Source header")
	}
	dest := h.Get("Fspiop-Destination")
	if dest == "" {
		return badRequest(CodeMissingElement, "no FSPIOP-Destination header")
	}
	if dest != f.id {
		return badRequest(CodeMalformedSyntax, "FSPIOP-Destination is %q, not %q", dest, f.id)
	}
	return nil
}

// checkMediaType checks one media type against
// application/vnd.interoperability.<resource>+json;version=1.x; a
// Content-Type must name the minor version, an Accept may name the major
// version only or none.
func checkMediaType(v, resource string, accept bool) *protocolError {
	what := "Content-Type"
	if accept {
		what = "Accept"
	}
	parts := strings.Split(v, ";")
	want := "application/vnd.interoperability." + resource + "+json"
	if !strings.EqualFold(strings.TrimSpace(parts[0]), want) {
		return badRequest(CodeMalformedSyntax, "%s %q is not %s", what, v, want)
	}
	version := ""
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "version") {
			version = strings.Trim(strings.TrimSpace(val), `"`)
		}
	}
	switch version {
	case "1.0", "1.1":
		return nil
	case "", "1":
		if accept {
			return nil
		}
		if version == "" {
			return badRequest(CodeMissingElement, "%s %q has no version", what, v)
		}
	}
	return &protocolError{status: http.StatusBadRequest, code: CodeUnacceptableVersion,
		msg: fmt.Sprintf("%s %q names version %q; this FSP speaks 1.0 and 1.1", what, v, version)}
}

// checkAccept accepts an Accept header with at least one acceptable media
// type.
func checkAccept(v, resource string) *protocolError {
	var first *protocolError
	for _, m := range strings.Split(v, ",") {
		perr := checkMediaType(strings.TrimSpace(m), resource, true)
		if perr == nil {
			return nil
		}
		if first == nil {
			first = perr
		}
	}
	return first
}

// decode unmarshals in's body into v.
func decode(in *inbound, v any) *protocolError {
	if err := json.Unmarshal(in.body, v); err != nil {
		return badRequest(CodeMalformedSyntax, "body: %v", err)
	}
	return nil
}

func missing(element string) *protocolError {
	return badRequest(CodeMissingElement, "missing %s", element)
}

// partyFromSegs reads {Type}/{ID}[/{SubId}] from the first segments, the
// last being "error" when isErr.
func partyFromSegs(segs []string, isErr bool) (Party, *protocolError) {
	if isErr {
		segs = segs[:len(segs)-1]
	}
	if len(segs) < 2 || len(segs) > 3 {
		return Party{}, badRequest(CodeUnknownURI, "path has %d party segments", len(segs))
	}
	p := Party{Type: segs[0], ID: segs[1]}
	if len(segs) == 3 {
		p.SubID = segs[2]
	}
	if err := p.validate(); err != nil {
		return Party{}, badRequest(CodeMalformedSyntax, "%v", err)
	}
	return p, nil
}

// checkID checks an FSPIOP CorrelationId loosely: 36 characters of hex and
// dashes.
func checkID(s, element string) *protocolError {
	if s == "" {
		return missing(element)
	}
	if len(s) != 36 {
		return badRequest(CodeMalformedSyntax, "%s %q is not a UUID", element, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		dash := i == 8 || i == 13 || i == 18 || i == 23
		if dash != (c == '-') || !dash && !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return badRequest(CodeMalformedSyntax, "%s %q is not a UUID", element, s)
		}
	}
	return nil
}

func checkMoney(m *Money, element string) *protocolError {
	if m == nil {
		return missing(element)
	}
	if m.Amount == "" || m.Currency == "" {
		return missing(element + ".amount or " + element + ".currency")
	}
	return nil
}

// checkErrorBody decodes and checks an error callback's body.
func checkErrorBody(in *inbound) (*ErrorInformation, *protocolError) {
	var b errorBody
	if perr := decode(in, &b); perr != nil {
		return nil, perr
	}
	if b.ErrorInformation == nil {
		return nil, missing("errorInformation")
	}
	if !validErrorCode(b.ErrorInformation.ErrorCode) {
		return nil, badRequest(CodeMalformedSyntax, "errorCode %q is not four digits", b.ErrorInformation.ErrorCode)
	}
	if b.ErrorInformation.ErrorDescription == "" {
		return nil, missing("errorInformation.errorDescription")
	}
	return b.ErrorInformation, nil
}
