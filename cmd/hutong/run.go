package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hutong/hutong/admin"
	"github.com/hutong/hutong/audit"
	"github.com/hutong/hutong/bench"
	"github.com/hutong/hutong/closing"
	"github.com/hutong/hutong/fspiop"
	"github.com/hutong/hutong/hub"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
)

// Run runs the hutong command line with args (without the program name).
func Run(ctx context.Context, args []string) error {
	root := &cobra.Command{
		Use:           "hutong",
		Short:         "hutong is an interoperability switch for digital wallets and banks",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var memLimit int64
	root.PersistentFlags().Int64Var(&memLimit, "memory-limit-mib", 768,
		"soft limit on the Go heap in MiB (runtime/debug.SetMemoryLimit); 0 for none. Pebble's 256 MiB cache and memtables come on top")
	var gcPercent, procs int
	root.PersistentFlags().IntVar(&gcPercent, "gc-percent", 400,
		"Go's GC target (runtime/debug.SetGCPercent; the GOGC environment variable wins); the memory limit bounds the heap it allows")
	root.PersistentFlags().IntVar(&procs, "procs", 0,
		"threads running Go code at once (GOMAXPROCS; the environment variable wins); 0 for one more than the CPUs, so that a thread blocked in a journal sync does not leave a CPU idle")
	root.PersistentPreRun = func(*cobra.Command, []string) {
		if memLimit > 0 {
			debug.SetMemoryLimit(memLimit << 20)
		}
		if os.Getenv("GOGC") == "" && gcPercent != 0 {
			debug.SetGCPercent(gcPercent)
		}
		if os.Getenv("GOMAXPROCS") == "" {
			if procs <= 0 {
				procs = runtime.NumCPU() + 1
			}
			runtime.GOMAXPROCS(procs)
		}
	}
	root.AddCommand(serveCmd(ctx), verifyCmd(ctx), benchCmd(ctx), simCmd(ctx), settlementCmd(ctx), reportCmd(ctx), statementCmd(ctx), reconcileCmd(ctx), liquidityCmd(ctx))
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

func logger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func serveCmd(ctx context.Context) *cobra.Command {
	var (
		dataDir string
		addr    string
		apiAddr string
		demo    bool
		verbose bool
		closeAt string
		zone    string
		keep    time.Duration
		tokFile string
	)
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the switch: the FSPIOP API, the admin API and the ledger on its embedded store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := logger(cmd.ErrOrStderr(), level)
			if demo && dataDir == "" {
				dataDir = filepath.Join(os.TempDir(), "hutong-demo")
			}
			if dataDir == "" {
				return errors.New("serve needs --data DIR (or --demo, which uses a directory under the system's temporary directory)")
			}
			if keep < time.Minute {
				return fmt.Errorf("--quote-retention %v: keep quote records at least 1m, so that their answers and resends are recognised", keep)
			}
			token, err := adminToken(tokFile)
			if err != nil {
				return err
			}
			if token == "" && !isLoopback(addr, net.LookupIP) {
				return fmt.Errorf("--addr %s is not a loopback address: set an admin token ($%s or --admin-token-file) so that only the operator can use the admin API", addr, admin.TokenEnv)
			}
			cfg := hub.Config{Dir: dataDir, AdminAddr: addr, APIAddr: apiAddr, Logger: log, QuoteRetention: keep, AdminToken: token}
			if demo && closeAt == "" {
				closeAt = "every 1m"
			}
			if closeAt != "" {
				loc, err := time.LoadLocation(zone)
				if err != nil {
					return fmt.Errorf("--timezone: %w", err)
				}
				s, err := closing.ParseSchedule(closeAt, loc)
				if err != nil {
					return fmt.Errorf("--close-windows: %w", err)
				}
				cfg.CloseWindows = &s
			}
			return serve(ctx, log, cmd.OutOrStdout(), cfg, demo)
		},
	}
	c.Flags().StringVar(&closeAt, "close-windows", "", `close settlement windows on a schedule: "every 15m" or "at 00:00,12:00" (default: only when the operator closes them; "every 1m" with --demo)`)
	c.Flags().StringVar(&zone, "timezone", "UTC", "time zone of --close-windows, as an IANA name such as Asia/Shanghai")
	c.Flags().StringVar(&tokFile, "admin-token-file", "", "file holding the admin API's bearer token (default: $"+admin.TokenEnv+"; none: the admin API is open, allowed only on a loopback --addr)")
	c.Flags().DurationVar(&keep, "quote-retention", fspiop.DefaultRetention, "how long quote and transaction request records are kept (at least 1m): resends, answers and lookups within it are recognised")
	c.Flags().StringVar(&dataDir, "data", "", "directory of the embedded store (created if absent)")
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:7070", "address of the admin API (the hub operator's; keep it private)")
	c.Flags().StringVar(&apiAddr, "fspiop-addr", "127.0.0.1:7071", "address of the FSPIOP API, where participants connect")
	c.Flags().BoolVar(&demo, "demo", false, "create demo participants with currencies, limits and collateral")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "log at debug level")
	return c
}

