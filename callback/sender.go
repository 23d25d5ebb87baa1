package callback

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
	"github.com/valyala/fasthttp"
)

// ErrClosed is returned by Close and Redeliver after Close, and recorded as
// the reason of callbacks sent after Close.
var ErrClosed = errors.New("callback: sender closed")

// ErrQueueFull is returned by Redeliver, and recorded as the reason of a
// callback, when the recipient's queue has no room.
var ErrQueueFull = errors.New("callback: queue full")

// ErrQueueBytes is returned by Redeliver, and recorded as the reason of a
// callback, when the recipient's callbacks not yet delivered already take
// Config.QueueBytes. It wraps ErrQueueFull.
var ErrQueueBytes = fmt.Errorf("%w: the recipient's callbacks not yet delivered take the most memory allowed", ErrQueueFull)

// Vars are the values a request's endpoint template may name.
type Vars struct {
	// ID fills {{transferId}} and {{requestId}}.
	ID string
	// PartyIDType fills {{partyIdType}}.
	PartyIDType string
	// PartyIdentifier fills {{partyIdentifier}}.
	PartyIdentifier string
	// PartySubIDOrType fills {{partySubIdOrType}}.
	PartySubIDOrType string
}

// Request is one outbound call. The Sender owns it from Send on: the caller
// must not change it, its Header or its Body afterwards.
type Request struct {
	// To is the recipient participant's id.
	To string
	// Kind selects the recipient's endpoint.
	Kind Kind
	// Method is GET, PUT, POST or PATCH.
	Method string
	// Path is the standard FSPIOP path of the call, such as
	// "/transfers/<id>/error". It is appended to the endpoint of the base
	// kinds, and recorded with a failure.
	Path string
	// Vars fill the endpoint's template.
	Vars Vars
	// Header is sent as given: Content-Type, Accept, Date, FSPIOP-Source,
	// FSPIOP-Destination, FSPIOP-Signature, FSPIOP-URI, FSPIOP-HTTP-Method,
	// traceparent and so on. The Sender sets Content-Length itself.
	Header http.Header
	// Body is sent byte for byte; nil for a GET.
	Body []byte
	// Done, when set, is called once the request is delivered or once its
	// failure is stored, and for a recipient that is no participant id
	// (it can never be delivered; it is logged and counted). It is not
	// called when the failure could not be stored (the store of failures
	// backed up or failing), nor when the Sender gives the request up at
	// Close, which then records no failure for it: in those cases its
	// owner keeps it and sends it again after a restart. Done must not
	// block.
	Done func()
}

// Config configures a Sender. A zero field takes its default.
type Config struct {
	// Timeout bounds one attempt, from dialling to reading the response.
	// Default 10s.
	Timeout time.Duration
	// Attempts is the most times a callback is sent before it is recorded
	// as failed. Default 5.
	Attempts int
	// Backoff is the wait before the first retry. Each retry waits twice
	// as long as the one before, up to MaxBackoff, less a random part of up
	// to half of it so that retries spread out. Default 200ms.
	Backoff time.Duration
	// MaxBackoff caps the wait before a retry. Default 5s.
	MaxBackoff time.Duration
	// Concurrency is the most calls in flight to one participant at a
	// time. Default 64.
	Concurrency int
	// QueueSize is how many callbacks may wait for one participant; a
	// callback sent when its recipient's queue is full is recorded as
	// failed at once. Default 16384.
	QueueSize int
	// QueueBytes bounds the memory of one participant's callbacks not yet
	// delivered (queued, in flight or waiting for a retry), counting each
	// body and its headers: a participant that stops answering cannot
	// take more. A callback over it is recorded as failed at once, as with
	// a full queue. Default 64 MiB.
	QueueBytes int64
	// TLS configures calls to https endpoints: the client certificate of
	// mutual TLS and the authorities participants' servers are checked
	// against. Default: the system's roots, no client certificate.
	TLS *tls.Config
	// FailureRetention is how long a failed callback stays listed for the
	// operator: one whose Last time is further back than this, by the
	// Clock, is dropped by the next pruning pass. Default 30 days.
	FailureRetention time.Duration
	// MaxFailures is the most failed callbacks kept for one participant:
	// once more are stored, the oldest beyond it are dropped. Default
	// 100,000.
	MaxFailures int
	// PruneEvery is how often a pass drops, for every participant, the
	// failed callbacks past FailureRetention (and any beyond MaxFailures
	// left by an earlier run). Default 1 minute.
	PruneEvery time.Duration
	// Clock stamps failures and tells their age against
	// FailureRetention. Default clock.Real{}. Retry waits and PruneEvery
	// use real timers whatever the clock.
	Clock clock.Clock
	// Logger receives a warning for every failed callback. Default
	// slog.Default().
	Logger *slog.Logger
	// OnFailure, when set, is called with every callback that could not
	// be delivered (not those abandoned at Close), as it is recorded: the
	// sender of a request the recipient never got can then be told. It is
	// called from Send or from a delivery goroutine and must not block.
	OnFailure func(*Failure)
}

