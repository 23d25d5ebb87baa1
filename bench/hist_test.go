package bench

import (
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}} {
		got := h.quantile(tc.q)
		if got > tc.want || float64(got) < 0.96*float64(tc.want) {
			t.Errorf("quantile(%v) = %v, want within 4%% below %v", tc.q, got, tc.want)
		}
	}
	if got := h.summary().Max; got != time.Millisecond {
		t.Errorf("max = %v, want 1ms", got)
	}
}

func TestBucketLowerEdge(t *testing.T) {
	for _, d := range []time.Duration{1, 7, 31, 32, 33, 1000, 123456, 5 * time.Second} {
		b := bucket(d)
		if lo := lower(b); lo > d || (b+1 < len(histogram{}.counts) && lower(b+1) <= d) {
			t.Errorf("duration %v in bucket %d with lower edge %v, next %v", d, b, lo, lower(b+1))
		}
	}
}
