// Package testseed gives randomized tests their seed: the one given with
// the test binary's -seed flag, or one taken from the clock, always logged,
// so that a failure reruns as `go test ./pkg -run TestName -seed N`.
// Importing it registers the flag, once per test binary.
package testseed

import (
	"flag"
	"testing"
	"time"
)

var seed = flag.Uint64("seed", 0, "seed of the randomized tests (0: one from the clock)")

// Given returns the seed given with -seed, or 0 when none was.
func Given() uint64 { return *seed }

// Seed returns the seed given with -seed, or one taken from the clock, and
// logs it.
func Seed(t testing.TB) uint64 {
	t.Helper()
	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -seed %d)", s, s)
	return s
}
