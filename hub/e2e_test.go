package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/fspiop"
	"github.com/hutong/hutong/internal/testseed"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
	"github.com/hutong/hutong/sim"
)

// These tests run the switch end to end: a hub on a store of its own and
// simulated FSPs in the test process, talking FSPIOP over HTTP on
// 127.0.0.1. Each ends by closing the hub and auditing its store.

func TestP2PPayment(t *testing.T) {
	e := newEnv(t)
	payer := e.addFSP("p2p-payer", "10000", "10000", nil)
	payee := e.addFSP("p2p-payee", "10000", "10000", nil)
	from, to := payer.Customers()[0], payee.Customers()[1]
	before := e.positions(t)

	p, err := pay(t, payer, to.Party, "12.5")
	if err != nil {
		t.Fatalf("Pay: %v", err)
	}
	if p.State != "COMMITTED" || p.PayeeFSP != payee.ID() || p.TransferAmount != "12.5" {
		t.Errorf("Pay = state %q, payee FSP %q, transfer amount %q; want COMMITTED, %s, 12.5", p.State, p.PayeeFSP, p.TransferAmount, payee.ID())
	}

	// Every step reached the FSP it was for.
	lookup := "/parties/" + to.Party.Type + "/" + to.Party.ID
	waitEvent(t, payee, http.MethodGet, lookup, 1)
	waitEvent(t, payer, http.MethodPut, lookup, 1)
	waitEvent(t, payee, http.MethodPost, "/quotes", 1)
	waitEvent(t, payer, http.MethodPut, "/quotes/"+p.QuoteID, 1)
	postEv := waitEvent(t, payee, http.MethodPost, "/transfers", 1)
	putEv := waitEvent(t, payer, http.MethodPut, "/transfers/"+p.TransferID, 1)
	post, put := decodeTransfer(t, postEv.Body), decodeTransfer(t, putEv.Body)
	// Routed messages keep their sender's headers.
	for _, c := range []struct {
		what     string
		ev       sim.Event
		src, dst string
	}{{"POST /transfers", postEv, payer.ID(), payee.ID()}, {"PUT /transfers", putEv, payee.ID(), payer.ID()}} {
		if s, d := c.ev.Header.Get("FSPIOP-Source"), c.ev.Header.Get("FSPIOP-Destination"); s != c.src || d != c.dst {
			t.Errorf("%s arrived from %q to %q, want from %q to %q", c.what, s, d, c.src, c.dst)
		}
	}
	if post.TransferID != p.TransferID {
		t.Errorf("payee got transfer %s, payer sent %s", post.TransferID, p.TransferID)
	}
	if put.TransferState != "COMMITTED" || put.Fulfilment != p.Fulfilment || !sim.Matches(put.Fulfilment, post.Condition) {
		t.Errorf("payer's PUT /transfers = %+v; want COMMITTED with a fulfilment of condition %s", put, post.Condition)
	}

	// The positions moved, as the admin API reports them.
	for _, c := range []struct{ fsp, want string }{{payer.ID(), "12.5"}, {payee.ID(), "-12.5"}} {
		var list struct {
			Accounts []struct{ Type, Currency, Balance, Reserved string }
		}
		if s := e.admin(t, http.MethodGet, "/admin/v1/participants/"+c.fsp+"/accounts", nil, &list); s != http.StatusOK {
			t.Fatalf("accounts of %s: HTTP %d", c.fsp, s)
		}
		found := false
		for _, a := range list.Accounts {
			if a.Type == "POSITION" && a.Currency == usd {
				found = true
				if a.Balance != c.want || a.Reserved != "0" {
					t.Errorf("%s POSITION balance %s reserved %s, want %s and 0", c.fsp, a.Balance, a.Reserved, c.want)
				}
			}
		}
		if !found {
			t.Errorf("%s has no USD POSITION account: %+v", c.fsp, list.Accounts)
		}
	}
	// And so did the customers' balances.
	wantBalance(t, payer, from.Party.ID, "999987.5")
	wantBalance(t, payee, to.Party.ID, "1000012.5")
	e.finish(moved(before, payer.ID(), payee.ID(), 1250))
}

func TestCommitNotification(t *testing.T) {
	e := newEnv(t)
	payer := e.addFSP("cn-payer", "10000", "10000", nil)
	payee := e.addFSP("cn-payee", "10000", "10000", func(c *sim.Config) { c.Behaviour.CommitNotification = true })
	to := payee.Customers()[0]
	before := e.positions(t)

	p, err := pay(t, payer, to.Party, "20")
	if err != nil {
		t.Fatalf("Pay: %v", err)
	}
	if p.State != "COMMITTED" {
		t.Errorf("payer's state = %q, want COMMITTED", p.State)
	}
	ev := waitEvent(t, payee, http.MethodPatch, "/transfers/"+p.TransferID, 1)
	if got := decodeTransfer(t, ev.Body).TransferState; got != "COMMITTED" {
		t.Errorf("PATCH /transfers transferState = %q, want COMMITTED", got)
	}
	// Both are the hub's own messages.
	put := waitEvent(t, payer, http.MethodPut, "/transfers/"+p.TransferID, 1)
	for _, ev := range []sim.Event{ev, put} {
		if src := ev.Header.Get("FSPIOP-Source"); src != fspiop.DefaultHub {
			t.Errorf("%s %s from %q, want from %q", ev.Method, ev.Path, src, fspiop.DefaultHub)
		}
	}
	if tb := decodeTransfer(t, put.Body); tb.TransferState != "COMMITTED" || tb.Fulfilment != p.Fulfilment {
		t.Errorf("payer's PUT = %+v, want COMMITTED with fulfilment %s", tb, p.Fulfilment)
	}
	if s := payee.Stats(); s.CommitsNotified != 1 || s.AbortsNotified != 0 {
		t.Errorf("payee commits notified %d, aborts %d; want 1 and 0", s.CommitsNotified, s.AbortsNotified)
	}
	wantBalance(t, payee, to.Party.ID, "1000020")
	e.finish(moved(before, payer.ID(), payee.ID(), 2000))
}

func TestUnknownAlias(t *testing.T) {
	e := newEnv(t)
	payer := e.addFSP("ua-payer", "10000", "10000", nil)
	e.addFSP("ua-payee", "10000", "10000", nil)
	before := e.positions(t)

	nobody := sim.Party{Type: "MSISDN", ID: "447700900123"}
	_, err := pay(t, payer, nobody, "5")
	phase, code := fspiopCode(t, err)
	if phase != sim.PhaseDiscovery || code != "3204" {
		t.Errorf("Pay to an unregistered MSISDN failed in %s with %s, want discovery with 3204", phase, code)
	}
	ev := waitEvent(t, payer, http.MethodPut, "/parties/MSISDN/"+nobody.ID+"/error", 1)
	if got := errorCode(t, ev.Body); got != "3204" {
		t.Errorf("PUT /parties/.../error errorCode = %s, want 3204", got)
	}
	wantBalance(t, payer, payer.Customers()[0].Party.ID, "1000000")
	e.finish(before)
}

