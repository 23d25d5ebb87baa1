package fspiop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/directory"
	"github.com/hutong/hutong/exchange"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/kv"
	"github.com/hutong/hutong/writer"
	"github.com/valyala/fasthttp"
)

// DefaultMaxBody is the largest body accepted when Options.MaxBody is zero:
// room for an ILP packet of the specification's 32768 characters and the
// rest of a transfer or quote.
const DefaultMaxBody = 128 << 10

// MaxBatchBody is the largest POST /participants body: up to 10,000
// parties.
const MaxBatchBody = 4 << 20

// maxMaxBody is the largest Options.MaxBody: a body, its headers and the
// rest of its outbox record fit in a store.Message.
const maxMaxBody = store.MaxMessage / 2

// DefaultHub is the FSPIOP-Source of the messages the hub writes itself:
// the participant id the ledger keeps the hub's accounts under.
const DefaultHub = ledger.HubID

// Options wires a Server to the rest of the switch.
type Options struct {
	Writer    *writer.Writer       // the ledger
	Directory *directory.Directory // aliases and their owners
	Outbox    Outbox               // outbound messages, kept until delivered
	KV        kv.Space             // quotes and transaction requests
	Clock     clock.Clock          // default clock.Real
	Logger    *slog.Logger         // default slog.Default()
	// Hub is the FSPIOP-Source of the hub's own messages. Default
	// DefaultHub.
	Hub string
	// MaxBody is the largest request body, in bytes; larger ones are
	// answered 413 with error 3104. Default DefaultMaxBody.
	MaxBody int64
	// Timeout bounds a transfer lookup (GET /transfers/{ID}). Commands are
	// always waited for to their end: what follows them must happen.
	// Default 10 s.
	Timeout time.Duration
	// Retention is how long a quote or transaction request is recorded
	// after it was made: a resend, an answer or a GET within it is
	// recognised, one after it is taken as new or unknown. Default
	// DefaultRetention; at least a minute.
	Retention time.Duration
	// PruneEvery is how often records older than Retention are dropped.
	// Default a minute.
	PruneEvery time.Duration
	// Undelivered, when set, carries the messages the hub could not
	// deliver: the server tells the senders of the requests among them
	// (see Undelivered) until Close.
	Undelivered <-chan *callback.Failure
}

// Outbox keeps and sends the messages the API owes participants;
// *outbox.Outbox is one.
type Outbox interface {
	// Send stores r durably, then has it delivered.
	Send(r *callback.Request)
	// Owe returns rs as messages the ledger writer stores in the same
	// commit as the command that owes them (writer.Owe); they are
	// delivered once that commit is durable.
	Owe(rs ...*callback.Request) []store.Message
	// Err is not nil once a message could not be stored: no request is
	// then answered as taken.
	Err() error
}

// Server serves the FSPIOP API over fasthttp: Handle serves a request,
// HandleError answers one the HTTP server could not read.
type Server struct {
	w       *writer.Writer
	dir     *directory.Directory
	out     Outbox
	records *exchange.Records // quotes and transaction requests
	clk     clock.Clock
	log     *slog.Logger
	hub     string
	maxBody int64
	timeout time.Duration
	table   []entry
	bg      sync.WaitGroup // the loop reading Options.Undelivered
	stop    chan struct{}  // closed by Close
	closing atomic.Bool

	requests atomic.Uint64
	rejected atomic.Uint64
	dates    atomic.Pointer[dateCache]
	// lastDate is the last Date header found valid: most messages of a
	// second carry the same one.
	lastDate atomic.Pointer[string]
}

// Stats counts the server's work.
type Stats struct {
	Requests uint64 // requests and callbacks received
	Rejected uint64 // answered with an error status
	Pruned   uint64 // quote and transaction request records dropped after the retention
}

