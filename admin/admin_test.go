package admin

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"github.com/hutong/hutong/admin/adminapi"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
)

func TestParticipants(t *testing.T) {
	h := newHarness(t, Options{})
	var p adminapi.Participant
	h.mustCall(http.StatusCreated, "POST", "/admin/v1/participants", map[string]string{"id": "dfsp-b", "name": "Bank B"}, &p)
	if p.ID != "dfsp-b" || p.Name != "Bank B" || p.Status != "ACTIVE" || p.Created != "2025-03-01T12:00:00Z" || p.Currencies == nil || len(p.Currencies) != 0 {
		t.Fatalf("created %+v", p)
	}
	h.participant("dfsp-a")
	h.participant("dfsp-c")

	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   string // "" for success
	}{
		{"create again, same name", "POST", "/admin/v1/participants", `{"id":"dfsp-b","name":"Bank B"}`, 200, ""},
		{"create again, other name", "POST", "/admin/v1/participants", `{"id":"dfsp-b","name":"Bank Z"}`, 409, "PARTICIPANT_EXISTS"},
		{"create hub", "POST", "/admin/v1/participants", `{"id":"hub","name":"Hub"}`, 400, "INVALID_PARTICIPANT_ID"},
		{"create id with slash", "POST", "/admin/v1/participants", `{"id":"a/b","name":"AB"}`, 400, "INVALID_PARTICIPANT_ID"},
		{"create unprintable name", "POST", "/admin/v1/participants", `{"id":"dfsp-x","name":"A\u0001"}`, 400, "INVALID_NAME"},
		{"create without name", "POST", "/admin/v1/participants", `{"id":"dfsp-x"}`, 400, "MISSING_FIELD"},
		{"create without id", "POST", "/admin/v1/participants", `{"name":"X"}`, 400, "MISSING_FIELD"},
		{"get unknown", "GET", "/admin/v1/participants/nobody", "", 404, "PARTICIPANT_NOT_FOUND"},
		{"suspend unknown", "POST", "/admin/v1/participants/nobody/suspend", "", 404, "PARTICIPANT_NOT_FOUND"},
		{"activate unknown", "POST", "/admin/v1/participants/nobody/activate", "", 404, "PARTICIPANT_NOT_FOUND"},
		{"suspend with unknown field", "POST", "/admin/v1/participants/dfsp-a/suspend", `{"reason":"x"}`, 400, "UNKNOWN_FIELD"},
		{"enable currency of unknown", "POST", "/admin/v1/participants/nobody/currencies", `{"currency":"USD"}`, 404, "PARTICIPANT_NOT_FOUND"},
		{"enable lower-case currency", "POST", "/admin/v1/participants/dfsp-a/currencies", `{"currency":"usd"}`, 400, "UNKNOWN_CURRENCY"},
		{"enable currency without minor unit", "POST", "/admin/v1/participants/dfsp-a/currencies", `{"currency":"XAU"}`, 400, "UNKNOWN_CURRENCY"},
		{"enable without currency", "POST", "/admin/v1/participants/dfsp-a/currencies", `{}`, 400, "MISSING_FIELD"},
		{"ndc with trailing zero", "PUT", "/admin/v1/participants/dfsp-a/currencies/USD/ndc", `{"amount":"1000.50"}`, 400, "INVALID_AMOUNT"},
		{"ndc with too many decimals", "PUT", "/admin/v1/participants/dfsp-a/currencies/USD/ndc", `{"amount":"1.001"}`, 400, "INVALID_AMOUNT"},
		{"ndc negative", "PUT", "/admin/v1/participants/dfsp-a/currencies/USD/ndc", `{"amount":"-1"}`, 400, "INVALID_AMOUNT"},
		{"ndc as a number", "PUT", "/admin/v1/participants/dfsp-a/currencies/USD/ndc", `{"amount":1000}`, 400, "WRONG_TYPE"},
		{"ndc unknown currency", "PUT", "/admin/v1/participants/dfsp-a/currencies/ABC/ndc", `{"amount":"1"}`, 400, "UNKNOWN_CURRENCY"},
		{"ndc currency not enabled", "PUT", "/admin/v1/participants/dfsp-a/currencies/EUR/ndc", `{"amount":"1"}`, 422, "CURRENCY_NOT_ENABLED"},
		{"ndc unknown participant", "PUT", "/admin/v1/participants/nobody/currencies/USD/ndc", `{"amount":"1"}`, 404, "PARTICIPANT_NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.state()
			status, _, b := h.do(tt.method, tt.path, "application/json", tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tt.wantStatus, b)
			}
			if tt.wantCode != "" {
				if got := errorCode(t, b); got != tt.wantCode {
					t.Errorf("code %s, want %s", got, tt.wantCode)
				}
			}
			if after := h.state(); after != before {
				t.Errorf("state changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

	t.Run("list sorted by id", func(t *testing.T) {
		var list adminapi.ParticipantList
		h.mustCall(http.StatusOK, "GET", "/admin/v1/participants", nil, &list)
		var ids []string
		for _, p := range list.Participants {
			ids = append(ids, p.ID)
		}
		if want := []string{"dfsp-a", "dfsp-b", "dfsp-c"}; !slices.Equal(ids, want) {
			t.Errorf("ids %v, want %v", ids, want)
		}
	})

	t.Run("currencies and ndc", func(t *testing.T) {
		h.mustCall(http.StatusOK, "POST", "/admin/v1/participants/dfsp-a/currencies", map[string]string{"currency": "USD"}, nil)
		h.mustCall(http.StatusOK, "POST", "/admin/v1/participants/dfsp-a/currencies", map[string]string{"currency": "KWD"}, nil)
		// Enabling again changes nothing.
		before := h.state()
		h.mustCall(http.StatusOK, "POST", "/admin/v1/participants/dfsp-a/currencies", map[string]string{"currency": "USD"}, nil)
		if after := h.state(); after != before {
			t.Errorf("enabling twice changed the state")
		}
		var p adminapi.Participant
		h.mustCall(http.StatusOK, "PUT", "/admin/v1/participants/dfsp-a/currencies/USD/ndc", map[string]string{"amount": "1000.5"}, &p)
		h.mustCall(http.StatusOK, "PUT", "/admin/v1/participants/dfsp-a/currencies/KWD/ndc", map[string]string{"amount": "0.125"}, nil)
		h.mustCall(http.StatusOK, "GET", "/admin/v1/participants/dfsp-a", nil, &p)
		want := []adminapi.ParticipantCurrency{{Currency: "KWD", NDC: "0.125"}, {Currency: "USD", NDC: "1000.5"}}
		if !slices.Equal(p.Currencies, want) {
			t.Errorf("currencies %+v, want %+v", p.Currencies, want)
		}
		acc := h.accounts("dfsp-a")
		if len(acc) != 4 || acc["USD/POSITION"].NDC != "1000.5" || acc["KWD/POSITION"].NDC != "0.125" {
			t.Errorf("accounts %+v", acc)
		}
	})

	t.Run("suspend and activate", func(t *testing.T) {
		var p adminapi.Participant
		h.mustCall(http.StatusOK, "POST", "/admin/v1/participants/dfsp-c/suspend", nil, &p)
		if p.Status != "SUSPENDED" {
			t.Errorf("after suspend: %s", p.Status)
		}
		h.mustCall(http.StatusOK, "POST", "/admin/v1/participants/dfsp-c/suspend", map[string]string{}, &p)
		if p.Status != "SUSPENDED" {
			t.Errorf("after second suspend: %s", p.Status)
		}
		h.mustCall(http.StatusOK, "GET", "/admin/v1/participants/dfsp-c", nil, &p)
		if p.Status != "SUSPENDED" {
			t.Errorf("read back: %s", p.Status)
		}
		h.mustCall(http.StatusOK, "POST", "/admin/v1/participants/dfsp-c/activate", nil, &p)
		if p.Status != "ACTIVE" {
			t.Errorf("after activate: %s", p.Status)
		}
	})

	t.Run("location", func(t *testing.T) {
		status, hdr, b := h.do("POST", "/admin/v1/participants", "application/json", `{"id":"dfsp-d","name":"D"}`)
		if status != http.StatusCreated || hdr.Get("Location") != "/admin/v1/participants/dfsp-d" {
			t.Errorf("status %d location %q: %s", status, hdr.Get("Location"), b)
		}
	})
}

// TestBodyErrors sends every kind of bad body to a funds in and checks each
// is refused with its code and changes nothing.
func TestBodyErrors(t *testing.T) {
	h := newHarness(t, Options{MaxBody: 4096})
	h.participant("dfsp1", "USD", "JPY")
	h.participant("dfsp2")
	h.fundsIn("dfsp1", "USD", "100")
	const path = "/admin/v1/participants/dfsp1/funds-in"
	id := newID()
	valid := `{"id":"` + id + `","currency":"USD","amount":"10"}`

	tests := []struct {
		name       string
		path       string
		ctype      string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"malformed JSON", path, "application/json", `{"id":`, 400, "INVALID_JSON"},
		{"not JSON", path, "application/json", `id=1`, 400, "INVALID_JSON"},
		{"empty body", path, "application/json", ``, 400, "INVALID_JSON"},
		{"unknown field", path, "application/json", `{"id":"` + id + `","currency":"USD","amount":"10","note":"x"}`, 400, "UNKNOWN_FIELD"},
		{"field name in other case", path, "application/json", `{"ID":"` + id + `","currency":"USD","amount":"10"}`, 400, "UNKNOWN_FIELD"},
		{"field given twice", path, "application/json", `{"id":"` + id + `","currency":"USD","amount":"10","amount":"20"}`, 400, "INVALID_JSON"},
		{"empty body without content type", path, "", ``, 400, "INVALID_JSON"},
		{"wrong type", path, "application/json", `{"id":"` + id + `","currency":"USD","amount":10}`, 400, "WRONG_TYPE"},
		{"array body", path, "application/json", `[]`, 400, "WRONG_TYPE"},
		{"null body", path, "application/json", `null`, 400, "MISSING_FIELD"},
		{"oversized body", path, "application/json", `{"id":"` + strings.Repeat("a", 5000) + `"}`, 413, "BODY_TOO_LARGE"},
		{"wrong content type", path, "text/plain", valid, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"no content type", path, "", valid, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"trailing garbage", path, "application/json", valid + `x`, 400, "TRAILING_DATA"},
		{"second object", path, "application/json", valid + `{}`, 400, "TRAILING_DATA"},
		{"missing amount", path, "application/json", `{"id":"` + id + `","currency":"USD"}`, 400, "MISSING_FIELD"},
		{"missing id", path, "application/json", `{"currency":"USD","amount":"1"}`, 400, "MISSING_FIELD"},
		{"upper-case uuid", path, "application/json", `{"id":"ABCDEF00-0000-4000-8000-000000000001","currency":"USD","amount":"10"}`, 400, "INVALID_ID"},
		{"uuid without hyphens", path, "application/json", `{"id":"` + strings.ReplaceAll(id, "-", "") + `","currency":"USD","amount":"10"}`, 400, "INVALID_ID"},
		{"zero uuid", path, "application/json", `{"id":"00000000-0000-0000-0000-000000000000","currency":"USD","amount":"10"}`, 400, "INVALID_ID"},
		{"too many decimals", path, "application/json", `{"id":"` + id + `","currency":"USD","amount":"1.001"}`, 400, "INVALID_AMOUNT"},
		{"decimals in JPY", path, "application/json", `{"id":"` + id + `","currency":"JPY","amount":"1.5"}`, 400, "INVALID_AMOUNT"},
		{"negative amount", path, "application/json", `{"id":"` + id + `","currency":"USD","amount":"-10"}`, 400, "INVALID_AMOUNT"},
		{"exponent amount", path, "application/json", `{"id":"` + id + `","currency":"USD","amount":"1e3"}`, 400, "INVALID_AMOUNT"},
		{"overflowing amount", path, "application/json", `{"id":"` + id + `","currency":"USD","amount":"999999999999999999"}`, 400, "INVALID_AMOUNT"},
		{"zero amount", path, "application/json", `{"id":"` + id + `","currency":"USD","amount":"0"}`, 400, "INVALID_AMOUNT"},
		{"unknown currency", path, "application/json", `{"id":"` + id + `","currency":"ZZZ","amount":"10"}`, 400, "UNKNOWN_CURRENCY"},
		{"currency not enabled", path, "application/json", `{"id":"` + id + `","currency":"EUR","amount":"10"}`, 422, "CURRENCY_NOT_ENABLED"},
		{"participant without the currency", "/admin/v1/participants/dfsp2/funds-in", "application/json", valid, 422, "CURRENCY_NOT_ENABLED"},
		{"unknown participant", "/admin/v1/participants/nobody/funds-in", "application/json", valid, 404, "PARTICIPANT_NOT_FOUND"},
		{"hub as participant", "/admin/v1/participants/hub/funds-in", "application/json", valid, 404, "PARTICIPANT_NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.state()
			status, hdr, b := h.do("POST", tt.path, tt.ctype, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tt.wantStatus, b)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := errorCode(t, b); got != tt.wantCode {
				t.Errorf("code %s, want %s: %s", got, tt.wantCode, b)
			}
			if after := h.state(); after != before {
				t.Errorf("state changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

	t.Run("content type with charset", func(t *testing.T) {
		status, _, b := h.do("POST", path, "application/json; charset=utf-8", valid)
		if status != http.StatusCreated {
			t.Fatalf("status %d: %s", status, b)
		}
	})

	t.Run("bad amount message says why", func(t *testing.T) {
		_, _, b := h.do("POST", path, "application/json", `{"id":"`+newID()+`","currency":"USD","amount":"1.001"}`)
		var e adminapi.ErrorBody
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if want := `has 3 decimals but USD allows 2`; !strings.Contains(e.Error.Message, want) {
			t.Errorf("message %q does not contain %q", e.Error.Message, want)
		}
	})
}

func TestFunds(t *testing.T) {
	h := newHarness(t, Options{})
	h.participant("dfsp1", "USD")
	h.participant("dfsp2", "USD")
	in := newID()
	body := map[string]string{"id": in, "currency": "USD", "amount": "500.25"}

	var tr adminapi.Transfer
	h.mustCall(http.StatusCreated, "POST", "/admin/v1/participants/dfsp1/funds-in", body, &tr)
	want := adminapi.Transfer{ID: in, Kind: "FUNDS_IN", State: "COMMITTED", FSPIOPState: "COMMITTED", Payer: "hub", Payee: "dfsp1",
		Currency: "USD", Amount: "500.25", Created: "2025-03-01T12:00:00Z", Completed: "2025-03-01T12:00:00Z"}
	if tr != want {
		t.Fatalf("funds in\n got %+v\nwant %+v", tr, want)
	}
	settled := h.state()

	t.Run("resend same body", func(t *testing.T) {
		var again adminapi.Transfer
		h.mustCall(http.StatusOK, "POST", "/admin/v1/participants/dfsp1/funds-in", body, &again)
		if again != want {
			t.Errorf("resend answered %+v", again)
		}
		if h.state() != settled {
			t.Error("resend changed the state")
		}
	})

	modified := []struct {
		name string
		path string
		body map[string]string
	}{
		{"other amount", "/admin/v1/participants/dfsp1/funds-in", map[string]string{"id": in, "currency": "USD", "amount": "500.3"}},
		{"other participant", "/admin/v1/participants/dfsp2/funds-in", body},
		{"as funds out", "/admin/v1/participants/dfsp1/funds-out", body},
	}
	for _, tt := range modified {
		t.Run("resend "+tt.name, func(t *testing.T) {
			status, b := h.call("POST", tt.path, tt.body, nil)
			if status != http.StatusConflict || errorCode(t, b) != "MODIFIED_REQUEST" {
				t.Fatalf("status %d: %s", status, b)
			}
			if h.state() != settled {
				t.Error("state changed")
			}
		})
	}

	t.Run("funds out beyond the settlement balance", func(t *testing.T) {
		status, b := h.call("POST", "/admin/v1/participants/dfsp1/funds-out",
			map[string]string{"id": newID(), "currency": "USD", "amount": "500.26"}, nil)
		if status != http.StatusUnprocessableEntity || errorCode(t, b) != "INSUFFICIENT_LIQUIDITY" {
			t.Fatalf("status %d: %s", status, b)
		}
		if h.state() != settled {
			t.Error("state changed")
		}
		if acc := h.accounts("dfsp1")["USD/SETTLEMENT"]; acc.Balance != "500.25" || acc.PendingCredits != "0" {
			t.Errorf("settlement %+v", acc)
		}
	})

	out := newID()
	t.Run("funds out reserve and commit", func(t *testing.T) {
		var tr adminapi.Transfer
		h.mustCall(http.StatusCreated, "POST", "/admin/v1/participants/dfsp1/funds-out",
			map[string]string{"id": out, "currency": "USD", "amount": "200"}, &tr)
		if tr.Kind != "FUNDS_OUT" || tr.State != "RESERVED" || tr.Payer != "dfsp1" || tr.Payee != "hub" || tr.Completed != "" {
			t.Fatalf("reserved %+v", tr)
		}
		acc := h.accounts("dfsp1")["USD/SETTLEMENT"]
		if acc.Balance != "500.25" || acc.PendingCredits != "200" || acc.Available != "300.25" {
			t.Errorf("settlement after reserve %+v", acc)
		}
		// The reservation counts: a second withdrawal of the rest plus a cent fails.
		status, b := h.call("POST", "/admin/v1/participants/dfsp1/funds-out",
			map[string]string{"id": newID(), "currency": "USD", "amount": "300.26"}, nil)
		if status != http.StatusUnprocessableEntity || errorCode(t, b) != "INSUFFICIENT_LIQUIDITY" {
			t.Errorf("second funds out: status %d: %s", status, b)
		}
		h.clock.Advance(time.Second)
		h.mustCall(http.StatusOK, "POST", "/admin/v1/funds-out/"+out+"/commit", nil, &tr)
		if tr.State != "COMMITTED" || tr.Completed != "2025-03-01T12:00:01Z" {
			t.Errorf("committed %+v", tr)
		}
		h.mustCall(http.StatusOK, "POST", "/admin/v1/funds-out/"+out+"/commit", nil, &tr)
		acc = h.accounts("dfsp1")["USD/SETTLEMENT"]
		if acc.Balance != "300.25" || acc.PendingCredits != "0" || acc.CreditsPosted != "200" || acc.Available != "300.25" {
			t.Errorf("settlement after commit %+v", acc)
		}
	})

	t.Run("funds out abort", func(t *testing.T) {
		id := newID()
		h.mustCall(http.StatusCreated, "POST", "/admin/v1/participants/dfsp1/funds-out",
			map[string]string{"id": id, "currency": "USD", "amount": "100"}, nil)
		var tr adminapi.Transfer
		h.mustCall(http.StatusOK, "POST", "/admin/v1/funds-out/"+id+"/abort", map[string]string{"reason": "bank refused"}, &tr)
		if tr.State != "ABORTED" || tr.FSPIOPState != "ABORTED" || tr.Reason != "bank refused" {
			t.Errorf("aborted %+v", tr)
		}
		// Without a body, a repeat answers the same.
		h.mustCall(http.StatusOK, "POST", "/admin/v1/funds-out/"+id+"/abort", nil, &tr)
		if tr.Reason != "bank refused" {
			t.Errorf("repeat abort %+v", tr)
		}
		if acc := h.accounts("dfsp1")["USD/SETTLEMENT"]; acc.Balance != "300.25" || acc.PendingCredits != "0" {
			t.Errorf("settlement after abort %+v", acc)
		}
	})

	finishing := []struct {
		name       string
		path       string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"abort committed", "/admin/v1/funds-out/" + out + "/abort", "", 409, "TRANSFER_FINAL"},
		{"commit unknown", "/admin/v1/funds-out/" + newID() + "/commit", "", 404, "TRANSFER_NOT_FOUND"},
		{"abort unknown", "/admin/v1/funds-out/" + newID() + "/abort", `{"reason":"x"}`, 404, "TRANSFER_NOT_FOUND"},
		{"commit funds in", "/admin/v1/funds-out/" + in + "/commit", "", 409, "WRONG_KIND"},
		{"commit bad uuid", "/admin/v1/funds-out/not-a-uuid/commit", "", 400, "INVALID_ID"},
		{"abort reason too long", "/admin/v1/funds-out/" + out + "/abort", `{"reason":"` + strings.Repeat("x", 257) + `"}`, 400, "INVALID_REASON"},
		{"abort reason wrong type", "/admin/v1/funds-out/" + out + "/abort", `{"reason":1}`, 400, "WRONG_TYPE"},
		{"commit with a body", "/admin/v1/funds-out/" + out + "/commit", `{"reason":"x"}`, 400, "UNKNOWN_FIELD"},
	}
	for _, tt := range finishing {
		t.Run(tt.name, func(t *testing.T) {
			before := h.state()
			status, _, b := h.do("POST", tt.path, "application/json", tt.body)
			if status != tt.wantStatus || errorCode(t, b) != tt.wantCode {
				t.Fatalf("status %d, want %d %s: %s", status, tt.wantStatus, tt.wantCode, b)
			}
			if h.state() != before {
				t.Error("state changed")
			}
		})
	}

	t.Run("get transfer", func(t *testing.T) {
		var got adminapi.Transfer
		h.mustCall(http.StatusOK, "GET", "/admin/v1/transfers/"+in, nil, &got)
		if got != want {
			t.Errorf("got %+v", got)
		}
		status, b := h.call("GET", "/admin/v1/transfers/"+newID(), nil, nil)
		if status != http.StatusNotFound || errorCode(t, b) != "TRANSFER_NOT_FOUND" {
			t.Errorf("unknown transfer: %d %s", status, b)
		}
		status, b = h.call("GET", "/admin/v1/transfers/xyz", nil, nil)
		if status != http.StatusBadRequest || errorCode(t, b) != "INVALID_ID" {
			t.Errorf("bad id: %d %s", status, b)
		}
	})

	t.Run("get transfer after checkpoint", func(t *testing.T) {
		// Final transfers leave the writer's memory after a checkpoint and
		// are read from the store.
		if err := h.w.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := h.w.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		var got adminapi.Transfer
		h.mustCall(http.StatusOK, "GET", "/admin/v1/transfers/"+in, nil, &got)
		if got != want {
			t.Errorf("got %+v", got)
		}
	})
}

// TestReports checks accounts and positions, with a payment prepared through
// the writer so that positions are not all zero.
func TestReports(t *testing.T) {
	h := newHarness(t, Options{})
	h.participant("payer", "USD")
	h.participant("payee", "USD")
	h.participant("other", "EUR")
	h.mustCall(http.StatusOK, "PUT", "/admin/v1/participants/payer/currencies/USD/ndc", map[string]string{"amount": "1000"}, nil)
	h.fundsIn("payer", "USD", "800")
	h.mustCall(http.StatusCreated, "POST", "/admin/v1/participants/payer/funds-out",
		map[string]string{"id": newID(), "currency": "USD", "amount": "100"}, nil)

	fulfilment := sha256.Sum256([]byte("secret"))
	condition := ledger.ConditionOf(fulfilment)
	pay := newID()
	payID, _ := ledger.ParseID(pay)
	expiry := h.clock.Now().Add(time.Minute)
	_, err := h.w.Submit(context.Background(), ledger.Command{Op: ledger.OpPrepare, ID: payID, Payer: "payer", Payee: "payee",
		Currency: "USD", Amount: 25050, Condition: condition, Expiry: expiry})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("accounts", func(t *testing.T) {
		acc := h.accounts("payer")
		pos := acc["USD/POSITION"]
		wantPos := adminapi.Account{Participant: "payer", Type: "POSITION", Currency: "USD", Balance: "0", Reserved: "250.5",
			PendingCredits: "0", DebitsPosted: "0", CreditsPosted: "0", NDC: "1000", Headroom: "749.5"}
		if pos != wantPos {
			t.Errorf("position\n got %+v\nwant %+v", pos, wantPos)
		}
		settle := acc["USD/SETTLEMENT"]
		wantSettle := adminapi.Account{Participant: "payer", Type: "SETTLEMENT", Currency: "USD", Balance: "800", Reserved: "0",
			PendingCredits: "100", DebitsPosted: "800", CreditsPosted: "0", Available: "700"}
		if settle != wantSettle {
			t.Errorf("settlement\n got %+v\nwant %+v", settle, wantSettle)
		}
		if p := h.accounts("payee")["USD/POSITION"]; p.PendingCredits != "250.5" || p.Headroom != "0" {
			t.Errorf("payee position %+v", p)
		}
	})

	t.Run("payment fulfilled", func(t *testing.T) {
		var tr adminapi.Transfer
		h.mustCall(http.StatusOK, "GET", "/admin/v1/transfers/"+pay, nil, &tr)
		if tr.Kind != "PAYMENT" || tr.State != "RESERVED" || tr.Condition != base64.RawURLEncoding.EncodeToString(condition[:]) ||
			tr.Expiry != "2025-03-01T12:01:00Z" || tr.Fulfilment != "" || tr.Amount != "250.5" {
			t.Errorf("reserved payment %+v", tr)
		}
		if _, err := h.w.Submit(context.Background(), ledger.Command{Op: ledger.OpFulfil, ID: payID, Fulfilment: fulfilment}); err != nil {
			t.Fatal(err)
		}
		h.mustCall(http.StatusOK, "GET", "/admin/v1/transfers/"+pay, nil, &tr)
		if tr.State != "COMMITTED" || tr.Fulfilment != base64.RawURLEncoding.EncodeToString(fulfilment[:]) || tr.Completed == "" {
			t.Errorf("committed payment %+v", tr)
		}
		if pos := h.accounts("payer")["USD/POSITION"]; pos.Balance != "250.5" || pos.Reserved != "0" || pos.Headroom != "749.5" {
			t.Errorf("payer position %+v", pos)
		}
		if pos := h.accounts("payee")["USD/POSITION"]; pos.Balance != "-250.5" || pos.Headroom != "250.5" {
			t.Errorf("payee position %+v", pos)
		}
	})

	t.Run("positions", func(t *testing.T) {
		var rep adminapi.Positions
		h.mustCall(http.StatusOK, "GET", "/admin/v1/positions?currency=USD", nil, &rep)
		want := []adminapi.Position{
			{Participant: "payee", Status: "ACTIVE", Position: "-250.5", Reserved: "0", PendingCredits: "0", NDC: "0", Headroom: "250.5",
				SettlementBalance: "0", SettlementReserved: "0", SettlementAvailable: "0"},
			{Participant: "payer", Status: "ACTIVE", Position: "250.5", Reserved: "0", PendingCredits: "0", NDC: "1000", Headroom: "749.5",
				SettlementBalance: "800", SettlementReserved: "100", SettlementAvailable: "700"},
		}
		if rep.Currency != "USD" || !slices.Equal(rep.Participants, want) {
			t.Errorf("positions\n got %+v\nwant %+v", rep.Participants, want)
		}
		hub := map[string]adminapi.Account{}
		for _, a := range rep.Hub {
			if a.Participant != "hub" || a.Currency != "USD" {
				t.Errorf("hub section holds %+v", a)
			}
			hub[a.Type] = a
		}
		if len(hub) != 3 || hub["HUB_RECONCILIATION"].Balance != "-800" || hub["HUB_RECONCILIATION"].Reserved != "100" {
			t.Errorf("hub %+v", rep.Hub)
		}
		h.mustCall(http.StatusOK, "GET", "/admin/v1/positions?currency=EUR", nil, &rep)
		if len(rep.Participants) != 1 || rep.Participants[0].Participant != "other" {
			t.Errorf("EUR positions %+v", rep.Participants)
		}
		h.mustCall(http.StatusOK, "GET", "/admin/v1/positions?currency=JPY", nil, &rep)
		if rep.Participants == nil || len(rep.Participants) != 0 || rep.Hub == nil || len(rep.Hub) != 0 {
			t.Errorf("JPY positions %+v", rep)
		}
	})

	bad := []struct {
		name       string
		path       string
		wantStatus int
		wantCode   string
	}{
		{"positions without currency", "/admin/v1/positions", 400, "INVALID_QUERY"},
		{"positions unknown currency", "/admin/v1/positions?currency=usd", 400, "UNKNOWN_CURRENCY"},
		{"positions unknown parameter", "/admin/v1/positions?currency=USD&ccy=EUR", 400, "INVALID_QUERY"},
		{"positions currency twice", "/admin/v1/positions?currency=USD&currency=EUR", 400, "INVALID_QUERY"},
		{"accounts of unknown", "/admin/v1/participants/nobody/accounts", 404, "PARTICIPANT_NOT_FOUND"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			status, _, b := h.do("GET", tt.path, "", "")
			if status != tt.wantStatus || errorCode(t, b) != tt.wantCode {
				t.Errorf("status %d, want %d %s: %s", status, tt.wantStatus, tt.wantCode, b)
			}
		})
	}

	t.Run("stats", func(t *testing.T) {
		var st adminapi.Stats
		h.mustCall(http.StatusOK, "GET", "/admin/v1/stats", nil, &st)
		if st.Head == 0 || st.Applied < 8 || st.Batches == 0 || st.Pending != 1 {
			t.Errorf("stats %+v", st)
		}
		// The wire names are the API's, not Go's.
		_, _, b := h.do("GET", "/admin/v1/stats", "", "")
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"batches", "commands", "applied", "expired", "maxBatch", "pending", "head", "checkpoint"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("stats lack %q: %s", k, b)
			}
		}
	})
}

func TestParticipantTransfersPaging(t *testing.T) {
	h := newHarness(t, Options{})
	h.participant("dfsp1", "USD")
	h.participant("dfsp2", "USD")
	var ids []string // oldest first
	for range 120 {
		h.clock.Advance(time.Millisecond)
		ids = append(ids, h.fundsIn("dfsp1", "USD", "1"))
	}
	h.fundsIn("dfsp2", "USD", "1")

	var got []string
	seen := map[string]bool{}
	cursor := ""
	var sizes []int
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("paging does not end")
		}
		path := "/admin/v1/participants/dfsp1/transfers?limit=50"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		var p adminapi.TransferPage
		h.mustCall(http.StatusOK, "GET", path, nil, &p)
		sizes = append(sizes, len(p.Transfers))
		for _, tr := range p.Transfers {
			if seen[tr.ID] {
				t.Errorf("transfer %s listed twice", tr.ID)
			}
			seen[tr.ID] = true
			if tr.Payee != "dfsp1" {
				t.Errorf("listed another participant's transfer %+v", tr)
			}
			got = append(got, tr.ID)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if !slices.Equal(sizes, []int{50, 50, 20}) {
		t.Errorf("page sizes %v, want [50 50 20]", sizes)
	}
	want := slices.Clone(ids)
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Errorf("not newest first:\n got %v\nwant %v", got, want)
	}

	t.Run("default limit", func(t *testing.T) {
		var p adminapi.TransferPage
		h.mustCall(http.StatusOK, "GET", "/admin/v1/participants/dfsp1/transfers", nil, &p)
		if len(p.Transfers) != 50 || p.Next == "" || p.Transfers[0].ID != ids[119] {
			t.Errorf("default page: %d transfers, next %q", len(p.Transfers), p.Next)
		}
	})

	t.Run("sees transfers not yet checkpointed", func(t *testing.T) {
		id := h.fundsIn("dfsp2", "USD", "2")
		var p adminapi.TransferPage
		h.mustCall(http.StatusOK, "GET", "/admin/v1/participants/dfsp2/transfers?limit=500", nil, &p)
		if len(p.Transfers) != 2 || p.Transfers[0].ID != id || p.Next != "" {
			t.Errorf("page %+v", p)
		}
	})

	bad := []struct {
		name       string
		query      string
		wantStatus int
		wantCode   string
	}{
		{"limit 0", "?limit=0", 400, "INVALID_QUERY"},
		{"limit 501", "?limit=501", 400, "INVALID_QUERY"},
		{"limit not a number", "?limit=ten", 400, "INVALID_QUERY"},
		{"limit empty", "?limit=", 400, "INVALID_QUERY"},
		{"unknown parameter", "?limt=10", 400, "INVALID_QUERY"},
		{"bad cursor", "?cursor=zz", 400, "INVALID_CURSOR"},
		{"forged cursor", "?cursor=" + strings.Repeat("ab", 5), 400, "INVALID_CURSOR"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			status, _, b := h.do("GET", "/admin/v1/participants/dfsp1/transfers"+tt.query, "", "")
			if status != tt.wantStatus || errorCode(t, b) != tt.wantCode {
				t.Errorf("status %d, want %d %s: %s", status, tt.wantStatus, tt.wantCode, b)
			}
		})
	}
	t.Run("unknown participant", func(t *testing.T) {
		status, _, b := h.do("GET", "/admin/v1/participants/nobody/transfers", "", "")
		if status != http.StatusNotFound || errorCode(t, b) != "PARTICIPANT_NOT_FOUND" {
			t.Errorf("status %d: %s", status, b)
		}
	})
}

