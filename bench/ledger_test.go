package bench

import (
	"context"
	"testing"
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
