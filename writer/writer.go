// Package writer owns the ledger. One goroutine holds the ledger state;
// any number of callers submit commands to it. The writer takes everything
// queued (a batch), applies each command in order, persists the batch with
// one durable commit, and only then answers every caller:
//
//	callers --Submit--> queue --> [writer goroutine]
//	                                 expire due transfers
//	                                 apply each command (failures change nothing)
//	                                 build the messages each change owes
//	                                 seal a journal entry
//	                              [syncer goroutine]
//	                                 store.AppendOwed the entries queued and
//	                                 their messages (one sync)
//	                                 tell the subscribers (Event)
//	                                 answer callers
//	                              every CheckpointInterval:
//	                                 hand the changed state to the checkpointer,
//	                                 which stores it while the writer goes on;
//	                                 then forget the final transfers it stored
//
// The writer applies the next batch while the syncer waits for the disk, and
// the syncer writes every entry that has queued up meanwhile with one sync.
// No caller is answered before its effects are durable: the journal entry is,
// and so are the messages its commands owe participants (SubmitOwing,
// Config.OweExpired), which the store keeps in the same commit.
// The state it leaves behind is stored at the next checkpoint; on start, the
// writer restores the last checkpoint and replays the journal after it.
// If an append fails, the writer cannot know whether the entry is on disk:
// it answers the batch with ErrOutcomeUnknown, refuses further work with
// ErrFailed, and the process must be restarted, which reloads the truth from
// the store.
package writer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/journal"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
)

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("writer: closed")

// ErrFailed is returned by Submit after a commit failed; restart to recover.
var ErrFailed = errors.New("writer: stopped after a storage failure; restart to recover")

// ErrOutcomeUnknown is returned when a command was taken but whether its
// effect is durable cannot be known: the commit failed, or the caller's
// context ended while waiting. Retrying with the same transfer id is safe:
// the ledger answers a resend of an applied command with its current state.
var ErrOutcomeUnknown = errors.New("writer: outcome unknown; retry with the same id")

// Config configures a Writer.
type Config struct {
	// Clock gives the time each batch is applied at. Default clock.Real{}.
	Clock clock.Clock
	// MaxBatch is the most commands applied in one commit. Default 16384.
	MaxBatch int
	// ExpiryInterval is how often an idle writer looks for transfers due to
	// expire. Default 10ms.
	ExpiryInterval time.Duration
	// CheckpointInterval is how often the state is stored. Longer means
	// fewer writes of transfers that finish quickly and more journal to
	// replay after a crash. Default 2s.
	CheckpointInterval time.Duration
	// MaxQueue is the most commands waiting for the writer; a Submit
	// beyond it waits for room (or for its context to end, with nothing
	// queued). Default 65536.
	MaxQueue int
	// Logger receives the writer's logs. Default slog.Default().
	Logger *slog.Logger
	// OweExpired, if set, builds the messages owed for a transfer the
	// writer expired (expiries have no caller to submit them), from the
	// writer goroutine; they are stored in the same commit as the expiry.
	// It must not block.
	OweExpired func(*ledger.Transfer) []store.Message
	// Positions makes each Event carry the positions its batch changed.
	Positions bool
	// Subscribers are told of every durable batch, in journal order, from
	// the syncer goroutine, before the batch's callers are answered. They
	// must not block and must not keep the Event or its slices.
	Subscribers []func(*Event)
}

// Event is what one durable batch did that other parts of the switch act
// on.
type Event struct {
	// Seq is the journal sequence number of the batch's entry; 0 when the
	// batch changed nothing.
	Seq uint64
	// Expired are the transfers the writer expired in the batch.
	Expired []ledger.Transfer
	// Positions are the positions the batch changed, or whose net debit
	// cap it changed, when Config.Positions is set.
	Positions []ledger.Position
	// Owed are the messages the batch's commands owe participants, now
	// durable.
	Owed []store.Message
}

// DefaultConfig returns the default configuration.
func DefaultConfig() Config {
	return Config{Clock: clock.Real{}, MaxBatch: 16384, ExpiryInterval: 10 * time.Millisecond,
		CheckpointInterval: 2 * time.Second, MaxQueue: 65536, Logger: slog.Default()}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = d.MaxBatch
	}
	if c.ExpiryInterval <= 0 {
		c.ExpiryInterval = d.ExpiryInterval
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = d.CheckpointInterval
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = d.MaxQueue
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
}

