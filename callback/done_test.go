package callback

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/hutong/hutong/store"
)

// heldKV holds every write until gate is closed.
type heldKV struct {
	store.KV
	gate chan struct{}
}

func (k heldKV) Apply(ctx context.Context, b *store.KVBatch) error {
	<-k.gate
	return k.KV.Apply(ctx, b)
}

// TestDoneNotCalledForDroppedFailure: when the store of failures is backed
// up, a failure beyond its queue is dropped, and the request's owner must
// keep it: Done is called only for the failures that were stored.
func TestDoneNotCalledForDroppedFailure(t *testing.T) {
	eps, kv := newEndpoints(t) // no endpoint for anyone: every Send fails at once
	gate := make(chan struct{})
	s, err := NewSender(testConfig(), eps, heldKV{kv, gate})
	if err != nil {
		t.Fatal(err)
	}
	var done atomic.Int64
	const n = recordQueue + maxRecordBatch + 10
	for i := range n {
		r := transferPut(fmt.Sprintf("3f2504e0-4f89-41d3-9a0c-%012d", i))
		r.Done = func() { done.Add(1) }
		s.Send(r)
	}
	if got := done.Load(); got != 0 {
		t.Errorf("Done called %d times before any failure was stored", got)
	}
	close(gate)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	stored := int64(st.Failed - st.Unrecorded)
	if got := done.Load(); got != stored || st.Unrecorded == 0 {
		t.Errorf("Done called %d times, failures stored %d, dropped %d; want Done for each stored one and some dropped", got, stored, st.Unrecorded)
	}
}
