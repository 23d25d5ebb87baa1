package admin

import (
	"encoding/json"
	"github.com/hutong/hutong/admin/adminapi"
	"net/http"
	"strings"
	"testing"
)

func TestToken(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	h := newHarness(t, Options{Token: token})
	tests := []struct {
		name, auth string
		want       int
	}{
		{"none", "", http.StatusUnauthorized},
		{"wrong", "Bearer " + strings.Repeat("x", len(token)), http.StatusUnauthorized},
		{"a prefix of it", "Bearer " + token[:len(token)-1], http.StatusUnauthorized},
		{"longer", "Bearer " + token + "0", http.StatusUnauthorized},
		{"another scheme", "Basic " + token, http.StatusUnauthorized},
		{"the scheme alone", "Bearer ", http.StatusUnauthorized},
		{"right", "Bearer " + token, http.StatusOK},
		{"scheme in lower case", "bearer " + token, http.StatusOK},
	}
	for _, tt := range tests {
		for _, path := range []string{"/admin/v1/participants", "/admin/v1/nothing-here"} {
			req, err := http.NewRequest("GET", h.srv.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body adminapi.ErrorBody
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			want := tt.want
			if want == http.StatusOK && path != "/admin/v1/participants" {
				want = http.StatusNotFound // past the token, routed as usual
			}
			if resp.StatusCode != want {
				t.Errorf("%s, GET %s: status %d, want %d", tt.name, path, resp.StatusCode, want)
				continue
			}
			if want == http.StatusUnauthorized {
				if body.Error.Code != codeUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: code %q, WWW-Authenticate %q; want %s and a challenge", tt.name, body.Error.Code, resp.Header.Get("WWW-Authenticate"), codeUnauthorized)
				}
			}
		}
	}
}
