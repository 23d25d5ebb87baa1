package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/internal/testseed"
	"github.com/hutong/hutong/store"
)

// logBuffer keeps what a JSON logger writes, for the goroutines of a
// Sender to write and a test to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// records returns the logged records with message msg.
func (l *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(l.buf.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// newSenderOn returns a Sender over kv with tick driving its pruning pass,
// closed at the end of the test.
func newSenderOn(t *testing.T, cfg Config, kv store.KV, tick <-chan time.Time) *fixture {
	t.Helper()
	eps, err := OpenEndpoints(context.Background(), kv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSender(cfg, eps, kv, tick)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return &fixture{t: t, eps: eps, kv: kv, s: s}
}

// fail records a failure of a callback to participant with no endpoint,
// identified by id, at the fake clock's time.
func (f *fixture) fail(participant, id string) {
	f.s.Send(&Request{To: participant, Kind: TransferPut, Method: http.MethodPut, Path: "/transfers/" + id, Vars: Vars{ID: id}})
}

// ids returns the callback ids of participant's failures, newest first.
func (f *fixture) ids(participant string) []string {
	f.t.Helper()
	var out []string
	for _, fl := range f.failures(participant) {
		out = append(out, fl.Vars.ID)
	}
	return out
}

// keys counts the failure records of participant in the KV.
func (f *fixture) keys(participant string) int {
	f.t.Helper()
	n := 0
	err := f.kv.Scan(context.Background(), []byte(failurePrefix+participant+"/"), 0, func(_, _ []byte) error {
		n++
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func callbackIDs(name string, from, to int) []string {
	var out []string
	for i := to - 1; i >= from; i-- {
		out = append(out, fmt.Sprintf("%s-%03d", name, i))
	}
	return out
}

// TestFailuresBound stores MaxFailures+n failures for one participant, in
// several writes: the newest MaxFailures stay, the n oldest are dropped,
// counted and logged, and another participant's are untouched.
func TestFailuresBound(t *testing.T) {
	const max, n = 10, 7
	var logs logBuffer
	cfg := testConfig()
	cfg.MaxFailures = max
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	f := newFixture(t, cfg, "")
	fake := f.s.cfg.Clock.(*clock.Fake)
	ctx := context.Background()

	// dfsp2 has exactly the most, all older than dfsp1's.
	for i := range max {
		fake.Advance(time.Second)
		f.fail("dfsp2", fmt.Sprintf("other-%03d", i))
	}
	for i := range max + n {
		fake.Advance(time.Second)
		f.fail("dfsp1", fmt.Sprintf("cb-%03d", i))
		if i%4 == 3 {
			if err := f.s.flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := f.ids("dfsp1"), callbackIDs("cb", n, max+n); !slices.Equal(got, want) {
		t.Errorf("dfsp1 keeps %v, want the newest %v", got, want)
	}
	if got := f.keys("dfsp1"); got != max {
		t.Errorf("dfsp1 has %d records in the KV, want %d", got, max)
	}
	if got, want := f.ids("dfsp2"), callbackIDs("other", 0, max); !slices.Equal(got, want) {
		t.Errorf("dfsp2 keeps %v, want all of %v", got, want)
	}
	if got := f.s.Stats().FailuresDropped; got != n {
		t.Errorf("FailuresDropped = %d, want %d", got, n)
	}
	if got := f.s.Stats().Failed; got != 2*max+n {
		t.Errorf("Failed = %d, want %d", got, 2*max+n)
	}
	logged := 0
	for _, r := range logs.records(t, "callback: dropped the oldest failed callbacks beyond the bound") {
		if r["to"] != "dfsp1" || r["reason"] != "count" || r["max"] != float64(max) {
			t.Errorf("log record %v, want to dfsp1, reason count, max %d", r, max)
		}
		logged += int(r["count"].(float64))
	}
	if logged != n {
		t.Errorf("logs count %d dropped, want %d", logged, n)
	}
	f.s.failMu.Lock()
	c1, c2 := f.s.counts["dfsp1"], f.s.counts["dfsp2"]
	f.s.failMu.Unlock()
	if c1 != max || c2 != max {
		t.Errorf("counts dfsp1 %d, dfsp2 %d, want %d each", c1, c2, max)
	}
}

// TestFailuresBoundAfterRestart lowers MaxFailures over failures stored by
// an earlier Sender: the first pass finds every participant, ids that are
// prefixes of others among them, and drops each one's oldest.
func TestFailuresBoundAfterRestart(t *testing.T) {
	kv, _ := openStore(t, t.TempDir())
	cfg := testConfig()
	fake := cfg.Clock.(*clock.Fake)
	participants := []string{"dfsp1", "dfsp10", "dfsp1-x", "a", "Z", "small"}
	first := newSenderOn(t, cfg, kv, nil)
	for _, p := range participants {
		k := 9
		if p == "small" {
			k = 3
		}
		for i := range k {
			fake.Advance(time.Second)
			first.fail(p, fmt.Sprintf("%s-%03d", p, i))
		}
	}
	if err := first.s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	cfg.MaxFailures = 5
	tick := make(chan time.Time)
	second := newSenderOn(t, cfg, kv, tick)
	if got := second.keys("dfsp1"); got != 9 {
		t.Fatalf("before the pass dfsp1 has %d records, want 9", got)
	}
	tick <- fake.Now()
	tick <- fake.Now() // taken once the first pass is over
	if err := second.s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range participants {
		want := callbackIDs(p, 4, 9)
		if p == "small" {
			want = callbackIDs(p, 0, 3)
		}
		if got := second.ids(p); !slices.Equal(got, want) {
			t.Errorf("%s keeps %v, want %v", p, got, want)
		}
	}
	if got, want := second.s.Stats().FailuresDropped, uint64(4*(len(participants)-1)); got != want {
		t.Errorf("FailuresDropped = %d, want %d", got, want)
	}
}

// TestFailureRetention advances the clock past the retention: the pass
// drops the failures whose Last time is further back, keeps one exactly at
// the retention and those inside it, for every participant.
func TestFailureRetention(t *testing.T) {
	var logs logBuffer
	cfg := testConfig()
	cfg.FailureRetention = 24 * time.Hour
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	f := newFixture(t, cfg, "")
	fake := f.s.cfg.Clock.(*clock.Fake)
	ctx := context.Background()
	t0 := fake.Now()
	at := func(d time.Duration, participant, id string) {
		fake.Set(t0.Add(d))
		f.fail(participant, id)
	}
	at(0, "dfsp1", "old")
	at(0, "dfsp2", "other-old")
	at(time.Hour-1, "dfsp1", "just-past")
	at(time.Hour, "dfsp1", "at-retention")
	at(time.Hour+1, "dfsp1", "just-inside")
	at(2*time.Hour, "dfsp1", "new")
	at(2*time.Hour, "dfsp2", "other-new")
	before := f.failures("dfsp1")
	if len(before) != 5 {
		t.Fatalf("%d failures stored, want 5", len(before))
	}
	oldID := before[len(before)-1].ID

	// The clock alone drops nothing; the pass does.
	fake.Set(t0.Add(time.Hour + cfg.FailureRetention))
	if got := f.ids("dfsp1"); len(got) != 5 {
		t.Fatalf("before the pass dfsp1 keeps %v, want all 5", got)
	}
	f.s.prunePass(ctx)
	if got, want := f.ids("dfsp1"), []string{"new", "just-inside", "at-retention"}; !slices.Equal(got, want) {
		t.Errorf("dfsp1 keeps %v, want %v", got, want)
	}
	if got, want := f.ids("dfsp2"), []string{"other-new"}; !slices.Equal(got, want) {
		t.Errorf("dfsp2 keeps %v, want %v", got, want)
	}
	if got := f.s.Stats().FailuresDropped; got != 3 {
		t.Errorf("FailuresDropped = %d, want 3", got)
	}
	if err := f.s.Redeliver(ctx, "dfsp1", oldID); !errors.Is(err, ErrFailureNotFound) {
		t.Errorf("Redeliver of a dropped failure = %v, want ErrFailureNotFound", err)
	}
	dropped := map[any]any{}
	for _, r := range logs.records(t, "callback: dropped failed callbacks past the retention") {
		if r["reason"] != "age" {
			t.Errorf("log record %v, want reason age", r)
		}
		dropped[r["to"]] = r["count"]
	}
	if want := map[any]any{"dfsp1": 2.0, "dfsp2": 1.0}; fmt.Sprint(dropped) != fmt.Sprint(want) {
		t.Errorf("logged drops %v, want %v", dropped, want)
	}

	// A second pass at the same time finds nothing more.
	f.s.prunePass(ctx)
	if got := f.s.Stats().FailuresDropped; got != 3 {
		t.Errorf("FailuresDropped after a second pass = %d, want 3", got)
	}
}

// TestPruneStopsAtClose drives the periodic pass by its ticks: it drops an
// expired failure on a tick, and after Close nothing takes a tick.
func TestPruneStopsAtClose(t *testing.T) {
	kv, _ := openStore(t, t.TempDir())
	cfg := testConfig()
	cfg.FailureRetention = time.Hour
	fake := cfg.Clock.(*clock.Fake)
	tick := make(chan time.Time)
	f := newSenderOn(t, cfg, kv, tick)
	f.fail("dfsp1", "expiring")
	if got := f.ids("dfsp1"); len(got) != 1 {
		t.Fatalf("failures %v, want 1", got)
	}
	fake.Advance(time.Hour + time.Nanosecond)
	tick <- fake.Now()
	tick <- fake.Now() // taken once the first pass is over
	if got := f.ids("dfsp1"); len(got) != 0 {
		t.Errorf("after a tick dfsp1 keeps %v, want none", got)
	}
	if got := f.s.Stats().FailuresDropped; got != 1 {
		t.Errorf("FailuresDropped = %d, want 1", got)
	}
	if err := f.s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.s.pruneDone:
	default:
		t.Fatal("the pruning goroutine runs after Close")
	}
	select {
	case tick <- fake.Now():
		t.Fatal("a tick was taken after Close")
	default:
	}
}

// TestPruneConcurrent runs pruning passes and Redeliver while failures are
// stored: in the end the bound holds exactly, and every record stored is
// kept, dropped or redelivered.
func TestPruneConcurrent(t *testing.T) {
	const max, sends, redeliveries = 20, 300, 40
	ts := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	}))
	cfg := testConfig()
	cfg.Attempts = 1
	cfg.MaxFailures = max
	cfg.QueueSize = sends + redeliveries
	f := newFixture(t, cfg, ts.URL)
	fake := f.s.cfg.Clock.(*clock.Fake)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	redelivered, notFound := 0, 0
	redelivering := make(chan struct{})
	go func() {
		defer close(redelivering)
		for tries := 0; redelivered < redeliveries; tries++ {
			if tries == 100_000 {
				t.Errorf("%d of %d redelivered after %d tries", redelivered, redeliveries, tries)
				return
			}
			fs, _, err := f.s.Failures(ctx, "dfsp1", "", 500)
			if err != nil {
				t.Errorf("Failures: %v", err)
				return
			}
			if len(fs) == 0 {
				continue
			}
			// The oldest, the likeliest to be dropped meanwhile.
			switch err := f.s.Redeliver(ctx, "dfsp1", fs[len(fs)-1].ID); {
			case err == nil:
				redelivered++
			case errors.Is(err, ErrFailureNotFound):
				notFound++
			default:
				t.Errorf("Redeliver: %v", err)
				return
			}
		}
	}()
	pruning := make(chan struct{})
	go func() {
		defer close(pruning)
		for ctx.Err() == nil {
			f.s.prunePass(ctx)
		}
	}()
	for i := range sends {
		fake.Advance(time.Millisecond)
		f.s.Send(transferPut(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)))
		if i%10 == 9 {
			if err := f.s.flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	<-redelivering
	cancel()
	<-pruning
	if err := f.s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := f.s.Stats()
	if st.Failed != uint64(sends+redelivered) || st.Unrecorded != 0 {
		t.Fatalf("Failed %d, Unrecorded %d, want %d and 0", st.Failed, st.Unrecorded, sends+redelivered)
	}
	kept := f.keys("dfsp1")
	if kept != max {
		t.Errorf("dfsp1 keeps %d failures, want %d", kept, max)
	}
	if got, want := st.FailuresDropped, st.Failed-uint64(kept)-uint64(redelivered); got != want {
		t.Errorf("FailuresDropped = %d, want %d (failed %d, kept %d, redelivered %d)", got, want, st.Failed, kept, redelivered)
	}
	f.s.failMu.Lock()
	c := f.s.counts["dfsp1"]
	f.s.failMu.Unlock()
	if c != kept {
		t.Errorf("count %d, want %d records", c, kept)
	}
	t.Logf("redelivered %d, not found %d, dropped %d", redelivered, notFound, st.FailuresDropped)
}

// TestLastIDs checks the backward walk against a sorted list, on random
// keys.
func TestLastIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 0))
	kv, _ := openStore(t, t.TempDir())
	ctx := context.Background()
	var keys []string
	var b store.KVBatch
	for range 400 {
		// Few digits in use, so that keys share long prefixes.
		var sb strings.Builder
		for range idLen {
			sb.WriteByte(hex[rng.IntN(3)*7])
		}
		if id := sb.String(); !slices.Contains(keys, id) {
			keys = append(keys, id)
			b.Set([]byte("cbf/p/"+id), []byte("{}"))
		}
	}
	b.Set([]byte("cbf/p0/"+keys[0]), []byte("{}")) // participants around p
	b.Set([]byte("cbf/o/"+keys[0]), []byte("{}"))
	if err := kv.Apply(ctx, &b); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	slices.Reverse(keys)
	for _, n := range []int{0, 1, 2, 15, 16, 17, 100, len(keys) - 1, len(keys), len(keys) + 5, rng.IntN(len(keys))} {
		got, err := lastIDs(ctx, kv, "cbf/p/", n)
		if err != nil {
			t.Fatal(err)
		}
		want := keys[:min(max(n, 0), len(keys))]
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("lastIDs(%d) = %v, want %v", n, got, want)
		}
	}
}

// TestNextParticipant lists participants from the KV, with ids that are
// prefixes of one another and every kind of byte an id may hold.
func TestNextParticipant(t *testing.T) {
	kv, _ := openStore(t, t.TempDir())
	ctx := context.Background()
	participants := []string{"a", "a-b", "a.b", "a0", "aZ", "a_", "ab", "dfsp1", "dfsp10", "dfsp1-x", "dfsp1.y", "Z", "z", "0", "-"}
	var b store.KVBatch
	for i, p := range participants {
		for j := range 1 + i%3 {
			b.Set([]byte(fmt.Sprintf("cbf/%s/%024x", p, j)), []byte("{}"))
		}
	}
	b.Set([]byte("cbe/zz/TransferPut"), []byte("x")) // not a failure
	b.Set([]byte("cbg/a/0"), []byte("x"))
	if err := kv.Apply(ctx, &b); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(participants)
	slices.SortFunc(want, func(x, y string) int { return strings.Compare(x+"/", y+"/") })
	var got []string
	p := ""
	for range 2 * len(participants) {
		next, ok, err := nextParticipant(ctx, kv, p)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		got = append(got, next)
		p = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("participants %v, want %v", got, want)
	}
}
