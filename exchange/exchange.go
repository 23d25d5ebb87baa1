// Package exchange keeps the hub's records of exchanges: a request one
// participant makes of another through the hub (a quote, a transaction
// request) and the answer that comes back. The hub does not take part in
// an exchange and moves no money for it; it remembers each one only to
// route the answer back to the requester and to tell a resend of a request
// from a modified request under the same id. The package knows nothing of
// HTTP or of the FSPIOP messages: a request is a requester, a responder and
// a fingerprint of its content; an answer is opaque headers and a body.
//
// # Operations
//
//	Begin   a request arrives      -> New (recorded), ResendPending (same
//	                                  requester and fingerprint, no answer
//	                                  yet), ResendAnswered (the record holds
//	                                  the answer to send again) or Modified
//	                                  (the id is taken by other content or
//	                                  another requester)
//	Answer  the responder answers  -> the requester to pass it to;
//	                                  ErrNotFound, ErrWrongResponder or
//	                                  ErrAnswered (an error after an answer:
//	                                  the record keeps the answer)
//	Get     a requester asks again -> the record, or ErrNotFound
//
// Begin and Answer for one id are serialised, so of two copies of a
// request that arrive together exactly one is New.
//
// # Keys
//
// Records live in a kv.Space shared with other packages, under prefixes
// of their own. Ids are unique within a Namespace:
//
//	q/<quote id>                          the record of a quote
//	tr/<transaction request id>           the record of a transaction request
//	qx/<made, 8 bytes><record key>        the time index, no value
//
// where made is the time the request was recorded, in nanoseconds since
// the Unix epoch, big-endian, so that the index is in the order the
// records were made. The index names the record key whole ("q/..." or
// "tr/..."), so one index serves both namespaces.
//
// # Record format
//
// A record's value is
//
//	+---------+-----------+-----------+------------------+-------+---------------+
//	| version | requester | responder | fingerprint (32) | state | made (varint) |
//	+---------+-----------+-----------+------------------+-------+---------------+
//	| header count | (name | value count | value...)... | body                    |
//	+--------------+-------------------------------------+-------------------------+
//
// with version 1, strings and the body as a uvarint length and their
// bytes, state 0 (pending), 1 (answered) or 2 (failed), made a signed
// varint of nanoseconds since the Unix epoch, and the header and body those of the
// answer (none while pending). A value that does not decode is reported as
// store.ErrCorrupt, never as a missing record.
//
// # Retention and pruning
//
// Each record is kept for Config.Retention after its request was made, and
// then dropped with its index key: every Config.PruneEvery a background
// pass walks the index from the oldest and deletes what is due, in
// batches of at most Config.PruneBatch records, oldest first. A pass holds
// the lock of each id it deletes, so an answer arriving meanwhile cannot
// write a dropped record back. Once a record is dropped its id is unknown:
// a resend is New, an answer gets ErrNotFound, Get gets ErrNotFound. A
// record may outlive its retention by up to PruneEvery and the time a
// pass takes; it is never dropped before. Close ends a pass between
// batches, so it does not wait for a backlog (after the hub was down for
// longer than the retention, or the retention was shortened) to be gone;
// the next Open's passes pick the backlog up.
//
// # Crashes
//
// Records are not money and are written without a sync (kv.Batch
// with Durable false), and each batch is applied whole or not at all.
// kv.Space promises that such a batch survives a crash of the process
// once Apply has returned, but not a crash of the machine (power loss,
// kernel panic, a hypervisor's reset): that loses the batches written
// since the KV was last synced, a tail of the most recent ones. (The
// embedded backend, store/pebble, keeps an unsynced write-ahead log block
// in memory until it is full, 32 KiB, or someone syncs the KV: there even
// a crash of the process loses the tail not yet handed to the operating
// system.) A request and its index key are one batch and its answer
// another, so after a crash each record is as it was, without its answer
// (a resend is ResendPending, Get finds it Pending), or missing
// (a resend is New and goes to the responder again, an answer gets
// ErrNotFound and is routed by the caller's own means, Get finds
// nothing). Records a pass deleted may come back; the next pass deletes
// them. The cache of pending records is memory only and starts empty: a
// miss there reads the KV.
package exchange

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/kv"
)

