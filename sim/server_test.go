package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawRequest is a request sent straight to an FSP's server.
type rawRequest struct {
	method, path string
	header       map[string]string // "" removes a default header
	body         string
}

func (r rawRequest) do(t *testing.T, base string) (*http.Response, ErrorInformation) {
	t.Helper()
	resp, info, err := r.send(base)
	if err != nil {
		t.Fatal(err)
	}
	return resp, info
}

// send sends r, and may be called from any goroutine.
func (r rawRequest) send(base string) (*http.Response, ErrorInformation, error) {
	req, err := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
	if err != nil {
		return nil, ErrorInformation{}, err
	}
	res := "parties"
	if p := strings.Split(strings.TrimPrefix(r.path, "/"), "/"); len(p) > 0 {
		res = p[0]
	}
	ct := "application/vnd.interoperability." + res + "+json;version=1.1"
	def := map[string]string{
		"Content-Type":       ct,
		"Accept":             "application/vnd.interoperability." + res + "+json;version=1",
		"Date":               time.Now().UTC().Format(http.TimeFormat),
		"FSPIOP-Source":      "hub",
		"FSPIOP-Destination": "fsp1",
	}
	for k, v := range r.header {
		def[k] = v
	}
	for k, v := range def {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, ErrorInformation{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb errorBody
	json.Unmarshal(b, &eb)
	if eb.ErrorInformation == nil {
		return resp, ErrorInformation{}, nil
	}
	return resp, *eb.ErrorInformation, nil
}

func TestProtocolErrors(t *testing.T) {
	// The callbacks to the requests below go to "hub", which takes them.
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(sink.Close)
	h := newFakeHub(t)
	f := testFSP(t, h, "fsp1", nil)
	h.mu.Lock()
	h.fsps["hub"] = sink.URL
	h.mu.Unlock()
	party := "/parties/" + f.Customers()[0].Party.String()
	transfer := `{"transferId":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","payeeFsp":"fsp1","payerFsp":"x","amount":{"amount":"1","currency":"USD"},"ilpPacket":"AQ","condition":"fH9pAYDQbmoZLPbvv3CSW2RfjU4jvM4ApG_fqGnR7Xs","expiration":"2030-01-01T00:00:00.000Z"}`
	tests := []struct {
		name   string
		req    rawRequest
		status int
		code   string
	}{
		{"no Content-Type", rawRequest{method: "GET", path: party, header: map[string]string{"Content-Type": ""}}, 400, CodeMissingElement},
		{"Content-Type of another resource", rawRequest{method: "GET", path: party, header: map[string]string{"Content-Type": "application/vnd.interoperability.quotes+json;version=1.1"}}, 400, CodeMalformedSyntax},
		{"Content-Type plain JSON", rawRequest{method: "GET", path: party, header: map[string]string{"Content-Type": "application/json"}}, 400, CodeMalformedSyntax},
		{"Content-Type version 2.0", rawRequest{method: "GET", path: party, header: map[string]string{"Content-Type": "application/vnd.interoperability.parties+json;version=2.0"}}, 400, CodeUnacceptableVersion},
		{"Content-Type without version", rawRequest{method: "GET", path: party, header: map[string]string{"Content-Type": "application/vnd.interoperability.parties+json"}}, 400, CodeMissingElement},
		{"no Accept on GET", rawRequest{method: "GET", path: party, header: map[string]string{"Accept": ""}}, 400, CodeMissingElement},
		{"Accept version 2", rawRequest{method: "GET", path: party, header: map[string]string{"Accept": "application/vnd.interoperability.parties+json;version=2"}}, 400, CodeUnacceptableVersion},
		{"no Date", rawRequest{method: "GET", path: party, header: map[string]string{"Date": ""}}, 400, CodeMissingElement},
		{"bad Date", rawRequest{method: "GET", path: party, header: map[string]string{"Date": "yesterday"}}, 400, CodeMalformedSyntax},
		{"no FSPIOP-Source", rawRequest{method: "GET", path: party, header: map[string]string{"FSPIOP-Source": ""}}, 400, CodeMissingElement},
		{"no FSPIOP-Destination", rawRequest{method: "GET", path: party, header: map[string]string{"FSPIOP-Destination": ""}}, 400, CodeMissingElement},
		{"FSPIOP-Destination another FSP", rawRequest{method: "GET", path: party, header: map[string]string{"FSPIOP-Destination": "fsp2"}}, 400, CodeMalformedSyntax},
		{"bad JSON", rawRequest{method: "PUT", path: "/quotes/3f2504e0-4f89-41d3-9a0c-0305e82c3301", body: `{"transferAmount":`}, 400, CodeMalformedSyntax},
		{"no body", rawRequest{method: "POST", path: "/transfers"}, 400, CodeMissingElement},
		{"missing element", rawRequest{method: "POST", path: "/transfers", body: strings.Replace(transfer, `"ilpPacket":"AQ",`, "", 1)}, 400, CodeMissingElement},
		{"payeeFsp another FSP", rawRequest{method: "POST", path: "/transfers", body: strings.Replace(transfer, `"payeeFsp":"fsp1"`, `"payeeFsp":"fsp2"`, 1)}, 400, CodeMalformedSyntax},
		{"bad transferId", rawRequest{method: "POST", path: "/transfers", body: strings.Replace(transfer, "3f2504e0-", "3f2504e0", 1)}, 400, CodeMalformedSyntax},
		{"bad condition", rawRequest{method: "POST", path: "/transfers", body: strings.Replace(transfer, "fH9p", "fH9", 1)}, 400, CodeMalformedSyntax},
		{"error callback without code", rawRequest{method: "PUT", path: "/quotes/3f2504e0-4f89-41d3-9a0c-0305e82c3301/error", body: `{"errorInformation":{"errorDescription":"x"}}`}, 400, CodeMalformedSyntax},
		{"PATCH of a transfer not RESERVED", rawRequest{method: "PATCH", path: "/transfers/3f2504e0-4f89-41d3-9a0c-0305e82c3301", body: `{"completedTimestamp":"2030-01-01T00:00:00.000Z","transferState":"COMMITTED"}`}, 400, CodeGenericClient},
		{"PATCH with state RESERVED", rawRequest{method: "PATCH", path: "/transfers/3f2504e0-4f89-41d3-9a0c-0305e82c3301", body: `{"completedTimestamp":"2030-01-01T00:00:00.000Z","transferState":"RESERVED"}`}, 400, CodeMalformedSyntax},
		{"unknown resource", rawRequest{method: "GET", path: "/accounts/1"}, 404, CodeUnknownURI},
		{"unknown party path", rawRequest{method: "GET", path: "/parties/MSISDN"}, 404, CodeUnknownURI},
		{"method not allowed", rawRequest{method: "DELETE", path: "/transfers/3f2504e0-4f89-41d3-9a0c-0305e82c3301"}, 405, CodeGenericClient},
		{"POST to a callback path", rawRequest{method: "POST", path: "/quotes/3f2504e0-4f89-41d3-9a0c-0305e82c3301", body: "{}"}, 405, CodeGenericClient},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, info := tc.req.do(t, f.URL())
			if resp.StatusCode != tc.status || info.ErrorCode != tc.code || info.ErrorDescription == "" {
				t.Errorf("answer = %d %+v, want %d with code %s", resp.StatusCode, info, tc.status, tc.code)
			}
			if got := f.Stats().ProtocolErrors; got != int64(i+1) {
				t.Errorf("ProtocolErrors = %d, want %d", got, i+1)
			}
			evs := f.Events()
			if ev := evs[len(evs)-1]; ev.ProtocolError == "" || ev.Status != tc.status || ev.Method != tc.req.method {
				t.Errorf("last event = %+v", ev)
			}
		})
	}

	// Well-formed requests are accepted: a lookup with the Accept of
	// Listing 3 and a Content-Type of version 1.0, and an error callback.
	good := []rawRequest{
		{method: "GET", path: party, header: map[string]string{
			"Accept":       "application/vnd.interoperability.parties+json;version=1, application/vnd.interoperability.parties+json",
			"Content-Type": "application/vnd.interoperability.parties+json;version=1.0"}},
		{method: "PUT", path: "/transfers/3f2504e0-4f89-41d3-9a0c-0305e82c3301/error", body: `{"errorInformation":{"errorCode":"3303","errorDescription":"expired"}}`},
	}
	for _, r := range good {
		if resp, info := r.do(t, f.URL()); resp.StatusCode/100 != 2 {
			t.Errorf("%s %s = %d %+v", r.method, r.path, resp.StatusCode, info)
		}
	}
	if got := f.Stats().ProtocolErrors; got != int64(len(tests)) {
		t.Errorf("ProtocolErrors = %d after good requests, want %d", got, len(tests))
	}
}

