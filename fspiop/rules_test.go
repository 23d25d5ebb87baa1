package fspiop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/directory"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/outbox"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
	"github.com/valyala/fasthttp"
)

// The transfer rules, tested against the Server with a real ledger writer
// on a real store, a fake clock and an outbox that only records: requests
// go straight to Handle, with no socket, and expiry happens only when a
// test moves the clock and flushes the writer.

var (
	rulesLog = slog.New(slog.NewTextHandler(io.Discard, nil))
	rulesT0  = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
)

// The participants of every case. Each has 1000.00 USD of funds and a net
// debit cap of as much.
const (
	payer    = "payerfsp"
	payee    = "payeefsp"
	other    = "otherfsp"
	rulesNDC = 100000 // minor units
	// tid is the transfer every case is about.
	tid = "3c9a1b52-7e1f-4d0a-9c3e-5b2f8a6d4e10"
	// lifetime is how long after its prepare the transfer expires.
	lifetime = 30 * time.Second
	// ilp is an ILP packet: the hub checks only that it is base64url.
	ilp = "AYIBgQAAAAAAAASwNGxldmVsb25lLmRmc3AxLm1lci45T2RTOF81MDdqUUZERmZlakgyOVc4bXFmNEpLMHlGTFGCAUBQU0svMS4w"
)

// recordingOutbox is an Outbox that keeps every message it is given, in
// order, and delivers none.
type recordingOutbox struct {
	mu   sync.Mutex // guards the fields below
	next uint64
	got  []*callback.Request
	err  error // what Err reports
}

func (o *recordingOutbox) Send(r *callback.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, r)
}

// Owe records rs too: the writer calls it only for a command that changed
// the ledger, whose messages are then certain to be sent.
func (o *recordingOutbox) Owe(rs ...*callback.Request) []store.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	msgs := make([]store.Message, len(rs))
	for i, r := range rs {
		o.next++
		msgs[i] = store.Message{ID: o.next, Value: outbox.Append(nil, r)}
		o.got = append(o.got, r)
	}
	return msgs
}

func (o *recordingOutbox) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// take returns the messages recorded since the last take.
func (o *recordingOutbox) take() []*callback.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	got := o.got
	o.got = nil
	return got
}

// rig is a Server wired to a ledger on a store of its own.
type rig struct {
	t   *testing.T
	clk *clock.Fake
	w   *writer.Writer
	out *recordingOutbox
	s   *Server
	// bodies are the prepare bodies sent, by payer, payee and amount.
	bodies map[string][]byte
	// ver is the version of the messages call sends: Latest unless an
	// action (in) says otherwise.
	ver Version
}

func newRig(t *testing.T) *rig {
	t.Helper()
	st, err := pebble.Open(t.TempDir(), pebble.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20, Logger: rulesLog})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	r := &rig{t: t, clk: clock.NewFake(rulesT0), out: &recordingOutbox{}, bodies: map[string][]byte{}, ver: Latest}
	r.w, err = writer.Open(context.Background(), st, writer.Config{
		Clock: r.clk, Logger: rulesLog,
		// Expiry only when a test moves the clock and flushes.
		ExpiryInterval:     time.Hour,
		CheckpointInterval: time.Hour,
		OweExpired:         ExpiryNotices(r.out, "", r.clk),
	})
	if err != nil {
		t.Fatalf("open writer: %v", err)
	}
	t.Cleanup(func() { r.w.Close() })
	kv := st.KV()
	r.s, err = New(Options{Writer: r.w, Directory: directory.New(kv, r.clk), Outbox: r.out, KV: kv, Clock: r.clk, Logger: rulesLog})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(r.s.Close)
	for i, p := range []string{payer, payee, other} {
		r.submit(ledger.Command{Op: ledger.OpCreateParticipant, Participant: p, Name: "FSP " + p})
		r.submit(ledger.Command{Op: ledger.OpEnableCurrency, Participant: p, Currency: "USD"})
		r.submit(ledger.Command{Op: ledger.OpSetNDC, Participant: p, Currency: "USD", Amount: rulesNDC})
		r.submit(ledger.Command{Op: ledger.OpFundsIn, ID: ledger.ID{0xf0, byte(i + 1)}, Participant: p, Currency: "USD", Amount: rulesNDC, Fingerprint: [32]byte{9}})
	}
	if got := r.out.take(); len(got) != 0 {
		t.Fatalf("setting up sent %d messages", len(got))
	}
	return r
}

