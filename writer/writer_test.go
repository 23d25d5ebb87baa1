package writer_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/journal"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
)

var (
	quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
	t0    = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
)

func openStore(t *testing.T, dir string) *pebble.Store {
	t.Helper()
	s, err := pebble.Open(dir, pebble.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20, Logger: quiet})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openWriter(t *testing.T, s store.Store, cfg writer.Config) *writer.Writer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	w, err := writer.Open(context.Background(), s, cfg)
	if err != nil {
		t.Fatalf("open writer: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func tid(n int) ledger.ID {
	var id ledger.ID
	binary.BigEndian.PutUint64(id[:8], uint64(n))
	id[15] = 0x3c
	return id
}

func ful(n int) [32]byte {
	var f [32]byte
	binary.BigEndian.PutUint64(f[:8], uint64(n))
	f[31] = 0xf1
	return f
}

func prepare(n int, payer, payee string, amount int64, expiry time.Time) ledger.Command {
	return ledger.Command{Op: ledger.OpPrepare, ID: tid(n), Payer: payer, Payee: payee, Currency: "USD",
		Amount: amount, Condition: ledger.ConditionOf(ful(n)), Expiry: expiry, Fingerprint: [32]byte{byte(n), byte(n >> 8), 1}}
}

func fulfil(n int) ledger.Command {
	return ledger.Command{Op: ledger.OpFulfil, ID: tid(n), Fulfilment: ful(n)}
}

func submit(t *testing.T, w *writer.Writer, c ledger.Command) ledger.Result {
	t.Helper()
	r, err := w.Submit(context.Background(), c)
	if err != nil {
		t.Fatalf("Submit(%s %s): %v", c.Op, c.ID, err)
	}
	return r
}

// setup creates participants with USD enabled, collateral and an NDC.
func setup(t *testing.T, w *writer.Writer, collateral int64, ps ...string) {
	t.Helper()
	for _, p := range ps {
		in := ledger.ID{0xf0}
		copy(in[1:], p)
		submit(t, w, ledger.Command{Op: ledger.OpCreateParticipant, Participant: p, Name: "FSP " + p})
		submit(t, w, ledger.Command{Op: ledger.OpEnableCurrency, Participant: p, Currency: "USD"})
		submit(t, w, ledger.Command{Op: ledger.OpSetNDC, Participant: p, Currency: "USD", Amount: collateral})
		submit(t, w, ledger.Command{Op: ledger.OpFundsIn, ID: in, Participant: p, Currency: "USD", Amount: collateral, Fingerprint: [32]byte{9}})
	}
}

// state is everything a ledger holds but final transfers, sorted.
type state struct {
	Participants []ledger.Participant
	Accounts     []ledger.Account
	Pending      []ledger.Transfer
}

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

func normTransfer(t ledger.Transfer) ledger.Transfer {
	t.Expiry, t.Created, t.Completed = normTime(t.Expiry), normTime(t.Created), normTime(t.Completed)
	return t
}

func newState(ps []ledger.Participant, as []ledger.Account, pending []ledger.Transfer) state {
	s := state{Participants: slices.Clone(ps), Accounts: slices.Clone(as)}
	for i := range s.Participants {
		s.Participants[i].Created = normTime(s.Participants[i].Created)
		if len(s.Participants[i].Currencies) == 0 {
			s.Participants[i].Currencies = nil
		}
	}
	for _, p := range pending {
		s.Pending = append(s.Pending, normTransfer(p))
	}
	slices.SortFunc(s.Participants, func(a, b ledger.Participant) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(s.Accounts, func(a, b ledger.Account) int { return strings.Compare(a.AccountKey.String(), b.AccountKey.String()) })
	slices.SortFunc(s.Pending, func(a, b ledger.Transfer) int { return slices.Compare(a.ID[:], b.ID[:]) })
	return s
}

func ledgerState(t *testing.T, w *writer.Writer) state {
	t.Helper()
	var s state
	if err := w.Query(context.Background(), func(l *ledger.Ledger) {
		s = newState(l.Participants(), l.Accounts(), l.Pending())
	}); err != nil {
		t.Fatalf("Query: %v", err)
	}
	return s
}

func storeState(t *testing.T, s store.Store) (state, store.Snapshot) {
	t.Helper()
	snap, err := s.Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return newState(snap.Participants, snap.Accounts, snap.Pending), snap
}

func sameState(t *testing.T, what string, got, want state) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s differs:\n got %+v\nwant %+v", what, got, want)
	}
}

func position(t *testing.T, w *writer.Writer, p string) ledger.Account {
	t.Helper()
	var a ledger.Account
	if err := w.Query(context.Background(), func(l *ledger.Ledger) {
		a, _ = l.Account(ledger.AccountKey{Participant: p, Currency: "USD", Type: ledger.AccountPosition})
	}); err != nil {
		t.Fatal(err)
	}
	return a
}

func transfer(t *testing.T, w *writer.Writer, n int) ledger.Transfer {
	t.Helper()
	tr, err := w.Transfer(context.Background(), tid(n))
	if err != nil {
		t.Fatalf("Transfer(%d): %v", n, err)
	}
	return tr
}

func inMemory(t *testing.T, w *writer.Writer, id ledger.ID) bool {
	t.Helper()
	var ok bool
	if err := w.Query(context.Background(), func(l *ledger.Ledger) { _, ok = l.InMemory(id) }); err != nil {
		t.Fatal(err)
	}
	return ok
}

