package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong/audit"
	"github.com/hutong/hutong/hub"
	"github.com/hutong/hutong/internal/fastsrv"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
	"github.com/hutong/hutong/sim"
	"github.com/hutong/hutong/store/pebble"
	"github.com/valyala/fasthttp"
)

// E2EMode says how much of a payment the end-to-end benchmark runs.
type E2EMode string

// The end-to-end benchmark's modes.
const (
	// ModeP2P runs whole payments: discovery (GET /parties), quote
	// (POST /quotes) and transfer (POST /transfers), each with its
	// callback: twelve HTTP round trips through the hub, each message
	// going in and out.
	ModeP2P E2EMode = "p2p"
	// ModeTransfer runs the transfer phase alone, the payer building the
	// ILP packet the payee would have quoted: four round trips.
	ModeTransfer E2EMode = "transfer"
)

// RoundTrips returns the HTTP round trips through the hub of one payment:
// every request and every callback is one round trip into the hub and one
// out of it.
func (m E2EMode) RoundTrips() int {
	if m == ModeTransfer {
		return 4
	}
	return 12
}

// ErrCheck is wrapped by the error E2E returns, with the E2EResult still
// filled in, when the state the run leaves does not add up: positions that
// do not sum to zero, a completed payment the ledger does not hold as
// committed, simulated FSPs that counted other committed payments than the
// load did or saw a protocol error, a hub that did not close cleanly, or a
// failed audit. Failed payments are counted in E2EResult.Errors, not here.
var ErrCheck = errors.New("bench: end-to-end check failed")

// e2eCurrency is the currency every simulated FSP holds.
const e2eCurrency = "USD"

// e2eHuge is the net debit cap, the collateral and every customer's opening
// balance, in major units: 10^12 USD, so 10^14 minor units, leaves room for
// ten billion payments of the largest amount (100.00) before the hub could
// refuse one for liquidity, and sums of it stay far below 2^63.
const e2eHuge = "1000000000000"

// E2EConfig says how to drive the switch end to end.
type E2EConfig struct {
	// Mode is ModeP2P or ModeTransfer.
	Mode E2EMode
	// Dir is the hub's store directory; it must not hold another hub's.
	Dir string
	// FSPs is how many simulated FSPs take part, at least 2.
	FSPs int
	// Customers is how many customers each FSP has, each with an alias
	// registered with the hub.
	Customers int
	// Concurrency is how many payments are in flight at most: the number
	// of workers, each running one payment at a time.
	Concurrency int
	// Rate, when more than 0, starts payments at this many per second
	// (open loop) instead of each worker starting the next as soon as its
	// last ends (closed loop). A payment due while every worker is busy
	// and Concurrency more wait is not started and counted as missed.
	Rate float64
	// Warmup is how long payments run before measuring starts.
	Warmup time.Duration
	// Duration is how long payments are measured, after Warmup.
	Duration time.Duration
	// PaymentTimeout bounds one payment.
	PaymentTimeout time.Duration
	// RawDuration is how long the machine's raw HTTP capacity is measured
	// before the hub starts; 0 skips it.
	RawDuration time.Duration
	// SimWorkers is how many goroutines each simulated FSP answers
	// requests with; 0 takes the sim's default.
	SimWorkers int
	// Sample is how many completed payments are looked up in the ledger
	// at the end and must be COMMITTED there with their amount.
	Sample int
	// Verify runs audit.Verify on the store after the hub has closed.
	Verify bool
	// Seed seeds the choice of payer, payee, customers and amounts.
	Seed uint64
	// Progress receives a line a second, if set.
	Progress io.Writer
	// AtStart is called when measuring starts, after Warmup (to start a
	// CPU profile), if set.
	AtStart func() error
	// AtEnd is called when the load stops, before payments in flight are
	// waited for and before anything closes (to stop a CPU profile, take
	// a heap profile), if set.
	AtEnd func() error
	// Logger receives the hub's logs. nil discards them.
	Logger *slog.Logger
}

