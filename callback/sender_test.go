package callback

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/internal/testseed"
	storekv "github.com/hutong/hutong/store/kv"
)

// testConfig is a configuration that retries quickly.
func testConfig() Config {
	return Config{Timeout: 5 * time.Second, Attempts: 3, Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
		Concurrency: 4, QueueSize: 64, Logger: quiet,
		Clock: clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))}
}

// fixture is a Sender over a Pebble KV, with endpoints for dfsp1 at url.
type fixture struct {
	t   testing.TB
	eps *Endpoints
	kv  storekv.Space
	s   *Sender
}

func newFixture(t testing.TB, cfg Config, url string) *fixture {
	t.Helper()
	eps, kv := newEndpoints(t)
	if url != "" {
		if err := eps.SetBase(context.Background(), "dfsp1", url); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewSender(cfg, eps, kv)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, eps: eps, kv: kv, s: s}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

// waitFor waits until cond holds, failing the test if it never does.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (f *fixture) failures(participant string) []Failure {
	f.t.Helper()
	fs, next, err := f.s.Failures(context.Background(), participant, "", 500)
	if err != nil {
		f.t.Fatal(err)
	}
	if next != "" {
		f.t.Fatalf("more than one page of failures")
	}
	return fs
}

const transferID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"

// transferPut is a PUT /transfers/{ID} callback to dfsp1.
func transferPut(id string) *Request {
	h := make(http.Header)
	h.Set("Content-Type", "application/vnd.interoperability.transfers+json;version=1.1")
	h.Set("FSPIOP-Source", "hub")
	h.Set("FSPIOP-Destination", "dfsp1")
	h.Set("Date", "Sat, 01 Mar 2025 12:00:00 GMT")
	return &Request{To: "dfsp1", Kind: TransferPut, Method: http.MethodPut, Path: "/transfers/" + id,
		Vars: Vars{ID: id}, Header: h, Body: []byte(`{"transferState":"COMMITTED","completedTimestamp":"2025-03-01T12:00:00.000Z"}`)}
}

// received is what a test server was sent.
type received struct {
	method, path string
	header       http.Header
	body         []byte
}

// server is an HTTP handler that keeps what it is sent and answers with
// the statuses of answer in turn, then 200.
type server struct {
	mu     sync.Mutex
	got    []received
	answer []int
	calls  atomic.Int64
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.got = append(s.got, received{r.Method, r.URL.RequestURI(), r.Header.Clone(), b})
	status := http.StatusOK
	if len(s.answer) > 0 {
		status, s.answer = s.answer[0], s.answer[1:]
	}
	s.mu.Unlock()
	s.calls.Add(1)
	w.WriteHeader(status)
	if status != http.StatusOK {
		fmt.Fprintf(w, `{"errorInformation":{"errorCode":"%d"}}`, status)
	}
}

