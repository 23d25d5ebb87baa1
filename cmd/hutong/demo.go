package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong/admin"
	"github.com/hutong/hutong/hub"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
	"github.com/hutong/hutong/sim"
)

// demoRate is how many payments a second the demo sends.
const demoRate = 20

// runDemo starts a simulated FSP for each demo participant, registers
// their customers, sends a steady stream of payments between them and
// prints a summary every few seconds, until ctx ends. The channel gets the
// demo's error, or nil once it has stopped. token says whether the admin
// API needs the operator's token: the commands it suggests then send it.
func runDemo(ctx context.Context, h *hub.Hub, out io.Writer, log *slog.Logger, token bool) <-chan error {
	done := make(chan error, 1)
	go func() { done <- demo(ctx, h, out, log, token) }()
	return done
}

func demo(ctx context.Context, h *hub.Hub, out io.Writer, log *slog.Logger, token bool) error {
	var fsps []*sim.FSP
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, f := range fsps {
			f.Close(cctx)
		}
	}()
	for _, p := range demoParticipants {
		cfg := sim.DefaultConfig()
		cfg.ID, cfg.HubURL, cfg.Customers = p.id, h.APIURL, 100
		f, err := sim.Start(ctx, cfg)
		if err != nil {
			return err
		}
		fsps = append(fsps, f)
		if err := h.Endpoints.SetBase(ctx, p.id, f.URL()); err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = f.Register(rctx)
		cancel()
		if err != nil {
			return fmt.Errorf("register %s's customers: %w", p.id, err)
		}
		log.Info("demo wallet ready", "fsp", p.id, "callbacks", f.URL(), "customers", cfg.Customers)
	}
	payee := fsps[0]
	curl := "curl -s"
	if token {
		curl = `curl -s -H "Authorization: Bearer $` + admin.TokenEnv + `"`
	}
	fmt.Fprintf(out, `
hutong demo: %s (a bank), %s and %s pay each other, %d payments a second.
The ledger is in the directory given by --data. Try:
  %[8]s %[5]s/admin/v1/participants
  %[8]s '%[5]s/admin/v1/positions?currency=USD'
  %[8]s %[5]s/admin/v1/participants/greenbank/transfers?limit=5
  %[8]s %[5]s/admin/v1/participants/greenbank/endpoints
  %[8]s %[5]s/admin/v1/stats
The FSPIOP API is at %[6]s; a wallet of your own can join with
  go run ./cmd/hutong sim --hub %[6]s --admin %[5]s --fsp mywallet --setup --pay-to MSISDN/%[7]s --amount 10 --count 5
Press Ctrl-C to stop.

`, demoParticipants[0].name, demoParticipants[1].name, demoParticipants[2].name, demoRate,
		h.AdminURL, h.APIURL, payee.Customers()[0].Party.ID, curl)

	var sent, ok atomic.Int64
	var mu sync.Mutex // guards failures
	failures := map[string]int{}
	var wg sync.WaitGroup
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	tick := time.NewTicker(time.Second / demoRate)
	defer tick.Stop()
	report := time.NewTicker(5 * time.Second)
	defer report.Stop()
	last, lastOK := time.Now(), int64(0)
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-report.C:
			n := ok.Load()
			rate := float64(n-lastOK) / time.Since(last).Seconds()
			last, lastOK = time.Now(), n
			mu.Lock()
			fails := summarize(failures)
			mu.Unlock()
			fmt.Fprintf(out, "%s  %5.1f transfers/s  %d sent, %d committed (%.1f%%)%s\n  positions: %s\n",
				time.Now().Format("15:04:05"), rate, sent.Load(), n, percent(n, sent.Load()), fails, positions(ctx, h))
		case <-tick.C:
			i := rng.IntN(len(fsps))
			j := (i + 1 + rng.IntN(len(fsps)-1)) % len(fsps)
			from, to := fsps[i], fsps[j]
			fc, tc := from.Customers(), to.Customers()
			payerC, payeeC := fc[rng.IntN(len(fc))], tc[rng.IntN(len(tc))]
			amount := fmt.Sprintf("%d.%02d", 1+rng.IntN(200), rng.IntN(100))
			amount = strings.TrimSuffix(strings.TrimSuffix(amount, "0"), ".0")
			wg.Add(1)
			sent.Add(1)
			go func() {
				defer wg.Done()
				pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				defer cancel()
				_, err := from.Pay(pctx, payerC.Party.ID, payeeC.Party, amount, "USD")
				if err == nil {
					ok.Add(1)
					return
				}
				key := "error"
				var se *sim.Error
				if errors.As(err, &se) && se.Code != "" {
					key = se.Code
				}
				mu.Lock()
				failures[key]++
				mu.Unlock()
			}()
		}
	}
}

func percent(n, of int64) float64 {
	if of == 0 {
		return 100
	}
	return 100 * float64(n) / float64(of)
}

func summarize(failures map[string]int) string {
	if len(failures) == 0 {
		return ""
	}
	keys := make([]string, 0, len(failures))
	for k := range failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("; failed:")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s x%d", k, failures[k])
	}
	return b.String()
}

// positions describes each demo participant's USD position: positive when
// it owes the others.
func positions(ctx context.Context, h *hub.Hub) string {
	usd, _ := money.Lookup("USD")
	var parts []string
	err := h.Writer.Query(ctx, func(l *ledger.Ledger) {
		for _, p := range demoParticipants {
			a, _ := l.Account(ledger.AccountKey{Participant: p.id, Currency: "USD", Type: ledger.AccountPosition})
			parts = append(parts, fmt.Sprintf("%s %s", p.id, money.Format(a.Balance(), usd)))
		}
	})
	if err != nil {
		return err.Error()
	}
	return strings.Join(parts, ", ")
}