// DefaultE2EConfig returns the defaults; Dir is left empty.
func DefaultE2EConfig() E2EConfig {
	return E2EConfig{
		Mode:           ModeP2P,
		FSPs:           4,
		Customers:      1000,
		Concurrency:    256,
		Warmup:         5 * time.Second,
		Duration:       60 * time.Second,
		PaymentTimeout: 30 * time.Second,
		RawDuration:    3 * time.Second,
		Sample:         300,
	}
}

// Validate reports the first field of c that cannot work.
func (c *E2EConfig) Validate() error {
	switch {
	case c.Mode != ModeP2P && c.Mode != ModeTransfer:
		return fmt.Errorf("bench: mode %q is neither %q nor %q", c.Mode, ModeP2P, ModeTransfer)
	case c.Dir == "":
		return errors.New("bench: no store directory")
	case c.FSPs < 2:
		return fmt.Errorf("bench: %d FSPs; payments need at least 2", c.FSPs)
	case c.Customers < 1 || c.Customers > sim.MaxCustomers:
		return fmt.Errorf("bench: %d customers per FSP is not between 1 and %d", c.Customers, sim.MaxCustomers)
	case c.Concurrency < 1:
		return fmt.Errorf("bench: concurrency %d is less than 1", c.Concurrency)
	case c.Rate < 0:
		return fmt.Errorf("bench: rate %g is negative", c.Rate)
	case c.Warmup < 0:
		return fmt.Errorf("bench: warmup %v is negative", c.Warmup)
	case c.Duration <= 0:
		return fmt.Errorf("bench: duration %v is not positive", c.Duration)
	case c.PaymentTimeout <= 0:
		return fmt.Errorf("bench: payment timeout %v is not positive", c.PaymentTimeout)
	case c.RawDuration < 0:
		return fmt.Errorf("bench: raw HTTP duration %v is negative", c.RawDuration)
	case c.SimWorkers < 0:
		return fmt.Errorf("bench: %d sim workers is negative", c.SimWorkers)
	case c.Sample < 0:
		return fmt.Errorf("bench: sample %d is negative", c.Sample)
	}
	return nil
}

// Percentiles summarises the latencies of one step, measured with a
// histogram whose buckets are about 3% wide (each percentile is the lower
// edge of its bucket).
type Percentiles struct {
	Count              uint64
	P50, P95, P99, Max time.Duration
}

func (h *histogram) percentiles() Percentiles {
	return Percentiles{
		Count: h.total.Load(),
		P50:   h.quantile(0.50), P95: h.quantile(0.95), P99: h.quantile(0.99),
		Max: time.Duration(h.max.Load()),
	}
}

// E2EResult is what an end-to-end run measured and checked. The figures
// of the measured window exclude the warmup and the payments that ended
// after the load stopped.
type E2EResult struct {
	Mode        E2EMode
	FSPs        int
	Customers   int // per FSP
	Concurrency int
	Rate        float64 // open-loop target per second; 0 for closed loop
	Seed        uint64
	GOMAXPROCS  int

	Warmup    time.Duration
	Elapsed   time.Duration // the measured window
	Completed int64         // payments that completed in the window
	PerSecond float64       // Completed per second of the window
	Missed    int64         // open loop: payments due that could not start

	// Errors counts failed payments over the whole run, warmup and the
	// payments finishing after the load stopped included; ErrorKinds
	// splits them by phase and cause (FSPIOP code, HTTP status, timeout)
	// and ErrorExamples holds one message of each kind.
	Errors        int64
	ErrorKinds    map[string]int64
	ErrorExamples map[string]string

	// Latencies of the window's completed payments. Discovery and Quote
	// are zero in ModeTransfer. EndToEnd runs from when the payment was
	// due (open loop) or started (closed loop) to its last callback.
	Discovery, Quote, Transfer, EndToEnd Percentiles

	RoundTripsPerPayment int     // HTTP round trips through the hub per payment
	HubRoundTrips        float64 // per second: PerSecond x RoundTripsPerPayment

	// RawRoundTrips is round trips per second of the same HTTP client
	// against a handler that only reads the body and answers 202, on
	// loopback, from RawConcurrency goroutines; RawFraction is
	// HubRoundTrips / RawRoundTrips. Both are 0 when not measured.
	RawRoundTrips  float64
	RawConcurrency int
	RawFraction    float64

	// The ledger writer in the window: journal entries (batches), the
	// mean and largest number of commands in one.
	Batches   uint64
	MeanBatch float64
	MaxBatch  uint64

	// Callbacks the hub delivered, retried and gave up on in the window.
	CallbacksDelivered, CallbacksRetried, CallbacksFailed uint64

	// CPU is the process's user+sys CPU time in the window (hub, FSPs and
	// the load generator alike); CPUPerPayment divides it by Completed and
	// CPUCores by the window's length.
	CPU           time.Duration
	CPUPerPayment time.Duration
	CPUCores      float64
	PeakRSSBytes  int64

	// What the run left, checked after the load stopped.
	Succeeded      int64 // payments that completed over the whole run
	SimCommitted   int64 // payments the simulated FSPs counted as committed (must equal Succeeded)
	ProtocolErrors int64 // protocol errors the simulated FSPs saw
	PositionSum    int64 // sum of every participant's position, minor units (must be 0)
	AccountSum     int64 // sum of every account's balance, minor units (must be 0)
	Pending        int64 // transfers still reserved in the ledger
	Sampled        int   // completed payments looked up in the ledger
	NotCommitted   int   // of those, not COMMITTED with the payment's payer, payee and amount
	Audit          *audit.Report
	// Problems lists the checks that failed; E2E then returns an error
	// wrapping ErrCheck.
	Problems []string
}

