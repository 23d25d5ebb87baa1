package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"github.com/hutong/hutong/admin/adminapi"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
)

// harness is an admin API over a real writer on a Pebble store in a
// temporary directory, behind an httptest.Server.
type harness struct {
	t     testing.TB
	srv   *httptest.Server
	w     *writer.Writer
	clock *clock.Fake
}

var quiet = slog.New(slog.DiscardHandler)

func newHarness(t testing.TB, opts Options) *harness {
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
	fake := clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	w, err := writer.Open(context.Background(), st, writer.Config{Clock: fake, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("close writer: %v", err)
		}
	})
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	srv := httptest.NewServer(New(w, opts))
	t.Cleanup(srv.Close)
	return &harness{t: t, srv: srv, w: w, clock: fake}
}

// do sends a request with a raw body; ctype "" sends no Content-Type.
func (h *harness) do(method, path, ctype, body string) (int, http.Header, []byte) {
	h.t.Helper()
	return request(h.t, h.srv, method, path, ctype, body)
}

// request is do for callers with their own testing.TB, such as a fuzz
// target.
func request(t testing.TB, srv *httptest.Server, method, path, ctype, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// call sends v as a JSON body (none when v is nil) and decodes a 2xx answer
// into out, when out is not nil.
func (h *harness) call(method, path string, v any, out any) (int, []byte) {
	h.t.Helper()
	body := ""
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			h.t.Fatal(err)
		}
		body = string(b)
	}
	status, _, b := h.do(method, path, "application/json", body)
	if out != nil && status/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return status, b
}

// mustCall is call that fails the test unless the status is want.
func (h *harness) mustCall(want int, method, path string, v any, out any) {
	h.t.Helper()
	if status, b := h.call(method, path, v, out); status != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
}

// errorCode returns the code of an error body, failing the test when b is
// not one.
func errorCode(t testing.TB, b []byte) string {
	t.Helper()
	var e adminapi.ErrorBody
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("not an error body: %v: %s", err, b)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body without code or message: %s", b)
	}
	return e.Error.Code
}

// state is everything the ledger holds that a request could change, and the
// journal head: equal states mean nothing changed.
func (h *harness) state() string {
	h.t.Helper()
	var ps []ledger.Participant
	var as []ledger.Account
	var pending []ledger.Transfer
	err := h.w.Query(context.Background(), func(l *ledger.Ledger) {
		ps, as, pending = l.Participants(), l.Accounts(), l.Pending()
	})
	if err != nil {
		h.t.Fatal(err)
	}
	slices.SortFunc(ps, func(a, b ledger.Participant) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(as, func(a, b ledger.Account) int { return cmp.Compare(a.String(), b.String()) })
	slices.SortFunc(pending, func(a, b ledger.Transfer) int { return cmp.Compare(a.ID.String(), b.ID.String()) })
	return fmt.Sprintf("head %d\nparticipants %+v\naccounts %+v\npending %+v", h.w.Stats().Head, ps, as, pending)
}

// participant creates an active participant with currencies enabled.
func (h *harness) participant(id string, currencies ...string) {
	h.t.Helper()
	h.mustCall(http.StatusCreated, "POST", "/admin/v1/participants", map[string]string{"id": id, "name": "Participant " + id}, nil)
	for _, c := range currencies {
		h.mustCall(http.StatusOK, "POST", "/admin/v1/participants/"+id+"/currencies", map[string]string{"currency": c}, nil)
	}
}

// fundsIn deposits amount for participant under a new id and returns it.
func (h *harness) fundsIn(participant, currency, amount string) string {
	h.t.Helper()
	id := newID()
	h.mustCall(http.StatusCreated, "POST", "/admin/v1/participants/"+participant+"/funds-in",
		map[string]string{"id": id, "currency": currency, "amount": amount}, nil)
	return id
}

// accounts returns a participant's accounts keyed by "CURRENCY/TYPE".
func (h *harness) accounts(participant string) map[string]adminapi.Account {
	h.t.Helper()
	var list adminapi.AccountList
	h.mustCall(http.StatusOK, "GET", "/admin/v1/participants/"+participant+"/accounts", nil, &list)
	out := make(map[string]adminapi.Account)
	for _, a := range list.Accounts {
		out[a.Currency+"/"+a.Type] = a
	}
	return out
}

var idCounter atomic.Uint64

// newID returns a new UUID-shaped id, distinct within the test binary.
func newID() string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", idCounter.Add(1))
}