func TestQuoteRejected(t *testing.T) {
	e := newEnv(t)
	payer := e.addFSP("qr-payer", "10000", "10000", nil)
	payee := e.addFSP("qr-payee", "10000", "10000", func(c *sim.Config) {
		c.Behaviour.RejectQuotes = true
		c.Behaviour.RejectCode = "5101"
	})
	before := e.positions(t)

	p, err := pay(t, payer, payee.Customers()[0].Party, "5")
	phase, code := fspiopCode(t, err)
	if phase != sim.PhaseQuote || code != "5101" {
		t.Errorf("Pay failed in %s with %s, want quote with the payee's 5101", phase, code)
	}
	waitEvent(t, payer, http.MethodPut, "/quotes/"+p.QuoteID+"/error", 1)
	if n := count(payee, http.MethodPost, "/transfers"); n != 0 {
		t.Errorf("payee received %d POST /transfers, want 0", n)
	}
	wantBalance(t, payer, payer.Customers()[0].Party.ID, "1000000")
	e.finish(before)
}

func TestLiquidity(t *testing.T) {
	e := newEnv(t)
	payee := e.addFSP("lq-payee", "10000", "10000", nil)
	tests := []struct {
		fsp, ndc, funds string
		want            string // errorCode, "" for a committed payment
	}{
		{"lq-ndc", "100", "10000", "4200"},                 // the net debit cap is the limit
		{"lq-collateral", "10000", "100", "4001"},          // the collateral is
		{"lq-exactly", "150", "150", ""},                   // exactly at both
		{"lq-cent-short", "149.99", "10000", "4200"},       // a cent short of the cap
		{"lq-cent-short-funds", "10000", "149.99", "4001"}, // a cent short of the collateral
	}
	payers := make([]*sim.FSP, len(tests))
	for i, tc := range tests {
		payers[i] = e.addFSP(tc.fsp, tc.ndc, tc.funds, nil)
	}
	for i, tc := range tests {
		payer := payers[i]
		t.Run(tc.fsp, func(t *testing.T) {
			before := e.positions(t)
			p, err := pay(t, payer, payee.Customers()[0].Party, "150")
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Pay: %v", err)
				}
				if got := e.positions(t); got[tc.fsp] != before[tc.fsp]+15000 {
					t.Errorf("position = %d, want %d", got[tc.fsp], before[tc.fsp]+15000)
				}
				return
			}
			phase, code := fspiopCode(t, err)
			if phase != sim.PhaseTransfer || code != tc.want {
				t.Errorf("Pay failed in %s with %s, want transfer with %s", phase, code, tc.want)
			}
			ev := waitEvent(t, payer, http.MethodPut, "/transfers/"+p.TransferID+"/error", 1)
			if got := errorCode(t, ev.Body); got != tc.want {
				t.Errorf("PUT /transfers/{ID}/error errorCode = %s, want %s", got, tc.want)
			}
			for _, ev := range payee.Events() {
				if ev.Method == http.MethodPost && ev.Path == "/transfers" && decodeTransfer(t, ev.Body).TransferID == p.TransferID {
					t.Errorf("the refused transfer reached the payee")
				}
			}
			if got := e.positions(t); got[tc.fsp] != before[tc.fsp] || got[payee.ID()] != before[payee.ID()] {
				t.Errorf("positions moved: before %v, after %v", before, got)
			}
			wantBalance(t, payer, payer.Customers()[0].Party.ID, "1000000")
		})
	}
	e.finish(map[string]int64{"lq-exactly": 15000, payee.ID(): -15000})
}

func TestTransferExpiry(t *testing.T) {
	e := newEnv(t)
	payer := e.addFSP("ex-payer", "10000", "10000", func(c *sim.Config) { c.TransferExpiry = time.Second })
	payee := e.addFSP("ex-payee", "10000", "10000", func(c *sim.Config) { c.Behaviour.NoAnswer = true })
	before := e.positions(t)

	p, err := pay(t, payer, payee.Customers()[0].Party, "30")
	phase, code := fspiopCode(t, err)
	if phase != sim.PhaseTransfer || code != "3303" {
		t.Errorf("Pay failed in %s with %s, want transfer with 3303", phase, code)
	}
	for _, f := range []*sim.FSP{payer, payee} {
		ev := waitEvent(t, f, http.MethodPut, "/transfers/"+p.TransferID+"/error", 1)
		if got, src := errorCode(t, ev.Body), ev.Header.Get("FSPIOP-Source"); got != "3303" || src != fspiop.DefaultHub {
			t.Errorf("%s got errorCode %s from %q, want 3303 from %q", f.ID(), got, src, fspiop.DefaultHub)
		}
	}
	id, err := ledger.ParseID(p.TransferID)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if tr, err := e.h.Writer.Transfer(ctx, id); err != nil || tr.State != ledger.StateExpired {
		t.Errorf("transfer = %v, %v; want EXPIRED", tr.State, err)
	}
	wantBalance(t, payer, payer.Customers()[0].Party.ID, "1000000")

	// The payee's fulfilment, too late: it is told the transfer expired.
	post := decodeTransfer(t, waitEvent(t, payee, http.MethodPost, "/transfers", 1).Body)
	late := e.call(t, http.MethodPut, "/transfers/"+p.TransferID, payee.ID(), payer.ID(), committed(fulfilment(t, payee, post.IlpPacket)), nil)
	wantStatus(t, "late PUT", late, http.StatusOK, "")
	if got := errorCode(t, waitEvent(t, payee, http.MethodPut, "/transfers/"+p.TransferID+"/error", 2).Body); got != "3303" {
		t.Errorf("late fulfilment answered %s, want 3303", got)
	}

	// The payer's resend is answered with the outcome again.
	resend := waitEvent(t, payee, http.MethodPost, "/transfers", 1).Body
	wantStatus(t, "resend", e.call(t, http.MethodPost, "/transfers", payer.ID(), payee.ID(), resend, nil), http.StatusAccepted, "")
	if got := errorCode(t, waitEvent(t, payer, http.MethodPut, "/transfers/"+p.TransferID+"/error", 2).Body); got != "3303" {
		t.Errorf("resend after the expiry answered %s, want 3303", got)
	}
	// And so is its GET.
	mark := lastSeq(payer)
	wantStatus(t, "GET", e.call(t, http.MethodGet, "/transfers/"+p.TransferID, payer.ID(), "", nil, nil), http.StatusAccepted, "")
	got := waitMatch(t, payer, "the answer to GET /transfers", func(ev sim.Event) bool {
		return ev.Seq > mark && strings.HasPrefix(ev.Path, "/transfers/"+p.TransferID)
	})
	if got.Path == "/transfers/"+p.TransferID {
		if st := decodeTransfer(t, got.Body).TransferState; st != "ABORTED" {
			t.Errorf("GET of the expired transfer: transferState %s, want ABORTED", st)
		}
	} else if code := errorCode(t, got.Body); code != "3303" {
		t.Errorf("GET of the expired transfer: errorCode %s, want 3303", code)
	}
	e.finish(before)
}