func serve(ctx context.Context, log *slog.Logger, out io.Writer, cfg hub.Config, demo bool) error {
	dataDir := cfg.Dir
	h, err := hub.Start(ctx, cfg)
	if err != nil {
		return err
	}
	closeHub := func() error {
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return h.Close(sctx)
	}
	if demo {
		if err := seedDemo(ctx, h.Writer, log); err != nil {
			return errors.Join(err, closeHub())
		}
	}
	log.Info("hutong is serving", "admin_api", h.AdminURL+"/admin/v1", "fspiop_api", h.APIURL, "data", dataDir)
	var demoDone <-chan error
	if demo {
		demoDone = runDemo(ctx, h, out, log, cfg.AdminToken != "")
	}
	select {
	case err := <-h.Done():
		return errors.Join(err, closeHub())
	case err := <-demoDone:
		if err != nil && ctx.Err() == nil {
			return errors.Join(fmt.Errorf("demo: %w", err), closeHub())
		}
	case <-ctx.Done():
	}
	if demoDone != nil {
		<-demoDone
	}
	return closeHub()
}

// demoParticipants are the demo's wallets and bank.
var demoParticipants = []struct{ id, name string }{
	{"greenbank", "Green Bank"},
	{"mobimoney", "MobiMoney Wallet"},
	{"payfast", "PayFast Wallet"},
}

func seedDemo(ctx context.Context, w *writer.Writer, log *slog.Logger) error {
	usd, _ := money.Lookup("USD")
	for i, p := range demoParticipants {
		ndc, _ := money.ParseAmount("50000", usd)
		funds, _ := money.ParseAmount("100000", usd)
		fundID := ledger.ID{0xde, 0x00, byte(i + 1)}
		fundID[6], fundID[8] = 0x40, 0x80
		cmds := []ledger.Command{
			{Op: ledger.OpCreateParticipant, Participant: p.id, Name: p.name},
			{Op: ledger.OpEnableCurrency, Participant: p.id, Currency: "USD"},
			{Op: ledger.OpSetNDC, Participant: p.id, Currency: "USD", Amount: ndc},
			{Op: ledger.OpFundsIn, ID: fundID, Participant: p.id, Currency: "USD", Amount: funds},
		}
		for _, c := range cmds {
			r, err := w.Submit(ctx, c)
			if err != nil {
				return fmt.Errorf("demo: %s for %s: %w", c.Op, p.id, err)
			}
			if !r.Duplicate {
				log.Info("demo: done", "op", c.Op.String(), "participant", p.id)
			}
		}
		log.Info("demo participant ready", "id", p.id, "name", p.name, "currency", "USD",
			"ndc", money.Format(ndc, usd), "collateral", money.Format(funds, usd))
	}
	return nil
}

func verifyCmd(ctx context.Context) *cobra.Command {
	var dataDir string
	c := &cobra.Command{
		Use:   "verify",
		Short: "Check the journal's hash chain and recompute every balance and transfer from it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				return errors.New("verify needs --data DIR")
			}
			if _, err := os.Stat(dataDir); err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			st, err := pebble.Open(dataDir, pebble.Options{Logger: logger(cmd.ErrOrStderr(), slog.LevelWarn), ReadOnly: true})
			if err != nil {
				return exitCode{2, err}
			}
			defer st.Close()
			out := cmd.OutOrStdout()
			began := time.Now()
			last := began
			r, err := audit.Verify(ctx, st, func(entries, commands uint64) {
				if time.Since(last) >= 5*time.Second {
					last = time.Now()
					fmt.Fprintf(cmd.ErrOrStderr(), "  %4.0fs  %d journal entries, %d commands replayed and checked\n",
						time.Since(began).Seconds(), entries, commands)
				}
			})
			if err != nil {
				var f *audit.Failure
				if errors.As(err, &f) {
					fmt.Fprintf(out, "FAILED: %v\n", f)
					return exitCode{1, errors.New("verify failed")}
				}
				return exitCode{2, err}
			}
			fmt.Fprintf(out, "OK in %.1fs: %s\n", time.Since(began).Seconds(), r)
			return nil
		},
	}
	c.Flags().StringVar(&dataDir, "data", "", "directory of the embedded store")
	return c
}

// benchDir returns the store directory of a benchmark: dir, which must be
// empty or new, or else a new temporary one that cleanup removes unless
// keep is set.
func benchDir(dir, prefix string, keep bool) (string, func(), error) {
	if dir != "" {
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return "", nil, fmt.Errorf("bench: %s is not empty; give an empty or new directory", dir)
		}
		return dir, func() {}, nil
	}
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	if keep {
		return d, func() {}, nil
	}
	return d, func() { os.RemoveAll(d) }, nil
}