// DefaultConfig returns the default configuration.
func DefaultConfig() Config {
	return Config{
		Timeout:     10 * time.Second,
		Attempts:    5,
		Backoff:     200 * time.Millisecond,
		MaxBackoff:  5 * time.Second,
		Concurrency: 64,
		QueueSize:   16384,
		QueueBytes:  64 << 20,
		// An outage of weeks stays listed for the operator; the bound
		// caps what one participant's failures take of the store.
		FailureRetention: 30 * 24 * time.Hour,
		MaxFailures:      100_000,
		PruneEvery:       time.Minute,
		Clock:            clock.Real{},
		Logger:           slog.Default(),
	}
}

// Validate reports a field no default can stand in for: a negative one, or
// a MaxBackoff below Backoff.
func (c Config) Validate() error {
	switch {
	case c.Timeout < 0:
		return fmt.Errorf("callback: Timeout %v is negative", c.Timeout)
	case c.Attempts < 0:
		return fmt.Errorf("callback: Attempts %d is negative", c.Attempts)
	case c.Backoff < 0:
		return fmt.Errorf("callback: Backoff %v is negative", c.Backoff)
	case c.MaxBackoff < 0:
		return fmt.Errorf("callback: MaxBackoff %v is negative", c.MaxBackoff)
	case c.Concurrency < 0:
		return fmt.Errorf("callback: Concurrency %d is negative", c.Concurrency)
	case c.QueueSize < 0:
		return fmt.Errorf("callback: QueueSize %d is negative", c.QueueSize)
	case c.QueueBytes < 0:
		return fmt.Errorf("callback: QueueBytes %d is negative", c.QueueBytes)
	case c.FailureRetention < 0:
		return fmt.Errorf("callback: FailureRetention %v is negative", c.FailureRetention)
	case c.MaxFailures < 0:
		return fmt.Errorf("callback: MaxFailures %d is negative", c.MaxFailures)
	case c.PruneEvery < 0:
		return fmt.Errorf("callback: PruneEvery %v is negative", c.PruneEvery)
	}
	f := c
	f.fill()
	if f.MaxBackoff < f.Backoff {
		return fmt.Errorf("callback: MaxBackoff %v is less than Backoff %v", f.MaxBackoff, f.Backoff)
	}
	return nil
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.Attempts == 0 {
		c.Attempts = d.Attempts
	}
	if c.Backoff == 0 {
		c.Backoff = d.Backoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(d.MaxBackoff, c.Backoff)
	}
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	if c.QueueSize == 0 {
		c.QueueSize = d.QueueSize
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = d.QueueBytes
	}
	if c.FailureRetention == 0 {
		c.FailureRetention = d.FailureRetention
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = d.MaxFailures
	}
	if c.PruneEvery == 0 {
		c.PruneEvery = d.PruneEvery
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
}

// newClient returns the Sender's HTTP client: fasthttp, which costs about
// half the CPU of net/http per call. It keeps connections alive for 90 s,
// follows no redirects, uses no proxy, bounds dialling to 5 s and the TLS
// handshake to the Timeout. The workers bound the calls to each
// participant, so the client does not bound them per host; it waits for a
// connection rather than failing.
func newClient(cfg *Config, dial *dialer) *fasthttp.Client {
	return &fasthttp.Client{
		DialTimeout:              dial.dial,
		TLSConfig:                cfg.TLS,
		MaxConnsPerHost:          1 << 16,
		MaxConnWaitTimeout:       cfg.Timeout,
		MaxIdleConnDuration:      90 * time.Second,
		MaxResponseBodySize:      drainLimit,
		NoDefaultUserAgentHeader: true,
		// Without a write timeout fasthttp leaves the TLS handshake to
		// the first write, under the request's write deadline only: a
		// server that never answers the handshake would hold the
		// attempt forever. With one, the handshake is bounded by it.
		WriteTimeout: cfg.Timeout,
		// Endpoints escape what they fill in; fasthttp's normalizing
		// would turn an escaped slash in a party id into a path
		// separator.
		DisablePathNormalizing: true,
		// Retries are the Sender's, with backoff and a record of each;
		// fasthttp sends again only a call that went out on a
		// connection found dead, once, at once. (A server that took the
		// call and closed without answering gets it twice in a row; the
		// Sender would have sent it again anyway.)
		MaxIdemponentCallAttempts: 2,
		RetryIfErr: func(_ *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
			return false, attempts == 1 && deadConn(err) && !dial.isClosed()
		},
	}
}

// deadConn reports whether err says that a call went out on a connection
// the other end had closed: the request could not be written, or not a
// byte of an answer came. fasthttp keeps idle connections without reading
// them, so it learns that a participant's server closed one (as Node.js
// does after 5 s idle, and any server after its idle timeout) only when it
// next uses it; net/http notices at once and never uses it again.
func deadConn(err error) bool {
	if err == io.EOF || err == fasthttp.ErrConnectionClosed {
		// fasthttp's answer when the first byte of the answer could
		// not be read, for any reason but a timeout.
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "write" &&
		(errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET))
}

// dialer opens the client's connections and keeps track of them, so that
// Close can end the calls in flight when it gives up waiting.
type dialer struct {
	mu     sync.Mutex // guards the fields below
	conns  map[*trackedConn]struct{}
	closed bool
}

type trackedConn struct {
	net.Conn
	d    *dialer
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.d.mu.Lock()
		delete(c.d.conns, c)
		c.d.mu.Unlock()
	})
	return c.Conn.Close()
}

