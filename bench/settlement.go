package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
)

// SettlementConfig says how to run the settlement benchmark.
type SettlementConfig struct {
	Dir          string        // store directory; must not hold another ledger
	Transfers    int64         // committed payments in the window before it closes
	Participants int           // participants the payments are spread over
	Load         int           // concurrent submitters that keep paying while the window closes
	Around       time.Duration // how long the load runs before the close and after the settlement
	Seed         uint64
	Progress     io.Writer // receives a line a second while the window fills, if set
	Logger       *slog.Logger
}

// SettlementReport is what the settlement benchmark measured.
type SettlementReport struct {
	Filled     int64         // payments committed before the load began
	FillTime   time.Duration // how long filling took
	InWindow   int64         // payments in the closed window
	Close      time.Duration // closing the window: one durable ledger command
	Compute    time.Duration // creating the settlement: nets of every participant, durable
	Steps      [4]time.Duration
	Nets       int   // participants with a net
	Position   int64 // sum of the positive nets, minor units
	Baseline   Latency
	DuringLoad Latency // payments that were in flight at any time from the close to the settlement
	Nearby     Latency // payments in flight within a second either side of those
	LoadCount  int64   // payments the load committed
	Failed     int64
	Checked    string // what the end-of-run checks found
	Seed       uint64
}

// String formats the report for a person.
func (r SettlementReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "window filled         %d committed payments in %.1fs\n", r.Filled, r.FillTime.Seconds())
	fmt.Fprintf(&b, "window closed         %d payments in it; close took %v (one durable ledger command)\n", r.InWindow, r.Close)
	fmt.Fprintf(&b, "settlement computed   %v: nets of %d participants, %s moving in all\n", r.Compute, r.Nets, formatMinor(r.Position))
	fmt.Fprintf(&b, "settlement steps      recorded %v, reserved %v, committed %v, settled %v\n", r.Steps[0], r.Steps[1], r.Steps[2], r.Steps[3])
	fmt.Fprintf(&b, "concurrent payments   %d committed while closing and settling, %d failed\n", r.LoadCount, r.Failed)
	fmt.Fprintf(&b, "payment latency       before the close: p50 %v p99 %v max %v\n", r.Baseline.P50, r.Baseline.P99, r.Baseline.Max)
	fmt.Fprintf(&b, "                      in flight during close and settlement: p50 %v p99 %v max %v\n", r.DuringLoad.P50, r.DuringLoad.P99, r.DuringLoad.Max)
	fmt.Fprintf(&b, "                      in flight within 1s of them: p50 %v p99 %v max %v\n", r.Nearby.P50, r.Nearby.P99, r.Nearby.Max)
	fmt.Fprintf(&b, "checks                %s\n", r.Checked)
	fmt.Fprintf(&b, "seed %d, GOMAXPROCS %d\n", r.Seed, runtime.GOMAXPROCS(0))
	return b.String()
}

func formatMinor(v int64) string { return fmt.Sprintf("%d.%02d USD", v/100, v%100) }

