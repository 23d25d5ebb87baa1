// Package outbox keeps every message the hub owes a participant on disk from
// the moment it is owed until it is delivered, so that a crash loses none.
//
// A message becomes owed in one of two ways:
//
//	by a ledger command     the payment rules build the messages the
//	                        command's outcome calls for (Owe) while the
//	                        writer applies it; the writer stores them in the
//	                        same synced commit as the command's journal entry
//	                        (store.AppendOwed), and once that commit is
//	                        durable hands their ids back (Stored), which
//	                        sends them
//	by anything else        Send stores it (a forwarded quote, a party
//	                        lookup, a liquidity alert) with the writer's next
//	                        commit once CommitThrough names the writer, with a
//	                        synced commit of its own before, and sends it
//	                        meanwhile
//
// Either way it is on disk before the request that caused it is answered.
// A message owed by anything but the ledger is sent while it is being
// stored, not after: the caller still waits for the store before it answers,
// but the recipient need not wait for the disk. Should the hub die before
// the store is done, the request was never answered and its sender asks
// again; the message itself may have arrived, which a resend covers. A
// message owed by a ledger command is sent only once the command is
// durable, since until then the hub could come back without it.
// The callback Sender delivers it, with its retries, and calls the
// request's Done once it is delivered or its failure is stored in the list
// of failed callbacks the operator sees; the message then leaves the outbox,
// without a sync. After a crash, Start sends again every message still kept:
// a participant may get a message twice (FSPIOP messages are idempotent by
// their ids), never miss one. Messages the Sender gives up at Close stay
// kept, and are sent by the next Start.
//
// # Record
//
// Each message is a store.Message whose id is unique among those kept:
// one more than the largest kept at Open, or the clock in nanoseconds if
// that is larger, then counting up. Its value is
//
//	version  1 byte   1
//	to, kind, method, path, id, partyIdType, partyIdentifier, partySubIdOrType
//	         strings
//	headers  uvarint count, then each in name order: name string, uvarint count, values strings
//	body     1 byte 0 (none) or 1, then a string
//
// where a string is a uvarint length and its bytes. A value that does not
// decode is reported as store.ErrCorrupt, logged and counted by Start, and
// left in place for the operator.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/store"
)

// Store is what the outbox needs of the store: its side of it.
type Store = store.Outbox

// Committer stores messages with a commit under way elsewhere;
// *writer.Writer is one (StoreOwed puts them in its next batch, sharing the
// journal's sync).
type Committer interface {
	StoreOwed(ctx context.Context, msgs []store.Message) error
}

// Sender delivers messages; *callback.Sender is one. Send must not block.
type Sender interface {
	Send(*callback.Request)
}

// Config configures an Outbox.
type Config struct {
	// Logger receives the outbox's errors. Default slog.Default().
	Logger *slog.Logger
	// Now gives the time ids start from. Default time.Now.
	Now func() time.Time
	// RemoveQueue is how many delivered messages may wait to be removed
	// from the store; beyond it they are removed one by one. Default 65536.
	RemoveQueue int
}

// DefaultConfig returns the default configuration.
func DefaultConfig() Config {
	return Config{Logger: slog.Default(), Now: time.Now, RemoveQueue: 65536}
}

// Validate reports a field no default can stand in for.
func (c Config) Validate() error {
	if c.RemoveQueue < 0 {
		return fmt.Errorf("outbox: RemoveQueue %d is negative", c.RemoveQueue)
	}
	return nil
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.RemoveQueue == 0 {
		c.RemoveQueue = d.RemoveQueue
	}
}

// Stats counts an outbox's work since Open.
type Stats struct {
	Stored    uint64 // messages stored, by Send or with a ledger commit
	Delivered uint64 // messages delivered or recorded as failed, and removed
	Recovered uint64 // messages found kept at Open and sent by Start
	Corrupt   uint64 // kept messages that did not decode
	Unstored  uint64 // messages Send could not store, sent from memory only
	Owed      int64  // messages kept now, as far as this process knows
}

// Outbox is the hub's durable queue of messages owed to participants. It is
// safe for concurrent use.
type Outbox struct {
	cfg  Config
	st   Store
	send Sender
	log  *slog.Logger

	next      atomic.Uint64 // the next id
	recoverTo uint64        // the largest id kept at Open; 0 for none
	kept      int64         // messages kept at Open

	mu      sync.Mutex // guards the fields below
	pending map[uint64]*callback.Request
	closed  bool

	removeMu sync.RWMutex // guards sends on remove against Close
	remove   chan uint64
	done     chan struct{}

	stored, delivered, recovered, corrupt, unstored atomic.Uint64
	owed                                            atomic.Int64
	failed                                          atomic.Pointer[error] // the first store that failed
	committer                                       atomic.Pointer[Committer]
}

