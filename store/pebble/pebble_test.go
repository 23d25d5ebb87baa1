package pebble_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	cpebble "github.com/cockroachdb/pebble/v2"

	"github.com/hutong/hutong/journal"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func open(t *testing.T, dir string) *pebble.Store {
	t.Helper()
	s, err := pebble.Open(dir, pebble.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20, Logger: quiet})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dir string) store.Store { return open(t, dir) })
}

var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// The transfers stored returns: 1 is reserved, 2 committed.
var (
	reserved = ledger.Transfer{ID: ledger.ID{1}, Kind: ledger.KindPayment, State: ledger.StateReserved,
		Payer: "dfsp1", Payee: "dfsp2", Currency: "USD", Amount: 100, Condition: [32]byte{1}, Expiry: t0.Add(time.Minute), Created: t0}
	committed = ledger.Transfer{ID: ledger.ID{2}, Kind: ledger.KindPayment, State: ledger.StateCommitted,
		Payer: "dfsp1", Payee: "dfsp2", Currency: "USD", Amount: 200, Condition: [32]byte{2}, Fulfilment: [32]byte{3},
		Expiry: t0.Add(time.Minute), Created: t0, Completed: t0}
)

// stored returns a store holding one checkpoint with the transfers above and
// a participant.
func stored(t *testing.T) (*pebble.Store, string) {
	dir := t.TempDir()
	s := open(t, dir)
	t.Cleanup(func() { s.Close() })
	e := journal.Entry{Time: t0}
	e.Seal(journal.Head{})
	if err := s.Append(t.Context(), &e); err != nil {
		t.Fatal(err)
	}
	cp := &store.Checkpoint{
		Seq:          1,
		Participants: []ledger.Participant{{ID: "dfsp1", Name: "One", Status: ledger.StatusActive, Created: t0}},
		Transfers:    []ledger.TransferChange{{New: true, Transfer: reserved}, {New: true, Transfer: committed}},
	}
	if err := s.Checkpoint(t.Context(), cp); err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// idKey is the documented key of a transfer's id index record.
func idKey(id ledger.ID) []byte { return append([]byte{'i'}, id[:]...) }

func get(t *testing.T, db *cpebble.DB, key []byte) []byte {
	t.Helper()
	v, closer, err := db.Get(key)
	if err != nil {
		t.Fatalf("Get(%x): %v", key, err)
	}
	defer closer.Close()
	return bytes.Clone(v)
}

func set(t *testing.T, db *cpebble.DB, key, value []byte) {
	t.Helper()
	if err := db.Set(key, value, cpebble.NoSync); err != nil {
		t.Fatal(err)
	}
}

// dbOf returns the database a transfer's record is in: records when it is
// final, state when it is reserved.
func dbOf(s *pebble.Store, t *ledger.Transfer) *cpebble.DB {
	if t.State.Final() {
		return s.RecordsDB()
	}
	return s.DB()
}

func TestCorruptTransfer(t *testing.T) {
	for _, tr := range []ledger.Transfer{committed, reserved} {
		t.Run(tr.State.String(), func(t *testing.T) {
			s, _ := stored(t)
			db := dbOf(s, &tr)
			key := pebble.TransferKey(&tr)
			orig := get(t, db, key)
			check := func(what string) {
				t.Helper()
				if got, err := s.Transfer(t.Context(), tr.ID); !errors.Is(err, store.ErrCorrupt) {
					t.Errorf("Transfer with %s = %+v, %v; want ErrCorrupt", what, got, err)
				}
			}
			for _, i := range []int{0, 1, 2, 3, 20, len(orig) / 2, len(orig) - 5, len(orig) - 4, len(orig) - 1} {
				for _, bit := range []byte{0x01, 0x80} {
					v := bytes.Clone(orig)
					v[i] ^= bit
					set(t, db, key, v)
					check(fmt.Sprintf("byte %d of %d xor %#x", i, len(orig), bit))
				}
			}
			for _, v := range [][]byte{nil, {1}, orig[:3], orig[:len(orig)-1], append(bytes.Clone(orig), 0)} {
				set(t, db, key, v)
				check(fmt.Sprintf("a %d-byte value of %d", len(v), len(orig)))
			}
			// The checksum covers the key: another transfer's record is
			// corrupt here.
			other := committed
			if tr.State.Final() {
				other = reserved
			}
			set(t, db, key, get(t, dbOf(s, &other), pebble.TransferKey(&other)))
			check("another transfer's record")
			// A transfer its id index names must exist.
			if err := db.Delete(key, cpebble.NoSync); err != nil {
				t.Fatal(err)
			}
			check("its record deleted")
			// Restored, it reads again.
			set(t, db, key, orig)
			if got, err := s.Transfer(t.Context(), tr.ID); err != nil || got.Amount != tr.Amount || got.State != tr.State {
				t.Errorf("Transfer after restoring the record = %+v, %v", got, err)
			}
			// The id index is checked too.
			ik := idKey(tr.ID)
			iv := get(t, s.DB(), ik)
			for _, i := range []int{0, 2, len(iv) - 1} {
				bad := bytes.Clone(iv)
				bad[i] ^= 4
				set(t, s.DB(), ik, bad)
				check(fmt.Sprintf("byte %d of its id index record changed", i))
			}
			set(t, s.DB(), ik, iv)
			if _, err := s.Transfer(t.Context(), tr.ID); err != nil {
				t.Errorf("Transfer after restoring the id record: %v", err)
			}
		})
	}
}

func TestCorruptSeenEverywhere(t *testing.T) {
	s, dir := stored(t)
	key := pebble.TransferKey(&reserved) // read by Load too
	v := get(t, s.DB(), key)
	v[len(v)/2] ^= 0x10
	set(t, s.DB(), key, v)
	ctx := t.Context()
	if _, err := s.Load(ctx); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Load: %v, want ErrCorrupt", err)
	}
	if err := s.EachTransfer(ctx, func(*ledger.Transfer) error { return nil }); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("EachTransfer: %v, want ErrCorrupt", err)
	}
	if _, _, err := s.ParticipantTransfers(ctx, "dfsp1", "", 10); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("ParticipantTransfers: %v, want ErrCorrupt", err)
	}
	f, err := s.NewFinder()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.FinalTransfer(ledger.ID{1}); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Finder.FinalTransfer: %v, want ErrCorrupt", err)
	}
	f.Close()

	pkey := append([]byte{'p'}, "dfsp1"...)
	pv := get(t, s.DB(), pkey)
	pv[3] ^= 1
	set(t, s.DB(), pkey, pv)
	if _, err := s.Participant(ctx, "dfsp1"); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Participant: %v, want ErrCorrupt", err)
	}
	if _, err := s.Participants(ctx); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Participants: %v, want ErrCorrupt", err)
	}

	// A corrupt checkpoint record stops the store from opening.
	mkey := []byte{'m', 'c'}
	mv := get(t, s.DB(), mkey)
	mv[0] ^= 1
	set(t, s.DB(), mkey, mv)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s2, err := pebble.Open(dir, pebble.Options{Logger: quiet}); !errors.Is(err, store.ErrCorrupt) {
		if err == nil {
			s2.Close()
		}
		t.Errorf("Open with a corrupt checkpoint record: %v, want ErrCorrupt", err)
	}
}

