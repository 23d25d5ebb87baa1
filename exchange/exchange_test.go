package exchange_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/exchange"
	"github.com/hutong/hutong/store"
	storekv "github.com/hutong/hutong/store/kv"
)

var t0 = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

const retention = time.Hour

// open returns records in kv on a fake clock at t0, kept for an hour,
// whose background pruning never runs during a test: the tests prune by
// hand.
func open(tb testing.TB, kv storekv.Space, cfg exchange.Config) (*exchange.Records, *clock.Fake) {
	tb.Helper()
	clk := clock.NewFake(t0)
	if cfg.Retention == 0 {
		cfg.Retention = retention
	}
	if cfg.PruneEvery == 0 {
		cfg.PruneEvery = 24 * time.Hour
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	r, err := exchange.Open(kv, clk, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.Close)
	return r, clk
}

func request(requester, responder, body string) exchange.Request {
	return exchange.Request{Requester: requester, Responder: responder, Fingerprint: sha256.Sum256([]byte(body))}
}

func reply(responder, body string, failed bool) exchange.Reply {
	return exchange.Reply{Responder: responder, Failed: failed,
		Header: map[string][]string{"Content-Type": {"application/json"}, "X-Sig": {body}}, Body: []byte(body)}
}

// step is one operation on the records and what it must give.
type step struct {
	op   string // begin, answer, fail, get, advance, prune
	ns   exchange.Namespace
	id   string
	who  string // begin: the requester; answer, fail: the responder
	body string // begin: the content; answer, fail: the answer's body
	d    time.Duration

	out   exchange.Outcome // begin
	err   error            // begin, answer, fail, get
	to    string           // answer, fail: the requester returned
	state exchange.State   // begin (not New), get: the record's state
	got   string           // begin (not New), get: the record's answer body
	n     int              // prune: records dropped
}

func TestRecords(t *testing.T) {
	const q, tr = exchange.Quotes, exchange.TransactionRequests
	tests := []struct {
		name  string
		steps []step
	}{
		{"new request", []step{
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "get", ns: q, id: "1", state: exchange.Pending},
		}},
		{"identical resend while pending", []step{
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "advance", d: time.Minute},
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.ResendPending, state: exchange.Pending},
		}},
		{"identical resend after the answer", []step{
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "answer", ns: q, id: "1", who: "payee", body: "quote", to: "payer"},
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.ResendAnswered, state: exchange.Answered, got: "quote"},
			{op: "get", ns: q, id: "1", state: exchange.Answered, got: "quote"},
		}},
		{"identical resend after a failure", []step{
			{op: "begin", ns: tr, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "fail", ns: tr, id: "1", who: "payee", body: "3204", to: "payer"},
			{op: "begin", ns: tr, id: "1", who: "payer", body: "a", out: exchange.ResendAnswered, state: exchange.Failed, got: "3204"},
		}},
		{"modified resend", []step{
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "begin", ns: q, id: "1", who: "payer", body: "b", out: exchange.Modified, state: exchange.Pending},
			// The record is the first request's: its answer is routed and
			// its resend recognised.
			{op: "answer", ns: q, id: "1", who: "payee", body: "quote", to: "payer"},
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.ResendAnswered, state: exchange.Answered, got: "quote"},
			{op: "begin", ns: q, id: "1", who: "payer", body: "b", out: exchange.Modified, state: exchange.Answered, got: "quote"},
		}},
		{"same id from another requester", []step{
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "begin", ns: q, id: "1", who: "thief", body: "a", out: exchange.Modified, state: exchange.Pending},
		}},
		{"same id in the other namespace", []step{
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "begin", ns: tr, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "answer", ns: tr, id: "1", who: "payee", body: "tr", to: "payer"},
			{op: "get", ns: q, id: "1", state: exchange.Pending},
		}},
		{"answer for an unknown id", []step{
			{op: "answer", ns: q, id: "1", who: "payee", body: "quote", err: exchange.ErrNotFound},
			{op: "fail", ns: tr, id: "1", who: "payee", body: "3100", err: exchange.ErrNotFound},
			{op: "get", ns: q, id: "1", err: exchange.ErrNotFound},
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.New},
		}},
		{"answer from another participant", []step{
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "answer", ns: q, id: "1", who: "other", body: "forged", err: exchange.ErrWrongResponder},
			{op: "get", ns: q, id: "1", state: exchange.Pending},
			{op: "answer", ns: q, id: "1", who: "payee", body: "quote", to: "payer"},
			{op: "answer", ns: q, id: "1", who: "other", body: "forged", err: exchange.ErrWrongResponder},
			{op: "get", ns: q, id: "1", state: exchange.Answered, got: "quote"},
		}},
		{"failure after the answer", []step{
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "answer", ns: q, id: "1", who: "payee", body: "quote", to: "payer"},
			{op: "fail", ns: q, id: "1", who: "payee", body: "5000", err: exchange.ErrAnswered},
			{op: "get", ns: q, id: "1", state: exchange.Answered, got: "quote"},
		}},
		{"a later answer replaces the earlier", []step{
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "fail", ns: q, id: "1", who: "payee", body: "5000", to: "payer"},
			{op: "answer", ns: q, id: "1", who: "payee", body: "quote", to: "payer"},
			{op: "answer", ns: q, id: "1", who: "payee", body: "quote 2", to: "payer"},
			{op: "get", ns: q, id: "1", state: exchange.Answered, got: "quote 2"},
		}},
		{"kept for the retention, then dropped", []step{
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "answer", ns: q, id: "1", who: "payee", body: "quote", to: "payer"},
			{op: "advance", d: retention},
			{op: "prune", n: 0},
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.ResendAnswered, state: exchange.Answered, got: "quote"},
			{op: "advance", d: time.Nanosecond},
			{op: "prune", n: 1},
			{op: "get", ns: q, id: "1", err: exchange.ErrNotFound},
			{op: "begin", ns: q, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "get", ns: q, id: "1", state: exchange.Pending},
		}},
		{"answer after the record was dropped", []step{
			{op: "begin", ns: tr, id: "1", who: "payer", body: "a", out: exchange.New},
			{op: "advance", d: retention + time.Nanosecond},
			{op: "prune", n: 1},
			{op: "answer", ns: tr, id: "1", who: "payee", body: "ACCEPTED", err: exchange.ErrNotFound},
			{op: "get", ns: tr, id: "1", err: exchange.ErrNotFound},
			{op: "prune", n: 0},
		}},
	}
	for _, kv := range backends {
		for _, tt := range tests {
			t.Run(kv.name+"/"+tt.name, func(t *testing.T) {
				r, clk := open(t, kv.open(t), exchange.Config{})
				ctx := context.Background()
				for i, s := range tt.steps {
					where := fmt.Sprintf("step %d (%s %v %s)", i, s.op, s.ns, s.id)
					switch s.op {
					case "begin":
						out, rec, err := r.Begin(ctx, s.ns, s.id, request(s.who, "payee", s.body))
						if err != nil || out != s.out {
							t.Fatalf("%s: Begin = %v, %v; want %v", where, out, err, s.out)
						}
						if out == exchange.New {
							if rec != nil {
								t.Errorf("%s: Begin returned a record for a new request", where)
							}
							continue
						}
						checkRecord(t, where, rec, s)
					case "answer", "fail":
						to, err := r.Answer(ctx, s.ns, s.id, reply(s.who, s.body, s.op == "fail"))
						if to != s.to || !errors.Is(err, s.err) {
							t.Fatalf("%s: Answer = %q, %v; want %q, %v", where, to, err, s.to, s.err)
						}
					case "get":
						rec, err := r.Get(ctx, s.ns, s.id)
						if !errors.Is(err, s.err) {
							t.Fatalf("%s: Get: %v, want %v", where, err, s.err)
						}
						if err == nil {
							checkRecord(t, where, rec, s)
						}
					case "advance":
						clk.Advance(s.d)
					case "prune":
						if n, err := r.Prune(ctx); n != s.n || err != nil {
							t.Fatalf("%s: Prune = %d, %v; want %d", where, n, err, s.n)
						}
					default:
						t.Fatalf("%s: unknown op", where)
					}
				}
			})
		}
	}
}

