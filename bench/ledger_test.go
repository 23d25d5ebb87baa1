package bench

import (
	"context"
	"testing"
	"time"
)

// BenchmarkLedgerDurable runs b.N durable two-phase transfers through the
// writer on a Pebble store in a temporary directory, from 2,048 concurrent
// submitters. `hutong bench ledger` runs the same with more options.
func BenchmarkLedgerDurable(b *testing.B) {
	b.ReportAllocs()
	r, err := Ledger(context.Background(), LedgerConfig{Dir: b.TempDir(), Submitters: 2048, Transfers: int64(b.N)})
	if err != nil {
		b.Fatal(err)
	}
	if r.Failed != 0 || r.Transfers != int64(b.N) {
		b.Fatalf("%d transfers committed, %d failed, want %d and 0", r.Transfers, r.Failed, b.N)
	}
	b.ReportMetric(r.PerSecond, "transfers/s")
	b.ReportMetric(r.MeanBatch, "commands/batch")
}

// TestLedgerBenchmarkRuns runs a short benchmark so that the harness itself
// is tested: every transfer commits and the report adds up.
func TestLedgerBenchmarkRuns(t *testing.T) {
	r, err := Ledger(context.Background(), LedgerConfig{Dir: t.TempDir(), Submitters: 64, Transfers: 2000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if r.Transfers != 2000 || r.Failed != 0 {
		t.Fatalf("report %+v: want 2000 transfers and no failures", r)
	}
	if r.Batches == 0 || r.MeanBatch < 1 || r.Prepare.P50 <= 0 || r.Fulfil.P99 < r.Fulfil.P50 {
		t.Errorf("report does not add up: %+v", r)
	}
}

// TestSettlementBenchmarkRuns runs a small settlement benchmark: the window
// holds every payment once and the settlement settles.
func TestSettlementBenchmarkRuns(t *testing.T) {
	r, err := Settlement(context.Background(), SettlementConfig{Dir: t.TempDir(), Transfers: 3000, Participants: 5,
		Load: 8, Around: 200 * time.Millisecond, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.Filled != 3000 || r.InWindow < 3000 || r.Failed != 0 || r.Nets != 5 || r.LoadCount == 0 {
		t.Fatalf("report %+v: want 3000 filled, at least that many in the window, 5 nets, some load and no failures", r)
	}
	if r.Close <= 0 || r.Compute <= 0 || r.Baseline.P50 <= 0 {
		t.Errorf("report does not add up: %+v", r)
	}
}