func TestNotFoundIsNotCorrupt(t *testing.T) {
	s, _ := stored(t)
	if _, err := s.Transfer(t.Context(), ledger.ID{9}); !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Transfer of a missing id: %v, want ErrNotFound only", err)
	}
}

// TestJournalVersion1 opens a journal written before entries and commands
// carried a format version: it loads, lists and takes new entries after it.
func TestJournalVersion1(t *testing.T) {
	golden, err := os.ReadFile("../../journal/testdata/entries-v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := open(t, dir)
	var head journal.Head
	for seq := uint64(1); len(golden) > 0; seq++ {
		n := binary.BigEndian.Uint32(golden)
		raw := golden[4 : 4+n]
		golden = golden[4+n:]
		e, err := journal.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		head = journal.Head{Seq: e.Seq, Hash: e.Hash}
		set(t, s.JournalDB(), binary.BigEndian.AppendUint64([]byte{'j'}, seq), raw)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	snap, err := s.Load(t.Context())
	if err != nil || snap.Head != head {
		t.Fatalf("Load of a version 1 journal: head %+v, %v; want %+v", snap.Head, err, head)
	}
	next := journal.Entry{Time: t0}
	next.Seal(head)
	if err := s.Append(t.Context(), &next); err != nil {
		t.Fatalf("Append after version 1 entries: %v", err)
	}
	var prev journal.Head
	err = s.Journal(t.Context(), 1, func(e *journal.Entry) error {
		if e.Prev != prev.Hash || e.ComputeHash() != e.Hash {
			return fmt.Errorf("entry %d breaks the chain", e.Seq)
		}
		prev = journal.Head{Seq: e.Seq, Hash: e.Hash}
		return e.EachCommand(func(*ledger.Command) error { return nil })
	})
	if err != nil || prev.Seq != head.Seq+1 {
		t.Errorf("Journal over version 1 and 2 entries: ends at %d, %v; want %d", prev.Seq, err, head.Seq+1)
	}
}
