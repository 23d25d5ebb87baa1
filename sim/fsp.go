package sim

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/internal/fastsrv"
	"github.com/hutong/hutong/money"
	"github.com/valyala/fasthttp"
)

// FSP is a running simulated FSP: its HTTP server, its customers and its
// payments in flight. Its methods are safe for concurrent use.
type FSP struct {
	cfg      Config
	id       string
	cur      money.Currency
	secret   []byte
	hub      string // HubURL without a trailing '/'
	client   *fasthttp.Client
	clock    clock.Clock
	ln       net.Listener
	srv      *fastsrv.Server
	dates    atomic.Pointer[dateCache]
	lastDate atomic.Pointer[string] // the last Date header found valid
	url      string
	events   *events
	stats    counters
	behav    atomic.Pointer[behaviour]
	workers  sync.WaitGroup
	serveWG  sync.WaitGroup
	serveErr error // set by the serving goroutine before serveWG.Done

	ctx    context.Context // the workers'; cancelled by Close
	cancel context.CancelFunc
	closed chan struct{}
	once   sync.Once

	jobsMu     sync.RWMutex // held for reading to send on jobs, for writing to close it
	jobs       chan func(context.Context)
	jobsClosed bool // guarded by jobsMu

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
	f.srv = fastsrv.New(f.serve, fastsrv.Config{
		Name:      "sim " + cfg.ID,
		MaxBody:   int(min(cfg.MaxBody, math.MaxInt32)),
		MaxHeader: 64 << 10,
		OnError:   f.serveError,
	})
	for range cfg.Workers {
		f.workers.Add(1)
		go f.work()
	}
	f.serveWG.Add(1)
	go func() {
		defer f.serveWG.Done()
		f.serveErr = f.srv.Serve(ln)
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
// queue is full; it drops job if Close gave up waiting for the server.
func (f *FSP) later(in *inbound, job func(context.Context)) {
	in.then(func() {
		f.jobsMu.RLock()
		defer f.jobsMu.RUnlock()
		if f.jobsClosed {
			return
		}
		select {
		case f.jobs <- job:
		case <-f.ctx.Done():
		}
	})
}

// Close stops the server (waiting for the requests being answered, until
// ctx ends), then the workers; payments in flight fail with ErrClosed. When
// ctx ends first the work still queued is dropped, but a request a worker
// is sending cannot be cut short: Close waits for it, for at most the
// client's timeouts (30 s each to write and to read, with NewClient's).
func (f *FSP) Close(ctx context.Context) error {
	var err error
	f.once.Do(func() {
		close(f.closed)
		err = f.srv.Shutdown(ctx)
		if err != nil {
			// Requests may still be in the handler, waiting for room in
			// the queue: let them go.
			f.cancel()
		}
		f.serveWG.Wait()
		// Once jobsMu is held no handler is sending on jobs, and none
		// will. The workers finish the queue unless ctx ends first.
		f.jobsMu.Lock()
		f.jobsClosed = true
		close(f.jobs)
		f.jobsMu.Unlock()
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

// partyPath returns /<resource>/{Type}/{ID}[/{SubId}] with escaped segments.
func partyPath(resource string, p Party) string {
	s := "/" + resource + "/" + url.PathEscape(p.Type) + "/" + url.PathEscape(p.ID)
	if p.SubID != "" {
		s += "/" + url.PathEscape(p.SubID)
	}
	return s
}
