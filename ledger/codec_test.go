package ledger_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
)

func digest(b byte) [32]byte {
	var d [32]byte
	for i := range d {
		d[i] = b + byte(i)
	}
	return d
}

// sampleTransfers covers every kind and state, with and without each
// optional field.
func sampleTransfers() []ledger.Transfer {
	return []ledger.Transfer{
		{
			ID: tid(1), Kind: ledger.KindPayment, State: ledger.StateReserved, Payer: "payerfsp", Payee: "payeefsp",
			Currency: "USD", Amount: 12345, Condition: digest(1), Fingerprint: digest(2),
			Expiry: t0.Add(time.Minute), Created: t0,
		},
		{
			ID: tid(2), Kind: ledger.KindPayment, State: ledger.StateCommitted, Payer: "a", Payee: "b",
			Currency: "JPY", Amount: 1, Condition: digest(3), Fulfilment: digest(4), Fingerprint: digest(5),
			Expiry: t0.Add(time.Minute + time.Nanosecond), Created: t0, Completed: t0.Add(time.Second),
		},
		{
			ID: tid(3), Kind: ledger.KindPayment, State: ledger.StateAborted, Payer: "a", Payee: "b",
			Currency: "KWD", Amount: math.MaxInt64, Condition: digest(6),
			Expiry: t0.Add(time.Hour), Created: t0, Completed: t0.Add(time.Second), Reason: "payee rejected: ✗",
		},
		{
			ID: tid(4), Kind: ledger.KindPayment, State: ledger.StateExpired, Payer: "a", Payee: "b",
			Currency: "EUR", Amount: 7, Condition: digest(7), Expiry: t0, Created: t0.Add(-time.Hour), Completed: t0, Reason: "expired",
		},
		{ID: tid(5), Kind: ledger.KindFundsIn, State: ledger.StateCommitted, Payer: ledger.HubID, Payee: "a", Currency: "USD", Amount: 100, Created: t0, Completed: t0},
		{ID: tid(6), Kind: ledger.KindFundsOut, State: ledger.StateReserved, Payer: "a", Payee: ledger.HubID, Currency: "USD", Amount: 100, Fingerprint: digest(8), Created: t0},
		{ID: tid(7), Kind: ledger.KindFundsOut, State: ledger.StateAborted, Payer: "a", Payee: ledger.HubID, Currency: "USD", Amount: 100, Created: t0, Completed: t0, Reason: strings.Repeat("r", ledger.MaxReason)},
		{ID: tid(8), Kind: ledger.KindPayment, State: ledger.StateReserved, Amount: -1}, // decodes whatever it was given
		{
			ID: tid(9), Kind: ledger.KindPayment, State: ledger.StateCommitted, Payer: "a", Payee: "b", Currency: "USD", Amount: 5,
			Condition: digest(9), Fulfilment: digest(10), Expiry: t0.Add(time.Minute), Created: t0, Completed: t0, Window: 1,
		},
		{ID: tid(10), Kind: ledger.KindPayment, State: ledger.StateCommitted, Payer: "a", Payee: "b", Currency: "USD", Amount: 5, Window: math.MaxUint64},
	}
}

func sampleParticipants() []ledger.Participant {
	return []ledger.Participant{
		{ID: "dfsp1", Name: "DFSP One", Status: ledger.StatusActive, Created: t0},
		{ID: strings.Repeat("z", 32), Name: "Bänk ✓", Status: ledger.StatusSuspended, Created: t0.Add(time.Nanosecond),
			Currencies: []ledger.CurrencyLimit{{Currency: "EUR", NDC: 0}, {Currency: "USD", NDC: math.MaxInt64}}},
		{ID: "x", Name: "y", Status: ledger.StatusActive, Currencies: []ledger.CurrencyLimit{{Currency: "JPY", NDC: 5}}},
	}
}

func sampleAccounts() []ledger.Account {
	return []ledger.Account{
		{AccountKey: ledger.AccountKey{Participant: "dfsp1", Currency: "USD", Type: ledger.AccountPosition}, DebitsPosted: 1, CreditsPosted: 2, DebitsPending: 3, CreditsPending: 4},
		{AccountKey: ledger.AccountKey{Participant: ledger.HubID, Currency: "KWD", Type: ledger.AccountHubFees}},
		{AccountKey: ledger.AccountKey{Participant: "p", Currency: "EUR", Type: ledger.AccountSettlement}, DebitsPosted: math.MaxInt64, CreditsPosted: math.MinInt64, DebitsPending: -1, CreditsPending: math.MaxInt64},
	}
}