// Stats counts the writer's work since it started.
type Stats struct {
	Batches  uint64 // journal entries appended
	Commands uint64 // commands taken, including those that failed
	Applied  uint64 // commands that changed the ledger, expiries included
	Expired  uint64 // transfers expired by the writer
	MaxBatch uint64 // most commands in one batch
	Pending  int64  // reserved transfers now
	Head     uint64 // journal sequence number of the last entry
	// Checkpoint is the journal sequence number the stored state reflects.
	Checkpoint uint64
}

type request struct {
	cmd   ledger.Command
	owe   Owe                  // builds the messages a change owes, when set
	owed  []store.Message      // messages to store with the batch (StoreOwed)
	query func(*ledger.Ledger) // run in order instead of cmd, when set
	res   ledger.Result
	err   error
	done  chan struct{} // receives once the request is answered, unless group is set
	group *group
}

// group counts the answers a SubmitMany call waits for.
type group struct {
	left atomic.Int64
	done chan struct{}
}

// answer tells the caller its request is answered.
func (r *request) answer() {
	if g := r.group; g != nil {
		if g.left.Add(-1) == 0 {
			close(g.done)
		}
		return
	}
	r.done <- struct{}{}
}

var requests = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// opFlush is a request that changes nothing; it makes the writer run a batch.
const opFlush ledger.Op = 0

// Writer owns a ledger and its store.
type Writer struct {
	cfg    Config
	store  Store
	finder store.Finder // owned by the writer goroutine
	ids    *idFilter    // owned by the writer goroutine
	cpIDs  []ledger.ID  // ids the checkpoint in flight stores first; writer goroutine
	led    *ledger.Ledger
	head   journal.Head // owned by the writer goroutine

	mu      sync.Mutex // guards the fields below
	queue   []*request
	closed  bool
	forceCP bool          // checkpoint after the next batch
	taken   chan struct{} // closed when the writer takes the queue, if full

	// progress is closed, and replaced, whenever synced, checkpointed or
	// failed changes: waiters on those are signalled, not polling.
	pmu      sync.Mutex // guards progress
	progress chan struct{}

	wake chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup

	// Batches applied but not yet durable, in order, for the syncer.
	syncQ  chan *applied
	synced atomic.Uint64 // journal seq of the last durable entry

	// Checkpoints: at most one in flight, run by the checkpointer goroutine.
	cpRequests   chan *store.Checkpoint
	cpDone       chan error
	cpInFlight   bool      // owned by the writer goroutine
	lastCP       time.Time // owned by the writer goroutine
	checkpointed atomic.Uint64

	// participants is the durable participants, for lock-free reads;
	// replaced whole when a batch changes one.
	participants atomic.Pointer[map[string]ledger.Participant]

	failed   atomic.Bool
	batches  atomic.Uint64
	commands atomic.Uint64
	applied  atomic.Uint64
	expired  atomic.Uint64
	maxBatch atomic.Uint64
	pending  atomic.Int64
	headSeq  atomic.Uint64

	// Reused by the writer goroutine.
	spare []*request
}

// applied is a batch the writer goroutine has applied, on its way to the
// syncer, which makes its journal entry durable and then answers its
// callers.
type applied struct {
	entry     *journal.Entry // nil when the batch changed nothing
	reqs      []*request
	expired   []ledger.Transfer // for the Event
	positions []ledger.Position // for the Event
	owed      []store.Message   // stored with the entry
	// participants, when the batch changed one, is the new set to publish
	// once the batch is durable.
	participants *map[string]ledger.Participant
}

// Store is what the writer needs of a store: its own side, and the
// readers' side, from which it reads transfers it no longer holds and which
// it hands to readers (Store, Read). store.Store implements it.
type Store interface {
	store.Writer
	store.Reader
}

