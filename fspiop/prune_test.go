package fspiop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/pebble"
	"github.com/valyala/fasthttp"
)

func TestPrune(t *testing.T) {
	st, err := pebble.Open(t.TempDir(), pebble.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	s := &Server{kv: st.KV(), clk: clk, locks: newLocks(), retention: time.Hour}
	call := func(source, id string) *call {
		return &call{ctx: ctx, rc: new(fasthttp.RequestCtx), source: source, dest: "payer", body: []byte(`{"id":"` + id + `"}`)}
	}
	open := func(prefix, id string) {
		t.Helper()
		if old, e := s.openExchange(call("payer", id), prefix, id, "payee"); e != nil || old != nil {
			t.Fatalf("open %s%s: %v, %v", prefix, id, old, e)
		}
	}
	exists := func(prefix, id string) bool {
		t.Helper()
		_, err := loadExchange(ctx, s.kv, prefix, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	indexed := func() int {
		t.Helper()
		n := 0
		if err := s.kv.Scan(ctx, []byte(prefixMade), 0, func(_, _ []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// More old quotes than one prune batch, one of them answered.
	const old = pruneBatch*2 + 17
	for i := range old {
		open(prefixQuote, fmt.Sprintf("old-%04d", i))
	}
	if to, e := s.answerExchange(call("payee", "old-0001"), prefixQuote, "old-0001", exchangeAnswered); e != nil || to != "payer" {
		t.Fatalf("answer: %q, %v", to, e)
	}
	clk.Advance(30 * time.Minute)
	open(prefixQuote, "new-quote")
	open(prefixTransactionRequest, "new-request")
	// A resend is found, not recorded again.
	if old, e := s.openExchange(call("payer", "old-0002"), prefixQuote, "old-0002", "payee"); e != nil || old == nil {
		t.Fatalf("resend: %v, %v; want the earlier record", old, e)
	}
	if n := indexed(); n != old+2 {
		t.Fatalf("%d records indexed, want %d", n, old+2)
	}

	// An hour after the old ones: only they go.
	clk.Advance(30*time.Minute + time.Nanosecond)
	n, err := s.prune(ctx)
	if err != nil || n != old {
		t.Fatalf("prune = %d, %v; want %d", n, err, old)
	}
	for _, id := range []string{"old-0000", "old-0001", "old-0002", fmt.Sprintf("old-%04d", old-1)} {
		if exists(prefixQuote, id) {
			t.Errorf("quote %s kept after the retention", id)
		}
	}
	if !exists(prefixQuote, "new-quote") || !exists(prefixTransactionRequest, "new-request") {
		t.Error("records within the retention dropped")
	}
	if n := indexed(); n != 2 {
		t.Errorf("%d index keys left, want 2", n)
	}
	if got := s.Stats().Pruned; got != old {
		t.Errorf("Stats().Pruned = %d, want %d", got, old)
	}

	// An answer to a dropped request goes where the answer says, and does
	// not write the record back; the same id can be used again.
	if to, e := s.answerExchange(call("payee", "old-0000"), prefixQuote, "old-0000", exchangeAnswered); e != nil || to != "payer" {
		t.Errorf("answer to a dropped quote: %q, %v; want routed to its FSPIOP-Destination", to, e)
	}
	if exists(prefixQuote, "old-0000") {
		t.Error("an answer wrote a dropped record back")
	}
	open(prefixQuote, "old-0003")

	// Nothing more is due until the rest are an hour old.
	if n, err := s.prune(ctx); err != nil || n != 0 {
		t.Errorf("second prune = %d, %v; want 0", n, err)
	}
	clk.Advance(time.Hour + time.Nanosecond)
	if n, err := s.prune(ctx); err != nil || n != 3 {
		t.Errorf("last prune = %d, %v; want 3", n, err)
	}
	if n := indexed(); n != 0 {
		t.Errorf("%d index keys left, want none", n)
	}
}

func TestLockAll(t *testing.T) {
	l := newLocks()
	keys := []string{"a", "b", "c", "a"}
	unlock := l.lockAll(keys)
	for _, k := range keys {
		if m := l.muOf(k); m.TryLock() {
			t.Errorf("lock of %q free while lockAll holds it", k)
			m.Unlock()
		}
	}
	unlock()
	for _, k := range keys {
		l.lock(k)()
	}
}

// TestPruneStops: a prune whose context has ended drops no further batch,
// so that Close does not wait for a backlog to be gone.
func TestPruneStops(t *testing.T) {
	st, err := pebble.Open(t.TempDir(), pebble.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	s := &Server{kv: st.KV(), clk: clk, locks: newLocks(), retention: time.Hour}
	for i := range 3 {
		id := fmt.Sprintf("q-%d", i)
		c := &call{ctx: context.Background(), rc: new(fasthttp.RequestCtx), source: "payer", dest: "payee", body: []byte(`{"id":"` + id + `"}`)}
		if old, e := s.openExchange(c, prefixQuote, id, "payee"); e != nil || old != nil {
			t.Fatalf("open %s: %v, %v", id, old, e)
		}
	}
	clk.Advance(2 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := s.prune(ctx); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("prune after its context ended = %d, %v; want 0, %v", n, err, context.Canceled)
	}
	if _, err := loadExchange(context.Background(), s.kv, prefixQuote, "q-0"); err != nil {
		t.Errorf("record dropped by a prune whose context had ended: %v", err)
	}
	if n, err := s.prune(context.Background()); n != 3 || err != nil {
		t.Errorf("prune = %d, %v; want 3", n, err)
	}
}