func TestCallbacksCheckTheirBodies(t *testing.T) {
	h := newFakeHub(t)
	f := testFSP(t, h, "fsp1", nil)
	id := "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	tests := []struct {
		name string
		req  rawRequest
	}{
		{"party without fspId", rawRequest{method: "PUT", path: "/parties/MSISDN/1", body: `{"party":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"1"}}}`}},
		{"quote without condition", rawRequest{method: "PUT", path: "/quotes/" + id, body: `{"transferAmount":{"amount":"1","currency":"USD"},"expiration":"2030-01-01T00:00:00.000Z","ilpPacket":"AQ"}`}},
		{"transfer without state", rawRequest{method: "PUT", path: "/transfers/" + id, body: `{"fulfilment":"x"}`}},
		{"batch without parties", rawRequest{method: "PUT", path: "/participants/" + id, body: `{"partyList":[]}`}},
		{"request state unknown", rawRequest{method: "PUT", path: "/transactionRequests/" + id, body: `{"transactionRequestState":"MAYBE"}`}},
	}
	for _, tc := range tests {
		if resp, info := tc.req.do(t, f.URL()); resp.StatusCode != 400 || info.ErrorCode == "" {
			t.Errorf("%s: %d %+v, want 400", tc.name, resp.StatusCode, info)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := func() Config {
		c := DefaultConfig()
		c.ID, c.HubURL = "fsp1", "http://127.0.0.1:1"
		return c
	}
	if c := good(); c.Validate() != nil {
		t.Fatalf("good config: %v", c.Validate())
	}
	tests := map[string]func(*Config){
		"no id":          func(c *Config) { c.ID = "" },
		"id with space":  func(c *Config) { c.ID = "a b" },
		"id too long":    func(c *Config) { c.ID = strings.Repeat("a", 33) },
		"hub not http":   func(c *Config) { c.HubURL = "ftp://x" },
		"no hub":         func(c *Config) { c.HubURL = "" },
		"currency":       func(c *Config) { c.Currency = "XXX" },
		"customers":      func(c *Config) { c.Customers = MaxCustomers + 1 },
		"prefix letters": func(c *Config) { c.AliasPrefix = "12a" },
		"balance":        func(c *Config) { c.Balance = "1.001" },
		"secret size":    func(c *Config) { c.Secret = []byte("short") },
		"amount type":    func(c *Config) { c.AmountType = "BOTH" },
		"expiry":         func(c *Config) { c.TransferExpiry = 0 },
		"fee":            func(c *Config) { c.Behaviour.Fee = "-1" },
		"reject code":    func(c *Config) { c.Behaviour.RejectCode = "0123" },
		"workers":        func(c *Config) { c.Workers = 0 },
		"batch":          func(c *Config) { c.RegisterBatch = 10001 },
		"max body":       func(c *Config) { c.MaxBody = 10 },
	}
	for name, edit := range tests {
		c := good()
		edit(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: Validate = %v, want ErrConfig", name, err)
		}
		if _, err := Start(context.Background(), c); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: Start = %v, want ErrConfig", name, err)
		}
	}
}

