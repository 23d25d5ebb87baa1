package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/admin"
	"github.com/hutong/hutong/admin/adminapi"
	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
)

// adminServer serves the admin API over a real writer on a Pebble store,
// with participants a and b in USD.
func adminServer(t *testing.T) (*httptest.Server, *writer.Writer, *clock.Fake) {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	st, err := pebble.Open(t.TempDir(), pebble.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fake := clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	w, err := writer.Open(context.Background(), st, writer.Config{Clock: fake, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	srv := httptest.NewServer(admin.New(w, admin.Options{Logger: quiet}))
	t.Cleanup(srv.Close)
	for i, p := range []string{"a", "b"} {
		submit(t, w,
			ledger.Command{Op: ledger.OpCreateParticipant, Participant: p, Name: "Participant " + p},
			ledger.Command{Op: ledger.OpEnableCurrency, Participant: p, Currency: "USD"},
			ledger.Command{Op: ledger.OpSetNDC, Participant: p, Currency: "USD", Amount: 100000},
			ledger.Command{Op: ledger.OpFundsIn, ID: testID(0xf0 + byte(i)), Participant: p, Currency: "USD", Amount: 100000})
	}
	return srv, w, fake
}

func testID(n byte) ledger.ID {
	return ledger.ID{0: 0x11, 6: 0x40, 8: 0x80, 15: n}
}

func submit(t *testing.T, w *writer.Writer, cmds ...ledger.Command) {
	t.Helper()
	for _, c := range cmds {
		if _, err := w.Submit(context.Background(), c); err != nil {
			t.Fatalf("%s: %v", c.Op, err)
		}
	}
}

// pay commits a payment of minor units of USD.
func pay(t *testing.T, w *writer.Writer, now time.Time, n byte, payer, payee string, minor int64) {
	t.Helper()
	f := sha256.Sum256([]byte{n})
	submit(t, w,
		ledger.Command{Op: ledger.OpPrepare, ID: testID(n), Payer: payer, Payee: payee, Currency: "USD", Amount: minor,
			Condition: ledger.ConditionOf(f), Expiry: now.Add(time.Minute)},
		ledger.Command{Op: ledger.OpFulfil, ID: testID(n), Payee: payee, Fulfilment: f})
}

// runSettlement runs `hutong settlement args...` and returns what it
// printed.
func runSettlement(t *testing.T, args ...string) (string, error) {
	t.Helper()
	c := settlementCmd(context.Background())
	var out bytes.Buffer
	c.SetOut(&out)
	c.SetErr(io.Discard)
	c.SetArgs(args)
	err := c.ExecuteContext(context.Background())
	return out.String(), err
}

// mustRun is runSettlement that fails the test on an error.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runSettlement(t, args...)
	if err != nil {
		t.Fatalf("settlement %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// hasRow reports whether out has a line whose fields are fields.
func hasRow(out string, fields ...string) bool {
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}

// refusedWith checks err is the admin API's refusal with code.
func refusedWith(t *testing.T, err error, code string) {
	t.Helper()
	var ae *adminapi.Error
	if !errors.As(err, &ae) || ae.Code != code || ae.Message == "" || !strings.Contains(err.Error(), ae.Message) {
		t.Errorf("error %v, want the API's %s", err, code)
	}
}

func TestSettlementCLI(t *testing.T) {
	srv, w, fake := adminServer(t)
	admin := "--admin=" + srv.URL

	out := mustRun(t, "models", admin)
	if want := "CURRENCY  MODEL                      OPEN WINDOW\nUSD       DEFERRED_MULTILATERAL_NET  1\n"; out != want {
		t.Errorf("models:\n%s\nwant\n%s", out, want)
	}
	out = mustRun(t, "set-model", "USD", "multilateral", admin)
	if out != "USD settles DEFERRED_MULTILATERAL_NET; window 1 is open\n" {
		t.Errorf("set-model: %q", out)
	}
	_, err := runSettlement(t, "set-model", "USD", "net", admin)
	refusedWith(t, err, "INVALID_MODEL")

	pay(t, w, fake.Now(), 1, "a", "b", 1250)
	pay(t, w, fake.Now(), 2, "b", "a", 250)

	out = mustRun(t, "window", "1", admin)
	if !strings.HasPrefix(out, "window 1  USD  DEFERRED_MULTILATERAL_NET  OPEN\n") || !hasRow(out, "a", "b", "1", "12.5") || !hasRow(out, "b", "a", "1", "2.5") {
		t.Errorf("window:\n%s", out)
	}
	fake.Advance(time.Hour)
	out = mustRun(t, "close-window", "1", admin)
	if !strings.Contains(out, "window 1  USD  DEFERRED_MULTILATERAL_NET  CLOSED\n") || !strings.Contains(out, "window 2 is now the open window of USD") {
		t.Errorf("close-window:\n%s", out)
	}
	_, err = runSettlement(t, "close-window", "1", admin)
	refusedWith(t, err, "WINDOW_NOT_OPEN")
	for _, args := range [][]string{{"close-window"}, {"close-window", "2", "--currency", "USD"}} {
		if _, err := runSettlement(t, append(args, admin)...); err == nil || !strings.Contains(err.Error(), "not both") {
			t.Errorf("%v: error %v", args, err)
		}
	}
	out = mustRun(t, "windows", "--state", "closed", admin)
	if !hasRow(out, "1", "USD", "DEFERRED_MULTILATERAL_NET", "CLOSED", "2025-03-01T12:00:00Z", "2025-03-01T13:00:00Z", "2", "15", "-") ||
		strings.Count(out, "\n") != 2 {
		t.Errorf("windows:\n%s", out)
	}

	out = mustRun(t, "create", "1", admin)
	if !strings.HasPrefix(out, "settlement 1  USD  DEFERRED_MULTILATERAL_NET  PENDING_SETTLEMENT\n") ||
		!hasRow(out, "a", "12.5", "1", "2.5", "1", "10") || !hasRow(out, "b", "2.5", "1", "12.5", "1", "-10") ||
		!strings.Contains(out, "next: PS_TRANSFERS_RECORDED or ABORTED") {
		t.Errorf("create:\n%s", out)
	}
	_, err = runSettlement(t, "create", "1", admin)
	refusedWith(t, err, "WINDOW_NOT_CLOSED")
	if _, err := runSettlement(t, "create", "one", admin); err == nil {
		t.Errorf("create with a word: no error")
	}

	_, err = runSettlement(t, "state", "1", "PS_TRANSFERS_COMMITTED", admin)
	refusedWith(t, err, "SETTLEMENT_TRANSITION")
	if !strings.Contains(err.Error(), "PS_TRANSFERS_RECORDED") {
		t.Errorf("wrong step: %v", err)
	}
	out = mustRun(t, "state", "1", "ps_transfers_recorded", "--reason", "file sent", admin)
	if !strings.HasPrefix(out, "settlement 1  USD  DEFERRED_MULTILATERAL_NET  PS_TRANSFERS_RECORDED\n") || !strings.Contains(out, "file sent") {
		t.Errorf("state:\n%s", out)
	}

	out = mustRun(t, "show", "1", "--json", admin)
	var s struct {
		ID    uint64 `json:"id"`
		State string `json:"state"`
		Nets  []struct {
			Participant string `json:"participant"`
			Net         string `json:"net"`
		} `json:"nets"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("show --json: %v: %s", err, out)
	}
	if s.ID != 1 || s.State != "PS_TRANSFERS_RECORDED" || len(s.Nets) != 2 || s.Nets[0].Net != "10" {
		t.Errorf("show --json: %+v", s)
	}

	if _, err := runSettlement(t, "abort", "1", admin); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("abort without a reason: %v", err)
	}
	out = mustRun(t, "settle", "1", admin)
	if !strings.HasPrefix(out, "settlement 1  USD  DEFERRED_MULTILATERAL_NET  SETTLED\n") || !hasRow(out, "2025-03-01T13:00:00Z", "PS_TRANSFERS_COMMITTED") {
		t.Errorf("settle:\n%s", out)
	}
	_, err = runSettlement(t, "abort", "1", "--reason", "too late", admin)
	refusedWith(t, err, "SETTLEMENT_TRANSITION")

	out = mustRun(t, "list", "--state", "SETTLED", admin)
	if !hasRow(out, "1", "USD", "DEFERRED_MULTILATERAL_NET", "SETTLED", "1", "2", "15", "10", "2025-03-01T13:00:00Z") {
		t.Errorf("list:\n%s", out)
	}
	out = mustRun(t, "list", "--currency", "EUR", admin)
	if strings.Count(out, "\n") != 1 {
		t.Errorf("list of none:\n%s", out)
	}
	_, err = runSettlement(t, "show", "x", admin)
	refusedWith(t, err, "INVALID_ID")

	// A window of its own to abort.
	pay(t, w, fake.Now(), 3, "a", "b", 100)
	mustRun(t, "close-window", "--currency", "USD", admin)
	mustRun(t, "create", "2", "--currency", "USD", admin)
	out = mustRun(t, "abort", "2", "--reason", "wrong amount", admin)
	if !strings.Contains(out, "ABORTED") || !strings.Contains(out, "aborted: wrong amount") {
		t.Errorf("abort:\n%s", out)
	}
}

func TestSettlementCLIAdminURL(t *testing.T) {
	srv, _, _ := adminServer(t)
	t.Setenv(adminEnv, srv.URL)
	if out := mustRun(t, "models"); !hasRow(out, "USD", "DEFERRED_MULTILATERAL_NET", "1") {
		t.Errorf("models from $%s:\n%s", adminEnv, out)
	}
	// --admin wins over the environment.
	if _, err := runSettlement(t, "models", "--admin", "http://127.0.0.1:1"); err == nil {
		t.Errorf("--admin did not win over $%s", adminEnv)
	}
	if _, err := runSettlement(t, "models", "--admin", "ftp://x"); err == nil || !strings.Contains(err.Error(), "not an http") {
		t.Errorf("ftp URL: %v", err)
	}

	notAPI := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		http.Error(rw, "bad gateway", http.StatusBadGateway)
	}))
	defer notAPI.Close()
	if _, err := runSettlement(t, "models", "--admin", notAPI.URL); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("answer of another server: %v", err)
	}
}

// TestRunSettlement checks the command is wired into hutong's root.
func TestRunSettlement(t *testing.T) {
	srv, _, _ := adminServer(t)
	err := Run(context.Background(), []string{"settlement", "show", "99", "--admin", srv.URL})
	refusedWith(t, err, "SETTLEMENT_NOT_FOUND")
}
