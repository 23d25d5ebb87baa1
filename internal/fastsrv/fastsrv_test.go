package fastsrv

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
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
