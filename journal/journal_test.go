package journal_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/hutong/hutong/journal"
	"github.com/hutong/hutong/ledger"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)

func commands(cs ...ledger.Command) []byte {
	var b []byte
	for i := range cs {
		b = ledger.AppendCommand(b, &cs[i])
	}
	return b
}

func sampleCommands() []ledger.Command {
	id := ledger.ID{1, 2, 3}
	return []ledger.Command{
		{Op: ledger.OpCreateParticipant, Participant: "dfsp1", Name: "One"},
		{Op: ledger.OpEnableCurrency, Participant: "dfsp1", Currency: "USD"},
		{Op: ledger.OpPrepare, ID: id, Payer: "dfsp1", Payee: "dfsp2", Currency: "USD", Amount: 100,
			Condition: [32]byte{9}, Expiry: t0.Add(time.Minute), Fingerprint: [32]byte{8}},
		{Op: ledger.OpFulfil, ID: id, Fulfilment: [32]byte{7}},
		{Op: ledger.OpExpire, ID: ledger.ID{4}},
	}
}

// chain seals n entries, each with a different command list.
func chain(n int) []journal.Entry {
	var head journal.Head
	cmds := sampleCommands()
	var es []journal.Entry
	for i := 0; i < n; i++ {
		e := journal.Entry{Time: t0.Add(time.Duration(i) * time.Second), Commands: commands(cmds[:1+i%len(cmds)]...)}
		head = e.Seal(head)
		es = append(es, e)
	}
	return es
}

func TestSeal(t *testing.T) {
	es := chain(4)
	var prev journal.Head
	for i, e := range es {
		if e.Seq != uint64(i+1) {
			t.Errorf("entry %d: Seq = %d, want %d", i, e.Seq, i+1)
		}
		if e.Prev != prev.Hash {
			t.Errorf("entry %d: Prev = %x, want the previous hash %x", i, e.Prev, prev.Hash)
		}
		if e.Hash != e.ComputeHash() {
			t.Errorf("entry %d: Hash is not ComputeHash()", i)
		}
		prev = journal.Head{Seq: e.Seq, Hash: e.Hash}
	}
	if es[0].Prev != ([32]byte{}) {
		t.Errorf("first entry's Prev = %x, want zeros", es[0].Prev)
	}
	e := journal.Entry{Time: t0}
	h := e.Seal(journal.Head{Seq: 41, Hash: [32]byte{1}})
	if h != (journal.Head{Seq: 42, Hash: e.Hash}) || e.Seq != 42 || e.Prev != ([32]byte{1}) {
		t.Errorf("Seal after head 41 = %+v, entry %+v", h, e)
	}
}

// TestComputeHash pins the documented hash layout.
func TestComputeHash(t *testing.T) {
	e := journal.Entry{Seq: 7, Prev: [32]byte{0xaa, 0xbb}, Time: t0, Commands: commands(sampleCommands()...)}
	var b []byte
	b = append(b, "hutong-journal-v1"...)
	b = binary.BigEndian.AppendUint64(b, 7)
	b = append(b, e.Prev[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(t0.UnixNano()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Commands)))
	b = append(b, e.Commands...)
	if got, want := e.ComputeHash(), sha256.Sum256(b); got != want {
		t.Errorf("ComputeHash() = %x, want %x", got, want)
	}
	// Each field is covered.
	for _, tt := range []struct {
		name string
		f    func(*journal.Entry)
	}{
		{"seq", func(e *journal.Entry) { e.Seq++ }},
		{"prev", func(e *journal.Entry) { e.Prev[31] ^= 1 }},
		{"time", func(e *journal.Entry) { e.Time = e.Time.Add(time.Nanosecond) }},
		{"commands", func(e *journal.Entry) { e.Commands = append(bytes.Clone(e.Commands), 0) }},
		{"no commands", func(e *journal.Entry) { e.Commands = nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := e
			tt.f(&m)
			if m.ComputeHash() == e.ComputeHash() {
				t.Errorf("changing %s does not change the hash", tt.name)
			}
		})
	}
	zoned := e
	zoned.Time = t0.In(time.FixedZone("X", 3600))
	if zoned.ComputeHash() != e.ComputeHash() {
		t.Errorf("the hash depends on the time's zone")
	}
}