func (d *dialer) dial(addr string, timeout time.Duration) (net.Conn, error) {
	nd := net.Dialer{Timeout: min(timeout, 5*time.Second), KeepAlive: 30 * time.Second}
	nc, err := nd.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &trackedConn{Conn: nc, d: d}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		nc.Close()
		return nil, ErrClosed
	}
	d.conns[c] = struct{}{}
	return c, nil
}

// isClosed reports whether closeAll has been called.
func (d *dialer) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// closeAll closes every connection and refuses new ones.
func (d *dialer) closeAll() {
	d.mu.Lock()
	d.closed = true
	conns := d.conns
	d.conns = nil
	d.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// Stats counts a Sender's work since it started.
type Stats struct {
	Delivered  uint64 // callbacks answered with a 2xx
	Retried    uint64 // attempts after a callback's first
	Failed     uint64 // callbacks given up on
	Unrecorded uint64 // failed callbacks that could not be stored (logged only)
	// FailuresDropped counts stored failures dropped past
	// FailureRetention or beyond MaxFailures (each pass logged).
	FailuresDropped uint64
	Queued          int64 // callbacks waiting in queues
	Waiting         int64 // callbacks waiting to be retried
	InFlight        int64 // attempts in progress
}

type counters struct {
	delivered, retried, failed, unrecorded atomic.Uint64
	failuresDropped                        atomic.Uint64
	queued, waiting, inFlight              atomic.Int64
}

// job is a callback on its way.
type job struct {
	req      *Request
	p        *peer // set once queued
	size     int64 // counted in p.bytes while queued
	url      string
	first    time.Time
	attempts int
	status   int    // last HTTP status, 0 for none
	err      string // why the last attempt failed
}

// peer is one recipient's queue and workers.
type peer struct {
	s     *Sender
	queue chan *job
	// running counts the workers started, which stay until Close; idle
	// those waiting for a job.
	running, idle atomic.Int32
	// bytes is the size of the jobs taken and not yet ended.
	bytes atomic.Int64

	mu     sync.Mutex // guards the field below
	timers map[*job]*time.Timer
}

// Sender delivers callbacks. It is safe for concurrent use. Close it before
// closing the store its KV belongs to.
type Sender struct {
	cfg    Config
	eps    *Endpoints
	kv     store.KV
	client *fasthttp.Client
	dial   *dialer
	log    *slog.Logger
	stats  counters

	abandoning atomic.Bool   // Close gave up waiting: record, don't send
	abandoned  atomic.Int64  // callbacks recorded as abandoned
	stop       chan struct{} // closed to end the workers

	jobs    sync.WaitGroup // a callback from Send until its outcome
	workers sync.WaitGroup

	mu     sync.RWMutex // guards the fields below
	closed bool
	peers  map[string]*peer

	recorder
	pruner
}

// NewSender returns a Sender of callbacks to the endpoints in eps, recording
// failures in kv.
func NewSender(cfg Config, eps *Endpoints, kv store.KV) (*Sender, error) {
	return newSender(cfg, eps, kv, nil)
}

// newSender is NewSender with the ticks of the pruning pass given: nil for
// a ticker of cfg.PruneEvery.
func newSender(cfg Config, eps *Endpoints, kv store.KV, tick <-chan time.Time) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if eps == nil || kv == nil {
		return nil, errors.New("callback: NewSender needs endpoints and a KV")
	}
	cfg.fill()
	s := &Sender{cfg: cfg, eps: eps, kv: kv, log: cfg.Logger,
		dial: &dialer{conns: make(map[*trackedConn]struct{})},
		stop: make(chan struct{}), peers: make(map[string]*peer)}
	s.client = newClient(&cfg, s.dial)
	s.startRecorder()
	s.startPruning(tick)
	return s, nil
}

