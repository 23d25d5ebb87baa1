package liquidity

import (
	"math"
	"math/bits"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
)

// used is what p uses of its cap: its position plus what it has reserved,
// held at the int64 limits rather than wrapping.
func used(p *ledger.Position) int64 {
	if u, ok := money.Add(p.Balance, p.Reserved); ok {
		return u
	}
	if p.Reserved > 0 {
		return math.MaxInt64
	}
	return math.MinInt64
}

// levelOf returns the highest of thresholds (ascending percentages) that
// used reaches against ndc, 0 for none. A threshold t is reached when
// used*100 >= t*ndc, computed in 128 bits so that no amount overflows. With
// nothing used no threshold is reached; with something used against no cap
// (ndc <= 0) every one is.
func levelOf(used, ndc int64, thresholds []int) int {
	if used <= 0 || len(thresholds) == 0 {
		return 0
	}
	if ndc <= 0 {
		return thresholds[len(thresholds)-1]
	}
	uh, ul := bits.Mul64(uint64(used), 100)
	for i := len(thresholds) - 1; i >= 0; i-- {
		th, tl := bits.Mul64(uint64(ndc), uint64(thresholds[i]))
		if uh > th || uh == th && ul >= tl {
			return thresholds[i]
		}
	}
	return 0
}

// utilisation returns used*100/ndc rounded down, held at math.MaxInt64, and
// 0 when nothing is used; ok is false when there is no cap (ndc <= 0) to
// measure against.
func utilisation(used, ndc int64) (percent int64, ok bool) {
	if ndc <= 0 {
		return 0, false
	}
	if used <= 0 {
		return 0, true
	}
	hi, lo := bits.Mul64(uint64(used), 100)
	if hi >= uint64(ndc) {
		return math.MaxInt64, true // the quotient needs more than 64 bits
	}
	q, _ := bits.Div64(hi, lo, uint64(ndc))
	if q > math.MaxInt64 {
		return math.MaxInt64, true
	}
	return int64(q), true
}
