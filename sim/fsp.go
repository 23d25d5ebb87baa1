package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/internal/httpsrv"
	"github.com/hutong/hutong/money"
)

// FSP is a running simulated FSP: its HTTP server, its customers and its
// payments in flight. Its methods are safe for concurrent use.
type FSP struct {
	cfg      Config
	id       string
	cur      money.Currency
	secret   []byte
	hub      string // HubURL without a trailing '/'
	client   *http.Client
	clock    clock.Clock
	ln       net.Listener
	srv      *httpsrv.Server
	dates    atomic.Pointer[dateCache]
	lastDate atomic.Pointer[string] // the last Date header found valid
	url      string
	events   *events
	stats    counters
	behav    atomic.Pointer[behaviour]
	jobs     chan func(context.Context)
	workers  sync.WaitGroup
	serveWG  sync.WaitGroup
	serveErr error // set by the serving goroutine before serveWG.Done

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	closed chan struct{}
	once   sync.Once

	customers []*customer
	byParty   map[Party]*customer
	byID      map[string]*customer

	mu           sync.Mutex // guards the fields below
	partyWaiters map[Party][]*waiter
	waiters      map[string]*waiter      // quotes, participants, transaction requests, by id
	outgoing     map[string]*outTransfer // transfers sent as payer, by transferId
	reserved     map[string]*inTransfer  // transfers answered RESERVED, by transferId

}

// customer is one account holder of the FSP.
type customer struct {
	party       Party
	first, last string
	balance     atomic.Int64 // minor units
}

func (c *customer) name() string { return c.first + " " + c.last }

func (c *customer) info(fsp string) *PartyInfo {
	return &PartyInfo{
		PartyIDInfo:  c.party.idInfo(fsp),
		Name:         c.name(),
		PersonalInfo: &PersonalInfo{ComplexName: &ComplexName{FirstName: c.first, LastName: c.last}},
	}
}

// debit takes amount from the balance if it covers it.
func (c *customer) debit(amount int64) bool {
	for {
		b := c.balance.Load()
		if b < amount {
			return false
		}
		if c.balance.CompareAndSwap(b, b-amount) {
			return true
		}
	}
}

// Customer is a customer of an FSP as Customers reports it.
type Customer struct {
	Party     Party  // the customer's alias
	FirstName string // first name, sent in personalInfo.complexName
	LastName  string // last name
	Balance   string // balance, an amount in the FSP's currency ("-" first when negative)
}

var (
	sharedClientOnce sync.Once
	sharedClient     *http.Client
)

// SharedClient returns the http.Client FSPs use when Config.Client is nil:
// keep-alive connections, up to 256 idle per host, no compression.
func SharedClient() *http.Client {
	sharedClientOnce.Do(func() {
		tr := &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          4096,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			DisableCompression:    true,
			ResponseHeaderTimeout: 30 * time.Second,
		}
		sharedClient = &http.Client{Transport: tr}
	})
	return sharedClient
}

