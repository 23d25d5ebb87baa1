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

	"github.com/hutong/hutong/audit"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
)

// settlementCrashEnv, when set to "dir|STATE[|ABORTED]", makes the test
// binary a child that takes a settlement to STATE (then aborts it, if
// asked), says so and waits to be killed.
const settlementCrashEnv = "HUTONG_SETTLEMENT_CRASH"

const crashFunds = 1_000_000

// crashPayments are the child's payments: a owes 250 net, b is owed 200
// and c 50.
var crashPayments = []struct {
	payer, payee string
	amount       int64
}{{"a", "b", 300}, {"b", "c", 100}, {"c", "a", 50}}

var crashNets = map[string]int64{"a": 250, "b": -200, "c": -50}

func settlementCrashChild(spec string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "settlement crash child:", err)
		os.Exit(2)
	}
	parts := strings.Split(spec, "|")
	target, ok := ledger.ParseSettlementState(parts[1])
	if !ok {
		fail(fmt.Errorf("unknown state %q", parts[1]))
	}
	st, err := pebble.Open(parts[0], pebble.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20, Logger: quiet})
	if err != nil {
		fail(err)
	}
	w, err := writer.Open(context.Background(), st, writer.Config{CheckpointInterval: 5 * time.Millisecond, Logger: quiet})
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	do := func(c ledger.Command) ledger.Result {
		r, err := w.Submit(ctx, c)
		if err != nil {
			fail(fmt.Errorf("%s: %w", c.Op, err))
		}
		return r
	}
	for i, p := range []string{"a", "b", "c"} {
		do(ledger.Command{Op: ledger.OpCreateParticipant, Participant: p, Name: p})
		do(ledger.Command{Op: ledger.OpEnableCurrency, Participant: p, Currency: "USD"})
		do(ledger.Command{Op: ledger.OpSetNDC, Participant: p, Currency: "USD", Amount: crashFunds})
		do(ledger.Command{Op: ledger.OpFundsIn, ID: ledger.ID{0xf0, byte(i)}, Participant: p, Currency: "USD", Amount: crashFunds})
	}
	for i, pay := range crashPayments {
		do(prepare(i+1, pay.payer, pay.payee, pay.amount, time.Now().Add(time.Hour)))
		do(fulfil(i + 1))
	}
	win := do(ledger.Command{Op: ledger.OpCloseWindow, Currency: "USD"}).Window
	s := do(ledger.Command{Op: ledger.OpCreateSettlement, Windows: []uint64{win.ID}}).Settlement
	for state := ledger.SettlementRecorded; state <= target && target != ledger.SettlementAborted; state++ {
		do(ledger.Command{Op: ledger.OpSettlementState, Settlement: s.ID, SettlementState: state})
	}
	if len(parts) > 2 {
		do(ledger.Command{Op: ledger.OpSettlementState, Settlement: s.ID, SettlementState: ledger.SettlementAborted, Reason: "bank refused"})
	}
	fmt.Println("at", target)
	time.Sleep(time.Hour)
}

// TestSettlementSurvivesCrash kills a process after it has taken a
// settlement to each state in turn, and checks that the state and every
// balance survive and that the settlement can be driven on from there.
func TestSettlementSurvivesCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process per state")
	}
	for _, tt := range []struct {
		state string
		abort bool
	}{
		{state: "PENDING_SETTLEMENT"},
		{state: "PS_TRANSFERS_RECORDED"},
		{state: "PS_TRANSFERS_RESERVED"},
		{state: "PS_TRANSFERS_COMMITTED"},
		{state: "SETTLED"},
		{state: "PS_TRANSFERS_RESERVED", abort: true},
	} {
		name := tt.state
		if tt.abort {
			name += " then ABORTED"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			spec := dir + "|" + tt.state
			if tt.abort {
				spec += "|abort"
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), settlementCrashEnv+"="+spec)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(out)
			reached := false
			for lines.Scan() {
				if strings.HasPrefix(lines.Text(), "at ") {
					reached = true
					break
				}
			}
			cmd.Process.Kill()
			cmd.Wait()
			if !reached {
				t.Fatalf("child stopped before reaching %s: %s", tt.state, stderr.String())
			}

			st := openStore(t, dir)
			w := openWriter(t, st, writer.Config{})
			ctx := context.Background()
			var s ledger.Settlement
			var win ledger.Window
			w.Query(ctx, func(l *ledger.Ledger) {
				s, _ = l.Settlement(1)
				if len(s.Windows) == 1 {
					win, _ = l.Window(s.Windows[0])
				}
			})
			want, _ := ledger.ParseSettlementState(tt.state)
			if tt.abort {
				want = ledger.SettlementAborted
			}
			if s.State != want {
				t.Fatalf("after the crash the settlement is %s, want %s", s.State, want)
			}
			committed := want == ledger.SettlementCommitted || want == ledger.SettlementSettled
			checkSettled(t, w, committed, want == ledger.SettlementReserved)

			// Drive it on to the end, as an operator would after a restart.
			if tt.abort {
				if win.State != ledger.WindowClosed || win.Settlement != 0 {
					t.Errorf("after the abort the window is %s in settlement %d, want CLOSED in none", win.State, win.Settlement)
				}
				r := submit(t, w, ledger.Command{Op: ledger.OpCreateSettlement, Windows: []uint64{win.ID}})
				s = *r.Settlement
			}
			for state := s.State + 1; state <= ledger.SettlementSettled; state++ {
				submit(t, w, ledger.Command{Op: ledger.OpSettlementState, Settlement: s.ID, SettlementState: state})
			}
			checkSettled(t, w, true, false)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if r, err := audit.Verify(ctx, st, nil); err != nil {
				t.Fatalf("verify after settling: %v", err)
			} else if r.Settlements == 0 || r.Windows < 2 {
				t.Errorf("verify saw %d settlements and %d windows, want some", r.Settlements, r.Windows)
			}
		})
	}
}

// checkSettled checks every participant's position and settlement account:
// moved by the nets once committed, reserved by them when reserved, as the
// payments left them otherwise.
func checkSettled(t *testing.T, w *writer.Writer, committed, reserved bool) {
	t.Helper()
	for p, net := range crashNets {
		pos := position(t, w, p)
		var set ledger.Account
		w.Query(context.Background(), func(l *ledger.Ledger) {
			set, _ = l.Account(ledger.AccountKey{Participant: p, Currency: "USD", Type: ledger.AccountSettlement})
		})
		wantPos, wantSet := net, int64(crashFunds)
		if committed {
			wantPos, wantSet = 0, crashFunds-net
		}
		if pos.Balance() != wantPos || set.Balance() != wantSet {
			t.Errorf("%s: position %d and settlement balance %d, want %d and %d", p, pos.Balance(), set.Balance(), wantPos, wantSet)
		}
		var pending int64
		if reserved {
			pending = net
		}
		if got := set.CreditsPending - set.DebitsPending; got != pending {
			t.Errorf("%s: settlement account has %d reserved, want %d", p, got, pending)
		}
	}
}