func benchCmd(ctx context.Context) *cobra.Command {
	c := &cobra.Command{Use: "bench", Short: "Measure hutong"}
	var cfg bench.LedgerConfig
	var keep bool
	var cpuProfile, memProfile string
	var storeMetrics bool
	l := &cobra.Command{
		Use:   "ledger",
		Short: "Durable two-phase transfers (prepare then fulfil) from many concurrent submitters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, cleanup, err := benchDir(cfg.Dir, "hutong-bench-", keep)
			if err != nil {
				return err
			}
			defer cleanup()
			cfg.Dir = dir
			cfg.Progress = cmd.ErrOrStderr()
			if storeMetrics {
				cfg.StoreMetrics = cmd.ErrOrStderr()
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			fmt.Fprintf(cmd.OutOrStdout(), "hutong bench ledger: store %s\n", cfg.Dir)
			if memProfile != "" {
				cfg.AtEnd = func() error {
					f, err := os.Create(memProfile)
					if err != nil {
						return err
					}
					defer f.Close()
					return pprof.Lookup("heap").WriteTo(f, 0)
				}
			}
			r, err := bench.Ledger(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), r.String())
			return nil
		},
	}
	l.Flags().StringVar(&cfg.Dir, "data", "", "store directory (default: a new temporary directory, removed afterwards)")
	l.Flags().BoolVar(&keep, "keep", false, "keep the temporary store directory")
	l.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) to this file")
	l.Flags().BoolVar(&storeMetrics, "store-metrics", false, "print Pebble's metrics for each of the store's databases at the end")
	l.Flags().StringVar(&memProfile, "memprofile", "", "write a heap profile (pprof), taken as the run ends, to this file")
	l.Flags().DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to run")
	l.Flags().Int64Var(&cfg.Transfers, "transfers", 0, "stop after this many transfers instead of after --duration")
	l.Flags().IntVar(&cfg.Submitters, "submitters", 4096, "concurrent submitters")
	l.Flags().IntVar(&cfg.Batch, "batch", 1, "transfers each submitter sends per call (more than 1: one SubmitMany call each for the prepares and the fulfils)")
	l.Flags().IntVar(&cfg.Participants, "participants", 16, "participants the transfers are spread over")
	l.Flags().Uint64Var(&cfg.Seed, "seed", 1, "seed for ids and the choice of payer and payee")
	c.AddCommand(l)
	c.AddCommand(benchE2ECmd(ctx))
	c.AddCommand(benchSettlementCmd(ctx))
	return c
}

func benchSettlementCmd(ctx context.Context) *cobra.Command {
	var cfg bench.SettlementConfig
	var keep bool
	c := &cobra.Command{
		Use:   "settlement",
		Short: "Close a settlement window of a million payments and settle it while payments keep flowing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, cleanup, err := benchDir(cfg.Dir, "hutong-bench-settlement-", keep)
			if err != nil {
				return err
			}
			defer cleanup()
			cfg.Dir = dir
			cfg.Progress = cmd.ErrOrStderr()
			fmt.Fprintf(cmd.OutOrStdout(), "hutong bench settlement: store %s\n", cfg.Dir)
			r, err := bench.Settlement(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), r.String())
			return nil
		},
	}
	c.Flags().StringVar(&cfg.Dir, "data", "", "store directory (default: a new temporary directory, removed afterwards)")
	c.Flags().BoolVar(&keep, "keep", false, "keep the temporary store directory")
	c.Flags().Int64Var(&cfg.Transfers, "transfers", 1_000_000, "committed payments in the window before it closes")
	c.Flags().IntVar(&cfg.Participants, "participants", 20, "participants the payments are spread over")
	c.Flags().IntVar(&cfg.Load, "load", 64, "concurrent submitters paying while the window closes and settles")
	c.Flags().DurationVar(&cfg.Around, "around", 3*time.Second, "how long the load runs before the close and after the settlement")
	c.Flags().Uint64Var(&cfg.Seed, "seed", 1, "seed for ids and the choice of payer and payee")
	return c
}

// adminToken reads the admin API's token from file, else from the
// environment; "" when neither is set. A token must be at least
// admin.MinTokenLength printable characters. A file named but empty is an
// error: the operator asked for a token, and the API must not open.
func adminToken(file string) (string, error) {
	token, from := os.Getenv(admin.TokenEnv), "$"+admin.TokenEnv
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--admin-token-file: %w", err)
		}
		token, from = strings.TrimSpace(string(b)), file
		if token == "" {
			return "", fmt.Errorf("--admin-token-file: %s is empty", file)
		}
	}
	if token == "" {
		return "", nil
	}
	if len(token) < admin.MinTokenLength {
		return "", fmt.Errorf("the admin token in %s has %d characters; use at least %d (for example: openssl rand -hex 32)", from, len(token), admin.MinTokenLength)
	}
	for _, r := range token {
		if r <= ' ' || r > '~' {
			return "", fmt.Errorf("the admin token in %s must be printable ASCII without spaces", from)
		}
	}
	return token, nil
}

// isLoopback reports whether the listen address addr is on a loopback
// interface only. The name localhost counts only when lookup resolves it
// to loopback addresses alone: a hosts file without it leaves it to DNS,
// which may answer with any address (through a search domain, say).
func isLoopback(addr string, lookup func(host string) ([]net.IP, error)) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	if host != "localhost" {
		return false
	}
	ips, err := lookup(host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}