// New returns a server, which drops old quote and transaction request
// records in the background, and reads Options.Undelivered, until Close.
// Writer, Directory, Outbox and KV are required.
func New(o Options) (*Server, error) {
	if o.Writer == nil || o.Directory == nil || o.Outbox == nil || o.KV == nil {
		return nil, errors.New("fspiop: Writer, Directory, Outbox and KV are required")
	}
	if o.Retention < 0 || o.PruneEvery < 0 {
		return nil, errors.New("fspiop: Retention and PruneEvery must not be negative")
	}
	if o.MaxBody > maxMaxBody {
		// A forwarded body is stored with its headers as one outbox
		// message, which a store takes up to store.MaxMessage.
		return nil, fmt.Errorf("fspiop: MaxBody %d is more than %d", o.MaxBody, maxMaxBody)
	}
	s := &Server{
		w: o.Writer, dir: o.Directory, out: o.Outbox, stop: make(chan struct{}),
		clk: o.Clock, log: o.Logger, hub: o.Hub, maxBody: o.MaxBody, timeout: o.Timeout,
	}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.hub == "" {
		s.hub = DefaultHub
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	s.table = routeTable(s.maxBody)
	var err error
	s.records, err = exchange.Open(o.KV, s.clk, exchange.Config{Retention: o.Retention, PruneEvery: o.PruneEvery, Logger: s.log})
	if err != nil {
		return nil, fmt.Errorf("fspiop: %w", err)
	}
	if o.Undelivered != nil {
		// A few at once: each waits for a durable commit, and one
		// participant's failures must not hold up another's.
		for range undeliveredWorkers {
			s.bg.Add(1)
			go s.undeliveredLoop(o.Undelivered)
		}
	}
	return s, nil
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Rejected: s.rejected.Load(), Pruned: s.records.Stats().Pruned}
}

// kind tells a request from a callback: requests are answered 202 and need
// an Accept header; callbacks are answered 200.
type kind int

const (
	isRequest kind = iota
	isCallback
)

type route struct {
	pattern  string
	resource string
	kind     kind
	fn       func(*Server, *call) *Error
	maxBody  int64
}

// routeTable splits the routes' patterns; routes with no body limit of
// their own get maxBody.
func routeTable(maxBody int64) []entry {
	var t []entry
	for _, rt := range routes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		if rt.maxBody == 0 {
			rt.maxBody = maxBody
		}
		t = append(t, entry{route: rt, method: method, segs: strings.Split(path[1:], "/")})
	}
	return t
}

// entry is a route with its pattern split.
type entry struct {
	route
	method string
	segs   []string
}

func routes() []route {
	return []route{
		{"POST /participants", "participants", isRequest, (*Server).postParticipantsBatch, MaxBatchBody},
		{"POST /participants/{type}/{id}", "participants", isRequest, (*Server).postParticipant, 0},
		{"POST /participants/{type}/{id}/{sub}", "participants", isRequest, (*Server).postParticipant, 0},
		{"GET /participants/{type}/{id}", "participants", isRequest, (*Server).getParticipant, 0},
		{"GET /participants/{type}/{id}/{sub}", "participants", isRequest, (*Server).getParticipant, 0},
		{"DELETE /participants/{type}/{id}", "participants", isRequest, (*Server).deleteParticipant, 0},
		{"DELETE /participants/{type}/{id}/{sub}", "participants", isRequest, (*Server).deleteParticipant, 0},

		{"GET /parties/{type}/{id}", "parties", isRequest, (*Server).getParties, 0},
		{"GET /parties/{type}/{id}/{sub}", "parties", isRequest, (*Server).getParties, 0},
		{"PUT /parties/{type}/{id}", "parties", isCallback, (*Server).putParties, 0},
		{"PUT /parties/{type}/{id}/{sub}", "parties", isCallback, (*Server).putParties, 0},
		{"PUT /parties/{type}/{id}/error", "parties", isCallback, (*Server).putPartiesError, 0},
		{"PUT /parties/{type}/{id}/{sub}/error", "parties", isCallback, (*Server).putPartiesError, 0},

		{"POST /quotes", "quotes", isRequest, (*Server).postQuote, 0},
		{"GET /quotes/{id}", "quotes", isRequest, (*Server).getQuote, 0},
		{"PUT /quotes/{id}", "quotes", isCallback, (*Server).putQuote, 0},
		{"PUT /quotes/{id}/error", "quotes", isCallback, (*Server).putQuoteError, 0},

		{"POST /transfers", "transfers", isRequest, (*Server).postTransfer, 0},
		{"GET /transfers/{id}", "transfers", isRequest, (*Server).getTransfer, 0},
		{"PUT /transfers/{id}", "transfers", isCallback, (*Server).putTransfer, 0},
		{"PUT /transfers/{id}/error", "transfers", isCallback, (*Server).putTransferError, 0},

		{"POST /transactionRequests", "transactionRequests", isRequest, (*Server).postTransactionRequest, 0},
		{"GET /transactionRequests/{id}", "transactionRequests", isRequest, (*Server).getTransactionRequest, 0},
		{"PUT /transactionRequests/{id}", "transactionRequests", isCallback, (*Server).putTransactionRequest, 0},
		{"PUT /transactionRequests/{id}/error", "transactionRequests", isCallback, (*Server).putTransactionRequestError, 0},
	}
}

