package bench

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/sim"
)

// TestE2ERuns runs the end-to-end benchmark briefly in each mode so that
// the harness itself is tested: payments complete without errors, every
// completed payment is in the histograms, the ledger checks pass and the
// derived figures follow from the counted ones.
func TestE2ERuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a hub and simulated FSPs for a few seconds")
	}
	tests := []struct {
		mode E2EMode
		raw  time.Duration
		rate float64
	}{
		{ModeP2P, 300 * time.Millisecond, 0},
		{ModeTransfer, 0, 0},
		{ModeTransfer, 0, 200}, // open loop
	}
	for i, tt := range tests {
		name := string(tt.mode)
		if tt.rate > 0 {
			name += "-open-loop"
		}
		t.Run(name, func(t *testing.T) {
			seed := uint64(20240601 + i)
			t.Logf("seed %d", seed)
			cfg := DefaultE2EConfig()
			cfg.Mode = tt.mode
			cfg.Dir = t.TempDir()
			cfg.FSPs = 3
			cfg.Customers = 20
			cfg.Concurrency = 8
			cfg.Rate = tt.rate
			cfg.Warmup = 200 * time.Millisecond
			cfg.Duration = 2 * time.Second
			cfg.RawDuration = tt.raw
			cfg.Sample = 50
			cfg.Verify = true
			cfg.Seed = seed
			r, err := E2E(context.Background(), cfg)
			if err != nil {
				t.Fatalf("E2E: %v\n%s", err, r)
			}
			t.Logf("\n%s", r)
			if r.Completed <= 0 {
				t.Fatalf("completed %d payments, want some", r.Completed)
			}
			if r.Errors != 0 || len(r.ErrorKinds) != 0 {
				t.Errorf("errors %d %v, want none", r.Errors, r.ErrorKinds)
			}
			if got, want := r.EndToEnd.Count, uint64(r.Completed); got != want {
				t.Errorf("end-to-end histogram holds %d payments, want %d", got, want)
			}
			if got, want := r.Transfer.Count, uint64(r.Completed); got != want {
				t.Errorf("transfer histogram holds %d payments, want %d", got, want)
			}
			wantPhase := uint64(r.Completed)
			if tt.mode == ModeTransfer {
				wantPhase = 0
			}
			if r.Discovery.Count != wantPhase || r.Quote.Count != wantPhase {
				t.Errorf("discovery and quote histograms hold %d and %d payments, want %d",
					r.Discovery.Count, r.Quote.Count, wantPhase)
			}
			if r.Succeeded < r.Completed || r.SimCommitted != r.Succeeded {
				t.Errorf("succeeded %d, FSPs committed %d, completed in the window %d", r.Succeeded, r.SimCommitted, r.Completed)
			}
			if r.EndToEnd.P50 <= 0 || r.EndToEnd.P99 < r.EndToEnd.P50 || r.EndToEnd.Max < r.EndToEnd.P99 {
				t.Errorf("end-to-end percentiles out of order: %+v", r.EndToEnd)
			}
			if r.EndToEnd.P50 < r.Transfer.P50 {
				t.Errorf("end-to-end p50 %v is less than the transfer phase's %v", r.EndToEnd.P50, r.Transfer.P50)
			}
			if got, want := r.RoundTripsPerPayment, tt.mode.RoundTrips(); got != want {
				t.Errorf("round trips per payment %d, want %d", got, want)
			}
			if got, want := r.HubRoundTrips, r.PerSecond*float64(r.RoundTripsPerPayment); got != want {
				t.Errorf("hub round trips %g/s, want %g", got, want)
			}
			if tt.raw > 0 && (r.RawRoundTrips <= 0 || r.RawConcurrency != 2*cfg.Concurrency || r.RawFraction != r.HubRoundTrips/r.RawRoundTrips) {
				t.Errorf("raw HTTP: %g round trips/s from %d, fraction %g", r.RawRoundTrips, r.RawConcurrency, r.RawFraction)
			}
			if tt.raw == 0 && (r.RawRoundTrips != 0 || r.RawFraction != 0) {
				t.Errorf("raw HTTP measured though not asked: %g", r.RawRoundTrips)
			}
			// Each payment is a prepare and a fulfil in the ledger. Commands
			// are counted as applied and batches as synced, so a window's
			// edges can hold one more batch than commands at a low rate.
			if r.Batches == 0 || r.MeanBatch < 0.9 {
				t.Errorf("writer: %d batches, mean %g", r.Batches, r.MeanBatch)
			}
			if got, want := r.CallbacksDelivered, uint64(r.Completed*int64(r.RoundTripsPerPayment/2)); got < want/2 {
				t.Errorf("%d callbacks delivered in the window, want about %d", got, want)
			}
			if r.CPU <= 0 || r.CPUPerPayment <= 0 || r.PeakRSSBytes <= 0 {
				t.Errorf("CPU %v, per payment %v, peak RSS %d", r.CPU, r.CPUPerPayment, r.PeakRSSBytes)
			}
			if r.PositionSum != 0 || r.AccountSum != 0 || r.Sampled == 0 || r.NotCommitted != 0 || r.ProtocolErrors != 0 {
				t.Errorf("checks: positions %d, accounts %d, %d of %d sampled not committed, %d protocol errors",
					r.PositionSum, r.AccountSum, r.NotCommitted, r.Sampled, r.ProtocolErrors)
			}
			if r.Audit == nil {
				t.Errorf("no audit report though Verify was set")
			}
			if s := r.String(); !strings.Contains(s, "payments/s") || strings.Contains(s, "PROBLEM") {
				t.Errorf("String() = %q", s)
			}
		})
	}
}