func TestAppendDecode(t *testing.T) {
	for _, e := range chain(6) {
		b := journal.Append([]byte("xy"), &e)
		if !bytes.HasPrefix(b, []byte("xy")) {
			t.Fatalf("Append did not append")
		}
		got, err := journal.Decode(b[2:])
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if got.Seq != e.Seq || got.Prev != e.Prev || got.Hash != e.Hash || !got.Time.Equal(e.Time) || !bytes.Equal(got.Commands, e.Commands) {
			t.Errorf("round trip of entry %d:\n got %+v\nwant %+v", e.Seq, got, e)
		}
		if got.ComputeHash() != got.Hash {
			t.Errorf("decoded entry %d fails its hash", e.Seq)
		}
		if got.Time.Location() != time.UTC {
			t.Errorf("decoded time in %v, want UTC", got.Time.Location())
		}
	}
}

func TestDecodeShort(t *testing.T) {
	e := chain(1)[0]
	b := journal.Append(nil, &e)
	for n := 0; n < 80; n++ {
		if _, err := journal.Decode(b[:n]); !errors.Is(err, ledger.ErrCorrupt) {
			t.Fatalf("Decode of %d bytes: error %v, want ErrCorrupt", n, err)
		}
	}
	empty := journal.Entry{Time: t0}
	empty.Seal(journal.Head{})
	got, err := journal.Decode(journal.Append(nil, &empty))
	if err != nil || len(got.Commands) != 0 || got.ComputeHash() != got.Hash {
		t.Errorf("entry without commands: %+v, %v", got, err)
	}
}

// TestTamper flips each bit of every byte of an encoded entry: the result
// must fail to decode, fail its hash, or fail to decode its commands.
func TestTamper(t *testing.T) {
	es := chain(5)
	e := es[4]
	b := journal.Append(nil, &e)
	for i := range b {
		for bit := 0; bit < 8; bit++ {
			m := bytes.Clone(b)
			m[i] ^= 1 << bit
			got, err := journal.Decode(m)
			if err != nil {
				continue
			}
			if got.ComputeHash() == got.Hash {
				t.Fatalf("flipping bit %d of byte %d (of %d) leaves an entry that passes its hash", bit, i, len(b))
			}
		}
	}
	// An entry moved to another place in the chain no longer links.
	if es[3].Prev == es[1].Hash {
		t.Errorf("entries 2 and 4 link to the same hash")
	}
}

func TestEachCommand(t *testing.T) {
	want := sampleCommands()
	e := journal.Entry{Seq: 3, Time: t0, Commands: commands(want...)}
	var got []ledger.Command
	if err := e.EachCommand(func(c *ledger.Command) error { got = append(got, *c); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("EachCommand gave %d commands, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Op != want[i].Op || got[i].ID != want[i].ID || got[i].Participant != want[i].Participant ||
			got[i].Amount != want[i].Amount || got[i].Fulfilment != want[i].Fulfilment || !got[i].Expiry.Equal(want[i].Expiry) {
			t.Errorf("command %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	t.Run("stops at the first error of fn", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := e.EachCommand(func(*ledger.Command) error {
			n++
			if n == 2 {
				return stop
			}
			return nil
		})
		if err != stop || n != 2 {
			t.Errorf("EachCommand = %v after %d calls, want stop after 2", err, n)
		}
	})
	t.Run("empty", func(t *testing.T) {
		n := 0
		err := (&journal.Entry{}).EachCommand(func(*ledger.Command) error { n++; return nil })
		if err != nil || n != 0 {
			t.Errorf("EachCommand on no commands = %v, %d calls", err, n)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		bad := journal.Entry{Seq: 9, Commands: append(commands(want[0]), 0xee)}
		n := 0
		err := bad.EachCommand(func(*ledger.Command) error { n++; return nil })
		if !errors.Is(err, ledger.ErrCorrupt) || n != 1 {
			t.Errorf("EachCommand on a bad op = %v after %d calls, want ErrCorrupt after 1", err, n)
		}
		trunc := journal.Entry{Seq: 9, Commands: e.Commands[:len(e.Commands)-1]}
		if err := trunc.EachCommand(func(*ledger.Command) error { return nil }); !errors.Is(err, ledger.ErrCorrupt) {
			t.Errorf("EachCommand on truncated commands = %v, want ErrCorrupt", err)
		}
	})
}

func FuzzDecode(f *testing.F) {
	for _, e := range chain(3) {
		f.Add(journal.Append(nil, &e))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := journal.Decode(b)
		if err != nil {
			if !errors.Is(err, ledger.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		want := b
		if b[0] == 0 { // version 1, written again as version 2
			want = append([]byte{2}, b...)
		}
		if got := journal.Append(nil, &e); !bytes.Equal(got, want) {
			t.Fatalf("Append(Decode(b)) = %x, want %x", got, want)
		}
		_ = e.EachCommand(func(*ledger.Command) error { return nil })
	})
}