func TestAliases(t *testing.T) {
	p := DefaultAliasPrefix("payfast")
	if p != DefaultAliasPrefix("payfast") || len(p) != 8 || !strings.HasPrefix(p, "99") {
		t.Errorf("DefaultAliasPrefix(payfast) = %q", p)
	}
	if p == DefaultAliasPrefix("mobimoney") {
		t.Errorf("two FSPs share the prefix %q", p)
	}
	if got, want := CustomerAlias("99123456", 7), (Party{Type: "MSISDN", ID: "99123456000007"}); got != want {
		t.Errorf("CustomerAlias = %v, want %v", got, want)
	}
	h := newFakeHub(t)
	f := testFSP(t, h, "payfast", nil)
	cs := f.Customers()
	if cs[0].Party != CustomerAlias(p, 1) || cs[2].Party != CustomerAlias(p, 3) || cs[0].Balance != "1000000" {
		t.Errorf("customers = %+v", cs)
	}
	if cs[0].FirstName == "" || cs[0].LastName == "" || cs[0].FirstName == cs[1].FirstName {
		t.Errorf("names = %+v", cs)
	}
}

func TestParseParty(t *testing.T) {
	tests := []struct {
		in   string
		want Party
		ok   bool
	}{
		{"MSISDN/123", Party{Type: "MSISDN", ID: "123"}, true},
		{"BUSINESS/shoe/emp1", Party{Type: "BUSINESS", ID: "shoe", SubID: "emp1"}, true},
		{"PHONE/123", Party{}, false},
		{"MSISDN/", Party{}, false},
		{"MSISDN/1/", Party{}, false},
		{"MSISDN", Party{}, false},
		{"MSISDN/1/2/3", Party{}, false},
	}
	for _, tc := range tests {
		got, err := ParseParty(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseParty(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestEventsRing(t *testing.T) {
	e := newEvents(3)
	for i := range 5 {
		e.record(Event{Path: string(rune('a' + i))})
	}
	var paths []string
	for _, ev := range e.all() {
		paths = append(paths, ev.Path)
	}
	if got := strings.Join(paths, ""); got != "cde" {
		t.Errorf("ring holds %q, want cde", got)
	}
	ctx := ctxTimeout(t, 5*time.Second)
	if ev, err := e.wait(ctx, func(ev Event) bool { return ev.Path == "d" }); err != nil || ev.Seq != 4 {
		t.Errorf("wait for a past event = %+v, %v", ev, err)
	}
	got := make(chan Event, 1)
	go func() {
		ev, _ := e.wait(ctx, func(ev Event) bool { return ev.Path == "z" })
		got <- ev
	}()
	e.record(Event{Path: "y"})
	e.record(Event{Path: "z"})
	if ev := <-got; ev.Seq != 7 {
		t.Errorf("waited event = %+v, want seq 7", ev)
	}
	short, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.wait(short, func(Event) bool { return false }); !errors.Is(err, context.Canceled) {
		t.Errorf("wait on a cancelled context = %v", err)
	}
	none := newEvents(0)
	none.record(Event{})
	if len(none.all()) != 0 {
		t.Error("a ring of 0 keeps events")
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		e    *Error
		want string
	}{
		{&Error{Phase: PhaseQuote, Code: "5103", Description: "Payee FSP rejected quote", Err: ErrCallback}, "sim: quote: FSPIOP error 5103: Payee FSP rejected quote"},
		{&Error{Phase: PhaseTransfer, Status: 503, Description: "down", Err: ErrRefused}, "sim: transfer: HTTP 503: down"},
		{&Error{Phase: PhaseTransfer, Err: ErrFulfilment}, "sim: transfer: fulfilment does not match the condition"},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// startAgainst starts fsp1 with the default configuration, sending to the
// hub at hubURL, and closes it when the test ends.
func startAgainst(t *testing.T, hubURL string) *FSP {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ID, cfg.HubURL = "fsp1", hubURL
	f, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(context.Background()) })
	return f
}

func TestRefusedRequest(t *testing.T) {
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"errorInformation":{"errorCode":"3101","errorDescription":"Malformed syntax"}}`))
	}))
	defer hub.Close()
	f := startAgainst(t, hub.URL)
	_, err := f.Pay(context.Background(), f.Customers()[0].Party.ID, Party{Type: "MSISDN", ID: "1"}, "1", "USD")
	var e *Error
	if !errors.As(err, &e) || e.Phase != PhaseDiscovery || e.Status != 400 || e.Code != "3101" || !errors.Is(err, ErrRefused) {
		t.Errorf("Pay = %v, want a refused discovery", err)
	}
	if s := f.Stats(); s.SendFailures != 1 || s.PaymentsFailed != 1 {
		t.Errorf("stats = %+v", s)
	}
	// A context ended before sending: nothing is sent.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = f.Pay(ctx, f.Customers()[0].Party.ID, Party{Type: "MSISDN", ID: "1"}, "1", "USD")
	if !errors.As(err, &e) || e.Phase != PhaseDiscovery || !errors.Is(err, ErrRefused) || !errors.Is(err, context.Canceled) {
		t.Errorf("Pay with a cancelled context = %v, want a refused discovery with context.Canceled", err)
	}
	if s := f.Stats(); s.Sent != 1 {
		t.Errorf("sent %d requests, want 1", s.Sent)
	}
}

func TestSetup(t *testing.T) {
	type call struct{ method, path, body string }
	var (
		mu    sync.Mutex
		calls []call
	)
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, call{r.Method, r.URL.Path, string(b)})
		mu.Unlock()
		if r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(415)
			return
		}
		if r.Header.Get("Authorization") != "Bearer the-operators-token" {
			w.WriteHeader(401)
			w.Write([]byte(`{"error":{"code":"UNAUTHORIZED","message":"no token"}}`))
			return
		}
		switch {
		case r.URL.Path == "/admin/v1/participants":
			w.WriteHeader(409)
			w.Write([]byte(`{"error":{"code":"PARTICIPANT_EXISTS","message":"taken"}}`))
		case strings.HasSuffix(r.URL.Path, "/funds-in"):
			if strings.Contains(string(b), `"amount":"13"`) {
				w.WriteHeader(422)
				w.Write([]byte(`{"error":{"code":"OVERFLOW","message":"too much"}}`))
				return
			}
			w.WriteHeader(201)
		default:
			w.WriteHeader(200)
		}
	}))
	defer admin.Close()
	p := Onboarding{FSP: "payfast", Name: "PayFast", Currency: "USD", NDC: "5000", Funds: "10000", CallbackBase: "http://127.0.0.1:9/",
		AdminToken: "the-operators-token"}
	for range 2 {
		if err := Setup(context.Background(), admin.URL, p); err != nil {
			t.Fatal(err)
		}
	}
	want := []call{
		{"POST", "/admin/v1/participants", `{"id":"payfast","name":"PayFast"}`},
		{"POST", "/admin/v1/participants/payfast/currencies", `{"currency":"USD"}`},
		{"PUT", "/admin/v1/participants/payfast/currencies/USD/ndc", `{"amount":"5000"}`},
		{"POST", "/admin/v1/participants/payfast/funds-in", `{"amount":"10000","currency":"USD","id":"` + fundsInID("payfast", "USD", "10000") + `"}`},
		{"PUT", "/admin/v1/participants/payfast/endpoints", `{"base":"http://127.0.0.1:9/"}`},
	}
	mu.Lock()
	got := calls
	mu.Unlock()
	if len(got) != 2*len(want) {
		t.Fatalf("%d calls, want %d: %+v", len(got), 2*len(want), got)
	}
	for i, c := range got {
		if c != want[i%len(want)] {
			t.Errorf("call %d = %+v, want %+v", i, c, want[i%len(want)])
		}
	}
	id := fundsInID("payfast", "USD", "10000")
	if checkID(id, "id") != nil || id[14] != '5' || id == fundsInID("payfast", "USD", "10001") {
		t.Errorf("funds in id %q", id)
	}
	p.Funds = "13"
	if err := Setup(context.Background(), admin.URL, p); !errors.Is(err, ErrSetup) || !strings.Contains(err.Error(), "OVERFLOW") {
		t.Errorf("Setup refused = %v, want ErrSetup with OVERFLOW", err)
	}
}

func TestBodyTooLarge(t *testing.T) {
	h := newFakeHub(t)
	f := testFSP(t, h, "fsp1", func(c *Config) { c.MaxBody = 1024 })
	body := `{"transferId":"` + strings.Repeat("0", 2000) + `"}`
	resp, info := rawRequest{method: "POST", path: "/transfers", body: body}.do(t, f.URL())
	if resp.StatusCode != 400 || info.ErrorCode != CodeTooLargePayload {
		t.Errorf("answer = %d %+v, want 400 with code %s", resp.StatusCode, info, CodeTooLargePayload)
	}
	if s := f.Stats(); s.Received != 1 || s.ProtocolErrors != 1 {
		t.Errorf("stats = %+v, want 1 received, 1 protocol error", s)
	}
	evs := f.Events()
	if len(evs) != 1 || evs[0].Method != "POST" || evs[0].Path != "/transfers" || evs[0].Status != 400 || evs[0].ProtocolError == "" ||
		evs[0].Header.Get("FSPIOP-Source") != "hub" {
		t.Errorf("events = %+v", evs)
	}
}

func TestEscapedPathSegments(t *testing.T) {
	var (
		mu  sync.Mutex
		got []string
	)
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.EscapedPath())
		mu.Unlock()
	}))
	defer hub.Close()
	f := startAgainst(t, hub.URL)
	// One identifier with slashes: two segments, not four.
	if resp, info := (rawRequest{method: "GET", path: "/parties/MSISDN/1%2F2%2F3"}).do(t, f.URL()); resp.StatusCode != 202 {
		t.Fatalf("GET = %d %+v, want 202", resp.StatusCode, info)
	}
	closeFSP(t, f)
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"PUT /parties/MSISDN/1%2F2%2F3/error"}; !slices.Equal(got, want) {
		t.Errorf("the hub received %q, want %q", got, want)
	}
}

func TestCloseWhileHandlerWaitsForWorker(t *testing.T) {
	release := make(chan struct{})
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hub.Close()
	cfg := DefaultConfig()
	cfg.ID, cfg.HubURL, cfg.Customers = "fsp1", hub.URL, 2
	cfg.Workers, cfg.Queue = 1, 0
	f, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cs := f.Customers()
	// The one worker takes the first lookup and waits for the hub.
	if resp, info := (rawRequest{method: "GET", path: "/parties/" + cs[0].Party.String()}).do(t, f.URL()); resp.StatusCode != 202 {
		t.Fatalf("first GET = %d %+v", resp.StatusCode, info)
	}
	// The second waits in the handler for the worker until Close gives up
	// on the server: only then is it answered and the hub released.
	second := make(chan error, 1)
	go func() {
		defer close(release)
		resp, _, err := rawRequest{method: "GET", path: "/parties/" + cs[1].Party.String()}.send(f.URL())
		if err == nil && resp.StatusCode != 202 {
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		second <- err
	}()
	if _, err := f.Wait(ctxTimeout(t, 10*time.Second), func(ev Event) bool { return ev.Seq == 2 }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := f.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the context's deadline", err)
	}
	if err := <-second; err != nil {
		t.Errorf("second GET: %v, want 202", err)
	}
	if s := f.Stats(); s.Sent != 1 {
		t.Errorf("sent %d callbacks, want 1: the second job is dropped", s.Sent)
	}
}
