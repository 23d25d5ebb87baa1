package hub_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong/audit"
	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/fspiop"
	"github.com/hutong/hutong/hub"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/sim"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
)

// waitFor bounds every wait for a callback, so that a message the hub
// never sends fails the test instead of hanging it.
const waitFor = 5 * time.Second

// usd is the currency every participant of these tests holds.
const usd = "USD"

// client sends the tests' own requests to the hub.
var client = &http.Client{Timeout: waitFor}

// env is a running hub on a store of its own, with the simulated FSPs
// around it.
type env struct {
	t      *testing.T
	dir    string
	cfg    hub.Config
	h      *hub.Hub
	logs   *logBuffer
	closed bool
	done   bool // finish ran
	fsps   []*sim.FSP
	// failedCallbacks is how many callbacks the test means to fail, over
	// every hub it starts.
	failedCallbacks uint64
	failed          uint64 // callbacks failed by the hubs closed so far
}

// newEnv starts a hub on a fresh store. tune may change its configuration.
func newEnv(t *testing.T, tune ...func(*hub.Config)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), logs: &logBuffer{}}
	e.cfg = hub.Config{
		Dir:       e.dir,
		AdminAddr: "127.0.0.1:0",
		APIAddr:   "127.0.0.1:0",
		Logger:    slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Writer:    writer.Config{ExpiryInterval: 20 * time.Millisecond},
		Callbacks: callback.Config{
			Timeout:    2 * time.Second,
			Attempts:   3,
			Backoff:    20 * time.Millisecond,
			MaxBackoff: 100 * time.Millisecond,
		},
		Store: pebble.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20},
	}
	for _, f := range tune {
		f(&e.cfg)
	}
	e.checkNamespaces()
	e.start()
	t.Cleanup(func() {
		if !e.done {
			// The test stopped early: audit what it left.
			if !e.closed {
				e.closeHub()
			}
			e.audit(nil)
		}
		if t.Failed() {
			t.Logf("hub log (end):\n%s", e.logs.tail(24<<10))
		}
	})
	return e
}

func (e *env) start() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	h, err := hub.Start(ctx, e.cfg)
	if err != nil {
		e.t.Fatalf("hub.Start: %v", err)
	}
	e.h, e.closed = h, false
}

func (e *env) closeHub() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.closed = true
	defer func() { e.failed += e.h.Callbacks.Stats().Failed }()
	// Connections the clients opened and never used would hold Close up
	// for 5 s (see TestCloseWithUnusedConnection).
	sim.SharedClient().CloseIdleConnections()
	client.CloseIdleConnections()
	if err := e.h.Close(ctx); err != nil {
		e.t.Errorf("hub Close: %v", err)
	}
}

// restart closes the hub and starts another on the same store, on new
// ports.
func (e *env) restart() {
	e.t.Helper()
	e.closeHub()
	e.start()
}

