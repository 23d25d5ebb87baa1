// Package fastsrv runs the fasthttp servers that carry FSPIOP traffic: the
// hub's API and the simulated FSPs. fasthttp reuses its request and
// response objects and serves each connection from a pooled goroutine, so
// a round trip costs about half the CPU of net/http on loopback; the
// messages of a payment cross the hub twelve times, so this is most of
// what the hub spends.
//
// Like net/http, fasthttp counts a connection on which no request has come
// yet as idle only once it is five seconds old, and Go clients often dial a
// spare connection they never use. Shutdown here closes such connections
// itself so that it returns promptly.
package fastsrv

import (
	"context"
	"errors"
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
	// large, malformed). Default: fasthttp's plain-text answer.
	OnError func(ctx *fasthttp.RequestCtx, err error)
}

// Server is a fasthttp.Server that tracks the connections nothing has been
// read from yet.
type Server struct {
	srv fasthttp.Server

	mu       sync.Mutex // guards the fields below
	newConns map[*conn]struct{}
	lns      []*listener // the listeners handed to Serve
	shut     bool        // Shutdown has been called
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
	s := &Server{newConns: make(map[*conn]struct{})}
	s.srv = fasthttp.Server{
		Handler:               h,
		ErrorHandler:          cfg.OnError,
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
	return s
}

// discard drops fasthttp's own log lines: errors reach OnError.
type discard struct{}

func (discard) Printf(string, ...any) {}

// listener hands out connections that leave Server.newConns once a byte
// has come on them.
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
	l.s.newConns[c] = struct{}{}
	l.s.mu.Unlock()
	return c, nil
}

type conn struct {
	net.Conn
	s    *Server
	used atomic.Bool
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && !c.used.Load() {
		c.used.Store(true)
		c.forget()
	}
	return n, err
}

func (c *conn) Close() error {
	c.forget()
	return c.Conn.Close()
}

func (c *conn) forget() {
	c.s.mu.Lock()
	delete(c.s.newConns, c)
	c.s.mu.Unlock()
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
// ends first it returns ctx's error; the requests still running finish on
// their own.
func (s *Server) Shutdown(ctx context.Context) error {
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
	for {
		s.mu.Lock()
		for c := range s.newConns {
			c.Conn.Close()
			delete(s.newConns, c)
		}
		s.mu.Unlock()
		select {
		case err := <-done:
			return err
		case <-tick.C:
		}
	}
}
