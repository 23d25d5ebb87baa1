// Package pebble is the embedded storage backend, on CockroachDB's Pebble
// LSM key-value store. It needs no service: the data is a directory.
//
// It keeps three Pebble databases in its directory, each one prefix byte
// then the key:
//
//	journal/  j seq[8 BE]                              journal entry (journal.Append)
//	          o id[8 BE]                               message owed to a participant (package outbox)
//	records/  t completed[8 BE] id[16]                 final transfer
//	created/  c created[8 BE] id[16]                   creation order: payer 0x00 payee
//	state/    p id                                     participant
//	          a participant 0x00 currency type[1]      account
//	          i id[16]                                 where transfer id is: state[1] time[8 BE]
//	          r created[8 BE] id[16]                   reserved transfer
//	          m c                                      checkpoint: journal seq[8 BE] the state reflects, transfers[8 BE] stored
//
// The journal is written with a synced commit per group of entries and is
// the truth. The other two are written at checkpoints without a write-ahead
// log: everything in them can be rebuilt from the journal. A checkpoint
// first writes the transfers that became final to records and the new ones
// to created, and flushes both, then writes the rest to state with the
// checkpoint marker, in one batch.
// After a crash state reverts to a checkpoint whose records are on disk,
// and the journal after it is replayed; records may hold some transfers
// again, which the replay rewrites identically.
//
// A final transfer is written once, keyed by the time it became final, so
// records only ever grows at its end and Pebble moves its files down the
// levels without rewriting them; so does created, the creation-order index
// that lists a participant's transfers. Each has a database of its own so
// that its files never overlap another key range's. Only the small id index
// in state is written in random order.
//
// Every value but the journal's ends with a CRC-32C of its key and record, so
// a changed byte is reported as store.ErrCorrupt rather than used; journal
// entries carry their own SHA-256 chain, checked by the audit package. Pebble
// checksums its blocks as well.
package pebble

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"

	"github.com/hutong/hutong/journal"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
)