// notImplemented are the specification's resources the hub does not serve
// yet; they are answered 501 with error 2002 rather than 3002.
var notImplemented = []string{"/authorizations", "/transactions", "/bulkQuotes", "/bulkTransfers"}

// BodyLimit is the largest body any route accepts: the HTTP server should
// read no more before it answers through HandleError.
func (s *Server) BodyLimit() int { return int(max(s.maxBody, MaxBatchBody)) }

// MaxBodyOf is the largest body the route of the request with header h
// accepts: the HTTP server should read no more before it answers through
// HandleError. Only POST /participants takes more than Options.MaxBody.
func (s *Server) MaxBodyOf(h *fasthttp.RequestHeader) int {
	if h.IsPost() {
		p := requestPath(h.RequestURI())
		if string(p) == "/participants" {
			return MaxBatchBody
		}
		if bytes.IndexByte(p, '%') >= 0 {
			var segs [2]string
			if n, ok := splitPath(string(p), segs[:]); ok && n == 1 && segs[0] == "participants" {
				return MaxBatchBody
			}
		}
	}
	return int(s.maxBody)
}

// requestPath returns the path of a request target, origin form
// ("/a/b?q") or absolute form ("http://host/a/b?q"), still escaped.
func requestPath(uri []byte) []byte {
	if i := bytes.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	if len(uri) > 0 && uri[0] != '/' {
		if _, rest, ok := bytes.Cut(uri, []byte("://")); ok {
			if i := bytes.IndexByte(rest, '/'); i >= 0 {
				return rest[i:]
			}
			return []byte("/")
		}
	}
	return uri
}

// Handle serves one request of the API. It is a fasthttp.RequestHandler.
func (s *Server) Handle(rc *fasthttp.RequestCtx) {
	s.requests.Add(1)
	c := &call{rc: rc, method: string(rc.Method()), path: string(rc.URI().PathOriginal()), ver: Latest}
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("fspiop: handler panicked", "method", c.method, "path", c.path, "panic", v)
			rc.Response.Reset()
			s.reject(c, newError(http.StatusInternalServerError, "2001", ""))
		}
	}()
	rt, e := s.match(c)
	if e != nil {
		c.resource = resourceOf(c.path)
		s.reject(c, e)
		return
	}
	c.resource = rt.resource
	if e := s.admit(c, rt.kind, rt.maxBody); e != nil {
		s.reject(c, e)
		return
	}
	c.ctx = context.Background()
	if e := rt.fn(s, c); e != nil {
		s.reject(c, e)
		return
	}
	if err := s.out.Err(); err != nil {
		// What the request owes may not be stored: it is not taken, and
		// the sender resends it once the hub is back.
		s.reject(c, &Error{Status: http.StatusServiceUnavailable, Code: "2003", Detail: "the hub cannot store messages; resend later", Err: err})
		return
	}
	if rt.kind == isRequest {
		rc.SetStatusCode(http.StatusAccepted)
	} else {
		rc.SetStatusCode(http.StatusOK)
	}
}

