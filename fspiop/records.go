package fspiop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"net/http"
	"sync"
	"time"

	"github.com/hutong/hutong/store"
)

// Quotes and transaction requests are not money: the hub records them only
// to route their callbacks and to tell a resend from a modified request.
// They are kept in the store's key-value space without a sync of their own
// (they survive a crash of the process, not of the machine) under
// "q/<quoteId>" and "tr/<transactionRequestId>", and each is indexed by
// the time it was made under "qx/<unix ns, 8 bytes big-endian><record
// key>", so that records older than the retention can be dropped in order.
const (
	prefixQuote              = "q/"
	prefixTransactionRequest = "tr/"
	prefixMade               = "qx/"
)

// madeKey is the index key of the record key under created.
func madeKey(created time.Time, key string) []byte {
	b := make([]byte, 0, len(prefixMade)+8+len(key))
	b = append(b, prefixMade...)
	b = binary.BigEndian.AppendUint64(b, uint64(created.UnixNano()))
	return append(b, key...)
}

// Exchange states.
const (
	exchangeOpen     byte = 0
	exchangeAnswered byte = 1
	exchangeFailed   byte = 2
)

// exchange is a request between two participants and its answer.
type exchange struct {
	Source      string
	Dest        string
	Fingerprint [32]byte
	State       byte
	Created     time.Time
	Header      http.Header // of the answer
	Body        []byte      // of the answer
}

// An exchange is stored as
//
//	version 1 | source | dest | fingerprint (32) | state | created (unix ns, varint)
//	| header count | (name | value count | values...)... | body
//
// with strings and the body as a uvarint length and the bytes.
const exchangeVersion = 1

func (x *exchange) encode() []byte {
	n := 64 + len(x.Source) + len(x.Dest) + len(x.Body)
	for k, vs := range x.Header {
		n += len(k) + 8
		for _, v := range vs {
			n += len(v) + 4
		}
	}
	b := make([]byte, 0, n)
	b = append(b, exchangeVersion)
	b = appendString(b, x.Source)
	b = appendString(b, x.Dest)
	b = append(b, x.Fingerprint[:]...)
	b = append(b, x.State)
	b = binary.AppendVarint(b, x.Created.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(x.Header)))
	for k, vs := range x.Header {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	return appendString(b, string(x.Body))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errExchange = errors.New("fspiop: corrupt exchange record")

func decodeExchange(b []byte) (*exchange, error) {
	if len(b) == 0 || b[0] != exchangeVersion {
		return nil, errExchange
	}
	b = b[1:]
	bad := false
	str := func() string {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			bad = true
			return ""
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s
	}
	count := func() int {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			bad = true
			return 0
		}
		b = b[k:]
		return int(n)
	}
	x := &exchange{Source: str(), Dest: str()}
	if bad || len(b) < 33 {
		return nil, errExchange
	}
	copy(x.Fingerprint[:], b)
	x.State = b[32]
	b = b[33:]
	ns, k := binary.Varint(b)
	if k <= 0 {
		return nil, errExchange
	}
	b = b[k:]
	x.Created = time.Unix(0, ns).UTC()
	if nh := count(); nh > 0 && !bad {
		x.Header = make(http.Header, nh)
		for range nh {
			key := str()
			nv := count()
			if bad {
				break
			}
			vs := make([]string, 0, nv)
			for range nv {
				vs = append(vs, str())
			}
			x.Header[key] = vs
		}
	}
	if body := str(); body != "" {
		x.Body = []byte(body)
	}
	if bad || len(b) != 0 {
		return nil, errExchange
	}
	return x, nil
}

func loadExchange(ctx context.Context, kv store.KV, prefix, id string) (*exchange, error) {
	v, err := kv.Get(ctx, []byte(prefix+id))
	if err != nil {
		return nil, err
	}
	return decodeExchange(v)
}

func saveExchange(ctx context.Context, kv store.KV, prefix, id string, x *exchange) error {
	var b store.KVBatch
	b.Set([]byte(prefix+id), x.encode())
	return kv.Apply(ctx, &b)
}

// locks serialise the check and the record of requests under one id, so
// that two copies arriving together are not both taken as new.
type locks struct {
	seed maphash.Seed
	mu   [256]sync.Mutex
}

func newLocks() *locks { return &locks{seed: maphash.MakeSeed()} }

func (l *locks) lock(key string) func() {
	m := l.muOf(key)
	m.Lock()
	return m.Unlock
}

func (l *locks) muOf(key string) *sync.Mutex {
	return &l.mu[maphash.String(l.seed, key)%uint64(len(l.mu))]
}

// lockAll takes the locks of every key, each once and in index order, so
// that it cannot deadlock with lock (which holds one) or with itself.
func (l *locks) lockAll(keys []string) func() {
	var held [len(l.mu)]bool
	for _, k := range keys {
		held[maphash.String(l.seed, k)%uint64(len(l.mu))] = true
	}
	for i, h := range held {
		if h {
			l.mu[i].Lock()
		}
	}
	return func() {
		for i, h := range held {
			if h {
				l.mu[i].Unlock()
			}
		}
	}
}

// openExchanges keeps the exchanges not yet answered, so that an answer
// need not read its record back from the store. It is only a cache: the
// store has every record, and the cache is emptied when it grows past
// maxOpenExchanges (requests that were never answered).
type openExchanges struct {
	mu sync.Mutex // guards m
	m  map[string]*exchange
}

