package journal_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/hutong/hutong/journal"
	"github.com/hutong/hutong/ledger"
)

// testdata/entries-v1.bin holds chain(4) as Append wrote it before entries
// and commands carried a version: each entry is a u32 BE length, then the
// entry.
func TestDecodeVersion1(t *testing.T) {
	b, err := os.ReadFile("testdata/entries-v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	want := chain(4)
	cmds := sampleCommands()
	var head journal.Head
	n := 0
	for ; len(b) > 0; n++ {
		size := binary.BigEndian.Uint32(b)
		raw := b[4 : 4+size]
		b = b[4+size:]
		if raw[0] != 0 {
			t.Fatalf("golden entry %d starts with %#x, not the top byte of a version 1 seq", n, raw[0])
		}
		e, err := journal.Decode(raw)
		if err != nil {
			t.Fatalf("version 1 entry %d: %v", n, err)
		}
		w := want[n]
		if e.Seq != w.Seq || !e.Time.Equal(w.Time) {
			t.Errorf("version 1 entry %d: seq %d time %v, want %d %v", n, e.Seq, e.Time, w.Seq, w.Time)
		}
		// The hash chain of old entries holds: their commands are kept as
		// written, in version 1.
		if e.Prev != head.Hash || e.ComputeHash() != e.Hash {
			t.Errorf("version 1 entry %d does not follow the chain or fails its hash", n)
		}
		head = journal.Head{Seq: e.Seq, Hash: e.Hash}
		i := 0
		err = e.EachCommand(func(c *ledger.Command) error {
			if c.Op != cmds[i].Op || c.ID != cmds[i].ID || c.Participant != cmds[i].Participant || c.Amount != cmds[i].Amount {
				t.Errorf("entry %d command %d = %+v, want %+v", n, i, *c, cmds[i])
			}
			i++
			return nil
		})
		if err != nil || i != 1+n%len(cmds) {
			t.Errorf("entry %d: %d commands, %v; want %d", n, i, err, 1+n%len(cmds))
		}
		// Written again it is version 2 and decodes to the same entry.
		again, err := journal.Decode(journal.Append(nil, &e))
		if err != nil || again.Seq != e.Seq || again.Hash != e.Hash || !bytes.Equal(again.Commands, e.Commands) {
			t.Errorf("entry %d written again: %+v, %v", n, again, err)
		}
	}
	if n != 4 {
		t.Errorf("decoded %d version 1 entries, want 4", n)
	}
}

func TestVersion(t *testing.T) {
	e := chain(1)[0]
	b := journal.Append(nil, &e)
	if b[0] != 2 {
		t.Fatalf("Append writes version %d, want 2", b[0])
	}
	for _, v := range []byte{1, 3, 0x80, 0xff} {
		bad := bytes.Clone(b)
		bad[0] = v
		if _, err := journal.Decode(bad); !errors.Is(err, ledger.ErrCorrupt) {
			t.Errorf("entry of version %d: error %v, want ErrCorrupt", v, err)
		}
	}
}
