package fastsrv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// start serves h on a loopback port and returns the server, its address
// and the channel Serve's result arrives on.
func start(t *testing.T, h fasthttp.RequestHandler) (*Server, string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(h, Config{Name: "test"})
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, ln.Addr().String(), served
}

// dial opens a connection to addr on which it sends nothing.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends one request on a new connection and returns the answer's
// status and body.
func get(addr, path string) (int, string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestShutdownClosesUnusedConnections(t *testing.T) {
	s, addr, served := start(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	// A request answered proves the server is up; the unused connections
	// are opened before and after it.
	unused := dial(t, addr)
	if status, body, err := get(addr, "/"); err != nil || status != 200 || body != "ok" {
		t.Fatalf("GET / = %d %q, %v", status, body, err)
	}
	unused2 := dial(t, addr)
	// Let the server accept the second connection and start reading it.
	time.Sleep(50 * time.Millisecond)

	// The server's read timeout (10 s) would hold a plain Shutdown longer
	// than this deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v, want nil before the deadline", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	for i, c := range []net.Conn{unused, unused2} {
		// Closed, the connection reads EOF or a reset (after an error
		// answer, perhaps); open, it times out.
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("unused connection %d still open after Shutdown", i)
		}
	}
}

func TestShutdownAnswersRequestUnderWay(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	s, addr, served := start(t, func(ctx *fasthttp.RequestCtx) {
		close(started)
		<-release
		ctx.SetStatusCode(fasthttp.StatusAccepted)
		ctx.SetBodyString("done")
	})
	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		status, body, err := get(addr, "/slow")
		answered <- answer{status, body, err}
	}()
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	// Serve returns once Shutdown has closed the listener: Shutdown has
	// begun while the request is still in the handler.
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	close(release)
	a := <-answered
	if a.err != nil || a.status != fasthttp.StatusAccepted || a.body != "done" {
		t.Errorf("request under way = %d %q, %v; want 202 \"done\"", a.status, a.body, a.err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
}

func TestDefaults(t *testing.T) {
	s := New(func(*fasthttp.RequestCtx) {}, Config{})
	tests := []struct {
		name      string
		got, want int64
	}{
		{"MaxRequestBodySize", int64(s.srv.MaxRequestBodySize), 4 << 20},
		{"ReadBufferSize", int64(s.srv.ReadBufferSize), 64 << 10},
		{"ReadTimeout", int64(s.srv.ReadTimeout), int64(10 * time.Second)},
		{"IdleTimeout", int64(s.srv.IdleTimeout), int64(5 * time.Minute)},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

func TestServeAfterShutdownReturns(t *testing.T) {
	// Start runs Serve in a goroutine and Close may call Shutdown before
	// that goroutine has begun: Serve must not run on.
	s := New(func(*fasthttp.RequestCtx) {}, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v, want nil", err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve after Shutdown = %v, want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("Serve still running after Shutdown")
	}
}

// TestShutdownGivenUpEndsKeepAlive: once Shutdown has given up waiting, a
// request that was under way is answered with Connection: close, and its
// connection takes no further request: the server behind it may be gone.
func TestShutdownGivenUpEndsKeepAlive(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int64
	s, addr, served := start(t, func(ctx *fasthttp.RequestCtx) {
		if calls.Add(1) == 1 {
			close(started)
			<-release
		}
		ctx.SetBodyString("done")
	})
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the context's deadline (the handler is still running)", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	close(release)
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the request under way got no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "done" || !resp.Close {
		t.Errorf("request under way = %d %q, Connection: close %v; want 200 \"done\" with Connection: close", resp.StatusCode, b, resp.Close)
	}
	// The client may not honour Connection: close; the server must.
	io.WriteString(c, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(br, nil); err == nil {
		resp.Body.Close()
		t.Errorf("a request after Shutdown gave up was answered %d", resp.StatusCode)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

// TestUnreadableRequestNotAnswered: a client that connects and sends
// nothing until the read timeout, or resets the connection, gets no answer
// and is not passed to OnError, as with net/http: there is no request to
// answer, and an HTTP client reading an unsolicited 400 on a connection it
// keeps for later takes it for the answer to its next request.
func TestUnreadableRequestNotAnswered(t *testing.T) {
	var errs []error
	var mu sync.Mutex
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") }, Config{
		ReadTimeout: 50 * time.Millisecond,
		OnError: func(ctx *fasthttp.RequestCtx, err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			ctx.Error("bad", fasthttp.StatusBadRequest)
		},
	})
	go s.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	addr := ln.Addr().String()
	tests := []struct {
		name string
		send string
	}{
		{"nothing sent", ""},
		{"headers cut short", "GET / HTTP/1.1\r\nHost: x\r\n"},
		{"body cut short", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, addr)
			io.WriteString(c, tt.send)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, err := io.ReadAll(c)
			if len(b) > 0 {
				t.Errorf("got %q, want the connection closed with no answer", b)
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("connection still open after the server's read timeout")
			}
		})
	}
	// A malformed request is still answered through OnError.
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("malformed request: %v, want an answer", err)
	}
	resp.Body.Close()
	if resp.StatusCode != fasthttp.StatusBadRequest {
		t.Errorf("malformed request answered %d, want 400", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 1 {
		t.Errorf("OnError called with %v, want only the malformed request's error", errs)
	}
}

// TestBodyTooLargeAnswered: a client sending a body over the limit reads
// the refusal, rather than losing it to a reset when the server closes the
// connection with the body still coming.
func TestBodyTooLargeAnswered(t *testing.T) {
	var called atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(func(ctx *fasthttp.RequestCtx) { called.Add(1) }, Config{
		MaxBody: 1 << 20,
		MaxBodyOf: func(h *fasthttp.RequestHeader) int {
			if string(h.RequestURI()) == "/small" {
				return 1 << 10
			}
			return 1 << 30 // more than MaxBody: MaxBody holds
		},
		OnError: func(ctx *fasthttp.RequestCtx, err error) {
			if errors.Is(err, fasthttp.ErrBodyTooLarge) {
				ctx.Error("too large", fasthttp.StatusRequestEntityTooLarge)
				return
			}
			ctx.Error(err.Error(), fasthttp.StatusBadRequest)
		},
	})
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
		<-served
	})
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	tests := []struct {
		path string
		size int
	}{
		{"/small", 64 << 10},
		{"/small", 4 << 20},
		{"/big", 4 << 20},
		{"/big", 32 << 20},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d", tt.path, tt.size), func(t *testing.T) {
			resp, err := client.Post("http://"+ln.Addr().String()+tt.path, "application/json", bytes.NewReader(make([]byte, tt.size)))
			if err != nil {
				t.Fatalf("POST of %d bytes: %v, want a 413", tt.size, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != fasthttp.StatusRequestEntityTooLarge {
				t.Errorf("POST of %d bytes answered %d, want 413", tt.size, resp.StatusCode)
			}
		})
	}
	if n := called.Load(); n != 0 {
		t.Errorf("handler called %d times, want 0", n)
	}
}
