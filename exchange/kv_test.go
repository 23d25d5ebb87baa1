package exchange_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/kv"
	"github.com/hutong/hutong/store/pebble"
)

// memKV is a kv.Space in memory.
type memKV struct {
	mu sync.Mutex // guards m
	m  map[string][]byte
}

func newMemKV() *memKV { return &memKV{m: make(map[string][]byte)} }

func (k *memKV) Get(_ context.Context, key []byte) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[string(key)]
	if !ok {
		return nil, store.ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (k *memKV) Apply(_ context.Context, b *kv.Batch) error {
	for _, op := range b.Ops {
		if len(op.Key) == 0 || len(op.Key) > kv.MaxKey {
			return fmt.Errorf("memkv: key of %d bytes", len(op.Key))
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, op := range b.Ops {
		if op.Delete {
			delete(k.m, string(op.Key))
		} else {
			k.m[string(op.Key)] = bytes.Clone(op.Value)
		}
	}
	return nil
}

func (k *memKV) Scan(_ context.Context, prefix []byte, limit int, fn func(key, value []byte) error) error {
	k.mu.Lock()
	var keys []string
	for key := range k.m {
		if strings.HasPrefix(key, string(prefix)) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	vals := make([][]byte, len(keys))
	for i, key := range keys {
		vals[i] = bytes.Clone(k.m[key])
	}
	k.mu.Unlock()
	for i, key := range keys {
		if err := fn([]byte(key), vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// backends are the KVs every behavioural test runs against: the one in
// memory, and the embedded store's.
var backends = []struct {
	name string
	open func(testing.TB) kv.Space
}{
	{"mem", func(testing.TB) kv.Space { return newMemKV() }},
	{"pebble", func(tb testing.TB) kv.Space {
		st, err := pebble.Open(tb.TempDir(), pebble.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { st.Close() })
		return st.KV()
	}},
}

// deletes is a KV that reports the record keys each batch deletes, in
// order.
type deletes struct {
	kv.Space
	mu  sync.Mutex // guards got
	got []string
}

func (d *deletes) Apply(ctx context.Context, b *kv.Batch) error {
	d.mu.Lock()
	for _, op := range b.Ops {
		if op.Delete && !bytes.HasPrefix(op.Key, []byte("qx/")) {
			d.got = append(d.got, string(op.Key))
		}
	}
	d.mu.Unlock()
	return d.Space.Apply(ctx, b)
}

func (d *deletes) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	got := d.got
	d.got = nil
	return got
}

// stallingKV is a KV whose scans of the time index after the first n
// stall until their context ends: a prune with a long backlog.
type stallingKV struct {
	kv.Space
	mu      sync.Mutex // guards n
	n       int
	stalled chan struct{} // closed when a scan stalls
	once    sync.Once
}

func (s *stallingKV) Scan(ctx context.Context, prefix []byte, limit int, fn func(key, value []byte) error) error {
	if bytes.Equal(prefix, []byte("qx/")) {
		s.mu.Lock()
		s.n--
		stall := s.n < 0
		s.mu.Unlock()
		if stall {
			s.once.Do(func() { close(s.stalled) })
			<-ctx.Done()
			return ctx.Err()
		}
	}
	return s.Space.Scan(ctx, prefix, limit, fn)
}

// slowReads is a KV whose reads take a while, so that copies of a request
// arriving together overlap between the read and the write of Begin.
type slowReads struct{ kv.Space }

func (s slowReads) Get(ctx context.Context, key []byte) ([]byte, error) {
	v, err := s.Space.Get(ctx, key)
	time.Sleep(50 * time.Microsecond)
	return v, err
}
