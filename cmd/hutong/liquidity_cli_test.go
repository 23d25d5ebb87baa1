package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/hutong/hutong/ledger"
)

// runLiquidity runs `hutong liquidity args...` and returns what it printed.
func runLiquidity(args ...string) (string, error) {
	c := liquidityCmd(context.Background())
	var out bytes.Buffer
	c.SetOut(&out)
	c.SetErr(io.Discard)
	c.SetArgs(args)
	err := c.ExecuteContext(context.Background())
	return out.String(), err
}

// TestLiquidityCLI sets a cap and moves collateral in and out through the
// commands, and checks the ledger after each.
func TestLiquidityCLI(t *testing.T) {
	srv, w, _ := adminServer(t)
	account := func(typ ledger.AccountType) (ledger.Account, ledger.Participant) {
		var a ledger.Account
		var p ledger.Participant
		w.Query(context.Background(), func(l *ledger.Ledger) {
			a, _ = l.Account(ledger.AccountKey{Participant: "a", Currency: "USD", Type: typ})
			p, _ = l.Participant("a")
		})
		return a, p
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := runLiquidity(append(args, "--admin", srv.URL)...)
		if err != nil {
			t.Fatalf("liquidity %v: %v", args, err)
		}
		return out
	}
	run("ndc", "a", "USD", "2500.5")
	if _, p := account(ledger.AccountSettlement); p.Currencies[0].NDC != 250050 {
		t.Errorf("cap %d after ndc 2500.5, want 250050", p.Currencies[0].NDC)
	}
	const in, out = "0e7b3c1a-2d4e-4f60-8a1b-2c3d4e5f6a7b", "0e7b3c1a-2d4e-4f60-8a1b-2c3d4e5f6a7c"
	run("funds-in", "a", "USD", "10", "--id", in)
	run("funds-in", "a", "USD", "10", "--id", in) // a retry is applied once
	if a, _ := account(ledger.AccountSettlement); a.Balance() != 100000+1000 {
		t.Errorf("settlement balance %d after funds in of 10 (sent twice), want %d", a.Balance(), 100000+1000)
	}
	run("funds-out", "a", "USD", "4", "--id", out)
	if a, _ := account(ledger.AccountSettlement); a.CreditsPending != 400 {
		t.Errorf("%d reserved after funds out of 4, want 400", a.CreditsPending)
	}
	run("funds-out-commit", out)
	if a, _ := account(ledger.AccountSettlement); a.Balance() != 100000+1000-400 || a.CreditsPending != 0 {
		t.Errorf("settlement account %+v after the commit", a)
	}
	if got := run("accounts", "a"); !bytes.Contains([]byte(got), []byte(`"SETTLEMENT"`)) {
		t.Errorf("accounts printed %q", got)
	}
	if _, err := runLiquidity("funds-out-abort", out, "--reason", "late", "--admin", srv.URL); err == nil {
		t.Errorf("aborting a committed funds out succeeded")
	}
	if _, err := runLiquidity("ndc", "a", "USD", "1.234", "--admin", srv.URL); err == nil {
		t.Errorf("a cap with more decimals than USD has was taken")
	} else {
		refusedWith(t, err, "INVALID_AMOUNT")
	}
	if _, err := runLiquidity("alerts", "--admin", srv.URL); err == nil {
		t.Errorf("alerts without a monitor answered, want 503")
	}
}