// sampleCommands has a command of every Op.
func sampleCommands() []ledger.Command {
	return []ledger.Command{
		{Op: ledger.OpCreateParticipant, Participant: "dfsp1", Name: "DFSP One ✓"},
		{Op: ledger.OpSetStatus, Participant: "dfsp1", Status: ledger.StatusSuspended},
		{Op: ledger.OpEnableCurrency, Participant: "dfsp1", Currency: "USD"},
		{Op: ledger.OpSetNDC, Participant: "dfsp1", Currency: "USD", Amount: math.MaxInt64},
		{Op: ledger.OpFundsIn, ID: tid(1), Participant: "dfsp1", Currency: "USD", Amount: 100, Fingerprint: digest(1)},
		{Op: ledger.OpFundsOutReserve, ID: tid(2), Participant: "dfsp1", Currency: "EUR", Amount: 1, Fingerprint: digest(2)},
		{Op: ledger.OpFundsOutCommit, ID: tid(2)},
		{Op: ledger.OpFundsOutAbort, ID: tid(2), Reason: "no"},
		{Op: ledger.OpPrepare, ID: tid(3), Payer: "a", Payee: "b", Currency: "JPY", Amount: 5, Condition: digest(3), Expiry: t0.Add(time.Nanosecond), Fingerprint: digest(4)},
		{Op: ledger.OpPrepare, ID: tid(4), Payer: "a", Payee: "b", Currency: "JPY", Amount: 5, Condition: digest(3)}, // zero expiry and fingerprint
		{Op: ledger.OpFulfil, ID: tid(3), Fulfilment: digest(5)},
		{Op: ledger.OpAbort, ID: tid(3), Reason: ""},
		{Op: ledger.OpAbort, ID: tid(3), Reason: strings.Repeat("é", 100)},
		{Op: ledger.OpExpire, ID: tid(3)},
		{Op: ledger.OpSetModel, Currency: "USD", Model: ledger.ModelBilateral},
		{Op: ledger.OpSetModel, Currency: "", Model: 0}, // decodes whatever it was given
		{Op: ledger.OpCloseWindow, Currency: "USD"},
		{Op: ledger.OpCloseWindow, Currency: "EUR", Window: math.MaxUint64},
		{Op: ledger.OpCreateSettlement, Windows: []uint64{7}},
		{Op: ledger.OpCreateSettlement, Currency: "KWD", Windows: []uint64{3, 1, 128, math.MaxUint64}},
		{Op: ledger.OpCreateSettlement}, // no windows
		{Op: ledger.OpSettlementState, Settlement: 1, SettlementState: ledger.SettlementRecorded},
		{Op: ledger.OpSettlementState, Settlement: math.MaxUint64, SettlementState: ledger.SettlementAborted, Reason: "bank closed ✗"},
	}
}

func sampleWindows() []ledger.Window {
	return []ledger.Window{
		{ID: 1, Currency: "USD", Model: ledger.ModelMultilateral, State: ledger.WindowOpen, Opened: t0},
		{
			ID: 2, Currency: "EUR", Model: ledger.ModelBilateral, State: ledger.WindowPendingSettlement, Opened: t0,
			Closed: t0.Add(time.Nanosecond), Settlement: 9, Count: 3, Amount: 300,
			Flows: []ledger.Flow{{"a", "b", 2, 100}, {strings.Repeat("z", 32), "b", 1, 200}},
		},
		{
			ID: math.MaxUint64, Currency: "JPY", Model: ledger.ModelGross, State: ledger.WindowSettled, Opened: t0, Closed: t0.Add(time.Hour),
			Count: math.MaxInt64, Amount: math.MaxInt64, Flows: []ledger.Flow{{"a", "b", math.MaxInt64, math.MaxInt64}},
		},
		{ID: 4, Currency: "KWD", Model: ledger.ModelMultilateral, State: ledger.WindowClosed, Opened: t0, Closed: t0,
			Count: -1, Amount: math.MinInt64, Flows: []ledger.Flow{{"", "", 0, 0}}}, // decodes whatever it was given
	}
}

func sampleSettlements() []ledger.Settlement {
	return []ledger.Settlement{
		{
			ID: 1, Currency: "USD", Model: ledger.ModelMultilateral, State: ledger.SettlementPending, Windows: []uint64{1},
			Created: t0, Updated: t0, History: []ledger.StateChange{{State: ledger.SettlementPending, At: t0}},
		},
		{
			ID: math.MaxUint64, Currency: "EUR", Model: ledger.ModelBilateral, State: ledger.SettlementAborted,
			Windows: []uint64{2, 5, math.MaxUint64}, Created: t0, Updated: t0.Add(time.Second), Reason: "bank closed ✗",
			Nets: []ledger.Net{
				{Participant: "a", Sent: 200, Received: 20, SentCount: 3, ReceivedCount: 1, Net: 180},
				{Participant: "b", Sent: 30, Received: 150, SentCount: 1, ReceivedCount: 2, Net: -120},
				{Participant: strings.Repeat("c", 32), Sent: 20, Received: 80, SentCount: 1, ReceivedCount: 2, Net: -60},
			},
			Owed: []ledger.Flow{{"a", "b", 2, 150}, {"a", "c", 2, 30}},
			History: []ledger.StateChange{
				{State: ledger.SettlementPending, At: t0},
				{State: ledger.SettlementRecorded, At: t0.Add(time.Millisecond), Reason: "step"},
				{State: ledger.SettlementAborted, At: t0.Add(time.Second), Reason: strings.Repeat("r", ledger.MaxReason)},
			},
			Count: 5, Amount: 250, Position: 180,
		},
		{ID: 3, Currency: "JPY", Model: ledger.ModelGross, State: ledger.SettlementSettled, Count: math.MinInt64}, // decodes whatever it was given
	}
}