// HandleError answers a request the HTTP server could not read: too large
// (413, 3104) or malformed (400, 3101). It is a fasthttp error handler.
func (s *Server) HandleError(rc *fasthttp.RequestCtx, err error) {
	s.requests.Add(1)
	c := &call{rc: rc, method: string(rc.Method()), path: string(rc.URI().PathOriginal()), ver: Latest}
	c.resource = resourceOf(c.path)
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		s.reject(c, newError(http.StatusRequestEntityTooLarge, "3104", "body is larger than %d bytes", s.MaxBodyOf(&rc.Request.Header)))
		return
	}
	s.reject(c, badRequest("3101", "the request could not be read as HTTP: %s", truncate(err.Error(), 128)))
}

// match finds the route of c and its path values: 501 for the
// specification's resources the hub does not serve, 405 for a known path
// with another method, 404 for the rest.
func (s *Server) match(c *call) (*entry, *Error) {
	var segs [6]string
	n, ok := splitPath(c.path, segs[:])
	if ok {
		var best *entry
		bestLit := -1
		other := false
		for i := range s.table {
			rt := &s.table[i]
			lit, m := rt.matches(segs[:n])
			if !m {
				continue
			}
			if rt.method != c.method {
				other = true
				continue
			}
			if lit > bestLit {
				best, bestLit = rt, lit
			}
		}
		if best != nil {
			for i, name := range best.segs {
				if strings.HasPrefix(name, "{") {
					c.setVar(name[1:len(name)-1], segs[i])
				}
			}
			return best, nil
		}
		if other {
			return nil, newError(http.StatusMethodNotAllowed, "3000", "%s is not allowed on %s", truncate(c.method, 16), truncate(c.path, 64))
		}
	}
	for _, p := range notImplemented {
		if c.path == p || strings.HasPrefix(c.path, p+"/") {
			return nil, newError(http.StatusNotImplemented, "2002", "%s is not served by this hub", p)
		}
	}
	return nil, newError(http.StatusNotFound, "3002", "no FSPIOP resource at %s", truncate(c.path, 64))
}

// splitPath splits an escaped path into its unescaped segments. ok is
// false when there are more than len(segs), or one is empty or badly
// escaped.
func splitPath(path string, segs []string) (n int, ok bool) {
	if !strings.HasPrefix(path, "/") {
		return 0, false
	}
	for rest := path[1:]; ; n++ {
		if n == len(segs) {
			return 0, false
		}
		seg, after, more := strings.Cut(rest, "/")
		if seg == "" {
			return 0, false
		}
		if strings.IndexByte(seg, '%') >= 0 {
			u, err := url.PathUnescape(seg)
			if err != nil {
				return 0, false
			}
			seg = u
		}
		segs[n] = seg
		if !more {
			return n + 1, true
		}
		rest = after
	}
}

// matches reports whether segs fit the route's pattern, and how many of
// the pattern's segments are literal: the most literal match wins.
func (rt *entry) matches(segs []string) (literal int, ok bool) {
	if len(segs) != len(rt.segs) {
		return 0, false
	}
	for i, p := range rt.segs {
		if strings.HasPrefix(p, "{") {
			continue
		}
		if p != segs[i] {
			return 0, false
		}
		literal++
	}
	return literal, true
}

func resourceOf(path string) string {
	p := strings.TrimPrefix(path, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[:i]
	}
	switch p {
	case "parties", "participants", "quotes", "transfers", "transactionRequests":
		return p
	}
	return "transfers"
}

// call is one request or callback being handled. rc and what it holds are
// valid only until the handler returns: anything kept longer is copied.
type call struct {
	rc       *fasthttp.RequestCtx
	method   string
	path     string // as received, escaped
	ctx      context.Context
	resource string
	ver      Version // of the hub's answers to it
	source   string  // FSPIOP-Source
	dest     string  // FSPIOP-Destination, "" when absent
	body     []byte  // a copy, owned by the call
	// Path values of the route's {type}, {id} and {sub}.
	typ, id, sub string
}

