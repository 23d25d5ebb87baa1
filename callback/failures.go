package callback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
)

// ErrFailureNotFound is returned by Failure and Redeliver when the
// participant has no failed callback with the id.
var ErrFailureNotFound = errors.New("callback: no such failed callback")

// ErrInvalidCursor is returned by Failures for a cursor it did not issue.
var ErrInvalidCursor = errors.New("callback: invalid page cursor")

// Failure is a callback that was not delivered.
type Failure struct {
	// ID identifies the failure among its recipient's; ids sort newest
	// first.
	ID string
	// To is the recipient participant.
	To     string
	Kind   Kind
	Method string
	// URL is where the callback was sent; empty when it had no endpoint.
	URL  string
	Path string
	Vars Vars
	// Attempts counts the times it was sent; 0 when it never was.
	Attempts int
	// LastStatus is the HTTP status of the last attempt; 0 for none.
	LastStatus int
	// LastError says why the last attempt failed, or why none was made.
	LastError string
	// First is when the callback was sent (or redelivered), Last when it
	// was given up on.
	First, Last time.Time
	Header      http.Header
	Body        []byte

	// done is the request's Done, called once the failure is stored.
	done func()
}

// storedFailure is a Failure as the KV holds it.
type storedFailure struct {
	To         string              `json:"to"`
	Kind       Kind                `json:"kind"`
	Method     string              `json:"method"`
	URL        string              `json:"url,omitempty"`
	Path       string              `json:"path,omitempty"`
	ID         string              `json:"id,omitempty"`
	Party      string              `json:"partyIdType,omitempty"`
	Identifier string              `json:"partyIdentifier,omitempty"`
	SubID      string              `json:"partySubIdOrType,omitempty"`
	Attempts   int                 `json:"attempts"`
	LastStatus int                 `json:"lastStatus,omitempty"`
	LastError  string              `json:"lastError,omitempty"`
	First      time.Time           `json:"first"`
	Last       time.Time           `json:"last"`
	Header     map[string][]string `json:"header,omitempty"`
	Body       []byte              `json:"body,omitempty"`
}

func encodeFailure(f *Failure) ([]byte, error) {
	return json.Marshal(storedFailure{To: f.To, Kind: f.Kind, Method: f.Method, URL: f.URL, Path: f.Path,
		ID: f.Vars.ID, Party: f.Vars.PartyIDType, Identifier: f.Vars.PartyIdentifier, SubID: f.Vars.PartySubIDOrType,
		Attempts: f.Attempts, LastStatus: f.LastStatus, LastError: f.LastError, First: f.First, Last: f.Last,
		Header: f.Header, Body: f.Body})
}

func decodeFailure(id string, b []byte) (Failure, error) {
	var s storedFailure
	if err := json.Unmarshal(b, &s); err != nil {
		return Failure{}, fmt.Errorf("callback: failed callback %s: %w: %v", id, store.ErrCorrupt, err)
	}
	return Failure{ID: id, To: s.To, Kind: s.Kind, Method: s.Method, URL: s.URL, Path: s.Path,
		Vars:     Vars{ID: s.ID, PartyIDType: s.Party, PartyIdentifier: s.Identifier, PartySubIDOrType: s.SubID},
		Attempts: s.Attempts, LastStatus: s.LastStatus, LastError: s.LastError, First: s.First, Last: s.Last,
		Header: s.Header, Body: s.Body}, nil
}

const (
	failurePrefix = "cbf/"
	// idLen is the length of a failure id: 16 hex digits of the inverted
	// time in nanoseconds, then 8 of an inverted sequence number, so that
	// ids sort newest first.
	idLen = 24
	hex   = "0123456789abcdef"
	// maxRecordBatch is the most failures stored with one write.
	maxRecordBatch = 256
	// recordQueue is how many failures may wait to be stored.
	recordQueue = 4096
)

func failureKey(participant, id string) []byte {
	return []byte(failurePrefix + participant + "/" + id)
}

func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if strings.IndexByte(hex, id[i]) < 0 {
			return false
		}
	}
	return true
}

// recorder stores failed callbacks from one goroutine, many with each write,
// so that a participant that is down costs the KV little.
type recorder struct {
	recMu     sync.RWMutex // guards recClosed and sends on records
	recClosed bool
	records   chan record
	recDone   chan struct{}
	seq       atomic.Uint32
}

// record is a failure to store, or, with f nil, a request to close ack once
// everything before it is stored.
type record struct {
	f   *Failure
	ack chan struct{}
}

func (s *Sender) startRecorder() {
	s.records = make(chan record, recordQueue)
	s.recDone = make(chan struct{})
	go s.recordLoop()
}

