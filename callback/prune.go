package callback

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/hutong/hutong/store"
)

const (
	// pruneBatch is the most failures dropped with one write; the lock
	// that orders changes to failures is let go between writes.
	pruneBatch = 256
	// writePruneBatches is the most batches dropped for one participant
	// after a write of its failures, so that the recorder never stalls
	// for long; the periodic pass drops what is left.
	writePruneBatches = 4
	// unknownCount marks a participant whose failures are not counted
	// yet, or no longer, after a write that may or may not have applied.
	unknownCount = -1
	// participantChars are the bytes of a participant id, in byte order
	// (ledger.ValidParticipantID), with the '/' that ends it in a key.
	participantChars = "-./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)

// pruner bounds the failures kept: the recorder drops a participant's oldest
// beyond MaxFailures after it stores new ones for it, and a pass every
// PruneEvery drops, for every participant, those past FailureRetention and
// any still beyond MaxFailures. Neither reads more than it drops, but for
// counting a participant's failures once per process: ids sort newest
// first, so the expired ones are the keys after the id of the cut-off time,
// and the excess ones the last keys of the participant's prefix.
type pruner struct {
	pruneCancel context.CancelFunc
	pruneDone   chan struct{}

	// failMu orders every change to the stored failures (stores, drops,
	// Redeliver's read, remove and restore), so that counts stays exact
	// and a record dropped is never restored. Held for one write at a
	// time.
	failMu sync.Mutex // guards the fields below
	// counts holds the number of failures stored for each participant
	// known to have had some, or unknownCount.
	counts map[string]int
	// discovered is set once the participants with failures stored by an
	// earlier run are in counts.
	discovered bool
}

// startPruning starts the periodic pass, on tick or, when tick is nil, on a
// ticker of PruneEvery.
func (s *Sender) startPruning(tick <-chan time.Time) {
	s.counts = make(map[string]int)
	ctx, cancel := context.WithCancel(context.Background())
	s.pruneCancel, s.pruneDone = cancel, make(chan struct{})
	var ticker *time.Ticker
	if tick == nil {
		ticker = time.NewTicker(s.cfg.PruneEvery)
		tick = ticker.C
	}
	go func() {
		defer close(s.pruneDone)
		if ticker != nil {
			defer ticker.Stop()
		}
		for {
			select {
			case <-tick:
				s.prunePass(ctx)
			case <-ctx.Done():
				return
			}
		}
	}()
}

// stopPruning ends the periodic pass, cutting short one under way.
func (s *Sender) stopPruning() {
	s.pruneCancel()
	<-s.pruneDone
}

// prunePass drops every participant's failures past FailureRetention and
// beyond MaxFailures. The first pass also finds the participants with
// failures stored by an earlier run.
func (s *Sender) prunePass(ctx context.Context) {
	s.failMu.Lock()
	discovered := s.discovered
	s.failMu.Unlock()
	if !discovered {
		if err := s.discover(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.Error("callback: find participants with failed callbacks", "err", err)
			}
			return
		}
	}
	cutoff := s.cfg.Clock.Now().Add(-s.cfg.FailureRetention)
	s.failMu.Lock()
	ps := make([]string, 0, len(s.counts))
	for p := range s.counts {
		ps = append(ps, p)
	}
	s.failMu.Unlock()
	slices.Sort(ps)
	for _, p := range ps {
		if ctx.Err() != nil {
			return
		}
		s.prune(ctx, p, cutoff, math.MaxInt)
	}
}

// discover adds to counts every participant with failures in the KV,
// reading one key per participant.
func (s *Sender) discover(ctx context.Context) error {
	p := ""
	for {
		next, ok, err := nextParticipant(ctx, s.kv, p)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		s.failMu.Lock()
		if _, known := s.counts[next]; !known {
			s.counts[next] = unknownCount
		}
		s.failMu.Unlock()
		p = next
	}
	s.failMu.Lock()
	s.discovered = true
	s.failMu.Unlock()
	return nil
}

// nextParticipant returns the first participant after the one given ("" for
// the first of all) with failures in kv. The KV scans only by prefix, so the
// keys past all of after's are read as the prefixes that follow after+"/":
// those that share all of it but the last byte and have a greater last
// byte, then all but the last two, and so on, the first key found naming
// the participant.
func nextParticipant(ctx context.Context, kv store.KV, after string) (string, bool, error) {
	var found string
	first := func(key, _ []byte) error {
		rest := key[len(failurePrefix):]
		if i := bytes.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i]
		}
		found = string(rest)
		return nil
	}
	if after == "" {
		err := kv.Scan(ctx, []byte(failurePrefix), 1, first)
		return found, found != "", err
	}
	s := after + "/"
	for i := len(s) - 1; i >= 0; i-- {
		for c := bytes.IndexByte([]byte(participantChars), s[i]) + 1; c < len(participantChars); c++ {
			if err := kv.Scan(ctx, []byte(failurePrefix+s[:i]+participantChars[c:c+1]), 1, first); err != nil {
				return "", false, err
			}
			if found != "" {
				return found, true, nil
			}
		}
	}
	return "", false, nil
}