// String formats the result for a person.
func (r E2EResult) String() string {
	var b strings.Builder
	what := "discovery, quote and transfer"
	if r.Mode == ModeTransfer {
		what = "transfer phase alone (POST /transfers, PUT /transfers)"
	}
	fmt.Fprintf(&b, "mode                  %s: %s\n", r.Mode, what)
	fmt.Fprintf(&b, "completed payments    %d in %.2fs (after %v warmup)\n", r.Completed, r.Elapsed.Seconds(), r.Warmup)
	fmt.Fprintf(&b, "throughput            %.0f payments/s\n", r.PerSecond)
	if r.Rate > 0 {
		fmt.Fprintf(&b, "open loop             target %.0f/s, %d due payments not started (all workers busy)\n", r.Rate, r.Missed)
	}
	fmt.Fprintf(&b, "errors                %d", r.Errors)
	if len(r.ErrorKinds) > 0 {
		kinds := make([]string, 0, len(r.ErrorKinds))
		for k := range r.ErrorKinds {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for _, k := range kinds {
			fmt.Fprintf(&b, "\n  %-19s %d, e.g. %s", k, r.ErrorKinds[k], r.ErrorExamples[k])
		}
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "latency               %9s %9s %9s %9s\n", "p50", "p95", "p99", "max")
	rows := []struct {
		name string
		p    Percentiles
	}{{"discovery", r.Discovery}, {"quote", r.Quote}, {"transfer", r.Transfer}, {"end to end", r.EndToEnd}}
	for _, row := range rows {
		if row.p.Count == 0 {
			continue
		}
		fmt.Fprintf(&b, "  %-19s %9s %9s %9s %9s\n", row.name, ms(row.p.P50), ms(row.p.P95), ms(row.p.P99), ms(row.p.Max))
	}
	fmt.Fprintf(&b, "hub round trips       %.0f/s (%d per payment, each message in and out of the hub)\n", r.HubRoundTrips, r.RoundTripsPerPayment)
	if r.RawRoundTrips > 0 {
		fmt.Fprintf(&b, "raw HTTP capacity     %.0f round trips/s (same client, trivial handler, loopback, %d concurrent)\n", r.RawRoundTrips, r.RawConcurrency)
		fmt.Fprintf(&b, "hub / raw             %.2f\n", r.RawFraction)
	}
	fmt.Fprintf(&b, "ledger writer         %d batches, mean %.1f commands, max %d\n", r.Batches, r.MeanBatch, r.MaxBatch)
	fmt.Fprintf(&b, "callbacks             %d delivered, %d retried, %d failed\n", r.CallbacksDelivered, r.CallbacksRetried, r.CallbacksFailed)
	fmt.Fprintf(&b, "CPU                   %.2f cores busy, %v per payment (user+sys of the whole process: hub, FSPs, load)\n",
		r.CPUCores, r.CPUPerPayment.Round(time.Microsecond))
	fmt.Fprintf(&b, "peak RSS              %d MiB\n", r.PeakRSSBytes>>20)
	fmt.Fprintf(&b, "checks                positions sum to %d, accounts to %d; %d of %d sampled payments committed in the ledger;\n",
		r.PositionSum, r.AccountSum, r.Sampled-r.NotCommitted, r.Sampled)
	fmt.Fprintf(&b, "                      %d payments succeeded, %d committed by the FSPs; %d protocol errors; %d transfers still reserved\n",
		r.Succeeded, r.SimCommitted, r.ProtocolErrors, r.Pending)
	if r.Audit != nil {
		fmt.Fprintf(&b, "audit                 %s\n", r.Audit)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "PROBLEM               %s\n", p)
	}
	fmt.Fprintf(&b, "settings              %d FSPs x %d customers, concurrency %d, seed %d, GOMAXPROCS %d\n",
		r.FSPs, r.Customers, r.Concurrency, r.Seed, r.GOMAXPROCS)
	return b.String()
}