// faultyStore wraps a store with failures a test switches on.
type faultyStore struct {
	store.Store
	failAppend      atomic.Bool // Append returns an error and writes nothing
	failAfterWrite  atomic.Bool // Append writes, then returns an error
	dropCheckpoints atomic.Bool // Checkpoint returns nil and writes nothing, like a crash before it reached disk
	failCheckpoint  atomic.Bool // Checkpoint returns an error
	gate            atomic.Bool // Append signals entered, then waits for release
	entered         chan struct{}
	release         chan struct{}
	appends         atomic.Int64
}

var errDisk = errors.New("disk unplugged")

func newFaulty(s store.Store) *faultyStore {
	return &faultyStore{Store: s, entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (f *faultyStore) Append(ctx context.Context, es ...*journal.Entry) error {
	return f.AppendOwed(ctx, nil, es...)
}

func (f *faultyStore) AppendOwed(ctx context.Context, msgs []store.Message, es ...*journal.Entry) error {
	f.appends.Add(1)
	if f.gate.Load() {
		f.entered <- struct{}{}
		<-f.release
	}
	if f.failAppend.Load() {
		return errDisk
	}
	if err := f.Store.AppendOwed(ctx, msgs, es...); err != nil {
		return err
	}
	if f.failAfterWrite.Load() {
		return errDisk
	}
	return nil
}

func (f *faultyStore) Checkpoint(ctx context.Context, c *store.Checkpoint) error {
	if f.failCheckpoint.Load() {
		return errDisk
	}
	if f.dropCheckpoints.Load() {
		return nil
	}
	return f.Store.Checkpoint(ctx, c)
}

func TestSubmitRejects(t *testing.T) {
	st := openStore(t, t.TempDir())
	w := openWriter(t, st, writer.Config{})
	for _, op := range []ledger.Op{ledger.OpExpire, 0} {
		r, err := w.Submit(context.Background(), ledger.Command{Op: op, ID: tid(1)})
		if !errors.Is(err, ledger.ErrInvalidCommand) || !reflect.DeepEqual(r, ledger.Result{}) {
			t.Errorf("Submit(op %d) = %+v, %v; want ErrInvalidCommand", op, r, err)
		}
	}
	setup(t, w, 1000, "a", "b")
	head := w.Stats().Head
	_, err := w.Submit(context.Background(), prepare(1, "a", "b", 1001, time.Now().Add(time.Hour)))
	var le *ledger.Error
	if !errors.Is(err, ledger.ErrNDCExceeded) || !errors.As(err, &le) || le.Code != "NDC_EXCEEDED" {
		t.Errorf("prepare over the NDC: %v, want ErrNDCExceeded", err)
	}
	// A duplicate changes nothing either: neither is journaled.
	submit(t, w, ledger.Command{Op: ledger.OpCreateParticipant, Participant: "a", Name: "FSP a"})
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.Stats().Head; got != head {
		t.Errorf("journal head moved from %d to %d for commands that changed nothing", head, got)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Submit(cancelled, prepare(2, "a", "b", 1, time.Now().Add(time.Hour))); !errors.Is(err, context.Canceled) || errors.Is(err, writer.ErrOutcomeUnknown) {
		t.Errorf("Submit with a context already cancelled: %v, want context.Canceled and not outcome unknown", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Submit(context.Background(), prepare(3, "a", "b", 1, time.Now().Add(time.Hour))); !errors.Is(err, writer.ErrClosed) {
		t.Errorf("Submit after Close: %v, want ErrClosed", err)
	}
	if err := w.Flush(context.Background()); !errors.Is(err, writer.ErrClosed) {
		t.Errorf("Flush after Close: %v, want ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestSubmitRejectsExpire submits an expiry the ledger would accept: with
// MaxBatch 1 the writer expires one due transfer per batch, so a second one
// is due and still reserved when the command arrives.
func TestSubmitRejectsExpire(t *testing.T) {
	clk := clock.NewFake(t0)
	st := openStore(t, t.TempDir())
	w := openWriter(t, st, writer.Config{Clock: clk, MaxBatch: 1, ExpiryInterval: time.Hour})
	setup(t, w, 10000, "a", "b")
	submit(t, w, prepare(1, "a", "b", 1, t0.Add(time.Second)))
	submit(t, w, prepare(2, "a", "b", 1, t0.Add(2*time.Second)))
	clk.Advance(time.Minute)
	if _, err := w.Submit(context.Background(), ledger.Command{Op: ledger.OpExpire, ID: tid(2)}); !errors.Is(err, ledger.ErrInvalidCommand) {
		t.Errorf("Submit(EXPIRE) of a due transfer: %v, want ErrInvalidCommand", err)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Each batch expires one; the queries below are batches too.
	for n := 1; n <= 2; n++ {
		if tr := transfer(t, w, n); tr.State != ledger.StateExpired {
			t.Errorf("transfer %d is %s, want EXPIRED", n, tr.State)
		}
	}
	if got := w.Stats().Expired; got != 2 {
		t.Errorf("Stats().Expired = %d, want 2 (none submitted)", got)
	}
}

// TestFlushExpiresAllDue checks Flush's promise when more transfers are due
// than one batch expires.
func TestFlushExpiresAllDue(t *testing.T) {
	clk := clock.NewFake(t0)
	st := openStore(t, t.TempDir())
	w := openWriter(t, st, writer.Config{Clock: clk, MaxBatch: 2, ExpiryInterval: time.Hour})
	setup(t, w, 10000, "a", "b")
	for n := 1; n <= 5; n++ {
		submit(t, w, prepare(n, "a", "b", 1, t0.Add(time.Second)))
	}
	clk.Advance(time.Minute)
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Stats, unlike a query, does not run a batch that would expire more.
	if s := w.Stats(); s.Expired != 5 || s.Pending != 0 {
		t.Errorf("after Flush: %d expired, %d pending; want 5 and 0", s.Expired, s.Pending)
	}
}

// TestConcurrent has hundreds of goroutines submit prepares, fulfils,
// aborts and resends while checkpoints run, and checks every answer and the
// totals. Run it with -race.
func TestConcurrent(t *testing.T) {
	const (
		parts      = 10
		goroutines = 200
		perG       = 4
	)
	st := openStore(t, t.TempDir())
	w := openWriter(t, st, writer.Config{CheckpointInterval: 2 * time.Millisecond, MaxBatch: 64})
	var names []string
	for i := 0; i < parts; i++ {
		names = append(names, fmt.Sprintf("fsp%d", i))
	}
	setup(t, w, 1<<40, names...)
	before := w.Stats()
	ctx := context.Background()
	expiry := time.Now().Add(time.Hour)

	type outcome struct {
		payer, payee int
		amount       int64
		committed    bool
	}
	results := make([][]outcome, goroutines)
	errs := make(chan error, goroutines*perG*4)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < perG; k++ {
				n := g*perG + k
				o := outcome{payer: g % parts, payee: (g + 1 + k) % parts, amount: int64(n%97 + 1), committed: n%5 != 0}
				c := prepare(n, names[o.payer], names[o.payee], o.amount, expiry)
				r, err := w.Submit(ctx, c)
				if err != nil || r.Duplicate || r.Transfer.State != ledger.StateReserved || r.Transfer.ID != c.ID {
					errs <- fmt.Errorf("prepare %d = %+v, %v", n, r, err)
					continue
				}
				finish := fulfil(n)
				want := ledger.StateCommitted
				if !o.committed {
					finish = ledger.Command{Op: ledger.OpAbort, ID: tid(n), Reason: "no"}
					want = ledger.StateAborted
				}
				if r, err := w.Submit(ctx, finish); err != nil || r.Duplicate || r.Transfer.State != want {
					errs <- fmt.Errorf("%s %d = %+v, %v", finish.Op, n, r, err)
					continue
				}
				// A resend finds the transfer, wherever it is by now.
				if r, err := w.Submit(ctx, c); err != nil || !r.Duplicate || r.Transfer.State != want {
					errs <- fmt.Errorf("resend of prepare %d = %+v, %v", n, r, err)
				}
				if tr, err := w.Transfer(ctx, tid(n)); err != nil || tr.State != want {
					errs <- fmt.Errorf("Transfer(%d) = %+v, %v", n, tr, err)
				}
				results[g] = append(results[g], o)
			}
		}()
	}
	// Many submitters of one prepare: exactly one applies it.
	var applied atomic.Int32
	same := prepare(99999, names[0], names[1], 5, expiry)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := w.Submit(ctx, same)
			if err != nil || r.Transfer.ID != same.ID || r.Transfer.State != ledger.StateReserved {
				errs <- fmt.Errorf("concurrent identical prepare = %+v, %v", r, err)
				return
			}
			if !r.Duplicate {
				applied.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := applied.Load(); n != 1 {
		t.Errorf("%d of 20 identical prepares applied, want 1", n)
	}

	debits := make([]int64, parts)
	credits := make([]int64, parts)
	var n int
	for _, os := range results {
		for _, o := range os {
			n++
			if o.committed {
				debits[o.payer] += o.amount
				credits[o.payee] += o.amount
			}
		}
	}
	if n != goroutines*perG {
		t.Fatalf("%d transfers completed, want %d", n, goroutines*perG)
	}
	for i, p := range names {
		a := position(t, w, p)
		wantPending := [2]int64{}
		if i == 0 {
			wantPending[0] = 5
		}
		if i == 1 {
			wantPending[1] = 5
		}
		if a.DebitsPosted != debits[i] || a.CreditsPosted != credits[i] || [2]int64{a.DebitsPending, a.CreditsPending} != wantPending {
			t.Errorf("%s position %+v, want debits %d credits %d pending %v", p, a, debits[i], credits[i], wantPending)
		}
	}
	// Each prepare and each fulfil or abort changed the ledger once.
	if got, want := w.Stats().Applied-before.Applied, uint64(2*goroutines*perG+1); got != want {
		t.Errorf("Stats().Applied grew by %d, want %d", got, want)
	}
	if err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	got, snap := storeState(t, st)
	sameState(t, "store after Checkpoint", got, ledgerState(t, w))
	if snap.Checkpoint != w.Stats().Head {
		t.Errorf("store checkpoint %d, writer head %d", snap.Checkpoint, w.Stats().Head)
	}
}

func TestExpiry(t *testing.T) {
	clk := clock.NewFake(t0)
	dir := t.TempDir()
	st := openStore(t, dir)
	w := openWriter(t, st, writer.Config{Clock: clk, ExpiryInterval: time.Hour})
	setup(t, w, 10000, "a", "b")
	submit(t, w, prepare(1, "a", "b", 300, t0.Add(30*time.Second)))
	submit(t, w, prepare(2, "a", "b", 400, t0.Add(time.Hour)))
	ctx := context.Background()

	clk.Advance(30*time.Second - time.Nanosecond)
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if tr := transfer(t, w, 1); tr.State != ledger.StateReserved {
		t.Fatalf("a nanosecond before expiry: %s", tr.State)
	}
	clk.Advance(time.Nanosecond)
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	tr := transfer(t, w, 1)
	if tr.State != ledger.StateExpired || tr.Reason != "expired" || !tr.Completed.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("at expiry: %+v", tr)
	}
	if a := position(t, w, "a"); a.DebitsPending != 400 || a.DebitsPosted != 0 {
		t.Errorf("payer position after expiry %+v, want only the other reservation pending", a)
	}
	if a := position(t, w, "b"); a.CreditsPending != 400 {
		t.Errorf("payee position after expiry %+v, want 400 credits pending", a)
	}
	if got := w.Stats().Expired; got != 1 {
		t.Errorf("Stats().Expired = %d, want 1", got)
	}
	if _, err := w.Submit(ctx, fulfil(1)); !errors.Is(err, ledger.ErrTransferExpired) {
		t.Errorf("fulfil after expiry: %v, want ErrTransferExpired", err)
	}
	if r := submit(t, w, prepare(1, "a", "b", 300, t0.Add(30*time.Second))); !r.Duplicate || r.Transfer.State != ledger.StateExpired {
		t.Errorf("resend of the expired prepare = %+v, want duplicate EXPIRED", r)
	}

	// The expiry is journaled: a restart keeps it.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = openWriter(t, st, writer.Config{Clock: clk, ExpiryInterval: time.Hour})
	if tr := transfer(t, w, 1); tr.State != ledger.StateExpired {
		t.Errorf("after restart: %s, want EXPIRED", tr.State)
	}
	if a := position(t, w, "a"); a.DebitsPending != 400 {
		t.Errorf("payer position after restart %+v", a)
	}
}

func TestExpiryWhileIdle(t *testing.T) {
	clk := clock.NewFake(t0)
	st := openStore(t, t.TempDir())
	w := openWriter(t, st, writer.Config{Clock: clk, ExpiryInterval: time.Millisecond})
	setup(t, w, 10000, "a", "b")
	submit(t, w, prepare(1, "a", "b", 300, t0.Add(time.Second)))
	clk.Advance(time.Minute)
	// No command: the writer's own timer expires it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if tr := transfer(t, w, 1); tr.State == ledger.StateExpired {
			if !tr.Completed.Equal(t0.Add(time.Minute)) {
				t.Errorf("completed at %v, want the clock's time %v", tr.Completed, t0.Add(time.Minute))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an idle writer did not expire a due transfer")
		}
		time.Sleep(time.Millisecond)
	}
}

// scenario submits a mix of commands and leaves transfers in every state:
// 1 reserved, 2 committed, 3 aborted, 4 a reserved funds out, 5 a committed
// funds out; c is suspended and a's NDC changed.
func scenario(t *testing.T, w *writer.Writer, expiry time.Time) {
	t.Helper()
	setup(t, w, 10000, "a", "b", "c")
	submit(t, w, prepare(1, "a", "b", 100, expiry))
	submit(t, w, prepare(2, "b", "a", 200, expiry))
	submit(t, w, fulfil(2))
	submit(t, w, prepare(3, "a", "c", 300, expiry))
	submit(t, w, ledger.Command{Op: ledger.OpAbort, ID: tid(3), Reason: "payee said no"})
	submit(t, w, ledger.Command{Op: ledger.OpFundsOutReserve, ID: tid(4), Participant: "c", Currency: "USD", Amount: 50, Fingerprint: [32]byte{4}})
	submit(t, w, ledger.Command{Op: ledger.OpFundsOutReserve, ID: tid(5), Participant: "b", Currency: "USD", Amount: 60, Fingerprint: [32]byte{5}})
	submit(t, w, ledger.Command{Op: ledger.OpFundsOutCommit, ID: tid(5)})
	submit(t, w, ledger.Command{Op: ledger.OpSetStatus, Participant: "c", Status: ledger.StatusSuspended})
	submit(t, w, ledger.Command{Op: ledger.OpSetNDC, Participant: "a", Currency: "USD", Amount: 7777})
}

var scenarioStates = map[int]ledger.State{
	1: ledger.StateReserved, 2: ledger.StateCommitted, 3: ledger.StateAborted, 4: ledger.StateReserved, 5: ledger.StateCommitted,
}

// continueScenario checks that work goes on after a restart.
func continueScenario(t *testing.T, w *writer.Writer, expiry time.Time) {
	t.Helper()
	for n, want := range scenarioStates {
		if got := transfer(t, w, n).State; got != want {
			t.Errorf("transfer %d is %s, want %s", n, got, want)
		}
	}
	if r := submit(t, w, prepare(2, "b", "a", 200, expiry)); !r.Duplicate || r.Transfer.State != ledger.StateCommitted {
		t.Errorf("resend of a committed prepare after restart = %+v, want duplicate", r)
	}
	if _, err := w.Submit(context.Background(), prepare(3, "a", "c", 301, expiry)); !errors.Is(err, ledger.ErrModifiedRequest) {
		t.Errorf("modified resend after restart: %v, want ErrModifiedRequest", err)
	}
	if r := submit(t, w, fulfil(1)); r.Duplicate || r.Transfer.State != ledger.StateCommitted {
		t.Errorf("fulfil of a reserved transfer after restart = %+v", r)
	}
	if r := submit(t, w, ledger.Command{Op: ledger.OpFundsOutCommit, ID: tid(4)}); r.Duplicate || r.Transfer.State != ledger.StateCommitted {
		t.Errorf("commit of a reserved funds out after restart = %+v", r)
	}
	if a := position(t, w, "a"); a.DebitsPosted != 100 || a.CreditsPosted != 200 || a.DebitsPending != 0 {
		t.Errorf("a's position %+v", a)
	}
}

func TestRestart(t *testing.T) {
	for _, tt := range []struct {
		name       string
		reopen     bool // close and reopen the store too
		checkpoint time.Duration
	}{
		{"same store", false, time.Hour},
		{"reopened store", true, time.Hour},
		{"frequent checkpoints", true, time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			st := openStore(t, dir)
			cfg := writer.Config{CheckpointInterval: tt.checkpoint}
			w := openWriter(t, st, cfg)
			expiry := time.Now().Add(time.Hour)
			scenario(t, w, expiry)
			want := ledgerState(t, w)
			head := w.Stats().Head
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			// Close stores a last checkpoint.
			if got, snap := storeState(t, st); snap.Checkpoint != head || snap.Head.Seq != head {
				t.Errorf("after Close: checkpoint %d head %d, want both %d", snap.Checkpoint, snap.Head.Seq, head)
			} else {
				sameState(t, "store after Close", got, want)
			}
			var s store.Store = st
			if tt.reopen {
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
				s = openStore(t, dir)
			}
			w = openWriter(t, s, cfg)
			sameState(t, "ledger after restart", ledgerState(t, w), want)
			if got := w.Stats(); got.Head != head || got.Checkpoint != head || got.Pending != 2 {
				t.Errorf("Stats after restart %+v, want head and checkpoint %d and 2 pending", got, head)
			}
			continueScenario(t, w, expiry)
		})
	}
}

// TestCrashRestart loses every checkpoint after some point, as a crash
// before they reached disk would: reopening must replay the journal from
// the last checkpoint that did.
func TestCrashRestart(t *testing.T) {
	for _, tt := range []struct {
		name       string
		checkpoint bool // store one checkpoint before the crash
	}{
		{"replay all", false},
		{"replay after a checkpoint", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			st := openStore(t, dir)
			fs := newFaulty(st)
			fs.dropCheckpoints.Store(!tt.checkpoint)
			cfg := writer.Config{CheckpointInterval: time.Millisecond}
			w := openWriter(t, fs, cfg)
			expiry := time.Now().Add(time.Hour)
			setup(t, w, 10000, "x", "y")
			submit(t, w, prepare(10, "x", "y", 10, expiry))
			submit(t, w, prepare(11, "x", "y", 11, expiry))
			if tt.checkpoint {
				if err := w.Checkpoint(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			fs.dropCheckpoints.Store(true)
			submit(t, w, fulfil(10)) // reserved at the checkpoint, final after
			scenario(t, w, expiry)
			want := ledgerState(t, w)
			head := w.Stats().Head
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}

			st = openStore(t, dir)
			_, snap := storeState(t, st)
			if snap.Head.Seq != head || snap.Checkpoint >= head || (snap.Checkpoint == 0) == tt.checkpoint {
				t.Fatalf("stored head %d checkpoint %d; want head %d and a checkpoint before it (none: %v)", snap.Head.Seq, snap.Checkpoint, head, !tt.checkpoint)
			}
			w = openWriter(t, st, cfg)
			sameState(t, "ledger after replay", ledgerState(t, w), want)
			if got := transfer(t, w, 10).State; got != ledger.StateCommitted {
				t.Errorf("transfer 10 after replay is %s", got)
			}
			if got := transfer(t, w, 11).State; got != ledger.StateReserved {
				t.Errorf("transfer 11 after replay is %s", got)
			}
			continueScenario(t, w, expiry)
			// And the replayed state reaches the store at the next checkpoint.
			if err := w.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, _ := storeState(t, st)
			sameState(t, "store after replay and checkpoint", got, ledgerState(t, w))
		})
	}
}

func TestAppendFails(t *testing.T) {
	for _, tt := range []struct {
		name    string
		written bool // the entry reached the disk before the error
	}{
		{"nothing written", false},
		{"written", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			st := openStore(t, dir)
			fs := newFaulty(st)
			w := openWriter(t, fs, writer.Config{})
			setup(t, w, 10000, "a", "b")
			expiry := time.Now().Add(time.Hour)
			c := prepare(1, "a", "b", 100, expiry)
			if tt.written {
				fs.failAfterWrite.Store(true)
			} else {
				fs.failAppend.Store(true)
			}
			r, err := w.Submit(context.Background(), c)
			if !errors.Is(err, writer.ErrOutcomeUnknown) || !errors.Is(err, errDisk) {
				t.Fatalf("Submit with a failing append = %+v, %v; want ErrOutcomeUnknown wrapping the cause", r, err)
			}
			appends := fs.appends.Load()
			fs.failAppend.Store(false)
			fs.failAfterWrite.Store(false)
			for _, c := range []ledger.Command{prepare(2, "a", "b", 1, expiry), fulfil(1), c} {
				if _, err := w.Submit(context.Background(), c); !errors.Is(err, writer.ErrFailed) {
					t.Errorf("Submit(%s) after a failed append: %v, want ErrFailed", c.Op, err)
				}
			}
			if err := w.Flush(context.Background()); !errors.Is(err, writer.ErrFailed) {
				t.Errorf("Flush after a failed append: %v, want ErrFailed", err)
			}
			if err := w.Checkpoint(context.Background()); !errors.Is(err, writer.ErrFailed) {
				t.Errorf("Checkpoint after a failed append: %v, want ErrFailed", err)
			}
			if got := fs.appends.Load(); got != appends {
				t.Errorf("%d more appends after the failure", got-appends)
			}
			if err := w.Close(); !errors.Is(err, writer.ErrFailed) {
				t.Errorf("Close after a failed append: %v, want ErrFailed", err)
			}

			// Restarting reloads the truth; retrying by id is safe.
			w = openWriter(t, st, writer.Config{})
			r = submit(t, w, c)
			if r.Duplicate != tt.written || r.Transfer.State != ledger.StateReserved {
				t.Errorf("retry after restart = %+v, want duplicate=%v", r, tt.written)
			}
			if a := position(t, w, "a"); a.DebitsPending != 100 {
				t.Errorf("payer position %+v: the prepare is not applied exactly once", a)
			}
		})
	}
}

func TestAppendFailsForWholeBatch(t *testing.T) {
	st := openStore(t, t.TempDir())
	fs := newFaulty(st)
	w := openWriter(t, fs, writer.Config{})
	setup(t, w, 10000, "a", "b")
	expiry := time.Now().Add(time.Hour)
	fs.gate.Store(true)
	first := make(chan error, 1)
	go func() {
		_, err := w.Submit(context.Background(), prepare(1, "a", "b", 1, expiry))
		first <- err
	}()
	<-fs.entered // the writer is in Append for the first batch
	fs.failAppend.Store(true)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.Submit(context.Background(), prepare(10+i, "a", "b", 1, expiry))
		}()
	}
	time.Sleep(20 * time.Millisecond) // let them queue behind the first batch
	fs.gate.Store(false)
	fs.release <- struct{}{}
	if err := <-first; !errors.Is(err, writer.ErrOutcomeUnknown) {
		t.Errorf("first batch: %v, want ErrOutcomeUnknown", err)
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, writer.ErrOutcomeUnknown) && !errors.Is(err, writer.ErrFailed) {
			t.Errorf("submit %d: %v, want ErrOutcomeUnknown or ErrFailed", i, err)
		}
	}
}

func TestCheckpointFails(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	fs := newFaulty(st)
	w := openWriter(t, fs, writer.Config{CheckpointInterval: time.Hour})
	setup(t, w, 10000, "a", "b")
	fs.failCheckpoint.Store(true)
	r := submit(t, w, prepare(1, "a", "b", 100, time.Now().Add(time.Hour)))
	if err := w.Checkpoint(context.Background()); err == nil {
		t.Fatal("Checkpoint succeeded with a failing store")
	}
	if _, err := w.Submit(context.Background(), fulfil(1)); !errors.Is(err, writer.ErrFailed) {
		t.Errorf("Submit after a failed checkpoint: %v, want ErrFailed", err)
	}
	w.Close()
	// The journal has the acknowledged prepare.
	w = openWriter(t, st, writer.Config{})
	if tr := transfer(t, w, 1); !reflect.DeepEqual(normTransfer(tr), normTransfer(r.Transfer)) {
		t.Errorf("after restart %+v, want the acknowledged %+v", tr, r.Transfer)
	}
}

func TestContextCancelledWhileWaiting(t *testing.T) {
	st := openStore(t, t.TempDir())
	fs := newFaulty(st)
	w := openWriter(t, fs, writer.Config{})
	setup(t, w, 10000, "a", "b")
	expiry := time.Now().Add(time.Hour)
	c := prepare(1, "a", "b", 100, expiry)
	fs.gate.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := w.Submit(ctx, c)
		done <- err
	}()
	<-fs.entered
	cancel()
	err := <-done
	if !errors.Is(err, writer.ErrOutcomeUnknown) || !errors.Is(err, context.Canceled) {
		t.Errorf("Submit whose context ends while waiting: %v, want ErrOutcomeUnknown and context.Canceled", err)
	}
	// The command was taken and becomes durable after all.
	fs.gate.Store(false)
	fs.release <- struct{}{}
	r := submit(t, w, c)
	if !r.Duplicate || r.Transfer.State != ledger.StateReserved {
		t.Errorf("retry = %+v, want a duplicate of the reserved transfer", r)
	}
	if a := position(t, w, "a"); a.DebitsPending != 100 {
		t.Errorf("payer position %+v, want 100 pending once", a)
	}
	// A deadline that passes while queued is reported the same way.
	fs.gate.Store(true)
	second := make(chan error, 1)
	go func() {
		_, err := w.Submit(context.Background(), prepare(2, "a", "b", 1, expiry))
		second <- err
	}()
	<-fs.entered
	short, cancel2 := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel2()
	if _, err := w.Submit(short, prepare(3, "a", "b", 1, expiry)); !errors.Is(err, writer.ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Submit past its deadline: %v, want ErrOutcomeUnknown and DeadlineExceeded", err)
	}
	fs.gate.Store(false)
	fs.release <- struct{}{}
	if err := <-second; err != nil {
		t.Errorf("the submit the store held: %v", err)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tr := transfer(t, w, 3); tr.State != ledger.StateReserved {
		t.Errorf("the abandoned prepare was applied as %s", tr.State)
	}
}

func TestTransferLookup(t *testing.T) {
	st := openStore(t, t.TempDir())
	w := openWriter(t, st, writer.Config{CheckpointInterval: time.Hour})
	setup(t, w, 10000, "a", "b")
	ctx := context.Background()
	expiry := time.Now().Add(time.Hour)

	submit(t, w, prepare(1, "a", "b", 100, expiry))
	if tr := transfer(t, w, 1); tr.State != ledger.StateReserved || tr.Amount != 100 {
		t.Errorf("reserved transfer: %+v", tr)
	}
	submit(t, w, fulfil(1))
	if tr := transfer(t, w, 1); tr.State != ledger.StateCommitted || tr.Fulfilment != ful(1) {
		t.Errorf("recently final transfer: %+v", tr)
	}
	if _, err := st.Transfer(ctx, tid(1)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the store has the transfer before any checkpoint: %v", err)
	}
	if _, err := w.Transfer(ctx, tid(99)); !errors.Is(err, ledger.ErrTransferNotFound) {
		t.Errorf("Transfer(unknown): %v, want ErrTransferNotFound", err)
	}

	if err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if tr, err := st.Transfer(ctx, tid(1)); err != nil || tr.State != ledger.StateCommitted {
		t.Errorf("store after Checkpoint: %+v, %v", tr, err)
	}
	// Once the checkpoint is stored the ledger forgets the final transfer;
	// the writer finds it in the store.
	deadline := time.Now().Add(10 * time.Second)
	for inMemory(t, w, tid(1)) {
		if time.Now().After(deadline) {
			t.Fatal("the ledger never forgot a checkpointed final transfer")
		}
		time.Sleep(time.Millisecond)
	}
	if tr := transfer(t, w, 1); tr.State != ledger.StateCommitted || tr.Fulfilment != ful(1) {
		t.Errorf("checkpointed transfer: %+v", tr)
	}
	if r := submit(t, w, fulfil(1)); !r.Duplicate || r.Transfer.State != ledger.StateCommitted {
		t.Errorf("fulfil resend of a forgotten transfer = %+v, want duplicate", r)
	}
	if _, err := w.Submit(ctx, prepare(1, "a", "b", 101, expiry)); !errors.Is(err, ledger.ErrModifiedRequest) {
		t.Errorf("modified prepare of a forgotten transfer: %v, want ErrModifiedRequest", err)
	}
}

func TestCheckpointReflectsAcknowledged(t *testing.T) {
	st := openStore(t, t.TempDir())
	w := openWriter(t, st, writer.Config{CheckpointInterval: time.Hour})
	ctx := context.Background()
	if err := w.Checkpoint(ctx); err != nil {
		t.Fatalf("Checkpoint of an empty ledger: %v", err)
	}
	scenario(t, w, time.Now().Add(time.Hour))
	if _, snap := storeState(t, st); snap.Checkpoint == w.Stats().Head {
		t.Fatalf("the store is already up to date; the test checks nothing")
	}
	if err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	got, snap := storeState(t, st)
	sameState(t, "store after Checkpoint", got, ledgerState(t, w))
	if head := w.Stats().Head; snap.Checkpoint != head || w.Stats().Checkpoint != head {
		t.Errorf("store checkpoint %d, Stats %+v, want %d", snap.Checkpoint, w.Stats(), head)
	}
	for n, want := range scenarioStates {
		if tr, err := st.Transfer(ctx, tid(n)); err != nil || tr.State != want {
			t.Errorf("stored transfer %d = %+v, %v; want %s", n, tr, err, want)
		}
	}
	ps, err := st.Participants(ctx)
	if err != nil || len(ps) != 3 || ps[2].Status != ledger.StatusSuspended {
		t.Errorf("stored participants %+v, %v", ps, err)
	}
	// Checkpoint with a context that has ended.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := w.Checkpoint(cancelled); err == nil {
		t.Errorf("Checkpoint with a cancelled context succeeded")
	}
}