// Open restores the ledger from s and starts the writer goroutine. The
// caller keeps ownership of s and closes it after Close.
func Open(ctx context.Context, s Store, cfg Config) (*Writer, error) {
	cfg.fill()
	snap, err := s.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load ledger: %w", err)
	}
	finder, err := s.NewFinder()
	if err != nil {
		return nil, fmt.Errorf("load ledger: %w", err)
	}
	began := time.Now()
	ids, nids, err := loadIDFilter(ctx, s, snap.Transfers)
	if err != nil {
		finder.Close()
		return nil, fmt.Errorf("load transfer ids: %w", err)
	}
	cfg.Logger.Info("transfer ids loaded", "transfers", nids, "took", time.Since(began).Round(time.Millisecond))
	led := ledger.New(filteredFinder{ids: ids, finder: finder})
	if err := led.Restore(snap.Participants, snap.Accounts, snap.Pending); err != nil {
		finder.Close()
		return nil, err
	}
	if err := led.RestoreSettlement(snap.Windows, snap.Settlements); err != nil {
		finder.Close()
		return nil, err
	}
	if cfg.Positions {
		led.TrackPositions()
	}
	w := &Writer{
		ids:        ids,
		finder:     finder,
		cfg:        cfg,
		store:      s,
		led:        led,
		head:       journal.Head{Seq: snap.Checkpoint},
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		cpRequests: make(chan *store.Checkpoint),
		cpDone:     make(chan error, 1),
		syncQ:      make(chan *applied, 64),
		progress:   make(chan struct{}),
	}
	replayed, err := w.replay(ctx, snap)
	if err != nil {
		finder.Close()
		return nil, err
	}
	w.pending.Store(int64(led.PendingCount()))
	w.participants.Store(participantMap(led))
	w.headSeq.Store(w.head.Seq)
	w.checkpointed.Store(snap.Checkpoint)
	w.synced.Store(w.head.Seq)
	cfg.Logger.Info("ledger restored", "journal_seq", w.head.Seq, "checkpoint", snap.Checkpoint,
		"replayed_entries", replayed, "participants", len(snap.Participants),
		"reserved_transfers", led.PendingCount())
	w.lastCP = time.Now()
	w.wg.Add(3)
	go w.checkpointer()
	go w.syncer()
	go w.run()
	return w, nil
}

