package liquidity

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/hutong/hutong/internal/testseed"
	"github.com/hutong/hutong/ledger"
)

func TestLevelOf(t *testing.T) {
	def := []int{80, 95}
	tests := []struct {
		name       string
		used, ndc  int64
		thresholds []int
		want       int
	}{
		{"nothing used", 0, 1000, def, 0},
		{"negative use", -500, 1000, def, 0},
		{"just below 80", 799, 1000, def, 0},
		{"exactly 80", 800, 1000, def, 80},
		{"between", 949, 1000, def, 80},
		{"exactly 95", 950, 1000, def, 95},
		{"at the cap", 1000, 1000, def, 95},
		{"past the cap", 5000, 1000, def, 95},
		// 80% of 3 is 2.4: 2 is below, 3 above; nothing rounds.
		{"fractional boundary below", 2, 3, def, 0},
		{"fractional boundary above", 3, 3, def, 95},
		// 80% of 7 is 5.6, 95% is 6.65.
		{"7: 5 below 80", 5, 7, def, 0},
		{"7: 6 reaches 80", 6, 7, def, 80},
		{"7: 7 reaches 95", 7, 7, def, 95},
		{"no cap, something used", 1, 0, def, 95},
		{"no cap, nothing used", 0, 0, def, 0},
		{"no cap, negative use", -1, 0, def, 0},
		{"negative cap treated as none", 1, -5, def, 95},
		{"one threshold of 100, below", 999, 1000, []int{100}, 0},
		{"one threshold of 100, at", 1000, 1000, []int{100}, 100},
		{"1%", 10, 1000, []int{1, 50}, 1},
		{"1% just below", 9, 1000, []int{1, 50}, 0},
		{"no thresholds", 1000, 1000, nil, 0},
		// used*100 and threshold*ndc both overflow int64.
		{"huge, just below 80", math.MaxInt64/5*4 - 1, math.MaxInt64 / 5 * 5, def, 0},
		{"huge, exactly 80", math.MaxInt64 / 5 * 4, math.MaxInt64 / 5 * 5, def, 80},
		{"max use, max cap", math.MaxInt64, math.MaxInt64, def, 95},
		{"max use, cap 1", math.MaxInt64, 1, def, 95},
		{"1 of max cap", 1, math.MaxInt64, def, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := levelOf(tt.used, tt.ndc, tt.thresholds); got != tt.want {
				t.Errorf("levelOf(%d, %d, %v) = %d, want %d", tt.used, tt.ndc, tt.thresholds, got, tt.want)
			}
		})
	}
}

func TestUtilisation(t *testing.T) {
	tests := []struct {
		used, ndc int64
		want      int64
		ok        bool
	}{
		{0, 1000, 0, true},
		{-300, 1000, 0, true},
		{799, 1000, 79, true},
		{800, 1000, 80, true},
		{2, 3, 66, true},
		{5000, 1000, 500, true},
		{1, 0, 0, false},
		{0, 0, 0, false},
		{math.MaxInt64, math.MaxInt64, 100, true},
		{math.MaxInt64, 1, math.MaxInt64, true},   // quotient beyond 64 bits
		{math.MaxInt64, 100, math.MaxInt64, true}, // quotient fits 64 bits but not int64
		{math.MaxInt64 / 100, 1, math.MaxInt64 / 100 * 100, true},
	}
	for _, tt := range tests {
		got, ok := utilisation(tt.used, tt.ndc)
		if got != tt.want || ok != tt.ok {
			t.Errorf("utilisation(%d, %d) = %d, %v; want %d, %v", tt.used, tt.ndc, got, ok, tt.want, tt.ok)
		}
	}
}

// refLevel is levelOf in arbitrary precision.
func refLevel(used, ndc int64, thresholds []int) int {
	if used <= 0 {
		return 0
	}
	if ndc <= 0 {
		return thresholds[len(thresholds)-1]
	}
	lvl := 0
	u := new(big.Int).Mul(big.NewInt(used), big.NewInt(100))
	for _, t := range thresholds {
		if u.Cmp(new(big.Int).Mul(big.NewInt(ndc), big.NewInt(int64(t)))) >= 0 {
			lvl = t
		}
	}
	return lvl
}

// refUtilisation is utilisation in arbitrary precision.
func refUtilisation(used, ndc int64) int64 {
	if used <= 0 {
		return 0
	}
	q := new(big.Int).Quo(new(big.Int).Mul(big.NewInt(used), big.NewInt(100)), big.NewInt(ndc))
	if !q.IsInt64() {
		return math.MaxInt64
	}
	return q.Int64()
}