func (r *rig) submit(c ledger.Command) {
	r.t.Helper()
	if _, err := r.w.Submit(context.Background(), c); err != nil {
		r.t.Fatalf("Submit(%s %s): %v", c.Op, c.Participant, err)
	}
}

// call hands one message to the server, as fasthttp would, and returns the
// status of its answer and, for an error, the FSPIOP code in its body.
func (r *rig) call(method, path, source, dest string, body []byte) (int, string) {
	r.t.Helper()
	var rc fasthttp.RequestCtx
	h := &rc.Request.Header
	h.SetMethod(method)
	rc.Request.SetRequestURI(path)
	mt := MediaType("transfers", r.ver)
	h.Set("Accept", mt)
	if body != nil {
		h.SetContentType(mt)
		rc.Request.SetBody(body)
	}
	h.Set("Date", r.clk.Now().Format(http.TimeFormat))
	h.Set("FSPIOP-Source", source)
	if dest != "" {
		h.Set("FSPIOP-Destination", dest)
	}
	h.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	r.s.Handle(&rc)
	status := rc.Response.StatusCode()
	if status < 300 {
		if len(rc.Response.Body()) != 0 {
			r.t.Errorf("%s %s answered %d with a body: %s", method, path, status, rc.Response.Body())
		}
		return status, ""
	}
	r.t.Logf("%s %s: %d %s", method, path, status, rc.Response.Body())
	return status, bodyCode(r.t, rc.Response.Body())
}

// state returns the ledger's state of the transfer, 0 when there is none.
func (r *rig) state() ledger.State {
	r.t.Helper()
	t, err := r.w.Transfer(context.Background(), mustID(tid))
	if errors.Is(err, ledger.ErrTransferNotFound) {
		return 0
	}
	if err != nil {
		r.t.Fatalf("Transfer: %v", err)
	}
	return t.State
}

func mustID(s string) ledger.ID {
	id, err := ledger.ParseID(s)
	if err != nil {
		panic(err)
	}
	return id
}

func bodyCode(t *testing.T, body []byte) string {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal(body, &b); err != nil || b.ErrorInformation.ErrorCode == "" {
		t.Errorf("error body %q: %v", body, err)
		return ""
	}
	return b.ErrorInformation.ErrorCode
}

// The fulfilment of the transfer, one that is not, and the condition.
var (
	goodFulfilment = [32]byte{1, 2, 3, 4, 5}
	badFulfilment  = [32]byte{5, 4, 3, 2, 1}
	condition      = ledger.ConditionOf(goodFulfilment)
)

// prepareBody is a POST /transfers body for tid, expiring lifetime after
// the clock's time.
func (r *rig) prepareBody(from, to, amount string) []byte {
	return []byte(fmt.Sprintf(`{"transferId":%q,"payerFsp":%q,"payeeFsp":%q,"amount":{"amount":%q,"currency":"USD"},"ilpPacket":%q,"condition":%q,"expiration":%q}`,
		tid, from, to, amount, ilp, EncodeDigest(condition), DateTime(r.clk.Now().Add(lifetime))))
}

// An action is one step of a case: it returns the status of the answer
// and the error code in it, or 0 and "" for what is not a request.
type action func(r *rig) (int, string)

// prepare sends POST /transfers for tid from payer to payee, expiring
// lifetime after it was first sent: a resend repeats the first body byte
// for byte.
func prepare(amount string) action {
	return prepareAs(payer, payer, payee, amount)
}

// prepareAs sends POST /transfers from source with the body's payerFsp and
// payeeFsp.
func prepareAs(source, payerFsp, payeeFsp, amount string) action {
	return func(r *rig) (int, string) {
		body := r.prepareBodyOnce(payerFsp, payeeFsp, amount)
		return r.call(http.MethodPost, "/transfers", source, payeeFsp, body)
	}
}

// prepareBodyOnce returns the body prepareBody made the first time it was
// asked for these values, so that a resend is byte for byte the same even
// after the clock moved.
func (r *rig) prepareBodyOnce(from, to, amount string) []byte {
	key := from + " " + to + " " + amount
	b, ok := r.bodies[key]
	if !ok {
		b = r.prepareBody(from, to, amount)
		r.bodies[key] = b
	}
	return b
}

