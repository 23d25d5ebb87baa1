package admin

import (
	"bytes"
	"context"
	"fmt"
	"github.com/hutong/hutong/admin/adminapi"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/store/kv"
	"github.com/hutong/hutong/store/pebble"
)

// callbackKV opens a KV of its own for the callback package.
func callbackKV(t *testing.T) kv.Space {
	t.Helper()
	st, err := pebble.Open(t.TempDir(), pebble.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return st.KV()
}

// newCallbackHarness is an admin API with endpoints and a Sender.
func newCallbackHarness(t *testing.T) (*harness, *callback.Endpoints, *callback.Sender) {
	t.Helper()
	kv := callbackKV(t)
	eps, err := callback.OpenEndpoints(context.Background(), kv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := callback.Config{Attempts: 1, Backoff: time.Millisecond, Logger: quiet}
	snd, err := callback.NewSender(cfg, eps, kv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := snd.Close(context.Background()); err != nil {
			t.Errorf("close sender: %v", err)
		}
	})
	return newHarness(t, Options{Endpoints: eps, Callbacks: snd}), eps, snd
}

func TestEndpointRoutes(t *testing.T) {
	h, eps, _ := newCallbackHarness(t)
	h.participant("dfsp1")
	base := "/admin/v1/participants/dfsp1/endpoints"

	var list adminapi.EndpointList
	h.mustCall(http.StatusOK, "GET", base, nil, &list)
	if list.Endpoints == nil || len(list.Endpoints) != 0 {
		t.Errorf("endpoints of a new participant = %#v, want []", list.Endpoints)
	}

	h.mustCall(http.StatusOK, "PUT", base, map[string]string{"base": "http://dfsp1:4000"}, &list)
	if got, want := len(list.Endpoints), len(callback.Kinds()); got != want {
		t.Fatalf("base set %d endpoints, want %d", got, want)
	}
	for i := 1; i < len(list.Endpoints); i++ {
		if list.Endpoints[i-1].Type >= list.Endpoints[i].Type {
			t.Errorf("endpoints not sorted by type: %s before %s", list.Endpoints[i-1].Type, list.Endpoints[i].Type)
		}
	}
	if got, _ := eps.Get("dfsp1", callback.TransferError); got != "http://dfsp1:4000/transfers/{{transferId}}/error" {
		t.Errorf("TRANSFER_ERROR = %q", got)
	}

	h.mustCall(http.StatusOK, "PUT", base, map[string]any{"endpoints": []map[string]string{
		{"type": "FSPIOP_CALLBACK_URL_TRANSFER_PUT", "value": "https://other/t/{{transferId}}"},
		{"type": "FSPIOP_CALLBACK_URL_QUOTES", "value": "https://other/"},
	}}, &list)
	found := 0
	for _, e := range list.Endpoints {
		switch e.Type {
		case "FSPIOP_CALLBACK_URL_TRANSFER_PUT":
			found++
			if e.Value != "https://other/t/{{transferId}}" {
				t.Errorf("TRANSFER_PUT = %q after the update", e.Value)
			}
		case "FSPIOP_CALLBACK_URL_QUOTES":
			found++
			if e.Value != "https://other/" {
				t.Errorf("QUOTES = %q after the update", e.Value)
			}
		case "FSPIOP_CALLBACK_URL_TRANSFER_POST":
			if e.Value != "http://dfsp1:4000/transfers" {
				t.Errorf("TRANSFER_POST = %q, changed by an update of others", e.Value)
			}
		}
	}
	if found != 2 || len(list.Endpoints) != len(callback.Kinds()) {
		t.Errorf("after the update: %d endpoints, %d of them updated", len(list.Endpoints), found)
	}

	h.mustCall(http.StatusOK, "DELETE", base+"/FSPIOP_CALLBACK_URL_TRANSFER_PUT", nil, &list)
	if len(list.Endpoints) != len(callback.Kinds())-1 {
		t.Errorf("after DELETE %d endpoints, want %d", len(list.Endpoints), len(callback.Kinds())-1)
	}
	if _, ok := eps.Get("dfsp1", callback.TransferPut); ok {
		t.Errorf("deleted endpoint still set")
	}
	h.mustCall(http.StatusOK, "DELETE", base+"/FSPIOP_CALLBACK_URL_TRANSFER_PUT", nil, &list)
	var again adminapi.EndpointList
	h.mustCall(http.StatusOK, "GET", base, nil, &again)
	if fmt.Sprint(again) != fmt.Sprint(list) {
		t.Errorf("GET = %v, want %v", again, list)
	}
}

func TestEndpointRoutesRefuse(t *testing.T) {
	h, eps, _ := newCallbackHarness(t)
	h.participant("dfsp1")
	base := "/admin/v1/participants/dfsp1/endpoints"
	tests := []struct {
		name         string
		method, path string
		ctype, body  string
		status       int
		code         string
	}{
		{"unknown participant get", "GET", "/admin/v1/participants/nobody/endpoints", "", "", 404, "PARTICIPANT_NOT_FOUND"},
		{"unknown participant put", "PUT", "/admin/v1/participants/nobody/endpoints", "application/json", `{"base":"http://h"}`, 404, "PARTICIPANT_NOT_FOUND"},
		{"unknown participant delete", "DELETE", "/admin/v1/participants/nobody/endpoints/FSPIOP_CALLBACK_URL_QUOTES", "", "", 404, "PARTICIPANT_NOT_FOUND"},
		{"empty body", "PUT", base, "application/json", ``, 400, codeInvalidJSON},
		{"no content type", "PUT", base, "", `{"base":"http://h"}`, 415, codeUnsupportedMedia},
		{"neither", "PUT", base, "application/json", `{}`, 400, codeMissingField},
		{"both", "PUT", base, "application/json", `{"base":"http://h","endpoints":[{"type":"FSPIOP_CALLBACK_URL_QUOTES","value":"http://h"}]}`, 400, codeInvalidEndpoint},
		{"empty base", "PUT", base, "application/json", `{"base":""}`, 400, codeMissingField},
		{"empty list", "PUT", base, "application/json", `{"endpoints":[]}`, 400, codeMissingField},
		{"unknown field", "PUT", base, "application/json", `{"baseUrl":"http://h"}`, 400, codeUnknownField},
		{"field case", "PUT", base, "application/json", `{"Base":"http://h"}`, 400, codeUnknownField},
		{"base not a URL", "PUT", base, "application/json", `{"base":"dfsp1:4000"}`, 400, codeInvalidEndpoint},
		{"base with query", "PUT", base, "application/json", `{"base":"http://h/?a=1"}`, 400, codeInvalidEndpoint},
		{"base with user", "PUT", base, "application/json", `{"base":"http://u:p@h"}`, 400, codeInvalidEndpoint},
		{"element not an object", "PUT", base, "application/json", `{"endpoints":["http://h"]}`, 400, codeWrongType},
		{"element unknown field", "PUT", base, "application/json", `{"endpoints":[{"type":"FSPIOP_CALLBACK_URL_QUOTES","value":"http://h","x":1}]}`, 400, codeUnknownField},
		{"element field case", "PUT", base, "application/json", `{"endpoints":[{"Type":"FSPIOP_CALLBACK_URL_QUOTES","value":"http://h"}]}`, 400, codeUnknownField},
		{"element missing value", "PUT", base, "application/json", `{"endpoints":[{"type":"FSPIOP_CALLBACK_URL_QUOTES"}]}`, 400, codeMissingField},
		{"element wrong type", "PUT", base, "application/json", `{"endpoints":[{"type":"FSPIOP_CALLBACK_URL_QUOTES","value":1}]}`, 400, codeWrongType},
		{"unknown type", "PUT", base, "application/json", `{"endpoints":[{"type":"FSPIOP_CALLBACK_URL_NOPE","value":"http://h"}]}`, 400, codeUnknownEndpointType},
		{"type twice", "PUT", base, "application/json", `{"endpoints":[{"type":"FSPIOP_CALLBACK_URL_QUOTES","value":"http://h"},{"type":"FSPIOP_CALLBACK_URL_QUOTES","value":"http://i"}]}`, 400, codeInvalidEndpoint},
		{"one bad among good", "PUT", base, "application/json", `{"endpoints":[{"type":"FSPIOP_CALLBACK_URL_QUOTES","value":"http://h"},{"type":"FSPIOP_CALLBACK_URL_TRANSFER_PUT","value":"http://h/{{quoteId}}"}]}`, 400, codeInvalidEndpoint},
		{"delete unknown type", "DELETE", base + "/NOPE", "", "", 400, codeUnknownEndpointType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, b := h.do(tt.method, tt.path, tt.ctype, tt.body)
			if status != tt.status || errorCode(t, b) != tt.code {
				t.Errorf("%s %s %s: %d %s, want %d %s", tt.method, tt.path, tt.body, status, b, tt.status, tt.code)
			}
		})
	}
	if got := eps.List("dfsp1"); len(got) != 0 {
		t.Errorf("refused requests stored %v", got)
	}
}