func TestE2EConfigValidate(t *testing.T) {
	valid := DefaultE2EConfig()
	valid.Dir = "somewhere"
	tests := []struct {
		name   string
		change func(*E2EConfig)
		ok     bool
	}{
		{"default with a dir", func(*E2EConfig) {}, true},
		{"transfer mode", func(c *E2EConfig) { c.Mode = ModeTransfer }, true},
		{"unknown mode", func(c *E2EConfig) { c.Mode = "p3p" }, false},
		{"no dir", func(c *E2EConfig) { c.Dir = "" }, false},
		{"one FSP", func(c *E2EConfig) { c.FSPs = 1 }, false},
		{"no customers", func(c *E2EConfig) { c.Customers = 0 }, false},
		{"too many customers", func(c *E2EConfig) { c.Customers = sim.MaxCustomers + 1 }, false},
		{"no concurrency", func(c *E2EConfig) { c.Concurrency = 0 }, false},
		{"negative rate", func(c *E2EConfig) { c.Rate = -1 }, false},
		{"no duration", func(c *E2EConfig) { c.Duration = 0 }, false},
		{"negative warmup", func(c *E2EConfig) { c.Warmup = -time.Second }, false},
		{"no warmup", func(c *E2EConfig) { c.Warmup = 0 }, true},
		{"no payment timeout", func(c *E2EConfig) { c.PaymentTimeout = 0 }, false},
		{"no raw measurement", func(c *E2EConfig) { c.RawDuration = 0 }, true},
		{"negative sample", func(c *E2EConfig) { c.Sample = -1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.change(&c)
			err := c.Validate()
			if got := err == nil; got != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&sim.Error{Phase: sim.PhaseTransfer, Code: "4001", Err: sim.ErrCallback}, "transfer: error callback 4001"},
		{&sim.Error{Phase: sim.PhaseQuote, Status: 400, Code: "3101", Err: sim.ErrRefused}, "quote: refused 400 3101"},
		{&sim.Error{Phase: sim.PhaseDiscovery, Status: 503, Err: sim.ErrRefused}, "discovery: refused 503"},
		{&sim.Error{Phase: sim.PhaseTransfer, Err: sim.ErrTimeout}, "transfer: no callback (timeout)"},
		{&sim.Error{Phase: sim.PhaseQuote, Err: sim.ErrRefused}, "quote: not sent"},
		{&sim.Error{Phase: sim.PhaseTransfer, Err: sim.ErrFulfilment}, "transfer: wrong fulfilment"},
		{sim.ErrClosed, "FSP closed"},
		{errors.New("something"), "other"},
	}
	for _, tt := range tests {
		if got := errorKind(tt.err); got != tt.want {
			t.Errorf("errorKind(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