// checkRecord checks a record found for step s: made by the requester of
// the scenario's first request, in the state s names, holding s's answer.
func checkRecord(t *testing.T, where string, rec *exchange.Record, s step) {
	t.Helper()
	if rec == nil {
		t.Fatalf("%s: no record", where)
	}
	if rec.State != s.state {
		t.Errorf("%s: state %d, want %d", where, rec.State, s.state)
	}
	if got := string(rec.Body); got != s.got {
		t.Errorf("%s: answer body %q, want %q", where, got, s.got)
	}
	if s.got != "" && !reflect.DeepEqual(rec.Header, reply("", s.got, false).Header) {
		t.Errorf("%s: answer header %v, want the answer's", where, rec.Header)
	}
	if s.got == "" && rec.Header != nil {
		t.Errorf("%s: answer header %v on a pending record", where, rec.Header)
	}
	if rec.Responder != "payee" || rec.Made.IsZero() || rec.Made.Location() != time.UTC {
		t.Errorf("%s: record %+v: want responder payee and a UTC time", where, rec)
	}
}

// TestRecordFields: a record holds what its request and answer said, and
// when it was made by the clock passed in.
func TestRecordFields(t *testing.T) {
	r, clk := open(t, newMemKV(), exchange.Config{})
	ctx := context.Background()
	clk.Advance(90 * time.Second)
	q := request("payer", "payee", `{"quoteId":"1"}`)
	if out, _, err := r.Begin(ctx, exchange.Quotes, "1", q); out != exchange.New || err != nil {
		t.Fatalf("Begin = %v, %v", out, err)
	}
	got, err := r.Get(ctx, exchange.Quotes, "1")
	if err != nil {
		t.Fatal(err)
	}
	want := &exchange.Record{Requester: "payer", Responder: "payee", Fingerprint: q.Fingerprint, State: exchange.Pending, Made: t0.Add(90 * time.Second)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Get =\n %+v\nwant\n %+v", got, want)
	}
	if st := r.Stats(); st.Recorded != 1 || st.Cached != 1 {
		t.Errorf("Stats = %+v; want 1 recorded, 1 cached", st)
	}
	if _, err := r.Answer(ctx, exchange.Quotes, "1", reply("payee", "x", false)); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Answered != 1 || st.Cached != 0 {
		t.Errorf("Stats = %+v; want 1 answered, none cached", st)
	}
}