func TestRouting(t *testing.T) {
	h := newHarness(t, Options{})
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantCode   string
	}{
		{"unknown path", "GET", "/admin/v1/nothing", 404, "NOT_FOUND"},
		{"trailing slash", "GET", "/admin/v1/participants/", 404, "NOT_FOUND"},
		{"wrong method", "DELETE", "/admin/v1/participants", 405, "METHOD_NOT_ALLOWED"},
		{"get on a post route", "GET", "/admin/v1/participants/x/suspend", 405, "METHOD_NOT_ALLOWED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, b := h.do(tt.method, tt.path, "", "")
			if status != tt.wantStatus || errorCode(t, b) != tt.wantCode {
				t.Errorf("status %d, want %d %s: %s", status, tt.wantStatus, tt.wantCode, b)
			}
			if status == http.StatusMethodNotAllowed && hdr.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	h := newHarness(t, Options{})
	h.participant("dfsp1", "USD")
	if err := h.w.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path, body string
	}{
		{"POST", "/admin/v1/participants", `{"id":"dfsp2","name":"Two"}`},
		{"POST", "/admin/v1/participants/dfsp1/funds-in", `{"id":"` + newID() + `","currency":"USD","amount":"1"}`},
		{"GET", "/admin/v1/participants", ""},
		{"GET", "/admin/v1/participants/dfsp1/accounts", ""},
		{"GET", "/admin/v1/participants/dfsp1/transfers", ""},
		{"GET", "/admin/v1/transfers/" + newID(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			status, _, b := h.do(tt.method, tt.path, "application/json", tt.body)
			if status != http.StatusServiceUnavailable || errorCode(t, b) != "UNAVAILABLE" {
				t.Errorf("status %d: %s", status, b)
			}
		})
	}
}

func TestClassifyHidesInternalErrors(t *testing.T) {
	ae := classify(errorString("pebble: disk on fire at /var/lib/hutong"))
	if ae.status != http.StatusInternalServerError || ae.code != "INTERNAL" || strings.Contains(ae.msg, "pebble") {
		t.Errorf("classify: %+v", ae)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