// ms formats d in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// completion is a completed payment kept for the ledger check.
type completion struct {
	id           ledger.ID
	payer, payee string
	amount       int64
}

// e2eRun is one end-to-end run's shared state.
type e2eRun struct {
	cfg     E2EConfig
	cur     money.Currency
	fsps    []*sim.FSP
	ids     []string
	parties [][]sim.Party
	payees  [][]sim.Payee

	measuring atomic.Bool
	completed atomic.Int64 // in the window
	succeeded atomic.Int64 // over the run
	failed    atomic.Int64
	inFlight  atomic.Int64
	missed    atomic.Int64

	discovery, quote, transfer, endToEnd histogram

	mu       sync.Mutex // guards the fields below
	kinds    map[string]int64
	examples map[string]string
	sample   []completion
	seen     int64 // completions offered to the sample
	sampler  *rand.Rand
}

// E2E starts a hub on cfg.Dir and cfg.FSPs simulated FSPs in this process,
// onboards the FSPs with limits and collateral the run cannot exhaust,
// registers their customers, and drives payments between random customers
// of random pairs of FSPs, after measuring the machine's raw HTTP capacity.
// It returns an error without a result when the run cannot start, and the
// full result with an error wrapping ErrCheck when the checks at the end
// fail.
func E2E(ctx context.Context, cfg E2EConfig) (E2EResult, error) {
	if err := cfg.Validate(); err != nil {
		return E2EResult{}, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cur, _ := money.Lookup(e2eCurrency)
	res := E2EResult{
		Mode: cfg.Mode, FSPs: cfg.FSPs, Customers: cfg.Customers, Concurrency: cfg.Concurrency,
		Rate: cfg.Rate, Seed: cfg.Seed, GOMAXPROCS: runtime.GOMAXPROCS(0), Warmup: cfg.Warmup,
		RoundTripsPerPayment: cfg.Mode.RoundTrips(),
	}
	if cfg.RawDuration > 0 {
		res.RawConcurrency = 2 * cfg.Concurrency
		rt, err := rawHTTP(ctx, res.RawConcurrency, cfg.RawDuration)
		if err != nil {
			return E2EResult{}, fmt.Errorf("bench: raw HTTP capacity: %w", err)
		}
		res.RawRoundTrips = rt
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "raw HTTP capacity: %.0f round trips/s from %d goroutines\n", rt, res.RawConcurrency)
		}
	}

	h, err := hub.Start(ctx, hub.Config{Dir: cfg.Dir, AdminAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Logger: cfg.Logger})
	if err != nil {
		return E2EResult{}, err
	}
	hubClosed := false
	closeHub := func() error {
		if hubClosed {
			return nil
		}
		hubClosed = true
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return h.Close(cctx)
	}
	defer closeHub()

	r := &e2eRun{
		cfg: cfg, cur: cur,
		kinds: map[string]int64{}, examples: map[string]string{},
		sampler: rand.New(rand.NewPCG(cfg.Seed, 0x5a3b1e)),
	}
	defer r.closeFSPs()
	if err := r.startFSPs(ctx, h); err != nil {
		return E2EResult{}, err
	}
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "hub at %s; %d FSPs with %d customers each onboarded and registered; seed %d\n",
			h.APIURL, cfg.FSPs, cfg.Customers, cfg.Seed)
	}

	if err := r.drive(ctx, h, &res); err != nil {
		return res, err
	}

	// Checks while the hub runs: the ledger's positions, the sample.
	r.check(ctx, h, &res)
	res.PeakRSSBytes = PeakRSS()
	r.closeFSPs()
	if err := closeHub(); err != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("closing the hub: %v", err))
	}
	if cfg.Verify {
		st, err := pebble.Open(cfg.Dir, pebble.Options{Logger: cfg.Logger, ReadOnly: true})
		if err != nil {
			return res, fmt.Errorf("bench: open the store to verify it: %w", err)
		}
		rep, err := audit.Verify(ctx, st, nil)
		st.Close()
		if err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("audit: %v", err))
		} else {
			res.Audit = &rep
		}
	}
	if len(res.Problems) > 0 {
		return res, fmt.Errorf("%w: %s", ErrCheck, strings.Join(res.Problems, "; "))
	}
	return res, nil
}