// Settlement fills a settlement window with committed payments, then,
// while concurrent payments keep flowing, closes it, creates the
// settlement over it and takes it through to SETTLED, timing each step and
// the latency of the payments in flight meanwhile. It checks that the
// closed window and the next one together hold every committed payment
// exactly once, and that the nets sum to zero.
func Settlement(ctx context.Context, cfg SettlementConfig) (SettlementReport, error) {
	if cfg.Transfers <= 0 {
		cfg.Transfers = 1_000_000
	}
	if cfg.Participants < 2 {
		cfg.Participants = 20
	}
	if cfg.Load <= 0 {
		cfg.Load = 64
	}
	if cfg.Around <= 0 {
		cfg.Around = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := SettlementReport{Seed: cfg.Seed}
	st, err := pebble.Open(cfg.Dir, pebble.Options{Logger: cfg.Logger})
	if err != nil {
		return r, err
	}
	defer st.Close()
	w, err := writer.Open(ctx, st, writer.Config{Logger: cfg.Logger})
	if err != nil {
		return r, err
	}
	defer w.Close()
	ids, err := Setup(ctx, w, cfg.Participants)
	if err != nil {
		return r, err
	}

	// Fill: batches of payments from a few submitters, as fast as the
	// writer takes them.
	began := time.Now()
	var failed, filled atomic.Int64
	var remaining atomic.Int64
	remaining.Store(cfg.Transfers)
	var wg sync.WaitGroup
	stopProgress := make(chan struct{})
	if cfg.Progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					fmt.Fprintf(cfg.Progress, "  filling the window: %d payments committed\n", filled.Load())
				}
			}
		}()
	}
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(g)))
			const batch = 256
			prepares := make([]ledger.Command, batch)
			fulfils := make([]ledger.Command, batch)
			for ctx.Err() == nil {
				n := batch
				if left := remaining.Add(-batch); left < 0 {
					n += int(left)
				}
				if n <= 0 {
					return
				}
				for i := range n {
					prepares[i], fulfils[i] = payment(rng, ids)
				}
				if submit(w, prepares[:n], &failed) && submit(w, fulfils[:n], &failed) {
					filled.Add(int64(n))
				}
			}
		}()
	}
	wg.Wait()
	close(stopProgress)
	r.Filled, r.FillTime = filled.Load(), time.Since(began)
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if n := failed.Load(); n != 0 {
		return r, fmt.Errorf("bench: %d commands failed while filling the window", n)
	}

	// Load: closed-loop payments, each a durable prepare then fulfil, with
	// the start and end of each kept so those in flight during the close
	// and settlement can be told apart.
	type span struct{ start, end int64 }
	spans := make([][]span, cfg.Load)
	var loadCount atomic.Int64
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	epoch := time.Now()
	for g := range cfg.Load {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed^0x5e771e, uint64(g)))
			for loadCtx.Err() == nil {
				p, f := payment(rng, ids)
				t0 := time.Since(epoch)
				if _, err := w.Submit(ctx, p); err != nil {
					failed.Add(1)
					continue
				}
				if _, err := w.Submit(ctx, f); err != nil {
					failed.Add(1)
					continue
				}
				spans[g] = append(spans[g], span{int64(t0), int64(time.Since(epoch))})
				loadCount.Add(1)
			}
		}()
	}
	sleep(ctx, cfg.Around)

	var open ledger.Window
	if err := w.Query(ctx, func(l *ledger.Ledger) { open, _ = l.OpenWindow("USD") }); err != nil {
		return r, err
	}
	closeAt := time.Since(epoch)
	t := time.Now()
	res, err := w.Submit(ctx, ledger.Command{Op: ledger.OpCloseWindow, Currency: "USD", Window: open.ID})
	r.Close = time.Since(t)
	if err != nil {
		return r, fmt.Errorf("bench: close window %d: %w", open.ID, err)
	}
	closed := *res.Window
	r.InWindow = closed.Count
	t = time.Now()
	res, err = w.Submit(ctx, ledger.Command{Op: ledger.OpCreateSettlement, Windows: []uint64{closed.ID}})
	r.Compute = time.Since(t)
	if err != nil {
		return r, fmt.Errorf("bench: create settlement: %w", err)
	}
	s := *res.Settlement
	r.Nets, r.Position = len(s.Nets), s.Position
	for i, state := range []ledger.SettlementState{ledger.SettlementRecorded, ledger.SettlementReserved, ledger.SettlementCommitted, ledger.SettlementSettled} {
		t = time.Now()
		if _, err := w.Submit(ctx, ledger.Command{Op: ledger.OpSettlementState, Settlement: s.ID, SettlementState: state}); err != nil {
			return r, fmt.Errorf("bench: settlement %d to %s: %w", s.ID, state, err)
		}
		r.Steps[i] = time.Since(t)
	}
	settledAt := time.Since(epoch)
	sleep(ctx, cfg.Around)
	stopLoad()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return r, err
	}

	var before, during, nearby histogram
	for _, ss := range spans {
		for _, sp := range ss {
			d := time.Duration(sp.end - sp.start)
			switch {
			case sp.end < int64(closeAt):
				before.add(d)
			case sp.start <= int64(settledAt):
				during.add(d)
			}
			if sp.end >= int64(closeAt-time.Second) && sp.start <= int64(settledAt+time.Second) {
				nearby.add(d)
			}
		}
	}
	r.Baseline, r.DuringLoad, r.Nearby = before.summary(), during.summary(), nearby.summary()
	r.LoadCount, r.Failed = loadCount.Load(), failed.Load()

	// Every committed payment is in exactly one of the two windows.
	var next ledger.Window
	var settled ledger.Settlement
	if err := w.Query(ctx, func(l *ledger.Ledger) {
		next, _ = l.OpenWindow("USD")
		settled, _ = l.Settlement(s.ID)
	}); err != nil {
		return r, err
	}
	total := r.Filled + r.LoadCount
	if closed.Count+next.Count != total {
		return r, fmt.Errorf("bench: the closed window holds %d payments and the open one %d, but %d committed",
			closed.Count, next.Count, total)
	}
	var sum int64
	for _, n := range settled.Nets {
		sum += n.Net
	}
	if sum != 0 || settled.State != ledger.SettlementSettled {
		return r, fmt.Errorf("bench: settlement %d is %s with nets summing to %d", s.ID, settled.State, sum)
	}
	r.Checked = fmt.Sprintf("ok: %d + %d payments in the closed and the new window = %d committed; nets sum to zero; settlement %s",
		closed.Count, next.Count, total, settled.State)
	return r, nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