// addFSP starts a simulated FSP with 3 customers, onboards it with the
// NDC and funds given, and registers its customers' aliases.
func (e *env) addFSP(id, ndc, funds string, tune func(*sim.Config)) *sim.FSP {
	e.t.Helper()
	cfg := sim.DefaultConfig()
	cfg.ID = id
	cfg.HubURL = e.h.APIURL
	cfg.Customers = 3
	cfg.Workers = 8
	cfg.Queue = 64
	if tune != nil {
		tune(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	f, err := sim.Start(ctx, cfg)
	if err != nil {
		e.t.Fatalf("sim.Start %s: %v", id, err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := f.Close(ctx); err != nil {
			e.t.Errorf("close %s: %v", id, err)
		}
	})
	e.fsps = append(e.fsps, f)
	e.onboard(id, ndc, funds, f.URL())
	if err := f.Register(ctx); err != nil {
		e.t.Fatalf("%s Register: %v", id, err)
	}
	return f
}

// onboard creates a participant holding USD whose callbacks go to base.
func (e *env) onboard(id, ndc, funds, base string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	err := sim.Setup(ctx, e.h.AdminURL, sim.Onboarding{FSP: id, Currency: usd, NDC: ndc, Funds: funds, CallbackBase: base})
	if err != nil {
		e.t.Fatalf("sim.Setup %s: %v", id, err)
	}
}

// positions returns every participant's USD position, in minor units, as
// the ledger holds it now.
func (e *env) positions(t *testing.T) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	got := map[string]int64{}
	err := e.h.Writer.Query(ctx, func(l *ledger.Ledger) {
		for _, a := range l.Accounts() {
			if a.Type == ledger.AccountPosition && a.Currency == usd {
				got[a.Participant] = a.Balance()
			}
		}
	})
	if err != nil {
		t.Fatalf("Writer.Query: %v", err)
	}
	return got
}

// moved returns before with the positions of payer and payee moved by
// amount (minor units).
func moved(before map[string]int64, payer, payee string, amount int64) map[string]int64 {
	out := make(map[string]int64, len(before))
	for k, v := range before {
		out[k] = v
	}
	out[payer] += amount
	out[payee] -= amount
	return out
}

// finish closes the hub, reopens its store read-only, checks it with
// audit.Verify, and checks that the positions sum to zero in every
// currency, that nothing is left reserved, and that every participant's
// USD position is the one in want (absent means zero). It also checks
// that every callback the test did not mean to fail was delivered, and
// that no simulated FSP received a message that broke the protocol.
func (e *env) finish(want map[string]int64) {
	e.t.Helper()
	e.done = true
	if !e.closed {
		e.closeHub()
	}
	if e.failed != e.failedCallbacks {
		e.t.Errorf("%d callbacks failed, want %d", e.failed, e.failedCallbacks)
	}
	for _, f := range e.fsps {
		if n := f.Stats().ProtocolErrors; n != 0 {
			for _, ev := range f.Events() {
				if ev.ProtocolError != "" {
					e.t.Errorf("%s refused %s %s: %s", f.ID(), ev.Method, ev.Path, ev.ProtocolError)
				}
			}
			e.t.Errorf("%s refused %d messages as breaking the protocol", f.ID(), n)
		}
	}
	e.audit(want)
}

// audit reopens the closed hub's store read-only, checks it with
// audit.Verify, and checks the positions against want as finish says.
func (e *env) audit(want map[string]int64) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := pebble.Open(e.dir, pebble.Options{ReadOnly: true, CacheSize: 8 << 20, MemTableSize: 4 << 20})
	if err != nil {
		e.t.Fatalf("reopen the store read-only: %v", err)
	}
	defer st.Close()
	rep, err := audit.Verify(ctx, st, nil)
	if err != nil {
		e.t.Errorf("audit.Verify: %v", err)
	} else if rep.Entries == 0 {
		e.t.Errorf("audit.Verify walked no journal entry: %v", rep)
	}
	accounts, err := st.Accounts(ctx, "")
	if err != nil {
		e.t.Fatalf("Accounts: %v", err)
	}
	sums := map[string]int64{}
	got := map[string]int64{}
	for _, a := range accounts {
		if a.Type != ledger.AccountPosition {
			continue
		}
		sums[a.Currency] += a.Balance()
		if a.DebitsPending != 0 || a.CreditsPending != 0 {
			e.t.Errorf("%s: reserved %d, pending credits %d after the test; want none", a.AccountKey, a.DebitsPending, a.CreditsPending)
		}
		if a.Currency == usd {
			got[a.Participant] = a.Balance()
		}
	}
	for cur, s := range sums {
		if s != 0 {
			e.t.Errorf("positions in %s sum to %d, want 0", cur, s)
		}
	}
	if want == nil {
		return
	}
	for p, g := range got {
		if g != want[p] {
			e.t.Errorf("position of %s = %d, want %d", p, g, want[p])
		}
	}
	for p, w := range want {
		if _, ok := got[p]; !ok && w != 0 {
			e.t.Errorf("position of %s: no account, want %d", p, w)
		}
	}
}

// answer is the hub's synchronous answer to a message.
type answer struct {
	status int
	info   errorInformation
	body   []byte
}

type errorInformation struct {
	ErrorCode        string `json:"errorCode"`
	ErrorDescription string `json:"errorDescription"`
	ExtensionList    *struct {
		Extension []fspiop.Extension `json:"extension"`
	} `json:"extensionList"`
}

// call sends one FSPIOP message to the hub as a participant would, with
// version 1.1 headers; edit may change them before it is sent. dest ""
// sends no FSPIOP-Destination.
func (e *env) call(t *testing.T, method, path, source, dest string, body []byte, edit func(http.Header)) answer {
	t.Helper()
	return send(t, e.h.APIURL, method, path, source, dest, body, edit)
}