func TestCallbackRoutesUnconfigured(t *testing.T) {
	h := newHarness(t, Options{})
	h.participant("dfsp1")
	for _, rt := range []struct{ method, path, body string }{
		{"GET", "/admin/v1/participants/dfsp1/endpoints", ""},
		{"PUT", "/admin/v1/participants/dfsp1/endpoints", `{"base":"http://h"}`},
		{"DELETE", "/admin/v1/participants/dfsp1/endpoints/FSPIOP_CALLBACK_URL_QUOTES", ""},
		{"GET", "/admin/v1/participants/dfsp1/callbacks/failed", ""},
		{"POST", "/admin/v1/participants/dfsp1/callbacks/failed/" + strings.Repeat("0", 24) + "/redeliver", ""},
	} {
		status, _, b := h.do(rt.method, rt.path, "application/json", rt.body)
		if status != http.StatusServiceUnavailable || errorCode(t, b) != codeUnavailable {
			t.Errorf("%s %s: %d %s, want 503 %s", rt.method, rt.path, status, b, codeUnavailable)
		}
	}
}

func TestFailedCallbackRoutes(t *testing.T) {
	h, eps, snd := newCallbackHarness(t)
	h.participant("dfsp1")
	h.participant("dfsp2")

	var mu sync.Mutex
	status := http.StatusInternalServerError
	var got [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		b.ReadFrom(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, b.Bytes())
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	if err := eps.SetBase(context.Background(), "dfsp1", srv.URL); err != nil {
		t.Fatal(err)
	}

	const n = 3
	for i := range n {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		snd.Send(&callback.Request{To: "dfsp1", Kind: callback.TransferPut, Method: "PUT", Path: "/transfers/" + id,
			Vars: callback.Vars{ID: id}, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"i":` + fmt.Sprint(i) + `}`)})
	}
	deadline := time.Now().Add(20 * time.Second)
	for snd.Stats().Failed < n {
		if time.Now().After(deadline) {
			t.Fatalf("callbacks did not fail: %+v", snd.Stats())
		}
		time.Sleep(time.Millisecond)
	}

	path := "/admin/v1/participants/dfsp1/callbacks/failed"
	var page adminapi.FailedCallbackPage
	h.mustCall(http.StatusOK, "GET", path, nil, &page)
	if len(page.Failures) != n || page.Next != "" {
		t.Fatalf("page of %d failures, next %q; want %d, none", len(page.Failures), page.Next, n)
	}
	f := page.Failures[0]
	if f.To != "dfsp1" || f.Type != "FSPIOP_CALLBACK_URL_TRANSFER_PUT" || f.Method != "PUT" || f.Attempts != 1 ||
		f.LastStatus != 500 || !strings.HasPrefix(f.URL, srv.URL+"/transfers/") || f.Body == nil ||
		f.Headers["Content-Type"][0] != "application/json" || f.First == "" || f.Last == "" || f.LastError == "" {
		t.Errorf("failure %+v", f)
	}

	// Pages of one.
	var ids []string
	cursor := ""
	for range n + 1 {
		var p adminapi.FailedCallbackPage
		h.mustCall(http.StatusOK, "GET", path+"?limit=1&cursor="+cursor, nil, &p)
		for _, f := range p.Failures {
			ids = append(ids, f.ID)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if len(ids) != n || ids[0] != page.Failures[0].ID || ids[n-1] != page.Failures[n-1].ID {
		t.Errorf("paged ids %v, want those of %+v", ids, page.Failures)
	}

	for _, q := range []string{"?limit=0", "?limit=501", "?limit=x", "?cursor=zz", "?other=1", "?limit=1&limit=2"} {
		status, _, b := h.do("GET", path+q, "", "")
		if want := map[bool]string{true: codeInvalidCursor, false: codeInvalidQuery}[strings.HasPrefix(q, "?cursor")]; status != 400 || errorCode(t, b) != want {
			t.Errorf("GET %s: %d %s, want 400 %s", q, status, b, want)
		}
	}
	if status, _, b := h.do("GET", "/admin/v1/participants/nobody/callbacks/failed", "", ""); status != 404 || errorCode(t, b) != "PARTICIPANT_NOT_FOUND" {
		t.Errorf("unknown participant: %d %s", status, b)
	}
	var empty adminapi.FailedCallbackPage
	h.mustCall(http.StatusOK, "GET", "/admin/v1/participants/dfsp2/callbacks/failed", nil, &empty)
	if empty.Failures == nil || len(empty.Failures) != 0 {
		t.Errorf("dfsp2 failures %#v, want []", empty.Failures)
	}

	// Redeliver the newest once the participant is fixed.
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	redeliver := path + "/" + f.ID + "/redeliver"
	var back adminapi.FailedCallback
	h.mustCall(http.StatusAccepted, "POST", redeliver, nil, &back)
	if back.ID != f.ID || back.URL != f.URL {
		t.Errorf("redeliver answered %+v, want %+v", back, f)
	}
	for snd.Stats().Delivered < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("redelivery did not arrive: %+v", snd.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	last := string(got[len(got)-1])
	mu.Unlock()
	if last != *f.Body {
		t.Errorf("redelivered body %q, want %q", last, *f.Body)
	}
	if status, _, b := h.do("POST", redeliver, "", ""); status != 404 || errorCode(t, b) != codeFailedCallbackNotFound {
		t.Errorf("second redeliver: %d %s, want 404 %s", status, b, codeFailedCallbackNotFound)
	}
	h.mustCall(http.StatusOK, "GET", path, nil, &page)
	if len(page.Failures) != n-1 {
		t.Errorf("%d failures after a redelivery, want %d", len(page.Failures), n-1)
	}

	// Without an endpoint the record stays.
	h.mustCall(http.StatusOK, "DELETE", "/admin/v1/participants/dfsp1/endpoints/FSPIOP_CALLBACK_URL_TRANSFER_PUT", nil, nil)
	if status, _, b := h.do("POST", path+"/"+page.Failures[0].ID+"/redeliver", "application/json", "{}"); status != 409 || errorCode(t, b) != codeNoEndpoint {
		t.Errorf("redeliver with no endpoint: %d %s, want 409 %s", status, b, codeNoEndpoint)
	}
	if status, _, b := h.do("POST", path+"/"+page.Failures[0].ID+"/redeliver", "application/json", `{"x":1}`); status != 400 || errorCode(t, b) != codeUnknownField {
		t.Errorf("redeliver with a body: %d %s, want 400 %s", status, b, codeUnknownField)
	}
	for _, id := range []string{"nope", strings.Repeat("0", 24)} {
		if status, _, b := h.do("POST", path+"/"+id+"/redeliver", "", ""); status != 404 || errorCode(t, b) != codeFailedCallbackNotFound {
			t.Errorf("redeliver %s: %d %s, want 404 %s", id, status, b, codeFailedCallbackNotFound)
		}
	}
	h.mustCall(http.StatusOK, "GET", path, nil, &page)
	if len(page.Failures) != n-1 {
		t.Errorf("%d failures after refused redeliveries, want %d", len(page.Failures), n-1)
	}
}

// TestCallbackSchemasDocumented checks that openapi.yaml lists the codes
// and endpoint types the callback routes use.
func TestCallbackSchemasDocumented(t *testing.T) {
	for _, code := range []string{codeInvalidEndpoint, codeUnknownEndpointType, codeNoEndpoint, codeFailedCallbackNotFound} {
		if !bytes.Contains(openAPI, []byte("                - "+code+"\n")) {
			t.Errorf("error code %s is not in the document's enum", code)
		}
	}
	i := bytes.Index(openAPI, []byte("    EndpointType:\n"))
	if i < 0 {
		t.Fatal("no EndpointType schema")
	}
	doc := openAPI[i:]
	for _, k := range callback.Kinds() {
		if !bytes.Contains(doc, []byte("        - "+string(k)+"\n")) {
			t.Errorf("endpoint type %s is not in the EndpointType enum", k)
		}
	}
}
