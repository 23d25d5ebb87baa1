// Package fastsrv runs the fasthttp servers that carry FSPIOP traffic: the
// hub's API and the simulated FSPs. fasthttp reuses its request and
// response objects and serves each connection from a pooled goroutine, so
// a round trip costs about half the CPU of net/http on loopback, and every
// message of a payment crosses the hub.
//
// Like net/http, fasthttp counts a connection on which no request has come
// yet as idle only once it is five seconds old, and Go clients often dial a
// spare connection they never use. Shutdown here closes such connections
// itself so that it returns promptly.
//
// fasthttp's own shutdown forgets that it is shutting down once its
// context ends: the requests still in the handler would be answered as if
// nothing had happened and their connections served on, by a server whose
// caller has gone on to close what the handler uses. Each connection here
// therefore has a state, and Shutdown, when its context ends, closes every
// connection not in the handler; those in it are answered with
// Connection: close.
//
//	new ──first byte read──▶ open ──handler entered──▶ busy
//	                          ▲                          │
//	                          └─────handler returned─────┘
//	new, open ──Shutdown closes──▶ closed
//
// A client that goes away or stalls before its request is whole gets no
// answer, as with net/http: fasthttp would pass the read error to the error
// handler, which would write an answer to nobody's request. A request
// refused unread (a body over the limit, from its Content-Length) is
// answered, and its connection drained a while before it is closed, so
// that the client reads the refusal instead of a reset.
package fastsrv

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Config configures a Server. A zero field takes its default.
type Config struct {
	// Name is the server's name in logs.
	Name string
	// MaxBody is the largest request body read; a larger one is refused
	// through OnError with fasthttp.ErrBodyTooLarge. Default 4 MiB.
	MaxBody int
	// MaxBodyOf, when set, gives from a request's header the largest body
	// it may have, at most MaxBody: a larger one is refused as one larger
	// than MaxBody is, from its Content-Length before it is read.
	MaxBodyOf func(h *fasthttp.RequestHeader) int
	// MaxHeader is the most bytes of request line and headers. Default
	// 64 KiB.
	MaxHeader int
	// ReadTimeout bounds reading one request, its headers and body.
	// Default 10 s.
	ReadTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request for this
	// long. Default 5 min.
	IdleTimeout time.Duration
	// OnError answers a request that could not be read or parsed (too
	// large, malformed); a client that went away or stalled is not
	// answered. Default: a plain-text 413, 431 or 400.
	OnError func(ctx *fasthttp.RequestCtx, err error)
}

// Server is a fasthttp.Server that tracks its connections.
type Server struct {
	srv      fasthttp.Server
	h        fasthttp.RequestHandler
	onError  func(ctx *fasthttp.RequestCtx, err error)
	shutting atomic.Bool  // Shutdown has begun: every answer ends its connection
	gaveUp   atomic.Bool  // Shutdown's ctx ended: no request reaches the handler
	draining atomic.Int64 // connections to drain before they close (see conn.drain)

	mu    sync.Mutex // guards the fields below
	conns map[*conn]struct{}
	lns   []*listener // the listeners handed to Serve
	shut  bool        // Shutdown has been called
}

// New returns a server of h.
func New(h fasthttp.RequestHandler, cfg Config) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 4 << 20
	}
	if cfg.MaxHeader <= 0 {
		cfg.MaxHeader = 64 << 10
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	s := &Server{h: h, onError: cfg.OnError, conns: make(map[*conn]struct{})}
	s.srv = fasthttp.Server{
		Handler:               s.handle,
		ErrorHandler:          s.handleError,
		Name:                  cfg.Name,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		MaxRequestBodySize:    cfg.MaxBody,
		ReadBufferSize:        cfg.MaxHeader,
		ReadTimeout:           cfg.ReadTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		// Bodies are forwarded and stored byte for byte: no rewriting.
		DisablePreParseMultipartForm:  true,
		DisableHeaderNamesNormalizing: false,
		CloseOnShutdown:               true,
		Logger:                        discard{},
	}
	if of := cfg.MaxBodyOf; of != nil {
		maxBody := cfg.MaxBody
		s.srv.HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			return fasthttp.RequestConfig{MaxRequestBodySize: max(min(of(h), maxBody), 1)}
		}
	}
	return s
}

// discard drops fasthttp's own log lines: errors reach OnError.
type discard struct{}

func (discard) Printf(string, ...any) {}

// listener hands out the Server's connections.
type listener struct {
	net.Listener
	s *Server

	once     sync.Once
	closeErr error
}

// Close closes the listener once: Shutdown and fasthttp both close it.
func (l *listener) Close() error {
	l.once.Do(func() { l.closeErr = l.Listener.Close() })
	return l.closeErr
}

func (l *listener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &conn{Conn: nc, s: l.s}
	l.s.mu.Lock()
	l.s.conns[c] = struct{}{}
	l.s.mu.Unlock()
	return c, nil
}

// The states of a connection (see the package comment).
const (
	stateNew    int32 = iota // nothing read yet
	stateOpen                // a request has begun, or the connection waits for the next
	stateBusy                // a request is in the handler
	stateClosed              // closed by Shutdown
)

