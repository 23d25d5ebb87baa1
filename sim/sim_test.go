package sim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testFSP starts an FSP on the fake hub with three customers and closes it
// at the end of the test.
func testFSP(t *testing.T, h *fakeHub, id string, edit func(*Config)) *FSP {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ID = id
	cfg.HubURL = h.srv.URL
	cfg.Customers = 3
	cfg.Workers = 4
	if edit != nil {
		edit(&cfg)
	}
	f, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(context.Background()) })
	h.add(f)
	return f
}

// closeFSP closes f, so that every request it took has been answered.
func closeFSP(t *testing.T, f *FSP) {
	t.Helper()
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// pair starts payer "payerfsp" and payee "payeefsp" and registers their
// customers.
func pair(t *testing.T, payeeEdit func(*Config)) (*fakeHub, *FSP, *FSP) {
	t.Helper()
	return pairWith(t, nil, payeeEdit)
}

func pairWith(t *testing.T, payerEdit, payeeEdit func(*Config)) (*fakeHub, *FSP, *FSP) {
	t.Helper()
	h := newFakeHub(t)
	a := testFSP(t, h, "payerfsp", payerEdit)
	b := testFSP(t, h, "payeefsp", payeeEdit)
	ctx := ctxTimeout(t, 10*time.Second)
	for _, f := range []*FSP{a, b} {
		if err := f.Register(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return h, a, b
}

func customerN(f *FSP, i int) Customer { return f.Customers()[i] }

func balance(t *testing.T, f *FSP, id string) string {
	t.Helper()
	c, ok := f.Customer(id)
	if !ok {
		t.Fatalf("%s has no customer %s", f.ID(), id)
	}
	return c.Balance
}

func TestPayEndToEnd(t *testing.T) {
	h, a, b := pair(t, func(c *Config) { c.Behaviour.Fee = "0.5" })
	from, to := customerN(a, 0), customerN(b, 1)
	pay, err := a.Pay(ctxTimeout(t, 10*time.Second), from.Party.ID, to.Party, "10", "USD")
	if err != nil {
		t.Fatal(err)
	}
	if pay.State != "COMMITTED" || pay.PayeeFSP != "payeefsp" || pay.PayeeName != to.FirstName+" "+to.LastName {
		t.Errorf("payment = %+v", pay)
	}
	if pay.TransferAmount != "10.5" || pay.PayeeReceiveAmount != "10" || pay.Fee != "0.5" {
		t.Errorf("amounts: transfer %s receive %s fee %s, want 10.5, 10, 0.5", pay.TransferAmount, pay.PayeeReceiveAmount, pay.Fee)
	}
	if pay.TransferID == "" || pay.QuoteID == "" || pay.Completed.IsZero() {
		t.Errorf("ids or completion missing: %+v", pay)
	}
	if pay.Phases.Discovery <= 0 || pay.Phases.Quote <= 0 || pay.Phases.Transfer <= 0 {
		t.Errorf("phases = %+v", pay.Phases)
	}
	if got := balance(t, a, from.Party.ID); got != "999989.5" {
		t.Errorf("payer balance = %s, want 999989.5", got)
	}
	closeFSP(t, b)
	if got := balance(t, b, to.Party.ID); got != "1000010" {
		t.Errorf("payee balance = %s, want 1000010", got)
	}

	// The payee saw the three requests, from the payer, with FSPIOP headers.
	var seen []string
	for _, ev := range b.Events() {
		if ev.Header.Get("FSPIOP-Source") != "payerfsp" {
			continue
		}
		seen = append(seen, ev.Method+" "+strings.Split(ev.Path, "/")[1])
		if ct := ev.Header.Get("Content-Type"); !strings.HasSuffix(ct, "+json;version=1.1") {
			t.Errorf("%s %s: Content-Type %q", ev.Method, ev.Path, ct)
		}
		if _, err := http.ParseTime(ev.Header.Get("Date")); err != nil {
			t.Errorf("%s %s: Date: %v", ev.Method, ev.Path, err)
		}
		if ev.Status != http.StatusAccepted || ev.ProtocolError != "" {
			t.Errorf("%s %s answered %d %q", ev.Method, ev.Path, ev.Status, ev.ProtocolError)
		}
	}
	if got, want := strings.Join(seen, ", "), "GET parties, POST quotes, POST transfers"; got != want {
		t.Errorf("payee received %s, want %s", got, want)
	}
	// The payer saw the three callbacks.
	seen = nil
	for _, ev := range a.Events() {
		if ev.Header.Get("FSPIOP-Source") == "payeefsp" {
			seen = append(seen, ev.Method+" "+strings.Split(ev.Path, "/")[1])
		}
	}
	if got, want := strings.Join(seen, ", "), "PUT parties, PUT quotes, PUT transfers"; got != want {
		t.Errorf("payer received %s, want %s", got, want)
	}
	for _, f := range []*FSP{a, b} {
		if s := f.Stats(); s.ProtocolErrors != 0 || s.SendFailures != 0 {
			t.Errorf("%s stats = %+v", f.ID(), s)
		}
	}
	if s := a.Stats(); s.PaymentsCommitted != 1 {
		t.Errorf("payer committed %d payments, want 1", s.PaymentsCommitted)
	}
	if s := b.Stats(); s.QuotesAnswered != 1 || s.TransfersFulfilled != 1 || s.Credited != 1 || s.PartiesAnswered != 1 {
		t.Errorf("payee stats = %+v", s)
	}
	if f := h.forwardFailures(); len(f) != 0 {
		t.Errorf("refused forwards: %q", f)
	}
}

func TestPaySendAmount(t *testing.T) {
	_, a, b := pairWith(t, func(c *Config) { c.AmountType = "SEND" }, func(c *Config) { c.Behaviour.Fee = "1" })
	pay, err := a.Pay(ctxTimeout(t, 10*time.Second), customerN(a, 0).Party.ID, customerN(b, 0).Party, "10", "USD")
	if err != nil {
		t.Fatal(err)
	}
	if pay.TransferAmount != "10" || pay.PayeeReceiveAmount != "9" || pay.Fee != "1" {
		t.Errorf("amounts: transfer %s receive %s fee %s, want 10, 9, 1", pay.TransferAmount, pay.PayeeReceiveAmount, pay.Fee)
	}
	closeFSP(t, b)
	if got := balance(t, b, customerN(b, 0).Party.ID); got != "1000009" {
		t.Errorf("payee balance = %s, want 1000009", got)
	}
}

func TestPayConcurrentLookupsOfOneParty(t *testing.T) {
	h, a, b := pair(t, nil)
	to := customerN(b, 2).Party
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Pay(ctxTimeout(t, 10*time.Second), customerN(a, i%3).Party.ID, to, "1", "USD")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	closeFSP(t, b)
	if got := balance(t, b, to.ID); got != "1000008" {
		t.Errorf("payee balance = %s, want 1000008", got)
	}
	if f := h.forwardFailures(); len(f) != 0 {
		t.Errorf("refused forwards: %q", f)
	}
}

func TestPayErrors(t *testing.T) {
	h, a, b := pair(t, nil)
	from := customerN(a, 0).Party.ID
	// Registered with the hub as payeefsp's, unknown to payeefsp.
	ghost := Party{Type: "MSISDN", ID: "12345"}
	h.setOwner(ghost, "payeefsp")
	tests := []struct {
		name  string
		to    Party
		phase Phase
		code  string
	}{
		{"unknown at the hub", Party{Type: "MSISDN", ID: "777"}, PhaseDiscovery, "3204"},
		{"unknown at the payee", ghost, PhaseDiscovery, CodePartyNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Pay(ctxTimeout(t, 10*time.Second), from, tc.to, "1", "USD")
			var e *Error
			if !errors.As(err, &e) || e.Phase != tc.phase || e.Code != tc.code || !errors.Is(err, ErrCallback) {
				t.Fatalf("Pay = %v, want a %s error %s", err, tc.phase, tc.code)
			}
		})
	}
	if _, err := a.Pay(context.Background(), "nobody", customerN(b, 0).Party, "1", "USD"); !errors.Is(err, ErrUnknownCustomer) {
		t.Errorf("Pay from nobody = %v, want ErrUnknownCustomer", err)
	}
	if _, err := a.Pay(context.Background(), from, customerN(b, 0).Party, "1.001", "USD"); err == nil {
		t.Error("Pay of 1.001 USD succeeded")
	}
	if _, err := a.Pay(ctxTimeout(t, 10*time.Second), from, customerN(b, 0).Party, "2000000", "USD"); !errors.Is(err, ErrInsufficientFunds) {
		t.Errorf("Pay of more than the balance = %v, want ErrInsufficientFunds", err)
	}
	if got := balance(t, a, from); got != "1000000" {
		t.Errorf("payer balance after failed payments = %s, want 1000000", got)
	}
}

func TestRejectQuotes(t *testing.T) {
	_, a, b := pair(t, nil)
	for _, tc := range []struct{ code, want string }{{"", CodeRejectedQuote}, {"5101", "5101"}} {
		if err := b.SetBehaviour(Behaviour{RejectQuotes: true, RejectCode: tc.code}); err != nil {
			t.Fatal(err)
		}
		_, err := a.Pay(ctxTimeout(t, 10*time.Second), customerN(a, 0).Party.ID, customerN(b, 0).Party, "5", "USD")
		var e *Error
		if !errors.As(err, &e) || e.Phase != PhaseQuote || e.Code != tc.want || !errors.Is(err, ErrCallback) {
			t.Fatalf("Pay = %v, want a quote error %s", err, tc.want)
		}
	}
	if _, err := a.Wait(ctxTimeout(t, 5*time.Second), func(ev Event) bool {
		return ev.Method == http.MethodPut && strings.HasPrefix(ev.Path, "/quotes/") && strings.HasSuffix(ev.Path, "/error")
	}); err != nil {
		t.Errorf("no PUT /quotes/{ID}/error event: %v", err)
	}
	if got := balance(t, a, customerN(a, 0).Party.ID); got != "1000000" {
		t.Errorf("payer balance = %s, want 1000000", got)
	}
	if err := b.SetBehaviour(Behaviour{RejectCode: "12"}); !errors.Is(err, ErrConfig) {
		t.Errorf("SetBehaviour(RejectCode 12) = %v, want ErrConfig", err)
	}
	if !b.Behaviour().RejectQuotes {
		t.Error("a refused SetBehaviour changed the behaviour")
	}
}

func TestNoAnswerTimesOut(t *testing.T) {
	_, a, b := pair(t, func(c *Config) { c.Behaviour.NoAnswer = true })
	from := customerN(a, 0).Party.ID
	_, err := a.Pay(ctxTimeout(t, 500*time.Millisecond), from, customerN(b, 0).Party, "5", "USD")
	var e *Error
	if !errors.As(err, &e) || e.Phase != PhaseTransfer || !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Pay = %v, want a transfer timeout", err)
	}
	// The outcome is unknown: the amount stays held.
	if got := balance(t, a, from); got != "999995" {
		t.Errorf("payer balance = %s, want 999995 (held)", got)
	}
	closeFSP(t, b)
	if s := b.Stats(); s.TransfersIgnored != 1 || s.Credited != 0 {
		t.Errorf("payee stats = %+v", s)
	}
}

func TestWrongFulfilmentDetectedByPayer(t *testing.T) {
	_, a, b := pair(t, func(c *Config) { c.Behaviour.WrongFulfilment = true })
	_, err := a.Pay(ctxTimeout(t, 10*time.Second), customerN(a, 0).Party.ID, customerN(b, 0).Party, "5", "USD")
	if !errors.Is(err, ErrFulfilment) {
		t.Fatalf("Pay = %v, want ErrFulfilment", err)
	}
	if s := a.Stats(); s.ProtocolErrors != 1 {
		t.Errorf("payer protocol errors = %d, want 1", s.ProtocolErrors)
	}
	ev, err := a.Wait(ctxTimeout(t, 5*time.Second), func(ev Event) bool { return ev.ProtocolError != "" })
	if err != nil || ev.Method != http.MethodPut || !strings.HasPrefix(ev.Path, "/transfers/") || ev.Status != http.StatusBadRequest {
		t.Errorf("protocol error event = %+v, %v", ev, err)
	}
	closeFSP(t, b)
	if got := balance(t, b, customerN(b, 0).Party.ID); got != "1000000" {
		t.Errorf("payee balance = %s, want 1000000 (not credited)", got)
	}
}

func TestCommitNotification(t *testing.T) {
	for _, state := range []string{"COMMITTED", "ABORTED"} {
		t.Run(state, func(t *testing.T) {
			h, a, b := pair(t, func(c *Config) { c.Behaviour.CommitNotification = true })
			h.mu.Lock()
			h.patchState = state
			h.mu.Unlock()
			to := customerN(b, 0).Party
			_, err := a.Pay(ctxTimeout(t, 10*time.Second), customerN(a, 0).Party.ID, to, "5", "USD")
			if state == "COMMITTED" && err != nil {
				t.Fatal(err)
			}
			if state == "ABORTED" && !errors.Is(err, ErrCallback) {
				t.Fatalf("Pay = %v, want an error callback", err)
			}
			puts := h.transferPuts()
			if len(puts) != 1 || puts[0].Source != "payeefsp" || puts[0].Body.TransferState != "RESERVED" || puts[0].Body.Fulfilment == "" {
				t.Errorf("the payee answered %+v, want one RESERVED with a fulfilment", puts)
			}
			ev, err := b.Wait(ctxTimeout(t, 5*time.Second), func(ev Event) bool { return ev.Method == http.MethodPatch })
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(ev.Body), `"transferState":"`+state+`"`) || ev.Status != http.StatusOK {
				t.Errorf("PATCH event = %d %s", ev.Status, ev.Body)
			}
			closeFSP(t, b)
			want, wantPayer := "1000005", "999995"
			if state == "ABORTED" {
				want, wantPayer = "1000000", "1000000"
			}
			if got := balance(t, b, to.ID); got != want {
				t.Errorf("payee balance = %s, want %s", got, want)
			}
			if got := balance(t, a, customerN(a, 0).Party.ID); got != wantPayer {
				t.Errorf("payer balance = %s, want %s", got, wantPayer)
			}
			s := b.Stats()
			if state == "COMMITTED" && (s.CommitsNotified != 1 || s.Credited != 1) || state == "ABORTED" && (s.AbortsNotified != 1 || s.Credited != 0) {
				t.Errorf("payee stats = %+v", s)
			}
		})
	}
}