// CommitThrough makes Send and SendAll store through c from then on,
// instead of with a synced write of their own. Should c fail (closed, say,
// during a shutdown), they store directly as before.
func (o *Outbox) CommitThrough(c Committer) { o.committer.Store(&c) }

// commit stores msgs, through the committer when there is one.
func (o *Outbox) commit(ctx context.Context, msgs []store.Message) error {
	if c := o.committer.Load(); c != nil {
		if err := (*c).StoreOwed(ctx, msgs); err == nil {
			return nil
		}
	}
	return o.st.AppendOwed(ctx, msgs)
}

// Open returns an outbox over st that hands messages to send. It reads
// which messages are kept, but sends none of them before Start.
func Open(ctx context.Context, st Store, send Sender, cfg Config) (*Outbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if st == nil || send == nil {
		return nil, errors.New("outbox: Open needs a store and a sender")
	}
	cfg.fill()
	o := &Outbox{cfg: cfg, st: st, send: send, log: cfg.Logger,
		pending: make(map[uint64]*callback.Request),
		remove:  make(chan uint64, cfg.RemoveQueue), done: make(chan struct{})}
	err := st.Owed(ctx, func(id uint64, _ []byte) error {
		o.recoverTo = max(o.recoverTo, id)
		o.kept++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: read kept messages: %w", err)
	}
	o.next.Store(max(o.recoverTo+1, uint64(cfg.Now().UnixNano())))
	o.owed.Store(o.kept)
	go o.remover(o.remove)
	return o, nil
}

// Start sends every message that was kept when the outbox was opened: those
// a crash or a shutdown left undelivered. Call it once everything the
// Sender's failures are reported to is ready.
func (o *Outbox) Start(ctx context.Context) error {
	if o.recoverTo == 0 {
		return nil
	}
	var bad []uint64
	err := o.st.Owed(ctx, func(id uint64, value []byte) error {
		if id > o.recoverTo {
			return errStop
		}
		r, err := Decode(value)
		if err != nil {
			o.corrupt.Add(1)
			bad = append(bad, id)
			return nil
		}
		o.recovered.Add(1)
		o.dispatch(id, r)
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	if len(bad) > 0 {
		o.log.Error("outbox: kept messages that do not decode were left in place", "count", len(bad), "first", bad[0])
	}
	if err != nil {
		return fmt.Errorf("outbox: send kept messages: %w", err)
	}
	if n := o.recovered.Load(); n > 0 {
		o.log.Info("outbox: sending messages left undelivered", "messages", n)
	}
	return nil
}

var errStop = errors.New("stop")

// Send stores r durably and hands it to the Sender. When it cannot be
// stored, it is logged, counted and sent from memory all the same, and Err
// reports the failure from then on: a caller that must not answer before
// its messages are stored checks Err.
func (o *Outbox) Send(r *callback.Request) {
	if err := o.SendAll(context.Background(), r); err != nil {
		o.log.Error("outbox: message not stored; sent without a durable copy", "to", r.To, "method", r.Method, "path", r.Path, "err", err)
	}
}

// SendAll stores rs with one synced commit and hands them to the Sender
// meanwhile; it returns once they are stored. When they cannot be stored it
// returns the error; they are sent all the same, counted as Unstored.
func (o *Outbox) SendAll(ctx context.Context, rs ...*callback.Request) error {
	if len(rs) == 0 {
		return nil
	}
	msgs := make([]store.Message, len(rs))
	races := make([]race, len(rs))
	for i, r := range rs {
		msgs[i] = store.Message{ID: o.next.Add(1) - 1, Value: Append(nil, r)}
		races[i].id = msgs[i].ID
	}
	o.owed.Add(int64(len(rs)))
	for i, r := range rs {
		rc := &races[i]
		r.Done = func() { o.finish(rc, delivered) }
		o.send.Send(r)
	}
	err := o.commit(ctx, msgs)
	if err != nil {
		o.unstored.Add(uint64(len(rs)))
		o.failed.CompareAndSwap(nil, &err)
	} else {
		o.stored.Add(uint64(len(rs)))
	}
	for i := range races {
		// A message that was not stored is removed all the same: the
		// removal finds nothing, or a record a failed commit left.
		o.finish(&races[i], stored)
	}
	return err
}

// race is a message sent while it is being stored: it is removed once both
// its delivery and its store are done, whichever ends last.
type race struct {
	id   uint64
	done atomic.Uint32 // delivered | stored
}

const (
	delivered = 1 << iota
	stored
)

func (o *Outbox) finish(r *race, step uint32) {
	if r.done.Or(step)|step == delivered|stored {
		o.removeLater(r.id)
	}
}

// Owe returns rs as messages to store with a ledger command, and keeps rs
// until Stored says they are durable. The ledger writer calls it, through
// the payment rules, while it applies the command.
func (o *Outbox) Owe(rs ...*callback.Request) []store.Message {
	if len(rs) == 0 {
		return nil
	}
	msgs := make([]store.Message, len(rs))
	o.mu.Lock()
	for i, r := range rs {
		id := o.next.Add(1) - 1
		msgs[i] = store.Message{ID: id, Value: Append(nil, r)}
		o.pending[id] = r
	}
	o.mu.Unlock()
	return msgs
}

// Stored sends messages made by Owe once the commit that stored them is
// durable. Messages of a commit that failed stay in memory until the
// process restarts, which the writer then requires.
func (o *Outbox) Stored(msgs []store.Message) {
	if len(msgs) == 0 {
		return
	}
	type owed struct {
		id uint64
		r  *callback.Request
	}
	rs := make([]owed, 0, len(msgs))
	o.mu.Lock()
	for _, m := range msgs {
		if r, ok := o.pending[m.ID]; ok {
			delete(o.pending, m.ID)
			rs = append(rs, owed{m.ID, r})
		}
	}
	o.mu.Unlock()
	// Messages stored by Send in the same commit are not pending here:
	// they are on their way already.
	o.stored.Add(uint64(len(rs)))
	o.owed.Add(int64(len(rs)))
	for _, m := range rs {
		o.dispatch(m.id, m.r)
	}
}

// dispatch hands r to the Sender, to be removed once it is done with.
func (o *Outbox) dispatch(id uint64, r *callback.Request) {
	r.Done = func() { o.removeLater(id) }
	o.send.Send(r)
}

// removeLater queues a delivered message for removal.
func (o *Outbox) removeLater(id uint64) {
	o.delivered.Add(1)
	o.owed.Add(-1)
	o.removeMu.RLock()
	defer o.removeMu.RUnlock()
	if o.remove == nil {
		return // closed: it is sent again after a restart
	}
	select {
	case o.remove <- id:
	default:
		if err := o.st.Delivered(context.Background(), id); err != nil {
			o.log.Error("outbox: remove a delivered message", "id", id, "err", err)
		}
	}
}

// remover removes delivered messages from the store, many with each write.
func (o *Outbox) remover(remove <-chan uint64) {
	defer close(o.done)
	ids := make([]uint64, 0, 1024)
	for id := range remove {
		ids = append(ids[:0], id)
	more:
		for len(ids) < cap(ids) {
			select {
			case id, ok := <-remove:
				if !ok {
					break more
				}
				ids = append(ids, id)
			default:
				break more
			}
		}
		if err := o.st.Delivered(context.Background(), ids...); err != nil {
			o.log.Error("outbox: remove delivered messages", "count", len(ids), "err", err)
		}
	}
}

// Err returns the first error storing a message met, or nil. The store is
// then not to be trusted with the next (the ledger writer stops on a failed
// commit too): callers answer their requests with an error until the
// process restarts.
func (o *Outbox) Err() error {
	if p := o.failed.Load(); p != nil {
		return fmt.Errorf("outbox: a message could not be stored: %w", *p)
	}
	return nil
}

// Stats returns the outbox's counters.
func (o *Outbox) Stats() Stats {
	return Stats{Stored: o.stored.Load(), Delivered: o.delivered.Load(), Recovered: o.recovered.Load(),
		Corrupt: o.corrupt.Load(), Unstored: o.unstored.Load(), Owed: o.owed.Load()}
}

// Close removes the messages delivered so far from the store and stops.
// Call it after the Sender has closed and before the store closes; messages
// done with later stay kept and are sent again by the next Start.
func (o *Outbox) Close() error {
	o.removeMu.Lock()
	if o.remove == nil {
		o.removeMu.Unlock()
		return nil
	}
	close(o.remove)
	o.remove = nil
	o.removeMu.Unlock()
	<-o.done
	return nil
}