// TestPrune drops, across several batches, exactly the records past the
// retention, index keys included, and nothing else.
func TestPrune(t *testing.T) {
	const batch = 8
	for _, kv := range backends {
		t.Run(kv.name, func(t *testing.T) {
			kvs := kv.open(t)
			r, clk := open(t, kvs, exchange.Config{PruneBatch: batch})
			ctx := context.Background()
			begin := func(ns exchange.Namespace, id string, want exchange.Outcome) {
				t.Helper()
				if out, _, err := r.Begin(ctx, ns, id, request("payer", "payee", id)); out != want || err != nil {
					t.Fatalf("Begin %v %s = %v, %v; want %v", ns, id, out, err, want)
				}
			}
			exists := func(ns exchange.Namespace, id string) bool {
				t.Helper()
				_, err := r.Get(ctx, ns, id)
				if err != nil && !errors.Is(err, exchange.ErrNotFound) {
					t.Fatal(err)
				}
				return err == nil
			}
			indexed := func() int {
				t.Helper()
				n := 0
				if err := kvs.Scan(ctx, []byte(exchange.PrefixIndex), 0, func(_, _ []byte) error { n++; return nil }); err != nil {
					t.Fatal(err)
				}
				return n
			}

			// More old quotes than two batches, one of them answered.
			const old = batch*2 + 3
			for i := range old {
				begin(exchange.Quotes, fmt.Sprintf("old-%02d", i), exchange.New)
			}
			if to, err := r.Answer(ctx, exchange.Quotes, "old-01", reply("payee", "q", false)); to != "payer" || err != nil {
				t.Fatalf("Answer = %q, %v", to, err)
			}
			clk.Advance(retention / 2)
			begin(exchange.Quotes, "new-quote", exchange.New)
			begin(exchange.TransactionRequests, "new-request", exchange.New)
			begin(exchange.Quotes, "old-02", exchange.ResendPending) // found, not recorded again
			if n := indexed(); n != old+2 {
				t.Fatalf("%d records indexed, want %d", n, old+2)
			}

			clk.Advance(retention/2 + time.Nanosecond)
			if n, err := r.Prune(ctx); n != old || err != nil {
				t.Fatalf("Prune = %d, %v; want %d", n, err, old)
			}
			for i := range old {
				if id := fmt.Sprintf("old-%02d", i); exists(exchange.Quotes, id) {
					t.Errorf("quote %s kept after the retention", id)
				}
			}
			if !exists(exchange.Quotes, "new-quote") || !exists(exchange.TransactionRequests, "new-request") {
				t.Error("records within the retention dropped")
			}
			if n := indexed(); n != 2 {
				t.Errorf("%d index keys left, want 2", n)
			}
			if st := r.Stats(); st.Pruned != old || st.Cached != 2 {
				t.Errorf("Stats = %+v; want %d pruned, 2 cached", st, old)
			}

			if n, err := r.Prune(ctx); n != 0 || err != nil {
				t.Errorf("second Prune = %d, %v; want 0", n, err)
			}
			begin(exchange.Quotes, "old-03", exchange.New)
			clk.Advance(retention + time.Nanosecond)
			if n, err := r.Prune(ctx); n != 3 || err != nil {
				t.Errorf("last Prune = %d, %v; want 3", n, err)
			}
			if n := indexed(); n != 0 {
				t.Errorf("%d index keys left, want none", n)
			}
			if st := r.Stats(); st.Cached != 0 {
				t.Errorf("%d pruned records still cached", st.Cached)
			}
		})
	}
}

