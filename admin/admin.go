// Package admin is the hub operator's HTTP/JSON API: it onboards
// participants, enables their currencies and sets their net debit caps,
// moves collateral in and out of their settlement accounts, and reports
// positions, accounts and transfers.
//
// Every route is under /admin/v1 and is described by the OpenAPI 3.0
// document served at /admin/v1/openapi.yaml (openapi.yaml in this
// directory). Request and response bodies are JSON, of the types declared
// in package adminapi (which also holds a Go client of the API); amounts
// are FSPIOP amount strings in the currency's major unit ("12.5" is twelve
// dollars fifty), parsed strictly by money.ParseAmount and written by
// money.FormatAmount, with a leading "-" on negative balances.
//
// The handlers speak HTTP only: they parse the request, call the
// operator's workflow in package operate (settlement, reports, statements,
// reconciliation, positions, caps and funds) or, for participants,
// transfers, callbacks and alerts, the writer and the callback and
// liquidity packages, and write the result or map the error to a status
// and a stable code.
//
// Every write is a ledger command submitted through the writer, and every
// write is safe to repeat: a resend of an applied command is answered with
// the current state (200 rather than 201), and a resend of a funds movement
// under the same id but with other content is refused (409
// MODIFIED_REQUEST). Requests are checked completely before anything is
// submitted, and the ledger refuses a command whole, so a rejected request
// changes nothing.
//
// Reads of participants, accounts and single transfers go through the writer
// and see every acknowledged command; the paged list of a participant's
// transfers comes from the store after the writer has checkpointed.
//
// Errors are always
//
//	{"error": {"code": "STABLE_CODE", "message": "what to change"}}
//
// with a status that says whose fault it is: 400 for a request that can
// never succeed as written, 404 for an unknown participant or transfer, 409
// when it conflicts with the current state, 413 and 415 for the body, 422
// for a liquidity or limit rule, 503 when the ledger cannot take work and
// 500 for anything else, which is logged and never described to the client.
//
// With Options.Token set, every request must carry it as a bearer token
// (Authorization: Bearer <token>) and any other is answered 401
// UNAUTHORIZED before it is routed; without, the API is open to whoever
// can reach it. It speaks plain HTTP: across a network, put it behind TLS,
// or the token can be read on the way.
//
// Settlement: the operator chooses each currency's settlement model, closes
// settlement windows, settles closed windows of a deferred net model with a
// settlement and moves it through its states one step at a time
// (PENDING_SETTLEMENT, PS_TRANSFERS_RECORDED, PS_TRANSFERS_RESERVED,
// PS_TRANSFERS_COMMITTED, SETTLED, or ABORTED before it commits); see
// ledger for what each step moves. Setting a model or a state a second time
// is answered with the current state. Closing a window by id is refused once
// it is closed (409 WINDOW_NOT_OPEN), so that of two concurrent closes one
// wins; closing "whichever window is open" in a currency closes a new window
// each time, so a client that must retry should close by id. Creating a
// settlement is refused for windows another settlement covers (409
// WINDOW_NOT_CLOSED); after an unknown outcome, the windows' settlement
// field says whether it was created.
package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"log/slog"
	"net/http"
	"strings"

	"github.com/hutong/hutong/admin/adminapi"
	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/liquidity"
	"github.com/hutong/hutong/operate"
	"github.com/hutong/hutong/writer"
)

// DefaultMaxBody is the largest request body accepted when Options.MaxBody is
// zero.
const DefaultMaxBody = 64 << 10

// Options configures a Server. The zero value is usable.
type Options struct {
	// Logger receives the errors hidden from clients (every 5xx) and, at
	// debug level, the requests refused. Default slog.Default().
	Logger *slog.Logger
	// MaxBody is the largest request body accepted, in bytes; a larger one
	// is answered with 413. Default DefaultMaxBody (64 KiB).
	MaxBody int64
	// Endpoints holds the participants' callback endpoints. When nil, the
	// endpoint routes answer 503.
	Endpoints *callback.Endpoints
	// Callbacks delivers callbacks; the failed callback routes read and
	// redeliver its failures. When nil, those routes answer 503.
	Callbacks *callback.Sender
	// Alerts records and lists liquidity alerts. When nil, the alert
	// routes answer 503.
	Alerts *liquidity.Monitor
	// Token, when set, is the bearer token every request must carry
	// (Authorization: Bearer <token>); others are answered 401
	// UNAUTHORIZED. It should be at least MinTokenLength characters.
	Token string
}