// Send queues r for delivery to r.To and returns at once; it never waits.
// When r.To has no endpoint of r.Kind, its queue is full or the Sender is
// closed, r is recorded as failed at once.
func (s *Sender) Send(r *Request) {
	j := &job{req: r, first: s.cfg.Clock.Now()}
	if !ledger.ValidParticipantID(r.To) {
		s.stats.failed.Add(1)
		s.stats.unrecorded.Add(1)
		s.log.Warn("callback: not sent: invalid recipient", "to", truncate(r.To, 64), "type", r.Kind, "method", r.Method, "path", r.Path)
		if r.Done != nil {
			r.Done()
		}
		return
	}
	url, err := s.eps.Resolve(r)
	if err != nil {
		j.err = err.Error()
		s.failNow(j)
		return
	}
	j.url = url
	if err := s.enqueue(j); err != nil {
		j.err = err.Error()
		s.failNow(j)
	}
}

// peer returns to's peer, creating it.
func (s *Sender) peer(to string) *peer {
	s.mu.RLock()
	p := s.peers[to]
	s.mu.RUnlock()
	if p != nil {
		return p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p = s.peers[to]; p == nil {
		p = &peer{s: s, queue: make(chan *job, s.cfg.QueueSize), timers: make(map[*job]*time.Timer)}
		s.peers[to] = p
	}
	return p
}

// enqueue puts j on its recipient's queue. On success j counts in s.jobs
// until its outcome.
func (s *Sender) enqueue(j *job) error {
	p := s.peer(j.req.To)
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	j.p, j.size = p, jobSize(j.req)
	if p.bytes.Add(j.size) > s.cfg.QueueBytes {
		p.bytes.Add(-j.size)
		s.mu.RUnlock()
		return ErrQueueBytes
	}
	s.jobs.Add(1)
	s.stats.queued.Add(1)
	select {
	case p.queue <- j:
	default:
		s.stats.queued.Add(-1)
		s.end(j)
		s.mu.RUnlock()
		return ErrQueueFull
	}
	s.mu.RUnlock()
	if p.idle.Load() == 0 {
		p.spawn()
	}
	return nil
}

// spawn starts a worker unless Concurrency of them run already.
func (p *peer) spawn() {
	for {
		n := p.running.Load()
		if int(n) >= p.s.cfg.Concurrency {
			return
		}
		if p.running.CompareAndSwap(n, n+1) {
			p.s.workers.Add(1)
			go p.work()
			return
		}
	}
}

// drainLimit is the most of a response body read; a longer one ends its
// connection.
const drainLimit = 64 << 10

// work delivers p's callbacks until Close.
func (p *peer) work() {
	s := p.s
	defer s.workers.Done()
	for {
		p.idle.Add(1)
		select {
		case j := <-p.queue:
			p.idle.Add(-1)
			s.stats.queued.Add(-1)
			// More waiting and nobody free: start a sibling, so that a
			// burst grows the workers up to Concurrency.
			if len(p.queue) > 0 && p.idle.Load() == 0 {
				p.spawn()
			}
			p.deliver(j)
		case <-s.stop:
			p.idle.Add(-1)
			return
		}
	}
}

// deliver makes one attempt of j and decides what follows.
func (p *peer) deliver(j *job) {
	s := p.s
	if s.abandoning.Load() {
		s.abandon(j)
		return
	}
	j.attempts++
	if j.attempts > 1 {
		s.stats.retried.Add(1)
	}
	s.stats.inFlight.Add(1)
	ok, retry := s.attempt(j)
	s.stats.inFlight.Add(-1)
	if ok {
		s.stats.delivered.Add(1)
		if j.req.Done != nil {
			j.req.Done()
		}
		s.end(j)
		return
	}
	if s.abandoning.Load() {
		s.abandon(j)
		return
	}
	if retry && j.attempts < s.cfg.Attempts {
		p.retryLater(j, s.backoff(j.attempts))
		return
	}
	s.fail(j)
}

// attempt sends j once. ok is whether it was delivered; if not, j.status
// and j.err say why, and retry whether another attempt may succeed.
func (s *Sender) attempt(j *job) (ok, retry bool) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer func() {
		// The body is j's, shared with its failure record: detach it
		// before the request goes back to the pool.
		req.SetBodyRaw(nil)
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}()
	req.SetRequestURI(j.url)
	req.Header.SetMethod(j.req.Method)
	for k, vs := range j.req.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if j.req.Body != nil {
		req.SetBodyRaw(j.req.Body)
	}
	err := s.client.DoTimeout(req, resp, s.cfg.Timeout)
	status := resp.StatusCode()
	if err != nil && !errors.Is(err, fasthttp.ErrBodyTooLarge) {
		// A body longer than drainLimit comes after a status line that
		// was read: the status holds, whatever the body. Anything else
		// failed on the way.
		j.status, j.err = 0, err.Error()
		if s.abandoning.Load() {
			j.err = "call ended: " + j.err
		}
		return false, true
	}
	j.status = status
	if status >= 200 && status < 300 {
		return true, false
	}
	// Failures are rare: keep the start of what the participant said.
	body := resp.Body()
	j.err = fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	if n := min(len(body), 512); n > 0 {
		j.err += ": " + string(bytes.ToValidUTF8(body[:n], []byte("?")))
	}
	switch {
	case status >= 500, status == http.StatusTooManyRequests, status == http.StatusRequestTimeout:
		return false, true
	}
	return false, false
}