func TestTransferOnly(t *testing.T) {
	_, a, b := pair(t, nil)
	from, to := customerN(a, 1).Party.ID, customerN(b, 1).Party
	pay, err := a.Transfer(ctxTimeout(t, 10*time.Second), from, b.Payee(to), "7.25", "USD")
	if err != nil {
		t.Fatal(err)
	}
	if pay.State != "COMMITTED" || pay.Fulfilment == "" {
		t.Errorf("payment = %+v", pay)
	}
	// A secret other than the payee's gives a condition the payee refuses.
	wrong := Payee{FSP: b.ID(), Secret: DefaultSecret("someone else"), Party: to}
	_, err = a.Transfer(ctxTimeout(t, 10*time.Second), from, wrong, "1", "USD")
	var e *Error
	if !errors.As(err, &e) || e.Phase != PhaseTransfer || e.Code != CodeRejectedTransfer {
		t.Fatalf("Transfer with a wrong secret = %v, want a transfer error %s", err, CodeRejectedTransfer)
	}
	if got := balance(t, a, from); got != "999992.75" {
		t.Errorf("payer balance = %s, want 999992.75 (the refused transfer given back)", got)
	}
	closeFSP(t, b)
	if got := balance(t, b, to.ID); got != "1000007.25" {
		t.Errorf("payee balance = %s, want 1000007.25", got)
	}
}

