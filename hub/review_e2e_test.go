package hub_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/hutong/hutong/fspiop"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/sim"
)

// rawTransfer is a POST /transfers body whose condition the fulfilment
// fulfilOf(7) meets.
func rawTransfer(id, payer, payee, amount string, expiry time.Duration) []byte {
	c := sha256.Sum256(fulfilOf(7))
	b, _ := json.Marshal(map[string]any{
		"transferId": id, "payerFsp": payer, "payeeFsp": payee,
		"amount":     map[string]string{"amount": amount, "currency": "USD"},
		"ilpPacket":  "AYIBgQAAAAAAAASwNGxldmVsb25lLmRmc3AxLm1lci45T2RTOF81MDdqUUZERmZlakgyOVc4bXFmNEpLMHlGTFE",
		"condition":  base64.RawURLEncoding.EncodeToString(c[:]),
		"expiration": time.Now().Add(expiry).UTC().Format("2006-01-02T15:04:05.000Z"),
	})
	return b
}

func fulfilOf(n byte) []byte {
	f := make([]byte, 32)
	f[0] = n
	return f
}

func putCommitted(n byte) []byte {
	b, _ := json.Marshal(map[string]string{
		"fulfilment":         base64.RawURLEncoding.EncodeToString(fulfilOf(n)),
		"completedTimestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"transferState":      "COMMITTED",
	})
	return b
}

// TestSuspendedPayeeCompletes: suspending an FSP stops its new requests,
// not the transfers it already has under way.
func TestSuspendedPayeeCompletes(t *testing.T) {
	e := newEnv(t)
	payer, payee := newRecorder(t, nil), newRecorder(t, nil)
	e.onboard("sp-payer", "10000", "10000", payer.srv.URL)
	e.onboard("sp-payee", "10000", "10000", payee.srv.URL)
	id := newID()
	wantStatus(t, "POST /transfers", e.call(t, http.MethodPost, "/transfers", "sp-payer", "sp-payee", rawTransfer(id, "sp-payer", "sp-payee", "5", 5*time.Second), nil), http.StatusAccepted, "")
	payee.wait(t, http.MethodPost, "/transfers", 1)
	if code := e.admin(t, http.MethodPost, "/admin/v1/participants/sp-payee/suspend", nil, nil); code != http.StatusOK {
		t.Fatalf("suspend: %d", code)
	}
	wantStatus(t, "the suspended payee's fulfilment", e.call(t, http.MethodPut, "/transfers/"+id, "sp-payee", "sp-payer", putCommitted(7), nil), http.StatusOK, "")
	payer.wait(t, http.MethodPut, "/transfers/"+id, 1)
	// Its own new requests are refused.
	wantStatus(t, "a request from the suspended payee", e.call(t, http.MethodPost, "/transfers", "sp-payee", "sp-payer", rawTransfer(newID(), "sp-payee", "sp-payer", "1", 5*time.Second), nil), http.StatusForbidden, "3200")
	e.finish(map[string]int64{"sp-payer": 500, "sp-payee": -500})
}

// TestPrepareOutlivesItsClient: a payer that hangs up right after sending
// POST /transfers still has its transfer sent to the payee, so a resend
// (ignored while in flight) is never needed to unstick it.
func TestPrepareOutlivesItsClient(t *testing.T) {
	e := newEnv(t)
	payer, payee := newRecorder(t, nil), newRecorder(t, nil)
	e.onboard("hu-payer", "10000", "10000", payer.srv.URL)
	e.onboard("hu-payee", "10000", "10000", payee.srv.URL)
	id := newID()
	body := rawTransfer(id, "hu-payer", "hu-payee", "5", 5*time.Second)
	for i := 0; i < 20 && len(payee.requests(http.MethodPost, "/transfers")) == 0; i++ {
		// Hang up as soon as the request is out, before the ledger's
		// answer; the first attempt that reaches the hub must be sent on.
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i+1)*100*time.Microsecond)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.h.APIURL+"/transfers", bytes.NewReader(body))
		mt := fspiop.MediaType("transfers", fspiop.Latest)
		req.Header.Set("Content-Type", mt)
		req.Header.Set("Accept", mt)
		req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		req.Header.Set("FSPIOP-Source", "hu-payer")
		req.Header.Set("FSPIOP-Destination", "hu-payee")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		cancel()
		time.Sleep(50 * time.Millisecond)
	}
	payee.wait(t, http.MethodPost, "/transfers", 1)
	wantStatus(t, "the payee's fulfilment", e.call(t, http.MethodPut, "/transfers/"+id, "hu-payee", "hu-payer", putCommitted(7), nil), http.StatusOK, "")
	payer.wait(t, http.MethodPut, "/transfers/"+id, 1)
	e.finish(map[string]int64{"hu-payer": 500, "hu-payee": -500})
}

