// Command hutong is the interoperability switch: it runs the hub, verifies
// its ledger, settles between participants, simulates wallets and measures
// it.
//
//	hutong serve  [--data DIR] [--addr HOST:PORT] [--fspiop-addr HOST:PORT] [--demo] [--close-windows SPEC --timezone TZ]
//	hutong settlement (models | windows | close-window | create | state | settle | ...) [--admin URL]
//	hutong liquidity (ndc | funds-in | funds-out | funds-out-commit | funds-out-abort | accounts | alerts) ...
//	hutong report (window | settlement) ID [--format json|csv]
//	hutong statement --participant X --currency C --account POSITION|SETTLEMENT [--from T --to T] [--format json|csv|camt053]
//	hutong reconcile --participant X --file their-records.csv [--from T --to T]
//	hutong verify --data DIR
//	hutong sim    --fsp ID [--hub URL] [--admin URL] [--setup] [--pay-to TYPE/ID ...]
//	hutong bench ledger [--duration D | --transfers N] [--submitters N]
//	hutong bench e2e [--mode p2p|transfer] [--duration D] [--concurrency N]
//	hutong bench settlement [--transfers N] [--load N]
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // --timezone works on machines without a time zone database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, os.Args[1:])
	stop()
	if err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			fmt.Fprintln(os.Stderr, "hutong:", ec.err)
			os.Exit(ec.code)
		}
		fmt.Fprintln(os.Stderr, "hutong:", err)
		os.Exit(1)
	}
}

// exitCode asks main to exit with code after printing err.
type exitCode struct {
	code int
	err  error
}

func (e exitCode) Error() string { return e.err.Error() }
func (e exitCode) Unwrap() error { return e.err }