// randAmount returns amounts of every magnitude, the extremes among them.
func randAmount(r *rand.Rand) int64 {
	switch r.IntN(6) {
	case 0:
		return r.Int64N(2000) - 100
	case 1:
		return math.MaxInt64 - r.Int64N(1000)
	case 2:
		return 0
	}
	return r.Int64N(math.MaxInt64 >> r.IntN(63))
}

func TestLevelOfRandom(t *testing.T) {
	seed := testseed.Seed(t)
	r := rand.New(rand.NewPCG(seed, seed))
	for range 20000 {
		var ths []int
		for p := 1; p <= 100; p++ {
			if r.IntN(10) == 0 {
				ths = append(ths, p)
			}
		}
		if len(ths) == 0 {
			ths = []int{1 + r.IntN(100)}
		}
		used, ndc := randAmount(r), randAmount(r)
		if got, want := levelOf(used, ndc, ths), refLevel(used, ndc, ths); got != want {
			t.Fatalf("levelOf(%d, %d, %v) = %d, want %d (seed %d)", used, ndc, ths, got, want, seed)
		}
		if ndc > 0 {
			if got, _ := utilisation(used, ndc); got != refUtilisation(used, ndc) {
				t.Fatalf("utilisation(%d, %d) = %d, want %d (seed %d)", used, ndc, got, refUtilisation(used, ndc), seed)
			}
		}
	}
}

func FuzzLevelOf(f *testing.F) {
	f.Add(int64(800), int64(1000), uint8(80), uint8(95))
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), uint8(1), uint8(100))
	f.Add(int64(2), int64(3), uint8(66), uint8(67))
	f.Add(int64(1), int64(0), uint8(50), uint8(50))
	f.Fuzz(func(t *testing.T, used, ndc int64, a, b uint8) {
		lo, hi := 1+int(a)%100, 1+int(b)%100
		if lo > hi {
			lo, hi = hi, lo
		}
		ths := []int{lo}
		if hi != lo {
			ths = append(ths, hi)
		}
		if got, want := levelOf(used, ndc, ths), refLevel(used, ndc, ths); got != want {
			t.Fatalf("levelOf(%d, %d, %v) = %d, want %d", used, ndc, ths, got, want)
		}
		if ndc > 0 {
			if got, _ := utilisation(used, ndc); got != refUtilisation(used, ndc) {
				t.Fatalf("utilisation(%d, %d) = %d, want %d", used, ndc, got, refUtilisation(used, ndc))
			}
		}
	})
}

func TestUsedSaturates(t *testing.T) {
	tests := []struct {
		balance, reserved, want int64
	}{
		{800, 50, 850},
		{-800, 50, -750},
		{math.MaxInt64, 1, math.MaxInt64},
		{math.MaxInt64 - 1, 1, math.MaxInt64},
		{math.MinInt64, -1, math.MinInt64},
	}
	for _, tt := range tests {
		p := ledger.Position{Balance: tt.balance, Reserved: tt.reserved}
		if got := used(&p); got != tt.want {
			t.Errorf("used(%d + %d) = %d, want %d", tt.balance, tt.reserved, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"default", DefaultConfig(), true},
		{"one", Config{Thresholds: []int{100}}, true},
		{"range", Config{Thresholds: []int{1, 50, 100}}, true},
		{"zero threshold", Config{Thresholds: []int{0, 80}}, false},
		{"above 100", Config{Thresholds: []int{80, 101}}, false},
		{"negative", Config{Thresholds: []int{-5}}, false},
		{"descending", Config{Thresholds: []int{95, 80}}, false},
		{"repeated", Config{Thresholds: []int{80, 80}}, false},
		{"negative queue", Config{QueueSize: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestIDKeysSortNewestFirst(t *testing.T) {
	ids := []uint64{1, 2, 15, 16, 255, 256, 1 << 40, math.MaxUint64 - 1}
	for i, id := range ids {
		k := string(idKey(nil, id))
		if got, ok := parseID([]byte(k)); !ok || got != id {
			t.Errorf("parseID(idKey(%d)) = %d, %v", id, got, ok)
		}
		if i > 0 && k >= string(idKey(nil, ids[i-1])) {
			t.Errorf("key of %d does not sort before that of %d", id, ids[i-1])
		}
	}
	for _, bad := range []string{"", "0", "fffffffffffffffX", "fffffffffffffffff", "FFFFFFFFFFFFFFFE"} {
		if _, ok := parseID([]byte(bad)); ok {
			t.Errorf("parseID(%q) accepted", bad)
		}
	}
}