func (s *Sender) stopRecorder() {
	s.recMu.Lock()
	s.recClosed = true
	close(s.records)
	s.recMu.Unlock()
	<-s.recDone
}

// record stores f, counting it as failed. A caller that must not wait
// passes block false: when the recorder is backed up, f is only logged.
func (s *Sender) record(f *Failure, block bool) {
	s.recMu.RLock()
	if !s.recClosed {
		queued := true
		if block {
			s.records <- record{f: f}
		} else {
			select {
			case s.records <- record{f: f}:
			default:
				queued = false
			}
		}
		s.recMu.RUnlock()
		s.stats.failed.Add(1)
		if !queued {
			s.stats.unrecorded.Add(1)
			s.log.Warn("callback: failed and not stored: too many failures waiting to be stored",
				"to", f.To, "type", f.Kind, "method", f.Method, "path", f.Path, "err", f.LastError)
			// Done is not called: its owner keeps the request and sends
			// it again after a restart.
		}
		return
	}
	s.recMu.RUnlock()
	// After Close: store it here.
	s.persist([]*Failure{f})
	s.stats.failed.Add(1)
}

func (s *Sender) recordLoop() {
	defer close(s.recDone)
	var batch []*Failure
	var acks []chan struct{}
	for r := range s.records {
		batch, acks = batch[:0], acks[:0]
		add := func(r record) {
			if r.f != nil {
				batch = append(batch, r.f)
			}
			if r.ack != nil {
				acks = append(acks, r.ack)
			}
		}
		add(r)
	more:
		for len(batch) < maxRecordBatch {
			select {
			case r, ok := <-s.records:
				if !ok {
					break more
				}
				add(r)
			default:
				break more
			}
		}
		if len(batch) > 0 {
			s.persist(batch)
		}
		for _, a := range acks {
			close(a)
		}
	}
}

// persist writes failures to the KV and logs them, then drops the oldest of
// each recipient's beyond MaxFailures.
func (s *Sender) persist(fs []*Failure) {
	b := store.KVBatch{Ops: make([]store.KVOp, 0, len(fs))}
	for _, f := range fs {
		f.ID = fmt.Sprintf("%016x%08x", ^uint64(f.Last.UnixNano()), ^s.seq.Add(1))
		v, err := encodeFailure(f)
		if err != nil {
			// Only strings, numbers and bytes: it always encodes.
			panic("callback: encode failure: " + err.Error())
		}
		b.Set(failureKey(f.To, f.ID), v)
	}
	// Durable: the request's owner forgets it once its failure is stored.
	// Not the caller's context: failures are stored at Close too.
	b.Durable = true
	s.failMu.Lock()
	err := s.kv.Apply(context.Background(), &b)
	for _, f := range fs {
		s.addLocked(f.To, 1, err)
	}
	s.failMu.Unlock()
	if err != nil {
		s.stats.unrecorded.Add(uint64(len(fs)))
		s.log.Error("callback: store failed callbacks", "count", len(fs), "err", err)
	}
	for _, f := range fs {
		id := f.ID
		if err != nil {
			id = ""
		}
		s.log.Warn("callback: failed", "to", f.To, "type", f.Kind, "method", f.Method, "url", f.URL, "path", f.Path,
			"attempts", f.Attempts, "status", f.LastStatus, "err", f.LastError, "id", id)
		if f.done != nil && err == nil {
			f.done()
		}
	}
	if err != nil {
		return
	}
	for i, f := range fs {
		if i == 0 || !slices.ContainsFunc(fs[:i], func(g *Failure) bool { return g.To == f.To }) {
			s.prune(context.Background(), f.To, time.Time{}, writePruneBatches)
		}
	}
}