func TestWrongFulfilment(t *testing.T) {
	for _, notify := range []bool{false, true} {
		t.Run(fmt.Sprintf("commitNotification=%v", notify), func(t *testing.T) {
			e := newEnv(t)
			payer := e.addFSP("wf-payer", "10000", "10000", nil)
			payee := e.addFSP("wf-payee", "10000", "10000", func(c *sim.Config) {
				c.Behaviour.WrongFulfilment = true
				c.Behaviour.CommitNotification = notify
			})
			before := e.positions(t)

			p, err := pay(t, payer, payee.Customers()[0].Party, "8")
			phase, code := fspiopCode(t, err)
			if phase != sim.PhaseTransfer || code == "" {
				t.Errorf("Pay failed in %s with %q, want an error callback to the transfer", phase, code)
			}
			waitEvent(t, payer, http.MethodPut, "/transfers/"+p.TransferID+"/error", 1)
			if notify {
				ev := waitEvent(t, payee, http.MethodPatch, "/transfers/"+p.TransferID, 1)
				if got := decodeTransfer(t, ev.Body).TransferState; got != "ABORTED" {
					t.Errorf("PATCH transferState = %q, want ABORTED", got)
				}
				if s := payee.Stats(); s.AbortsNotified != 1 {
					t.Errorf("payee aborts notified = %d, want 1", s.AbortsNotified)
				}
			} else {
				ev := waitEvent(t, payee, http.MethodPut, "/transfers/"+p.TransferID+"/error", 1)
				if got := errorCode(t, ev.Body); got == "" {
					t.Errorf("payee's error callback has no errorCode: %s", ev.Body)
				}
			}
			wantBalance(t, payer, payer.Customers()[0].Party.ID, "1000000")
			wantBalance(t, payee, payee.Customers()[0].Party.ID, "1000000")
			e.finish(before)
		})
	}
}

func TestDuplicateTransfer(t *testing.T) {
	e := newEnv(t)
	payer := e.addFSP("dt-payer", "10000", "10000", nil)
	payee := e.addFSP("dt-payee", "10000", "10000", func(c *sim.Config) { c.Behaviour.NoAnswer = true })
	before := e.positions(t)

	res := payAsync(payer, payer.Customers()[0].Party.ID, payee.Customers()[0].Party, "7", 3*waitFor)
	ev := waitEvent(t, payee, http.MethodPost, "/transfers", 1)
	original := ev.Body
	tr := decodeTransfer(t, original)
	path := "/transfers/" + tr.TransferID

	// The same request while the transfer is in flight: ignored.
	wantStatus(t, "resend in flight", e.call(t, http.MethodPost, "/transfers", payer.ID(), payee.ID(), original, nil), http.StatusAccepted, "")

	// Only the payee may fulfil it.
	ful := fulfilment(t, payee, tr.IlpPacket)
	thief := newRecorder(t, nil)
	e.onboard("dt-thief", "10000", "10000", thief.srv.URL)
	wantStatus(t, "PUT by another FSP", e.call(t, http.MethodPut, path, "dt-thief", payer.ID(), committed(ful), nil), http.StatusOK, "")
	if got := errorCode(t, thief.wait(t, http.MethodPut, path+"/error", 1)[0].Body); got == "" {
		t.Errorf("the other FSP's PUT was answered with no errorCode")
	}
	if n := count(payer, http.MethodPut, path); n != 0 {
		t.Errorf("the other FSP's fulfilment reached the payer")
	}

	// The payee fulfils it.
	wantStatus(t, "payee's PUT", e.call(t, http.MethodPut, path, payee.ID(), payer.ID(), committed(ful), nil), http.StatusOK, "")
	r := awaitPay(t, res)
	if r.err != nil || r.pay.State != "COMMITTED" {
		t.Fatalf("Pay = %q, %v; want COMMITTED", r.pay.State, r.err)
	}

	// The same request once it is committed: the outcome again.
	wantStatus(t, "resend after commit", e.call(t, http.MethodPost, "/transfers", payer.ID(), payee.ID(), original, nil), http.StatusAccepted, "")
	again := decodeTransfer(t, waitEvent(t, payer, http.MethodPut, path, 2).Body)
	if again.TransferState != "COMMITTED" || again.Fulfilment != ful {
		t.Errorf("second PUT %s = %+v, want COMMITTED with fulfilment %s", path, again, ful)
	}

	// Another request under the same id: 3106.
	modified := bytes.Replace(original, []byte(`{"amount":"7"`), []byte(`{"amount":"8"`), 1)
	if bytes.Equal(modified, original) {
		t.Fatalf("could not modify %s", original)
	}
	wantStatus(t, "modified resend", e.call(t, http.MethodPost, "/transfers", payer.ID(), payee.ID(), modified, nil), http.StatusAccepted, "")
	if got := errorCode(t, waitEvent(t, payer, http.MethodPut, path+"/error", 1).Body); got != "3106" {
		t.Errorf("modified resend: errorCode %s, want 3106", got)
	}

	e.finish(moved(before, payer.ID(), payee.ID(), 700))
	// Closing the hub delivered every callback it had queued.
	if n := count(payee, http.MethodPost, "/transfers"); n != 1 {
		t.Errorf("payee received POST /transfers %d times, want 1", n)
	}
	if n := count(payer, http.MethodPut, path); n != 2 {
		t.Errorf("payer received PUT %s %d times, want 2 (the commit and the answer to the resend)", path, n)
	}
}