// ErrNotFound is returned by Answer and Get when no request is recorded
// under the id: never made through this hub, dropped after the
// retention, or lost with a crash of the machine.
var ErrNotFound = errors.New("exchange: no request recorded under this id")

// ErrWrongResponder is returned by Answer when the answer does not come
// from the responder the request was sent to. The record is left as it
// was.
var ErrWrongResponder = errors.New("exchange: answer not from the responder the request was sent to")

// ErrAnswered is returned by Answer for a failure that comes after the
// request was answered. The record keeps the answer, which is what the
// requester already has and what a resend or a Get finds; the failure goes
// to nobody.
var ErrAnswered = errors.New("exchange: request already answered")

// Namespace is the kind of an exchange. Ids are unique within one: a quote
// and a transaction request may have the same id. Begin, Answer and Get
// return an error for a Namespace other than those below.
type Namespace uint8

// The namespaces.
const (
	Quotes Namespace = iota + 1
	TransactionRequests
)

// Key prefixes in the KV; see the package comment.
const (
	prefixQuote              = "q/"
	prefixTransactionRequest = "tr/"
	prefixIndex              = "qx/"
)

func (n Namespace) prefix() string {
	switch n {
	case Quotes:
		return prefixQuote
	case TransactionRequests:
		return prefixTransactionRequest
	}
	return ""
}

// String returns the namespace's name.
func (n Namespace) String() string {
	switch n {
	case Quotes:
		return "quotes"
	case TransactionRequests:
		return "transaction requests"
	}
	return fmt.Sprintf("Namespace(%d)", uint8(n))
}

// key returns the record key of id in n.
func (n Namespace) key(id string) (string, error) {
	p := n.prefix()
	if p == "" {
		return "", fmt.Errorf("exchange: unknown namespace %d", uint8(n))
	}
	if id == "" {
		return "", errors.New("exchange: empty id")
	}
	if len(prefixIndex)+8+len(p)+len(id) > kv.MaxKey {
		return "", fmt.Errorf("exchange: id of %d bytes is too long", len(id))
	}
	return p + id, nil
}

// State is where an exchange stands.
type State uint8

// The states of an exchange. Their values are stored.
const (
	Pending  State = 0 // sent on, not answered
	Answered State = 1 // answered by the responder
	Failed   State = 2 // answered with an error
)

// Outcome is what Begin found under a request's id.
type Outcome uint8