func TestRequestToPay(t *testing.T) {
	_, a, b := pair(t, nil)
	payer, payee := customerN(a, 2).Party, customerN(b, 2).Party
	res, err := b.RequestToPay(ctxTimeout(t, 10*time.Second), payee.ID, payer, "3", "USD")
	if err != nil {
		t.Fatal(err)
	}
	if res.State != "RECEIVED" || res.PayerFSP != "payerfsp" {
		t.Errorf("result = %+v", res)
	}
	// The payer FSP approves and pays; wait for the transfer's callback to
	// reach it.
	if _, err := a.Wait(ctxTimeout(t, 10*time.Second), func(ev Event) bool {
		return ev.Method == http.MethodPut && strings.HasPrefix(ev.Path, "/transfers/")
	}); err != nil {
		t.Fatal(err)
	}
	closeFSP(t, a)
	closeFSP(t, b)
	if got := balance(t, a, payer.ID); got != "999997" {
		t.Errorf("payer balance = %s, want 999997", got)
	}
	if got := balance(t, b, payee.ID); got != "1000003" {
		t.Errorf("payee balance = %s, want 1000003", got)
	}

	_, a2, b2 := pair(t, func(c *Config) {})
	a2.SetBehaviour(Behaviour{RejectTransactionRequests: true})
	res, err = b2.RequestToPay(ctxTimeout(t, 10*time.Second), customerN(b2, 0).Party.ID, customerN(a2, 0).Party, "3", "USD")
	if err != nil || res.State != "REJECTED" {
		t.Errorf("RequestToPay to a refusing FSP = %+v, %v; want REJECTED", res, err)
	}
}

