package closing_test

import (
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/closing"
	"github.com/hutong/hutong/ledger"
)

func TestParseSchedule(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	for _, tt := range []struct {
		spec    string
		loc     *time.Location
		after   time.Time
		want    []time.Time // the next closes, in order
		wantErr bool
	}{
		{spec: "every 15m", after: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
			want: []time.Time{time.Date(2030, 1, 2, 3, 15, 0, 0, time.UTC), time.Date(2030, 1, 2, 3, 30, 0, 0, time.UTC)}},
		{spec: "every 1h", after: time.Date(2030, 1, 2, 23, 0, 0, 0, time.UTC),
			want: []time.Time{time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC)}},
		{spec: "at 00:00,12:30", after: time.Date(2030, 1, 2, 12, 30, 0, 0, time.UTC),
			want: []time.Time{time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 3, 12, 30, 0, 0, time.UTC)}},
		{spec: "at 17:00", loc: shanghai, after: time.Date(2030, 1, 2, 8, 0, 0, 0, time.UTC), // 16:00 in Shanghai
			want: []time.Time{time.Date(2030, 1, 2, 9, 0, 0, 0, time.UTC), time.Date(2030, 1, 3, 9, 0, 0, 0, time.UTC)}},
		{spec: "at 12:30, 00:00", after: time.Date(2030, 1, 2, 1, 0, 0, 0, time.UTC),
			want: []time.Time{time.Date(2030, 1, 2, 12, 30, 0, 0, time.UTC)}},
		{spec: "every 7m", wantErr: true},
		{spec: "every 30s", wantErr: true},
		{spec: "every soon", wantErr: true},
		{spec: "at 24:00", wantErr: true},
		{spec: "at 9:00", wantErr: true},
		{spec: "at 09:00,09:00", wantErr: true},
		{spec: "daily", wantErr: true},
		{spec: "", wantErr: true},
	} {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := closing.ParseSchedule(tt.spec, tt.loc)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseSchedule(%q) = %v, want an error", tt.spec, s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if again, err := closing.ParseSchedule(s.String(), tt.loc); err != nil || again.String() != s.String() {
				t.Errorf("String %q does not parse back: %v, %v", s.String(), again, err)
			}
			at := tt.after
			for i, want := range tt.want {
				at = s.Next(at)
				if !at.Equal(want) {
					t.Fatalf("close #%d at %v, want %v", i+1, at, want)
				}
			}
		})
	}
}

// fakeLedger serializes access to a ledger as the writer does.
type fakeLedger struct {
	mu  sync.Mutex
	l   *ledger.Ledger
	clk *clock.Fake
}

func (f *fakeLedger) Submit(_ context.Context, c ledger.Command) (ledger.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.l.Apply(f.clk.Now(), &c)
}

func (f *fakeLedger) Query(_ context.Context, fn func(*ledger.Ledger)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.l)
	return nil
}

func (f *fakeLedger) must(t *testing.T, c ledger.Command) ledger.Result {
	t.Helper()
	r, err := f.Submit(context.Background(), c)
	if err != nil {
		t.Fatalf("%s: %v", c.Op, err)
	}
	return r
}

func (f *fakeLedger) pay(t *testing.T, n byte, currency string) {
	t.Helper()
	fulfilment := sha256.Sum256([]byte{n})
	id := ledger.ID{15: n}
	f.must(t, ledger.Command{Op: ledger.OpPrepare, ID: id, Payer: "a", Payee: "b", Currency: currency, Amount: 100,
		Condition: ledger.ConditionOf(fulfilment), Expiry: f.clk.Now().Add(time.Minute)})
	f.must(t, ledger.Command{Op: ledger.OpFulfil, ID: id, Fulfilment: fulfilment})
}

func newFakeLedger(t *testing.T, start time.Time) *fakeLedger {
	f := &fakeLedger{l: ledger.New(nil), clk: clock.NewFake(start)}
	for _, p := range []string{"a", "b"} {
		f.must(t, ledger.Command{Op: ledger.OpCreateParticipant, Participant: p, Name: p})
		for _, cur := range []string{"USD", "EUR"} {
			f.must(t, ledger.Command{Op: ledger.OpEnableCurrency, Participant: p, Currency: cur})
			f.must(t, ledger.Command{Op: ledger.OpSetNDC, Participant: p, Currency: cur, Amount: 1e6})
			f.must(t, ledger.Command{Op: ledger.OpFundsIn, ID: ledger.ID{0: 1, 1: byte(len(p)), 2: cur[0], 3: p[0]}, Participant: p, Currency: cur, Amount: 1e6})
		}
	}
	return f
}

func TestCloseAll(t *testing.T) {
	f := newFakeLedger(t, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	f.pay(t, 1, "USD")
	var closed []ledger.Window
	n, err := closing.CloseAll(context.Background(), f, nil, func(w ledger.Window) { closed = append(closed, w) })
	if err != nil || n != 1 {
		t.Fatalf("CloseAll = %d, %v; want 1 (EUR's window is empty)", n, err)
	}
	if len(closed) != 1 || closed[0].Currency != "USD" || closed[0].Count != 1 || closed[0].State != ledger.WindowClosed {
		t.Fatalf("closed %+v, want USD's window with one payment", closed)
	}
	f.pay(t, 2, "EUR")
	f.pay(t, 3, "USD")
	if n, err := closing.CloseAll(context.Background(), f, []string{"EUR"}, nil); err != nil || n != 1 {
		t.Fatalf("CloseAll(EUR) = %d, %v; want 1", n, err)
	}
	if w, _ := f.l.OpenWindow("USD"); w.Count != 1 {
		t.Errorf("USD's open window holds %d payments after closing only EUR, want 1", w.Count)
	}
}

func TestCloserFollowsSchedule(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f := newFakeLedger(t, start)
	f.pay(t, 1, "USD")
	s, err := closing.ParseSchedule("every 15m", nil)
	if err != nil {
		t.Fatal(err)
	}
	closes := make(chan ledger.Window, 4)
	c, err := closing.Start(f, closing.Config{Schedule: s, Clock: f.clk, Tick: time.Millisecond,
		OnClose: func(w ledger.Window) { closes <- w }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Nothing closes before 03:15.
	f.clk.Set(time.Date(2030, 1, 2, 3, 14, 59, 0, time.UTC))
	select {
	case w := <-closes:
		t.Fatalf("window %d closed before its time", w.ID)
	case <-time.After(50 * time.Millisecond):
	}
	f.clk.Set(time.Date(2030, 1, 2, 3, 15, 0, 0, time.UTC))
	select {
	case w := <-closes:
		if w.Currency != "USD" || w.Count != 1 {
			t.Fatalf("closed %+v, want USD's window", w)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the window did not close at 03:15")
	}
}