func send(t *testing.T, base, method, path, source, dest string, body []byte, edit func(http.Header)) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resource, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	mt := fspiop.MediaType(resource, fspiop.Version{Major: 1, Minor: 1})
	h := req.Header
	h.Set("Content-Type", mt)
	if method != http.MethodPut && method != http.MethodPatch {
		h.Set("Accept", mt)
	}
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Set("FSPIOP-Source", source)
	if dest != "" {
		h.Set("FSPIOP-Destination", dest)
	}
	if edit != nil {
		edit(h)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	a := answer{status: resp.StatusCode, body: b}
	if len(b) > 0 {
		var eb struct {
			ErrorInformation errorInformation `json:"errorInformation"`
		}
		if err := json.Unmarshal(b, &eb); err != nil {
			t.Errorf("%s %s: answer %d with a body that is not JSON: %q", method, path, resp.StatusCode, b)
		}
		a.info = eb.ErrorInformation
	}
	return a
}

// wantStatus fails the test unless a is status (with errorCode code when
// code is not "").
func wantStatus(t *testing.T, what string, a answer, status int, code string) {
	t.Helper()
	if a.status != status || a.info.ErrorCode != code {
		t.Errorf("%s: got HTTP %d errorCode %q, want HTTP %d errorCode %q (body %s)", what, a.status, a.info.ErrorCode, status, code, a.body)
	}
}

// admin sends a JSON request to the admin API and decodes the answer
// into out (when not nil).
func (e *env) admin(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.h.AdminURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// waitEvent waits for the n-th request f receives with method and path.
func waitEvent(t *testing.T, f *sim.FSP, method, path string, n int) sim.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	seen := 0
	ev, err := f.Wait(ctx, func(ev sim.Event) bool {
		if ev.Method == method && ev.Path == path {
			seen++
		}
		return seen >= n
	})
	if err != nil {
		t.Fatalf("%s never received %s %s (#%d; %d seen): %v", f.ID(), method, path, n, seen, err)
	}
	if ev.ProtocolError != "" {
		t.Errorf("%s refused %s %s: HTTP %d %s", f.ID(), method, path, ev.Status, ev.ProtocolError)
	}
	return ev
}

// waitMatch waits for the first request f receives for which match holds.
func waitMatch(t *testing.T, f *sim.FSP, what string, match func(sim.Event) bool) sim.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ev, err := f.Wait(ctx, match)
	if err != nil {
		t.Fatalf("%s never received %s: %v", f.ID(), what, err)
	}
	return ev
}

// lastSeq returns the Seq of the newest request f holds.
func lastSeq(f *sim.FSP) uint64 {
	evs := f.Events()
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// count counts the requests f holds with method and path.
func count(f *sim.FSP, method, path string) int {
	n := 0
	for _, ev := range f.Events() {
		if ev.Method == method && ev.Path == path {
			n++
		}
	}
	return n
}

// errorCode returns the errorCode of an error callback's body.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var eb struct {
		ErrorInformation errorInformation `json:"errorInformation"`
	}
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Errorf("error body %q: %v", body, err)
	}
	return eb.ErrorInformation.ErrorCode
}

// transferBody is what the tests read of transfer messages.
type transferBody struct {
	TransferID    string `json:"transferId"`
	PayerFsp      string `json:"payerFsp"`
	PayeeFsp      string `json:"payeeFsp"`
	IlpPacket     string `json:"ilpPacket"`
	Condition     string `json:"condition"`
	Fulfilment    string `json:"fulfilment"`
	TransferState string `json:"transferState"`
}

func decodeTransfer(t *testing.T, body []byte) transferBody {
	t.Helper()
	var b transferBody
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("transfer body %q: %v", body, err)
	}
	return b
}

// fulfilment is the fulfilment payee's would send for the ILP packet.
func fulfilment(t *testing.T, payee *sim.FSP, ilp string) string {
	t.Helper()
	_, raw, err := sim.ParsePacket(ilp)
	if err != nil {
		t.Fatalf("ParsePacket: %v", err)
	}
	return sim.Encode32(sim.Fulfil(payee.Secret(), raw))
}

// committed is the body of a payee's PUT /transfers/{ID}.
func committed(fulfilment string) []byte {
	return []byte(fmt.Sprintf(`{"fulfilment":%q,"completedTimestamp":%q,"transferState":"COMMITTED"}`,
		fulfilment, fspiop.DateTime(time.Now())))
}

