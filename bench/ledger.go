// Package bench measures hutong: the ledger writer on its store, driven by
// many concurrent submitters, each transfer a durable prepare then fulfil.
package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
)

// LedgerConfig says how to drive the ledger.
type LedgerConfig struct {
	Dir          string        // store directory; must not hold another ledger
	Submitters   int           // concurrent submitters
	Batch        int           // transfers each submitter sends per call (SubmitMany when > 1)
	Participants int           // participants transfers are spread over
	Duration     time.Duration // how long to run, when Transfers is 0
	Transfers    int64         // stop after this many committed transfers, when > 0
	Seed         uint64        // seeds ids and the choice of payer and payee
	Progress     io.Writer     // receives a line a second, if set
	AtEnd        func() error  // called when the load stops, before the store closes (profiles)
	StoreMetrics io.Writer     // receives Pebble's metrics at the end, if set
	Logger       *slog.Logger
}

// LedgerReport is what a ledger benchmark measured.
type LedgerReport struct {
	Transfers    int64 // committed two-phase transfers
	Failed       int64 // commands that returned an error
	Elapsed      time.Duration
	PerSecond    float64
	Prepare      Latency
	Fulfil       Latency
	Batches      uint64
	MeanBatch    float64
	MaxBatch     uint64
	PeakRSSBytes int64
	Submitters   int
	Batch        int
	Seed         uint64
}

// Latency summarises one operation's latencies.
type Latency struct{ P50, P99, Max time.Duration }

// String formats the report for a person.
func (r LedgerReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "committed transfers   %d in %.2fs (each a durable prepare and a durable fulfil)\n", r.Transfers, r.Elapsed.Seconds())
	fmt.Fprintf(&b, "throughput            %.0f transfers/s\n", r.PerSecond)
	fmt.Fprintf(&b, "prepare latency       p50 %v  p99 %v  max %v (per call)\n", r.Prepare.P50, r.Prepare.P99, r.Prepare.Max)
	fmt.Fprintf(&b, "fulfil latency        p50 %v  p99 %v  max %v (per call)\n", r.Fulfil.P50, r.Fulfil.P99, r.Fulfil.Max)
	fmt.Fprintf(&b, "batches               %d, mean %.0f commands, max %d\n", r.Batches, r.MeanBatch, r.MaxBatch)
	fmt.Fprintf(&b, "failed commands       %d\n", r.Failed)
	fmt.Fprintf(&b, "peak RSS              %d MiB\n", r.PeakRSSBytes>>20)
	fmt.Fprintf(&b, "submitters            %d, %d transfers per call, seed %d, GOMAXPROCS %d\n", r.Submitters, r.Batch, r.Seed, runtime.GOMAXPROCS(0))
	return b.String()
}

// PeakRSS returns the process's peak resident set size in bytes, from
// /proc/self/status, or 0 where that is not available.
func PeakRSS() int64 { return procStatus("VmHWM:") }

// RSS returns the process's resident set size in bytes now.
func RSS() int64 { return procStatus("VmRSS:") }

func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Setup creates n participants with USD enabled, a net debit cap no
// benchmark reaches and the collateral to cover it. It returns their ids.
func Setup(ctx context.Context, w *writer.Writer, n int) ([]string, error) {
	const huge = int64(1) << 50
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("fsp%03d", i+1)
		var fundID ledger.ID
		binary.BigEndian.PutUint64(fundID[:], uint64(i+1))
		fundID[8] = 0xf0
		for _, c := range []ledger.Command{
			{Op: ledger.OpCreateParticipant, Participant: ids[i], Name: "Bench FSP " + strconv.Itoa(i+1)},
			{Op: ledger.OpEnableCurrency, Participant: ids[i], Currency: "USD"},
			{Op: ledger.OpSetNDC, Participant: ids[i], Currency: "USD", Amount: huge},
			{Op: ledger.OpFundsIn, ID: fundID, Participant: ids[i], Currency: "USD", Amount: huge},
		} {
			if _, err := w.Submit(ctx, c); err != nil {
				return nil, fmt.Errorf("set up %s: %s: %w", ids[i], c.Op, err)
			}
		}
	}
	return ids, nil
}

// submit applies cmds, one by one with Submit when there is one, and
// reports whether all succeeded, counting failures.
func submit(w *writer.Writer, cmds []ledger.Command, failed *atomic.Int64) bool {
	if len(cmds) == 1 {
		if _, err := w.Submit(context.Background(), cmds[0]); err != nil {
			failed.Add(1)
			return false
		}
		return true
	}
	_, errs := w.SubmitMany(context.Background(), cmds)
	ok := true
	for _, err := range errs {
		if err != nil {
			failed.Add(1)
			ok = false
		}
	}
	return ok
}