// startFSPs starts, onboards and registers the simulated FSPs.
func (r *e2eRun) startFSPs(ctx context.Context, h *hub.Hub) error {
	for i := range r.cfg.FSPs {
		sc := sim.DefaultConfig()
		sc.ID = fmt.Sprintf("fsp%d", i+1)
		sc.HubURL = h.APIURL
		sc.Currency = e2eCurrency
		sc.Customers = r.cfg.Customers
		sc.Balance = e2eHuge
		sc.EventBuffer = 0
		if r.cfg.SimWorkers > 0 {
			sc.Workers = r.cfg.SimWorkers
		}
		f, err := sim.Start(ctx, sc)
		if err != nil {
			return fmt.Errorf("bench: start FSP %s: %w", sc.ID, err)
		}
		r.fsps = append(r.fsps, f)
		r.ids = append(r.ids, sc.ID)
		if err := sim.Setup(ctx, h.AdminURL, sim.Onboarding{
			FSP: sc.ID, Currency: e2eCurrency, NDC: e2eHuge, Funds: e2eHuge, CallbackBase: f.URL(),
		}); err != nil {
			return err
		}
		cs := f.Customers()
		parties := make([]sim.Party, len(cs))
		payees := make([]sim.Payee, len(cs))
		secret := f.Secret()
		for k, c := range cs {
			parties[k] = c.Party
			payees[k] = sim.Payee{FSP: sc.ID, Secret: secret, Party: c.Party}
		}
		r.parties = append(r.parties, parties)
		r.payees = append(r.payees, payees)
	}
	for _, f := range r.fsps {
		if err := f.Register(ctx); err != nil {
			return fmt.Errorf("bench: register the customers of %s: %w", f.ID(), err)
		}
	}
	return nil
}

func (r *e2eRun) closeFSPs() {
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, f := range r.fsps {
		f.Close(cctx)
	}
	r.fsps = nil
}

