package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/spf13/cobra"

	"github.com/hutong/hutong/bench"
)

// benchE2ECmd is `hutong bench e2e`: the switch, end to end, with
// simulated FSPs in the same process.
func benchE2ECmd(ctx context.Context) *cobra.Command {
	cfg := bench.DefaultE2EConfig()
	var (
		mode                   string
		keep                   bool
		cpuProfile, memProfile string
		traceFile              string
		verbose                bool
	)
	c := &cobra.Command{
		Use:   "e2e",
		Short: "Payments between simulated FSPs through a hub in the same process, over HTTP on loopback",
		Long: `Start a hub on a new store and simulated FSPs, onboard the FSPs with limits and
collateral the run cannot exhaust, register their customers, and drive
payments between random customers of random pairs of FSPs for --duration
after --warmup. Before the hub starts, measure this machine's raw HTTP
capacity with the same client against a trivial handler.

--mode p2p runs whole payments (discovery, quote, transfer: 12 HTTP round
trips through the hub); --mode transfer runs the transfer phase alone (4).
At the end it checks that the ledger's positions sum to zero and that a
sample of the completed payments is committed in the ledger.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Mode = bench.E2EMode(mode)
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if cfg.Seed == 0 {
				cfg.Seed = rand.Uint64N(1<<53) + 1
			}
			dir, cleanup, err := benchDir(cfg.Dir, "hutong-bench-e2e-", keep)
			if err != nil {
				return err
			}
			defer cleanup()
			cfg.Dir = dir
			if err := cfg.Validate(); err != nil {
				return err
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			cfg.Logger = logger(errOut, level)
			cfg.Progress = errOut
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				profiling := false
				cfg.AtStart = func() error {
					profiling = true
					return pprof.StartCPUProfile(f)
				}
				defer func() {
					if profiling {
						pprof.StopCPUProfile()
					}
				}()
			}
			if traceFile != "" {
				f, err := os.Create(traceFile)
				if err != nil {
					return err
				}
				defer f.Close()
				startCPU := cfg.AtStart
				cfg.AtStart = func() error {
					if startCPU != nil {
						if err := startCPU(); err != nil {
							return err
						}
					}
					return trace.Start(f)
				}
				defer trace.Stop()
			}
			cfg.AtEnd = func() error {
				trace.Stop()
				pprof.StopCPUProfile()
				if memProfile == "" {
					return nil
				}
				f, err := os.Create(memProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				return pprof.Lookup("heap").WriteTo(f, 0)
			}
			fmt.Fprintf(out, "hutong bench e2e: mode %s, store %s, seed %d\n", cfg.Mode, cfg.Dir, cfg.Seed)
			r, err := bench.E2E(ctx, cfg)
			if err != nil && !errors.Is(err, bench.ErrCheck) {
				return err
			}
			fmt.Fprint(out, r.String())
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&mode, "mode", string(cfg.Mode), "p2p (discovery, quote, transfer) or transfer (the transfer phase alone)")
	f.DurationVar(&cfg.Duration, "duration", 60*time.Second, "how long to measure, after the warmup")
	f.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "how long to run before measuring")
	f.IntVar(&cfg.FSPs, "fsps", cfg.FSPs, "simulated FSPs")
	f.IntVar(&cfg.Customers, "customers", cfg.Customers, "customers of each FSP")
	f.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "payments in flight (workers)")
	f.Float64Var(&cfg.Rate, "rate", 0, "start payments at this many per second (open loop) instead of as fast as the workers go")
	f.DurationVar(&cfg.RawDuration, "raw-duration", cfg.RawDuration, "how long to measure raw HTTP capacity first; 0 skips it")
	f.IntVar(&cfg.SimWorkers, "sim-workers", 0, "goroutines each FSP answers requests with (0: the sim's default)")
	f.IntVar(&cfg.Sample, "sample", cfg.Sample, "completed payments to look up in the ledger at the end")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed for payers, payees, customers and amounts (0: a random one, printed)")
	f.BoolVar(&cfg.Verify, "verify", false, "run the full audit (as hutong verify does) on the store after the hub closes")
	f.StringVar(&cfg.Dir, "data", "", "store directory (default: a new temporary directory, removed afterwards)")
	f.BoolVar(&keep, "keep", false, "keep the temporary store directory")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) of the measured window to this file")
	f.StringVar(&memProfile, "memprofile", "", "write a heap profile (pprof), taken as the load stops, to this file")
	f.StringVar(&traceFile, "trace", "", "write an execution trace (runtime/trace) of the measured window to this file; keep --duration short")
	f.BoolVarP(&verbose, "verbose", "v", false, "show the hub's info logs (default: warnings only)")
	return c
}