func TestDuplicateQuote(t *testing.T) {
	e := newEnv(t)
	payer := e.addFSP("dq-payer", "10000", "10000", nil)
	quiet := newRecorder(t, nil) // a payee FSP that answers when told
	e.onboard("dq-quiet", "10000", "10000", quiet.srv.URL)
	before := e.positions(t)

	qid := newID()
	payeeParty := sim.Party{Type: "MSISDN", ID: "254700000001"}
	body := quote(qid, payer.ID(), payer.Customers()[0].Party, "dq-quiet", payeeParty, "5")
	post := func(what string, b []byte) {
		t.Helper()
		wantStatus(t, what, e.call(t, http.MethodPost, "/quotes", payer.ID(), "dq-quiet", b, nil), http.StatusAccepted, "")
	}
	post("POST /quotes", body)
	quiet.wait(t, http.MethodPost, "/quotes", 1)
	post("resend while open", body)

	// The payee answers.
	answer := []byte(`{"transferAmount":{"amount":"5","currency":"USD"},"expiration":"` +
		fspiop.DateTime(time.Now().Add(time.Minute)) + `","ilpPacket":"AYIBgQAAAAAAAAASAwBhbGljZQ",` +
		`"condition":"` + sim.Encode32([32]byte{1, 2, 3}) + `"}`)
	wantStatus(t, "payee's PUT /quotes", e.call(t, http.MethodPut, "/quotes/"+qid, "dq-quiet", payer.ID(), answer, nil), http.StatusOK, "")
	first := waitEvent(t, payer, http.MethodPut, "/quotes/"+qid, 1)
	if !bytes.Equal(first.Body, answer) {
		t.Errorf("payer got quote %s, payee sent %s", first.Body, answer)
	}

	// Resent once answered: the answer again.
	post("resend after the answer", body)
	second := waitEvent(t, payer, http.MethodPut, "/quotes/"+qid, 2)
	if !bytes.Equal(second.Body, answer) {
		t.Errorf("payer got the quote again as %s, want %s", second.Body, answer)
	}

	// A GET by the requester is answered from the record; by another FSP,
	// 3205.
	wantStatus(t, "GET /quotes", e.call(t, http.MethodGet, "/quotes/"+qid, payer.ID(), "", nil, nil), http.StatusAccepted, "")
	if third := waitEvent(t, payer, http.MethodPut, "/quotes/"+qid, 3); !bytes.Equal(third.Body, answer) {
		t.Errorf("GET /quotes answered %s, want %s", third.Body, answer)
	}
	other := e.addFSP("dq-other", "10000", "10000", nil)
	wantStatus(t, "GET /quotes by another", e.call(t, http.MethodGet, "/quotes/"+qid, other.ID(), "", nil, nil), http.StatusAccepted, "")
	if got := errorCode(t, waitEvent(t, other, http.MethodPut, "/quotes/"+qid+"/error", 1).Body); got != "3205" {
		t.Errorf("GET /quotes by another FSP: errorCode %s, want 3205", got)
	}
	if n := len(quiet.requests(http.MethodGet, "/quotes/"+qid)); n != 0 {
		t.Errorf("the payee was asked for the quote %d times, want 0", n)
	}

	// Another request under the same id: 3106.
	post("modified", quote(qid, payer.ID(), payer.Customers()[0].Party, "dq-quiet", payeeParty, "6"))
	if got := errorCode(t, waitEvent(t, payer, http.MethodPut, "/quotes/"+qid+"/error", 1).Body); got != "3106" {
		t.Errorf("modified quote: errorCode %s, want 3106", got)
	}

	e.finish(before)
	if n := len(quiet.requests(http.MethodPost, "/quotes")); n != 1 {
		t.Errorf("payee received POST /quotes %d times, want 1", n)
	}
}

func TestGetTransfer(t *testing.T) {
	e := newEnv(t)
	payer := e.addFSP("gt-payer", "10000", "10000", nil)
	payee := e.addFSP("gt-payee", "10000", "10000", nil)
	other := e.addFSP("gt-other", "10000", "10000", nil)
	before := e.positions(t)
	p, err := pay(t, payer, payee.Customers()[0].Party, "3")
	if err != nil {
		t.Fatalf("Pay: %v", err)
	}
	path := "/transfers/" + p.TransferID
	waitEvent(t, payer, http.MethodPut, path, 1)

	unknown := newID()
	tests := []struct {
		name     string
		asker    *sim.FSP
		id       string
		wantPath string // the callback the asker gets
		n        int    // how many of them it then holds
		code     string // errorCode of an error callback
	}{
		{"unknown id", payer, unknown, "/transfers/" + unknown + "/error", 1, "3208"},
		{"payer", payer, p.TransferID, path, 2, ""},
		{"payee", payee, p.TransferID, path, 1, ""},
		{"third FSP", other, p.TransferID, path + "/error", 1, "3208"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, "GET", e.call(t, http.MethodGet, "/transfers/"+tc.id, tc.asker.ID(), "", nil, nil), http.StatusAccepted, "")
			ev := waitEvent(t, tc.asker, http.MethodPut, tc.wantPath, tc.n)
			if tc.code != "" {
				if got := errorCode(t, ev.Body); got != tc.code {
					t.Errorf("errorCode %s, want %s", got, tc.code)
				}
				return
			}
			got := decodeTransfer(t, ev.Body)
			if got.TransferState != "COMMITTED" || got.Fulfilment != p.Fulfilment {
				t.Errorf("PUT %s = %+v, want COMMITTED with fulfilment %s", path, got, p.Fulfilment)
			}
		})
	}
	e.finish(moved(before, payer.ID(), payee.ID(), 300))
}

