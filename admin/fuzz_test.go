package admin

import (
	"encoding/json"
	"github.com/hutong/hutong/admin/adminapi"
	"net/http"
	"strings"
	"testing"
)

// FuzzAdminJSON posts arbitrary bodies to every endpoint that takes one and
// checks the server never fails (5xx) and answers either success or the
// API's error body with a code.
func FuzzAdminJSON(f *testing.F) {
	h := newHarness(f, Options{MaxBody: 1024})
	h.participant("fz", "USD", "JPY")
	h.fundsIn("fz", "USD", "1000")
	out := newID()
	h.mustCall(http.StatusCreated, "POST", "/admin/v1/participants/fz/funds-out",
		map[string]string{"id": out, "currency": "USD", "amount": "1"}, nil)

	endpoints := []struct{ method, path string }{
		{"POST", "/admin/v1/participants"},
		{"POST", "/admin/v1/participants/fz/suspend"},
		{"POST", "/admin/v1/participants/fz/activate"},
		{"POST", "/admin/v1/participants/fz/currencies"},
		{"PUT", "/admin/v1/participants/fz/currencies/USD/ndc"},
		{"PUT", "/admin/v1/participants/fz/currencies/JPY/ndc"},
		{"POST", "/admin/v1/participants/fz/funds-in"},
		{"POST", "/admin/v1/participants/fz/funds-out"},
		{"POST", "/admin/v1/participants/nobody/funds-in"},
		{"POST", "/admin/v1/funds-out/" + out + "/commit"},
		{"POST", "/admin/v1/funds-out/" + out + "/abort"},
		{"POST", "/admin/v1/funds-out/" + newID() + "/abort"},
	}
	seeds := []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"id":`, `{} {}`, `{}x`,
		`{"id":"fz2","name":"Fuzz Two"}`,
		`{"id":"hub","name":"Hub"}`,
		`{"currency":"EUR"}`, `{"currency":"usd"}`,
		`{"amount":"1000.5"}`, `{"amount":"1.001"}`, `{"amount":"-0"}`, `{"amount":1}`,
		`{"id":"00000000-0000-4000-8000-0000000000ff","currency":"USD","amount":"10"}`,
		`{"id":"00000000-0000-4000-8000-0000000000ff","currency":"USD","amount":"10.01"}`,
		`{"id":"00000000-0000-4000-8000-0000000000fe","currency":"USD","amount":"999999999999999999"}`,
		`{"id":"00000000-0000-4000-8000-0000000000fd","currency":"JPY","amount":"999999999999999999"}`,
		`{"id":"00000000-0000-0000-0000-000000000000","currency":"USD","amount":"1"}`,
		`{"reason":"` + strings.Repeat("r", 300) + `"}`,
		`{"reason":"\ud800"}`,
		`{"ID":"X","Name":"Y"}`,
		`{"id":"a","id":"b","name":"c"}`,
	}
	for i := range endpoints {
		for _, s := range seeds {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, body string) {
		ep := endpoints[int(endpoint)%len(endpoints)]
		status, hdr, b := request(t, h.srv, ep.method, ep.path, "application/json", body)
		if status >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", ep.method, ep.path, body, status, b)
		}
		if hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("%s %s %q: Content-Type %q", ep.method, ep.path, body, hdr.Get("Content-Type"))
		}
		if status/100 == 2 {
			if !json.Valid(b) {
				t.Fatalf("%s %s %q: status %d with invalid JSON %s", ep.method, ep.path, body, status, b)
			}
			return
		}
		var e adminapi.ErrorBody
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s %s %q: status %d without an error body: %s", ep.method, ep.path, body, status, b)
		}
	})
}