func (s *server) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func newServer(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestDeliver(t *testing.T) {
	var srv server
	ts := newServer(t, &srv)
	f := newFixture(t, testConfig(), ts.URL)
	r := transferPut(transferID)
	f.s.Send(r)
	f.s.Send(&Request{To: "dfsp1", Kind: Quotes, Method: http.MethodGet, Path: "/quotes/q-1", Header: http.Header{"Accept": {"x"}}})
	waitFor(t, "two deliveries", func() bool { return f.s.Stats().Delivered == 2 })

	got := srv.received()
	slices.SortFunc(got, func(a, b received) int { return strings.Compare(a.method, b.method) })
	if got[1].method != "PUT" || got[1].path != "/transfers/"+transferID || !bytes.Equal(got[1].body, r.Body) {
		t.Errorf("server got %s %s %q, want PUT /transfers/%s %q", got[1].method, got[1].path, got[1].body, transferID, r.Body)
	}
	for _, name := range []string{"Content-Type", "FSPIOP-Source", "FSPIOP-Destination", "Date"} {
		if g, w := got[1].header.Get(name), r.Header.Get(name); g != w {
			t.Errorf("header %s = %q, want %q", name, g, w)
		}
	}
	if g, w := got[1].header.Get("Content-Length"), fmt.Sprint(len(r.Body)); g != w {
		t.Errorf("Content-Length = %q, want %q", g, w)
	}
	if got[0].method != "GET" || got[0].path != "/quotes/q-1" || len(got[0].body) != 0 || got[0].header.Get("Accept") != "x" {
		t.Errorf("server got %s %s %q, want GET /quotes/q-1 with no body", got[0].method, got[0].path, got[0].body)
	}
	st := f.s.Stats()
	if st.Retried != 0 || st.Failed != 0 || st.Queued != 0 || st.InFlight != 0 || st.Waiting != 0 {
		t.Errorf("Stats = %+v, want only 2 delivered", st)
	}
}

// TestEscapedPath: a party id with a slash or a space reaches the
// participant escaped, inside its one path segment.
func TestEscapedPath(t *testing.T) {
	var srv server
	ts := newServer(t, &srv)
	f := newFixture(t, testConfig(), ts.URL)
	f.s.Send(&Request{To: "dfsp1", Kind: PartiesPut, Method: http.MethodPut, Path: "/parties/ALIAS/a%2Fb c",
		Vars: Vars{PartyIDType: "ALIAS", PartyIdentifier: "a/b c"}, Body: []byte(`{}`)})
	waitFor(t, "the delivery", func() bool { return f.s.Stats().Delivered == 1 })
	if got, want := srv.received()[0].path, "/parties/ALIAS/a%2Fb%20c"; got != want {
		t.Errorf("server got path %q, want %q", got, want)
	}
}

// TestServerClosedIdleConnection: a participant's server that closes a
// kept-alive connection while it is idle (Node.js does after 5 s) costs
// the next callback neither an attempt nor a wait: it goes out at once on
// a new connection, once.
func TestServerClosedIdleConnection(t *testing.T) {
	var srv server
	ts := newServer(t, &srv)
	cfg := testConfig()
	f := newFixture(t, cfg, ts.URL)
	f.s.Send(transferPut(transferID))
	waitFor(t, "the first delivery", func() bool { return f.s.Stats().Delivered == 1 })
	// The server ends the connection the Sender keeps for the next call.
	ts.CloseClientConnections()
	f.s.Send(transferPut("00000000-0000-4000-8000-000000000002"))
	waitFor(t, "the second delivery", func() bool {
		st := f.s.Stats()
		return st.Delivered+st.Failed == 2
	})
	if st := f.s.Stats(); st.Delivered != 2 || st.Retried != 0 {
		t.Errorf("Stats = %+v, want 2 delivered at their first attempt", st)
	}
	if got := srv.calls.Load(); got != 2 {
		t.Errorf("server called %d times, want 2", got)
	}
}

// TestTLSHandshakeTimeout: a participant's https endpoint that takes the
// connection and never answers the TLS handshake fails the attempt within
// Timeout, as a silent plain-HTTP endpoint does, instead of holding a
// worker until Close.
func TestTLSHandshakeTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // kept open, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	cfg := testConfig()
	cfg.Timeout, cfg.Attempts = 100*time.Millisecond, 1
	f := newFixture(t, cfg, "https://"+ln.Addr().String())
	f.s.Send(transferPut(transferID))
	waitFor(t, "the attempt to time out", func() bool { return f.s.Stats().Failed == 1 })
	if fs := f.failures("dfsp1"); len(fs) != 1 || fs[0].LastStatus != 0 || fs[0].LastError == "" {
		t.Errorf("failures %+v, want one with an error and no status", fs)
	}
}

// TestMutualTLS: calls to an https endpoint present Config.TLS's client
// certificate and check the server's against its authorities; a server
// they do not vouch for is not called.
func TestMutualTLS(t *testing.T) {
	var certs atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		certs.Store(int64(len(r.TLS.PeerCertificates)))
	}))
	ts.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	ts.StartTLS()
	t.Cleanup(ts.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())

	cfg := testConfig()
	cfg.TLS = &tls.Config{RootCAs: roots, Certificates: ts.TLS.Certificates}
	f := newFixture(t, cfg, ts.URL)
	f.s.Send(transferPut(transferID))
	waitFor(t, "the delivery", func() bool { st := f.s.Stats(); return st.Delivered+st.Failed == 1 })
	if st := f.s.Stats(); st.Delivered != 1 || certs.Load() != 1 {
		t.Errorf("Stats = %+v, client certificates seen %d; want 1 delivered with 1 certificate", st, certs.Load())
	}

	cfg.TLS = &tls.Config{Certificates: ts.TLS.Certificates} // the system's roots
	cfg.Attempts = 1
	f = newFixture(t, cfg, ts.URL)
	f.s.Send(transferPut(transferID))
	waitFor(t, "the failure", func() bool { return f.s.Stats().Failed == 1 })
	if fs := f.failures("dfsp1"); len(fs) != 1 || !strings.Contains(fs[0].LastError, "certificate") {
		t.Errorf("failures %+v, want one for the unknown authority", fs)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	srv := server{answer: []int{503, 500}}
	ts := newServer(t, &srv)
	cfg := testConfig()
	cfg.Attempts = 5
	f := newFixture(t, cfg, ts.URL)
	f.s.Send(transferPut(transferID))
	waitFor(t, "delivery", func() bool { return f.s.Stats().Delivered == 1 })
	if got := srv.calls.Load(); got != 3 {
		t.Errorf("server called %d times, want 3", got)
	}
	if st := f.s.Stats(); st.Retried != 2 || st.Failed != 0 {
		t.Errorf("Stats = %+v, want 2 retried, 0 failed", st)
	}
	if fs := f.failures("dfsp1"); len(fs) != 0 {
		t.Errorf("failures recorded: %+v", fs)
	}
}

