package hub_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/kv"
	"github.com/hutong/hutong/store/pebble"
)

// namespaced is a store whose key-value space records every key written
// outside the namespaces package kv documents.
type namespaced struct {
	store.Store
	stray *strayKeys
}

func (s namespaced) KV() kv.Space { return checkedSpace{s.Store.KV(), s.stray} }

type checkedSpace struct {
	kv.Space
	stray *strayKeys
}

func (c checkedSpace) Apply(ctx context.Context, b *kv.Batch) error {
	for _, op := range b.Ops {
		if _, ok := kv.NamespaceOf(op.Key); !ok {
			c.stray.add(string(op.Key))
		}
	}
	return c.Space.Apply(ctx, b)
}

// strayKeys are keys written outside every documented namespace.
type strayKeys struct {
	mu   sync.Mutex // guards keys
	keys []string
}

func (s *strayKeys) add(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.keys) < 10 && !slices.Contains(s.keys, k) {
		s.keys = append(s.keys, k)
	}
}

// checkNamespaces makes the hub of e open its store through a check of the
// keys written to the key-value space, reported when the test ends.
func (e *env) checkNamespaces() {
	if e.cfg.Open != nil {
		return
	}
	stray := &strayKeys{}
	opts := e.cfg.Store
	e.cfg.Open = func(_ context.Context, log *slog.Logger) (store.Store, error) {
		o := opts
		o.Logger = log
		st, err := pebble.Open(e.dir, o)
		if err != nil {
			return nil, err
		}
		return namespaced{Store: st, stray: stray}, nil
	}
	e.t.Cleanup(func() {
		stray.mu.Lock()
		defer stray.mu.Unlock()
		for _, k := range stray.keys {
			e.t.Errorf("key %q written to the key-value space outside the namespaces of package kv", k)
		}
	})
}

// TestStrayKeyIsReported holds the check above to failing: a key outside
// the namespaces is recorded.
func TestStrayKeyIsReported(t *testing.T) {
	st, err := pebble.Open(t.TempDir(), pebble.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stray := &strayKeys{}
	space := namespaced{Store: st, stray: stray}.KV()
	var b kv.Batch
	b.Set([]byte("dir/p/x"), []byte("1"))
	b.Set([]byte("elsewhere/x"), []byte("2"))
	if err := space.Apply(t.Context(), &b); err != nil {
		t.Fatal(err)
	}
	if want := []string{"elsewhere/x"}; !slices.Equal(stray.keys, want) {
		t.Errorf("stray keys %q, want %q", stray.keys, want)
	}
}