func (c *call) setVar(name, v string) {
	switch name {
	case "type":
		c.typ = v
	case "id":
		c.id = v
	case "sub":
		c.sub = v
	}
}

// admit checks what every message must carry: headers, a known and active
// source, a known destination, and a body of bounded size.
func (s *Server) admit(c *call, k kind, max int64) *Error {
	h := &c.rc.Request.Header
	hasBody := c.method == http.MethodPost || c.method == http.MethodPut || c.method == http.MethodPatch
	if k == isRequest {
		v, e := accept(string(h.Peek("Accept")), c.resource)
		if e != nil {
			return e
		}
		c.ver = v
	}
	if hasBody {
		v, e := contentType(string(h.ContentType()), c.resource)
		if e != nil {
			return e
		}
		if k == isCallback {
			c.ver = v
		}
	}
	if d := h.Peek("Date"); len(d) == 0 || s.lastDate.Load() == nil || string(d) != *s.lastDate.Load() {
		ds := string(d)
		if e := dateHeader(ds); e != nil {
			return e
		}
		s.lastDate.Store(&ds)
	}
	c.source = string(h.Peek("FSPIOP-Source"))
	if c.source == "" {
		return missing("FSPIOP-Source header")
	}
	p, ok := s.w.Participant(c.source)
	if !ok {
		return badRequest("3200", "FSPIOP-Source %q is not a participant of this hub", truncate(c.source, 32))
	}
	// A suspended FSP makes no new requests, but its callbacks still
	// complete what it already has under way.
	if p.Status != ledger.StatusActive && k == isRequest {
		return newError(http.StatusForbidden, "3200", "FSPIOP-Source %q is suspended", c.source)
	}
	c.dest = string(h.Peek("FSPIOP-Destination"))
	switch {
	case c.dest == "" && k == isCallback:
		return missing("FSPIOP-Destination header")
	case c.dest == s.hub && k == isCallback:
		return badRequest("3201", "callbacks go to a participant, not to the hub")
	case c.dest == s.hub:
		// Addressed to the hub itself: route as if no FSP were named.
		c.dest = ""
	case c.dest != "":
		if _, ok := s.w.Participant(c.dest); !ok {
			return badRequest("3201", "FSPIOP-Destination %q is not a participant of this hub", truncate(c.dest, 32))
		}
	}
	if hasBody {
		body := c.rc.Request.Body()
		if int64(len(body)) > max {
			return newError(http.StatusRequestEntityTooLarge, "3104", "body of %d bytes is larger than %d", len(body), max)
		}
		// The server reuses its buffer once the handler returns; the
		// body is forwarded and stored after that.
		c.body = bytes.Clone(body)
		if c.body == nil {
			c.body = []byte{}
		}
	}
	return nil
}

// reject answers with an error body.
func (s *Server) reject(c *call, e *Error) {
	s.rejected.Add(1)
	if e.Status >= 500 {
		s.log.Error("fspiop: request failed", "method", c.method, "path", c.path, "code", e.Code, "detail", e.Detail, "err", e.Err)
	} else {
		s.log.Debug("fspiop: request refused", "method", c.method, "path", c.path, "source", c.source, "code", e.Code, "detail", e.Detail)
	}
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	c.rc.SetStatusCode(status)
	c.rc.Response.Header.SetContentType(MediaType(c.resource, c.ver))
	c.rc.SetBody(e.Body())
}

// submit applies a command to the ledger and waits for its outcome even
// when the client has gone: what follows it (sending the transfer on,
// telling the payer) must happen once the ledger has decided.
func (s *Server) submit(c *call, cmd ledger.Command) (ledger.Result, error) {
	return s.w.Submit(context.WithoutCancel(c.ctx), cmd)
}