func TestRetryStatuses(t *testing.T) {
	tests := []struct {
		status int
		calls  int64
	}{
		{400, 1}, {401, 1}, {404, 1}, {409, 1}, {302, 1},
		{408, 3}, {429, 3}, {500, 3}, {502, 3}, {503, 3}, {504, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv := server{answer: []int{tt.status, tt.status, tt.status}}
			ts := newServer(t, &srv)
			f := newFixture(t, testConfig(), ts.URL)
			f.s.Send(transferPut(transferID))
			waitFor(t, "failure", func() bool { return f.s.Stats().Failed == 1 })
			if got := srv.calls.Load(); got != tt.calls {
				t.Errorf("server called %d times, want %d", got, tt.calls)
			}
			fs := f.failures("dfsp1")
			if len(fs) != 1 {
				t.Fatalf("%d failures recorded, want 1", len(fs))
			}
			if fs[0].LastStatus != tt.status || fs[0].Attempts != int(tt.calls) || !strings.Contains(fs[0].LastError, fmt.Sprint(tt.status)) {
				t.Errorf("failure %+v, want status %d after %d attempts", fs[0], tt.status, tt.calls)
			}
		})
	}
}

// TestLongAnswer: an answer whose body is over the most the Sender reads
// still counts by its status: a 2xx is delivered, a 4xx is not retried.
func TestLongAnswer(t *testing.T) {
	for _, status := range []int{200, 202, 400, 404, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var calls atomic.Int64
			ts := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(status)
				w.Write(bytes.Repeat([]byte("x"), 2*drainLimit))
			}))
			f := newFixture(t, testConfig(), ts.URL)
			f.s.Send(transferPut(transferID))
			waitFor(t, "the outcome", func() bool { st := f.s.Stats(); return st.Delivered+st.Failed == 1 })
			wantCalls, wantDelivered := int64(1), status < 300
			if status >= 500 {
				wantCalls = 3
			}
			if got := calls.Load(); got != wantCalls {
				t.Errorf("server called %d times, want %d", got, wantCalls)
			}
			if got := f.s.Stats().Delivered == 1; got != wantDelivered {
				t.Errorf("delivered %v, want %v", got, wantDelivered)
			}
			if !wantDelivered {
				if fs := f.failures("dfsp1"); len(fs) != 1 || fs[0].LastStatus != status {
					t.Errorf("failures %+v, want one with status %d", fs, status)
				}
			}
		})
	}
}

func TestFailureRecord(t *testing.T) {
	srv := server{answer: []int{400}}
	ts := newServer(t, &srv)
	f := newFixture(t, testConfig(), ts.URL)
	r := transferPut(transferID)
	f.s.Send(r)
	waitFor(t, "failure", func() bool { return f.s.Stats().Failed == 1 })
	fs := f.failures("dfsp1")
	if len(fs) != 1 {
		t.Fatalf("%d failures, want 1", len(fs))
	}
	got := fs[0]
	want := Failure{ID: got.ID, To: "dfsp1", Kind: TransferPut, Method: "PUT", URL: ts.URL + "/transfers/" + transferID,
		Path: r.Path, Vars: r.Vars, Attempts: 1, LastStatus: 400,
		LastError: `HTTP 400 Bad Request: {"errorInformation":{"errorCode":"400"}}`,
		First:     time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Last: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Header: r.Header, Body: r.Body}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("failure\n%+v\nwant\n%+v", got, want)
	}
	if !validID(got.ID) {
		t.Errorf("id %q is not %d hex digits", got.ID, idLen)
	}
	one, err := f.s.Failure(context.Background(), "dfsp1", got.ID)
	if err != nil || fmt.Sprintf("%+v", one) != fmt.Sprintf("%+v", got) {
		t.Errorf("Failure = %+v, %v; want %+v", one, err, got)
	}
	if _, err := f.s.Failure(context.Background(), "dfsp1", strings.Repeat("0", idLen)); !errors.Is(err, ErrFailureNotFound) {
		t.Errorf("Failure of an unknown id = %v, want ErrFailureNotFound", err)
	}
}

func TestEndpointDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	f := newFixture(t, testConfig(), url)
	f.s.Send(transferPut(transferID))
	waitFor(t, "failure", func() bool { return f.s.Stats().Failed == 1 })
	if st := f.s.Stats(); st.Retried != 2 || st.Delivered != 0 {
		t.Errorf("Stats = %+v, want 2 retried", st)
	}
	fs := f.failures("dfsp1")
	if len(fs) != 1 || fs[0].Attempts != 3 || fs[0].LastStatus != 0 || fs[0].LastError == "" || fs[0].URL != url+"/transfers/"+transferID {
		t.Errorf("failures %+v, want one after 3 attempts with an error and no status", fs)
	}
}

func TestNoEndpoint(t *testing.T) {
	f := newFixture(t, testConfig(), "")
	f.s.Send(transferPut(transferID))
	if st := f.s.Stats(); st.Failed != 1 {
		t.Fatalf("Stats = %+v, want 1 failed at once", st)
	}
	fs := f.failures("dfsp1")
	if len(fs) != 1 || fs[0].Attempts != 0 || fs[0].URL != "" || !strings.Contains(fs[0].LastError, "no endpoint") {
		t.Errorf("failures %+v, want one for the missing endpoint", fs)
	}
	// An invalid recipient cannot be stored under its id; it is counted.
	f.s.Send(&Request{To: "no/such", Kind: TransferPut})
	if st := f.s.Stats(); st.Failed != 2 || st.Unrecorded != 1 {
		t.Errorf("Stats = %+v, want 2 failed, 1 unrecorded", st)
	}
}

// gate is a handler that holds every request until released, and counts
// how many it holds at once.
type gate struct {
	release chan struct{}
	now     atomic.Int64
	most    atomic.Int64
	calls   atomic.Int64
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.calls.Add(1)
	n := g.now.Add(1)
	for {
		m := g.most.Load()
		if n <= m || g.most.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-g.release:
	case <-r.Context().Done():
	}
	g.now.Add(-1)
}

func TestQueueFull(t *testing.T) {
	g := newGate()
	ts := newServer(t, g)
	cfg := testConfig()
	cfg.Concurrency, cfg.QueueSize = 1, 1
	f := newFixture(t, cfg, ts.URL)
	f.s.Send(transferPut("00000000-0000-4000-8000-000000000001"))
	waitFor(t, "first call at the server", func() bool { return g.now.Load() == 1 })
	f.s.Send(transferPut("00000000-0000-4000-8000-000000000002")) // queued
	f.s.Send(transferPut("00000000-0000-4000-8000-000000000003")) // no room
	if st := f.s.Stats(); st.Failed != 1 || st.Queued != 1 || st.InFlight != 1 {
		t.Errorf("Stats = %+v, want 1 failed, 1 queued, 1 in flight", st)
	}
	fs := f.failures("dfsp1")
	if len(fs) != 1 || fs[0].Vars.ID != "00000000-0000-4000-8000-000000000003" || !strings.Contains(fs[0].LastError, "queue full") {
		t.Errorf("failures %+v, want the third for a full queue", fs)
	}
	close(g.release)
	waitFor(t, "deliveries", func() bool { return f.s.Stats().Delivered == 2 })
}

