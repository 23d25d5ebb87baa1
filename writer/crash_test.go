package writer_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
)

// crashDirEnv, when set, makes the test binary a child that writes to the
// store in that directory until it is killed.
const crashDirEnv = "HUTONG_WRITER_CRASH_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		os.Exit(0)
	}
	if spec := os.Getenv(settlementCrashEnv); spec != "" {
		settlementCrashChild(spec)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func crashAmount(n int) int64 { return int64(n%50 + 1) }

// crashChild prepares and fulfils transfers from a to b, printing each
// acknowledgement, until it is killed. It never closes the writer or the
// store.
func crashChild(dir string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	st, err := pebble.Open(dir, pebble.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20, Logger: quiet})
	if err != nil {
		fail(err)
	}
	w, err := writer.Open(context.Background(), st, writer.Config{CheckpointInterval: 5 * time.Millisecond, Logger: quiet})
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	for _, p := range []string{"a", "b"} {
		in := ledger.ID{0xf0}
		copy(in[1:], p)
		for _, c := range []ledger.Command{
			{Op: ledger.OpCreateParticipant, Participant: p, Name: p},
			{Op: ledger.OpEnableCurrency, Participant: p, Currency: "USD"},
			{Op: ledger.OpSetNDC, Participant: p, Currency: "USD", Amount: 1 << 40},
			{Op: ledger.OpFundsIn, ID: in, Participant: p, Currency: "USD", Amount: 1 << 40},
		} {
			if _, err := w.Submit(ctx, c); err != nil {
				fail(err)
			}
		}
	}
	fmt.Println("ready")
	expiry := time.Now().Add(time.Hour)
	for n := 1; ; n++ {
		if _, err := w.Submit(ctx, prepare(n, "a", "b", crashAmount(n), expiry)); err != nil {
			fail(err)
		}
		fmt.Printf("ack %d RESERVED\n", n)
		if n%3 == 0 {
			continue // left reserved
		}
		if _, err := w.Submit(ctx, fulfil(n)); err != nil {
			fail(err)
		}
		fmt.Printf("ack %d COMMITTED\n", n)
	}
}

// TestKillDuringWrites kills a process that is writing and checks that
// every command it acknowledged survives, and that the ledger it left adds
// up.
func TestKillDuringWrites(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int]string{}
	lines := bufio.NewScanner(out)
	ready := false
	for lines.Scan() && len(acked) < 150 {
		var n int
		var state string
		if lines.Text() == "ready" {
			ready = true
		} else if _, err := fmt.Sscanf(lines.Text(), "ack %d %s", &n, &state); err == nil {
			acked[n] = state
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if !ready || len(acked) < 150 {
		t.Fatalf("child stopped early (ready %v, %d acks): %s", ready, len(acked), stderr.String())
	}

	st := openStore(t, dir)
	_, snap := storeState(t, st)
	t.Logf("after the kill: journal head %d, checkpoint %d, %d transfers acknowledged", snap.Head.Seq, snap.Checkpoint, len(acked))
	w := openWriter(t, st, writer.Config{})
	var committed, reserved int64
	for n := 1; ; n++ {
		tr, err := w.Transfer(context.Background(), tid(n))
		if err != nil {
			if want, ok := acked[n]; ok {
				t.Errorf("transfer %d was acknowledged %s but is lost: %v", n, want, err)
			}
			if n > len(acked)+2 {
				break
			}
			continue
		}
		switch want := acked[n]; {
		case want == "COMMITTED" && tr.State != ledger.StateCommitted,
			want == "RESERVED" && tr.State != ledger.StateReserved && tr.State != ledger.StateCommitted:
			t.Errorf("transfer %d was acknowledged %s, is %s", n, want, tr.State)
		}
		if tr.Amount != crashAmount(n) {
			t.Errorf("transfer %d amount %d, want %d", n, tr.Amount, crashAmount(n))
		}
		if tr.State == ledger.StateCommitted {
			committed += tr.Amount
		} else {
			reserved += tr.Amount
		}
	}
	if a := position(t, w, "a"); a.DebitsPosted != committed || a.DebitsPending != reserved || a.CreditsPosted != 0 {
		t.Errorf("a's position %+v, want %d posted and %d pending from its transfers", a, committed, reserved)
	}
	if b := position(t, w, "b"); b.CreditsPosted != committed || b.CreditsPending != reserved {
		t.Errorf("b's position %+v, want %d posted and %d pending credits", b, committed, reserved)
	}
	// Work goes on.
	if r := submit(t, w, fulfil(3)); r.Transfer.State != ledger.StateCommitted {
		t.Errorf("fulfil after the crash = %+v", r)
	}
}
