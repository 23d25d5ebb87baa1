package pebble

import (
	"bytes"
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/hutong/hutong/store/kv"
)

// kvSpace is the store's key-value space, a database of its own under dir/kv with
// a write-ahead log: its records are small and written one request at a
// time, so they are not worth a journal and a checkpoint.
type kvSpace struct{ s *Store }

var _ kv.Space = kvSpace{}

// KV returns the store's key-value space.
func (s *Store) KV() kv.Space { return kvSpace{s} }

func (k kvSpace) Get(_ context.Context, key []byte) ([]byte, error) {
	if err := k.s.readable(); err != nil {
		return nil, err
	}
	var out []byte
	err := k.s.get(k.s.kdb, key, func(rec []byte) error {
		out = bytes.Clone(rec)
		return nil
	})
	return out, err
}

func (k kvSpace) Apply(_ context.Context, b *kv.Batch) error {
	if err := k.s.readable(); err != nil {
		return err
	}
	if k.s.readOnly {
		return fmt.Errorf("store: read-only")
	}
	pb := k.s.kdb.NewBatch()
	defer pb.Close()
	for _, op := range b.Ops {
		if len(op.Key) == 0 || len(op.Key) > kv.MaxKey {
			return fmt.Errorf("store: key of %d bytes, want 1 to %d", len(op.Key), kv.MaxKey)
		}
		var err error
		if op.Delete {
			err = pb.Delete(op.Key, nil)
		} else {
			err = pb.Set(op.Key, seal(op.Key, op.Value), nil)
		}
		if err != nil {
			return err
		}
	}
	opts := pebble.NoSync
	if b.Durable {
		opts = pebble.Sync
	}
	return pb.Commit(opts)
}

func (k kvSpace) Scan(ctx context.Context, prefix []byte, limit int, fn func(key, value []byte) error) error {
	if err := k.s.readable(); err != nil {
		return err
	}
	o := &pebble.IterOptions{}
	if n := len(prefix); n > 0 {
		o.LowerBound = prefix
		upper := bytes.Clone(prefix)
		for n > 0 && upper[n-1] == 0xff {
			n--
		}
		if n > 0 {
			upper = upper[:n]
			upper[n-1]++
			o.UpperBound = upper
		}
	}
	it, err := k.s.kdb.NewIterWithContext(ctx, o)
	if err != nil {
		return err
	}
	defer it.Close()
	seen := 0
	for valid := it.First(); valid; valid = it.Next() {
		if limit > 0 && seen == limit {
			break
		}
		seen++
		rec, err := open(it.Key(), it.Value())
		if err != nil {
			return err
		}
		if err := fn(it.Key(), rec); err != nil {
			return err
		}
	}
	return it.Error()
}