func TestSubmitManyAppliesInOrderEachOnItsOwn(t *testing.T) {
	st, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := writer.Open(context.Background(), st, writer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmds := []ledger.Command{
		{Op: ledger.OpCreateParticipant, Participant: "bank", Name: "Bank"},
		{Op: ledger.OpEnableCurrency, Participant: "bank", Currency: "USD"},
		{Op: ledger.OpEnableCurrency, Participant: "nobody", Currency: "USD"},
		{Op: ledger.OpFundsIn, ID: ledger.ID{1}, Participant: "bank", Currency: "USD", Amount: 500},
	}
	res, errs := w.SubmitMany(context.Background(), cmds)
	for i, want := range []error{nil, nil, ledger.ErrParticipantNotFound, nil} {
		if !errors.Is(errs[i], want) || (want == nil && errs[i] != nil) {
			t.Errorf("command %d (%s): error %v, want %v", i, cmds[i].Op, errs[i], want)
		}
	}
	if res[3].Transfer.State != ledger.StateCommitted || res[3].Transfer.Amount != 500 {
		t.Errorf("funds in: %+v", res[3].Transfer)
	}
	var bal int64
	w.Query(context.Background(), func(l *ledger.Ledger) {
		a, _ := l.Account(ledger.AccountKey{Participant: "bank", Currency: "USD", Type: ledger.AccountSettlement})
		bal = a.Balance()
	})
	if bal != 500 {
		t.Errorf("settlement balance %d, want 500", bal)
	}
	_, errs = w.SubmitMany(context.Background(), []ledger.Command{{Op: ledger.OpExpire, ID: ledger.ID{1}}})
	if !errors.Is(errs[0], ledger.ErrInvalidCommand) {
		t.Errorf("SubmitMany of OpExpire: %v, want ErrInvalidCommand", errs[0])
	}
}

func TestParticipantSnapshot(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	w := openWriter(t, st, writer.Config{})
	if _, ok := w.Participant("alpha"); ok {
		t.Fatalf("Participant(alpha) before it exists: found")
	}
	setup(t, w, 1000, "alpha")
	p, ok := w.Participant("alpha")
	if !ok || p.Status != ledger.StatusActive || len(p.Currencies) != 1 || p.Currencies[0].NDC != 1000 {
		t.Fatalf("Participant(alpha) = %+v, %v; want active with a USD NDC of 1000", p, ok)
	}
	submit(t, w, ledger.Command{Op: ledger.OpSetStatus, Participant: "alpha", Status: ledger.StatusSuspended})
	if p, _ := w.Participant("alpha"); p.Status != ledger.StatusSuspended {
		t.Errorf("after suspend, status %s", p.Status)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2 := openWriter(t, st, writer.Config{})
	if p, ok := w2.Participant("alpha"); !ok || p.Status != ledger.StatusSuspended {
		t.Errorf("after restart, Participant(alpha) = %+v, %v", p, ok)
	}
}

// TestEvents: every durable batch is told to the subscribers with the
// transfers it expired and the messages its changes owe, which the store
// already keeps when the event arrives; refusals and resends owe nothing.
func TestEvents(t *testing.T) {
	clk := clock.NewFake(t0)
	var mu sync.Mutex
	var expired []ledger.Transfer
	var owed []string
	var st *pebble.Store
	stored := func() map[uint64]string {
		m := map[uint64]string{}
		if err := st.Owed(context.Background(), func(id uint64, v []byte) error { m[id] = string(v); return nil }); err != nil {
			t.Error(err)
		}
		return m
	}
	var next uint64
	msg := func(s string) []store.Message {
		next++
		return []store.Message{{ID: next, Value: []byte(s)}}
	}
	cfg := writer.Config{Clock: clk, ExpiryInterval: time.Hour,
		OweExpired: func(tr *ledger.Transfer) []store.Message { return msg("expired " + tr.ID.String()) },
		Subscribers: []func(*writer.Event){func(ev *writer.Event) {
			mu.Lock()
			defer mu.Unlock()
			expired = append(expired, ev.Expired...)
			kept := stored()
			for _, m := range ev.Owed {
				if kept[m.ID] != string(m.Value) {
					t.Errorf("event owes %d %q, which the store does not keep", m.ID, m.Value)
				}
				owed = append(owed, string(m.Value))
			}
		}}}
	st = openStore(t, t.TempDir())
	w := openWriter(t, st, cfg)
	setup(t, w, 10000, "a", "b")
	owe := func(name string) writer.Owe {
		return func(r *ledger.Result) []store.Message { return msg(name + " " + r.Transfer.State.String()) }
	}
	ctx := context.Background()
	for _, c := range []struct {
		cmd  ledger.Command
		name string
	}{
		{prepare(1, "a", "b", 300, t0.Add(30*time.Second)), "prepare 1"},
		{prepare(2, "a", "b", 400, t0.Add(30*time.Second)), "prepare 2"},
		{prepare(2, "a", "b", 400, t0.Add(30*time.Second)), "resend 2"},
		{prepare(3, "a", "b", 50000, t0.Add(time.Hour)), "refused 3"},
		{fulfil(2), "fulfil 2"},
	} {
		if _, err := w.SubmitOwing(ctx, c.cmd, owe(c.name)); err != nil && c.name != "refused 3" {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	clk.Advance(30 * time.Second)
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(expired) != 1 || expired[0].ID != tid(1) || expired[0].State != ledger.StateExpired {
		t.Errorf("events expired %+v, want transfer 1, once", expired)
	}
	want := []string{"prepare 1 RESERVED", "prepare 2 RESERVED", "fulfil 2 COMMITTED", "expired " + tid(1).String()}
	if !slices.Equal(owed, want) {
		t.Errorf("events owed %q, want %q", owed, want)
	}
}

// TestStoreOwed: messages owed by something other than a command are stored
// with the next batch and in its Event, and StoreOwed returns once they are
// durable.
func TestStoreOwed(t *testing.T) {
	var mu sync.Mutex
	var seen []uint64
	st := openStore(t, t.TempDir())
	w := openWriter(t, st, writer.Config{Subscribers: []func(*writer.Event){func(ev *writer.Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range ev.Owed {
			seen = append(seen, m.ID)
		}
	}}})
	msgs := []store.Message{{ID: 41, Value: []byte("quote")}, {ID: 42, Value: []byte("party")}}
	if err := w.StoreOwed(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	kept := map[uint64]string{}
	if err := st.Owed(context.Background(), func(id uint64, v []byte) error { kept[id] = string(v); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(kept, map[uint64]string{41: "quote", 42: "party"}) {
		t.Errorf("store keeps %v after StoreOwed, want both", kept)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, []uint64{41, 42}) {
		t.Errorf("events owed %v, want [41 42]", seen)
	}
	w.Close()
	if err := w.StoreOwed(context.Background(), msgs); !errors.Is(err, writer.ErrClosed) {
		t.Errorf("StoreOwed after Close = %v, want ErrClosed", err)
	}
}