// Start validates cfg, listens on cfg.Addr and serves the FSP's side of the
// FSPIOP API until Close. ctx bounds only the start.
func Start(ctx context.Context, cfg Config) (*FSP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cur, _ := money.Lookup(cfg.Currency)
	b, _ := cfg.Behaviour.parse(cur)
	f := &FSP{
		cfg:          cfg,
		id:           cfg.ID,
		cur:          cur,
		secret:       cfg.Secret,
		hub:          strings.TrimRight(cfg.HubURL, "/"),
		client:       cfg.Client,
		clock:        cfg.Clock,
		events:       newEvents(cfg.EventBuffer),
		jobs:         make(chan func(context.Context), cfg.Queue),
		closed:       make(chan struct{}),
		byParty:      make(map[Party]*customer, cfg.Customers),
		byID:         make(map[string]*customer, cfg.Customers),
		partyWaiters: make(map[Party][]*waiter),
		waiters:      make(map[string]*waiter),
		outgoing:     make(map[string]*outTransfer),
		reserved:     make(map[string]*inTransfer),
	}
	f.behav.Store(b)
	if f.secret == nil {
		f.secret = DefaultSecret(cfg.ID)
	}
	if f.client == nil {
		f.client = SharedClient()
	}
	if f.clock == nil {
		f.clock = clock.Real{}
	}
	prefix := cfg.AliasPrefix
	if prefix == "" {
		prefix = DefaultAliasPrefix(cfg.ID)
	}
	opening, _ := money.ParseAmount(cfg.Balance, cur)
	f.customers = make([]*customer, cfg.Customers)
	for i := range f.customers {
		c := &customer{party: CustomerAlias(prefix, i+1)}
		c.first, c.last = customerName(i)
		c.balance.Store(opening)
		f.customers[i] = c
		f.byParty[c.party] = c
		f.byID[c.party.ID] = c
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("sim: listen on %s: %w", cfg.Addr, err)
	}
	f.ln = ln
	f.url = "http://" + ln.Addr().String()
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.srv = httpsrv.New(http.HandlerFunc(f.serveHTTP))
	f.srv.MaxHeaderBytes = 64 << 10
	for range cfg.Workers {
		f.workers.Add(1)
		go f.work()
	}
	f.serveWG.Add(1)
	go func() {
		defer f.serveWG.Done()
		if err := f.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			f.serveErr = err
		}
	}()
	return f, nil
}

func (f *FSP) work() {
	defer f.workers.Done()
	for job := range f.jobs {
		job(f.ctx)
	}
}

// later hands job to the workers once in is recorded, waiting while the
// queue is full (or until in's client goes away).
func (f *FSP) later(in *inbound, job func(context.Context)) {
	in.then(func() {
		select {
		case f.jobs <- job:
		case <-in.r.Context().Done():
		}
	})
}

// Close stops the server (waiting for the requests being answered, until
// ctx ends), then the workers; payments in flight fail with ErrClosed.
func (f *FSP) Close(ctx context.Context) error {
	var err error
	f.once.Do(func() {
		close(f.closed)
		err = f.srv.Shutdown(ctx)
		if err != nil {
			f.srv.Close()
		}
		f.serveWG.Wait()
		// No handler runs any more: nobody sends on jobs. The workers
		// finish the queue unless ctx ends first.
		close(f.jobs)
		done := make(chan struct{})
		go func() {
			f.workers.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			f.cancel()
			<-done
		}
		f.cancel()
		if err == nil {
			err = f.serveErr
		}
	})
	return err
}

// ID returns the FSP's id.
func (f *FSP) ID() string { return f.id }

// URL returns the base URL of the FSP's server, e.g.
// "http://127.0.0.1:41234": the callback base to register with the hub.
func (f *FSP) URL() string { return f.url }

// Secret returns the FSP's ILP secret.
func (f *FSP) Secret() []byte { return bytes.Clone(f.secret) }

// Currency returns the FSP's currency code.
func (f *FSP) Currency() string { return f.cur.Code }

// SetBehaviour changes how the FSP answers as payee. It fails, changing
// nothing, if b's Fee or RejectCode is invalid.
func (f *FSP) SetBehaviour(b Behaviour) error {
	p, err := b.parse(f.cur)
	if err != nil {
		return err
	}
	f.behav.Store(p)
	return nil
}

// Behaviour returns how the FSP answers as payee.
func (f *FSP) Behaviour() Behaviour { return f.behav.Load().Behaviour }

// Events returns the newest requests the FSP received, oldest first (at
// most Config.EventBuffer).
func (f *FSP) Events() []Event { return f.events.all() }

// Wait returns the first received request, among those Events still holds
// and those to come, for which match returns true; or ctx's error when
// ctx ends first.
func (f *FSP) Wait(ctx context.Context, match func(Event) bool) (Event, error) {
	return f.events.wait(ctx, match)
}

// Stats returns the FSP's counters.
func (f *FSP) Stats() Stats { return f.stats.snapshot() }

// Customers returns the FSP's customers in order, with their balances.
func (f *FSP) Customers() []Customer {
	out := make([]Customer, len(f.customers))
	for i, c := range f.customers {
		out[i] = f.customerView(c)
	}
	return out
}

