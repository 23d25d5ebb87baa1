package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
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

// inbound is a request being answered. Its body is fasthttp's buffer, valid
// only until the answer: handlers copy what they keep.
type inbound struct {
	ctx      *fasthttp.RequestCtx
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

// path returns the request's path, unescaped, for messages and events.
func (in *inbound) path() string { return string(in.ctx.Path()) }

// methodString returns m as a string, without allocating for the methods
// FSPIOP uses.
func methodString(m []byte) string {
	switch string(m) {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodPatch:
		return http.MethodPatch
	}
	return string(m)
}

// serve answers every request: it checks the headers and the body,
// answers 202 (requests) or 200 (callbacks) and leaves the work to the
// workers, or answers 4xx for a request that breaks the protocol.
func (f *FSP) serve(ctx *fasthttp.RequestCtx) {
	f.stats.received.Add(1)
	now := f.now()
	in := &inbound{ctx: ctx, method: methodString(ctx.Method())}
	defer func() {
		// fasthttp lets a panic take the process down; net/http would
		// have dropped the connection.
		if v := recover(); v != nil {
			ctx.Response.Reset()
			f.answer(ctx, in.resource, http.StatusInternalServerError,
				&protocolError{code: CodeInternalError, msg: fmt.Sprintf("the FSP failed: %v", v)})
		}
	}()
	status, perr := f.route(in)
	if perr != nil {
		status = perr.status
		f.stats.protocolErrors.Add(1)
	}
	if f.cfg.EventBuffer > 0 {
		ev := Event{Method: in.method, Path: in.path(), Header: headerOf(&ctx.Request.Header),
			Body: bytes.Clone(ctx.PostBody()), Time: now, Status: status}
		if perr != nil {
			ev.ProtocolError = perr.msg
		}
		f.events.record(ev)
	}
	for _, fn := range in.after {
		fn()
	}
	f.answer(ctx, in.resource, status, perr)
}

// answer writes the answer: status with an empty body, or perr's FSPIOP
// error.
func (f *FSP) answer(ctx *fasthttp.RequestCtx, resource string, status int, perr *protocolError) {
	ct, ok := contentTypes[resource]
	if !ok {
		ct = contentTypes["parties"]
	}
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetContentType(ct)
	if perr != nil {
		ctx.Response.SetBodyRaw(appendErrorBody(nil, perr.code, perr.msg))
	}
}

// serveError answers a request fasthttp could not read: a body larger
// than Config.MaxBody is a protocol error like the others; a malformed
// request is answered as net/http would, and not counted. (A client that
// went away or stalled is not answered: fastsrv closes its connection.)
func (f *FSP) serveError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		f.stats.received.Add(1)
		f.stats.protocolErrors.Add(1)
		perr := badRequest(CodeTooLargePayload, "body larger than %d bytes", f.cfg.MaxBody)
		resource := ""
		if segs, e := splitPath(ctx.URI().PathOriginal()); e == nil {
			resource = segs[0]
		}
		if f.cfg.EventBuffer > 0 {
			f.events.record(Event{Method: methodString(ctx.Method()), Path: string(ctx.Path()),
				Header: headerOf(&ctx.Request.Header), Time: f.now(), Status: perr.status, ProtocolError: perr.msg})
		}
		f.answer(ctx, resource, perr.status, perr)
		return
	}
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.As(err, &small):
		ctx.Error("request header too large", fasthttp.StatusRequestHeaderFieldsTooLarge)
	default:
		ctx.Error("malformed request", fasthttp.StatusBadRequest)
	}
}

// headerOf copies h as an http.Header, without Host as net/http does.
func headerOf(h *fasthttp.RequestHeader) http.Header {
	out := make(http.Header)
	for k, v := range h.All() {
		key := http.CanonicalHeaderKey(string(k))
		if key == "Host" {
			continue
		}
		out[key] = append(out[key], string(v))
	}
	return out
}

// route checks the request and dispatches it.
func (f *FSP) route(in *inbound) (int, *protocolError) {
	in.body = in.ctx.PostBody()
	segs, perr := splitPath(in.ctx.URI().PathOriginal())
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
		return 0, badRequest(CodeMissingElement, "%s %s has no body", in.method, in.path())
	}
	if perr := handler(in); perr != nil {
		return 0, perr
	}
	if in.method == http.MethodGet || in.method == http.MethodPost {
		return http.StatusAccepted, nil
	}
	return http.StatusOK, nil
}