// drive runs the payments: warmup, the measured window, then waits for the
// payments in flight.
func (r *e2eRun) drive(ctx context.Context, h *hub.Hub, res *E2EResult) error {
	cfg := r.cfg
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()

	var due chan time.Time // open loop: when each payment is due
	if cfg.Rate > 0 {
		due = make(chan time.Time, cfg.Concurrency)
	}
	var wg sync.WaitGroup
	for g := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(g)+1))
			for loadCtx.Err() == nil {
				start := time.Now()
				if due != nil {
					select {
					case start = <-due:
					case <-loadCtx.Done():
						return
					}
				}
				r.pay(ctx, rng, start)
			}
		}()
	}
	if due != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.pace(loadCtx, due)
		}()
	}

	var progressWG sync.WaitGroup
	began := time.Now()
	if cfg.Progress != nil {
		progressWG.Add(1)
		go func() {
			defer progressWG.Done()
			r.progress(loadCtx, began)
		}()
	}

	// Warmup, then the window.
	select {
	case <-time.After(cfg.Warmup):
	case <-ctx.Done():
	}
	if cfg.AtStart != nil {
		if err := cfg.AtStart(); err != nil {
			stopLoad()
			wg.Wait()
			return err
		}
	}
	w0, cb0, cpu0 := h.Writer.Stats(), h.Callbacks.Stats(), cpuTime()
	t0 := time.Now()
	r.measuring.Store(true)
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
	}
	r.measuring.Store(false)
	t1 := time.Now()
	w1, cb1, cpu1 := h.Writer.Stats(), h.Callbacks.Stats(), cpuTime()
	stopLoad()
	var atEndErr error
	if cfg.AtEnd != nil {
		atEndErr = cfg.AtEnd()
	}
	wg.Wait()
	progressWG.Wait()

	res.Elapsed = t1.Sub(t0)
	res.Completed = r.completed.Load()
	res.PerSecond = float64(res.Completed) / res.Elapsed.Seconds()
	res.Missed = r.missed.Load()
	res.Errors = r.failed.Load()
	r.mu.Lock()
	res.ErrorKinds, res.ErrorExamples = r.kinds, r.examples
	r.mu.Unlock()
	if cfg.Mode == ModeP2P {
		res.Discovery, res.Quote = r.discovery.percentiles(), r.quote.percentiles()
	}
	res.Transfer, res.EndToEnd = r.transfer.percentiles(), r.endToEnd.percentiles()
	res.HubRoundTrips = res.PerSecond * float64(res.RoundTripsPerPayment)
	if res.RawRoundTrips > 0 {
		res.RawFraction = res.HubRoundTrips / res.RawRoundTrips
	}
	res.Batches = w1.Batches - w0.Batches
	res.MaxBatch = w1.MaxBatch
	if res.Batches > 0 {
		res.MeanBatch = float64(w1.Commands-w0.Commands) / float64(res.Batches)
	}
	res.CallbacksDelivered = cb1.Delivered - cb0.Delivered
	res.CallbacksRetried = cb1.Retried - cb0.Retried
	res.CallbacksFailed = cb1.Failed - cb0.Failed
	res.CPU = cpu1 - cpu0
	res.CPUCores = res.CPU.Seconds() / res.Elapsed.Seconds()
	if res.Completed > 0 {
		res.CPUPerPayment = res.CPU / time.Duration(res.Completed)
	}
	res.Succeeded = r.succeeded.Load()
	if err := ctx.Err(); err != nil {
		return err
	}
	return atEndErr
}

// pace sends on due the time each payment is due, cfg.Rate a second,
// counting as missed those for which no room is left.
func (r *e2eRun) pace(ctx context.Context, due chan<- time.Time) {
	// A payment leaves at most a tick after it is due.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	began := time.Now()
	var sent int64
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			want := int64(now.Sub(began).Seconds() * r.cfg.Rate)
			for ; sent < want; sent++ {
				at := began.Add(time.Duration(float64(sent) / r.cfg.Rate * float64(time.Second)))
				select {
				case due <- at:
				default:
					r.missed.Add(1)
				}
			}
		}
	}
}