// equalTimes reports whether a and b are deeply equal, comparing the
// time.Time fields they hold with Equal.
func equalTransfer(a, b ledger.Transfer) bool {
	if !a.Expiry.Equal(b.Expiry) || !a.Created.Equal(b.Created) || !a.Completed.Equal(b.Completed) ||
		a.Expiry.IsZero() != b.Expiry.IsZero() || a.Created.IsZero() != b.Created.IsZero() || a.Completed.IsZero() != b.Completed.IsZero() {
		return false
	}
	a.Expiry, a.Created, a.Completed = time.Time{}, time.Time{}, time.Time{}
	b.Expiry, b.Created, b.Completed = time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func equalCommand(a, b ledger.Command) bool {
	if !a.Expiry.Equal(b.Expiry) || a.Expiry.IsZero() != b.Expiry.IsZero() {
		return false
	}
	a.Expiry, b.Expiry = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// sameTime reports whether a and b are the same instant, zero or not.
func sameTime(a, b time.Time) bool { return a.Equal(b) && a.IsZero() == b.IsZero() }

func equalWindow(a, b ledger.Window) bool {
	if !sameTime(a.Opened, b.Opened) || !sameTime(a.Closed, b.Closed) {
		return false
	}
	a.Opened, a.Closed, b.Opened, b.Closed = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if len(a.Flows) == 0 && len(b.Flows) == 0 {
		a.Flows, b.Flows = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

func equalSettlement(a, b ledger.Settlement) bool {
	if !sameTime(a.Created, b.Created) || !sameTime(a.Updated, b.Updated) || len(a.History) != len(b.History) {
		return false
	}
	a.Created, a.Updated, b.Created, b.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	a.History, b.History = slices.Clone(a.History), slices.Clone(b.History)
	for i := range a.History {
		if !sameTime(a.History[i].At, b.History[i].At) {
			return false
		}
		a.History[i].At, b.History[i].At = time.Time{}, time.Time{}
	}
	for _, s := range []*ledger.Settlement{&a, &b} {
		if len(s.Windows) == 0 {
			s.Windows = nil
		}
		if len(s.Nets) == 0 {
			s.Nets = nil
		}
		if len(s.Owed) == 0 {
			s.Owed = nil
		}
		if len(s.History) == 0 {
			s.History = nil
		}
	}
	return reflect.DeepEqual(a, b)
}

func equalParticipant(a, b ledger.Participant) bool {
	if !a.Created.Equal(b.Created) || a.Created.IsZero() != b.Created.IsZero() {
		return false
	}
	a.Created, b.Created = time.Time{}, time.Time{}
	if len(a.Currencies) == 0 && len(b.Currencies) == 0 {
		a.Currencies, b.Currencies = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

func TestTransferRoundTrip(t *testing.T) {
	for _, tr := range sampleTransfers() {
		t.Run(tr.ID.String(), func(t *testing.T) {
			b := ledger.AppendTransfer([]byte("prefix"), &tr)
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatalf("AppendTransfer did not append")
			}
			got, err := ledger.DecodeTransfer(b[len("prefix"):])
			if err != nil {
				t.Fatalf("DecodeTransfer: %v", err)
			}
			if !equalTransfer(got, tr) {
				t.Errorf("round trip\n got %+v\nwant %+v", got, tr)
			}
			if got.Created.Location() != time.UTC {
				t.Errorf("decoded time in %v, want UTC", got.Created.Location())
			}
		})
	}
}

func TestParticipantRoundTrip(t *testing.T) {
	for _, p := range sampleParticipants() {
		t.Run(p.ID, func(t *testing.T) {
			got, err := ledger.DecodeParticipant(ledger.AppendParticipant(nil, &p))
			if err != nil {
				t.Fatalf("DecodeParticipant: %v", err)
			}
			if !equalParticipant(got, p) {
				t.Errorf("round trip\n got %+v\nwant %+v", got, p)
			}
		})
	}
}

func TestAccountRoundTrip(t *testing.T) {
	for _, a := range sampleAccounts() {
		t.Run(a.AccountKey.String(), func(t *testing.T) {
			got, err := ledger.DecodeAccount(ledger.AppendAccount(nil, &a))
			if err != nil {
				t.Fatalf("DecodeAccount: %v", err)
			}
			if got != a {
				t.Errorf("round trip\n got %+v\nwant %+v", got, a)
			}
		})
	}
}

func TestWindowRoundTrip(t *testing.T) {
	for _, w := range sampleWindows() {
		t.Run(fmt.Sprint(w.ID), func(t *testing.T) {
			b := ledger.AppendWindow([]byte("prefix"), &w)
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatalf("AppendWindow did not append")
			}
			got, err := ledger.DecodeWindow(b[len("prefix"):])
			if err != nil {
				t.Fatalf("DecodeWindow: %v", err)
			}
			if !equalWindow(got, w) {
				t.Errorf("round trip\n got %+v\nwant %+v", got, w)
			}
			if got.Opened.Location() != time.UTC {
				t.Errorf("decoded time in %v, want UTC", got.Opened.Location())
			}
		})
	}
}

func TestSettlementRoundTrip(t *testing.T) {
	for _, s := range sampleSettlements() {
		t.Run(fmt.Sprint(s.ID), func(t *testing.T) {
			got, err := ledger.DecodeSettlement(ledger.AppendSettlement(nil, &s))
			if err != nil {
				t.Fatalf("DecodeSettlement: %v", err)
			}
			if !equalSettlement(got, s) {
				t.Errorf("round trip\n got %+v\nwant %+v", got, s)
			}
		})
	}
}

// Records a ledger made round trip as they are, times included: a store
// hands back what Changes gave it.
func TestLedgerRecordsRoundTrip(t *testing.T) {
	l := settlementAt(t, ledger.SettlementAborted)
	mustApply(t, l, at(20), createCmd(1))
	mustApply(t, l, at(21), stateCmd(2, ledger.SettlementRecorded, "ok"))
	pay(t, l, at(22), 50, "USD", "a", "b", 1)
	for _, w := range l.Windows("", true) {
		if got, err := ledger.DecodeWindow(ledger.AppendWindow(nil, &w)); err != nil || !reflect.DeepEqual(got, w) {
			t.Errorf("window %+v round trips to %+v, %v", w, got, err)
		}
	}
	for _, s := range l.Settlements() {
		if got, err := ledger.DecodeSettlement(ledger.AppendSettlement(nil, &s)); err != nil || !reflect.DeepEqual(got, s) {
			t.Errorf("settlement %+v round trips to %+v, %v", s, got, err)
		}
	}
	tr, _ := l.InMemory(tid(50))
	if got, err := ledger.DecodeTransfer(ledger.AppendTransfer(nil, &tr)); err != nil || !reflect.DeepEqual(got, tr) || got.Window != 2 {
		t.Errorf("transfer %+v round trips to %+v, %v", tr, got, err)
	}
}

// Transfers stored before they had a window decode with none.
func TestDecodeTransferVersion1(t *testing.T) {
	for _, tr := range sampleTransfers() {
		tr.Window = 0
		b := ledger.AppendTransfer(nil, &tr)
		if b[0] != 2 || b[len(b)-1] != 0 {
			t.Fatalf("transfer encoding starts %d and ends %d, want version 2 and window 0", b[0], b[len(b)-1])
		}
		v1 := append([]byte{1}, b[1:len(b)-1]...)
		got, err := ledger.DecodeTransfer(v1)
		if err != nil || !equalTransfer(got, tr) {
			t.Errorf("version 1 record decodes to %+v, %v; want %+v", got, err, tr)
		}
		if err := func() error { _, err := ledger.DecodeTransfer(append(v1, 0)); return err }(); !errors.Is(err, ledger.ErrCorrupt) {
			t.Errorf("version 1 record with a window: error %v, want ErrCorrupt", err)
		}
	}
}

func TestCommandRoundTrip(t *testing.T) {
	cmds := sampleCommands()
	seen := map[ledger.Op]bool{}
	var all []byte
	for _, c := range cmds {
		seen[c.Op] = true
		t.Run(c.Op.String(), func(t *testing.T) {
			b := ledger.AppendCommand(nil, &c)
			got, rest, err := ledger.DecodeCommand(append(b, 0xAA, 0xBB))
			if err != nil {
				t.Fatalf("DecodeCommand: %v", err)
			}
			if !equalCommand(got, c) {
				t.Errorf("round trip\n got %+v\nwant %+v", got, c)
			}
			if !bytes.Equal(rest, []byte{0xAA, 0xBB}) {
				t.Errorf("rest = %x, want aabb", rest)
			}
		})
		all = ledger.AppendCommand(all, &c)
	}
	for op := ledger.OpCreateParticipant; op <= ledger.OpSettlementState; op++ {
		if !seen[op] {
			t.Errorf("no sample command for %s", op)
		}
	}
	t.Run("back to back", func(t *testing.T) {
		rest := all
		for i := 0; len(rest) > 0; i++ {
			c, r, err := ledger.DecodeCommand(rest)
			if err != nil {
				t.Fatalf("command %d: %v", i, err)
			}
			if i >= len(cmds) || !equalCommand(c, cmds[i]) {
				t.Fatalf("command %d = %+v", i, c)
			}
			rest = r
		}
	})
	t.Run("fields other ops do not use are dropped", func(t *testing.T) {
		c := ledger.Command{Op: ledger.OpFulfil, ID: tid(1), Fulfilment: digest(1), Payer: "x", Amount: 5, Reason: "r"}
		got, _, err := ledger.DecodeCommand(ledger.AppendCommand(nil, &c))
		want := ledger.Command{Op: ledger.OpFulfil, ID: tid(1), Fulfilment: digest(1)}
		if err != nil || !equalCommand(got, want) {
			t.Errorf("got %+v, %v; want %+v", got, err, want)
		}
	})
}

// encodings returns one valid encoding of each record kind, with its decoder.
func encodings() []struct {
	name   string
	b      []byte
	decode func([]byte) error
} {
	type enc = struct {
		name   string
		b      []byte
		decode func([]byte) error
	}
	var out []enc
	decT := func(b []byte) error { _, err := ledger.DecodeTransfer(b); return err }
	decP := func(b []byte) error { _, err := ledger.DecodeParticipant(b); return err }
	decA := func(b []byte) error { _, err := ledger.DecodeAccount(b); return err }
	decC := func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }
	decW := func(b []byte) error { _, err := ledger.DecodeWindow(b); return err }
	decS := func(b []byte) error { _, err := ledger.DecodeSettlement(b); return err }
	for _, w := range sampleWindows() {
		out = append(out, enc{fmt.Sprintf("window %d", w.ID), ledger.AppendWindow(nil, &w), decW})
	}
	for _, s := range sampleSettlements() {
		out = append(out, enc{fmt.Sprintf("settlement %d", s.ID), ledger.AppendSettlement(nil, &s), decS})
	}
	for _, tr := range sampleTransfers() {
		out = append(out, enc{"transfer " + tr.Kind.String() + " " + tr.State.String(), ledger.AppendTransfer(nil, &tr), decT})
	}
	for _, p := range sampleParticipants() {
		out = append(out, enc{"participant " + p.ID, ledger.AppendParticipant(nil, &p), decP})
	}
	for _, a := range sampleAccounts() {
		out = append(out, enc{"account " + a.AccountKey.String(), ledger.AppendAccount(nil, &a), decA})
	}
	for _, c := range sampleCommands() {
		out = append(out, enc{"command " + c.Op.String(), ledger.AppendCommand(nil, &c), decC})
	}
	return out
}

func TestDecodeTruncated(t *testing.T) {
	for _, e := range encodings() {
		t.Run(e.name, func(t *testing.T) {
			for n := 0; n < len(e.b); n++ {
				err := e.decode(bytes.Clone(e.b[:n]))
				if !errors.Is(err, ledger.ErrCorrupt) {
					t.Fatalf("decode of the first %d of %d bytes: error %v, want ErrCorrupt", n, len(e.b), err)
				}
			}
		})
	}
}

func TestDecodeTrailing(t *testing.T) {
	for _, e := range encodings() {
		if strings.HasPrefix(e.name, "command") {
			continue // commands are decoded back to back
		}
		t.Run(e.name, func(t *testing.T) {
			if err := e.decode(append(bytes.Clone(e.b), 0)); !errors.Is(err, ledger.ErrCorrupt) {
				t.Errorf("decode with a trailing byte: error %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestDecodeGarbage(t *testing.T) {
	tr := sampleTransfers()[0]
	valid := ledger.AppendTransfer(nil, &tr)
	with := func(i int, v byte) []byte { b := bytes.Clone(valid); b[i] = v; return b }
	huge := []byte{1, 1}
	huge = append(huge, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01) // a string of 2^64-1 bytes
	for _, tt := range []struct {
		name   string
		b      []byte
		decode func([]byte) error
	}{
		{"transfer version 0", with(0, 0), func(b []byte) error { _, err := ledger.DecodeTransfer(b); return err }},
		{"transfer version 3", with(0, 3), func(b []byte) error { _, err := ledger.DecodeTransfer(b); return err }},
		{"transfer kind 0", with(1, 0), func(b []byte) error { _, err := ledger.DecodeTransfer(b); return err }},
		{"transfer kind 4", with(1, 4), func(b []byte) error { _, err := ledger.DecodeTransfer(b); return err }},
		{"transfer state 0", with(2, 0), func(b []byte) error { _, err := ledger.DecodeTransfer(b); return err }},
		{"transfer state 5", with(2, 5), func(b []byte) error { _, err := ledger.DecodeTransfer(b); return err }},
		{"empty transfer", nil, func(b []byte) error { _, err := ledger.DecodeTransfer(b); return err }},
		{"participant version", []byte{9, 1, 0, 0, 0, 0}, func(b []byte) error { _, err := ledger.DecodeParticipant(b); return err }},
		{"participant huge string", huge, func(b []byte) error { _, err := ledger.DecodeParticipant(b); return err }},
		{"participant huge count", []byte{1, 1, 1, 'a', 1, 'b', 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, func(b []byte) error { _, err := ledger.DecodeParticipant(b); return err }},
		{"account version", []byte{0}, func(b []byte) error { _, err := ledger.DecodeAccount(b); return err }},
		{"account overlong varint", append([]byte{1, 0, 0, 1}, bytes.Repeat([]byte{0xff}, 11)...), func(b []byte) error { _, err := ledger.DecodeAccount(b); return err }},
		{"command op 0", []byte{0, 1, 2, 3}, func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
		{"command op 17", []byte{17}, func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
		{"command op 255", []byte{255, 0}, func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
		{"empty command", nil, func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
		{"command huge string", []byte{byte(ledger.OpCreateParticipant), 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'}, func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
		{"create settlement huge count", []byte{byte(ledger.OpCreateSettlement), 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2}, func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
		{"create settlement count beyond the bytes", []byte{byte(ledger.OpCreateSettlement), 0, 3, 1, 2}, func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
		{"create settlement overlong window id", append([]byte{byte(ledger.OpCreateSettlement), 0, 1}, bytes.Repeat([]byte{0xff}, 11)...), func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
		{"set model truncated", []byte{byte(ledger.OpSetModel), 3, 'U', 'S', 'D'}, func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
		{"settlement state truncated", []byte{byte(ledger.OpSettlementState), 1, byte(ledger.SettlementAborted)}, func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.decode(tt.b); !errors.Is(err, ledger.ErrCorrupt) {
				t.Errorf("error %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestDecodeWindowGarbage(t *testing.T) {
	w := sampleWindows()[1]
	valid := ledger.AppendWindow(nil, &w)
	// ver id currency(3 bytes) model state ...
	with := func(i int, v byte) []byte { b := bytes.Clone(valid); b[i] = v; return b }
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version 0", with(0, 0)},
		{"version 2", with(0, 2)},
		{"model 0", with(6, 0)},
		{"model 4", with(6, 4)},
		{"state 0", with(7, 0)},
		{"state 5", with(7, 5)},
		{"huge flow count", append([]byte{1, 1, 3, 'U', 'S', 'D', 1, 1, 0, 0, 0, 0, 0}, 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"flow count beyond the bytes", []byte{1, 1, 3, 'U', 'S', 'D', 1, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ledger.DecodeWindow(tt.b)
			if !errors.Is(err, ledger.ErrCorrupt) || !reflect.DeepEqual(got, ledger.Window{}) {
				t.Errorf("DecodeWindow = %+v, %v; want ErrCorrupt", got, err)
			}
		})
	}
	if _, err := ledger.DecodeWindow([]byte{1, 1, 3, 'U', 'S', 'D', 1, 1, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Errorf("the smallest window does not decode: %v", err)
	}
}

func TestDecodeSettlementGarbage(t *testing.T) {
	s := sampleSettlements()[0]
	valid := ledger.AppendSettlement(nil, &s)
	// ver id currency(3 bytes) model state ...
	with := func(i int, v byte) []byte { b := bytes.Clone(valid); b[i] = v; return b }
	// ver id currency model state created updated reason count amount position
	head := []byte{1, 1, 3, 'U', 'S', 'D', 1, 1, 0, 0, 0, 0, 0, 0}
	cat := func(parts ...[]byte) []byte { return slices.Concat(append([][]byte{head}, parts...)...) }
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0x0f}
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version 0", with(0, 0)},
		{"version 2", with(0, 2)},
		{"model 0", with(6, 0)},
		{"model 4", with(6, 4)},
		{"state 0", with(7, 0)},
		{"state 7", with(7, 7)},
		{"huge window count", cat(huge)},
		{"huge net count", cat([]byte{0}, huge)},
		{"net count beyond the bytes", cat([]byte{0, 1, 0, 0, 0, 0, 0}, []byte{0, 0})},
		{"huge owed count", cat([]byte{0, 0}, huge)},
		{"huge history count", cat([]byte{0, 0, 0}, huge)},
		{"history count beyond the bytes", cat([]byte{0, 0, 0, 1, 1, 0})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ledger.DecodeSettlement(tt.b)
			if !errors.Is(err, ledger.ErrCorrupt) || !reflect.DeepEqual(got, ledger.Settlement{}) {
				t.Errorf("DecodeSettlement = %+v, %v; want ErrCorrupt", got, err)
			}
		})
	}
	if _, err := ledger.DecodeSettlement(cat([]byte{0, 0, 0, 0})); err != nil {
		t.Errorf("the smallest settlement does not decode: %v", err)
	}
}

func TestDecodeCommandError(t *testing.T) {
	c, rest, err := ledger.DecodeCommand([]byte{byte(ledger.OpFulfil), 1, 2})
	if !errors.Is(err, ledger.ErrCorrupt) || rest != nil || !reflect.DeepEqual(c, ledger.Command{}) {
		t.Errorf("DecodeCommand(truncated) = %+v, %x, %v; want zero, nil, ErrCorrupt", c, rest, err)
	}
}

// An accepted prepare must survive the journal: the writer replays commands
// from their encoding, and a replay that differs from the original run is
// reported as a corrupt store.
func TestAcceptedPrepareRoundTrips(t *testing.T) {
	l := newLedger(t)
	c := prepare(1, payer, payee, 100, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, err := l.Apply(t0, &c); err != nil {
		return // rejected: nothing to encode
	}
	got, _, err := ledger.DecodeCommand(ledger.AppendCommand(nil, &c))
	if err != nil || !got.Expiry.Equal(c.Expiry) {
		t.Fatalf("prepare with expiry %v accepted, but its encoding decodes to %v, %v", c.Expiry, got.Expiry, err)
	}
	// Replaying it must give the same transfer.
	l2 := newLedger(t)
	r, err := l2.Apply(t0, &got)
	if err != nil {
		t.Fatalf("replay of an accepted prepare fails: %v", err)
	}
	if orig, _ := l.InMemory(tid(1)); !equalTransfer(r.Transfer, orig) {
		t.Errorf("replayed transfer %+v, original %+v", r.Transfer, orig)
	}
}

func FuzzDecodeTransfer(f *testing.F) {
	for _, tr := range sampleTransfers() {
		f.Add(ledger.AppendTransfer(nil, &tr))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 1, 1, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ledger.DecodeTransfer(b)
		if err != nil {
			if !errors.Is(err, ledger.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			if !reflect.DeepEqual(tr, ledger.Transfer{}) {
				t.Fatalf("failed decode returned %+v", tr)
			}
			return
		}
		b2 := ledger.AppendTransfer(nil, &tr)
		tr2, err := ledger.DecodeTransfer(b2)
		if err != nil {
			t.Fatalf("re-encoding of %+v does not decode: %v", tr, err)
		}
		if !equalTransfer(tr, tr2) {
			t.Fatalf("decode, encode, decode changed the transfer:\n%+v\n%+v", tr, tr2)
		}
		if b3 := ledger.AppendTransfer(nil, &tr2); !bytes.Equal(b2, b3) {
			t.Fatalf("encoding is not stable: %x then %x", b2, b3)
		}
	})
}

func FuzzDecodeCommand(f *testing.F) {
	var all []byte
	for _, c := range sampleCommands() {
		f.Add(ledger.AppendCommand(nil, &c))
		all = ledger.AppendCommand(all, &c)
	}
	f.Add(all)
	f.Add([]byte{})
	f.Add([]byte{byte(ledger.OpPrepare)})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, rest, err := ledger.DecodeCommand(b)
		if err != nil {
			if !errors.Is(err, ledger.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if len(rest) > len(b) || !bytes.Equal(rest, b[len(b)-len(rest):]) {
			t.Fatalf("rest %x is not a suffix of the input %x", rest, b)
		}
		b2 := ledger.AppendCommand(nil, &c)
		c2, rest2, err := ledger.DecodeCommand(b2)
		if err != nil || len(rest2) != 0 {
			t.Fatalf("re-encoding of %+v: rest %x, error %v", c, rest2, err)
		}
		if !equalCommand(c, c2) {
			t.Fatalf("decode, encode, decode changed the command:\n%+v\n%+v", c, c2)
		}
	})
}

func FuzzDecodeRecords(f *testing.F) {
	for _, e := range encodings() {
		f.Add(e.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ledger.DecodeParticipant(b); err == nil {
			p2, err := ledger.DecodeParticipant(ledger.AppendParticipant(nil, &p))
			if err != nil || !equalParticipant(p, p2) {
				t.Fatalf("participant %+v round trips to %+v, %v", p, p2, err)
			}
		} else if !errors.Is(err, ledger.ErrCorrupt) {
			t.Fatalf("participant error %v does not wrap ErrCorrupt", err)
		}
		if a, err := ledger.DecodeAccount(b); err == nil {
			a2, err := ledger.DecodeAccount(ledger.AppendAccount(nil, &a))
			if err != nil || a != a2 {
				t.Fatalf("account %+v round trips to %+v, %v", a, a2, err)
			}
		} else if !errors.Is(err, ledger.ErrCorrupt) {
			t.Fatalf("account error %v does not wrap ErrCorrupt", err)
		}
		if w, err := ledger.DecodeWindow(b); err == nil {
			b2 := ledger.AppendWindow(nil, &w)
			w2, err := ledger.DecodeWindow(b2)
			if err != nil || !equalWindow(w, w2) {
				t.Fatalf("window %+v round trips to %+v, %v", w, w2, err)
			}
			if b3 := ledger.AppendWindow(nil, &w2); !bytes.Equal(b2, b3) {
				t.Fatalf("window encoding is not stable: %x then %x", b2, b3)
			}
		} else if !errors.Is(err, ledger.ErrCorrupt) {
			t.Fatalf("window error %v does not wrap ErrCorrupt", err)
		}
		if s, err := ledger.DecodeSettlement(b); err == nil {
			b2 := ledger.AppendSettlement(nil, &s)
			s2, err := ledger.DecodeSettlement(b2)
			if err != nil || !equalSettlement(s, s2) {
				t.Fatalf("settlement %+v round trips to %+v, %v", s, s2, err)
			}
			if b3 := ledger.AppendSettlement(nil, &s2); !bytes.Equal(b2, b3) {
				t.Fatalf("settlement encoding is not stable: %x then %x", b2, b3)
			}
		} else if !errors.Is(err, ledger.ErrCorrupt) {
			t.Fatalf("settlement error %v does not wrap ErrCorrupt", err)
		}
	})
}

func TestParseID(t *testing.T) {
	const canonical = "0123abcd-4567-89ef-a0b1-c2d3e4f56789"
	want := ledger.ID{0x01, 0x23, 0xab, 0xcd, 0x45, 0x67, 0x89, 0xef, 0xa0, 0xb1, 0xc2, 0xd3, 0xe4, 0xf5, 0x67, 0x89}
	got, err := ledger.ParseID(canonical)
	if err != nil || got != want {
		t.Fatalf("ParseID(%q) = %v, %v; want %v", canonical, got, err, want)
	}
	if s := got.String(); s != canonical {
		t.Errorf("String() = %q, want %q", s, canonical)
	}
	if id, err := ledger.ParseID("00000000-0000-0000-0000-000000000000"); err != nil || !id.IsZero() {
		t.Errorf("ParseID(zero) = %v, %v; want the zero id (callers reject it)", id, err)
	}
	if !(ledger.ID{}).IsZero() || tid(1).IsZero() {
		t.Errorf("IsZero wrong")
	}
	for _, s := range []string{
		"",
		"0123ABCD-4567-89EF-A0B1-C2D3E4F56789",
		"0123abcd-4567-89ef-a0b1-c2d3e4f5678A",
		"{0123abcd-4567-89ef-a0b1-c2d3e4f56789}",
		"urn:uuid:0123abcd-4567-89ef-a0b1-c2d3e4f56789",
		"0123abcd456789efa0b1c2d3e4f56789",
		"0123abcd-4567-89ef-a0b1-c2d3e4f5678",
		"0123abcd-4567-89ef-a0b1-c2d3e4f567890",
		"0123abcd-4567-89ef-a0b1c-2d3e4f56789",
		"0123abcd_4567_89ef_a0b1_c2d3e4f56789",
		"0123abcd-4567-89ef-a0b1-c2d3e4f5678g",
		" 0123abcd-4567-89ef-a0b1-c2d3e4f5678",
		"0123abcd-4567-89ef-a0b1-c2d3e4f5678 ",
		"0123abcd-4567-89ef-a0b1-c2d3e4f5678\x00",
	} {
		t.Run(s, func(t *testing.T) {
			if id, err := ledger.ParseID(s); err == nil {
				t.Errorf("ParseID(%q) = %v, want an error", s, id)
			}
		})
	}
}

// Hyphens anywhere but the four separators must be rejected too.
func TestParseIDExtraHyphens(t *testing.T) {
	for _, s := range []string{
		"01234567-89ab--cd--ef01-23456789abcd",
		"01234567-89ab-cdef--01--23456789abcd",
		"01234567-89ab-cdef-0123--4567-89abcd",
	} {
		if id, err := ledger.ParseID(s); err == nil {
			t.Errorf("ParseID(%q) = %v, want an error", s, id)
		}
	}
}

func FuzzParseID(f *testing.F) {
	f.Add("0123abcd-4567-89ef-a0b1-c2d3e4f56789")
	f.Add("0123ABCD-4567-89EF-A0B1-C2D3E4F56789")
	f.Add("{0123abcd-4567-89ef-a0b1-c2d3e4f5678}")
	f.Add("0123abcd456789efa0b1c2d3e4f56789")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ledger.ParseID(s)
		if err != nil {
			if id != (ledger.ID{}) {
				t.Fatalf("ParseID(%q) failed but returned %v", s, id)
			}
			return
		}
		// Only the canonical form parses.
		if got := id.String(); got != s {
			t.Fatalf("ParseID(%q) = %v, whose canonical form differs", s, got)
		}
	})
}

func FuzzIDString(f *testing.F) {
	f.Add([]byte("0123456789abcdef"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var id ledger.ID
		copy(id[:], b)
		got, err := ledger.ParseID(id.String())
		if err != nil || got != id {
			t.Fatalf("ParseID(%q) = %v, %v; want %v", id.String(), got, err, id)
		}
	})
}