// backoff is the wait after attempt n (1 for the first).
func (s *Sender) backoff(n int) time.Duration {
	d := s.cfg.Backoff
	for i := 1; i < n && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxBackoff)
	if half := int64(d / 2); half > 0 {
		d -= time.Duration(rand.Int64N(half + 1))
	}
	return d
}

// retryLater puts j back on the queue after d, by a timer: the worker goes
// on to other callbacks meanwhile.
func (p *peer) retryLater(j *job, d time.Duration) {
	s := p.s
	p.mu.Lock()
	defer p.mu.Unlock()
	// Checked under p.mu: Close sets the flag before it stops the timers.
	if s.abandoning.Load() {
		s.abandon(j)
		return
	}
	s.stats.waiting.Add(1)
	p.timers[j] = time.AfterFunc(d, func() { p.retryDue(j) })
}

// retryDue queues j again once its wait is over.
func (p *peer) retryDue(j *job) {
	s := p.s
	p.mu.Lock()
	delete(p.timers, j)
	p.mu.Unlock()
	s.stats.waiting.Add(-1)
	if s.abandoning.Load() {
		s.abandon(j)
		return
	}
	s.stats.queued.Add(1)
	select {
	case p.queue <- j:
	default:
		s.stats.queued.Add(-1)
		j.err = "queue full when due for a retry; last attempt: " + j.err
		s.fail(j)
		return
	}
	if p.idle.Load() == 0 {
		p.spawn()
	}
}