func TestRegister(t *testing.T) {
	t.Run("batches", func(t *testing.T) {
		h := newFakeHub(t)
		f := testFSP(t, h, "big", func(c *Config) { c.Customers = 25; c.RegisterBatch = 10 })
		if err := f.Register(ctxTimeout(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
		h.mu.Lock()
		n := len(h.owners)
		h.mu.Unlock()
		if n != 25 {
			t.Errorf("the hub has %d aliases, want 25", n)
		}
		posts := 0
		for _, ev := range f.Events() {
			if ev.Method == http.MethodPut && strings.HasPrefix(ev.Path, "/participants/") {
				posts++
			}
		}
		if posts != 3 {
			t.Errorf("%d PUT /participants callbacks, want 3 batches", posts)
		}
	})
	for _, n := range []int{3, 25} {
		h := newFakeHub(t)
		h.refuseRegs = "3003"
		f := testFSP(t, h, "refused", func(c *Config) { c.Customers = n })
		err := f.Register(ctxTimeout(t, 10*time.Second))
		var e *Error
		if !errors.As(err, &e) || e.Phase != PhaseRegister || e.Code != "3003" {
			t.Errorf("%d customers: Register = %v, want a register error 3003", n, err)
		}
	}
}

func TestCloseFailsPaymentsInFlight(t *testing.T) {
	_, a, b := pair(t, func(c *Config) { c.Behaviour.NoAnswer = true })
	done := make(chan error, 1)
	go func() {
		_, err := a.Pay(context.Background(), customerN(a, 0).Party.ID, customerN(b, 0).Party, "1", "USD")
		done <- err
	}()
	if _, err := b.Wait(ctxTimeout(t, 10*time.Second), func(ev Event) bool { return ev.Method == http.MethodPost && ev.Path == "/transfers" }); err != nil {
		t.Fatal(err)
	}
	closeFSP(t, a)
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Pay = %v, want ErrClosed", err)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := a.Pay(context.Background(), customerN(a, 0).Party.ID, customerN(b, 0).Party, "1", "USD"); !errors.Is(err, ErrClosed) {
		t.Errorf("Pay after Close = %v, want ErrClosed", err)
	}
	if err := a.Register(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Register after Close = %v, want ErrClosed", err)
	}
}

// BenchmarkPay measures complete payments (discovery, quote, transfer:
// twelve HTTP messages) through the fake hub, which adds a goroutine per
// message: a bound on the cost of the sims, not of a hub.
func BenchmarkPay(b *testing.B) {
	h := newFakeHubB(b)
	mk := func(id string) *FSP {
		cfg := DefaultConfig()
		cfg.ID, cfg.HubURL, cfg.Customers, cfg.EventBuffer = id, h.srv.URL, 100, 0
		f, err := Start(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close(context.Background()) })
		h.add(f)
		if err := f.Register(context.Background()); err != nil {
			b.Fatal(err)
		}
		return f
	}
	a, p := mk("a"), mk("b")
	cs, ps := a.Customers(), p.Customers()
	b.ReportAllocs()
	b.SetParallelism(16)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			if _, err := a.Pay(context.Background(), cs[i%100].Party.ID, ps[(i*7)%100].Party, "1", "USD"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