// TestPruneOrder: a pass drops the oldest records first, whatever their
// ids and namespaces, and stops at the first one not yet due.
func TestPruneOrder(t *testing.T) {
	kv := &deletes{Space: newMemKV()}
	r, clk := open(t, kv, exchange.Config{PruneBatch: 1})
	ctx := context.Background()
	made := []struct {
		ns exchange.Namespace
		id string
	}{
		{exchange.TransactionRequests, "c"},
		{exchange.Quotes, "z"},
		{exchange.Quotes, "a"},
		{exchange.TransactionRequests, "b"},
	}
	for _, m := range made {
		if out, _, err := r.Begin(ctx, m.ns, m.id, request("payer", "payee", m.id)); out != exchange.New || err != nil {
			t.Fatalf("Begin %s = %v, %v", m.id, out, err)
		}
		clk.Advance(time.Minute)
	}
	kv.take()
	// Now the first was made four minutes ago, the last one minute ago:
	// with a retention of an hour, the first three are due 3 min 1 ns later.
	clk.Advance(retention - 2*time.Minute + time.Nanosecond)
	if n, err := r.Prune(ctx); n != 3 || err != nil {
		t.Fatalf("Prune = %d, %v; want 3", n, err)
	}
	if got, want := kv.take(), []string{"tr/c", "q/z", "q/a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("dropped %q, want %q", got, want)
	}
	clk.Advance(time.Minute)
	if n, err := r.Prune(ctx); n != 1 || err != nil {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	if got, want := kv.take(), []string{"tr/b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("dropped %q, want %q", got, want)
	}
}

// TestPruneStops: a prune whose context has ended drops no further batch,
// so that Close does not wait for a backlog to be gone.
func TestPruneStops(t *testing.T) {
	for _, kv := range backends {
		t.Run(kv.name, func(t *testing.T) {
			r, clk := open(t, kv.open(t), exchange.Config{})
			for i := range 3 {
				id := fmt.Sprintf("q-%d", i)
				if out, _, err := r.Begin(context.Background(), exchange.Quotes, id, request("payer", "payee", id)); out != exchange.New || err != nil {
					t.Fatalf("Begin %s = %v, %v", id, out, err)
				}
			}
			clk.Advance(2 * retention)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if n, err := r.Prune(ctx); n != 0 || !errors.Is(err, context.Canceled) {
				t.Errorf("Prune after its context ended = %d, %v; want 0, %v", n, err, context.Canceled)
			}
			if _, err := r.Get(context.Background(), exchange.Quotes, "q-0"); err != nil {
				t.Errorf("record dropped by a prune whose context had ended: %v", err)
			}
			if n, err := r.Prune(context.Background()); n != 3 || err != nil {
				t.Errorf("Prune = %d, %v; want 3", n, err)
			}
		})
	}
}

// TestCloseStopsLongPrune: Close cuts the background pass short between
// two batches instead of waiting for the backlog.
func TestCloseStopsLongPrune(t *testing.T) {
	const batch, records = 2, 10
	kv := &stallingKV{Space: newMemKV(), n: 1, stalled: make(chan struct{})}
	clk := clock.NewFake(t0)
	r, err := exchange.Open(kv, clk, exchange.Config{Retention: retention, PruneEvery: time.Millisecond, PruneBatch: batch, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	for i := range records {
		id := fmt.Sprint(i)
		if out, _, err := r.Begin(ctx, exchange.Quotes, id, request("payer", "payee", id)); out != exchange.New || err != nil {
			t.Fatalf("Begin %s = %v, %v", id, out, err)
		}
	}
	clk.Advance(2 * retention)
	select {
	case <-kv.stalled:
	case <-time.After(10 * time.Second):
		t.Fatal("the background pass never reached its second batch")
	}
	closed := make(chan struct{})
	go func() { r.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for the backlog")
	}
	if got := r.Stats().Pruned; got != batch {
		t.Errorf("%d records pruned, want the first batch of %d", got, batch)
	}
	left := 0
	for i := range records {
		if _, err := r.Get(ctx, exchange.Quotes, fmt.Sprint(i)); err == nil {
			left++
		}
	}
	if left != records-batch {
		t.Errorf("%d records left, want %d", left, records-batch)
	}
	r.Close() // again: returns at once
}

// TestConcurrent: copies of one request arriving together are recorded
// once; answers and a prune running alongside leave every record either
// gone (past the retention) or whole.
func TestConcurrent(t *testing.T) {
	const ids, copies = 16, 32
	r, clk := open(t, slowReads{newMemKV()}, exchange.Config{PruneBatch: 4})
	ctx := context.Background()
	var news [ids]int
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range ids {
		for range copies {
			wg.Go(func() {
				<-start
				id := fmt.Sprint(i)
				out, _, err := r.Begin(ctx, exchange.Quotes, id, request("payer", "payee", id))
				if err != nil || (out != exchange.New && out != exchange.ResendPending) {
					t.Errorf("Begin %s = %v, %v", id, out, err)
				}
				if out == exchange.New {
					mu.Lock()
					news[i]++
					mu.Unlock()
				}
			})
		}
	}
	close(start)
	wg.Wait()
	for i, n := range news {
		if n != 1 {
			t.Errorf("id %d: %d copies taken as new, want 1", i, n)
		}
	}
	if st := r.Stats(); st.Recorded != ids || st.Resent != ids*(copies-1) {
		t.Errorf("Stats = %+v; want %d recorded, %d resent", st, ids, ids*(copies-1))
	}

	// Past the retention, the old ones are answered while a prune drops
	// them and new ones are made.
	clk.Advance(retention + time.Nanosecond)
	wg.Go(func() {
		if _, err := r.Prune(ctx); err != nil {
			t.Errorf("Prune: %v", err)
		}
	})
	for i := range ids {
		wg.Go(func() {
			to, err := r.Answer(ctx, exchange.Quotes, fmt.Sprint(i), reply("payee", "q", false))
			if !(to == "payer" && err == nil) && !(to == "" && errors.Is(err, exchange.ErrNotFound)) {
				t.Errorf("Answer %d = %q, %v; want payer, or not found once dropped", i, to, err)
			}
		})
		wg.Go(func() {
			id := fmt.Sprint(i)
			if out, _, err := r.Begin(ctx, exchange.TransactionRequests, id, request("payer", "payee", id)); out != exchange.New || err != nil {
				t.Errorf("Begin new %s = %v, %v", id, out, err)
			}
		})
	}
	wg.Wait()
	for i := range ids {
		if _, err := r.Get(ctx, exchange.Quotes, fmt.Sprint(i)); !errors.Is(err, exchange.ErrNotFound) {
			t.Errorf("quote %d after the prune: %v, want not found", i, err)
		}
		if rec, err := r.Get(ctx, exchange.TransactionRequests, fmt.Sprint(i)); err != nil || rec.State != exchange.Pending {
			t.Errorf("new request %d: %+v, %v; want it pending", i, rec, err)
		}
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*exchange.Config)
		want string // in the error; "" for none
	}{
		{"default", func(*exchange.Config) {}, ""},
		{"retention of a minute", func(c *exchange.Config) { c.Retention = exchange.MinRetention }, ""},
		{"retention under a minute", func(c *exchange.Config) { c.Retention = 30 * time.Second }, "less than a minute"},
		{"negative retention", func(c *exchange.Config) { c.Retention = -time.Hour }, "less than a minute"},
		{"no pruning interval", func(c *exchange.Config) { c.PruneEvery = 0 }, "PruneEvery"},
		{"no prune batch", func(c *exchange.Config) { c.PruneBatch = 0 }, "PruneBatch"},
		{"no cache", func(c *exchange.Config) { c.CacheSize = -1 }, "CacheSize"},
		{"no logger", func(c *exchange.Config) { c.Logger = nil }, "Logger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := exchange.DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	// Open takes zero fields as the defaults and refuses the rest.
	r, err := exchange.Open(newMemKV(), nil, exchange.Config{})
	if err != nil {
		t.Fatalf("Open with a zero Config: %v", err)
	}
	r.Close()
	if _, err := exchange.Open(newMemKV(), nil, exchange.Config{Retention: time.Second}); err == nil {
		t.Error("Open with a retention of a second: no error")
	}
	if _, err := exchange.Open(nil, nil, exchange.Config{}); err == nil {
		t.Error("Open without a KV: no error")
	}
}

// TestBadInput: an unknown namespace or an unusable id is refused, and a
// record that does not decode is corrupt, not missing.
func TestBadInput(t *testing.T) {
	kv := newMemKV()
	r, _ := open(t, kv, exchange.Config{})
	ctx := context.Background()
	if _, _, err := r.Begin(ctx, 0, "1", request("payer", "payee", "a")); err == nil {
		t.Error("Begin in namespace 0: no error")
	}
	if _, _, err := r.Begin(ctx, exchange.Quotes, "", request("payer", "payee", "a")); err == nil {
		t.Error("Begin with an empty id: no error")
	}
	if _, _, err := r.Begin(ctx, exchange.Quotes, strings.Repeat("x", storekv.MaxKey), request("payer", "payee", "a")); err == nil {
		t.Error("Begin with an id longer than a key: no error")
	}
	var b storekv.Batch
	b.Set([]byte("q/bad"), []byte{1, 2})
	if err := kv.Apply(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Begin(ctx, exchange.Quotes, "bad", request("payer", "payee", "a")); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Begin over a corrupt record: %v, want %v", err, store.ErrCorrupt)
	}
	if _, err := r.Answer(ctx, exchange.Quotes, "bad", reply("payee", "q", false)); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Answer to a corrupt record: %v, want %v", err, store.ErrCorrupt)
	}
	if _, err := r.Get(ctx, exchange.Quotes, "bad"); !errors.Is(err, store.ErrCorrupt) || errors.Is(err, exchange.ErrNotFound) {
		t.Errorf("Get of a corrupt record: %v, want %v", err, store.ErrCorrupt)
	}
}

// BenchmarkExchange measures the hot path: a request recorded, its
// answer recorded, and a resend looked up.
func BenchmarkExchange(b *testing.B) {
	for _, kv := range backends {
		b.Run(kv.name, func(b *testing.B) {
			r, _ := open(b, kv.open(b), exchange.Config{})
			ctx := context.Background()
			ids := make([]string, b.N)
			for i := range ids {
				ids[i] = fmt.Sprintf("0198f3a2-7c4e-7d1a-9b2c-%012d", i)
			}
			q := request("payer-fsp", "payee-fsp", `{"quoteId":"..."}`)
			a := reply("payee-fsp", `{"transferAmount":{"amount":"100","currency":"USD"},"ilpPacket":"..."}`, false)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if out, _, err := r.Begin(ctx, exchange.Quotes, ids[i], q); out != exchange.New || err != nil {
					b.Fatal(out, err)
				}
				if _, err := r.Answer(ctx, exchange.Quotes, ids[i], a); err != nil {
					b.Fatal(err)
				}
				if out, _, err := r.Begin(ctx, exchange.Quotes, ids[i], q); out != exchange.ResendAnswered || err != nil {
					b.Fatal(out, err)
				}
			}
		})
	}
}
