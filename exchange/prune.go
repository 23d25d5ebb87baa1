package exchange

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/hutong/hutong/store/kv"
)

// errStopScan ends a scan of the index at the first key not yet due.
var errStopScan = errors.New("exchange: stop scan")

// prune drops the records made before now less the retention, oldest
// first, and returns how many it dropped. It holds the lock of each
// record it drops, so that an answer arriving meanwhile cannot write the
// record back after it is gone. It stops between batches once ctx ends.
func (r *Records) prune(ctx context.Context) (int, error) {
	cutoff := r.clk.Now().Add(-r.cfg.Retention).UnixNano()
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var keys []string // record keys, in index order
		var index [][]byte
		err := r.kv.Scan(ctx, []byte(prefixIndex), r.cfg.PruneBatch, func(k, _ []byte) error {
			made, key, ok := indexEntry(k)
			if !ok {
				return nil // not one of ours; left alone
			}
			if made >= cutoff {
				return errStopScan
			}
			keys = append(keys, string(key))
			index = append(index, bytes.Clone(k))
			return nil
		})
		if err != nil && !errors.Is(err, errStopScan) {
			return total, err
		}
		if len(keys) == 0 {
			return total, nil
		}
		unlock := r.locks.lockAll(keys)
		var b kv.Batch
		for i, key := range keys {
			b.Delete([]byte(key))
			b.Delete(index[i])
			r.cache.take(key)
		}
		err = r.kv.Apply(ctx, &b)
		unlock()
		if err != nil {
			return total, err
		}
		total += len(keys)
		r.pruned.Add(uint64(len(keys)))
		if len(keys) < r.cfg.PruneBatch {
			return total, nil
		}
	}
}

// pruneLoop prunes every cfg.PruneEvery until ctx ends.
func (r *Records) pruneLoop(ctx context.Context) {
	defer r.done.Done()
	t := time.NewTicker(r.cfg.PruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := r.prune(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				r.cfg.Logger.Error("exchange: dropping records past their retention", "err", err, "dropped", n)
			case n > 0:
				r.cfg.Logger.Debug("exchange: dropped records past their retention", "dropped", n)
			}
		}
	}
}