func TestMalformedBody(t *testing.T) {
	e := newEnv(t)
	payer := e.addFSP("mb-payer", "10000", "10000", nil)
	payee := e.addFSP("mb-payee", "10000", "10000", nil)
	before := e.positions(t)
	a, b := payer.ID(), payee.ID()
	cond := sim.Encode32([32]byte{7})
	exp := fspiop.DateTime(time.Now().Add(time.Minute))
	const ilp = "AQAAAAAAAADIEHByaXZhdGUucGF5ZWVmc3A"
	transfer := func(id, fields string) []byte {
		return []byte(fmt.Sprintf(`{"transferId":%q,"payeeFsp":%q,"payerFsp":%q,%s}`, id, b, a, fields))
	}
	q := quote(newID(), a, payer.Customers()[0].Party, b, payee.Customers()[0].Party, "1")
	tests := []struct {
		name, method, path string
		body               []byte
		status             int
		code               string
	}{
		{"truncated JSON", http.MethodPost, "/transfers", []byte(`{"transferId":"`), http.StatusBadRequest, "3101"},
		{"not JSON", http.MethodPost, "/quotes", []byte(`quote please`), http.StatusBadRequest, "3101"},
		{"wrong type", http.MethodPost, "/transfers", transfer(newID(), `"amount":15,"ilpPacket":"`+ilp+`","condition":"`+cond+`","expiration":"`+exp+`"`), http.StatusBadRequest, "3101"},
		{"empty body", http.MethodPost, "/transfers", []byte{}, http.StatusBadRequest, "3102"},
		{"no amount", http.MethodPost, "/transfers", transfer(newID(), `"ilpPacket":"`+ilp+`","condition":"`+cond+`","expiration":"`+exp+`"`), http.StatusBadRequest, "3102"},
		{"no condition", http.MethodPost, "/transfers", transfer(newID(), `"amount":{"amount":"1","currency":"USD"},"ilpPacket":"`+ilp+`","expiration":"`+exp+`"`), http.StatusBadRequest, "3102"},
		{"no transactionType", http.MethodPost, "/quotes", bytes.Replace(q, []byte(`"transactionType"`), []byte(`"transactionKind"`), 1), http.StatusBadRequest, "3102"},
		{"amount with too many decimals", http.MethodPost, "/quotes", bytes.Replace(q, []byte(`"amount":"1"`), []byte(`"amount":"1.001"`), 1), http.StatusBadRequest, "3100"},
		{"body too large", http.MethodPost, "/quotes", bytes.Replace(q, []byte(`"amountType"`), []byte(`"note":"`+strings.Repeat("x", fspiop.DefaultMaxBody)+`","amountType"`), 1), http.StatusRequestEntityTooLarge, "3104"},
		{"no transferState", http.MethodPut, "/transfers/" + newID(), []byte(`{"fulfilment":"` + cond + `"}`), http.StatusBadRequest, "3102"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := a, b
			if tc.method == http.MethodPut {
				src, dst = b, a
			}
			wantStatus(t, tc.method+" "+tc.path, e.call(t, tc.method, tc.path, src, dst, tc.body, nil), tc.status, tc.code)
		})
	}
	if n := count(payee, http.MethodPost, "/transfers") + count(payee, http.MethodPost, "/quotes"); n != 0 {
		t.Errorf("payee received %d of the malformed requests", n)
	}

	// The same transfer well formed is taken; its condition matches no
	// packet of the payee's, which rejects it, and nothing moves.
	id := newID()
	wantStatus(t, "well-formed", e.call(t, http.MethodPost, "/transfers", a, b,
		transfer(id, `"amount":{"amount":"1","currency":"USD"},"ilpPacket":"`+ilp+`","condition":"`+cond+`","expiration":"`+exp+`"`), nil),
		http.StatusAccepted, "")
	waitEvent(t, payer, http.MethodPut, "/transfers/"+id+"/error", 1)
	e.finish(before)
}

func TestHeaders(t *testing.T) {
	e := newEnv(t)
	payer := e.addFSP("hd-payer", "10000", "10000", nil)
	payee := e.addFSP("hd-payee", "10000", "10000", nil)
	before := e.positions(t)
	a, b := payer.ID(), payee.ID()
	ct := func(resource, v string) string {
		return "application/vnd.interoperability." + resource + "+json;version=" + v
	}
	set := func(k, v string) func(http.Header) {
		return func(h http.Header) {
			if v == "" {
				h.Del(k)
			} else {
				h.Set(k, v)
			}
		}
	}
	versions := []fspiop.Extension{{Key: "1", Value: "0"}, {Key: "1", Value: "1"}}
	tests := []struct {
		name   string
		edit   func(http.Header)
		status int
		code   string
		ext    []fspiop.Extension // the extension list of the answer
	}{
		{"no Content-Type", set("Content-Type", ""), http.StatusBadRequest, "3102", nil},
		{"Content-Type of another resource", set("Content-Type", ct("transfers", "1.1")), http.StatusBadRequest, "3101", nil},
		{"Content-Type version 2.0", set("Content-Type", ct("quotes", "2.0")), http.StatusNotAcceptable, "3001", versions},
		{"Content-Type version 1.7", set("Content-Type", ct("quotes", "1.7")), http.StatusNotAcceptable, "3001", versions},
		{"Accept version 2.0", set("Accept", ct("quotes", "2.0")), http.StatusNotAcceptable, "3001", versions},
		{"Accept version 2", set("Accept", ct("quotes", "2")), http.StatusNotAcceptable, "3001", versions},
		{"no Accept", set("Accept", ""), http.StatusBadRequest, "3102", nil},
		{"version 1.0", func(h http.Header) { h.Set("Content-Type", ct("quotes", "1.0")); h.Set("Accept", ct("quotes", "1.0")) }, http.StatusAccepted, "", nil},
		{"Accept version 1", set("Accept", ct("quotes", "1")), http.StatusAccepted, "", nil},
		{"spaces and a second Accept", func(h http.Header) {
			h.Set("Content-Type", "application/vnd.interoperability.quotes+json; version=1.1")
			h.Set("Accept", "application/json, application/vnd.interoperability.quotes+json; version=1.1")
		}, http.StatusAccepted, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			qid := newID()
			body := quote(qid, a, payer.Customers()[0].Party, b, payee.Customers()[0].Party, "2")
			got := e.call(t, http.MethodPost, "/quotes", a, b, body, tc.edit)
			wantStatus(t, "POST /quotes", got, tc.status, tc.code)
			if tc.ext != nil {
				var ext []fspiop.Extension
				if got.info.ExtensionList != nil {
					ext = got.info.ExtensionList.Extension
				}
				if fmt.Sprint(ext) != fmt.Sprint(tc.ext) {
					t.Errorf("extension list = %v, want the supported versions %v", ext, tc.ext)
				}
			}
			if tc.status == http.StatusAccepted {
				// The quote went through: its answer reached the payer.
				waitEvent(t, payer, http.MethodPut, "/quotes/"+qid, 1)
			}
		})
	}
	t.Run("hub's answer in the version asked for", func(t *testing.T) {
		path := "/parties/MSISDN/15550003333"
		accept := func(h http.Header) { h.Set("Accept", ct("parties", "1.0")) }
		wantStatus(t, "GET /parties", e.call(t, http.MethodGet, path, a, "", nil, accept), http.StatusAccepted, "")
		ev := waitEvent(t, payer, http.MethodPut, path+"/error", 1)
		if got := ev.Header.Get("Content-Type"); got != ct("parties", "1.0") {
			t.Errorf("error callback Content-Type %q, want %q", got, ct("parties", "1.0"))
		}
	})
	// The version 1.0 request reached the payee as it was sent.
	ev := waitMatch(t, payee, "a POST /quotes of version 1.0", func(ev sim.Event) bool {
		return ev.Method == http.MethodPost && strings.HasSuffix(ev.Header.Get("Content-Type"), "version=1.0")
	})
	if ev.Status != http.StatusAccepted {
		t.Errorf("payee answered the version 1.0 quote %d: %s", ev.Status, ev.ProtocolError)
	}
	e.finish(before)
}