// prune drops p's failures last failed before cutoff (none when cutoff is
// zero), then its oldest beyond MaxFailures, at most batches writes of
// each, and logs what it dropped.
func (s *Sender) prune(ctx context.Context, p string, cutoff time.Time, batches int) {
	old, err := s.pruneBatches(ctx, batches, func() (int, error) { return s.dropOld(ctx, p, cutoff) })
	if old > 0 {
		s.log.Warn("callback: dropped failed callbacks past the retention", "to", p, "count", old,
			"reason", "age", "retention", s.cfg.FailureRetention)
	}
	if err != nil {
		s.log.Error("callback: drop failed callbacks past the retention", "to", p, "err", err)
		return
	}
	excess, err := s.pruneBatches(ctx, batches, func() (int, error) { return s.dropExcess(ctx, p) })
	if excess > 0 {
		s.log.Warn("callback: dropped the oldest failed callbacks beyond the bound", "to", p, "count", excess,
			"reason", "count", "max", s.cfg.MaxFailures)
	}
	if err != nil {
		s.log.Error("callback: drop failed callbacks beyond the bound", "to", p, "err", err)
	}
}

// pruneBatches calls drop until it drops less than a batch, fails, ctx ends
// or it was called batches times, and returns how many it dropped.
func (s *Sender) pruneBatches(ctx context.Context, batches int, drop func() (int, error)) (int, error) {
	total := 0
	for range batches {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := drop()
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
	return total, nil
}

// dropOld drops up to pruneBatch of p's failures last failed before cutoff,
// returning how many it dropped.
func (s *Sender) dropOld(ctx context.Context, p string, cutoff time.Time) (int, error) {
	if cutoff.Before(time.Unix(0, 1)) {
		// Ids are of times since 1970; none is before this cut-off.
		return 0, nil
	}
	// The greatest id of a failure last failed at cutoff: those after it
	// failed before.
	after := fmt.Sprintf("%016x%08x", ^uint64(cutoff.UnixNano()), uint32(math.MaxUint32))
	prefix := failurePrefix + p + "/"
	var b store.KVBatch
	s.failMu.Lock()
	defer s.failMu.Unlock()
	err := scanAfter(ctx, s.kv, prefix, after, pruneBatch, func(key, _ []byte) error {
		b.Delete(bytes.Clone(key))
		return nil
	})
	if err != nil {
		return 0, err
	}
	return s.dropLocked(ctx, p, &b)
}

// dropExcess drops up to pruneBatch of p's oldest failures beyond
// MaxFailures, counting p's failures first if they are not counted,
// returning how many it dropped.
func (s *Sender) dropExcess(ctx context.Context, p string) (int, error) {
	prefix := failurePrefix + p + "/"
	s.failMu.Lock()
	defer s.failMu.Unlock()
	n, ok := s.counts[p]
	if !ok || n == unknownCount {
		n = 0
		err := s.kv.Scan(ctx, []byte(prefix), 0, func(_, _ []byte) error {
			n++
			return nil
		})
		if err != nil {
			return 0, err
		}
		s.counts[p] = n
	}
	excess := n - s.cfg.MaxFailures
	if excess <= 0 {
		return 0, nil
	}
	ids, err := lastIDs(ctx, s.kv, prefix, min(excess, pruneBatch))
	if err != nil {
		return 0, err
	}
	var b store.KVBatch
	for _, id := range ids {
		b.Delete([]byte(prefix + id))
	}
	return s.dropLocked(ctx, p, &b)
}

// dropLocked applies b, the deletes of failures of p, counting them.
func (s *Sender) dropLocked(ctx context.Context, p string, b *store.KVBatch) (int, error) {
	n := len(b.Ops)
	if n == 0 {
		return 0, nil
	}
	// Not durable: a drop lost in a crash is made again.
	err := s.kv.Apply(ctx, b)
	s.addLocked(p, -n, err)
	if err != nil {
		return 0, fmt.Errorf("callback: drop %d failed callbacks of %s: %w", n, p, err)
	}
	s.stats.failuresDropped.Add(uint64(n))
	return n, nil
}

// addLocked counts n more failures of p after a write that returned err.
// A write that failed may or may not have applied: p's count is then
// unknown until it is counted again.
func (s *Sender) addLocked(p string, n int, err error) {
	c, ok := s.counts[p]
	if err != nil || !ok || c == unknownCount {
		s.counts[p] = unknownCount
		return
	}
	s.counts[p] = c + n
}

// lastIDs returns the ids of the last n keys under prefix, last first, every
// key under prefix being prefix and idLen hex digits. The KV scans only
// forward, so it reads the prefixes one digit longer from the greatest
// down, taking a prefix's keys whole when they are no more than it still
// needs and looking inside it otherwise: it reads at most n+1 keys for each
// digit of the id, and a few empty prefixes.
func lastIDs(ctx context.Context, kv store.KV, prefix string, n int) ([]string, error) {
	var out []string
	var walk func(sub string) error
	walk = func(sub string) error {
		for d := len(hex) - 1; d >= 0 && len(out) < n; d-- {
			q := sub + hex[d:d+1]
			need := n - len(out)
			var got []string
			err := kv.Scan(ctx, []byte(prefix+q), need+1, func(key, _ []byte) error {
				got = append(got, string(key[len(prefix):]))
				return nil
			})
			if err != nil {
				return err
			}
			if len(got) <= need {
				for i := len(got) - 1; i >= 0; i-- {
					out = append(out, got[i])
				}
				continue
			}
			// More than needed: q is shorter than an id, since an id
			// is the only key under itself.
			if err := walk(q); err != nil {
				return err
			}
		}
		return nil
	}
	if n <= 0 {
		return nil, nil
	}
	err := walk("")
	return out, err
}