type conn struct {
	net.Conn
	s      *Server
	state  atomic.Int32
	linger atomic.Bool // answered an unread request: drain before closing
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && c.state.Load() == stateNew {
		c.state.CompareAndSwap(stateNew, stateOpen)
	}
	return n, err
}

func (c *conn) Close() error {
	if c.linger.CompareAndSwap(true, false) {
		c.drain()
		defer c.s.draining.Add(-1)
	}
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
	return c.Conn.Close()
}

// How long, and how much of what a client still sends after an answer
// refusing its request, is read and dropped before the connection closes.
const (
	lingerTime = 2 * time.Second
	lingerMax  = 64 << 20
)

// drain ends the connection's writing after the answer and drops what the
// client still sends, until it closes, for at most lingerTime. Closed with
// a request's bytes unread, the connection would be reset, and a client
// still sending its body would lose the answer before reading it (net/http
// waits in the same way). Shutdown, giving up, cuts it short.
func (c *conn) drain() {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() != nil {
			return
		}
	}
	if c.Conn.SetReadDeadline(time.Now().Add(lingerTime)) != nil {
		return
	}
	io.CopyN(io.Discard, c.Conn, lingerMax)
}

// handle runs the handler, unless Shutdown has given up waiting since the
// request was read.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	c, _ := ctx.Conn().(*conn)
	if s.gaveUp.Load() || c != nil && !c.enter() {
		ctx.SetConnectionClose()
		return
	}
	s.h(ctx)
	if !s.shutting.Load() && c != nil {
		c.state.CompareAndSwap(stateBusy, stateOpen)
	}
	if s.shutting.Load() {
		// fasthttp closes the connection once the answer is written;
		// Shutdown leaves a busy connection to it.
		ctx.SetConnectionClose()
	}
}

// enter marks c busy unless Shutdown has closed it.
func (c *conn) enter() bool {
	for {
		st := c.state.Load()
		if st == stateClosed {
			return false
		}
		if c.state.CompareAndSwap(st, stateBusy) {
			return true
		}
	}
}

// handleError answers a request fasthttp could not read, through OnError,
// unless the client went away or stalled: then there is no request to
// answer, and the connection is closed.
func (s *Server) handleError(ctx *fasthttp.RequestCtx, err error) {
	var ne net.Error
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) {
		ctx.Conn().Close()
		return
	}
	// fasthttp closes the connection after the answer, with the rest of
	// the request (a body refused from its length, say) perhaps unread.
	if c, ok := ctx.Conn().(*conn); ok && c.linger.CompareAndSwap(false, true) {
		s.draining.Add(1)
	}
	if s.onError != nil {
		s.onError(ctx, err)
		return
	}
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		ctx.Error("request body too large", fasthttp.StatusRequestEntityTooLarge)
	case errors.As(err, &small):
		ctx.Error("request header too large", fasthttp.StatusRequestHeaderFieldsTooLarge)
	default:
		ctx.Error("malformed request", fasthttp.StatusBadRequest)
	}
}

// closeConns closes the connections in the given states, leaving the
// others.
func (s *Server) closeConns(states ...int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		for _, st := range states {
			if c.state.CompareAndSwap(st, stateClosed) {
				c.Conn.Close()
				delete(s.conns, c)
				break
			}
		}
	}
}

// Serve accepts connections on ln until Shutdown, then returns nil; after
// Shutdown it closes ln and returns nil at once.
func (s *Server) Serve(ln net.Listener) error {
	l := &listener{Listener: ln, s: s}
	s.mu.Lock()
	if s.shut {
		s.mu.Unlock()
		l.Close()
		return nil
	}
	s.lns = append(s.lns, l)
	s.mu.Unlock()
	err := s.srv.Serve(l)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits, until ctx ends, for the
// requests under way; it closes unused connections as it goes. When ctx
// ends first it closes every connection not in the handler and returns
// ctx's error; the requests still in the handler finish on their own, are
// answered with Connection: close, and their connections closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutting.Store(true)
	// fasthttp closes only the listeners its Serve has taken; a Serve
	// begun a moment ago may not have taken its listener yet.
	s.mu.Lock()
	s.shut = true
	lns := s.lns
	s.mu.Unlock()
	for _, l := range lns {
		l.Close()
	}
	done := make(chan error, 1)
	go func() { done <- s.srv.ShutdownWithContext(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	// Once fasthttp is done, the connections refusing a request may still
	// be draining: ctxDone is then ctx's.
	var ctxDone <-chan struct{}
	for {
		s.closeConns(stateNew)
		if done == nil && s.draining.Load() == 0 {
			return nil
		}
		select {
		case err := <-done:
			if err != nil {
				s.giveUp()
				return err
			}
			done, ctxDone = nil, ctx.Done()
		case <-ctxDone:
			s.giveUp()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// giveUp refuses the requests not yet in the handler and closes every
// connection but those in it.
func (s *Server) giveUp() {
	s.gaveUp.Store(true)
	s.closeConns(stateNew, stateOpen)
}