// TestQueueBytes: a recipient that does not answer holds at most
// QueueBytes of callbacks; those over it fail at once, and room comes back
// as callbacks end.
func TestQueueBytes(t *testing.T) {
	g := newGate()
	ts := newServer(t, g)
	cfg := testConfig()
	cfg.Concurrency, cfg.QueueSize = 1, 100
	big := func(i int) *Request {
		r := transferPut(fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
		r.Body = bytes.Repeat([]byte("x"), 10_000)
		return r
	}
	small := transferPut("00000000-0000-4000-8000-000000000006")
	// Three large ones fit, and a small one beside them; a fourth large
	// one does not.
	cfg.QueueBytes = 3*jobSize(big(0)) + jobSize(small)
	f := newFixture(t, cfg, ts.URL)
	f.s.Send(big(1))
	waitFor(t, "first call at the server", func() bool { return g.now.Load() == 1 })
	for i := 2; i <= 5; i++ {
		f.s.Send(big(i))
	}
	if st := f.s.Stats(); st.Failed != 2 || st.Queued != 2 || st.InFlight != 1 {
		t.Errorf("Stats = %+v, want 2 failed, 2 queued, 1 in flight", st)
	}
	fs := f.failures("dfsp1")
	if len(fs) != 2 || !errors.Is(ErrQueueBytes, ErrQueueFull) || !strings.Contains(fs[0].LastError, ErrQueueBytes.Error()) {
		t.Errorf("failures %+v, want two for the memory bound", fs)
	}
	f.s.Send(small)
	if st := f.s.Stats(); st.Failed != 2 {
		t.Errorf("a small callback failed: %+v", st)
	}
	close(g.release)
	waitFor(t, "deliveries", func() bool { return f.s.Stats().Delivered == 4 })
	// All ended: the whole budget is free again.
	for i := 7; i <= 9; i++ {
		f.s.Send(big(i))
	}
	waitFor(t, "deliveries", func() bool { return f.s.Stats().Delivered == 7 })
	if st := f.s.Stats(); st.Failed != 2 {
		t.Errorf("Stats = %+v, want no more failures once the budget is free", st)
	}
}

// TestQueueBytesReleased: every way a callback ends gives its bytes back
// to its recipient's QueueBytes: refused, failed after its retries,
// redelivered and delivered, abandoned in flight, queued or waiting for a
// retry at Close.
func TestQueueBytesReleased(t *testing.T) {
	held := func(s *Sender, to string) int64 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if p := s.peers[to]; p != nil {
			return p.bytes.Load()
		}
		return 0
	}
	srv := server{answer: []int{400, 500, 500, 500}}
	ts := newServer(t, &srv)
	cfg := testConfig()
	cfg.Concurrency = 1
	f := newFixture(t, cfg, ts.URL)
	f.s.Send(transferPut("00000000-0000-4000-8000-000000000001")) // 400: no retry
	f.s.Send(transferPut("00000000-0000-4000-8000-000000000002")) // 500 three times
	waitFor(t, "two failures", func() bool { return f.s.Stats().Failed == 2 })
	if got := held(f.s, "dfsp1"); got != 0 {
		t.Errorf("after two failures %d bytes held, want 0", got)
	}
	fs := f.failures("dfsp1")
	if len(fs) != 2 {
		t.Fatalf("%d failures, want 2", len(fs))
	}
	if err := f.s.Redeliver(context.Background(), "dfsp1", fs[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "redelivery", func() bool { return f.s.Stats().Delivered == 1 })
	if got := held(f.s, "dfsp1"); got != 0 {
		t.Errorf("after a redelivery %d bytes held, want 0", got)
	}

	// At Close: one call in flight and two queued for dfsp1, one retry
	// waiting for dfsp2, which is down.
	f = closingScene(t, cfg)
	if held(f.s, "dfsp1") == 0 || held(f.s, "dfsp2") == 0 {
		t.Fatalf("nothing held before Close: %d, %d", held(f.s, "dfsp1"), held(f.s, "dfsp2"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.s.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want context.Canceled", err)
	}
	for _, to := range []string{"dfsp1", "dfsp2"} {
		if got := held(f.s, to); got != 0 {
			t.Errorf("after Close %d bytes of %s held, want 0", got, to)
		}
	}
}

func TestConcurrencyBound(t *testing.T) {
	g := newGate()
	ts := newServer(t, g)
	cfg := testConfig()
	cfg.Concurrency = 4
	f := newFixture(t, cfg, ts.URL)
	// Another participant's calls do not count against dfsp1's bound.
	if err := f.eps.SetBase(context.Background(), "dfsp2", ts.URL); err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := range n {
		r := transferPut(fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
		if i%2 == 1 {
			r.To = "dfsp2"
		}
		f.s.Send(r)
	}
	waitFor(t, "both participants' bounds reached", func() bool { return g.now.Load() == 2*int64(cfg.Concurrency) })
	if st := f.s.Stats(); st.InFlight != 2*int64(cfg.Concurrency) || st.Queued != n-2*int64(cfg.Concurrency) {
		t.Errorf("Stats = %+v, want %d in flight and the rest queued", st, 2*cfg.Concurrency)
	}
	close(g.release)
	waitFor(t, "deliveries", func() bool { return f.s.Stats().Delivered == n })
	if got, limit := g.most.Load(), 2*int64(cfg.Concurrency); got > limit {
		t.Errorf("server held %d calls at once, want at most %d", got, limit)
	}
}

func TestConcurrencyBoundOneParticipant(t *testing.T) {
	// Each call is held a short while; the server counts the most at once.
	var now, most atomic.Int64
	ts := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(200 * time.Microsecond)
		now.Add(-1)
	}))
	cfg := testConfig()
	cfg.Concurrency = 3
	cfg.QueueSize = 1000
	f := newFixture(t, cfg, ts.URL)
	const n = 500
	for i := range n {
		f.s.Send(transferPut(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)))
	}
	waitFor(t, "deliveries", func() bool { return f.s.Stats().Delivered == n })
	if got := most.Load(); got > int64(cfg.Concurrency) {
		t.Errorf("server held %d calls at once, want at most %d", got, cfg.Concurrency)
	}
}