// payment returns the prepare and fulfil of a random USD payment between two
// of ids, with a random id, amount and fulfilment.
func payment(rng *rand.Rand, ids []string) (prepare, fulfil ledger.Command) {
	var id ledger.ID
	binary.LittleEndian.PutUint64(id[:8], rng.Uint64())
	binary.LittleEndian.PutUint64(id[8:], rng.Uint64())
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	var ful [32]byte
	for j := 0; j < 32; j += 8 {
		binary.LittleEndian.PutUint64(ful[j:], rng.Uint64())
	}
	payer := rng.IntN(len(ids))
	payee := (payer + 1 + rng.IntN(len(ids)-1)) % len(ids)
	prepare = ledger.Command{
		Op: ledger.OpPrepare, ID: id, Payer: ids[payer], Payee: ids[payee], Currency: "USD",
		Amount: 1 + rng.Int64N(100000), Condition: sha256.Sum256(ful[:]), Expiry: time.Now().Add(time.Minute),
	}
	return prepare, ledger.Command{Op: ledger.OpFulfil, ID: id, Fulfilment: ful}
}

// Ledger runs the ledger benchmark.
func Ledger(ctx context.Context, cfg LedgerConfig) (LedgerReport, error) {
	if cfg.Submitters <= 0 {
		cfg.Submitters = 2048
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1
	}
	if cfg.Participants < 2 {
		cfg.Participants = 16
	}
	if cfg.Duration <= 0 && cfg.Transfers <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := pebble.Open(cfg.Dir, pebble.Options{Logger: cfg.Logger})
	if err != nil {
		return LedgerReport{}, err
	}
	defer func() {
		if cfg.StoreMetrics != nil {
			fmt.Fprintln(cfg.StoreMetrics, st.Metrics())
		}
		st.Close()
	}()
	w, err := writer.Open(ctx, st, writer.Config{Logger: cfg.Logger})
	if err != nil {
		return LedgerReport{}, err
	}
	defer w.Close()
	ids, err := Setup(ctx, w, cfg.Participants)
	if err != nil {
		return LedgerReport{}, err
	}
	start := w.Stats()

	var (
		done      atomic.Int64
		failed    atomic.Int64
		remaining atomic.Int64
		prepLat   histogram
		fulLat    histogram
		wg        sync.WaitGroup
	)
	remaining.Store(cfg.Transfers)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Transfers <= 0 {
		runCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	began := time.Now()
	for g := 0; g < cfg.Submitters; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(g)))
			prepares := make([]ledger.Command, cfg.Batch)
			fulfils := make([]ledger.Command, cfg.Batch)
			for runCtx.Err() == nil {
				n := cfg.Batch
				if cfg.Transfers > 0 {
					left := remaining.Add(-int64(n))
					if left < 0 {
						n += int(left)
					}
					if n <= 0 {
						break
					}
				}
				for i := range n {
					prepares[i], fulfils[i] = payment(rng, ids)
				}
				t0 := time.Now()
				ok := submit(w, prepares[:n], &failed)
				t1 := time.Now()
				ok = ok && submit(w, fulfils[:n], &failed)
				t2 := time.Now()
				if !ok {
					continue
				}
				prepLat.add(t1.Sub(t0))
				fulLat.add(t2.Sub(t1))
				done.Add(int64(n))
			}
		}(g)
	}
	if cfg.Progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			last := int64(0)
			for {
				select {
				case <-runCtx.Done():
					return
				case <-t.C:
					n := done.Load()
					fmt.Fprintf(cfg.Progress, "  %6.1fs  %9d transfers  %8d/s  RSS %d MiB\n",
						time.Since(began).Seconds(), n, n-last, RSS()>>20)
					last = n
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	if cfg.AtEnd != nil {
		if err := cfg.AtEnd(); err != nil {
			return LedgerReport{}, err
		}
	}
	cancel()
	end := w.Stats()
	r := LedgerReport{
		Transfers:    done.Load(),
		Failed:       failed.Load(),
		Elapsed:      elapsed,
		Prepare:      prepLat.summary(),
		Fulfil:       fulLat.summary(),
		Batches:      end.Batches - start.Batches,
		MaxBatch:     end.MaxBatch,
		PeakRSSBytes: PeakRSS(),
		Submitters:   cfg.Submitters,
		Batch:        cfg.Batch,
		Seed:         cfg.Seed,
	}
	r.PerSecond = float64(r.Transfers) / elapsed.Seconds()
	if r.Batches > 0 {
		r.MeanBatch = float64(end.Commands-start.Commands) / float64(r.Batches)
	}
	return r, nil
}