// MinTokenLength is the shortest admin token hutong serve accepts: 128
// bits of hex. New does not check it.
const MinTokenLength = 32

// Server is the admin API. It implements http.Handler and is safe for
// concurrent use.
type Server struct {
	w       *writer.Writer
	ops     *operate.Workflows // the operator's workflows, over w
	log     *slog.Logger
	maxBody int64
	mux     *http.ServeMux

	endpoints *callback.Endpoints
	callbacks *callback.Sender
	alerts    *liquidity.Monitor
	// token is the SHA-256 of Options.Token, nil when there is none:
	// comparing digests in constant time tells nothing of the token.
	token []byte
}

//go:embed openapi.yaml
var openAPI []byte

// route is one endpoint. The routes table is the single list of what the
// server serves; a test checks that openapi.yaml documents exactly it.
type route struct {
	method  string
	path    string
	handler func(*Server, http.ResponseWriter, *http.Request) error
}

// routes lists every endpoint.
var routes = []route{
	{"POST", "/admin/v1/participants", (*Server).createParticipant},
	{"GET", "/admin/v1/participants", (*Server).listParticipants},
	{"GET", "/admin/v1/participants/{id}", (*Server).getParticipant},
	{"POST", "/admin/v1/participants/{id}/suspend", (*Server).suspendParticipant},
	{"POST", "/admin/v1/participants/{id}/activate", (*Server).activateParticipant},
	{"POST", "/admin/v1/participants/{id}/currencies", (*Server).enableCurrency},
	{"PUT", "/admin/v1/participants/{id}/currencies/{currency}/ndc", (*Server).setNDC},
	{"POST", "/admin/v1/participants/{id}/funds-in", (*Server).fundsIn},
	{"POST", "/admin/v1/participants/{id}/funds-out", (*Server).fundsOut},
	{"POST", "/admin/v1/funds-out/{transferId}/commit", (*Server).commitFundsOut},
	{"POST", "/admin/v1/funds-out/{transferId}/abort", (*Server).abortFundsOut},
	{"GET", "/admin/v1/participants/{id}/accounts", (*Server).participantAccounts},
	{"GET", "/admin/v1/positions", (*Server).positions},
	{"GET", "/admin/v1/transfers/{id}", (*Server).getTransfer},
	{"GET", "/admin/v1/participants/{id}/transfers", (*Server).participantTransfers},
	{"GET", "/admin/v1/stats", (*Server).stats},
	{"GET", "/admin/v1/openapi.yaml", (*Server).openAPIDocument},
	{"GET", "/admin/v1/participants/{id}/endpoints", (*Server).listEndpoints},
	{"PUT", "/admin/v1/participants/{id}/endpoints", (*Server).setEndpoints},
	{"DELETE", "/admin/v1/participants/{id}/endpoints/{type}", (*Server).deleteEndpoint},
	{"GET", "/admin/v1/participants/{id}/callbacks/failed", (*Server).failedCallbacks},
	{"POST", "/admin/v1/participants/{id}/callbacks/failed/{failureId}/redeliver", (*Server).redeliverCallback},
	{"GET", "/admin/v1/settlement-models", (*Server).settlementModels},
	{"PUT", "/admin/v1/settlement-models/{currency}", (*Server).setSettlementModel},
	{"GET", "/admin/v1/settlement-windows", (*Server).listWindows},
	{"GET", "/admin/v1/settlement-windows/{id}", (*Server).getWindow},
	{"POST", "/admin/v1/settlement-windows/{id}/close", (*Server).closeWindow},
	{"POST", "/admin/v1/settlement-windows/close", (*Server).closeOpenWindow},
	{"POST", "/admin/v1/settlements", (*Server).createSettlement},
	{"GET", "/admin/v1/settlements", (*Server).listSettlements},
	{"GET", "/admin/v1/settlements/{id}", (*Server).getSettlement},
	{"PUT", "/admin/v1/settlements/{id}/state", (*Server).setSettlementState},
	{"POST", "/admin/v1/settlements/{id}/settle", (*Server).settle},
	{"GET", "/admin/v1/alerts", (*Server).listAlerts},
	{"GET", "/admin/v1/participants/{id}/alerts", (*Server).participantAlerts},
	{"GET", "/admin/v1/settlement-windows/{id}/report", (*Server).windowReport},
	{"GET", "/admin/v1/settlements/{id}/report", (*Server).settlementReport},
	{"GET", "/admin/v1/participants/{id}/statement", (*Server).participantStatement},
	{"POST", "/admin/v1/participants/{id}/reconcile", (*Server).reconcile},
}

