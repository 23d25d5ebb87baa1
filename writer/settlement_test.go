package writer_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong/internal/testseed"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/writer"
)

// TestCloseWindowsUnderLoad closes windows again and again while payments
// commit from many goroutines, and checks that every committed payment is
// in exactly one window and every window holds exactly its payments.
func TestCloseWindowsUnderLoad(t *testing.T) {
	seed := testseed.Seed(t)
	w := openWriter(t, openStore(t, t.TempDir()), writer.Config{CheckpointInterval: 10 * time.Millisecond})
	ps := []string{"a", "b", "c", "d"}
	for i, p := range ps {
		submit(t, w, ledger.Command{Op: ledger.OpCreateParticipant, Participant: p, Name: p})
		submit(t, w, ledger.Command{Op: ledger.OpEnableCurrency, Participant: p, Currency: "USD"})
		submit(t, w, ledger.Command{Op: ledger.OpSetNDC, Participant: p, Currency: "USD", Amount: 1 << 40})
		submit(t, w, ledger.Command{Op: ledger.OpFundsIn, ID: ledger.ID{0xf0, byte(i)}, Participant: p, Currency: "USD", Amount: 1 << 40})
	}
	const workers, each = 16, 150
	var wg sync.WaitGroup
	var failed atomic.Int64
	committed := make([][]int, workers) // ids each worker committed
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for i := range each {
				n := 1 + g*each + i
				payer := rng.IntN(len(ps))
				payee := (payer + 1 + rng.IntN(len(ps)-1)) % len(ps)
				if _, err := w.Submit(context.Background(), prepare(n, ps[payer], ps[payee], 1+rng.Int64N(1000), time.Now().Add(time.Hour))); err != nil {
					failed.Add(1)
					continue
				}
				if rng.IntN(5) == 0 {
					continue // left reserved: in no window
				}
				if _, err := w.Submit(context.Background(), fulfil(n)); err != nil {
					failed.Add(1)
					continue
				}
				committed[g] = append(committed[g], n)
			}
		}()
	}
	// Two closers race each other: each close names the window it means,
	// so no window is closed twice and none is skipped.
	stop := make(chan struct{})
	var closes, refused atomic.Int64
	var closers sync.WaitGroup
	for range 2 {
		closers.Add(1)
		go func() {
			defer closers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var open ledger.Window
				w.Query(context.Background(), func(l *ledger.Ledger) { open, _ = l.OpenWindow("USD") })
				_, err := w.Submit(context.Background(), ledger.Command{Op: ledger.OpCloseWindow, Currency: "USD", Window: open.ID})
				switch {
				case err == nil:
					closes.Add(1)
				case errors.Is(err, ledger.ErrWindowNotOpen):
					refused.Add(1)
				default:
					failed.Add(1)
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(stop)
	closers.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d commands failed", n)
	}
	t.Logf("%d windows closed, %d closes refused as already closed", closes.Load(), refused.Load())
	if closes.Load() < 2 {
		t.Fatalf("only %d closes happened during the load", closes.Load())
	}

	// Count, from the transfers themselves, what each window must hold.
	type tally struct{ count, amount int64 }
	want := map[uint64]tally{}
	total := 0
	for _, ids := range committed {
		for _, n := range ids {
			tr, err := w.Transfer(context.Background(), tid(n))
			if err != nil {
				t.Fatal(err)
			}
			if tr.State != ledger.StateCommitted || tr.Window == 0 {
				t.Fatalf("transfer %d is %s in window %d", n, tr.State, tr.Window)
			}
			x := want[tr.Window]
			x.count++
			x.amount += tr.Amount
			want[tr.Window] = x
			total++
		}
	}
	var windows []ledger.Window
	w.Query(context.Background(), func(l *ledger.Ledger) { windows = l.Windows("USD", true) })
	var sum int64
	open := 0
	for _, win := range windows {
		if win.State == ledger.WindowOpen {
			open++
		}
		if got := (tally{win.Count, win.Amount}); got != want[win.ID] {
			t.Errorf("window %d (%s) holds %d payments of %d, its transfers say %d of %d",
				win.ID, win.State, win.Count, win.Amount, want[win.ID].count, want[win.ID].amount)
		}
		var flows int64
		for _, f := range win.Flows {
			flows += f.Count
		}
		if flows != win.Count {
			t.Errorf("window %d: flows hold %d payments, the window %d", win.ID, flows, win.Count)
		}
		sum += win.Count
		delete(want, win.ID)
	}
	if len(want) != 0 {
		t.Errorf("transfers name windows that do not exist: %v", want)
	}
	if sum != int64(total) || open != 1 {
		t.Errorf("windows hold %d payments in all (%d open), %d committed; want equal and one open", sum, open, total)
	}
}