// fulfil sends the payee's PUT /transfers/{ID} with a fulfilment and
// transferState.
func fulfil(source string, f [32]byte, state string) action {
	return func(r *rig) (int, string) {
		return r.call(http.MethodPut, transferPath(tid), source, payer, fulfilBody(r, f, state))
	}
}

func fulfilBody(r *rig, f [32]byte, state string) []byte {
	return []byte(fmt.Sprintf(`{"fulfilment":%q,"completedTimestamp":%q,"transferState":%q}`, EncodeDigest(f), DateTime(r.clk.Now()), state))
}

// rejection is the body of the payee's PUT /transfers/{ID}/error.
const rejection = `{"errorInformation":{"errorCode":"5100","errorDescription":"Generic Payee rejection - customer declined"}}`

// reject sends PUT /transfers/{ID}/error from source.
func reject(source string) action {
	return func(r *rig) (int, string) {
		return r.call(http.MethodPut, transferPath(tid)+"/error", source, payer, []byte(rejection))
	}
}

// get sends GET /transfers/{ID} from source.
func get(source string) action {
	return func(r *rig) (int, string) {
		return r.call(http.MethodGet, transferPath(tid), source, "", nil)
	}
}

// in does a with messages of version v.
func in(v Version, a action) action {
	return func(r *rig) (int, string) {
		defer func(old Version) { r.ver = old }(r.ver)
		r.ver = v
		return a(r)
	}
}

// advance moves the clock by d and flushes the writer, which expires what
// is then due.
func advance(d time.Duration) action {
	return func(r *rig) (int, string) {
		r.clk.Advance(d)
		if err := r.w.Flush(context.Background()); err != nil {
			r.t.Fatalf("Flush: %v", err)
		}
		return 0, ""
	}
}

// after moves the clock by d and does a, leaving expiry to a's command.
func after(d time.Duration, a action) action {
	return func(r *rig) (int, string) {
		r.clk.Advance(d)
		return a(r)
	}
}

// suspend suspends participant p.
func suspend(p string) action {
	return func(r *rig) (int, string) {
		r.submit(ledger.Command{Op: ledger.OpSetStatus, Participant: p, Status: ledger.StatusSuspended})
		return 0, ""
	}
}

// undelivered reports that the prepare forwarded to the payee could not
// be delivered, as the callback sender does after its last attempt.
func undelivered() action {
	return func(r *rig) (int, string) {
		r.s.Undelivered(&callback.Failure{
			ID: "f1", To: payee, Kind: callback.TransferPost, Method: http.MethodPost,
			Path: "/transfers", Vars: callback.Vars{ID: tid}, Attempts: 3, LastStatus: 503,
			Header: http.Header{"Fspiop-Source": {payer}, "Fspiop-Destination": {payee}},
			Body:   r.prepareBodyOnce(payer, payee, "100"),
		})
		return 0, ""
	}
}

// sent is what a test checks of a message the outbox got.
type sent struct {
	To, From     string // recipient; FSPIOP-Source
	Method, Path string
	// Code is the errorCode of an error callback; State the transferState
	// of a PUT or PATCH /transfers/{ID}.
	Code, State string
}

func (m sent) String() string {
	s := m.Method + " " + m.Path + " " + m.From + "->" + m.To
	if m.Code != "" {
		s += " code " + m.Code
	}
	if m.State != "" {
		s += " state " + m.State
	}
	return s
}

func describe(t *testing.T, r *callback.Request) sent {
	t.Helper()
	m := sent{To: r.To, From: r.Header.Get("Fspiop-Source"), Method: r.Method, Path: r.Path}
	switch {
	case strings.HasSuffix(r.Path, "/error"):
		m.Code = bodyCode(t, r.Body)
	case r.Method == http.MethodPut || r.Method == http.MethodPatch:
		var b transferPut
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Errorf("%s %s body %q: %v", r.Method, r.Path, r.Body, err)
		}
		m.State = b.TransferState
	}
	if d := r.Header.Get("Fspiop-Destination"); d != r.To {
		t.Errorf("%s: FSPIOP-Destination %q, want the recipient", m, d)
	}
	return m
}

// Shorthands for the messages the cases expect.
const (
	xfer    = "/transfers/" + tid
	xferErr = xfer + "/error"
	put     = http.MethodPut
	hub     = DefaultHub
)