const (
	prefixJournal     = 'j'
	prefixParticipant = 'p'
	prefixAccount     = 'a'
	prefixTransfer    = 't'
	prefixID          = 'i'
	prefixReserved    = 'r'
	prefixCreated     = 'c'
	prefixMeta        = 'm'
	prefixWindow      = 'w'
	prefixSettlement  = 's'
	prefixOwed        = 'o'

	metaCheckpoint = 'c'
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Options tune the store.
type Options struct {
	// CacheSize is the memory in bytes for the block cache and the
	// memtables, which Pebble takes out of the cache's budget. Default
	// 256 MiB.
	CacheSize int64
	// MemTableSize is the size of each memtable in bytes. Default 64 MiB.
	MemTableSize uint64
	// Logger receives Pebble's errors. Default slog.Default().
	Logger *slog.Logger
	// ReadOnly opens the store for reading only (verify).
	ReadOnly bool
}

// Store is a store.Store on Pebble.
type Store struct {
	db       *pebble.DB // state: participants, accounts, reserved transfers, indexes
	rdb      *pebble.DB // records: final transfers
	cdb      *pebble.DB // created: the creation-order index
	jdb      *pebble.DB // journal
	kdb      *pebble.DB // key-value space: aliases, endpoints, quotes
	readOnly bool

	// closed is read without mu, so that reads never wait for an append's
	// sync; it is set under mu, so that no append is under way when it is.
	closed atomic.Bool

	mu   sync.Mutex // guards the fields below
	head journal.Head
	buf  []byte

	cpMu       sync.Mutex // guards the fields below; held by Checkpoint
	checkpoint uint64
	transfers  uint64 // stored as of the checkpoint
	cpBuf      []byte
}

var _ store.Store = (*Store)(nil)

type logger struct{ l *slog.Logger }

func (l logger) Infof(string, ...any) {}
func (l logger) Errorf(format string, args ...any) {
	l.l.Error("pebble: " + fmt.Sprintf(format, args...))
}
func (l logger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.l.Error("pebble: fatal: " + msg)
	panic("pebble: " + msg)
}

// Open opens or creates the store in dir. It holds two Pebble databases:
// dir/journal, written with a synced commit per entry, and dir/state,
// written without a write-ahead log: the journal already holds everything
// the state is made from, and after a crash the state reverts to a
// checkpoint that was fully flushed, from which the journal is replayed.
func Open(dir string, o Options) (*Store, error) {
	if o.CacheSize == 0 {
		o.CacheSize = 256 << 20
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = 64 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cache := pebble.NewCache(o.CacheSize)
	defer cache.Unref()
	options := func(memtable uint64, disableWAL bool) *pebble.Options {
		opts := &pebble.Options{
			Cache:              cache,
			MemTableSize:       memtable,
			Logger:             logger{o.Logger},
			ReadOnly:           o.ReadOnly,
			DisableWAL:         disableWAL,
			FormatMajorVersion: pebble.FormatNewest,
			CompactionConcurrencyRange: func() (int, int) {
				return 1, 2
			},
		}
		// Records are mostly ids and digests, which do not compress; spend
		// the CPU on the ledger instead.
		opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
		opts.L0StopWritesThreshold = 64
		for i := range opts.Levels {
			opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
			opts.Levels[i].BlockSize = 16 << 10
		}
		return opts
	}
	jdb, err := pebble.Open(filepath.Join(dir, "journal"), options(16<<20, false))
	if err != nil {
		return nil, fmt.Errorf("open journal store %s: %w", dir, err)
	}
	rdb, err := pebble.Open(filepath.Join(dir, "records"), options(o.MemTableSize, true))
	if err != nil {
		jdb.Close()
		return nil, fmt.Errorf("open records store %s: %w", dir, err)
	}
	cdb, err := pebble.Open(filepath.Join(dir, "created"), options(o.MemTableSize/4, true))
	if err != nil {
		jdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("open created store %s: %w", dir, err)
	}
	db, err := pebble.Open(filepath.Join(dir, "state"), options(o.MemTableSize/4, true))
	if err != nil {
		jdb.Close()
		rdb.Close()
		cdb.Close()
		return nil, fmt.Errorf("open state store %s: %w", dir, err)
	}
	// Every quote is looked up as new and written twice: a memtable of
	// half the default keeps those lookups off the many small tables a
	// smaller one flushes (they cost twice as much at 4 MiB).
	kdb, err := pebble.Open(filepath.Join(dir, "kv"), options(o.MemTableSize/2, false))
	if err != nil {
		jdb.Close()
		rdb.Close()
		cdb.Close()
		db.Close()
		return nil, fmt.Errorf("open key-value store %s: %w", dir, err)
	}
	s := &Store{db: db, rdb: rdb, cdb: cdb, jdb: jdb, kdb: kdb, readOnly: o.ReadOnly}
	if err := s.loadHead(); err != nil {
		s.closeAll()
		return nil, err
	}
	return s, nil
}

func (s *Store) loadHead() error {
	it, err := s.jdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixJournal}, UpperBound: []byte{prefixJournal + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	if it.Last() {
		e, err := journal.Decode(it.Value())
		if err != nil {
			return fmt.Errorf("read journal head: %w", err)
		}
		s.head = journal.Head{Seq: e.Seq, Hash: e.Hash}
	}
	if err := it.Error(); err != nil {
		return err
	}
	key := []byte{prefixMeta, metaCheckpoint}
	err = s.get(s.db, key, func(rec []byte) error {
		if len(rec) != 16 {
			return fmt.Errorf("%w: checkpoint record of %d bytes", store.ErrCorrupt, len(rec))
		}
		s.checkpoint = binary.BigEndian.Uint64(rec)
		s.transfers = binary.BigEndian.Uint64(rec[8:])
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		err = nil
	}
	if err == nil && s.checkpoint > s.head.Seq {
		err = fmt.Errorf("%w: checkpoint %d is past the journal head %d", store.ErrCorrupt, s.checkpoint, s.head.Seq)
	}
	return err
}

// Close closes the store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	var err error
	if !s.readOnly {
		// Without a write-ahead log, unflushed state would be rebuilt from
		// the journal on the next start; flushing makes that start quick.
		err = errors.Join(s.rdb.Flush(), s.cdb.Flush(), s.db.Flush())
	}
	return errors.Join(err, s.closeAll())
}

// readable returns store.ErrClosed after Close. Reads must not race with
// Close.
func (s *Store) readable() error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

func (s *Store) closeAll() error {
	return errors.Join(s.db.Close(), s.rdb.Close(), s.cdb.Close(), s.jdb.Close(), s.kdb.Close())
}

var errReadOnly = errors.New("store: read-only")

func owedKey(id uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixOwed
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

func setOwed(b *pebble.Batch, msgs []store.Message) error {
	for _, m := range msgs {
		if len(m.Value) > store.MaxMessage {
			return fmt.Errorf("store: message %d of %d bytes, more than %d", m.ID, len(m.Value), store.MaxMessage)
		}
		k := owedKey(m.ID)
		if err := b.Set(k, seal(k, m.Value), nil); err != nil {
			return err
		}
	}
	return nil
}

// storeOwed stores messages on their own, with a synced commit. It does not
// take mu: Pebble groups it with concurrent appends into one sync.
func (s *Store) storeOwed(msgs []store.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := s.readable(); err != nil {
		return err
	}
	if s.readOnly {
		return errReadOnly
	}
	wb := s.jdb.NewBatch()
	defer wb.Close()
	if err := setOwed(wb, msgs); err != nil {
		return err
	}
	if err := wb.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store %d owed messages: %w", len(msgs), err)
	}
	return nil
}

// Owed implements store.Store.
func (s *Store) Owed(ctx context.Context, fn func(id uint64, value []byte) error) error {
	if err := s.readable(); err != nil {
		return err
	}
	it, err := s.jdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: []byte{prefixOwed}, UpperBound: []byte{prefixOwed + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := it.Key()
		if len(k) != 9 {
			return fmt.Errorf("%w: owed message key %x", store.ErrCorrupt, k)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		rec, err := open(k, v)
		if err != nil {
			return err
		}
		if err := fn(binary.BigEndian.Uint64(k[1:]), rec); err != nil {
			return err
		}
	}
	return it.Error()
}

// Delivered implements store.Store.
func (s *Store) Delivered(_ context.Context, ids ...uint64) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.readable(); err != nil {
		return err
	}
	if s.readOnly {
		return errReadOnly
	}
	wb := s.jdb.NewBatch()
	defer wb.Close()
	for _, id := range ids {
		if err := wb.Delete(owedKey(id), nil); err != nil {
			return err
		}
	}
	return wb.Commit(pebble.NoSync)
}

func journalKey(seq uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixJournal
	binary.BigEndian.PutUint64(k[1:], seq)
	return k
}

// TransferKey returns the key a transfer is stored under: in records when
// it is final, in state when it is reserved.
func TransferKey(t *ledger.Transfer) []byte {
	if t.State.Final() {
		return appendTimeKey(nil, prefixTransfer, t.Completed, t.ID)
	}
	return appendTimeKey(nil, prefixReserved, t.Created, t.ID)
}

func appendTimeKey(b []byte, prefix byte, at time.Time, id ledger.ID) []byte {
	b = append(b, prefix)
	b = binary.BigEndian.AppendUint64(b, uint64(at.UnixNano()))
	return append(b, id[:]...)
}

// Where an id record says a transfer is.
const (
	inReserved = 'r'
	inRecords  = 't'
)

func idKey(id ledger.ID) []byte { return append([]byte{prefixID}, id[:]...) }

func participantKey(id string) []byte { return append([]byte{prefixParticipant}, id...) }

func accountPrefix(participant string) []byte {
	k := append([]byte{prefixAccount}, participant...)
	return append(k, 0)
}

func accountKey(k ledger.AccountKey) []byte {
	b := accountPrefix(k.Participant)
	b = append(b, k.Currency...)
	return append(b, byte(k.Type))
}

// seal appends the checksum of key and record to record.
func seal(key, record []byte) []byte {
	c := crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, record)
	return binary.BigEndian.AppendUint32(record, c)
}

// open checks and strips a value's checksum.
func open(key, value []byte) ([]byte, error) {
	if len(value) < 4 {
		return nil, fmt.Errorf("%w: key %x: %d bytes", store.ErrCorrupt, key, len(value))
	}
	rec := value[:len(value)-4]
	want := binary.BigEndian.Uint32(value[len(value)-4:])
	if crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, rec) != want {
		return nil, fmt.Errorf("%w: key %x: checksum mismatch", store.ErrCorrupt, key)
	}
	return rec, nil
}

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, es ...*journal.Entry) error {
	return s.AppendOwed(ctx, nil, es...)
}