// submitOwing submits cmd; when it changes the ledger, the messages owe
// builds from its result are stored in the same durable commit and then
// delivered. owe runs on the writer's goroutine while the handler waits.
func (s *Server) submitOwing(c *call, cmd ledger.Command, owe func(*ledger.Result) []*callback.Request) (ledger.Result, error) {
	return s.w.SubmitOwing(context.WithoutCancel(c.ctx), cmd, func(r *ledger.Result) []store.Message {
		return s.out.Owe(owe(r)...)
	})
}

// transfer looks a transfer up, waiting at most the server's timeout.
func (s *Server) transfer(c *call, id ledger.ID) (ledger.Transfer, error) {
	ctx, cancel := context.WithTimeout(c.ctx, s.timeout)
	defer cancel()
	return s.w.Transfer(ctx, id)
}

// internal is the answer to a failure of the hub's own.
func internal(err error) *Error {
	if errors.Is(err, writer.ErrFailed) || errors.Is(err, writer.ErrClosed) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "2003", Detail: "the ledger is not taking work", Err: err}
	}
	if errors.Is(err, writer.ErrOutcomeUnknown) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "2004", Detail: "the ledger could not confirm the outcome; resend the same request, which is safe", Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "2001", Err: err}
}

// forward sends a participant's message on to another, headers and body
// unchanged, with FSPIOP-Destination set when it was absent.
func (s *Server) forward(c *call, to string, k callback.Kind, path string, vars callback.Vars) {
	s.out.Send(forwardRequest(c, to, k, path, vars))
}

// forwardRequest is the message forward sends.
func forwardRequest(c *call, to string, k callback.Kind, path string, vars callback.Vars) *callback.Request {
	h := forwardHeader(&c.rc.Request.Header)
	if c.dest != to {
		// Absent, or naming another FSP than the one the hub routes to
		// by its own record: the recipient must see itself named.
		h["Fspiop-Destination"] = []string{to}
	}
	return &callback.Request{To: to, Kind: k, Method: c.method, Path: path, Vars: vars, Header: h, Body: c.body}
}

// send sends a message the hub writes itself.
func (s *Server) send(to, resource string, ver Version, method string, k callback.Kind, path string, vars callback.Vars, body []byte) {
	s.out.Send(s.hubRequest(to, resource, ver, method, k, path, vars, body))
}

// hubRequest is a message the hub writes itself.
func (s *Server) hubRequest(to, resource string, ver Version, method string, k callback.Kind, path string, vars callback.Vars, body []byte) *callback.Request {
	mt := MediaType(resource, ver)
	h := http.Header{
		"Content-Type":       {mt},
		"Date":               {s.date()},
		"Fspiop-Source":      {s.hub},
		"Fspiop-Destination": {to},
	}
	if method != http.MethodPut {
		h["Accept"] = []string{mt}
	}
	if method == http.MethodGet {
		body = nil
	}
	return &callback.Request{To: to, Kind: k, Method: method, Path: path, Vars: vars, Header: h, Body: body}
}

// sendError sends an error callback to PUT path+"/error".
func (s *Server) sendError(to, resource string, ver Version, k callback.Kind, path string, vars callback.Vars, e *Error) {
	s.out.Send(s.errorRequest(to, resource, ver, k, path, vars, e))
}

// errorRequest is the error callback sendError sends.
func (s *Server) errorRequest(to, resource string, ver Version, k callback.Kind, path string, vars callback.Vars, e *Error) *callback.Request {
	return s.hubRequest(to, resource, ver, http.MethodPut, k, path+"/error", vars, e.Body())
}

// dateCache holds the Date header of the current second.
type dateCache struct {
	sec int64
	s   string
}

// date is the Date header for now, formatted once a second.
func (s *Server) date() string {
	now := s.clk.Now()
	if d := s.dates.Load(); d != nil && d.sec == now.Unix() {
		return d.s
	}
	d := &dateCache{sec: now.Unix(), s: now.UTC().Format(http.TimeFormat)}
	s.dates.Store(d)
	return d.s
}

// seg escapes a path segment.
func seg(s string) string { return url.PathEscape(s) }
