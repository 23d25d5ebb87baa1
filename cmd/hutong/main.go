// Command hutong is the interoperability switch: it runs the hub, verifies
// its ledger, simulates wallets and measures it.
//
//	hutong serve  [--data DIR] [--addr HOST:PORT] [--fspiop-addr HOST:PORT] [--demo]
//	hutong verify --data DIR
//	hutong sim    --fsp ID [--hub URL] [--admin URL] [--setup] [--pay-to TYPE/ID ...]
//	hutong bench ledger [--duration D | --transfers N] [--submitters N]
//	hutong bench e2e [--mode p2p|transfer] [--duration D] [--concurrency N]
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
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