func TestSource(t *testing.T) {
	e := newEnv(t)
	asker := e.addFSP("src-asker", "10000", "10000", nil)
	payee := e.addFSP("src-payee", "10000", "10000", nil)
	before := e.positions(t)
	party := payee.Customers()[0].Party
	lookup := "/parties/" + party.Type + "/" + party.ID
	set := func(k, v string) func(http.Header) {
		return func(h http.Header) {
			if v == "" {
				h.Del(k)
			} else {
				h.Set(k, v)
			}
		}
	}
	tests := []struct {
		name   string
		edit   func(http.Header)
		status int
		code   string
	}{
		{"unknown FSPIOP-Source", set("FSPIOP-Source", "nobody"), http.StatusBadRequest, "3200"},
		{"no FSPIOP-Source", set("FSPIOP-Source", ""), http.StatusBadRequest, "3102"},
		{"unknown FSPIOP-Destination", set("FSPIOP-Destination", "nowhere"), http.StatusBadRequest, "3201"},
		{"no Date", set("Date", ""), http.StatusBadRequest, "3102"},
		{"Date not an HTTP date", set("Date", "2026-05-24T08:38:08Z"), http.StatusBadRequest, "3101"},
		{"well-formed", nil, http.StatusAccepted, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, "GET "+lookup, e.call(t, http.MethodGet, lookup, asker.ID(), "", nil, tc.edit), tc.status, tc.code)
		})
	}
	waitEvent(t, asker, http.MethodPut, lookup, 1)
	if n := count(payee, http.MethodGet, lookup); n != 1 {
		t.Errorf("payee was asked %d times, want once (by the well-formed lookup)", n)
	}

	t.Run("routes", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			status       int
			code         string
		}{
			{http.MethodGet, "/nothing/here", http.StatusNotFound, "3002"},
			{http.MethodDelete, "/transfers/" + newID(), http.StatusMethodNotAllowed, "3000"},
			{http.MethodPost, "/bulkTransfers", http.StatusNotImplemented, "2002"},
		} {
			wantStatus(t, tc.method+" "+tc.path, e.call(t, tc.method, tc.path, asker.ID(), "", []byte(`{}`), nil), tc.status, tc.code)
		}
	})

	t.Run("suspended", func(t *testing.T) {
		if s := e.admin(t, http.MethodPost, "/admin/v1/participants/"+asker.ID()+"/suspend", map[string]any{}, nil); s != http.StatusOK {
			t.Fatalf("suspend: HTTP %d", s)
		}
		got := e.call(t, http.MethodGet, lookup, asker.ID(), "", nil, nil)
		if got.status/100 != 4 || !strings.HasPrefix(got.info.ErrorCode, "3") {
			t.Errorf("lookup by a suspended FSP: HTTP %d errorCode %q, want 4xx with a 3xxx code", got.status, got.info.ErrorCode)
		}
		_, err := pay(t, asker, party, "1")
		var se *sim.Error
		if !errors.As(err, &se) || !errors.Is(err, sim.ErrRefused) || se.Status/100 != 4 {
			t.Errorf("Pay by a suspended FSP: %v, want refused with 4xx", err)
		}
		// A suspended FSP is not paid either.
		if s := e.admin(t, http.MethodPost, "/admin/v1/participants/"+asker.ID()+"/activate", map[string]any{}, nil); s != http.StatusOK {
			t.Fatalf("activate: HTTP %d", s)
		}
		if s := e.admin(t, http.MethodPost, "/admin/v1/participants/"+payee.ID()+"/suspend", map[string]any{}, nil); s != http.StatusOK {
			t.Fatalf("suspend: HTTP %d", s)
		}
		if _, err := pay(t, asker, party, "1"); err == nil {
			t.Errorf("Pay to a suspended FSP succeeded")
		}
	})
	e.finish(before)
}

