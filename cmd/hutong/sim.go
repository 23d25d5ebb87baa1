package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/hutong/hutong/admin"
	"github.com/hutong/hutong/sim"
)

// simCmd runs one simulated FSP against a running hub.
func simCmd(ctx context.Context) *cobra.Command {
	var (
		cfg          = sim.DefaultConfig()
		adminURL     string
		setup        bool
		name         string
		ndc, funds   string
		callbackBase string
		payTo        string
		from         string
		amount       string
		count        int
		rate         float64
	)
	c := &cobra.Command{
		Use:   "sim",
		Short: "Run a simulated FSP (wallet) against a hub, optionally onboarding it and sending payments",
		Long: `Run a simulated FSP: an FSPIOP v1.1 server that answers the hub as payee
(parties, quotes, transfers) and pays as payer.

Its customers have the aliases MSISDN <prefix><i in six digits>, i from 1,
where the prefix is "99" and six digits derived from the FSP id, so another
sim can pay them knowing only the id; they are printed at start.

With --setup it first onboards itself over the admin API (participant,
currency, NDC, funds in, callback endpoint). It always registers its
customers' aliases with the hub. With --pay-to it then sends --count payments
of --amount at --rate per second and prints each. It runs until Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if setup && adminURL == "" {
				return errors.New("sim: --setup needs --admin URL")
			}
			var to sim.Party
			if payTo != "" {
				p, err := sim.ParseParty(payTo)
				if err != nil {
					return err
				}
				to = p
			}
			if count < 1 || rate < 0 {
				return errors.New("sim: --count must be at least 1 and --rate not negative")
			}
			return runSim(ctx, cmd.OutOrStdout(), cfg, simOptions{
				adminURL: adminURL, setup: setup, name: name, ndc: ndc, funds: funds, callbackBase: callbackBase,
				payTo: to, pay: payTo != "", from: from, amount: amount, count: count, rate: rate,
			})
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.HubURL, "hub", "http://127.0.0.1:7071", "base URL of the hub's FSPIOP API")
	f.StringVar(&adminURL, "admin", "http://127.0.0.1:7070", "base URL of the hub's admin API (for --setup; the token in $"+admin.TokenEnv+", if set, is sent)")
	f.StringVar(&cfg.ID, "fsp", "", "FSP id (required)")
	f.StringVar(&cfg.Addr, "addr", cfg.Addr, "address the FSP listens on")
	f.IntVar(&cfg.Customers, "customers", cfg.Customers, "number of customers")
	f.StringVar(&cfg.Currency, "currency", cfg.Currency, "currency of the customers' accounts")
	f.StringVar(&cfg.Behaviour.Fee, "fee", "0", "payee FSP fee added to every quote")
	f.StringVar(&cfg.Balance, "balance", cfg.Balance, "opening balance of every customer")
	f.BoolVar(&cfg.Behaviour.RejectQuotes, "reject-quotes", false, "answer every quote with an error callback")
	f.BoolVar(&cfg.Behaviour.NoAnswer, "no-answer", false, "leave every incoming transfer unanswered")
	f.BoolVar(&cfg.Behaviour.WrongFulfilment, "wrong-fulfilment", false, "answer incoming transfers with a wrong fulfilment")
	f.BoolVar(&cfg.Behaviour.CommitNotification, "commit-notification", false, "answer incoming transfers RESERVED and wait for the hub's PATCH")
	f.BoolVar(&setup, "setup", false, "onboard the FSP over the admin API first")
	f.StringVar(&name, "name", "", "participant name for --setup (default the id)")
	f.StringVar(&ndc, "ndc", "100000", "net debit cap for --setup")
	f.StringVar(&funds, "funds", "100000", "collateral deposited by --setup")
	f.StringVar(&callbackBase, "callback-base", "", "callback base URL registered by --setup (default the FSP's own URL)")
	f.StringVar(&payTo, "pay-to", "", "pay this party, TYPE/ID[/SUBID], e.g. MSISDN/99123456000001")
	f.StringVar(&from, "from", "", "paying customer's MSISDN (default: the customers in turn)")
	f.StringVar(&amount, "amount", "10", "amount of each payment")
	f.IntVar(&count, "count", 1, "number of payments")
	f.Float64Var(&rate, "rate", 1, "payments started per second; 0 sends them one after the other")
	c.MarkFlagRequired("fsp")
	return c
}

type simOptions struct {
	adminURL, name, ndc, funds, callbackBase string
	setup                                    bool
	payTo                                    sim.Party
	pay                                      bool
	from, amount                             string
	count                                    int
	rate                                     float64
}

func runSim(ctx context.Context, out io.Writer, cfg sim.Config, o simOptions) error {
	fsp, err := sim.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		fsp.Close(sctx)
	}()
	cs := fsp.Customers()
	fmt.Fprintf(out, "sim %s is serving FSPIOP at %s (hub %s)\n", fsp.ID(), fsp.URL(), cfg.HubURL)
	if len(cs) > 0 {
		fmt.Fprintf(out, "customers: %s (%s %s) .. %s, %s %s each\n",
			cs[0].Party, cs[0].FirstName, cs[0].LastName, cs[len(cs)-1].Party, cs[0].Balance, fsp.Currency())
	}
	if o.setup {
		base := o.callbackBase
		if base == "" {
			base = fsp.URL()
		}
		if err := sim.Setup(ctx, o.adminURL, sim.Onboarding{FSP: cfg.ID, Name: o.name, Currency: cfg.Currency,
			NDC: o.ndc, Funds: o.funds, CallbackBase: base, AdminToken: os.Getenv(admin.TokenEnv)}); err != nil {
			return err
		}
		fmt.Fprintf(out, "onboarded %s: %s enabled, NDC %s, funds %s, callbacks to %s\n", cfg.ID, cfg.Currency, o.ndc, o.funds, base)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = fsp.Register(rctx)
	cancel()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "registered %d aliases with the hub\n", len(cs))
	if o.pay {
		if err := simPayments(ctx, out, fsp, cs, o); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "press Ctrl-C to stop")
	<-ctx.Done()
	s := fsp.Stats()
	fmt.Fprintf(out, "stopping: received %d requests (%d protocol errors), sent %d (%d failed)\n",
		s.Received, s.ProtocolErrors, s.Sent, s.SendFailures)
	return nil
}

// simPayments sends o.count payments, o.rate per second, and prints each.
func simPayments(ctx context.Context, out io.Writer, fsp *sim.FSP, cs []sim.Customer, o simOptions) error {
	if o.from == "" && len(cs) == 0 {
		return errors.New("sim: no customer to pay from")
	}
	var (
		mu       sync.Mutex // guards out and the counts
		ok, fail int
		wg       sync.WaitGroup
	)
	pay := func(i int) {
		defer wg.Done()
		from := o.from
		if from == "" {
			from = cs[i%len(cs)].Party.ID
		}
		pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		p, err := fsp.Pay(pctx, from, o.payTo, o.amount, fsp.Currency())
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			fail++
			fmt.Fprintf(out, "payment %d/%d from %s: %v\n", i+1, o.count, from, err)
			return
		}
		ok++
		fmt.Fprintf(out, "payment %d/%d from %s to %s (%s at %s): %s, transfer amount %s %s; discovery %v, quote %v, transfer %v\n",
			i+1, o.count, from, p.Payee, p.PayeeName, p.PayeeFSP, p.State, p.TransferAmount, p.Currency,
			p.Phases.Discovery.Round(time.Microsecond), p.Phases.Quote.Round(time.Microsecond), p.Phases.Transfer.Round(time.Microsecond))
	}
	var tick *time.Ticker
	if o.rate > 0 {
		tick = time.NewTicker(time.Duration(float64(time.Second) / o.rate))
		defer tick.Stop()
	}
	for i := range o.count {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		if tick == nil {
			pay(i)
			continue
		}
		go pay(i)
		if i < o.count-1 {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
	}
	wg.Wait()
	fmt.Fprintf(out, "%d payments committed, %d failed\n", ok, fail)
	return nil
}
