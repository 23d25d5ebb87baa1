package adminapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
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
	"github.com/hutong/hutong/settlement"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
)

const token = "0123456789abcdef0123456789abcdef"

// hub serves the real admin API, with a token, over a writer on a Pebble
// store, with participants a and b in USD and a payment of 12.5 from a to
// b committed.
func hub(t *testing.T) (*httptest.Server, *writer.Writer) {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	st, err := pebble.Open(t.TempDir(), pebble.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	w, err := writer.Open(context.Background(), st, writer.Config{Clock: clk, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	srv := httptest.NewServer(admin.New(w, admin.Options{Logger: quiet, Token: token}))
	t.Cleanup(srv.Close)
	submit := func(c ledger.Command) {
		t.Helper()
		if _, err := w.Submit(context.Background(), c); err != nil {
			t.Fatalf("%s: %v", c.Op, err)
		}
	}
	for i, p := range []string{"a", "b"} {
		submit(ledger.Command{Op: ledger.OpCreateParticipant, Participant: p, Name: "Participant " + p})
		submit(ledger.Command{Op: ledger.OpEnableCurrency, Participant: p, Currency: "USD"})
		submit(ledger.Command{Op: ledger.OpSetNDC, Participant: p, Currency: "USD", Amount: 100000})
		submit(ledger.Command{Op: ledger.OpFundsIn, ID: id(0xf0 + byte(i)), Participant: p, Currency: "USD", Amount: 100000})
	}
	f := sha256.Sum256([]byte("payment"))
	submit(ledger.Command{Op: ledger.OpPrepare, ID: id(1), Payer: "a", Payee: "b", Currency: "USD", Amount: 1250,
		Condition: ledger.ConditionOf(f), Expiry: clk.Now().Add(time.Minute)})
	submit(ledger.Command{Op: ledger.OpFulfil, ID: id(1), Payee: "b", Fulfilment: f})
	return srv, w
}

func id(n byte) ledger.ID { return ledger.ID{0: 0x22, 6: 0x40, 8: 0x80, 15: n} }

func client(t *testing.T, base, tok string) *adminapi.Client {
	t.Helper()
	c, err := adminapi.NewClient(base, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClientSettles takes a window through to a settled settlement and
// moves collateral, checking the values of each answer.
func TestClientSettles(t *testing.T) {
	srv, _ := hub(t)
	c := client(t, srv.URL+"/", token)
	ctx := context.Background()

	models, err := c.Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []adminapi.SettlementModel{{Currency: "USD", Model: "DEFERRED_MULTILATERAL_NET", Window: 1}}; len(models.Models) != 1 || models.Models[0] != want[0] {
		t.Errorf("models %+v, want %+v", models.Models, want)
	}
	closed, err := c.CloseOpenWindow(ctx, "USD")
	if err != nil {
		t.Fatal(err)
	}
	if got := closed.Closed; got.ID != 1 || got.State != "CLOSED" || got.Count != 1 || got.Amount != "12.5" ||
		len(got.Flows) != 1 || got.Flows[0] != (adminapi.Flow{Payer: "a", Payee: "b", Count: 1, Amount: "12.5"}) || closed.Next.ID != 2 {
		t.Errorf("close: %+v", closed)
	}
	s, err := c.CreateSettlement(ctx, adminapi.CreateSettlementRequest{Windows: []uint64{1}, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	s, err = c.Settle(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if s.State != "SETTLED" || len(s.Nets) != 2 || s.Nets[0].Net != "12.5" || s.Nets[1].Net != "-12.5" {
		t.Errorf("settled: %+v", s)
	}
	report, err := c.SettlementReport(ctx, "1", adminapi.FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	if want := "TOTAL,USD,1,12.5,1,12.5,0\n"; !strings.HasSuffix(string(report), want) {
		t.Errorf("report:\n%s\nwant it to end with %q", report, want)
	}

	in := adminapi.FundsRequest{ID: id(0x10).String(), Currency: "USD", Amount: "5"}
	for range 2 { // the second is a retry, applied once
		tr, err := c.FundsIn(ctx, "a", in)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Kind != "FUNDS_IN" || tr.State != "COMMITTED" || tr.Amount != "5" {
			t.Errorf("funds in: %+v", tr)
		}
	}
	accounts, err := c.Accounts(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	// 1000 in, 5 in, 12.5 settled out of a's settlement account.
	for _, a := range accounts.Accounts {
		if a.Type == "SETTLEMENT" && a.Balance != "992.5" {
			t.Errorf("settlement account %+v, want a balance of 992.5", a)
		}
	}
}

// TestClientErrors checks refusals come back as *adminapi.Error with the
// API's status and code, and an answer of another server as an
// *adminapi.AnswerError.
func TestClientErrors(t *testing.T) {
	srv, _ := hub(t)
	ctx := context.Background()
	c := client(t, srv.URL, token)
	tests := []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"no token", func() error { _, err := client(t, srv.URL, "").Models(ctx); return err }, 401, "UNAUTHORIZED"},
		{"unknown settlement", func() error { _, err := c.Settlement(ctx, "99"); return err }, 404, "SETTLEMENT_NOT_FOUND"},
		{"not an id", func() error { _, err := c.Window(ctx, "x"); return err }, 400, "INVALID_ID"},
		{"wrong step", func() error {
			if _, err := c.CloseWindow(ctx, "1"); err != nil {
				return err
			}
			if _, err := c.CreateSettlement(ctx, adminapi.CreateSettlementRequest{Windows: []uint64{1}}); err != nil {
				return err
			}
			_, err := c.SetSettlementState(ctx, "1", adminapi.SettlementStateRequest{State: "SETTLED"})
			return err
		}, 409, "SETTLEMENT_TRANSITION"},
		{"closed twice", func() error { _, err := c.CloseWindow(ctx, "1"); return err }, 409, "WINDOW_NOT_OPEN"},
		{"funds out beyond collateral", func() error {
			_, err := c.FundsOut(ctx, "a", adminapi.FundsRequest{ID: id(0x20).String(), Currency: "USD", Amount: "999"})
			return err
		}, 422, "INSUFFICIENT_LIQUIDITY"},
		{"unknown participant", func() error { _, err := c.SetNDC(ctx, "zz", "USD", "1"); return err }, 404, "PARTICIPANT_NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae *adminapi.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T), want an *adminapi.Error", err, err)
			}
			if ae.Status != tt.status || ae.Code != tt.code || ae.Message == "" {
				t.Errorf("got %d %s %q, want %d %s", ae.Status, ae.Code, ae.Message, tt.status, tt.code)
			}
		})
	}

	t.Run("bad records", func(t *testing.T) {
		records := "transfer_id,currency,amount,state\n" + id(1).String() + ",USD,12.5,DONE\n"
		_, err := c.Reconcile(ctx, "a", []byte(records), adminapi.ReconcileQuery{From: "2025-03-01T00:00:00Z", To: "2025-03-02T00:00:00Z"})
		var ae *adminapi.Error
		if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "INVALID_RECORDS" || len(ae.Lines) != 1 || ae.Lines[0].Line != 2 {
			t.Fatalf("error %#v", err)
		}
		if !strings.Contains(err.Error(), "line 2: ") {
			t.Errorf("Error() %q does not name line 2", err)
		}
	})

	t.Run("another server", func(t *testing.T) {
		other := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
			http.Error(rw, "bad gateway", http.StatusBadGateway)
		}))
		defer other.Close()
		_, err := client(t, other.URL, "").Models(ctx)
		var ae *adminapi.AnswerError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadGateway || !strings.Contains(err.Error(), "502") {
			t.Errorf("error %v, want an *adminapi.AnswerError with 502", err)
		}
	})

	for _, base := range []string{"ftp://x", "http://", "http://h/?q=1", "::"} {
		if _, err := adminapi.NewClient(base, "", nil); err == nil {
			t.Errorf("NewClient(%q): no error", base)
		}
	}
}

// TestReconciliationInStep checks that Reconciliation decodes exactly what
// settlement writes as the reconciliation JSON, and writes it back the same:
// the two declarations of the document cannot drift apart.
func TestReconciliationInStep(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	side := &settlement.Side{Kind: "PAYMENT", Currency: "USD", Amount: 1250, State: "COMMITTED", Direction: "SENT", Counterparty: "b", Completed: at}
	mine := &settlement.Side{Currency: "USD", Amount: 1249, State: "COMMITTED", Direction: "SENT", Completed: at}
	e := settlement.Entry{TransferID: id(1), Line: 2, Participant: mine, Hub: side}
	rec := settlement.Reconciliation{Participant: "a", From: at, To: at.Add(time.Hour),
		Matched: []settlement.Entry{e}, MissingAtHub: []settlement.Entry{{TransferID: id(2), Line: 3, Participant: mine}},
		MissingAtParticipant: []settlement.Entry{{TransferID: id(3), Hub: side}}, AmountMismatches: []settlement.Entry{e},
		StateMismatches: []settlement.Entry{e}, CurrencyMismatches: []settlement.Entry{e}, DirectionMismatches: []settlement.Entry{e}}
	var written bytes.Buffer
	if err := rec.WriteJSON(&written); err != nil {
		t.Fatal(err)
	}
	var got adminapi.Reconciliation
	dec := json.NewDecoder(bytes.NewReader(written.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decode settlement's JSON: %v", err)
	}
	again, err := json.MarshalIndent(&got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(again)+"\n" != written.String() {
		t.Errorf("written back:\n%s\nsettlement wrote:\n%s", again, written.String())
	}
}