func TestCloseDrains(t *testing.T) {
	var srv server
	ts := newServer(t, &srv)
	srv.answer = []int{503} // one retry in the middle of the drain
	cfg := testConfig()
	cfg.QueueSize = 1000
	f := newFixture(t, cfg, ts.URL)
	const n = 200
	for i := range n {
		f.s.Send(transferPut(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)))
	}
	if err := f.s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := f.s.Stats(); st.Delivered != n || st.Failed != 0 || st.Queued != 0 || st.Waiting != 0 || st.InFlight != 0 {
		t.Errorf("Stats after Close = %+v, want %d delivered and nothing left", st, n)
	}
	if got := srv.calls.Load(); got != n+1 {
		t.Errorf("server called %d times, want %d", got, n+1)
	}
	// Closed: sends are recorded as failed, and Close says so again.
	f.s.Send(transferPut(transferID))
	fs := f.failures("dfsp1")
	if len(fs) != 1 || !strings.Contains(fs[0].LastError, "closed") {
		t.Errorf("failures after Close %+v, want one for the closed sender", fs)
	}
	if err := f.s.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if err := f.s.Redeliver(context.Background(), "dfsp1", fs[0].ID); !errors.Is(err, ErrClosed) {
		t.Errorf("Redeliver after Close = %v, want ErrClosed", err)
	}
}

// closingScene returns a Sender with work of every kind under way: for
// dfsp1, one call held at its server and two queued; for dfsp2, which is
// down, one callback waiting an hour for its retry. cfg.Concurrency must
// be 1.
func closingScene(t *testing.T, cfg Config) *fixture {
	t.Helper()
	g := newGate()
	ts := newServer(t, g)
	t.Cleanup(func() { close(g.release) })
	f := newFixture(t, cfg, ts.URL)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	if err := f.eps.SetBase(context.Background(), "dfsp2", down); err != nil {
		t.Fatal(err)
	}
	f.s.cfg.Backoff, f.s.cfg.MaxBackoff = time.Hour, time.Hour
	r := transferPut(transferID)
	r.To = "dfsp2"
	f.s.Send(r)
	for i := range 3 {
		f.s.Send(transferPut(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)))
	}
	waitFor(t, "a call at the server and a retry waiting", func() bool {
		return g.now.Load() == 1 && f.s.Stats().Waiting == 1
	})
	return f
}

