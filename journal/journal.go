// Package journal defines the ledger's journal: the chain of committed
// batches from which every balance can be recomputed.
//
// Each entry holds the commands of one batch that changed the ledger, in the
// order they were applied, the time the batch was applied at, its sequence
// number (1, 2, 3, ... with no gaps) and the SHA-256 hash of the entry before
// it. An entry's own hash covers all of these, so changing any byte of any
// entry breaks the chain from there on:
//
//	hash(e) = SHA-256("hutong-journal-v1" | seq u64 BE | prev[32] | time i64 BE | len u32 BE | commands)
//
// The first entry's prev is all zeros.
//
// An entry is stored as Append encodes it, a format version byte and then its
// fields; the hash covers the fields, not the version, which only says how
// they are laid out:
//
//	version 2:  2 | seq u64 BE | prev[32] | time i64 BE | hash[32] | commands
//	version 1:      seq u64 BE | prev[32] | time i64 BE | hash[32] | commands
//
// Version 1 entries were written before entries carried a version. Their
// first byte is the top byte of seq, which is 0 for any seq below 2^56 (more
// entries than a journal will hold), so a leading 0 marks version 1 and any
// other byte is the version. Decode reads both; a version it does not know is
// ledger.ErrCorrupt, never read as another. The commands are
// ledger.AppendCommand encodings, each with its own version.
package journal

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/hutong/hutong/ledger"
)

// Entry is one committed batch.
type Entry struct {
	Seq      uint64
	Prev     [32]byte
	Time     time.Time
	Commands []byte // ledger.AppendCommand encodings, back to back
	Hash     [32]byte
}

// Head is the last entry's sequence number and hash: where the next entry
// links to. The zero Head is the start of an empty journal.
type Head struct {
	Seq  uint64
	Hash [32]byte
}

const domain = "hutong-journal-v1"

// version is the entry format Append writes. Version 1 has no version byte.
const version = 2

// Seal sets e's Seq, Prev and Hash to follow head and returns the new head.
func (e *Entry) Seal(head Head) Head {
	e.Seq = head.Seq + 1
	e.Prev = head.Hash
	e.Hash = e.ComputeHash()
	return Head{Seq: e.Seq, Hash: e.Hash}
}

// ComputeHash returns the hash e should have.
func (e *Entry) ComputeHash() [32]byte {
	h := sha256.New()
	var hdr [len(domain) + 8 + 32 + 8 + 4]byte
	n := copy(hdr[:], domain)
	binary.BigEndian.PutUint64(hdr[n:], e.Seq)
	n += 8
	n += copy(hdr[n:], e.Prev[:])
	binary.BigEndian.PutUint64(hdr[n:], uint64(e.Time.UnixNano()))
	n += 8
	binary.BigEndian.PutUint32(hdr[n:], uint32(len(e.Commands)))
	h.Write(hdr[:])
	h.Write(e.Commands)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Append encodes e for storage: the version, seq, prev, time, hash, then
// the commands.
func Append(b []byte, e *Entry) []byte {
	b = append(b, version)
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = append(b, e.Prev[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	b = append(b, e.Hash[:]...)
	return append(b, e.Commands...)
}

// Decode decodes an entry encoded by Append. The returned entry's Commands
// alias b. Bytes that do not decode are reported as ledger.ErrCorrupt.
func Decode(b []byte) (Entry, error) {
	const fixed = 8 + 32 + 8 + 32
	var e Entry
	if len(b) == 0 {
		return e, fmt.Errorf("%w: empty journal entry", ledger.ErrCorrupt)
	}
	switch b[0] {
	case 0: // version 1: b[0] is the top byte of seq
	case version:
		b = b[1:]
	default:
		return e, fmt.Errorf("%w: journal entry of unknown version %d", ledger.ErrCorrupt, b[0])
	}
	if len(b) < fixed {
		return e, fmt.Errorf("%w: journal entry of %d bytes", ledger.ErrCorrupt, len(b))
	}
	e.Seq = binary.BigEndian.Uint64(b)
	copy(e.Prev[:], b[8:40])
	e.Time = time.Unix(0, int64(binary.BigEndian.Uint64(b[40:48]))).UTC()
	copy(e.Hash[:], b[48:80])
	e.Commands = b[80:]
	return e, nil
}

// EachCommand decodes e's commands, calling fn for each in order.
func (e *Entry) EachCommand(fn func(*ledger.Command) error) error {
	rest := e.Commands
	for len(rest) > 0 {
		c, r, err := ledger.DecodeCommand(rest)
		if err != nil {
			return fmt.Errorf("journal entry %d: %w", e.Seq, err)
		}
		if err := fn(&c); err != nil {
			return err
		}
		rest = r
	}
	return nil
}