func TestCallbackEndpointDown(t *testing.T) {
	e := newEnv(t) // 3 attempts, 20 ms backoff
	e.failedCallbacks = 1
	down := closedURL(t)
	e.onboard("cb-down", "10000", "10000", down)
	lookup := "/parties/MSISDN/15550001111"
	wantStatus(t, "GET /parties", e.call(t, http.MethodGet, lookup, "cb-down", "", nil, nil), http.StatusAccepted, "")

	type failure struct {
		ID, To, Type, Method, URL, Path string
		Attempts                        int
		LastError                       string
		Body                            string
	}
	var page struct {
		Failures []failure
		Next     string
	}
	deadline := time.Now().Add(waitFor)
	for {
		if s := e.admin(t, http.MethodGet, "/admin/v1/participants/cb-down/callbacks/failed", nil, &page); s != http.StatusOK {
			t.Fatalf("callbacks/failed: HTTP %d", s)
		}
		if len(page.Failures) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(page.Failures) != 1 {
		t.Fatalf("failed callbacks = %+v, want 1", page.Failures)
	}
	f := page.Failures[0]
	if f.To != "cb-down" || f.Method != http.MethodPut || f.Path != lookup+"/error" || f.Attempts != 3 ||
		!strings.HasPrefix(f.URL, down+"/parties/") || f.LastError == "" || !strings.Contains(f.Body, "3204") {
		t.Errorf("failed callback = %+v; want PUT %s/error to %s, 3 attempts, with its 3204 body", f, lookup, down)
	}
	e.finish(nil)
}

func TestCallbackRetried(t *testing.T) {
	e := newEnv(t)
	flaky := newRecorder(t, func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	e.onboard("cb-flaky", "10000", "10000", flaky.srv.URL)
	lookup := "/parties/MSISDN/15550002222"
	wantStatus(t, "GET /parties", e.call(t, http.MethodGet, lookup, "cb-flaky", "", nil, nil), http.StatusAccepted, "")
	got := flaky.wait(t, http.MethodPut, lookup+"/error", 3)
	for i, r := range got {
		if !bytes.Equal(r.Body, got[0].Body) || !strings.Contains(string(r.Body), "3204") {
			t.Errorf("attempt %d body %s, want the 3204 error of the first", i+1, r.Body)
		}
	}
	if n := e.h.Callbacks.Stats().Retried; n < 2 {
		t.Errorf("sender retried %d times, want at least 2", n)
	}
	var page struct{ Failures []json.RawMessage }
	if s := e.admin(t, http.MethodGet, "/admin/v1/participants/cb-flaky/callbacks/failed", nil, &page); s != http.StatusOK || len(page.Failures) != 0 {
		t.Errorf("callbacks/failed: HTTP %d, %d failures; want none", s, len(page.Failures))
	}
	e.finish(nil)
	if n := len(flaky.requests(http.MethodPut, lookup+"/error")); n != 3 {
		t.Errorf("endpoint received %d attempts, want 3 (two 503s, then delivered)", n)
	}
}

func TestRestart(t *testing.T) {
	e := newEnv(t)
	payerA := e.addFSP("rs-payer-a", "10000", "10000", nil) // 30 s to expire
	payerB := e.addFSP("rs-payer-b", "10000", "10000", func(c *sim.Config) { c.TransferExpiry = 3 * time.Second })
	payee := e.addFSP("rs-payee", "10000", "10000", func(c *sim.Config) { c.Behaviour.NoAnswer = true })
	before := e.positions(t)

	resA := payAsync(payerA, payerA.Customers()[0].Party.ID, payee.Customers()[0].Party, "40", 4*waitFor)
	resB := payAsync(payerB, payerB.Customers()[0].Party.ID, payee.Customers()[1].Party, "60", 4*waitFor)
	var a, b transferBody
	for i := 1; i <= 2; i++ {
		tr := decodeTransfer(t, waitEvent(t, payee, http.MethodPost, "/transfers", i).Body)
		if tr.PayerFsp == payerA.ID() {
			a = tr
		} else {
			b = tr
		}
	}
	if a.TransferID == "" || b.TransferID == "" {
		t.Fatalf("payee got transfers %+v and %+v, want one from each payer", a, b)
	}

	e.restart()
	idA, err := ledger.ParseID(a.TransferID)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if tr, err := e.h.Writer.Transfer(ctx, idA); err != nil || tr.State != ledger.StateReserved {
		t.Fatalf("after the restart, transfer A is %v, %v; want RESERVED", tr.State, err)
	}

	// The new hub knows A is reserved, and tells the payee so.
	wantStatus(t, "GET by the payee", e.call(t, http.MethodGet, "/transfers/"+a.TransferID, payee.ID(), "", nil, nil), http.StatusAccepted, "")
	if got := decodeTransfer(t, waitEvent(t, payee, http.MethodPut, "/transfers/"+a.TransferID, 1).Body); got.TransferState != "RESERVED" {
		t.Errorf("GET /transfers of A after the restart: %+v, want RESERVED", got)
	}

	// (a) The payee's fulfilment reaches the new hub: committed, payer told.
	ful := fulfilment(t, payee, a.IlpPacket)
	wantStatus(t, "payee's PUT", e.call(t, http.MethodPut, "/transfers/"+a.TransferID, payee.ID(), payerA.ID(), committed(ful), nil), http.StatusOK, "")
	ra := awaitPay(t, resA)
	if ra.err != nil || ra.pay.State != "COMMITTED" || ra.pay.Fulfilment != ful {
		t.Errorf("Pay A = %q, %v; want COMMITTED with the payee's fulfilment", ra.pay.State, ra.err)
	}

	// (b) Nobody answers B: the new hub expires it and tells both.
	rb := awaitPay(t, resB)
	if phase, code := fspiopCode(t, rb.err); phase != sim.PhaseTransfer || code != "3303" {
		t.Errorf("Pay B failed in %s with %s, want transfer with 3303", phase, code)
	}
	ev := waitEvent(t, payee, http.MethodPut, "/transfers/"+b.TransferID+"/error", 1)
	if got := errorCode(t, ev.Body); got != "3303" {
		t.Errorf("payee told %s of B, want 3303", got)
	}
	wantBalance(t, payerB, payerB.Customers()[0].Party.ID, "1000000")
	e.finish(moved(before, payerA.ID(), payee.ID(), 4000))
}

func TestRequestToPay(t *testing.T) {
	e := newEnv(t)
	payer := e.addFSP("rtp-payer", "10000", "10000", nil)
	payee := e.addFSP("rtp-payee", "10000", "10000", nil)
	before := e.positions(t)
	from, to := payer.Customers()[2], payee.Customers()[0]

	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()
	r, err := payee.RequestToPay(ctx, to.Party.ID, from.Party, "5", usd)
	if err != nil {
		t.Fatalf("RequestToPay: %v", err)
	}
	if r.PayerFSP != payer.ID() || r.State != "RECEIVED" {
		t.Errorf("RequestToPay = %+v, want payer FSP %s, RECEIVED", r, payer.ID())
	}
	path := "/transactionRequests/" + r.TransactionRequestID
	waitEvent(t, payer, http.MethodPost, "/transactionRequests", 1)
	waitEvent(t, payee, http.MethodPut, path, 1)

	// The payer FSP then pays, quoting with the request's id.
	q := waitEvent(t, payee, http.MethodPost, "/quotes", 1)
	var qb struct {
		TransactionRequestID string `json:"transactionRequestId"`
	}
	if err := json.Unmarshal(q.Body, &qb); err != nil || qb.TransactionRequestID != r.TransactionRequestID {
		t.Errorf("quote's transactionRequestId = %q (%v), want %s", qb.TransactionRequestID, err, r.TransactionRequestID)
	}
	ev := waitMatch(t, payer, "PUT /transfers/{ID}", func(ev sim.Event) bool {
		return ev.Method == http.MethodPut && strings.HasPrefix(ev.Path, "/transfers/") && !strings.HasSuffix(ev.Path, "/error")
	})
	if got := decodeTransfer(t, ev.Body).TransferState; got != "COMMITTED" {
		t.Errorf("transfer state %q, want COMMITTED", got)
	}
	wantBalance(t, payer, from.Party.ID, "999995")

	// A payer FSP that refuses: the payee learns it, and nothing is paid.
	if err := payer.SetBehaviour(sim.Behaviour{RejectTransactionRequests: true}); err != nil {
		t.Fatal(err)
	}
	r, err = payee.RequestToPay(ctx, to.Party.ID, from.Party, "6", usd)
	if err != nil || r.State != "REJECTED" {
		t.Errorf("RequestToPay to a refusing FSP = %+v, %v; want REJECTED", r, err)
	}
	waitEvent(t, payee, http.MethodPut, "/transactionRequests/"+r.TransactionRequestID, 1)
	if n := count(payee, http.MethodPost, "/quotes"); n != 1 {
		t.Errorf("payee received %d quotes, want 1 (of the first request)", n)
	}
	e.finish(moved(before, payer.ID(), payee.ID(), 500))
}

func TestDirectory(t *testing.T) {
	e := newEnv(t)
	a := e.addFSP("dir-a", "10000", "10000", nil)
	b := e.addFSP("dir-b", "10000", "10000", nil)
	before := e.positions(t)
	owned := b.Customers()[0].Party
	ppath := "/participants/" + owned.Type + "/" + owned.ID

	t.Run("alias of another FSP", func(t *testing.T) {
		body := []byte(`{"fspId":"` + a.ID() + `","currency":"USD"}`)
		wantStatus(t, "POST "+ppath, e.call(t, http.MethodPost, ppath, a.ID(), "", body, nil), http.StatusAccepted, "")
		if got := errorCode(t, waitEvent(t, a, http.MethodPut, ppath+"/error", 1).Body); got != "3003" {
			t.Errorf("errorCode %s, want 3003", got)
		}
		// Still b's.
		p, err := pay(t, a, owned, "1")
		if err != nil || p.PayeeFSP != b.ID() {
			t.Errorf("Pay to %s: payee FSP %q, %v; want %s", owned, p.PayeeFSP, err, b.ID())
		}
	})

	t.Run("invalid identifiers", func(t *testing.T) {
		for _, path := range []string{
			"/parties/IBAN/DE00123456781234567890", // wrong check digits
			"/parties/IBAN/NOTANIBAN",
			"/parties/MSISDN/12ab34",
			"/parties/MSISDN/" + strings.Repeat("1", 40),
		} {
			wantStatus(t, "GET "+path, e.call(t, http.MethodGet, path, a.ID(), "", nil, nil), http.StatusBadRequest, "3101")
		}
	})

	t.Run("delete by the owner", func(t *testing.T) {
		gone := b.Customers()[1].Party
		path := "/participants/" + gone.Type + "/" + gone.ID
		// Not by another FSP.
		wantStatus(t, "DELETE by another", e.call(t, http.MethodDelete, path, a.ID(), "", nil, nil), http.StatusAccepted, "")
		waitEvent(t, a, http.MethodPut, path+"/error", 1)
		wantStatus(t, "DELETE by the owner", e.call(t, http.MethodDelete, path, b.ID(), "", nil, nil), http.StatusAccepted, "")
		waitEvent(t, b, http.MethodPut, path, 2) // the first answered Register
		_, err := pay(t, a, gone, "1")
		if phase, code := fspiopCode(t, err); phase != sim.PhaseDiscovery || code != "3204" {
			t.Errorf("Pay to a removed alias failed in %s with %s, want discovery with 3204", phase, code)
		}
	})

	t.Run("batch registration", func(t *testing.T) {
		// More than 10 customers register with POST /participants batches.
		many := e.addFSP("dir-many", "10000", "10000", func(c *sim.Config) { c.Customers = 25; c.RegisterBatch = 10 })
		last := many.Customers()[24]
		p, err := pay(t, a, last.Party, "1")
		if err != nil || p.PayeeFSP != many.ID() {
			t.Fatalf("Pay to the last customer: payee FSP %q, %v; want %s", p.PayeeFSP, err, many.ID())
		}
		wantBalance(t, many, last.Party.ID, "1000001")

		// An FSP whose aliases clash with another's is told so for each.
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		cfg := sim.DefaultConfig()
		cfg.ID, cfg.HubURL, cfg.Customers, cfg.Workers = "dir-clash", e.h.APIURL, 12, 4
		cfg.AliasPrefix = sim.DefaultAliasPrefix(many.ID())
		clash, err := sim.Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer clash.Close(ctx)
		e.onboard(clash.ID(), "10000", "10000", clash.URL())
		err = clash.Register(ctx)
		var se *sim.Error
		if !errors.As(err, &se) || se.Code != "3003" || !strings.HasPrefix(se.Description, "12 of 12") {
			t.Errorf("Register of aliases another FSP holds: %v, want 3003 for all 12", err)
		}
		p, err = pay(t, a, many.Customers()[0].Party, "1")
		if err != nil || p.PayeeFSP != many.ID() {
			t.Errorf("after the clash, payee FSP %q, %v; want %s", p.PayeeFSP, err, many.ID())
		}
	})
	e.finish(moved(moved(before, a.ID(), b.ID(), 100), a.ID(), "dir-many", 200))
}

// TestCloseWithUnusedConnection: a client that has opened a connection and
// not sent a request on it yet (HTTP clients dial ahead) must not hold up
// the hub's Close.
func TestCloseWithUnusedConnection(t *testing.T) {
	e := newEnv(t)
	e.onboard("uc-fsp", "100", "100", closedURL(t))
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.h.APIURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e.closed = true
	if err := e.h.Close(ctx); err != nil {
		t.Errorf("Close with an unused client connection open: %v", err)
	}
	e.finish(nil)
}

// TestConcurrentPayments runs payments in every direction at once; the
// positions must end as their sum.
func TestConcurrentPayments(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	e := newEnv(t)
	fsps := []*sim.FSP{
		e.addFSP("cc-a", "10000", "10000", nil),
		e.addFSP("cc-b", "10000", "10000", func(c *sim.Config) { c.Behaviour.CommitNotification = true }),
		e.addFSP("cc-c", "10000", "10000", nil),
	}
	before := e.positions(t)
	type payment struct {
		from, to int
		customer int
		minor    int64
	}
	const n = 45
	ps := make([]payment, n)
	for i := range ps {
		from := rng.IntN(len(fsps))
		to := (from + 1 + rng.IntN(len(fsps)-1)) % len(fsps)
		ps[i] = payment{from: from, to: to, customer: rng.IntN(3), minor: 1 + rng.Int64N(5000)}
	}
	usdCur, _ := money.Lookup(usd)
	errs := make(chan error, n)
	for _, p := range ps {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*waitFor)
			defer cancel()
			from, to := fsps[p.from], fsps[p.to]
			amount := money.FormatAmount(p.minor, usdCur)
			pay, err := from.Pay(ctx, from.Customers()[p.customer].Party.ID, to.Customers()[p.customer].Party, amount, usd)
			if err == nil && pay.State != "COMMITTED" {
				err = fmt.Errorf("state %s", pay.State)
			}
			if err != nil {
				err = fmt.Errorf("%s pays %s to %s: %w", from.ID(), amount, to.ID(), err)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	want := before
	balances := map[[2]int]int64{}
	for _, p := range ps {
		want = moved(want, fsps[p.from].ID(), fsps[p.to].ID(), p.minor)
		balances[[2]int{p.from, p.customer}] -= p.minor
		balances[[2]int{p.to, p.customer}] += p.minor
	}
	for k, d := range balances {
		f := fsps[k[0]]
		wantBalance(t, f, f.Customers()[k[1]].Party.ID, money.FormatAmount(100000000+d, usdCur))
	}
	e.finish(want)
}