// fail records j as failed, ending it.
func (s *Sender) fail(j *job) {
	f := s.failure(j)
	s.record(f, true)
	if s.cfg.OnFailure != nil {
		s.cfg.OnFailure(f)
	}
	s.end(j)
}

// end ends a queued job: its bytes are free for others.
func (s *Sender) end(j *job) {
	j.p.bytes.Add(-j.size)
	s.jobs.Done()
}

// jobSize is what a callback counts against its recipient's QueueBytes:
// its body, its headers and the Sender's own record of it.
func jobSize(r *Request) int64 {
	n := int64(len(r.Body) + len(r.Path) + 256)
	for k, vs := range r.Header {
		n += int64(len(k))
		for _, v := range vs {
			n += int64(len(v)) + 16
		}
	}
	return n
}

// abandon records j as given up at Close, ending it. A request whose owner
// keeps it (Done set) is only ended: it is sent again after a restart.
func (s *Sender) abandon(j *job) {
	s.abandoned.Add(1)
	if j.req.Done != nil {
		s.end(j)
		return
	}
	if j.err == "" {
		j.err = "sender closed before the callback could be delivered"
	} else {
		j.err = "sender closed before the callback could be delivered; last attempt: " + j.err
	}
	s.fail(j)
}

// failNow records a job that never entered a queue.
func (s *Sender) failNow(j *job) {
	f := s.failure(j)
	s.record(f, false)
	if s.cfg.OnFailure != nil {
		s.cfg.OnFailure(f)
	}
}

func (s *Sender) failure(j *job) *Failure {
	r := j.req
	return &Failure{To: r.To, Kind: r.Kind, Method: r.Method, URL: j.url, Path: r.Path, Vars: r.Vars,
		Attempts: j.attempts, LastStatus: j.status, LastError: j.err,
		First: j.first, Last: s.cfg.Clock.Now(), Header: r.Header, Body: r.Body, done: r.Done}
}

// Stats returns the Sender's counters.
func (s *Sender) Stats() Stats {
	return Stats{
		Delivered:       s.stats.delivered.Load(),
		Retried:         s.stats.retried.Load(),
		Failed:          s.stats.failed.Load(),
		Unrecorded:      s.stats.unrecorded.Load(),
		FailuresDropped: s.stats.failuresDropped.Load(),
		Queued:          s.stats.queued.Load(),
		Waiting:         s.stats.waiting.Load(),
		InFlight:        s.stats.inFlight.Load(),
	}
}

// Close stops taking callbacks (Send records them as failed from then on)
// and waits for those queued, waiting to be retried and in flight to be
// delivered or fail. If ctx ends first, it cancels the attempts in flight,
// records everything left as failed and returns an error wrapping
// ctx.Err(). Failures are all stored, and the periodic pruning pass
// stopped, when Close returns. It returns ErrClosed when called again.
func (s *Sender) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.jobs.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.abandonAll()
		<-done
		// Both may have been ready: only report what was given up.
		if n := s.abandoned.Load(); n > 0 {
			err = fmt.Errorf("callback: close: %d callbacks recorded as failed undelivered: %w", n, ctx.Err())
		}
	}
	close(s.stop)
	s.workers.Wait()
	s.stopPruning()
	s.stopRecorder()
	s.client.CloseIdleConnections()
	return err
}

// abandonAll gives up on every callback left: attempts in flight are
// cancelled and fail, queued ones are recorded by the workers that take
// them, and those waiting for a retry are recorded here.
func (s *Sender) abandonAll() {
	s.abandoning.Store(true)
	// Ends the attempts in flight.
	s.dial.closeAll()
	s.mu.RLock()
	peers := make([]*peer, 0, len(s.peers))
	for _, p := range s.peers {
		peers = append(peers, p)
	}
	s.mu.RUnlock()
	for _, p := range peers {
		p.mu.Lock()
		var stopped []*job
		for j, t := range p.timers {
			// A timer that already fired is running retryDue, which
			// will see the flag.
			if t.Stop() {
				delete(p.timers, j)
				stopped = append(stopped, j)
			}
		}
		p.mu.Unlock()
		for _, j := range stopped {
			s.stats.waiting.Add(-1)
			s.abandon(j)
		}
	}
}