// replay applies the journal entries after the checkpoint. Each must apply
// exactly as it did the first time; anything else means the store is
// corrupt.
func (w *Writer) replay(ctx context.Context, snap store.Snapshot) (int, error) {
	n := 0
	err := w.store.Journal(ctx, snap.Checkpoint+1, func(e *journal.Entry) error {
		if e.Seq != w.head.Seq+1 {
			return fmt.Errorf("%w: journal entry %d follows %d", store.ErrCorrupt, e.Seq, w.head.Seq)
		}
		if w.head.Seq > snap.Checkpoint && e.Prev != w.head.Hash {
			return fmt.Errorf("%w: journal entry %d does not link to entry %d", store.ErrCorrupt, e.Seq, w.head.Seq)
		}
		if e.ComputeHash() != e.Hash {
			return fmt.Errorf("%w: journal entry %d fails its hash", store.ErrCorrupt, e.Seq)
		}
		err := e.EachCommand(func(c *ledger.Command) error {
			r, err := w.led.Apply(e.Time, c)
			if err == nil && r.Duplicate {
				err = errors.New("it changed nothing")
			}
			if err != nil {
				return fmt.Errorf("%w: replay journal entry %d: %s %s: %v", store.ErrCorrupt, e.Seq, c.Op, c.ID, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		w.head = journal.Head{Seq: e.Seq, Hash: e.Hash}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	if w.head.Seq != snap.Head.Seq {
		return n, fmt.Errorf("%w: replay ended at entry %d, the journal head is %d", store.ErrCorrupt, w.head.Seq, snap.Head.Seq)
	}
	w.head = snap.Head
	return n, nil
}

// Participant returns a participant as of the last durable batch, without
// going through the writer: for the checks every API request makes.
func (w *Writer) Participant(id string) (ledger.Participant, bool) {
	p, ok := (*w.participants.Load())[id]
	return p, ok
}

func participantMap(l *ledger.Ledger) *map[string]ledger.Participant {
	m := make(map[string]ledger.Participant)
	for _, p := range l.Participants() {
		m[p.ID] = p
	}
	return &m
}

// Store returns the store the writer commits to, for reads.
func (w *Writer) Store() store.Reader { return w.store }

// Submit applies one command and returns its result once it is durable.
// A ledger rule the command breaks is returned as a *ledger.Error (compare
// with errors.Is); such a command changed nothing.
func (w *Writer) Submit(ctx context.Context, c ledger.Command) (ledger.Result, error) {
	return w.SubmitOwing(ctx, c, nil)
}

// Owe builds the messages a command's change obliges the hub to send. The
// writer calls it from its goroutine right after the command changed the
// ledger (never for a refusal or a resend that changed nothing), with the
// result the caller will get; it must not block or call the writer.
type Owe func(*ledger.Result) []store.Message

// StoreOwed stores msgs, messages owed by something other than a ledger
// command, with the next batch's commit, and returns once they are durable:
// they share the journal's sync instead of taking one of their own. They
// are in that batch's Event too. It returns ErrOutcomeUnknown (wrapped)
// when the commit failed, ErrClosed after Close.
func (w *Writer) StoreOwed(ctx context.Context, msgs []store.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.failed.Load() {
		return ErrFailed
	}
	r := requests.Get().(*request)
	r.cmd = ledger.Command{Op: opFlush}
	r.owed = msgs
	if err := w.enqueue(ctx, r); err != nil {
		*r = request{done: r.done}
		requests.Put(r)
		return err
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctx.Err())
	}
	err := r.err
	*r = request{done: r.done}
	requests.Put(r)
	return err
}

// SubmitOwing is Submit that also stores the messages owe builds in the same
// durable commit as the command, and hands them to the subscribers in the
// batch's Event.
func (w *Writer) SubmitOwing(ctx context.Context, c ledger.Command, owe Owe) (ledger.Result, error) {
	if c.Op == opFlush || c.Op == ledger.OpExpire {
		return ledger.Result{}, fmt.Errorf("%w: %s cannot be submitted", ledger.ErrInvalidCommand, c.Op)
	}
	return w.submit(ctx, c, nil, owe)
}

// SubmitMany applies commands in order, as consecutive commands of one
// batch or of consecutive batches, and returns their results and errors,
// index by index, once all are durable. Each succeeds or fails on its own,
// as with Submit; it saves a caller with many commands the cost of a
// round trip each.
func (w *Writer) SubmitMany(ctx context.Context, cmds []ledger.Command) ([]ledger.Result, []error) {
	res := make([]ledger.Result, len(cmds))
	errs := make([]error, len(cmds))
	fail := func(err error) ([]ledger.Result, []error) {
		for i := range errs {
			errs[i] = err
		}
		return res, errs
	}
	if len(cmds) == 0 {
		return res, errs
	}
	for _, c := range cmds {
		if c.Op == opFlush || c.Op == ledger.OpExpire {
			return fail(fmt.Errorf("%w: %s cannot be submitted", ledger.ErrInvalidCommand, c.Op))
		}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if w.failed.Load() {
		return fail(ErrFailed)
	}
	g := &group{done: make(chan struct{})}
	g.left.Store(int64(len(cmds)))
	reqs := make([]request, len(cmds))
	ptrs := make([]*request, len(cmds))
	for i := range reqs {
		reqs[i].cmd, reqs[i].group = cmds[i], g
		ptrs[i] = &reqs[i]
	}
	if err := w.enqueue(ctx, ptrs...); err != nil {
		return fail(err)
	}
	select {
	case <-g.done:
	case <-ctx.Done():
		return fail(fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctx.Err()))
	}
	for i := range reqs {
		res[i], errs[i] = reqs[i].res, reqs[i].err
	}
	return res, errs
}

// Flush returns once every command submitted before it is durable and every
// transfer due to expire at the clock's current time has expired.
func (w *Writer) Flush(ctx context.Context) error {
	for {
		if _, err := w.submit(ctx, ledger.Command{Op: opFlush}, nil, nil); err != nil {
			return err
		}
		// One batch expires at most MaxBatch transfers; go on until none
		// is due.
		var due bool
		err := w.Query(ctx, func(l *ledger.Ledger) {
			next, ok := l.NextExpiry()
			due = ok && !next.After(w.cfg.Clock.Now())
		})
		if err != nil || !due {
			return err
		}
	}
}

// Query runs fn on the ledger in the writer goroutine, in order with the
// commands submitted around it, and returns once every command before it is
// durable. fn must only read, and must copy what it keeps.
func (w *Writer) Query(ctx context.Context, fn func(*ledger.Ledger)) error {
	_, err := w.submit(ctx, ledger.Command{Op: opFlush}, fn, nil)
	return err
}

// Transfer returns a transfer by id: from the ledger's memory when it is
// reserved or recently final, else from the store. It returns
// ledger.ErrTransferNotFound when no transfer has the id.
func (w *Writer) Transfer(ctx context.Context, id ledger.ID) (ledger.Transfer, error) {
	var t ledger.Transfer
	var ok bool
	if err := w.Query(ctx, func(l *ledger.Ledger) { t, ok = l.InMemory(id) }); err != nil {
		return t, err
	}
	if ok {
		return t, nil
	}
	// Not in memory: stored, since the writer forgets a transfer only after
	// a checkpoint has stored it.
	t, err := w.store.Transfer(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return t, ledger.ErrTransferNotFound
	}
	return t, err
}

// Read makes the store reflect every command acknowledged before the call,
// then calls fn with the store to read it: a read in fn sees at least that
// state (checkpoints may store newer state while fn runs). fn must not keep
// r after it returns. Read returns fn's error, or the writer's if the store
// could not be brought up to date, in which case fn is not called.
func (w *Writer) Read(ctx context.Context, fn func(r store.Reader) error) error {
	if err := w.Checkpoint(ctx); err != nil {
		return err
	}
	return fn(w.store)
}

// Checkpoint returns once the store holds the state as of every command
// acknowledged before the call, for reads that go to the store directly
// (Read does both).
func (w *Writer) Checkpoint(ctx context.Context) error {
	var target uint64
	if err := w.Query(ctx, func(*ledger.Ledger) { target = w.head.Seq }); err != nil {
		return err
	}
	for {
		changed := w.progressed()
		if w.checkpointed.Load() >= target {
			return nil
		}
		if w.failed.Load() {
			return ErrFailed
		}
		w.mu.Lock()
		w.forceCP = true
		w.mu.Unlock()
		// Wake the writer, which starts the checkpoint unless one is in
		// flight; the one in flight signals when it is done.
		if err := w.Flush(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// progressed returns a channel closed at the next change of synced,
// checkpointed or failed.
func (w *Writer) progressed() <-chan struct{} {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	return w.progress
}

// signal wakes the waiters on progressed.
func (w *Writer) signal() {
	w.pmu.Lock()
	close(w.progress)
	w.progress = make(chan struct{})
	w.pmu.Unlock()
}

func (w *Writer) submit(ctx context.Context, c ledger.Command, query func(*ledger.Ledger), owe Owe) (ledger.Result, error) {
	if err := ctx.Err(); err != nil {
		return ledger.Result{}, err
	}
	if w.failed.Load() {
		return ledger.Result{}, ErrFailed
	}
	r := requests.Get().(*request)
	r.cmd = c
	r.query = query
	r.owe = owe
	if err := w.enqueue(ctx, r); err != nil {
		requests.Put(r)
		return ledger.Result{}, err
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		// The writer still owns r; leave it to the garbage collector.
		return ledger.Result{}, fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctx.Err())
	}
	res, err := r.res, r.err
	*r = request{done: r.done}
	requests.Put(r)
	return res, err
}

// enqueue queues requests for the writer goroutine and wakes it. While the
// queue holds MaxQueue commands it waits for the writer to take them; if
// ctx ends first nothing is queued.
func (w *Writer) enqueue(ctx context.Context, rs ...*request) error {
	w.mu.Lock()
	for {
		if w.closed {
			w.mu.Unlock()
			return ErrClosed
		}
		if len(w.queue) == 0 || len(w.queue)+len(rs) <= w.cfg.MaxQueue {
			break
		}
		if w.taken == nil {
			w.taken = make(chan struct{})
		}
		taken := w.taken
		w.mu.Unlock()
		select {
		case <-taken:
		case <-ctx.Done():
			return ctx.Err()
		case <-w.stop:
			return ErrClosed
		}
		w.mu.Lock()
	}
	w.queue = append(w.queue, rs...)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// Stats returns counters of the writer's work.
func (w *Writer) Stats() Stats {
	return Stats{
		Batches:  w.batches.Load(),
		Commands: w.commands.Load(),
		Applied:  w.applied.Load(),
		Expired:  w.expired.Load(),
		MaxBatch: w.maxBatch.Load(),
		Pending:  w.pending.Load(),
		Head:     w.headSeq.Load(),

		Checkpoint: w.checkpointed.Load(),
	}
}

// Close stops taking commands, finishes those queued, stores a last
// checkpoint and stops the writer's goroutines. It does not close the store.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	w.wg.Wait()
	if w.failed.Load() {
		return ErrFailed
	}
	return nil
}

func (w *Writer) run() {
	defer w.wg.Done()
	defer close(w.cpRequests)
	tick := time.NewTicker(w.cfg.ExpiryInterval)
	defer tick.Stop()
	for {
		stopping := false
		select {
		case <-w.wake:
		case <-tick.C:
		case err := <-w.cpDone:
			w.checkpointDone(err)
		case <-w.stop:
			stopping = true
		}
		w.mu.Lock()
		batch := w.queue
		w.queue = w.spare[:0]
		force := w.forceCP
		w.forceCP = false
		if w.taken != nil {
			close(w.taken)
			w.taken = nil
		}
		w.mu.Unlock()
		if len(batch) == 0 && !stopping {
			w.process(nil) // expire what is due
		}
		for rest := batch; len(rest) > 0; {
			n := min(len(rest), w.cfg.MaxBatch)
			w.process(rest[:n])
			rest = rest[n:]
		}
		clear(batch)
		w.spare = batch[:0]
		if stopping {
			w.finalCheckpoint()
			close(w.syncQ)
			w.finder.Close()
			return
		}
		if !w.cpInFlight && !w.failed.Load() && (force || time.Since(w.lastCP) >= w.cfg.CheckpointInterval) {
			w.startCheckpoint()
		}
	}
}

// startCheckpoint hands the state changed since the last checkpoint to the
// checkpointer goroutine.
func (w *Writer) startCheckpoint() {
	w.lastCP = time.Now()
	if w.head.Seq == w.checkpointed.Load() {
		return
	}
	ch := w.led.Changes()
	w.cpIDs = w.cpIDs[:0]
	for i := range ch.Transfers {
		if ch.Transfers[i].New {
			w.cpIDs = append(w.cpIDs, ch.Transfers[i].ID)
		}
	}
	w.cpInFlight = true
	w.cpRequests <- &store.Checkpoint{
		Seq:          w.head.Seq,
		Participants: ch.Participants,
		Accounts:     ch.Accounts,
		Transfers:    ch.Transfers,
		Windows:      ch.Windows,
		Settlements:  ch.Settlements,
	}
}

func (w *Writer) checkpointDone(err error) {
	w.cpInFlight = false
	defer w.signal()
	if err != nil {
		// The journal holds everything; the state will be rebuilt from it on
		// restart. Going on would leave reads of the store ever further behind.
		w.failed.Store(true)
		w.cfg.Logger.Error("checkpoint failed; the writer has stopped and the process must restart", "err", err)
		return
	}
	// The finder and the id filter must know the checkpoint's transfers
	// before the ledger forgets them.
	if err := w.finder.Refresh(); err != nil {
		w.failed.Store(true)
		w.cfg.Logger.Error("refresh transfer finder failed; the writer has stopped", "err", err)
		return
	}
	for _, id := range w.cpIDs {
		w.ids.add(id)
	}
	w.led.Forget()
}

func (w *Writer) finalCheckpoint() {
	if w.cpInFlight {
		w.checkpointDone(<-w.cpDone)
	}
	if w.failed.Load() {
		return
	}
	w.startCheckpoint()
	if w.cpInFlight {
		w.checkpointDone(<-w.cpDone)
	}
}

// checkpointer stores checkpoints handed to it, one at a time.
func (w *Writer) checkpointer() {
	defer w.wg.Done()
	for cp := range w.cpRequests {
		// The state may only be stored once the journal it comes from is.
		for {
			changed := w.progressed()
			if w.synced.Load() >= cp.Seq || w.failed.Load() {
				break
			}
			<-changed
		}
		if w.failed.Load() {
			w.cpDone <- ErrFailed
			continue
		}
		began := time.Now()
		err := w.store.Checkpoint(context.Background(), cp)
		if err == nil {
			w.checkpointed.Store(cp.Seq)
			w.cfg.Logger.Debug("checkpoint stored", "journal_seq", cp.Seq, "transfers", len(cp.Transfers),
				"took", time.Since(began))
		}
		w.cpDone <- err
	}
}

// process applies one batch and hands it to the syncer.
func (w *Writer) process(reqs []*request) {
	if w.failed.Load() {
		for _, r := range reqs {
			r.err = ErrFailed
			r.answer()
		}
		return
	}
	now := w.cfg.Clock.Now().UTC().Round(0)
	var cmds []byte
	participantsChanged := false
	a := &applied{reqs: append([]*request(nil), reqs...)}
	for _, id := range w.led.Due(now, w.cfg.MaxBatch) {
		c := ledger.Command{Op: ledger.OpExpire, ID: id}
		r, err := w.led.Apply(now, &c)
		if err != nil {
			w.cfg.Logger.Error("expire transfer", "transfer", id.String(), "err", err)
			continue
		}
		cmds = ledger.AppendCommand(cmds, &c)
		a.expired = append(a.expired, r.Transfer)
		if w.cfg.OweExpired != nil {
			a.owed = append(a.owed, w.cfg.OweExpired(&r.Transfer)...)
		}
	}
	for _, r := range reqs {
		if r.query != nil {
			r.query(w.led)
			continue
		}
		if r.cmd.Op == opFlush {
			a.owed = append(a.owed, r.owed...)
			continue
		}
		r.res, r.err = w.led.Apply(now, &r.cmd)
		if r.err == nil && !r.res.Duplicate {
			cmds = ledger.AppendCommand(cmds, &r.cmd)
			w.applied.Add(1)
			if r.owe != nil {
				a.owed = append(a.owed, r.owe(&r.res)...)
			}
			if r.res.Participant.ID != "" {
				participantsChanged = true
			}
		}
	}
	if participantsChanged {
		a.participants = participantMap(w.led)
	}
	if w.cfg.Positions {
		a.positions = w.led.TouchedPositions()
	}
	if len(cmds) > 0 {
		a.entry = &journal.Entry{Time: now, Commands: cmds}
		w.head = a.entry.Seal(w.head)
	}
	w.commands.Add(uint64(len(reqs)))
	if n := uint64(len(reqs)); n > w.maxBatch.Load() {
		w.maxBatch.Store(n)
	}
	w.pending.Store(int64(w.led.PendingCount()))
	if len(a.reqs) > 0 || a.entry != nil {
		w.syncQ <- a
	}
}

// syncer makes applied batches durable in order, each time with all that
// have queued up, and answers their callers.
func (w *Writer) syncer() {
	defer w.wg.Done()
	var group []*applied
	var entries []*journal.Entry
	var owed []store.Message
	for a := range w.syncQ {
		group = append(group[:0], a)
	more:
		for len(group) < 256 {
			select {
			case b, ok := <-w.syncQ:
				if !ok {
					break more
				}
				group = append(group, b)
			default:
				break more
			}
		}
		entries, owed = entries[:0], owed[:0]
		for _, b := range group {
			if b.entry != nil {
				entries = append(entries, b.entry)
			}
			owed = append(owed, b.owed...)
		}
		var err error
		switch {
		case w.failed.Load():
			err = ErrFailed
		case len(entries) > 0 || len(owed) > 0:
			err = w.store.AppendOwed(context.Background(), owed, entries...)
			if err != nil {
				w.failed.Store(true)
				w.signal()
				w.cfg.Logger.Error("journal append failed; the writer has stopped and the process must restart",
					"err", err)
			}
		}
		if err == nil && len(entries) > 0 {
			last := entries[len(entries)-1].Seq
			w.synced.Store(last)
			w.headSeq.Store(last)
			w.batches.Add(uint64(len(entries)))
			w.signal()
		}
		for _, b := range group {
			if err == nil {
				w.expired.Add(uint64(len(b.expired)))
				if b.participants != nil {
					w.participants.Store(b.participants)
				}
				if len(w.cfg.Subscribers) > 0 && (b.entry != nil || len(b.owed) > 0) {
					ev := Event{Expired: b.expired, Positions: b.positions, Owed: b.owed}
					if b.entry != nil {
						ev.Seq = b.entry.Seq
					}
					for _, fn := range w.cfg.Subscribers {
						fn(&ev)
					}
				}
			}
			for _, r := range b.reqs {
				if err != nil {
					r.res, r.err = ledger.Result{}, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
				}
				r.answer()
			}
		}
		clear(group)
	}
}