// Customer returns the customer whose alias has PartyIdentifier id.
func (f *FSP) Customer(id string) (Customer, bool) {
	c, ok := f.byID[id]
	if !ok {
		return Customer{}, false
	}
	return f.customerView(c), true
}

func (f *FSP) customerView(c *customer) Customer {
	return Customer{Party: c.party, FirstName: c.first, LastName: c.last, Balance: money.FormatAmount(c.balance.Load(), f.cur)}
}

// Payee returns what a payer needs to Transfer to customer p of this FSP
// without a quote.
func (f *FSP) Payee(p Party) Payee { return Payee{FSP: f.id, Secret: f.Secret(), Party: p} }

func (f *FSP) now() time.Time { return f.clock.Now() }

// dateCache holds the Date header of one second.
type dateCache struct {
	sec int64
	s   string
}

// date is the Date header for now, formatted once a second.
func (f *FSP) date() string {
	now := f.now()
	if d := f.dates.Load(); d != nil && d.sec == now.Unix() {
		return d.s
	}
	d := &dateCache{sec: now.Unix(), s: now.UTC().Format(http.TimeFormat)}
	f.dates.Store(d)
	return d.s
}

// isClosed reports whether Close has been called.
func (f *FSP) isClosed() bool {
	select {
	case <-f.closed:
		return true
	default:
		return false
	}
}

// newID returns a random version 4 UUID, as FSPIOP's CorrelationId wants.
func newID() string {
	var u [16]byte
	a, b := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	var s [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hex[c>>4], hex[c&0xf]
		j += 2
	}
	return string(s[:])
}

// contentTypes holds the media types of the resources, built once.
var contentTypes = func() map[string][]string {
	m := make(map[string][]string)
	for _, r := range []string{"participants", "parties", "quotes", "transfers", "transactionRequests"} {
		m[r] = []string{"application/vnd.interoperability." + r + "+json;version=1.1"}
	}
	return m
}()

// send sends method path (under the hub's URL) with body, FSPIOP-Source set
// to the FSP and FSPIOP-Destination to dest when not empty. It expects 202
// for GET and POST, 200 for PUT and PATCH, and returns an *Error wrapping
// ErrRefused otherwise.
func (f *FSP) send(ctx context.Context, phase Phase, method, resource, path, dest string, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.hub+path, rd)
	if err != nil {
		return &Error{Phase: phase, Description: err.Error(), Err: ErrRefused}
	}
	h := req.Header
	h["Content-Type"] = contentTypes[resource]
	if method == http.MethodGet || method == http.MethodPost {
		h["Accept"] = contentTypes[resource]
	}
	h["Date"] = []string{f.date()}
	h["Fspiop-Source"] = []string{f.id}
	if dest != "" {
		h["Fspiop-Destination"] = []string{dest}
	}
	f.stats.sent.Add(1)
	// The transport directly: the hub never redirects, and Client.Do
	// would copy the header.
	rt := f.client.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		f.stats.sendFailures.Add(1)
		return &Error{Phase: phase, Description: err.Error(), Err: ErrRefused}
	}
	want := http.StatusOK
	if method == http.MethodGet || method == http.MethodPost {
		want = http.StatusAccepted
	}
	if resp.StatusCode == want {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil
	}
	f.stats.sendFailures.Add(1)
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	e := &Error{Phase: phase, Status: resp.StatusCode, Err: ErrRefused}
	var eb errorBody
	if json.Unmarshal(data, &eb) == nil && eb.ErrorInformation != nil {
		e.Code, e.Description = eb.ErrorInformation.ErrorCode, eb.ErrorInformation.ErrorDescription
	} else {
		e.Description = fmt.Sprintf("%s %s: %.200s", method, path, strings.TrimSpace(string(data)))
	}
	return e
}

// partyPath returns /<resource>/{Type}/{ID}[/{SubId}] with escaped segments.
func partyPath(resource string, p Party) string {
	s := "/" + resource + "/" + url.PathEscape(p.Type) + "/" + url.PathEscape(p.ID)
	if p.SubID != "" {
		s += "/" + url.PathEscape(p.SubID)
	}
	return s
}