// New returns the admin API over w. The caller keeps ownership of w and
// closes it after the HTTP server in front of the API has shut down.
func New(w *writer.Writer, opts Options) *Server {
	s := &Server{w: w, ops: operate.New(w, nil), log: opts.Logger, maxBody: opts.MaxBody, mux: http.NewServeMux(),
		endpoints: opts.Endpoints, callbacks: opts.Callbacks, alerts: opts.Alerts}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	if opts.Token != "" {
		d := sha256.Sum256([]byte(opts.Token))
		s.token = d[:]
	}
	for _, rt := range routes {
		h := rt.handler
		s.mux.HandleFunc(rt.method+" "+rt.path, func(rw http.ResponseWriter, r *http.Request) {
			if err := h(s, rw, r); err != nil {
				s.fail(rw, r, err)
			}
		})
	}
	return s
}

// ServeHTTP serves the API. Unknown paths and methods are answered with the
// JSON error body too (NOT_FOUND, METHOD_NOT_ALLOWED).
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("admin: handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
			writeError(rw, &apiError{status: http.StatusInternalServerError, code: codeInternal, msg: msgInternal})
		}
	}()
	if !s.authorized(r) {
		rw.Header().Set("WWW-Authenticate", `Bearer realm="hutong admin"`)
		writeError(rw, &apiError{status: http.StatusUnauthorized, code: codeUnauthorized,
			msg: "this admin API needs the operator's token: Authorization: Bearer <token> (the CLI sends $" + TokenEnv + ")"})
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.unrouted(rw, r)
		return
	}
	s.mux.ServeHTTP(rw, r)
}

// TokenEnv is the environment variable the hub and its command line read
// the admin token from.
const TokenEnv = adminapi.TokenEnv

// authorized reports whether r carries the token, or none is needed.
func (s *Server) authorized(r *http.Request) bool {
	if s.token == nil {
		return true
	}
	h := r.Header.Get("Authorization")
	const scheme = "Bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return false
	}
	d := sha256.Sum256([]byte(h[len(scheme):]))
	return subtle.ConstantTimeCompare(d[:], s.token) == 1
}

// unrouted answers a request no route matches, in the API's error format.
// The mux knows whether the path exists under another method; ask it.
func (s *Server) unrouted(rw http.ResponseWriter, r *http.Request) {
	h, _ := s.mux.Handler(r)
	rec := &statusRecorder{header: make(http.Header)}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		rw.Header().Set("Allow", rec.header.Get("Allow"))
		writeError(rw, &apiError{status: http.StatusMethodNotAllowed, code: "METHOD_NOT_ALLOWED",
			msg: r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + rec.header.Get("Allow")})
		return
	}
	writeError(rw, &apiError{status: http.StatusNotFound, code: "NOT_FOUND",
		msg: "no endpoint " + r.URL.Path + "; see /admin/v1/openapi.yaml"})
}

// statusRecorder keeps what the mux's fallback handler answers, to be
// rewritten in the API's format.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header { return r.header }

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (s *Server) openAPIDocument(rw http.ResponseWriter, _ *http.Request) error {
	rw.Header().Set("Content-Type", "application/yaml")
	rw.Write(openAPI) // a failed write means the client has gone
	return nil
}