// hubError is an error callback the hub writes itself.
func hubError(to, code string) sent {
	return sent{To: to, From: hub, Method: put, Path: xferErr, Code: code}
}

// forwardedPrepare is the payer's POST /transfers sent on to the payee.
var forwardedPrepare = sent{To: payee, From: payer, Method: http.MethodPost, Path: "/transfers"}

// step is one action of a case and what must follow from it.
type step struct {
	do     action
	status int    // of the answer; 0 for an action that is not a request
	code   string // FSPIOP error code of the answer; "" for none
	sent   []sent // exactly the messages the outbox got, in order
	state  ledger.State
	// check, when set, looks further at the messages the outbox got.
	check func(t *testing.T, r *rig, got []*callback.Request)
}

func runSteps(t *testing.T, steps []step) {
	r := newRig(t)
	for i, st := range steps {
		status, code := st.do(r)
		if status != st.status || code != st.code {
			t.Errorf("step %d: answered %d %q, want %d %q", i, status, code, st.status, st.code)
		}
		got := r.out.take()
		var gotSent []sent
		for _, m := range got {
			gotSent = append(gotSent, describe(t, m))
		}
		if !equalSent(gotSent, st.sent) {
			t.Errorf("step %d: sent\n\t%v\nwant\n\t%v", i, gotSent, st.sent)
		}
		if st.check != nil && len(got) == len(st.sent) {
			st.check(t, r, got)
		}
		if s := r.state(); s != st.state {
			t.Errorf("step %d: transfer %v, want %v", i, s, st.state)
		}
	}
}