// flush returns once every failure recorded before it is stored.
func (s *Sender) flush(ctx context.Context) error {
	ack := make(chan struct{})
	s.recMu.RLock()
	if s.recClosed {
		s.recMu.RUnlock()
		return nil // Close stored everything
	}
	select {
	case s.records <- record{ack: ack}:
	case <-ctx.Done():
		s.recMu.RUnlock()
		return ctx.Err()
	}
	s.recMu.RUnlock()
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Failures returns participant's failed callbacks, newest first, at most
// limit of them (50 when limit is not positive), starting after cursor (""
// for the first page). It returns the cursor of the next page, "" when there
// is none. It sees every failure recorded before the call and not dropped
// since (past Config.FailureRetention or beyond Config.MaxFailures); the
// cursor stays valid when the failures around it are dropped.
func (s *Sender) Failures(ctx context.Context, participant, cursor string, limit int) ([]Failure, string, error) {
	if !ledger.ValidParticipantID(participant) {
		return nil, "", refuse(ErrInvalidParticipant, " %q", truncate(participant, 64))
	}
	if cursor != "" && !validID(cursor) {
		return nil, "", fmt.Errorf("%w %q", ErrInvalidCursor, truncate(cursor, 64))
	}
	if limit <= 0 {
		limit = 50
	}
	if err := s.flush(ctx); err != nil {
		return nil, "", err
	}
	prefix := failurePrefix + participant + "/"
	var out []Failure
	err := scanAfter(ctx, s.kv, prefix, cursor, limit+1, func(key, value []byte) error {
		f, err := decodeFailure(string(key[len(prefix):]), value)
		if err != nil {
			return err
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("callback: list failed callbacks of %s: %w", participant, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// scanAfter calls fn for the first n keys under prefix that follow
// prefix+after in key order, every key under prefix being prefix and idLen
// hex digits. The KV scans only by prefix, so the keys after a given one are
// read as the prefixes that follow it: those that share all of it but the
// last digit and have a greater last digit, then those that share all but
// the last two digits and have a greater second last, and so on.
func scanAfter(ctx context.Context, kv store.KV, prefix, after string, n int, fn func(key, value []byte) error) error {
	count := func(key, value []byte) error {
		n--
		return fn(key, value)
	}
	if after == "" {
		return kv.Scan(ctx, []byte(prefix), n, count)
	}
	for i := len(after) - 1; i >= 0 && n > 0; i-- {
		for d := strings.IndexByte(hex, after[i]) + 1; d < len(hex) && n > 0; d++ {
			if err := kv.Scan(ctx, []byte(prefix+after[:i]+hex[d:d+1]), n, count); err != nil {
				return err
			}
		}
	}
	return nil
}

// Failure returns one of participant's failed callbacks.
func (s *Sender) Failure(ctx context.Context, participant, id string) (Failure, error) {
	if !ledger.ValidParticipantID(participant) || !validID(id) {
		return Failure{}, ErrFailureNotFound
	}
	if err := s.flush(ctx); err != nil {
		return Failure{}, err
	}
	b, err := s.kv.Get(ctx, failureKey(participant, id))
	if errors.Is(err, store.ErrNotFound) {
		return Failure{}, ErrFailureNotFound
	}
	if err != nil {
		return Failure{}, fmt.Errorf("callback: read failed callback %s of %s: %w", id, participant, err)
	}
	return decodeFailure(id, b)
}

// Redeliver sends a failed callback again, to the recipient's endpoint as it
// is now, and removes its record; if it fails again it is recorded anew. It
// returns ErrFailureNotFound when there is no such record (a second
// Redeliver of the same one included, and one dropped past
// Config.FailureRetention or beyond Config.MaxFailures), an error wrapping
// ErrNoEndpoint or ErrMissingValue when it cannot be addressed, and
// ErrQueueFull or ErrClosed when it cannot be queued; the record is kept in
// every one of these cases.
func (s *Sender) Redeliver(ctx context.Context, participant, failureID string) error {
	if !ledger.ValidParticipantID(participant) || !validID(failureID) {
		return ErrFailureNotFound
	}
	if err := s.flush(ctx); err != nil {
		return err
	}
	// Held to the end: a pruning pass cannot drop the record between its
	// read and its removal, nor see it restored after it was dropped.
	s.failMu.Lock()
	defer s.failMu.Unlock()
	key := failureKey(participant, failureID)
	raw, err := s.kv.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return ErrFailureNotFound
	}
	if err != nil {
		return fmt.Errorf("callback: read failed callback %s of %s: %w", failureID, participant, err)
	}
	f, err := decodeFailure(failureID, raw)
	if err != nil {
		return err
	}
	r := &Request{To: f.To, Kind: f.Kind, Method: f.Method, Path: f.Path, Vars: f.Vars, Header: f.Header, Body: f.Body}
	url, err := s.eps.Resolve(r)
	if err != nil {
		return err
	}
	var del store.KVBatch
	del.Delete(key)
	err = s.kv.Apply(ctx, &del)
	s.addLocked(participant, -1, err)
	if err != nil {
		return fmt.Errorf("callback: remove failed callback %s of %s: %w", failureID, participant, err)
	}
	if err := s.enqueue(&job{req: r, url: url, first: s.cfg.Clock.Now()}); err != nil {
		var put store.KVBatch
		put.Set(key, raw)
		perr := s.kv.Apply(context.Background(), &put)
		s.addLocked(participant, 1, perr)
		if perr != nil {
			s.log.Error("callback: restore failed callback", "to", participant, "id", failureID, "err", perr)
		}
		return err
	}
	return nil
}
