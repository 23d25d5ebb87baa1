package liquidity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/internal/testseed"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/kv"
	"github.com/hutong/hutong/store/pebble"
)

var (
	quiet = slog.New(slog.DiscardHandler)
	t0    = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

// openKV opens a Pebble store in dir and returns its KV and a function that
// closes it (also called at cleanup, once).
func openKV(t testing.TB, dir string) (kv.Space, func()) {
	t.Helper()
	st, err := pebble.Open(dir, pebble.Options{Logger: quiet, CacheSize: 8 << 20, MemTableSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	closeFn := func() {
		if closed {
			return
		}
		closed = true
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	}
	t.Cleanup(closeFn)
	return st.KV(), closeFn
}

// recorder is a Sender that keeps what it is sent. With gate set, each Send
// first signals entered and waits for gate to close.
type recorder struct {
	gate    chan struct{}
	entered chan struct{}

	mu   sync.Mutex
	reqs []*callback.Request
}

func (r *recorder) Send(req *callback.Request) {
	if r.gate != nil {
		r.entered <- struct{}{}
		<-r.gate
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
}

func (r *recorder) sent() []*callback.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// open starts a Monitor on kv with a fake clock at t0 unless cfg has one,
// closed at cleanup.
func open(t testing.TB, cfg Config, kv kv.Space, s Sender) *Monitor {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = clock.NewFake(t0)
	}
	cfg.Logger = quiet
	m, err := Open(context.Background(), cfg, kv, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("close monitor: %v", err)
		}
	})
	return m
}

func pos(participant, currency string, balance, reserved, ndc int64) ledger.Position {
	return ledger.Position{Participant: participant, Currency: currency, Balance: balance, Reserved: reserved, NDC: ndc}
}

// observe hands ps to m and waits until they are examined.
func observe(t testing.TB, m *Monitor, ps ...ledger.Position) {
	t.Helper()
	m.Observe(ps)
	if err := m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// describe is the part of an alert the tables check.
func describe(a *Alert) string {
	return fmt.Sprintf("%s %s %s %d level %d", a.Participant, a.Currency, a.Kind, a.Threshold, a.Level)
}

func describeLevels(ls []Level) []string {
	out := []string{}
	for _, l := range ls {
		out = append(out, fmt.Sprintf("%s %s %d", l.Participant, l.Currency, l.Threshold))
	}
	return out
}

// newAlerts returns the alerts recorded since the first n, oldest first.
func newAlerts(t testing.TB, m *Monitor, n int) []Alert {
	t.Helper()
	all, err := m.List(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	got := all[:len(all)-n]
	slices.Reverse(got)
	return got
}

func TestCrossings(t *testing.T) {
	type step struct {
		name   string
		ps     []ledger.Position
		want   []string // the alerts made, oldest first
		levels []string
	}
	p := func(balance, reserved, ndc int64) ledger.Position { return pos("dfsp1", "USD", balance, reserved, ndc) }
	tests := []struct {
		name       string
		thresholds []int
		steps      []step
	}{
		{"default thresholds", nil, []step{
			{"nothing used", []ledger.Position{p(0, 0, 1000)}, nil, nil},
			{"just below 80", []ledger.Position{p(790, 9, 1000)}, nil, nil},
			{"exactly 80 with reserved", []ledger.Position{p(790, 10, 1000)}, []string{"dfsp1 USD RAISED 80 level 80"}, []string{"dfsp1 USD 80"}},
			{"still 80", []ledger.Position{p(949, 0, 1000)}, nil, []string{"dfsp1 USD 80"}},
			{"exactly 95", []ledger.Position{p(900, 50, 1000)}, []string{"dfsp1 USD RAISED 95 level 95"}, []string{"dfsp1 USD 95"}},
			{"at the cap", []ledger.Position{p(1000, 0, 1000)}, nil, []string{"dfsp1 USD 95"}},
			{"just below 95", []ledger.Position{p(949, 0, 1000)}, []string{"dfsp1 USD CLEARED 95 level 80"}, []string{"dfsp1 USD 80"}},
			{"95 again", []ledger.Position{p(960, 0, 1000)}, []string{"dfsp1 USD RAISED 95 level 95"}, []string{"dfsp1 USD 95"}},
			{"down past both", []ledger.Position{p(100, 0, 1000)}, []string{"dfsp1 USD CLEARED 95 level 0"}, nil},
			{"net receiver", []ledger.Position{p(-500, 0, 1000)}, nil, nil},
			{"up past both", []ledger.Position{p(-10, 1000, 1000)}, []string{"dfsp1 USD RAISED 95 level 95"}, []string{"dfsp1 USD 95"}},
			{"cap raised", []ledger.Position{p(-10, 1000, 2000)}, []string{"dfsp1 USD CLEARED 95 level 0"}, nil},
			{"cap lowered", []ledger.Position{p(-10, 1000, 1200)}, []string{"dfsp1 USD RAISED 80 level 80"}, []string{"dfsp1 USD 80"}},
			{"cap 0", []ledger.Position{p(-10, 1000, 0)}, []string{"dfsp1 USD RAISED 95 level 95"}, []string{"dfsp1 USD 95"}},
			{"cap 0 nothing used", []ledger.Position{p(0, 0, 0)}, []string{"dfsp1 USD CLEARED 95 level 0"}, nil},
			{"cap 0 negative", []ledger.Position{p(-5, 0, 0)}, nil, nil},
		}},
		{"accounts apart", nil, []step{
			{"three accounts in one batch", []ledger.Position{
				pos("dfsp1", "USD", 850, 0, 1000), pos("dfsp1", "EUR", 10, 0, 1000), pos("dfsp2", "USD", 990, 0, 1000),
			}, []string{"dfsp1 USD RAISED 80 level 80", "dfsp2 USD RAISED 95 level 95"}, []string{"dfsp1 USD 80", "dfsp2 USD 95"}},
			{"one account moves", []ledger.Position{pos("dfsp1", "EUR", 800, 0, 1000)},
				[]string{"dfsp1 EUR RAISED 80 level 80"}, []string{"dfsp1 EUR 80", "dfsp1 USD 80", "dfsp2 USD 95"}},
			{"same account twice in a batch", []ledger.Position{pos("dfsp2", "USD", 100, 0, 1000), pos("dfsp2", "USD", 960, 0, 1000)},
				[]string{"dfsp2 USD CLEARED 95 level 0", "dfsp2 USD RAISED 95 level 95"}, []string{"dfsp1 EUR 80", "dfsp1 USD 80", "dfsp2 USD 95"}},
			{"up and back in a batch", []ledger.Position{pos("dfsp3", "USD", 1000, 0, 1000), pos("dfsp3", "USD", 0, 0, 1000)},
				[]string{"dfsp3 USD RAISED 95 level 95", "dfsp3 USD CLEARED 95 level 0"}, []string{"dfsp1 EUR 80", "dfsp1 USD 80", "dfsp2 USD 95"}},
		}},
		{"three thresholds", []int{50, 75, 100}, []step{
			{"49%", []ledger.Position{p(49, 0, 100)}, nil, nil},
			{"50%", []ledger.Position{p(50, 0, 100)}, []string{"dfsp1 USD RAISED 50 level 50"}, []string{"dfsp1 USD 50"}},
			{"99%", []ledger.Position{p(99, 0, 100)}, []string{"dfsp1 USD RAISED 75 level 75"}, []string{"dfsp1 USD 75"}},
			{"100%", []ledger.Position{p(100, 0, 100)}, []string{"dfsp1 USD RAISED 100 level 100"}, []string{"dfsp1 USD 100"}},
			{"74%", []ledger.Position{p(74, 0, 100)}, []string{"dfsp1 USD CLEARED 100 level 50"}, []string{"dfsp1 USD 50"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kv, _ := openKV(t, t.TempDir())
			s := &recorder{}
			m := open(t, Config{Thresholds: tt.thresholds}, kv, s)
			n := 0
			for _, st := range tt.steps {
				observe(t, m, st.ps...)
				alerts := newAlerts(t, m, n)
				var got []string
				for i := range alerts {
					got = append(got, describe(&alerts[i]))
					if want := uint64(n + i + 1); alerts[i].ID != want {
						t.Errorf("%s: alert id %d, want %d", st.name, alerts[i].ID, want)
					}
				}
				if !slices.Equal(got, st.want) {
					t.Errorf("%s: alerts %q, want %q", st.name, got, st.want)
				}
				n += len(alerts)
				if got, want := len(s.sent()), n; got != want {
					t.Errorf("%s: %d webhooks sent, want %d", st.name, got, want)
				}
				if got, want := describeLevels(m.Levels()), append([]string{}, st.levels...); !slices.Equal(got, want) {
					t.Errorf("%s: levels %q, want %q", st.name, got, want)
				}
			}
			st := m.Stats()
			if st.Raised+st.Cleared != uint64(n) || st.Unrecorded != 0 || st.Coalesced != 0 || st.Examined != st.Observed {
				t.Errorf("stats %+v after %d alerts", st, n)
			}
		})
	}
}

func TestAlertFields(t *testing.T) {
	kv, _ := openKV(t, t.TempDir())
	fake := clock.NewFake(t0)
	m := open(t, Config{Clock: fake}, kv, &recorder{})
	observe(t, m, pos("dfsp1", "USD", 800, 50, 1000))
	fake.Advance(time.Minute)
	observe(t, m, pos("dfsp1", "USD", -20, 0, 1000))
	got, err := m.List(context.Background(), "dfsp1", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Alert{
		{ID: 2, Kind: Cleared, Participant: "dfsp1", Currency: "USD", Threshold: 80, Level: 0,
			Used: -20, Position: -20, Reserved: 0, NDC: 1000, Time: t0.Add(time.Minute)},
		{ID: 1, Kind: Raised, Participant: "dfsp1", Currency: "USD", Threshold: 80, Level: 80,
			Used: 850, Position: 800, Reserved: 50, NDC: 1000, Time: t0},
	}
	if len(got) != len(want) {
		t.Fatalf("List = %+v, want %+v", got, want)
	}
	for i := range want {
		g := got[i]
		if !g.Time.Equal(want[i].Time) {
			t.Errorf("alert %d time %v, want %v", g.ID, g.Time, want[i].Time)
		}
		g.Time = want[i].Time
		if g != want[i] {
			t.Errorf("alert %d = %+v, want %+v", i, g, want[i])
		}
	}
	if pct, ok := got[1].Utilisation(); pct != 85 || !ok {
		t.Errorf("Utilisation = %d, %v; want 85, true", pct, ok)
	}
	if pct, ok := got[0].Utilisation(); pct != 0 || !ok {
		t.Errorf("Utilisation of a net receiver = %d, %v; want 0, true", pct, ok)
	}
}

func TestList(t *testing.T) {
	kv, _ := openKV(t, t.TempDir())
	m := open(t, Config{}, kv, &recorder{})
	// dfsp1 gets alerts 1, 3, 5; dfsp10 (whose id has dfsp1's as a
	// prefix) 2 and 4.
	observe(t, m, pos("dfsp1", "USD", 80, 0, 100))
	observe(t, m, pos("dfsp10", "USD", 80, 0, 100))
	observe(t, m, pos("dfsp1", "USD", 95, 0, 100))
	observe(t, m, pos("dfsp10", "USD", 0, 0, 100))
	observe(t, m, pos("dfsp1", "USD", 0, 0, 100))
	ids := func(as []Alert) []uint64 {
		out := []uint64{}
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	tests := []struct {
		participant string
		limit       int
		want        []uint64
	}{
		{"", 0, []uint64{5, 4, 3, 2, 1}},
		{"", 2, []uint64{5, 4}},
		{"", -1, []uint64{5, 4, 3, 2, 1}},
		{"dfsp1", 0, []uint64{5, 3, 1}},
		{"dfsp1", 1, []uint64{5}},
		{"dfsp10", 0, []uint64{4, 2}},
		{"dfsp2", 0, []uint64{}},
	}
	for _, tt := range tests {
		got, err := m.List(context.Background(), tt.participant, tt.limit)
		if err != nil || !slices.Equal(ids(got), tt.want) {
			t.Errorf("List(%q, %d) = %v, %v; want %v", tt.participant, tt.limit, ids(got), err, tt.want)
		}
	}
	for _, bad := range []string{"a/b", "hub", strings.Repeat("x", 33)} {
		if _, err := m.List(context.Background(), bad, 0); !errors.Is(err, ErrInvalidParticipant) {
			t.Errorf("List(%q) = %v, want ErrInvalidParticipant", bad, err)
		}
	}
}

func TestRestartRestoresLevels(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	kv, closeKV := openKV(t, dir)
	m := open(t, Config{}, kv, &recorder{})
	observe(t, m, pos("dfsp1", "USD", 960, 0, 1000), pos("dfsp2", "USD", 850, 0, 1000), pos("dfsp3", "USD", 900, 0, 1000))
	observe(t, m, pos("dfsp3", "USD", 0, 0, 1000))
	before := describeLevels(m.Levels())
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closeKV()

	kv, closeKV = openKV(t, dir)
	s := &recorder{}
	m = open(t, Config{}, kv, s)
	if got, want := describeLevels(m.Levels()), []string{"dfsp1 USD 95", "dfsp2 USD 80"}; !slices.Equal(got, want) || !slices.Equal(got, before) {
		t.Fatalf("levels after restart %q, want %q (before %q)", got, want, before)
	}
	if l := m.Levels()[0]; l.Alert != 1 || !l.Since.Equal(t0) {
		t.Errorf("restored level %+v, want alert 1 since %v", l, t0)
	}
	// The same positions again: nothing to say.
	observe(t, m, pos("dfsp1", "USD", 960, 0, 1000), pos("dfsp2", "USD", 850, 0, 1000), pos("dfsp3", "USD", 0, 0, 1000))
	if got := s.sent(); len(got) != 0 {
		t.Errorf("%d webhooks after a restart with unchanged positions", len(got))
	}
	// A clear is seen, and numbering goes on.
	observe(t, m, pos("dfsp1", "USD", 10, 0, 1000))
	got := newAlerts(t, m, 4)
	if len(got) != 1 || describe(&got[0]) != "dfsp1 USD CLEARED 95 level 0" || got[0].ID != 5 {
		t.Errorf("after restart: %+v, want alert 5 clearing dfsp1", got)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closeKV()

	// Other thresholds after a restart: a stored level that is no longer
	// a threshold is compared by its percentage.
	kv, _ = openKV(t, dir)
	m = open(t, Config{Thresholds: []int{90}}, kv, &recorder{})
	observe(t, m, pos("dfsp2", "USD", 850, 0, 1000))
	got = newAlerts(t, m, 5)
	if len(got) != 1 || describe(&got[0]) != "dfsp2 USD CLEARED 80 level 0" {
		t.Errorf("with thresholds [90]: %+v, want dfsp2's 80 cleared", got)
	}
	if got := m.Levels(); len(got) != 0 {
		t.Errorf("levels %+v, want none", got)
	}
}

func TestQueueOverflowKeepsLatest(t *testing.T) {
	kv, _ := openKV(t, t.TempDir())
	s := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	m := open(t, Config{QueueSize: 1}, kv, s)

	m.Observe([]ledger.Position{pos("dfsp1", "USD", 850, 0, 1000)})
	<-s.entered                                                     // the Monitor is stuck sending dfsp1's first alert
	m.Observe([]ledger.Position{pos("dfsp2", "USD", 500, 0, 1000)}) // fills the queue
	m.Observe([]ledger.Position{pos("dfsp1", "USD", 970, 0, 1000)}) // merged into the batch waiting
	m.Observe([]ledger.Position{pos("dfsp1", "USD", 100, 0, 1000),  // replaces it
		pos("dfsp3", "USD", 990, 0, 1000)}) // a crossing that lasts
	m.Observe([]ledger.Position{pos("dfsp2", "USD", 900, 0, 1000)})  // replaces the 500
	m.Observe([]ledger.Position{pos("dfsp4", "USD", 1000, 0, 1000)}) // up and
	m.Observe([]ledger.Position{pos("dfsp4", "USD", 0, 0, 1000)})    // back: unseen
	if got := m.Stats().Coalesced; got != 3 {
		t.Errorf("Coalesced = %d, want 3", got)
	}
	close(s.gate)
	if err := m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range newAlerts(t, m, 0) {
		got = append(got, describe(&a))
	}
	want := []string{
		"dfsp1 USD RAISED 80 level 80",
		// The merged positions, by account, each the latest.
		"dfsp1 USD CLEARED 80 level 0",
		"dfsp2 USD RAISED 80 level 80",
		"dfsp3 USD RAISED 95 level 95",
	}
	if !slices.Equal(got, want) {
		t.Errorf("alerts %q, want %q", got, want)
	}
	if got, want := describeLevels(m.Levels()), []string{"dfsp2 USD 80", "dfsp3 USD 95"}; !slices.Equal(got, want) {
		t.Errorf("levels %q, want %q", got, want)
	}
	st := m.Stats()
	if st.Observed != 8 || st.Examined != 5 {
		t.Errorf("stats %+v, want 8 observed, 5 examined", st)
	}
	// Once drained, the queue is used again.
	observe(t, m, pos("dfsp5", "USD", 800, 0, 1000))
	if got := newAlerts(t, m, 4); len(got) != 1 || describe(&got[0]) != "dfsp5 USD RAISED 80 level 80" {
		t.Errorf("after the overflow: %+v", got)
	}
}

// TestOrderWhileIdle holds the Monitor's goroutine just after it found
// nothing queued and, meanwhile, observes more batches than the queue
// holds. They must be examined in the order observed, none lost and none
// examined after a newer one, and Flush must see them done.
func TestOrderWhileIdle(t *testing.T) {
	kv, _ := openKV(t, t.TempDir())
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	m := openWithIdle(t, Config{QueueSize: 2}, kv, &recorder{}, func() {
		once.Do(func() {
			close(held)
			<-release
		})
	})
	<-held
	m.Observe([]ledger.Position{pos("dfsp1", "USD", 960, 0, 1000)})
	m.Observe([]ledger.Position{pos("dfsp2", "USD", 850, 0, 1000)}) // fills the queue
	m.Observe([]ledger.Position{pos("dfsp1", "USD", 100, 0, 1000)}) // merged into the batch waiting
	close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Flush(ctx); err != nil {
		t.Fatalf("Flush = %v; stats %+v", err, m.Stats())
	}
	var got []string
	for _, a := range newAlerts(t, m, 0) {
		got = append(got, describe(&a))
	}
	want := []string{"dfsp1 USD RAISED 95 level 95", "dfsp1 USD CLEARED 95 level 0", "dfsp2 USD RAISED 80 level 80"}
	if !slices.Equal(got, want) {
		t.Errorf("alerts %q, want %q", got, want)
	}
	if got, want := describeLevels(m.Levels()), []string{"dfsp2 USD 80"}; !slices.Equal(got, want) {
		t.Errorf("levels %q, want %q", got, want)
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	kv, _ := openKV(t, t.TempDir())
	s := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	m := open(t, Config{QueueSize: 4}, kv, s)
	m.Observe([]ledger.Position{pos("dfsp1", "USD", 850, 0, 1000)})
	<-s.entered
	m.Observe([]ledger.Position{pos("dfsp2", "USD", 850, 0, 1000)})
	m.Observe([]ledger.Position{pos("dfsp3", "USD", 850, 0, 1000)})

	// Close waits for what was observed before it.
	done := make(chan error)
	go func() { done <- m.Close(ctx) }()
	close(s.gate)
	if err := <-done; err != nil {
		t.Fatalf("Close = %v", err)
	}
	if got := len(s.sent()); got != 3 {
		t.Errorf("%d webhooks sent before Close returned, want 3", got)
	}
	m.Observe([]ledger.Position{pos("dfsp4", "USD", 850, 0, 1000)})
	if err := m.Flush(ctx); err != nil {
		t.Errorf("Flush after Close with nothing left = %v", err)
	}
	if st := m.Stats(); st.Observed != 3 || st.Raised != 3 {
		t.Errorf("stats %+v after an Observe following Close", st)
	}
	if err := m.Close(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if got, err := m.List(ctx, "", 0); err != nil || len(got) != 3 {
		t.Errorf("List after Close = %d alerts, %v; want 3", len(got), err)
	}
}

func TestCloseGivesUp(t *testing.T) {
	kv, _ := openKV(t, t.TempDir())
	s := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	m := open(t, Config{QueueSize: 4}, kv, s)
	m.Observe([]ledger.Position{pos("dfsp1", "USD", 850, 0, 1000)})
	<-s.entered
	m.Observe([]ledger.Position{pos("dfsp2", "USD", 850, 0, 1000)})
	m.Observe([]ledger.Position{pos("dfsp3", "USD", 850, 0, 1000)})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	flushed := make(chan error)
	go func() { flushed <- m.Flush(context.Background()) }()
	done := make(chan error)
	go func() { done <- m.Close(ctx) }()
	<-m.abandon // Close has given up waiting
	close(s.gate)
	if err := <-done; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "2 observed batches") {
		t.Errorf("Close = %v, want 2 batches left and context.Canceled", err)
	}
	if err := <-flushed; !errors.Is(err, ErrClosed) {
		t.Errorf("Flush waiting across Close = %v, want ErrClosed", err)
	}
	if st := m.Stats(); st.Examined != 1 || st.Raised != 1 {
		t.Errorf("stats %+v, want only the first batch examined", st)
	}
}

func TestFlushContext(t *testing.T) {
	kv, _ := openKV(t, t.TempDir())
	s := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	m := open(t, Config{}, kv, s)
	m.Observe([]ledger.Position{pos("dfsp1", "USD", 850, 0, 1000)})
	<-s.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush with an ended context = %v, want context.Canceled", err)
	}
	close(s.gate)
	if err := m.Flush(context.Background()); err != nil {
		t.Errorf("Flush = %v", err)
	}
}

func TestWebhookBody(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 5, 0, time.UTC)
	tests := []struct {
		name string
		a    Alert
		want string
	}{
		{"raised", Alert{ID: 1, Kind: Raised, Participant: "dfsp1", Currency: "USD", Threshold: 80, Level: 80,
			Used: 850, Position: 800, Reserved: 50, NDC: 1000, Time: t0},
			`{"id":1,"kind":"RAISED","participant":"dfsp1","currency":"USD","threshold":80,"level":80,"utilisation":85,` +
				`"used":"8.5","position":"8","reserved":"0.5","ndc":"10","time":"2025-03-01T12:00:00Z"}`},
		{"cleared, net receiver", Alert{ID: 77, Kind: Cleared, Participant: "dfsp2", Currency: "USD", Threshold: 95, Level: 0,
			Used: -1234, Position: -1250, Reserved: 16, NDC: 100000, Time: t0.Add(1500 * time.Microsecond)},
			`{"id":77,"kind":"CLEARED","participant":"dfsp2","currency":"USD","threshold":95,"level":0,"utilisation":0,` +
				`"used":"-12.34","position":"-12.5","reserved":"0.16","ndc":"1000","time":"2025-03-01T12:00:00.0015Z"}`},
		{"no cap", Alert{ID: 3, Kind: Raised, Participant: "dfsp1", Currency: "JPY", Threshold: 95, Level: 95,
			Used: 5, Position: 5, NDC: 0, Time: t0.In(time.FixedZone("X", 3600))},
			`{"id":3,"kind":"RAISED","participant":"dfsp1","currency":"JPY","threshold":95,"level":95,` +
				`"used":"5","position":"5","reserved":"0","ndc":"0","time":"2025-03-01T12:00:00Z"}`},
		{"three decimals", Alert{ID: 4, Kind: Raised, Participant: "dfsp1", Currency: "BHD", Threshold: 80, Level: 80,
			Used: 1999, Position: 1999, NDC: 2000, Time: t0},
			`{"id":4,"kind":"RAISED","participant":"dfsp1","currency":"BHD","threshold":80,"level":80,"utilisation":99,` +
				`"used":"1.999","position":"1.999","reserved":"0","ndc":"2","time":"2025-03-01T12:00:00Z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := webhook(&tt.a, "switch", now)
			if string(r.Body) != tt.want {
				t.Errorf("body\n%s\nwant\n%s", r.Body, tt.want)
			}
			if r.To != tt.a.Participant || r.Kind != callback.LiquidityAlert || r.Method != "POST" || r.Path != "/liquidityAlerts" ||
				r.Vars.ID != fmt.Sprint(tt.a.ID) {
				t.Errorf("request %+v", r)
			}
			want := http.Header{"Content-Type": {"application/json"}, "Date": {"Sat, 01 Mar 2025 12:00:05 GMT"},
				"Fspiop-Source": {"switch"}, "Fspiop-Destination": {tt.a.Participant}}
			if fmt.Sprint(r.Header) != fmt.Sprint(want) {
				t.Errorf("header %v, want %v", r.Header, want)
			}
		})
	}
}

// newSender returns a callback Sender on kv that tries each callback once.
func newSender(t *testing.T, kv kv.Space) (*callback.Endpoints, *callback.Sender) {
	t.Helper()
	eps, err := callback.OpenEndpoints(context.Background(), kv)
	if err != nil {
		t.Fatal(err)
	}
	snd, err := callback.NewSender(callback.Config{Attempts: 1, Logger: quiet, Clock: clock.NewFake(t0)}, eps, kv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := snd.Close(context.Background()); err != nil && !errors.Is(err, callback.ErrClosed) {
			t.Errorf("close sender: %v", err)
		}
	})
	return eps, snd
}

func TestWebhookDelivered(t *testing.T) {
	type received struct {
		method, path string
		header       http.Header
		body         []byte
	}
	got := make(chan received, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{r.Method, r.URL.Path, r.Header, b}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)

	kv, _ := openKV(t, t.TempDir())
	eps, snd := newSender(t, kv)
	if err := eps.SetBase(context.Background(), "dfsp1", srv.URL+"/fsp"); err != nil {
		t.Fatal(err)
	}
	m := open(t, Config{}, kv, snd)
	observe(t, m, pos("dfsp1", "USD", 800, 150, 1000))

	var r received
	select {
	case r = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook arrived")
	}
	if r.method != "POST" || r.path != "/fsp/liquidityAlerts" {
		t.Errorf("%s %s, want POST /fsp/liquidityAlerts", r.method, r.path)
	}
	for k, v := range map[string]string{"Content-Type": "application/json", "Date": "Sat, 01 Mar 2025 12:00:00 GMT",
		"FSPIOP-Source": "hub", "FSPIOP-Destination": "dfsp1"} {
		if r.header.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, r.header.Get(k), v)
		}
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	want := map[string]any{"id": 1.0, "kind": "RAISED", "participant": "dfsp1", "currency": "USD", "threshold": 95.0,
		"level": 95.0, "utilisation": 95.0, "used": "9.5", "position": "8", "reserved": "1.5", "ndc": "10",
		"time": "2025-03-01T12:00:00Z"}
	if fmt.Sprint(body) != fmt.Sprint(want) {
		t.Errorf("body %v, want %v", body, want)
	}
}

func TestNoEndpoint(t *testing.T) {
	ctx := context.Background()
	kv, _ := openKV(t, t.TempDir())
	_, snd := newSender(t, kv)
	m := open(t, Config{}, kv, snd)
	observe(t, m, pos("dfsp1", "USD", 900, 0, 1000))
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := snd.Close(ctx); err != nil {
		t.Fatal(err)
	}
	alerts, err := m.List(ctx, "dfsp1", 0)
	if err != nil || len(alerts) != 1 || describe(&alerts[0]) != "dfsp1 USD RAISED 80 level 80" {
		t.Errorf("alerts %+v, %v; want dfsp1's 80 raised", alerts, err)
	}
	fs, _, err := snd.Failures(ctx, "dfsp1", "", 10)
	if err != nil || len(fs) != 1 {
		t.Fatalf("failures %+v, %v; want one", fs, err)
	}
	f := fs[0]
	if f.Kind != callback.LiquidityAlert || f.Method != "POST" || f.Path != "/liquidityAlerts" || f.Attempts != 0 ||
		!strings.Contains(f.LastError, "no endpoint") || !strings.Contains(string(f.Body), `"threshold":80`) {
		t.Errorf("failure %+v", f)
	}
	if st := snd.Stats(); st.Delivered != 0 {
		t.Errorf("sender stats %+v, want nothing delivered", st)
	}
}

func TestNilSender(t *testing.T) {
	kv, _ := openKV(t, t.TempDir())
	m := open(t, Config{}, kv, nil)
	observe(t, m, pos("dfsp1", "USD", 900, 0, 1000))
	if got, err := m.List(context.Background(), "", 0); err != nil || len(got) != 1 {
		t.Errorf("List = %+v, %v; want one alert", got, err)
	}
}

func TestOpenRefusesCorruptLevel(t *testing.T) {
	tests := []struct{ key, value string }{
		{"alert/level/dfsp1USD", `{"threshold":80}`},
		{"alert/level/dfsp1/USD", `{"threshold":0}`},
		{"alert/level/dfsp1/USD", `not json`},
		{"alert/all/xyz", `{}`},
	}
	for _, tt := range tests {
		space, _ := openKV(t, t.TempDir())
		b := kv.Batch{}
		b.Set([]byte(tt.key), []byte(tt.value))
		if err := space.Apply(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(context.Background(), Config{Logger: quiet}, space, nil); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("Open over %s = %s: %v, want ErrCorrupt", tt.key, tt.value, err)
		}
	}
	if _, err := Open(context.Background(), Config{Thresholds: []int{95, 80}}, nil, nil); err == nil {
		t.Error("Open with descending thresholds and no KV succeeded")
	}
}

// TestRandomInvariants feeds random positions, some faster than they are
// examined and across restarts, and checks after each flush that the levels
// are those of the latest positions and that the alerts tell a consistent
// story for every account.
func TestRandomInvariants(t *testing.T) {
	seed := testseed.Seed(t)
	r := rand.New(rand.NewPCG(seed, seed))
	configs := [][]int{nil, {50}, {1, 50, 99, 100}, {10, 20, 30, 40, 50, 60, 70, 80, 90}}
	cfg := Config{Thresholds: configs[r.IntN(len(configs))], QueueSize: 1 + r.IntN(4)}
	thresholds := cfg.Thresholds
	if thresholds == nil {
		thresholds = []int{80, 95}
	}
	ctx := context.Background()
	kv, _ := openKV(t, t.TempDir())
	m := open(t, cfg, kv, &recorder{})
	latest := make(map[account]ledger.Position)
	check := func(step int) {
		t.Helper()
		if err := m.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		var want []string
		for k, p := range latest {
			if lvl := levelOf(used(&p), p.NDC, thresholds); lvl > 0 {
				want = append(want, fmt.Sprintf("%s %s %d", k.participant, k.currency, lvl))
			}
		}
		slices.Sort(want)
		if got := describeLevels(m.Levels()); !slices.Equal(got, append([]string{}, want...)) {
			t.Fatalf("step %d (seed %d): levels %q, want %q", step, seed, got, want)
		}
		all, err := m.List(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(all)
		lvls := make(map[account]int)
		for i, a := range all {
			if a.ID != uint64(i+1) {
				t.Fatalf("step %d (seed %d): alert %d has id %d", step, seed, i+1, a.ID)
			}
			k := account{a.Participant, a.Currency}
			switch old := lvls[k]; {
			case a.Kind == Raised && a.Threshold > old && a.Level == a.Threshold:
			case a.Kind == Cleared && a.Threshold == old && a.Level < old:
			default:
				t.Fatalf("step %d (seed %d): alert %+v after level %d", step, seed, a, old)
			}
			lvls[k] = a.Level
		}
		for k, p := range latest {
			if got, want := lvls[k], levelOf(used(&p), p.NDC, thresholds); got != want {
				t.Fatalf("step %d (seed %d): alerts leave %v at %d, want %d", step, seed, k, got, want)
			}
		}
	}
	for step := range 400 {
		ps := make([]ledger.Position, 1+r.IntN(5))
		for i := range ps {
			ps[i] = pos(fmt.Sprintf("dfsp%d", r.IntN(4)), []string{"USD", "EUR"}[r.IntN(2)],
				r.Int64N(1400)-200, r.Int64N(200), []int64{0, 500, 1000, 1000, 1000}[r.IntN(5)])
			latest[account{ps[i].Participant, ps[i].Currency}] = ps[i]
		}
		m.Observe(ps)
		switch r.IntN(40) {
		case 0:
			check(step)
		case 1:
			if err := m.Close(ctx); err != nil {
				t.Fatal(err)
			}
			m = open(t, cfg, kv, &recorder{})
			check(step)
		}
	}
	check(400)
	t.Logf("stats %+v", m.Stats())
}
