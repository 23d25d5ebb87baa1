package admin

import (
	"bytes"
	"context"
	"github.com/hutong/hutong/admin/adminapi"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/liquidity"
)

// newAlertsHarness is an admin API with a liquidity monitor that records
// alerts without sending them.
func newAlertsHarness(t *testing.T) (*harness, *liquidity.Monitor, *clock.Fake) {
	t.Helper()
	kv := callbackKV(t)
	fake := clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	mon, err := liquidity.Open(context.Background(), liquidity.Config{Clock: fake, Logger: quiet}, kv, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mon.Close(context.Background()); err != nil {
			t.Errorf("close monitor: %v", err)
		}
	})
	return newHarness(t, Options{Alerts: mon}), mon, fake
}

// observe hands the monitor positions and waits until they are examined.
func observe(t *testing.T, mon *liquidity.Monitor, ps ...ledger.Position) {
	t.Helper()
	mon.Observe(ps)
	if err := mon.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAlertRoutes(t *testing.T) {
	h, mon, fake := newAlertsHarness(t)
	h.participant("dfsp1", "USD")
	h.participant("dfsp2", "USD")
	h.participant("dfsp3", "USD")
	observe(t, mon, ledger.Position{Participant: "dfsp1", Currency: "USD", Balance: 80000, Reserved: 5050, NDC: 100000})
	fake.Advance(time.Second)
	observe(t, mon, ledger.Position{Participant: "dfsp2", Currency: "USD", Balance: 1, NDC: 0})
	fake.Advance(time.Second)
	observe(t, mon, ledger.Position{Participant: "dfsp1", Currency: "USD", Balance: -250, NDC: 100000})

	var all adminapi.AlertList
	h.mustCall(http.StatusOK, "GET", "/admin/v1/alerts", nil, &all)
	ids := func(l adminapi.AlertList) []uint64 {
		out := []uint64{}
		for _, a := range l.Alerts {
			out = append(out, a.ID)
		}
		return out
	}
	if got, want := ids(all), []uint64{3, 2, 1}; !slices.Equal(got, want) {
		t.Fatalf("alert ids %v, want %v", got, want)
	}
	pct85 := int64(85)
	wants := []adminapi.Alert{
		{ID: 3, Kind: "CLEARED", Participant: "dfsp1", Currency: "USD", Threshold: 80, Level: 0, Utilisation: new(int64),
			Used: "-2.5", Position: "-2.5", Reserved: "0", NDC: "1000", Time: "2025-03-01T12:00:02Z"},
		{ID: 2, Kind: "RAISED", Participant: "dfsp2", Currency: "USD", Threshold: 95, Level: 95,
			Used: "0.01", Position: "0.01", Reserved: "0", NDC: "0", Time: "2025-03-01T12:00:01Z"},
		{ID: 1, Kind: "RAISED", Participant: "dfsp1", Currency: "USD", Threshold: 80, Level: 80, Utilisation: &pct85,
			Used: "850.5", Position: "800", Reserved: "50.5", NDC: "1000", Time: "2025-03-01T12:00:00Z"},
	}
	if !reflect.DeepEqual(all.Alerts, wants) {
		t.Errorf("alerts\n%+v\nwant\n%+v", all.Alerts, wants)
	}
	// No cap: no utilisation in the JSON at all.
	_, _, raw := h.do("GET", "/admin/v1/alerts?participant=dfsp2", "", "")
	if bytes.Contains(raw, []byte("utilisation")) {
		t.Errorf("alert against a cap of 0 has a utilisation: %s", raw)
	}

	tests := []struct {
		path string
		want []uint64
	}{
		{"/admin/v1/alerts?limit=2", []uint64{3, 2}},
		{"/admin/v1/alerts?participant=dfsp1", []uint64{3, 1}},
		{"/admin/v1/alerts?participant=dfsp1&limit=1", []uint64{3}},
		{"/admin/v1/alerts?participant=dfsp3", []uint64{}},
		{"/admin/v1/participants/dfsp1/alerts", []uint64{3, 1}},
		{"/admin/v1/participants/dfsp1/alerts?limit=1", []uint64{3}},
		{"/admin/v1/participants/dfsp2/alerts?limit=500", []uint64{2}},
		{"/admin/v1/participants/dfsp3/alerts", []uint64{}},
	}
	for _, tt := range tests {
		var got adminapi.AlertList
		h.mustCall(http.StatusOK, "GET", tt.path, nil, &got)
		if got.Alerts == nil || !slices.Equal(ids(got), tt.want) {
			t.Errorf("GET %s: %#v, want ids %v", tt.path, got.Alerts, tt.want)
		}
	}

	refused := []struct {
		path   string
		status int
		code   string
	}{
		{"/admin/v1/alerts?limit=0", 400, codeInvalidQuery},
		{"/admin/v1/alerts?limit=501", 400, codeInvalidQuery},
		{"/admin/v1/alerts?limit=x", 400, codeInvalidQuery},
		{"/admin/v1/alerts?limit=1&limit=2", 400, codeInvalidQuery},
		{"/admin/v1/alerts?participants=dfsp1", 400, codeInvalidQuery},
		{"/admin/v1/alerts?participant=", 400, codeInvalidQuery},
		{"/admin/v1/alerts?participant=nobody", 404, "PARTICIPANT_NOT_FOUND"},
		{"/admin/v1/alerts?participant=a%2Fb", 404, "PARTICIPANT_NOT_FOUND"},
		{"/admin/v1/participants/nobody/alerts", 404, "PARTICIPANT_NOT_FOUND"},
		{"/admin/v1/participants/dfsp1/alerts?participant=dfsp2", 400, codeInvalidQuery},
		{"/admin/v1/participants/dfsp1/alerts?limit=-1", 400, codeInvalidQuery},
	}
	for _, tt := range refused {
		status, _, b := h.do("GET", tt.path, "", "")
		if status != tt.status || errorCode(t, b) != tt.code {
			t.Errorf("GET %s: %d %s, want %d %s", tt.path, status, b, tt.status, tt.code)
		}
	}
	if status, _, b := h.do("POST", "/admin/v1/alerts", "application/json", "{}"); status != http.StatusMethodNotAllowed {
		t.Errorf("POST /admin/v1/alerts: %d %s, want 405", status, b)
	}
}

func TestAlertRoutesUnconfigured(t *testing.T) {
	h := newHarness(t, Options{})
	h.participant("dfsp1")
	for _, path := range []string{"/admin/v1/alerts", "/admin/v1/participants/dfsp1/alerts"} {
		status, _, b := h.do("GET", path, "", "")
		if status != http.StatusServiceUnavailable || errorCode(t, b) != codeUnavailable {
			t.Errorf("GET %s: %d %s, want 503 %s", path, status, b, codeUnavailable)
		}
	}
}

// TestAlertSchemaDocumented checks that openapi.yaml's Alert schema lists
// every field the API answers with.
func TestAlertSchemaDocumented(t *testing.T) {
	const head = "\n    Alert:\n"
	i := bytes.Index(openAPI, []byte(head))
	if i < 0 {
		t.Fatal("no Alert schema")
	}
	// The schema ends at the first line indented four spaces or fewer: the
	// next schema or section.
	var schema strings.Builder
	schema.WriteString("\n")
	for _, line := range strings.SplitAfter(string(openAPI[i+len(head):]), "\n") {
		if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "     ") {
			break
		}
		schema.WriteString(line)
	}
	for _, f := range jsonFields(reflect.TypeFor[adminapi.Alert]()) {
		if !strings.Contains(schema.String(), "\n        "+f+":") {
			t.Errorf("field %s is not in the Alert schema", f)
		}
	}
}