// pay runs one payment between random customers of two different FSPs.
func (r *e2eRun) pay(ctx context.Context, rng *rand.Rand, start time.Time) {
	n := len(r.fsps)
	i := rng.IntN(n)
	j := (i + 1 + rng.IntN(n-1)) % n
	from := r.parties[i][rng.IntN(len(r.parties[i]))]
	k := rng.IntN(len(r.parties[j]))
	amount := money.FormatAmount(100+rng.Int64N(9901), r.cur) // 1.00 to 100.00

	r.inFlight.Add(1)
	pctx, cancel := context.WithTimeout(ctx, r.cfg.PaymentTimeout)
	var p sim.Payment
	var err error
	if r.cfg.Mode == ModeTransfer {
		p, err = r.fsps[i].Transfer(pctx, from.ID, r.payees[j][k], amount, e2eCurrency)
	} else {
		p, err = r.fsps[i].Pay(pctx, from.ID, r.parties[j][k], amount, e2eCurrency)
	}
	cancel()
	end := time.Now()
	r.inFlight.Add(-1)
	if err != nil {
		r.failed.Add(1)
		r.recordError(err)
		return
	}
	r.succeeded.Add(1)
	if !r.measuring.Load() {
		return
	}
	r.completed.Add(1)
	if r.cfg.Mode == ModeP2P {
		r.discovery.add(p.Phases.Discovery)
		r.quote.add(p.Phases.Quote)
	}
	r.transfer.add(p.Phases.Transfer)
	r.endToEnd.add(end.Sub(start))
	r.offer(p, r.ids[i], r.ids[j])
}

// offer keeps p in the sample with the probability that leaves every
// completed payment equally likely to be checked (reservoir sampling).
func (r *e2eRun) offer(p sim.Payment, payer, payee string) {
	if r.cfg.Sample == 0 {
		return
	}
	c := completion{payer: payer, payee: payee}
	var err error
	if c.id, err = ledger.ParseID(p.TransferID); err != nil {
		c.amount = -1 // found wanting by the check
	} else if c.amount, err = money.ParseAmount(p.TransferAmount, r.cur); err != nil {
		c.amount = -1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen++
	if len(r.sample) < r.cfg.Sample {
		r.sample = append(r.sample, c)
		return
	}
	if k := r.sampler.Int64N(r.seen); k < int64(r.cfg.Sample) {
		r.sample[k] = c
	}
}

// errorKind names the cause of a failed payment: its phase and FSPIOP
// error code, HTTP status or sentinel.
func errorKind(err error) string {
	var e *sim.Error
	if !errors.As(err, &e) {
		switch {
		case errors.Is(err, sim.ErrClosed):
			return "FSP closed"
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
			return "context ended"
		}
		return "other"
	}
	var why string
	switch {
	case e.Code != "" && e.Status != 0:
		why = fmt.Sprintf("refused %d %s", e.Status, e.Code)
	case e.Code != "":
		why = "error callback " + e.Code
	case e.Status != 0:
		why = fmt.Sprintf("refused %d", e.Status)
	case errors.Is(e, sim.ErrTimeout):
		why = "no callback (timeout)"
	case errors.Is(e, sim.ErrRefused):
		why = "not sent"
	case errors.Is(e, sim.ErrFulfilment):
		why = "wrong fulfilment"
	case errors.Is(e, sim.ErrUnexpected):
		why = "unexpected callback"
	case errors.Is(e, sim.ErrInsufficientFunds):
		why = "customer funds"
	default:
		why = "other"
	}
	return string(e.Phase) + ": " + why
}

func (r *e2eRun) recordError(err error) {
	k := errorKind(err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kinds[k]++
	if _, ok := r.examples[k]; !ok {
		msg := err.Error()
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		r.examples[k] = msg
	}
}

func (r *e2eRun) progress(ctx context.Context, began time.Time) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n := r.succeeded.Load()
			phase := "warmup"
			if r.measuring.Load() {
				phase = "measure"
			}
			fmt.Fprintf(r.cfg.Progress, "  %6.1fs  %-7s  %9d payments  %6d/s  errors %d  in flight %d  RSS %d MiB\n",
				time.Since(began).Seconds(), phase, n, n-last, r.failed.Load(), r.inFlight.Load(), RSS()>>20)
			last = n
		}
	}
}

