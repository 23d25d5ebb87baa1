package writer

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/hutong/hutong/internal/testseed"
	"github.com/hutong/hutong/ledger"
)

func TestIDFilterNoFalseNegativesAndFewFalsePositives(t *testing.T) {
	rng := rand.New(rand.NewPCG(testseed.Seed(t), 1))
	newID := func() ledger.ID {
		var id ledger.ID
		binary.LittleEndian.PutUint64(id[:8], rng.Uint64())
		binary.LittleEndian.PutUint64(id[8:], rng.Uint64())
		return id
	}
	f := newIDFilter(0)
	f.next, f.filters = 1<<14, nil // small filters, so that the chain grows
	f.grow()
	added := make([]ledger.ID, 100_000)
	for i := range added {
		added[i] = newID()
		f.add(added[i])
	}
	if len(f.filters) < 3 {
		t.Fatalf("filter chain has %d filters after 100k ids from 16k, want it to have grown", len(f.filters))
	}
	for _, id := range added {
		if !f.mayContain(id) {
			t.Fatalf("id %s was added but the filter says it is absent", id)
		}
	}
	fp := 0
	const probes = 100_000
	for range probes {
		if f.mayContain(newID()) {
			fp++
		}
	}
	// Each filter is under 1%; a chain of a few stays under 3%.
	if rate := float64(fp) / probes; rate > 0.03 {
		t.Errorf("false-positive rate %.3f over %d filters, want below 0.03", rate, len(f.filters))
	}
}

func BenchmarkIDFilterMiss(b *testing.B) {
	f := newIDFilter(0)
	var id ledger.ID
	for i := range 1 << 20 {
		binary.LittleEndian.PutUint64(id[:], uint64(i)*0x9e3779b97f4a7c15)
		f.add(id)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		binary.LittleEndian.PutUint64(id[8:], uint64(i))
		f.mayContain(id)
	}
}