// newID returns a random version 4 UUID.
func newID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// quote is a POST /quotes body from a customer of payerFSP to payee at
// payeeFSP, amount USD, amountType RECEIVE.
func quote(quoteID, payerFSP string, payer sim.Party, payeeFSP string, payee sim.Party, amount string) []byte {
	return []byte(fmt.Sprintf(`{"quoteId":%q,"transactionId":%q,`+
		`"payee":{"partyIdInfo":{"partyIdType":%q,"partyIdentifier":%q,"fspId":%q}},`+
		`"payer":{"partyIdInfo":{"partyIdType":%q,"partyIdentifier":%q,"fspId":%q}},`+
		`"amountType":"RECEIVE","amount":{"amount":%q,"currency":"USD"},`+
		`"transactionType":{"scenario":"TRANSFER","initiator":"PAYER","initiatorType":"CONSUMER"}}`,
		quoteID, newID(), payee.Type, payee.ID, payeeFSP, payer.Type, payer.ID, payerFSP, amount))
}

// payResult is what Pay returned.
type payResult struct {
	pay sim.Payment
	err error
}

// payAsync runs f.Pay in a goroutine; its result arrives on the channel.
func payAsync(f *sim.FSP, from string, to sim.Party, amount string, timeout time.Duration) <-chan payResult {
	ch := make(chan payResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		p, err := f.Pay(ctx, from, to, amount, usd)
		ch <- payResult{p, err}
	}()
	return ch
}

func awaitPay(t *testing.T, ch <-chan payResult) payResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(3 * waitFor):
		t.Fatal("Pay did not return")
		return payResult{}
	}
}

// pay pays amount USD from f's first customer to to, with a timeout.
func pay(t *testing.T, f *sim.FSP, to sim.Party, amount string) (sim.Payment, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()
	return f.Pay(ctx, f.Customers()[0].Party.ID, to, amount, usd)
}

// fspiopCode returns the FSPIOP code of a failed payment, failing the test
// when err is not an error callback.
func fspiopCode(t *testing.T, err error) (sim.Phase, string) {
	t.Helper()
	var se *sim.Error
	if !errors.As(err, &se) || !errors.Is(err, sim.ErrCallback) {
		t.Fatalf("got %v, want an error callback", err)
	}
	return se.Phase, se.Code
}

// wantBalance waits until f's customer holds want (an FSP settles its
// customers' accounts on its own schedule), and fails the test if it does
// not.
func wantBalance(t *testing.T, f *sim.FSP, customer, want string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		c, ok := f.Customer(customer)
		if !ok {
			t.Fatalf("%s has no customer %s", f.ID(), customer)
		}
		if c.Balance == want {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s's customer %s holds %s, want %s", f.ID(), customer, c.Balance, want)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closedURL returns the URL of a port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

// recorder is an FSP endpoint that records what it receives and answers
// with status(n) for the n-th request (from 1), or 2xx.
type recorder struct {
	srv    *httptest.Server
	status func(n int) int

	mu   sync.Mutex // guards the fields below
	reqs []recorded
	got  chan struct{} // closed and replaced on every request
}

type recorded struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

func newRecorder(t *testing.T, status func(n int) int) *recorder {
	r := &recorder{status: status, got: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) serve(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: b})
	n := len(r.reqs)
	close(r.got)
	r.got = make(chan struct{})
	r.mu.Unlock()
	status := http.StatusOK
	if req.Method == http.MethodPost || req.Method == http.MethodGet {
		status = http.StatusAccepted
	}
	if r.status != nil {
		if s := r.status(n); s != 0 {
			status = s
		}
	}
	w.WriteHeader(status)
}

// requests returns what the recorder received with method and path.
func (r *recorder) requests(method, path string) []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recorded
	for _, q := range r.reqs {
		if q.Method == method && q.Path == path {
			out = append(out, q)
		}
	}
	return out
}

// wait waits until the recorder has received n requests with method and
// path.
func (r *recorder) wait(t *testing.T, method, path string, n int) []recorded {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		r.mu.Lock()
		ch := r.got
		r.mu.Unlock()
		if got := r.requests(method, path); len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("recorder received %d of %d %s %s", len(r.requests(method, path)), n, method, path)
		}
	}
}

// logBuffer keeps the hub's log for a failing test.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf.Bytes()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