// check fills in what the run left and lists what does not add up.
func (r *e2eRun) check(ctx context.Context, h *hub.Hub, res *E2EResult) {
	problem := func(format string, a ...any) { res.Problems = append(res.Problems, fmt.Sprintf(format, a...)) }
	err := h.Writer.Query(ctx, func(l *ledger.Ledger) {
		for _, a := range l.Accounts() {
			if a.Currency != e2eCurrency {
				continue
			}
			res.AccountSum += a.Balance()
			if a.Type == ledger.AccountPosition {
				res.PositionSum += a.Balance()
			}
		}
	})
	if err != nil {
		problem("read the ledger's accounts: %v", err)
	}
	if res.PositionSum != 0 {
		problem("positions sum to %d, not 0", res.PositionSum)
	}
	if res.AccountSum != 0 {
		problem("accounts sum to %d, not 0", res.AccountSum)
	}
	res.Pending = h.Writer.Stats().Pending

	for _, f := range r.fsps {
		s := f.Stats()
		res.SimCommitted += s.PaymentsCommitted
		res.ProtocolErrors += s.ProtocolErrors
	}
	if res.SimCommitted != res.Succeeded {
		problem("the FSPs counted %d committed payments, the load %d", res.SimCommitted, res.Succeeded)
	}
	if res.ProtocolErrors != 0 {
		problem("the FSPs saw %d protocol errors", res.ProtocolErrors)
	}

	r.mu.Lock()
	sample := r.sample
	r.mu.Unlock()
	res.Sampled = len(sample)
	for _, c := range sample {
		t, err := h.Writer.Transfer(ctx, c.id)
		if err != nil || t.State != ledger.StateCommitted || t.Payer != c.payer || t.Payee != c.payee || t.Amount != c.amount {
			res.NotCommitted++
			if res.NotCommitted <= 3 {
				problem("payment %s from %s to %s of %d: ledger has %s %s->%s %d (%v)",
					c.id, c.payer, c.payee, c.amount, t.State, t.Payer, t.Payee, t.Amount, err)
			}
		}
	}
	if res.NotCommitted > 3 {
		problem("%d of %d sampled payments not committed as paid", res.NotCommitted, res.Sampled)
	}
}

// rawHTTP measures round trips per second of a client with the simulated
// FSPs' settings (sim.NewClient) against a handler that reads the body and
// answers 202, served by fastsrv, from concurrency goroutines for d, on
// loopback.
func rawHTTP(ctx context.Context, concurrency int, d time.Duration) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := fastsrv.New(func(c *fasthttp.RequestCtx) {
		_ = c.PostBody() // read with the request; the handler has it whole
		c.SetStatusCode(fasthttp.StatusAccepted)
	}, fastsrv.Config{Name: "bench"})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	client := sim.NewClient()
	defer func() {
		client.CloseIdleConnections()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-served
	}()
	url := "http://" + ln.Addr().String() + "/transfers"
	// About the size of a POST /transfers with its ILP packet.
	body := []byte(`{"transferId":"` + strings.Repeat("0", 36) + `","ilpPacket":"` + strings.Repeat("A", 700) + `"}`)

	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		trips, failures atomic.Int64
		firstOnce       sync.Once
		firstErr        error
		wg              sync.WaitGroup
	)
	// One round trip as the simulated FSPs send it.
	trip := func() error {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer func() {
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseResponse(resp)
		}()
		req.Header.SetMethod(fasthttp.MethodPost)
		req.SetRequestURI(url)
		req.Header.SetContentType("application/vnd.interoperability.transfers+json;version=1.1")
		req.Header.Set("Accept", "application/vnd.interoperability.transfers+json;version=1.1")
		req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		req.Header.Set("FSPIOP-Source", "fsp1")
		req.Header.Set("FSPIOP-Destination", "fsp2")
		req.SetBodyRaw(body)
		if err := client.Do(req, resp); err != nil {
			return err
		}
		if resp.StatusCode() != fasthttp.StatusAccepted {
			return fmt.Errorf("HTTP %d", resp.StatusCode())
		}
		return nil
	}
	began := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				if err := trip(); err != nil {
					if runCtx.Err() == nil {
						failures.Add(1)
						firstOnce.Do(func() { firstErr = err })
					}
					continue
				}
				trips.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if n := failures.Load(); n > 0 {
		return 0, fmt.Errorf("%d round trips failed, the first with %v", n, firstErr)
	}
	return float64(trips.Load()) / elapsed.Seconds(), nil
}