// AppendOwed implements store.Store. Messages go to the journal's database,
// so that they share the entries' synced commit.
func (s *Store) AppendOwed(_ context.Context, msgs []store.Message, es ...*journal.Entry) error {
	if len(es) == 0 {
		return s.storeOwed(msgs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return store.ErrClosed
	}
	if s.readOnly {
		return errReadOnly
	}
	head := s.head
	for _, e := range es {
		if e.Seq != head.Seq+1 || e.Prev != head.Hash {
			return fmt.Errorf("%w: entry %d after head %d", store.ErrConflict, e.Seq, head.Seq)
		}
		head = journal.Head{Seq: e.Seq, Hash: e.Hash}
	}
	if len(es) == 0 {
		return nil
	}
	wb := s.jdb.NewBatch()
	defer wb.Close()
	for _, e := range es {
		s.buf = journal.Append(s.buf[:0], e)
		if err := wb.Set(journalKey(e.Seq), s.buf, nil); err != nil {
			return err
		}
	}
	if err := setOwed(wb, msgs); err != nil {
		return err
	}
	if err := wb.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("append journal entries %d to %d: %w", es[0].Seq, head.Seq, err)
	}
	s.head = head
	return nil
}

// Checkpoint implements store.Store.
func (s *Store) Checkpoint(_ context.Context, c *store.Checkpoint) error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return store.ErrClosed
	}
	head := s.head.Seq
	s.mu.Unlock()
	s.cpMu.Lock()
	defer s.cpMu.Unlock()
	if c.Seq > head || c.Seq < s.checkpoint {
		return fmt.Errorf("%w: checkpoint at %d with head %d and last checkpoint %d", store.ErrConflict, c.Seq, head, s.checkpoint)
	}
	// Final transfers first, to records, flushed before the marker that
	// covers them is written. Pebble sorts a batch's keys itself.
	finals := make([]*ledger.TransferChange, 0, len(c.Transfers))
	for i := range c.Transfers {
		if c.Transfers[i].State.Final() {
			finals = append(finals, &c.Transfers[i])
		}
	}
	buf := s.cpBuf[:0]
	var key []byte
	if len(finals) > 0 {
		b := s.rdb.NewBatch()
		for _, tc := range finals {
			key = appendTimeKey(key[:0], prefixTransfer, tc.Completed, tc.ID)
			buf = seal(key, ledger.AppendTransfer(buf[:0], &tc.Transfer))
			if err := b.Set(key, buf, nil); err != nil {
				b.Close()
				return err
			}
		}
		if err := commitAndFlush(s.rdb, b); err != nil {
			return fmt.Errorf("checkpoint at journal entry %d: records: %w", c.Seq, err)
		}
	}
	// New transfers were created after every transfer of earlier
	// checkpoints, so this too appends.
	news := make([]*ledger.TransferChange, 0, len(c.Transfers))
	for i := range c.Transfers {
		if c.Transfers[i].New {
			news = append(news, &c.Transfers[i])
		}
	}
	if len(news) > 0 {
		b := s.cdb.NewBatch()
		for _, tc := range news {
			key = appendTimeKey(key[:0], prefixCreated, tc.Created, tc.ID)
			buf = append(append(append(buf[:0], tc.Payer...), 0), tc.Payee...)
			buf = seal(key, buf)
			if err := b.Set(key, buf, nil); err != nil {
				b.Close()
				return err
			}
		}
		if err := commitAndFlush(s.cdb, b); err != nil {
			return fmt.Errorf("checkpoint at journal entry %d: creation index: %w", c.Seq, err)
		}
	}

	wb := s.db.NewBatch()
	defer wb.Close()
	set := func() error { return wb.Set(key, buf, nil) }
	for i := range c.Participants {
		p := &c.Participants[i]
		key = participantKey(p.ID)
		buf = seal(key, ledger.AppendParticipant(buf[:0], p))
		if err := set(); err != nil {
			return err
		}
	}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		key = accountKey(a.AccountKey)
		buf = seal(key, ledger.AppendAccount(buf[:0], a))
		if err := set(); err != nil {
			return err
		}
	}
	for i := range c.Transfers {
		tc := &c.Transfers[i]
		t := &tc.Transfer
		key = append(key[:0], prefixID)
		key = append(key, t.ID[:]...)
		if t.State.Final() {
			buf = append(buf[:0], inRecords)
			buf = binary.BigEndian.AppendUint64(buf, uint64(t.Completed.UnixNano()))
		} else {
			buf = append(buf[:0], inReserved)
			buf = binary.BigEndian.AppendUint64(buf, uint64(t.Created.UnixNano()))
		}
		buf = seal(key, buf)
		if err := set(); err != nil {
			return err
		}
		key = appendTimeKey(key[:0], prefixReserved, t.Created, t.ID)
		switch {
		case !t.State.Final():
			buf = seal(key, ledger.AppendTransfer(buf[:0], t))
			if err := set(); err != nil {
				return err
			}
		case !tc.New:
			// It was reserved at an earlier checkpoint.
			if err := wb.Delete(key, nil); err != nil {
				return err
			}
		}
	}
	for i := range c.Windows {
		w := &c.Windows[i]
		key = binary.BigEndian.AppendUint64(append(key[:0], prefixWindow), w.ID)
		buf = seal(key, ledger.AppendWindow(buf[:0], w))
		if err := set(); err != nil {
			return err
		}
	}
	for i := range c.Settlements {
		st := &c.Settlements[i]
		key = binary.BigEndian.AppendUint64(append(key[:0], prefixSettlement), st.ID)
		buf = seal(key, ledger.AppendSettlement(buf[:0], st))
		if err := set(); err != nil {
			return err
		}
	}
	key = []byte{prefixMeta, metaCheckpoint}
	count := s.transfers + uint64(len(news))
	buf = binary.BigEndian.AppendUint64(buf[:0], c.Seq)
	buf = seal(key, binary.BigEndian.AppendUint64(buf, count))
	if err := set(); err != nil {
		return err
	}
	s.cpBuf = buf
	if err := wb.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("checkpoint at journal entry %d: %w", c.Seq, err)
	}
	s.checkpoint, s.transfers = c.Seq, count
	return nil
}

