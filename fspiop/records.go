package fspiop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
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
// "q/<quoteId>" and "tr/<transactionRequestId>".
const (
	prefixQuote              = "q/"
	prefixTransactionRequest = "tr/"
)

// Exchange states.
const (
	exchangeOpen     = 0
	exchangeAnswered = 1
	exchangeFailed   = 2
)

// exchange is a request between two participants and its answer.
type exchange struct {
	Source      string      `json:"s"`
	Dest        string      `json:"d"`
	Fingerprint []byte      `json:"f"`
	State       int         `json:"st"`
	Header      http.Header `json:"h,omitempty"` // of the answer
	Body        []byte      `json:"b,omitempty"` // of the answer
	Created     time.Time   `json:"t"`
}

func loadExchange(ctx context.Context, kv store.KV, prefix, id string) (*exchange, error) {
	v, err := kv.Get(ctx, []byte(prefix+id))
	if err != nil {
		return nil, err
	}
	var x exchange
	if err := json.Unmarshal(v, &x); err != nil {
		return nil, err
	}
	return &x, nil
}

func saveExchange(ctx context.Context, kv store.KV, prefix, id string, x *exchange) error {
	v, err := json.Marshal(x)
	if err != nil {
		return err
	}
	var b store.KVBatch
	b.Set([]byte(prefix+id), v)
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
	m := &l.mu[maphash.String(l.seed, key)%uint64(len(l.mu))]
	m.Lock()
	return m.Unlock
}

// openExchange records a new request under id. For a resend it returns the
// earlier record; for another request under the same id, error 3106.
func (s *Server) openExchange(c *call, prefix, id, dest string) (*exchange, *Error) {
	defer s.locks.lock(prefix + id)()
	fp := sha256.Sum256(c.body)
	old, err := loadExchange(c.ctx, s.kv, prefix, id)
	switch {
	case err == nil:
		if old.Source == c.source && bytes.Equal(old.Fingerprint, fp[:]) {
			return old, nil
		}
		return nil, badRequest("3106", "id %s was already used for a request with other content", id)
	case !errors.Is(err, store.ErrNotFound):
		return nil, internal(err)
	}
	x := &exchange{Source: c.source, Dest: dest, Fingerprint: fp[:], Created: s.clk.Now().UTC()}
	if err := saveExchange(c.ctx, s.kv, prefix, id, x); err != nil {
		return nil, internal(err)
	}
	return nil, nil
}

// answerExchange records the answer to a request and returns the
// participant it goes back to: the requester on record, or the callback's
// FSPIOP-Destination when there is no record.
func (s *Server) answerExchange(c *call, prefix, id string, state int) (string, *Error) {
	defer s.locks.lock(prefix + id)()
	x, err := loadExchange(c.ctx, s.kv, prefix, id)
	if errors.Is(err, store.ErrNotFound) {
		return c.dest, nil
	}
	if err != nil {
		return "", internal(err)
	}
	if c.source != x.Dest {
		return "", badRequest("3100", "%s is not the participant the request %s was sent to", c.source, id)
	}
	if x.State == exchangeOpen || state == exchangeAnswered {
		x.State = state
		x.Header = forwardHeader(c.r.Header)
		x.Body = c.body
		if err := saveExchange(c.ctx, s.kv, prefix, id, x); err != nil {
			return "", internal(err)
		}
	}
	return x.Source, nil
}