// splitPath splits the path as sent (still escaped, so that %2F stays in
// its segment) and unescapes each segment.
func splitPath(p []byte) ([]string, *protocolError) {
	raw := strings.TrimPrefix(string(p), "/")
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
	isErr := len(segs) > 0 && segs[len(segs)-1] == "error"
	switch in.resource {
	case "parties":
		// {Type}/{ID}, {Type}/{ID}/{SubId}, and the same with /error; a
		// SubId "error" cannot be told from the error callback.
		if len(segs) < 2 || len(segs) > 4 || len(segs) == 4 && !isErr {
			return nil, notFound(in)
		}
		switch {
		case m == http.MethodGet && !isErr:
			return f.getParties, nil
		case m == http.MethodPut && isErr:
			return f.putPartiesError, nil
		case m == http.MethodPut:
			return f.putParties, nil
		}
		return nil, notAllowed(in)
	case "participants":
		if len(segs) == 0 || len(segs) > 4 {
			return nil, notFound(in)
		}
		if m != http.MethodPut {
			return nil, notAllowed(in)
		}
		if !partyIDTypes[segs[0]] {
			// {requestId} or {requestId}/error
			switch {
			case len(segs) == 1:
				return f.putParticipantsBatch, nil
			case len(segs) == 2 && isErr:
				return f.putParticipantsBatchError, nil
			}
			return nil, notFound(in)
		}
		if len(segs) < 2 || len(segs) == 4 && !isErr {
			return nil, notFound(in)
		}
		if isErr && len(segs) > 2 {
			return f.putParticipantsError, nil
		}
		return f.putParticipants, nil
	case "quotes":
		return route3(in, f.postQuotes, f.putQuotes, nil, f.putQuotesError)
	case "transfers":
		return route3(in, f.postTransfers, f.putTransfers, f.patchTransfers, f.putTransfersError)
	case "transactionRequests":
		return route3(in, f.postTransactionRequests, f.putTransactionRequests, nil, f.putTransactionRequestsError)
	}
	return nil, notFound(in)
}

func notFound(in *inbound) *protocolError {
	return &protocolError{status: http.StatusNotFound, code: CodeUnknownURI, msg: "unknown path " + in.path()}
}

func notAllowed(in *inbound) *protocolError {
	return &protocolError{status: http.StatusMethodNotAllowed, code: CodeGenericClient, msg: in.method + " is not allowed on " + in.path()}
}

// route3 routes the resources with POST /r, PUT (and PATCH) /r/{ID} and
// PUT /r/{ID}/error.
func route3(in *inbound, post, put, patch, putErr handlerFunc) (handlerFunc, *protocolError) {
	segs, m := in.segs, in.method
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
			return nil, notFound(in)
		}
		if m == http.MethodPut {
			return putErr, nil
		}
	default:
		return nil, notFound(in)
	}
	return nil, notAllowed(in)
}

// checkHeaders checks what the FSPIOP API requires of every request:
// Content-Type (and, on GET and POST, Accept) naming in's resource at major
// version 1, a Date, FSPIOP-Source, and FSPIOP-Destination naming this FSP.
func (f *FSP) checkHeaders(in *inbound) *protocolError {
	h := &in.ctx.Request.Header
	want := contentTypes[in.resource]
	ct := h.ContentType()
	if len(ct) == 0 {
		return badRequest(CodeMissingElement, "no Content-Type header")
	}
	// What the simulated FSPs send needs no parsing.
	if string(ct) != want {
		if perr := checkMediaType(string(ct), in.resource, false); perr != nil {
			return perr
		}
	}
	if in.method == http.MethodGet || in.method == http.MethodPost {
		acc := h.Peek("Accept")
		if len(acc) == 0 {
			return badRequest(CodeMissingElement, "no Accept header")
		}
		if string(acc) != want {
			if perr := checkAccept(string(acc), in.resource); perr != nil {
				return perr
			}
		}
	}
	date := h.Peek("Date")
	if len(date) == 0 {
		return badRequest(CodeMissingElement, "no Date header")
	}
	if last := f.lastDate.Load(); last == nil || *last != string(date) {
		d := string(date)
		if _, err := http.ParseTime(d); err != nil {
			return badRequest(CodeMalformedSyntax, "Date %q is not an HTTP date", d)
		}
		f.lastDate.Store(&d)
	}
	source := h.Peek("FSPIOP-Source")
	if len(source) == 0 {
		return badRequest(CodeMissingElement, "no FSPIOP-Source header")
	}
	in.source = string(source)
	dest := h.Peek("FSPIOP-Destination")
	if len(dest) == 0 {
		return badRequest(CodeMissingElement, "no FSPIOP-Destination header")
	}
	if string(dest) != f.id {
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

// decode unmarshals in's body into v, with the decoder the hub uses.
func decode(in *inbound, v any) *protocolError {
	if err := unmarshalJSON(in.body, v); err != nil {
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
