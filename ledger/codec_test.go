package ledger_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
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
	for op := ledger.OpCreateParticipant; op <= ledger.OpExpire; op++ {
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
		{"transfer version 2", with(0, 2), func(b []byte) error { _, err := ledger.DecodeTransfer(b); return err }},
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
		{"command op 13", []byte{13}, func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
		{"command op 255", []byte{255, 0}, func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
		{"empty command", nil, func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
		{"command huge string", []byte{byte(ledger.OpCreateParticipant), 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'}, func(b []byte) error { _, _, err := ledger.DecodeCommand(b); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.decode(tt.b); !errors.Is(err, ledger.ErrCorrupt) {
				t.Errorf("error %v, want ErrCorrupt", err)
			}
		})
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
