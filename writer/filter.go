package writer

import (
	"context"
	"hash/maphash"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
)

// idFilter remembers every stored transfer id, so that the ledger's check
// that a new id is unused rarely needs the store: nearly every new id is
// answered "certainly unused" from memory. A false positive (under 1%)
// costs one store lookup, never a wrong answer.
//
// It is a chain of blocked Bloom filters, each twice the capacity of the one
// before, at 12 bits per id (15 MiB per 10 million transfers). Blocked: the
// bits of one id all fall in one 64-byte block, so a lookup costs one cache
// miss per filter; the general-purpose Bloom filter libraries spread them
// over the whole array, which made this lookup the writer's largest cost.
type idFilter struct {
	seed    maphash.Seed
	filters []*blockedBloom
	room    uint // ids the newest filter takes before the next is added
	next    uint // capacity of the next filter
}

const (
	filterFirst   = 1 << 22
	bitsPerID     = 12
	bitsPerBlock  = 512
	probesPerID   = 8
	wordsPerBlock = bitsPerBlock / 64
)

type blockedBloom struct {
	blocks [][wordsPerBlock]uint64
}

func newIDFilter(ids uint) *idFilter {
	f := &idFilter{seed: maphash.MakeSeed(), next: max(filterFirst, 2*ids)}
	f.grow()
	return f
}

func (f *idFilter) grow() {
	n := max(1, f.next*bitsPerID/bitsPerBlock)
	f.filters = append(f.filters, &blockedBloom{blocks: make([][wordsPerBlock]uint64, n)})
	f.room = f.next
	f.next *= 2
}

// probe returns the block and the bit positions in it for id.
func (b *blockedBloom) probe(h uint64) (*[wordsPerBlock]uint64, uint32, uint32) {
	i := (uint64(uint32(h>>32)) * uint64(len(b.blocks))) >> 32
	return &b.blocks[i], uint32(h), uint32(h>>32) | 1
}

func (f *idFilter) add(id ledger.ID) {
	if f.room == 0 {
		f.grow()
	}
	h := maphash.Bytes(f.seed, id[:])
	blk, h1, h2 := f.filters[len(f.filters)-1].probe(h)
	for i := uint32(0); i < probesPerID; i++ {
		bit := (h1 + i*h2) % bitsPerBlock
		blk[bit/64] |= 1 << (bit % 64)
	}
	f.room--
}

func (f *idFilter) mayContain(id ledger.ID) bool {
	h := maphash.Bytes(f.seed, id[:])
next:
	for _, b := range f.filters {
		blk, h1, h2 := b.probe(h)
		for i := uint32(0); i < probesPerID; i++ {
			bit := (h1 + i*h2) % bitsPerBlock
			if blk[bit/64]&(1<<(bit%64)) == 0 {
				continue next
			}
		}
		return true
	}
	return false
}

// filteredFinder puts the id filter in front of the store's finder.
type filteredFinder struct {
	ids    *idFilter
	finder store.Finder
}

func (f filteredFinder) FinalTransfer(id ledger.ID) (ledger.Transfer, bool, error) {
	if !f.ids.mayContain(id) {
		return ledger.Transfer{}, false, nil
	}
	return f.finder.FinalTransfer(id)
}

// loadIDFilter reads the ids of the n stored transfers into a filter.
func loadIDFilter(ctx context.Context, s store.Writer, n uint64) (*idFilter, int, error) {
	f := newIDFilter(uint(n))
	count := 0
	err := s.TransferIDs(ctx, func(id ledger.ID) error {
		f.add(id)
		count++
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return f, count, nil
}