func TestCloseAbandons(t *testing.T) {
	cfg := testConfig()
	cfg.Concurrency = 1
	f := closingScene(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := f.s.Close(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want context.Canceled", err)
	}
	if st := f.s.Stats(); st.Failed != 4 || st.Delivered != 0 || st.Queued != 0 || st.Waiting != 0 || st.InFlight != 0 {
		t.Errorf("Stats after Close = %+v, want 4 failed and nothing left", st)
	}
	if fs := f.failures("dfsp1"); len(fs) != 3 {
		t.Errorf("dfsp1 has %d failures, want 3", len(fs))
	}
	fs := f.failures("dfsp2")
	if len(fs) != 1 || fs[0].Attempts != 1 || !strings.Contains(fs[0].LastError, "closed") {
		t.Errorf("dfsp2 failures %+v, want one abandoned after 1 attempt", fs)
	}
}

func TestRedeliver(t *testing.T) {
	srv := server{answer: []int{500}}
	ts := newServer(t, &srv)
	cfg := testConfig()
	cfg.Attempts = 1
	f := newFixture(t, cfg, ts.URL)
	ctx := context.Background()
	r := transferPut(transferID)
	f.s.Send(r)
	waitFor(t, "failure", func() bool { return f.s.Stats().Failed == 1 })
	fs := f.failures("dfsp1")
	if len(fs) != 1 {
		t.Fatalf("%d failures, want 1", len(fs))
	}
	id := fs[0].ID

	// With no endpoint, the record stays.
	if err := f.eps.Delete(ctx, "dfsp1", TransferPut); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Redeliver(ctx, "dfsp1", id); !errors.Is(err, ErrNoEndpoint) {
		t.Fatalf("Redeliver with no endpoint = %v, want ErrNoEndpoint", err)
	}
	if got := f.failures("dfsp1"); len(got) != 1 {
		t.Fatalf("record gone after a refused Redeliver")
	}

	// The participant fixed its endpoint: the callback goes there.
	var fixed server
	ts2 := newServer(t, &fixed)
	if err := f.eps.Set(ctx, "dfsp1", TransferPut, ts2.URL+"/cb/{{transferId}}"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Redeliver(ctx, "dfsp1", id); err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	waitFor(t, "redelivery", func() bool { return f.s.Stats().Delivered == 1 })
	got := fixed.received()
	if len(got) != 1 || got[0].path != "/cb/"+transferID || !bytes.Equal(got[0].body, r.Body) ||
		got[0].header.Get("FSPIOP-Source") != "hub" {
		t.Errorf("fixed endpoint got %+v", got)
	}
	if got := f.failures("dfsp1"); len(got) != 0 {
		t.Errorf("failures after Redeliver %+v, want none", got)
	}
	if err := f.s.Redeliver(ctx, "dfsp1", id); !errors.Is(err, ErrFailureNotFound) {
		t.Errorf("second Redeliver = %v, want ErrFailureNotFound", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("g", idLen)} {
		if err := f.s.Redeliver(ctx, "dfsp1", bad); !errors.Is(err, ErrFailureNotFound) {
			t.Errorf("Redeliver(%q) = %v, want ErrFailureNotFound", bad, err)
		}
	}

	// Failing again records it again, under a new id.
	if err := f.eps.Set(ctx, "dfsp1", TransferPut, ts.URL+"/again"); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	srv.answer = []int{404, 404}
	srv.mu.Unlock()
	f.s.Send(r)
	waitFor(t, "second failure", func() bool { return f.s.Stats().Failed == 2 })
	fs = f.failures("dfsp1")
	if len(fs) != 1 {
		t.Fatalf("%d failures, want 1", len(fs))
	}
	if err := f.s.Redeliver(ctx, "dfsp1", fs[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "third failure", func() bool { return f.s.Stats().Failed == 3 })
	fs2 := f.failures("dfsp1")
	if len(fs2) != 1 || fs2[0].ID == fs[0].ID || fs2[0].URL != ts.URL+"/again" || fs2[0].LastStatus != 404 {
		t.Errorf("re-recorded failures %+v, want one new record", fs2)
	}
}

func TestFailuresPaging(t *testing.T) {
	f := newFixture(t, testConfig(), "")
	fake := f.s.cfg.Clock.(*clock.Fake)
	const n = 23
	for i := range n {
		if i%3 == 0 {
			fake.Advance(time.Second) // some share a time
		}
		f.s.Send(transferPut(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)))
	}
	f.s.Send(&Request{To: "dfsp2", Kind: TransferPut})
	var ids []string
	cursor := ""
	for page := 0; ; page++ {
		fs, next, err := f.s.Failures(context.Background(), "dfsp1", cursor, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) > 5 || next != "" && len(fs) != 5 {
			t.Fatalf("page %d has %d failures and next %q", page, len(fs), next)
		}
		for _, fl := range fs {
			ids = append(ids, fl.Vars.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(ids) != n {
		t.Fatalf("pages hold %d failures, want %d", len(ids), n)
	}
	for i, id := range ids {
		if want := fmt.Sprintf("00000000-0000-4000-8000-%012d", n-1-i); id != want {
			t.Errorf("failure %d is %s, want %s (newest first)", i, id, want)
		}
	}
	for _, bad := range []string{"x", strings.Repeat("G", idLen), strings.Repeat("0", idLen+1)} {
		if _, _, err := f.s.Failures(context.Background(), "dfsp1", bad, 5); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("Failures with cursor %q = %v, want ErrInvalidCursor", bad, err)
		}
	}
}

// TestScanAfter checks the prefix walk against a sorted list, on random
// keys.
func TestScanAfter(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	kv, _ := openStore(t, t.TempDir())
	ctx := context.Background()
	var keys []string
	var b storekv.Batch
	randomID := func() string {
		// Few digits in use, so that keys share long prefixes.
		var sb strings.Builder
		for range idLen {
			sb.WriteByte(hex[rng.IntN(3)*7])
		}
		return sb.String()
	}
	for range 300 {
		id := randomID()
		if !slices.Contains(keys, id) {
			keys = append(keys, id)
			b.Set([]byte("cbf/p/"+id), []byte("{}"))
		}
	}
	b.Set([]byte("cbf/q/"+keys[0]), []byte("{}")) // another participant
	if err := kv.Apply(ctx, &b); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	for i := range 200 {
		after := keys[rng.IntN(len(keys))]
		if i%4 == 0 {
			after = randomID() // not necessarily a key
		}
		limit := 1 + rng.IntN(40)
		var got []string
		err := scanAfter(ctx, kv, "cbf/p/", after, limit, func(key, _ []byte) error {
			got = append(got, string(key[len("cbf/p/"):]))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, k := range keys {
			if k > after && len(want) < limit {
				want = append(want, k)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("scanAfter(%s, %d) = %v, want %v", after, limit, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"default", DefaultConfig(), true},
		{"negative timeout", Config{Timeout: -1}, false},
		{"negative attempts", Config{Attempts: -1}, false},
		{"negative backoff", Config{Backoff: -1}, false},
		{"negative max backoff", Config{MaxBackoff: -1}, false},
		{"negative concurrency", Config{Concurrency: -1}, false},
		{"negative queue", Config{QueueSize: -1}, false},
		{"negative queue bytes", Config{QueueBytes: -1}, false},
		{"negative failure retention", Config{FailureRetention: -1}, false},
		{"negative max failures", Config{MaxFailures: -1}, false},
		{"negative prune every", Config{PruneEvery: -1}, false},
		{"max below backoff", Config{Backoff: time.Second, MaxBackoff: time.Millisecond}, false},
		{"backoff above default max", Config{Backoff: time.Minute}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate = %v, want ok %v", err, tt.ok)
			}
		})
	}
	eps, kv := newEndpoints(t)
	if _, err := NewSender(Config{Attempts: -1}, eps, kv); err == nil {
		t.Errorf("NewSender accepted an invalid config")
	}
}

func TestBackoff(t *testing.T) {
	s := &Sender{cfg: Config{Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}}
	for n, max := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		max *= time.Millisecond
		for range 50 {
			if d := s.backoff(n + 1); d < max/2 || d > max {
				t.Fatalf("backoff(%d) = %v, want %v to %v", n+1, d, max/2, max)
			}
		}
	}
}

func BenchmarkSend(b *testing.B) {
	ts := newServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	cfg := DefaultConfig()
	cfg.Logger = quiet
	f := newFixture(b, cfg, ts.URL)
	reqs := make([]*Request, 1024)
	for i := range reqs {
		reqs[i] = transferPut(fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// Keep the queue from overflowing: the benchmark measures
		// delivery, not refusal.
		for f.s.Stats().Queued >= int64(cfg.QueueSize)/2 {
			time.Sleep(50 * time.Microsecond)
		}
		f.s.Send(reqs[i%len(reqs)])
	}
	for f.s.Stats().Delivered+f.s.Stats().Failed < uint64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	if st := f.s.Stats(); st.Failed != 0 {
		b.Fatalf("Stats = %+v, want no failures", st)
	}
}

func BenchmarkResolve(b *testing.B) {
	eps, _ := newEndpoints(b)
	if err := eps.SetBase(context.Background(), "dfsp1", "http://dfsp1:4000"); err != nil {
		b.Fatal(err)
	}
	r := transferPut(transferID)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eps.Resolve(r); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCloseIdle(t *testing.T) {
	f := newFixture(t, testConfig(), "http://127.0.0.1:1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Nothing to wait for: an ended context gives nothing up.
	if err := f.s.Close(ctx); err != nil {
		t.Errorf("Close of an idle sender = %v, want nil", err)
	}
}