func equalSent(a, b []sent) bool {
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

// The transfer states, short.
const (
	none      ledger.State = 0
	reserved               = ledger.StateReserved
	committed              = ledger.StateCommitted
	aborted                = ledger.StateAborted
	expired                = ledger.StateExpired
)

func TestTransferRules(t *testing.T) {
	prepared := step{do: prepare("100"), status: 202, sent: []sent{forwardedPrepare}, state: reserved,
		check: func(t *testing.T, r *rig, got []*callback.Request) {
			// The prepare reaches the payee as the payer sent it.
			want := r.prepareBodyOnce(payer, payee, "100")
			if !bytes.Equal(got[0].Body, want) {
				t.Errorf("payee got body %s, want %s", got[0].Body, want)
			}
			if got[0].Kind != callback.TransferPost {
				t.Errorf("payee got kind %s, want %s", got[0].Kind, callback.TransferPost)
			}
		}}
	forwardedFulfil := sent{To: payer, From: payee, Method: put, Path: xfer, State: "COMMITTED"}
	hubCommitted := sent{To: payer, From: hub, Method: put, Path: xfer, State: "COMMITTED"}
	patch := func(state string) sent {
		return sent{To: payee, From: hub, Method: http.MethodPatch, Path: xfer, State: state}
	}

	tests := []struct {
		name  string
		steps []step
	}{
		{"prepare and fulfil COMMITTED", []step{
			prepared,
			{do: fulfil(payee, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{forwardedFulfil}, state: committed,
				check: func(t *testing.T, r *rig, got []*callback.Request) {
					// The payer gets the payee's PUT byte for byte, with
					// its headers.
					want := fulfilBody(r, goodFulfilment, "COMMITTED")
					if !bytes.Equal(got[0].Body, want) {
						t.Errorf("payer got body %s, want %s", got[0].Body, want)
					}
					if tp := got[0].Header.Get("Traceparent"); tp != "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" {
						t.Errorf("payer got traceparent %q, want the payee's", tp)
					}
					if got[0].Kind != callback.TransferPut {
						t.Errorf("payer got kind %s, want %s", got[0].Kind, callback.TransferPut)
					}
				}},
			// The payee resends: the payer has its answer already.
			{do: fulfil(payee, goodFulfilment, "COMMITTED"), status: 200, state: committed},
		}},
		{"fulfil RESERVED gets a commit notification", []step{
			prepared,
			{do: fulfil(payee, goodFulfilment, "RESERVED"), status: 200, sent: []sent{hubCommitted, patch("COMMITTED")}, state: committed,
				check: func(t *testing.T, r *rig, got []*callback.Request) {
					var b transferPut
					if err := json.Unmarshal(got[0].Body, &b); err != nil || b.Fulfilment != EncodeDigest(goodFulfilment) || b.CompletedTimestamp != DateTime(rulesT0) {
						t.Errorf("payer got %s (%v), want the fulfilment and completedTimestamp %s", got[0].Body, err, DateTime(rulesT0))
					}
				}},
			// A payee that missed the notification resends and gets it again.
			{do: fulfil(payee, goodFulfilment, "RESERVED"), status: 200, sent: []sent{patch("COMMITTED")}, state: committed},
		}},
		{"identical resend while reserved is ignored", []step{
			prepared,
			{do: prepare("100"), status: 202, state: reserved},
		}},
		{"identical resend after commit is answered with the outcome", []step{
			prepared,
			{do: fulfil(payee, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{forwardedFulfil}, state: committed},
			{do: advance(time.Second), state: committed},
			{do: prepare("100"), status: 202, sent: []sent{hubCommitted}, state: committed},
		}},
		{"identical resend after a rejection is answered with the payee's code", []step{
			prepared,
			{do: reject(payee), status: 200, sent: []sent{{To: payer, From: payee, Method: put, Path: xferErr, Code: "5100"}}, state: aborted},
			{do: prepare("100"), status: 202, sent: []sent{hubError(payer, "5100")}, state: aborted},
		}},
		{"modified resend gets 3106", []step{
			prepared,
			// Current behaviour: the 3106 goes to PUT /transfers/{ID}/error,
			// the error callback of the original transfer, which is still
			// RESERVED and may commit: the payer hears an error and then
			// COMMITTED for the same id. (The specification gives the
			// modified request no other place to be answered.)
			{do: prepare("100.01"), status: 202, sent: []sent{hubError(payer, "3106")}, state: reserved},
			// The original still completes.
			{do: fulfil(payee, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{forwardedFulfil}, state: committed},
		}},
		{"wrong fulfilment aborts, 3100 to both", []step{
			prepared,
			{do: fulfil(payee, badFulfilment, "COMMITTED"), status: 200, sent: []sent{hubError(payer, "3100"), hubError(payee, "3100")}, state: aborted},
			// The right one is too late; the payer knows already.
			{do: fulfil(payee, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{hubError(payee, "3100")}, state: aborted},
		}},
		{"wrong fulfilment with RESERVED aborts, PATCH ABORTED to the payee", []step{
			prepared,
			{do: fulfil(payee, badFulfilment, "RESERVED"), status: 200, sent: []sent{hubError(payer, "3100"), patch("ABORTED")}, state: aborted},
		}},
		{"expiry tells both 3303, a late fulfilment is told too", []step{
			prepared,
			{do: advance(lifetime - time.Millisecond), state: reserved},
			{do: advance(time.Millisecond), sent: []sent{hubError(payer, "3303"), hubError(payee, "3303")}, state: expired},
			{do: fulfil(payee, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{hubError(payee, "3303")}, state: expired},
			{do: fulfil(payee, goodFulfilment, "RESERVED"), status: 200, sent: []sent{patch("ABORTED")}, state: expired},
			// The payer's resend learns the outcome.
			{do: prepare("100"), status: 202, sent: []sent{hubError(payer, "3303")}, state: expired},
		}},
		{"fulfilment arriving with the expiry", []step{
			prepared,
			// The writer expires the transfer in the fulfilment's batch,
			// before the fulfilment: expiry notices to both, then the
			// payee told again.
			// Current behaviour: the payee gets the same 3303 twice.
			{do: after(lifetime, fulfil(payee, goodFulfilment, "COMMITTED")), status: 200,
				sent: []sent{hubError(payer, "3303"), hubError(payee, "3303"), hubError(payee, "3303")}, state: expired},
		}},
		{"prepare arriving after its own expiration", []step{
			{do: func(r *rig) (int, string) {
				body := r.prepareBodyOnce(payer, payee, "100")
				r.clk.Advance(lifetime)
				return r.call(http.MethodPost, "/transfers", payer, payee, body)
			}, status: 202, sent: []sent{hubError(payer, "3303")}, state: none},
		}},
		{"payee rejection is forwarded to the payer", []step{
			prepared,
			{do: reject(payee), status: 200, sent: []sent{{To: payer, From: payee, Method: put, Path: xferErr, Code: "5100"}}, state: aborted,
				check: func(t *testing.T, r *rig, got []*callback.Request) {
					if string(got[0].Body) != rejection || got[0].Kind != callback.TransferError {
						t.Errorf("payer got %s %s, want %s %s", got[0].Kind, got[0].Body, callback.TransferError, rejection)
					}
				}},
			// A resend of the rejection changes nothing and sends nothing.
			{do: reject(payee), status: 200, state: aborted},
			// A fulfilment after it is told how the transfer ended.
			{do: fulfil(payee, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{hubError(payee, "5100")}, state: aborted},
		}},
		{"rejection after commit is ignored", []step{
			prepared,
			{do: fulfil(payee, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{forwardedFulfil}, state: committed},
			// Current behaviour: too late to refuse, and the payee is not
			// told that the transfer committed (it hears nothing at all).
			{do: reject(payee), status: 200, state: committed},
		}},
		{"only the payee fulfils or rejects", []step{
			prepared,
			{do: fulfil(other, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{hubError(other, "3100")}, state: reserved},
			{do: fulfil(payer, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{hubError(payer, "3100")}, state: reserved},
			{do: reject(other), status: 200, sent: []sent{hubError(other, "3100")}, state: reserved},
			{do: fulfil(payee, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{forwardedFulfil}, state: committed},
		}},
		{"a stranger's wrong fulfilment does not abort", []step{
			prepared,
			{do: fulfil(other, badFulfilment, "COMMITTED"), status: 200, sent: []sent{hubError(other, "3100")}, state: reserved},
		}},
		{"payerFsp must be the source", []step{
			{do: prepareAs(other, payer, payee, "100"), status: 400, code: "3100", state: none},
		}},
		{"payeeFsp must be the destination", []step{
			{do: func(r *rig) (int, string) {
				return r.call(http.MethodPost, "/transfers", payer, other, r.prepareBodyOnce(payer, payee, "100"))
			}, status: 400, code: "3100", state: none},
		}},
		{"payer and payee the same", []step{
			{do: prepareAs(payer, payer, payer, "100"), status: 202, sent: []sent{hubError(payer, "3100")}, state: none},
		}},
		{"net debit cap exceeded", []step{
			{do: prepare("1000.01"), status: 202, sent: []sent{hubError(payer, "4200")}, state: none},
			// Up to the cap is taken.
			{do: prepare("1000"), status: 202, sent: []sent{forwardedPrepare}, state: reserved},
		}},
		// Current behaviour: a suspended source is answered 403 with 3200
		// "Generic ID not found", the code of an unknown source.
		{"suspended payer makes no new request", []step{
			{do: suspend(payer)},
			{do: prepare("100"), status: 403, code: "3200", state: none},
		}},
		{"suspended payee is sent no new transfer", []step{
			{do: suspend(payee)},
			{do: prepare("100"), status: 202, sent: []sent{hubError(payer, "3203")}, state: none},
		}},
		{"suspended payee still fulfils a transfer under way", []step{
			prepared,
			{do: suspend(payee), state: reserved},
			{do: fulfil(payee, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{forwardedFulfil}, state: committed},
		}},
		{"suspended payer still gets its outcome", []step{
			prepared,
			{do: suspend(payer), state: reserved},
			{do: fulfil(payee, goodFulfilment, "RESERVED"), status: 200, sent: []sent{hubCommitted, patch("COMMITTED")}, state: committed},
			// Current behaviour: its GET is refused, 403 with 3200 ("Generic
			// ID not found" for a participant that exists): GET is a
			// request, so a suspended payer that missed a callback cannot
			// ask for the outcome of a transfer it still has under way.
			{do: get(payer), status: 403, code: "3200", state: committed},
		}},
		{"GET /transfers/{ID} for payer and payee only", []step{
			{do: get(payer), status: 202, sent: []sent{hubError(payer, "3208")}, state: none},
			prepared,
			{do: get(other), status: 202, sent: []sent{hubError(other, "3208")}, state: reserved},
			{do: get(payer), status: 202, sent: []sent{{To: payer, From: hub, Method: put, Path: xfer, State: "RESERVED"}}, state: reserved},
			{do: fulfil(payee, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{forwardedFulfil}, state: committed},
			{do: get(payee), status: 202, sent: []sent{{To: payee, From: hub, Method: put, Path: xfer, State: "COMMITTED"}}, state: committed},
			{do: get(other), status: 202, sent: []sent{hubError(other, "3208")}, state: committed},
		}},
		{"GET of an expired transfer says ABORTED", []step{
			prepared,
			{do: advance(lifetime), sent: []sent{hubError(payer, "3303"), hubError(payee, "3303")}, state: expired},
			{do: get(payer), status: 202, sent: []sent{{To: payer, From: hub, Method: put, Path: xfer, State: "ABORTED"}}, state: expired},
		}},
		{"undelivered prepare aborts, 1001 to the payer", []step{
			prepared,
			{do: undelivered(), sent: []sent{hubError(payer, "1001")}, state: aborted},
			// A late answer from the payee learns the transfer is aborted.
			// Current behaviour: with the abort's code, 1001 "Destination
			// communication error", the payee being that destination.
			{do: fulfil(payee, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{hubError(payee, "1001")}, state: aborted},
			// So does the payer's resend.
			{do: prepare("100"), status: 202, sent: []sent{hubError(payer, "1001")}, state: aborted},
			// Reported again (another failure record): nothing more.
			{do: undelivered(), state: aborted},
		}},
		{"a payer of version 1.0", []step{
			{do: in(Version{1, 0}, prepare("100")), status: 202, sent: []sent{forwardedPrepare}, state: reserved},
			// Current behaviour: the hub's own PUT /transfers/{ID} to the
			// payer is written in the latest version (1.1), not in the 1.0
			// its Accept header asked for: the version a payer negotiated is
			// not kept with the transfer. The same holds for the expiry
			// notices, the 3100 of a wrong fulfilment and the 1001 of an
			// undelivered prepare. A resend (answered in its own request's
			// version) is right.
			{do: fulfil(payee, goodFulfilment, "RESERVED"), status: 200, sent: []sent{hubCommitted, patch("COMMITTED")}, state: committed,
				check: func(t *testing.T, r *rig, got []*callback.Request) {
					if ct, want := got[0].Header.Get("Content-Type"), MediaType("transfers", Version{1, 1}); ct != want {
						t.Errorf("payer got Content-Type %q, want %q", ct, want)
					}
				}},
			{do: in(Version{1, 0}, prepare("100")), status: 202, sent: []sent{hubCommitted}, state: committed,
				check: func(t *testing.T, r *rig, got []*callback.Request) {
					if ct, want := got[0].Header.Get("Content-Type"), MediaType("transfers", Version{1, 0}); ct != want {
						t.Errorf("payer got Content-Type %q, want %q", ct, want)
					}
				}},
		}},
		{"undelivered prepare after the payee answered changes nothing", []step{
			prepared,
			{do: fulfil(payee, goodFulfilment, "COMMITTED"), status: 200, sent: []sent{forwardedFulfil}, state: committed},
			{do: undelivered(), state: committed},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runSteps(t, tt.steps)
		})
	}
}

// TestUnstoredMessagesRefuse: once the outbox could not store a message, no
// request is answered as taken (a sender resends it later), whatever it was.
func TestUnstoredMessagesRefuse(t *testing.T) {
	r := newRig(t)
	r.out.mu.Lock()
	r.out.err = errors.New("disk unplugged")
	r.out.mu.Unlock()
	if status, code := r.call(http.MethodGet, "/transfers/"+tid, payer, "", nil); status != http.StatusServiceUnavailable || code != "2003" {
		t.Errorf("GET /transfers answered %d %s, want 503 2003", status, code)
	}
	if status, code := r.call(http.MethodPost, "/transfers", payer, payee, r.prepareBody(payer, payee, "100")); status != http.StatusServiceUnavailable || code != "2003" {
		t.Errorf("POST /transfers answered %d %s, want 503 2003", status, code)
	}
}

// TestMaxBodyBound: a body limit no outbox record could hold is refused.
func TestMaxBodyBound(t *testing.T) {
	st, err := pebble.Open(t.TempDir(), pebble.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20, Logger: rulesLog})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := newRig(t)
	o := Options{Writer: r.w, Directory: directory.New(st.KV(), r.clk), Outbox: r.out, KV: st.KV(), Clock: r.clk, Logger: rulesLog}
	o.MaxBody = maxMaxBody + 1
	if _, err := New(o); err == nil {
		t.Errorf("New with MaxBody %d succeeded, want refused", o.MaxBody)
	}
	o.MaxBody = maxMaxBody
	s, err := New(o)
	if err != nil {
		t.Fatalf("New with MaxBody %d: %v", o.MaxBody, err)
	}
	s.Close()
}