// The outcomes of Begin.
const (
	// New: nothing was recorded under the id; the request is recorded
	// now and is to be sent to the responder.
	New Outcome = iota
	// ResendPending: the same requester sent the same content before and
	// it has no answer yet; the resend is to be ignored.
	ResendPending
	// ResendAnswered: the same requester sent the same content before and
	// it was answered; the record holds the answer to send again.
	ResendAnswered
	// Modified: the id is recorded for other content or another
	// requester; the request is refused and nothing changes.
	Modified
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case New:
		return "new"
	case ResendPending:
		return "resend-pending"
	case ResendAnswered:
		return "resend-answered"
	case Modified:
		return "modified"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Request is a request to record.
type Request struct {
	Requester string // the participant that made it
	Responder string // the participant it is sent to
	// Fingerprint identifies the request's content: a resend has the
	// same one, a modified request another (a SHA-256 of the body, say).
	Fingerprint [32]byte
}

// Reply is a responder's answer to record.
type Reply struct {
	Responder string // the participant that answers
	Failed    bool   // an error rather than an answer
	// Header and Body are stored as given, to be sent again to a resend
	// or a Get.
	Header map[string][]string
	Body   []byte
}

// Record is an exchange as recorded.
type Record struct {
	Requester   string
	Responder   string
	Fingerprint [32]byte
	State       State
	Made        time.Time // when the request was recorded, UTC
	// Header and Body are those of the answer; none while Pending.
	Header map[string][]string
	Body   []byte
}

// Config tunes a Records. Open takes a zero field as DefaultConfig's.
type Config struct {
	// Retention is how long a record is kept after its request was made:
	// a resend, an answer or a Get within it finds the record; after it
	// the id is unknown. At least MinRetention.
	Retention time.Duration
	// PruneEvery is how often records past the retention are dropped.
	PruneEvery time.Duration
	// PruneBatch is the most records one batch of a pass drops: the locks
	// of their ids are held while the batch is written, and Close waits
	// for at most one batch.
	PruneBatch int
	// CacheSize bounds the pending records kept in memory so that an
	// answer need not read its record from the KV. When it is full the
	// cache is emptied (it then holds requests that were never answered);
	// later answers to those read the KV.
	CacheSize int
	// Logger receives the failures of background passes.
	Logger *slog.Logger
}

// DefaultRetention is Config.Retention by default.
const DefaultRetention = 24 * time.Hour

// MinRetention is the shortest Config.Retention: an answer or a resend
// commonly comes seconds after its request, and may come many seconds
// later.
const MinRetention = time.Minute

// DefaultConfig returns the default configuration: records kept for a day,
// pruned every minute in batches of 1024, up to 65,536 pending records
// cached.
func DefaultConfig() Config {
	return Config{
		Retention:  DefaultRetention,
		PruneEvery: time.Minute,
		PruneBatch: 1024,
		CacheSize:  1 << 16,
		Logger:     slog.Default(),
	}
}

// Validate reports the first field of c that is out of range.
func (c *Config) Validate() error {
	switch {
	case c.Retention < MinRetention:
		return fmt.Errorf("exchange: Retention %v is less than a minute", c.Retention)
	case c.PruneEvery <= 0:
		return fmt.Errorf("exchange: PruneEvery %v is not positive", c.PruneEvery)
	case c.PruneBatch < 1:
		return fmt.Errorf("exchange: PruneBatch %d is less than 1", c.PruneBatch)
	case c.CacheSize < 1:
		return fmt.Errorf("exchange: CacheSize %d is less than 1", c.CacheSize)
	case c.Logger == nil:
		return errors.New("exchange: no Logger")
	}
	return nil
}

// Stats counts a Records' work since Open.
type Stats struct {
	Recorded uint64 // requests Begin found New
	Resent   uint64 // requests Begin found ResendPending or ResendAnswered
	Modified uint64 // requests Begin found Modified
	Answered uint64 // answers recorded by Answer
	Pruned   uint64 // records dropped after the retention
	Cached   int    // pending records in memory now
}

// Records keeps the records of exchanges in a KV. It is safe for concurrent
// use. Open starts its pruning; Close stops it.
type Records struct {
	kv    kv.Space
	clk   clock.Clock
	cfg   Config
	locks *locks
	cache pendingCache

	stop context.CancelFunc // ends the pruning, even mid-pass
	done sync.WaitGroup
	once sync.Once

	recorded atomic.Uint64
	resent   atomic.Uint64
	modified atomic.Uint64
	answered atomic.Uint64
	pruned   atomic.Uint64
}

// Open returns the records kept in kv, telling the time by clk (clock.Real
// when nil), and starts dropping those past the retention every
// cfg.PruneEvery until Close. Zero fields of cfg take DefaultConfig's.
func Open(kv kv.Space, clk clock.Clock, cfg Config) (*Records, error) {
	if kv == nil {
		return nil, errors.New("exchange: no KV")
	}
	def := DefaultConfig()
	if cfg.Retention == 0 {
		cfg.Retention = def.Retention
	}
	if cfg.PruneEvery == 0 {
		cfg.PruneEvery = def.PruneEvery
	}
	if cfg.PruneBatch == 0 {
		cfg.PruneBatch = def.PruneBatch
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = def.CacheSize
	}
	if cfg.Logger == nil {
		cfg.Logger = def.Logger
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clk == nil {
		clk = clock.Real{}
	}
	r := &Records{kv: kv, clk: clk, cfg: cfg, locks: newLocks(), cache: pendingCache{max: cfg.CacheSize}}
	ctx, stop := context.WithCancel(context.Background())
	r.stop = stop
	r.done.Add(1)
	go r.pruneLoop(ctx)
	return r, nil
}

// Close stops the pruning, cutting a pass short between two batches, and
// waits for it. The records stay usable while the KV is open; only the
// pruning stops. Close returns at once when called again.
func (r *Records) Close() {
	r.once.Do(func() {
		r.stop()
		r.done.Wait()
	})
}

// Stats returns the counters.
func (r *Records) Stats() Stats {
	return Stats{
		Recorded: r.recorded.Load(),
		Resent:   r.resent.Load(),
		Modified: r.modified.Load(),
		Answered: r.answered.Load(),
		Pruned:   r.pruned.Load(),
		Cached:   r.cache.len(),
	}
}

// Begin records a request under id in ns, unless one is recorded there
// already. It returns New when it recorded the request; otherwise what it
// found, with the earlier record (rec is nil only for New). An error means
// nothing was recorded; it wraps store.ErrCorrupt when the earlier record
// does not decode.
func (r *Records) Begin(ctx context.Context, ns Namespace, id string, q Request) (Outcome, *Record, error) {
	key, err := ns.key(id)
	if err != nil {
		return 0, nil, err
	}
	defer r.locks.lock(key)()
	old, err := r.load(ctx, key)
	switch {
	case err == nil:
		if old.Requester != q.Requester || old.Fingerprint != q.Fingerprint {
			r.modified.Add(1)
			return Modified, old, nil
		}
		r.resent.Add(1)
		if old.State == Pending {
			return ResendPending, old, nil
		}
		return ResendAnswered, old, nil
	case !errors.Is(err, ErrNotFound):
		return 0, nil, err
	}
	x := &Record{Requester: q.Requester, Responder: q.Responder, Fingerprint: q.Fingerprint, Made: r.clk.Now().UTC()}
	var b kv.Batch
	b.Set([]byte(key), x.encode())
	b.Set(indexKey(x.Made, key), nil)
	if err := r.kv.Apply(ctx, &b); err != nil {
		return 0, nil, fmt.Errorf("exchange: record %s: %w", key, err)
	}
	r.cache.put(key, x)
	r.recorded.Add(1)
	return New, nil, nil
}

// Answer records a's answer to the request id in ns and returns the
// requester to pass it to. It returns ErrNotFound when no request is
// recorded under id, ErrWrongResponder when a does not come from the
// request's responder, and ErrAnswered for a failure after an answer; in
// those cases it records nothing. A later answer replaces an earlier one.
func (r *Records) Answer(ctx context.Context, ns Namespace, id string, a Reply) (requester string, err error) {
	key, err := ns.key(id)
	if err != nil {
		return "", err
	}
	defer r.locks.lock(key)()
	x := r.cache.take(key)
	if x == nil {
		if x, err = r.load(ctx, key); err != nil {
			return "", err
		}
	}
	if a.Responder != x.Responder {
		if x.State == Pending {
			r.cache.put(key, x)
		}
		return "", ErrWrongResponder
	}
	if a.Failed && x.State == Answered {
		return "", ErrAnswered
	}
	// x is no longer in the cache: changing it races with nobody.
	x.State = Answered
	if a.Failed {
		x.State = Failed
	}
	x.Header, x.Body = a.Header, a.Body
	var b kv.Batch
	b.Set([]byte(key), x.encode())
	if err := r.kv.Apply(ctx, &b); err != nil {
		return "", fmt.Errorf("exchange: record the answer to %s: %w", key, err)
	}
	r.answered.Add(1)
	return x.Requester, nil
}

// Get returns the record of the request id in ns, or ErrNotFound. The
// record is the caller's.
func (r *Records) Get(ctx context.Context, ns Namespace, id string) (*Record, error) {
	key, err := ns.key(id)
	if err != nil {
		return nil, err
	}
	return r.load(ctx, key)
}

func (r *Records) load(ctx context.Context, key string) (*Record, error) {
	v, err := r.kv.Get(ctx, []byte(key))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("exchange: read %s: %w", key, err)
	}
	x, err := decode(v)
	if err != nil {
		return nil, fmt.Errorf("exchange: read %s: %w", key, err)
	}
	return x, nil
}

// indexKey is the time index key of the record key made at made.
func indexKey(made time.Time, key string) []byte {
	b := make([]byte, 0, len(prefixIndex)+8+len(key))
	b = append(b, prefixIndex...)
	b = binary.BigEndian.AppendUint64(b, uint64(made.UnixNano()))
	return append(b, key...)
}

// indexEntry splits an index key into its time and record key; ok is
// false for a key under the prefix that is not one of ours.
func indexEntry(k []byte) (made int64, key []byte, ok bool) {
	rest, found := bytes.CutPrefix(k, []byte(prefixIndex))
	if !found || len(rest) < 8 {
		return 0, nil, false
	}
	return int64(binary.BigEndian.Uint64(rest)), rest[8:], true
}
