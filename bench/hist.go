package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts durations in buckets about 3% wide, so that a run of
// any length measures latency in fixed memory. It is safe for concurrent
// use.
type histogram struct {
	counts [64 * 32]atomic.Uint64
	total  atomic.Uint64
	max    atomic.Int64
}

func bucket(d time.Duration) int {
	v := uint64(max(d, 1))
	e := bits.Len64(v) - 1 // v in [2^e, 2^(e+1))
	if e < 5 {
		return int(v)
	}
	return e*32 + int((v>>(e-5))&31)
}

// lower returns the smallest duration in bucket i.
func lower(i int) time.Duration {
	e, m := i/32, uint64(i%32)
	if e < 5 {
		return time.Duration(i)
	}
	return time.Duration((32 | m) << (e - 5))
}

func (h *histogram) add(d time.Duration) {
	h.counts[bucket(d)].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// quantile returns the lower edge of the bucket holding quantile q.
func (h *histogram) quantile(q float64) time.Duration {
	total := h.total.Load()
	if total == 0 {
		return 0
	}
	rank := uint64(q * float64(total))
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen > rank {
			return lower(i)
		}
	}
	return time.Duration(h.max.Load())
}

func (h *histogram) summary() Latency {
	return Latency{P50: h.quantile(0.50), P99: h.quantile(0.99), Max: time.Duration(h.max.Load())}
}
