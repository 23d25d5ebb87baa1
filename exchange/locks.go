package exchange

import (
	"hash/maphash"
	"sync"
)

// locks serialise what happens under one record key (the check and record
// of a request, the record of its answer, its deletion), so that two
// copies of a request arriving together are not both taken as new. Keys
// share a fixed set of mutexes by hash: memory stays bounded whatever the
// number of ids, at the cost of an unrelated id waiting now and then.
type locks struct {
	seed maphash.Seed
	mu   [256]sync.Mutex
}

func newLocks() *locks { return &locks{seed: maphash.MakeSeed()} }

// lock takes the lock of key and returns its unlock.
func (l *locks) lock(key string) func() {
	m := &l.mu[l.index(key)]
	m.Lock()
	return m.Unlock
}

func (l *locks) index(key string) uint64 {
	return maphash.String(l.seed, key) % uint64(len(l.mu))
}

// lockAll takes the locks of every key, each once and in index order, so
// that it cannot deadlock with lock (which holds one) or with itself.
func (l *locks) lockAll(keys []string) func() {
	var held [len(l.mu)]bool
	for _, k := range keys {
		held[l.index(k)] = true
	}
	for i, h := range held {
		if h {
			l.mu[i].Lock()
		}
	}
	return func() {
		for i, h := range held {
			if h {
				l.mu[i].Unlock()
			}
		}
	}
}

// pendingCache keeps the records of requests not yet answered, so that an
// answer need not read its record back from the KV. It is only a cache:
// the KV has every record. It holds at most max records and is emptied
// when full, which drops the requests that were never answered along with
// the rest.
type pendingCache struct {
	max int
	mu  sync.Mutex // guards m
	m   map[string]*Record
}

func (c *pendingCache) put(key string, x *Record) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]*Record)
	}
	c.m[key] = x
	c.mu.Unlock()
}

// take removes the record of key and returns it, nil when there is none.
func (c *pendingCache) take(key string) *Record {
	c.mu.Lock()
	x := c.m[key]
	delete(c.m, key)
	c.mu.Unlock()
	return x
}

func (c *pendingCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