func (s *Store) get(db pebble.Reader, key []byte, fn func(rec []byte) error) error {
	v, closer, err := db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	defer closer.Close()
	rec, err := open(key, v)
	if err != nil {
		return err
	}
	return fn(rec)
}

func corrupt(key []byte, err error) error {
	if errors.Is(err, store.ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w: key %x: %v", store.ErrCorrupt, key, err)
}

// commitAndFlush commits b to a database without a write-ahead log and
// waits until it is on disk.
func commitAndFlush(db *pebble.DB, b *pebble.Batch) error {
	err := b.Commit(pebble.NoSync)
	b.Close()
	if err != nil {
		return err
	}
	return db.Flush()
}

// Transfer implements store.Store.
func (s *Store) Transfer(_ context.Context, id ledger.ID) (ledger.Transfer, error) {
	if err := s.readable(); err != nil {
		return ledger.Transfer{}, err
	}
	ik := idKey(id)
	for try := 0; ; try++ {
		var where []byte
		err := s.get(s.db, ik, func(rec []byte) error {
			where = bytes.Clone(rec)
			return nil
		})
		if err != nil {
			return ledger.Transfer{}, err
		}
		t, err := s.transferAt(s.db, id, where)
		// A checkpoint that finalizes a reserved transfer moves it between
		// the two reads; its id record then says where it went.
		if errors.Is(err, errMoved) && try < 3 {
			continue
		}
		return t, err
	}
}

// errMoved is returned by transferAt when the id record pointed at a
// reserved transfer that is no longer there.
var errMoved = fmt.Errorf("%w: transfer indexed but missing", store.ErrCorrupt)

// transferAt reads the transfer with id from where its id record says it is.
// Reserved transfers are read from state, which may be a snapshot.
func (s *Store) transferAt(state pebble.Reader, id ledger.ID, where []byte) (ledger.Transfer, error) {
	if len(where) != 9 || (where[0] != inRecords && where[0] != inReserved) {
		return ledger.Transfer{}, fmt.Errorf("%w: transfer %s: id record %x", store.ErrCorrupt, id, where)
	}
	var db pebble.Reader = s.rdb
	if where[0] == inReserved {
		db = state
	}
	key := make([]byte, 0, 25)
	key = append(key, where...)
	key = append(key, id[:]...)
	var t ledger.Transfer
	err := s.get(db, key, func(rec []byte) error {
		var err error
		t, err = ledger.DecodeTransfer(rec)
		if err != nil {
			return corrupt(key, err)
		}
		if !bytes.Equal(key, TransferKey(&t)) {
			return fmt.Errorf("%w: key %x holds transfer %s %s", store.ErrCorrupt, key, t.ID, t.State)
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("%w: transfer %s", errMoved, id)
	}
	return t, err
}

// finder looks transfers up through one iterator that consults the bloom
// filters of every level, the last included: nearly all lookups are of new
// ids, which the filters answer without reading a data block.
type finder struct {
	s    *Store
	snap *pebble.Snapshot // the state as of the last Refresh
	it   *pebble.Iterator
	key  [17]byte
}

// NewFinder implements store.Store.
func (s *Store) NewFinder() (store.Finder, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	f := &finder{s: s}
	f.key[0] = prefixID
	return f, f.Refresh()
}

func (f *finder) Refresh() error {
	if err := f.Close(); err != nil {
		return err
	}
	f.snap = f.s.db.NewSnapshot()
	it, err := f.snap.NewIter(&pebble.IterOptions{
		LowerBound:   []byte{prefixID},
		UpperBound:   []byte{prefixID + 1},
		UseL6Filters: true,
	})
	if err != nil {
		f.snap.Close()
		f.snap = nil
		return err
	}
	f.it = it
	return nil
}

func (f *finder) Close() error {
	var err error
	if f.it != nil {
		err = f.it.Close()
		f.it = nil
	}
	if f.snap != nil {
		err = errors.Join(err, f.snap.Close())
		f.snap = nil
	}
	return err
}

// FinalTransfer implements ledger.Finalized.
func (f *finder) FinalTransfer(id ledger.ID) (ledger.Transfer, bool, error) {
	copy(f.key[1:], id[:])
	if !f.it.SeekPrefixGE(f.key[:]) {
		return ledger.Transfer{}, false, f.it.Error()
	}
	v, err := f.it.ValueAndErr()
	if err != nil {
		return ledger.Transfer{}, false, err
	}
	rec, err := open(f.key[:], v)
	if err != nil {
		return ledger.Transfer{}, false, err
	}
	t, err := f.s.transferAt(f.snap, id, rec)
	return t, err == nil, err
}

// Participant implements store.Store.
func (s *Store) Participant(_ context.Context, id string) (ledger.Participant, error) {
	if err := s.readable(); err != nil {
		return ledger.Participant{}, err
	}
	var p ledger.Participant
	key := participantKey(id)
	err := s.get(s.db, key, func(rec []byte) error {
		var err error
		p, err = ledger.DecodeParticipant(rec)
		if err != nil {
			return corrupt(key, err)
		}
		return nil
	})
	return p, err
}

// scan calls fn with each key and checked record under prefix.
func (s *Store) scan(ctx context.Context, prefix []byte, fn func(key, rec []byte) error) error {
	upper := append(bytes.Clone(prefix[:len(prefix)-1]), prefix[len(prefix)-1]+1)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return err
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		rec, err := open(it.Key(), v)
		if err != nil {
			return err
		}
		if err := fn(it.Key(), rec); err != nil {
			return err
		}
	}
	return it.Error()
}

// Participants implements store.Store.
func (s *Store) Participants(ctx context.Context) ([]ledger.Participant, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	var out []ledger.Participant
	err := s.scan(ctx, []byte{prefixParticipant}, func(key, rec []byte) error {
		p, err := ledger.DecodeParticipant(rec)
		if err != nil {
			return corrupt(key, err)
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// Accounts implements store.Store.
func (s *Store) Accounts(ctx context.Context, participant string) ([]ledger.Account, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	prefix := []byte{prefixAccount}
	if participant != "" {
		prefix = accountPrefix(participant)
	}
	var out []ledger.Account
	err := s.scan(ctx, prefix, func(key, rec []byte) error {
		a, err := ledger.DecodeAccount(rec)
		if err != nil {
			return corrupt(key, err)
		}
		out = append(out, a)
		return nil
	})
	// Keys order by participant, currency, type already; the hub's "hub"
	// sorts among participants by its id like any other.
	slices.SortStableFunc(out, func(a, b ledger.Account) int { return a.AccountKey.Compare(b.AccountKey) })
	return out, err
}

// Load implements store.Store.
func (s *Store) Load(ctx context.Context) (store.Snapshot, error) {
	if err := s.readable(); err != nil {
		return store.Snapshot{}, err
	}
	var snap store.Snapshot
	s.mu.Lock()
	snap.Head = s.head
	s.mu.Unlock()
	s.cpMu.Lock()
	snap.Checkpoint, snap.Transfers = s.checkpoint, s.transfers
	s.cpMu.Unlock()
	var err error
	if snap.Participants, err = s.Participants(ctx); err != nil {
		return snap, err
	}
	if snap.Accounts, err = s.Accounts(ctx, ""); err != nil {
		return snap, err
	}
	if snap.Windows, err = s.Windows(ctx); err != nil {
		return snap, err
	}
	if snap.Settlements, err = s.Settlements(ctx); err != nil {
		return snap, err
	}
	err = s.scan(ctx, []byte{prefixReserved}, func(key, rec []byte) error {
		t, err := ledger.DecodeTransfer(rec)
		if err != nil {
			return corrupt(key, err)
		}
		if !bytes.Equal(key, TransferKey(&t)) {
			return fmt.Errorf("%w: key %x holds transfer %s %s", store.ErrCorrupt, key, t.ID, t.State)
		}
		snap.Pending = append(snap.Pending, t)
		return nil
	})
	return snap, err
}

// Windows implements store.Store.
func (s *Store) Windows(ctx context.Context) ([]ledger.Window, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	var out []ledger.Window
	err := s.scan(ctx, []byte{prefixWindow}, func(key, rec []byte) error {
		w, err := ledger.DecodeWindow(rec)
		if err != nil {
			return corrupt(key, err)
		}
		out = append(out, w)
		return nil
	})
	return out, err
}

// Settlements implements store.Store.
func (s *Store) Settlements(ctx context.Context) ([]ledger.Settlement, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	var out []ledger.Settlement
	err := s.scan(ctx, []byte{prefixSettlement}, func(key, rec []byte) error {
		st, err := ledger.DecodeSettlement(rec)
		if err != nil {
			return corrupt(key, err)
		}
		out = append(out, st)
		return nil
	})
	return out, err
}

// Completed implements store.Store. Final transfers are kept in the records
// database under their completion time, so this is one range scan.
func (s *Store) Completed(ctx context.Context, from, to time.Time, fn func(*ledger.Transfer) error) error {
	if err := s.readable(); err != nil {
		return err
	}
	if !from.Before(to) {
		return nil
	}
	// Completion times are after 1970 and fit UnixNano; clamp the bounds to
	// that range so the zero time and far futures work.
	first, last := time.Unix(0, 0), time.Unix(0, math.MaxInt64)
	if from.Before(first) {
		from = first
	}
	lower := appendTimeKey(nil, prefixTransfer, from, ledger.ID{})
	upper := []byte{prefixTransfer + 1}
	if to.Before(last) {
		upper = appendTimeKey(nil, prefixTransfer, to, ledger.ID{})
	}
	it, err := s.rdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := open(it.Key(), it.Value())
		if err != nil {
			return corrupt(it.Key(), err)
		}
		t, err := ledger.DecodeTransfer(rec)
		if err != nil {
			return corrupt(it.Key(), err)
		}
		if err := fn(&t); err != nil {
			return err
		}
	}
	return it.Error()
}

// listScanLimit bounds the entries one ParticipantTransfers call reads, so
// that a page for a participant with few transfers among many returns in
// bounded time, with a cursor to go on from.
const listScanLimit = 100_000

// ParticipantTransfers implements store.Store. It reads the creation-order
// index backwards and keeps the participant's transfers; the index names
// each transfer's payer and payee, so only those kept are read. A page may
// hold fewer than limit transfers, none even, with a cursor to the next,
// when listScanLimit entries were read. The cursor is the hex of the last
// index key read.
func (s *Store) ParticipantTransfers(ctx context.Context, participant, cursor string, limit int) ([]ledger.Transfer, string, error) {
	if err := s.readable(); err != nil {
		return nil, "", err
	}
	if participant == ledger.HubID || participant == "" {
		return nil, "", nil
	}
	upper := []byte{prefixCreated + 1}
	if cursor != "" {
		k, err := hex.DecodeString(cursor)
		if err != nil || len(k) != 25 || k[0] != prefixCreated {
			return nil, "", &store.CursorError{Cursor: cursor}
		}
		upper = k
	}
	it, err := s.cdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: []byte{prefixCreated}, UpperBound: upper})
	if err != nil {
		return nil, "", err
	}
	defer it.Close()
	var out []ledger.Transfer
	var last []byte
	scanned := 0
	for valid := it.Last(); valid && len(out) < limit && scanned < listScanLimit; valid = it.Prev() {
		scanned++
		key := it.Key()
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, "", err
		}
		rec, err := open(key, v)
		if err != nil {
			return nil, "", err
		}
		last = append(last[:0], key...)
		payer, payee, ok := bytes.Cut(rec, []byte{0})
		if !ok || len(key) != 25 {
			return nil, "", fmt.Errorf("%w: creation index key %x", store.ErrCorrupt, key)
		}
		if string(payer) != participant && string(payee) != participant {
			continue
		}
		var id ledger.ID
		copy(id[:], key[9:])
		t, err := s.Transfer(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			// Indexed by a checkpoint whose state is not stored yet (being
			// written, or lost in a crash and about to be replayed).
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("transfer %s in the creation index: %w", id, err)
		}
		out = append(out, t)
	}
	if err := it.Error(); err != nil {
		return nil, "", err
	}
	if !it.Valid() {
		return out, "", nil
	}
	return out, hex.EncodeToString(last), nil
}

// Journal implements store.Store.
func (s *Store) Journal(ctx context.Context, from uint64, fn func(*journal.Entry) error) error {
	if err := s.readable(); err != nil {
		return err
	}
	it, err := s.jdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: journalKey(from), UpperBound: []byte{prefixJournal + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		e, err := journal.Decode(v)
		if err != nil {
			return fmt.Errorf("journal key %x: %w", it.Key(), err)
		}
		if k := binary.BigEndian.Uint64(it.Key()[1:]); k != e.Seq {
			return fmt.Errorf("%w: journal key %d holds entry %d", ledger.ErrCorrupt, k, e.Seq)
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return it.Error()
}

// TransferIDs implements store.Store.
func (s *Store) TransferIDs(ctx context.Context, fn func(ledger.ID) error) error {
	if err := s.readable(); err != nil {
		return err
	}
	return s.scan(ctx, []byte{prefixID}, func(key, _ []byte) error {
		var id ledger.ID
		if len(key) != 17 {
			return fmt.Errorf("%w: id key %x", store.ErrCorrupt, key)
		}
		copy(id[:], key[1:])
		return fn(id)
	})
}

// EachTransfer implements store.Store. It follows the id index, so that a
// record written again after a crash but not yet indexed is not counted.
func (s *Store) EachTransfer(ctx context.Context, fn func(*ledger.Transfer) error) error {
	if err := s.readable(); err != nil {
		return err
	}
	return s.scan(ctx, []byte{prefixID}, func(key, rec []byte) error {
		var id ledger.ID
		if len(key) != 17 {
			return fmt.Errorf("%w: id key %x", store.ErrCorrupt, key)
		}
		copy(id[:], key[1:])
		t, err := s.transferAt(s.db, id, rec)
		if err != nil {
			return err
		}
		return fn(&t)
	})
}

// Metrics returns Pebble's metrics, for benchmarks and diagnostics.
func (s *Store) Metrics() string {
	return "state:\n" + s.db.Metrics().String() + "\nrecords:\n" + s.rdb.Metrics().String() +
		"\ncreated:\n" + s.cdb.Metrics().String() + "\njournal:\n" + s.jdb.Metrics().String()
}
