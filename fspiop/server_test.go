package fspiop

import (
	"net/http"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestSplitPath(t *testing.T) {
	tests := []struct {
		path string
		want []string // nil: refused
	}{
		{"/transfers", []string{"transfers"}},
		{"/parties/MSISDN/123", []string{"parties", "MSISDN", "123"}},
		{"/parties/EMAIL/a%40b.example", []string{"parties", "EMAIL", "a@b.example"}},
		// An escaped slash stays inside its segment.
		{"/parties/ALIAS/a%2Fb/error", []string{"parties", "ALIAS", "a/b", "error"}},
		{"/parties/MSISDN/123/", nil},
		{"//transfers", nil},
		{"/parties/MSISDN/%zz", nil},
		{"transfers", nil},
		{"/a/b/c/d/e/f", []string{"a", "b", "c", "d", "e", "f"}},
		{"/a/b/c/d/e/f/g", nil},
	}
	for _, tt := range tests {
		var segs [6]string
		n, ok := splitPath(tt.path, segs[:])
		if tt.want == nil {
			if ok {
				t.Errorf("splitPath(%q) = %q, want refused", tt.path, segs[:n])
			}
			continue
		}
		if !ok || !equal(segs[:n], tt.want) {
			t.Errorf("splitPath(%q) = %q, %v; want %q", tt.path, segs[:n], ok, tt.want)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMatch(t *testing.T) {
	s := &Server{table: routeTable(DefaultMaxBody)}
	tests := []struct {
		method, path string
		pattern      string // "" when refused
		status       int    // of the refusal
		typ, id, sub string
	}{
		{"POST", "/transfers", "POST /transfers", 0, "", "", ""},
		{"PUT", "/transfers/abc", "PUT /transfers/{id}", 0, "", "abc", ""},
		{"PUT", "/transfers/abc/error", "PUT /transfers/{id}/error", 0, "", "abc", ""},
		{"GET", "/parties/MSISDN/123", "GET /parties/{type}/{id}", 0, "MSISDN", "123", ""},
		{"GET", "/parties/MSISDN/123/home", "GET /parties/{type}/{id}/{sub}", 0, "MSISDN", "123", "home"},
		// A literal segment wins over a path value.
		{"PUT", "/parties/MSISDN/123/error", "PUT /parties/{type}/{id}/error", 0, "MSISDN", "123", ""},
		{"PUT", "/parties/MSISDN/123/home", "PUT /parties/{type}/{id}/{sub}", 0, "MSISDN", "123", "home"},
		{"PUT", "/parties/MSISDN/123/home/error", "PUT /parties/{type}/{id}/{sub}/error", 0, "MSISDN", "123", "home"},
		{"POST", "/participants", "POST /participants", 0, "", "", ""},
		{"DELETE", "/participants/MSISDN/123", "DELETE /participants/{type}/{id}", 0, "MSISDN", "123", ""},
		{"DELETE", "/transfers/abc", "", http.StatusMethodNotAllowed, "", "", ""},
		{"PATCH", "/quotes/abc", "", http.StatusMethodNotAllowed, "", "", ""},
		{"GET", "/nothing", "", http.StatusNotFound, "", "", ""},
		{"GET", "/transfers/", "", http.StatusNotFound, "", "", ""},
		{"POST", "/bulkTransfers", "", http.StatusNotImplemented, "", "", ""},
		{"GET", "/authorizations/abc", "", http.StatusNotImplemented, "", "", ""},
	}
	for _, tt := range tests {
		c := &call{method: tt.method, path: tt.path}
		rt, e := s.match(c)
		if tt.pattern == "" {
			if e == nil || e.Status != tt.status {
				t.Errorf("%s %s: route %v, error %v; want status %d", tt.method, tt.path, rt, e, tt.status)
			}
			continue
		}
		if e != nil || rt.pattern != tt.pattern {
			t.Errorf("%s %s: error %v; want route %q", tt.method, tt.path, e, tt.pattern)
			continue
		}
		if c.typ != tt.typ || c.id != tt.id || c.sub != tt.sub {
			t.Errorf("%s %s: values %q %q %q, want %q %q %q", tt.method, tt.path, c.typ, c.id, c.sub, tt.typ, tt.id, tt.sub)
		}
	}
}

func TestMaxBodyOf(t *testing.T) {
	s := &Server{maxBody: DefaultMaxBody}
	tests := []struct {
		method, uri string
		want        int
	}{
		{"POST", "/participants", MaxBatchBody},
		{"POST", "/participants?x=1", MaxBatchBody},
		{"POST", "/%70articipants", MaxBatchBody},
		{"POST", "http://hub:3000/participants", MaxBatchBody},
		{"POST", "/participants/MSISDN/123", DefaultMaxBody},
		{"PUT", "/participants", DefaultMaxBody},
		{"POST", "/transfers", DefaultMaxBody},
		{"PUT", "/parties/MSISDN/123", DefaultMaxBody},
		{"POST", "/participants/", DefaultMaxBody},
		{"POST", "http://hub:3000", DefaultMaxBody},
	}
	for _, tt := range tests {
		var h fasthttp.RequestHeader
		h.SetMethod(tt.method)
		h.SetRequestURI(tt.uri)
		if got := s.MaxBodyOf(&h); got != tt.want {
			t.Errorf("MaxBodyOf(%s %s) = %d, want %d", tt.method, tt.uri, got, tt.want)
		}
	}
	// It runs for every request.
	var h fasthttp.RequestHeader
	h.SetMethod("POST")
	h.SetRequestURI("/transfers")
	if n := testing.AllocsPerRun(100, func() { s.MaxBodyOf(&h) }); n != 0 {
		t.Errorf("MaxBodyOf of POST /transfers allocates %v times, want 0", n)
	}
}
