package ledger_test

import (
	"errors"
	"os"
	"testing"

	"github.com/hutong/hutong/ledger"
)

// testdata/commands-v1.bin holds the first 23 of sampleCommands, back to
// back, as AppendCommand wrote them before commands carried a version.
func TestDecodeCommandVersion1(t *testing.T) {
	b, err := os.ReadFile("testdata/commands-v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	want := sampleCommands()
	if b[0] != byte(want[0].Op) {
		t.Fatalf("golden file starts with %#x, want the op of a version 1 command", b[0])
	}
	n := 0
	for rest := b; len(rest) > 0; n++ {
		c, r, err := ledger.DecodeCommand(rest)
		if err != nil {
			t.Fatalf("version 1 command %d: %v", n, err)
		}
		if n >= len(want) || !equalCommand(c, want[n]) {
			t.Fatalf("version 1 command %d = %+v", n, c)
		}
		// Written again, it is a version 2 command with the same fields.
		c2, r2, err := ledger.DecodeCommand(ledger.AppendCommand(nil, &c))
		if err != nil || len(r2) != 0 || !equalCommand(c2, c) {
			t.Fatalf("version 1 command %d written again: %+v, %x, %v", n, c2, r2, err)
		}
		rest = r
	}
	if n != 23 {
		t.Errorf("decoded %d version 1 commands, want 23", n)
	}
}

func TestCommandVersion(t *testing.T) {
	c := sampleCommands()[0]
	b := ledger.AppendCommand(nil, &c)
	if b[0] != 0 || b[1] != 2 || b[2] != byte(c.Op) {
		t.Fatalf("AppendCommand = %x, want 00 02 op ...", b)
	}
	for _, v := range []byte{0, 1, 3, 0xff} {
		bad := append([]byte{0, v}, b[2:]...)
		got, rest, err := ledger.DecodeCommand(bad)
		if !errors.Is(err, ledger.ErrCorrupt) || rest != nil || !equalCommand(got, ledger.Command{}) {
			t.Errorf("command of version %d: %+v, %x, %v; want ErrCorrupt", v, got, rest, err)
		}
	}
	// Version 1 and 2 of a command back to back.
	mixed := append(b[2:len(b):len(b)], b...)
	for i := 0; i < 2; i++ {
		got, rest, err := ledger.DecodeCommand(mixed)
		if err != nil || !equalCommand(got, c) {
			t.Fatalf("command %d of a mixed run: %+v, %v", i, got, err)
		}
		mixed = rest
	}
	if len(mixed) != 0 {
		t.Errorf("%d bytes left after a mixed run", len(mixed))
	}
}