const maxOpenExchanges = 1 << 16

func (o *openExchanges) put(key string, x *exchange) {
	o.mu.Lock()
	if len(o.m) >= maxOpenExchanges || o.m == nil {
		o.m = make(map[string]*exchange)
	}
	o.m[key] = x
	o.mu.Unlock()
}

func (o *openExchanges) take(key string) *exchange {
	o.mu.Lock()
	x := o.m[key]
	delete(o.m, key)
	o.mu.Unlock()
	return x
}

// openExchange records a new request under id. For a resend it returns the
// earlier record; for another request under the same id, error 3106.
func (s *Server) openExchange(c *call, prefix, id, dest string) (*exchange, *Error) {
	defer s.locks.lock(prefix + id)()
	fp := sha256.Sum256(c.body)
	old, err := loadExchange(c.ctx, s.kv, prefix, id)
	switch {
	case err == nil:
		if old.Source == c.source && old.Fingerprint == fp {
			return old, nil
		}
		return nil, badRequest("3106", "id %s was already used for a request with other content", id)
	case !errors.Is(err, store.ErrNotFound):
		return nil, internal(err)
	}
	x := &exchange{Source: c.source, Dest: dest, Fingerprint: fp, Created: s.clk.Now().UTC()}
	var b store.KVBatch
	b.Set([]byte(prefix+id), x.encode())
	b.Set(madeKey(x.Created, prefix+id), nil)
	if err := s.kv.Apply(c.ctx, &b); err != nil {
		return nil, internal(err)
	}
	s.open.put(prefix+id, x)
	return nil, nil
}

// answerExchange records the answer to a request and returns the
// participant it goes back to: the requester on record, or the callback's
// FSPIOP-Destination when there is no record; "" when it goes to nobody.
func (s *Server) answerExchange(c *call, prefix, id string, state byte) (string, *Error) {
	defer s.locks.lock(prefix + id)()
	x := s.open.take(prefix + id)
	if x == nil {
		var err error
		x, err = loadExchange(c.ctx, s.kv, prefix, id)
		if errors.Is(err, store.ErrNotFound) {
			// Never recorded, or dropped after the retention.
			return c.dest, nil
		}
		if err != nil {
			return "", internal(err)
		}
	}
	if c.source != x.Dest {
		if x.State == exchangeOpen {
			s.open.put(prefix+id, x)
		}
		return "", badRequest("3100", "%s is not the participant the request %s was sent to", c.source, id)
	}
	if x.State == exchangeAnswered && state == exchangeFailed {
		// An error after the answer: the requester keeps the answer it
		// has, which is also what a resend or a GET gets.
		return "", nil
	}
	x.State = state
	x.Header = forwardHeader(&c.rc.Request.Header)
	x.Body = c.body
	if err := saveExchange(c.ctx, s.kv, prefix, id, x); err != nil {
		return "", internal(err)
	}
	return x.Source, nil
}

// DefaultRetention is how long quote and transaction request records are
// kept when Options.Retention is zero.
const DefaultRetention = 24 * time.Hour

// pruneBatch is the most records one prune batch drops.
const pruneBatch = 1024

// prune drops the records made before now less the retention, oldest
// first, and returns how many it dropped. It holds the lock of each
// record it drops, so that an answer arriving meanwhile cannot write the
// record back after it is gone: an answer after the record is dropped is
// routed as one to an unknown request. It stops between batches once ctx
// ends, so that Close need not wait for a backlog (after the hub was down
// longer than the retention, or the retention was shortened) to be gone.
func (s *Server) prune(ctx context.Context) (int, error) {
	cutoff := s.clk.Now().Add(-s.retention).UnixNano()
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var keys []string // record keys, in index order
		var index [][]byte
		err := s.kv.Scan(ctx, []byte(prefixMade), pruneBatch, func(k, _ []byte) error {
			rest := k[len(prefixMade):]
			if len(rest) < 8 {
				return nil // not one of ours; left alone
			}
			if int64(binary.BigEndian.Uint64(rest)) >= cutoff {
				return errStopScan
			}
			keys = append(keys, string(rest[8:]))
			index = append(index, bytes.Clone(k))
			return nil
		})
		if err != nil && !errors.Is(err, errStopScan) {
			return total, err
		}
		if len(keys) == 0 {
			return total, nil
		}
		unlock := s.locks.lockAll(keys)
		var b store.KVBatch
		for i, key := range keys {
			b.Delete([]byte(key))
			b.Delete(index[i])
			s.open.take(key)
		}
		err = s.kv.Apply(ctx, &b)
		unlock()
		if err != nil {
			return total, err
		}
		total += len(keys)
		s.pruned.Add(uint64(len(keys)))
		if len(keys) < pruneBatch {
			return total, nil
		}
	}
}

var errStopScan = errors.New("fspiop: stop scan")

// pruneLoop prunes every interval until ctx ends.
func (s *Server) pruneLoop(ctx context.Context, interval time.Duration) {
	defer s.pruneDone.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.prune(ctx); ctx.Err() != nil {
				return
			} else if err != nil {
				s.log.Error("fspiop: dropping old quote and transaction request records", "err", err, "dropped", n)
			} else if n > 0 {
				s.log.Debug("fspiop: dropped old quote and transaction request records", "dropped", n)
			}
		}
	}
}