// TestForwardNamesRecipient: a payee whose callback names the wrong FSP
// in FSPIOP-Destination still reaches the payer, named as the recipient.
func TestForwardNamesRecipient(t *testing.T) {
	e := newEnv(t)
	payer, payee, other := newRecorder(t, nil), newRecorder(t, nil), newRecorder(t, nil)
	e.onboard("fn-payer", "10000", "10000", payer.srv.URL)
	e.onboard("fn-payee", "10000", "10000", payee.srv.URL)
	e.onboard("fn-other", "10000", "10000", other.srv.URL)
	id := newID()
	wantStatus(t, "POST /transfers", e.call(t, http.MethodPost, "/transfers", "fn-payer", "fn-payee", rawTransfer(id, "fn-payer", "fn-payee", "5", 5*time.Second), nil), http.StatusAccepted, "")
	payee.wait(t, http.MethodPost, "/transfers", 1)
	wantStatus(t, "PUT naming another FSP", e.call(t, http.MethodPut, "/transfers/"+id, "fn-payee", "fn-other", putCommitted(7), nil), http.StatusOK, "")
	got := payer.wait(t, http.MethodPut, "/transfers/"+id, 1)[0]
	if d := got.Header.Get("FSPIOP-Destination"); d != "fn-payer" {
		t.Errorf("the payer got FSPIOP-Destination %q, want fn-payer", d)
	}
	if n := len(other.requests(http.MethodPut, "/transfers/"+id)); n != 0 {
		t.Errorf("the FSP named by mistake got %d callbacks", n)
	}
	e.finish(map[string]int64{"fn-payer": 500, "fn-payee": -500})
}

// TestPayeeUnreachable: when the hub cannot deliver a request to its
// recipient, the requester is told 1001 at once, and a transfer is
// aborted, releasing the payer's reservation, rather than left to expire.
func TestPayeeUnreachable(t *testing.T) {
	e := newEnv(t)
	payer := newRecorder(t, nil)
	e.onboard("ur-payer", "10000", "10000", payer.srv.URL)
	e.onboard("ur-payee", "10000", "10000", closedURL(t))
	id := newID()
	wantStatus(t, "POST /transfers", e.call(t, http.MethodPost, "/transfers", "ur-payer", "ur-payee", rawTransfer(id, "ur-payer", "ur-payee", "5", time.Minute), nil), http.StatusAccepted, "")
	got := payer.wait(t, http.MethodPut, "/transfers/"+id+"/error", 1)
	if code := errorCode(t, got[0].Body); code != "1001" {
		t.Errorf("payer told %s, want 1001", code)
	}
	tr, err := e.h.Writer.Transfer(context.Background(), mustID(t, id))
	if err != nil || tr.State.FSPIOP() != "ABORTED" {
		t.Errorf("transfer %+v, %v; want ABORTED", tr, err)
	}
	qid := newID()
	q := quote(qid, "ur-payer", sim.Party{Type: "MSISDN", ID: "4912345678"}, "ur-payee", sim.Party{Type: "MSISDN", ID: "4987654321"}, "5")
	wantStatus(t, "POST /quotes", e.call(t, http.MethodPost, "/quotes", "ur-payer", "ur-payee", q, nil), http.StatusAccepted, "")
	got = payer.wait(t, http.MethodPut, "/quotes/"+qid+"/error", 1)
	if code := errorCode(t, got[0].Body); code != "1001" {
		t.Errorf("payer told %s about the quote, want 1001", code)
	}
	e.failedCallbacks = 2
	e.finish(nil)
}

func mustID(t *testing.T, s string) ledger.ID {
	t.Helper()
	id, err := ledger.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
