package settlement_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/settlement"
)

// scene is a ledger with a little of everything: a multilateral currency
// settled, a bilateral one committed, a gross one, a switch to gross with
// payments in the open window, an aborted settlement, aborted and expired
// payments and funds movements both ways.
type scene struct {
	*books
	ids map[string]ledger.ID // named transfers
	usd ledger.Settlement    // the settled multilateral settlement
	eur ledger.Settlement    // the committed bilateral settlement
	mid time.Time            // a time between the two halves of the history
}

func newScene(t *testing.T) *scene {
	s := &scene{books: newBooks(t), ids: make(map[string]ledger.ID)}
	b := s.books
	b.participant("a", "USD", "EUR", "JPY")
	b.participant("b", "USD", "EUR", "JPY")
	b.participant("c", "USD", "EUR")
	b.setModel("EUR", ledger.ModelBilateral)
	b.setModel("JPY", ledger.ModelGross)
	for _, f := range []struct {
		p, cur string
		amount int64
	}{{"a", "USD", 100000}, {"b", "USD", 50000}, {"c", "USD", 20000}, {"a", "EUR", 10000}, {"b", "EUR", 10000}, {"c", "EUR", 10000}, {"a", "JPY", 5000}, {"b", "JPY", 5000}} {
		id, err := b.fundsIn(f.p, f.cur, f.amount)
		if err != nil {
			t.Fatal(err)
		}
		s.ids["in "+f.p+" "+f.cur] = id
	}
	pay := func(name, payer, payee, cur string, amount int64, abort bool) {
		t.Helper()
		id, err := b.pay(payer, payee, cur, amount, abort)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s.ids[name] = id
	}
	pay("usd1", "a", "b", "USD", 1250, false)
	pay("usd2", "a", "c", "USD", 300, false)
	pay("usd3", "b", "a", "USD", 500, false)
	pay("usd aborted", "c", "b", "USD", 99, true)
	s.ids["usd expired"] = b.expire("a", "b", "USD", 2000)
	pay("jpy1", "a", "b", "JPY", 700, false)
	pay("jpy2", "b", "a", "JPY", 200, false)
	pay("eur1", "a", "b", "EUR", 400, false)
	pay("eur2", "b", "a", "EUR", 100, false)
	pay("eur3", "c", "a", "EUR", 50, false)
	w1 := b.closeWindow("USD")
	s.usd = b.settle(ledger.SettlementSettled, w1.ID)
	s.mid = b.now.Add(time.Second / 2)
	pay("usd4", "b", "c", "USD", 10, false)
	b.setModel("USD", ledger.ModelGross) // closes the window holding usd4
	pay("usd gross", "a", "c", "USD", 5, false)
	w3 := b.closeWindow("EUR")
	s.eur = b.settle(ledger.SettlementCommitted, w3.ID)
	id, err := b.fundsOut("a", "USD", 1000, false)
	if err != nil {
		t.Fatal(err)
	}
	s.ids["out a"] = id
	if id, err = b.fundsOut("b", "USD", 1, true); err != nil {
		t.Fatal(err)
	}
	s.ids["out b aborted"] = id
	var w2 uint64
	for _, w := range b.l.Windows("USD", false) {
		if w.State == ledger.WindowClosed {
			w2 = w.ID
		}
	}
	b.settle(ledger.SettlementAborted, w2)
	return s
}

// end is a time after everything in the scene.
func (s *scene) end() time.Time { return s.now.Add(time.Second) }

// balanceAt is the balance of k after every command applied before at.
func (b *books) balanceAt(k ledger.AccountKey, at time.Time) int64 {
	var bal int64
	for i, st := range b.steps {
		if !st.Before(at) {
			break
		}
		bal = b.history[i][k]
	}
	return bal
}

// checkStatement checks s against the ledger's history: the balances at
// both ends, the running balances and the totals.
func checkStatement(t *testing.T, b *books, s settlement.Statement) {
	t.Helper()
	k := ledger.AccountKey{Participant: s.Participant, Currency: s.Currency, Type: s.Account}
	if want := b.balanceAt(k, s.From); s.Opening != want {
		t.Errorf("%s [%s, %s): opening %d, the ledger had %d", k, s.From, s.To, s.Opening, want)
	}
	if want := b.balanceAt(k, s.To); s.Closing != want {
		t.Errorf("%s [%s, %s): closing %d, the ledger had %d", k, s.From, s.To, s.Closing, want)
	}
	bal, debits, credits := s.Opening, int64(0), int64(0)
	for i, m := range s.Movements {
		if m.At.Before(s.From) || !m.At.Before(s.To) {
			t.Errorf("%s: movement %d at %s is outside [%s, %s)", k, i, m.At, s.From, s.To)
		}
		if i > 0 && m.At.Before(s.Movements[i-1].At) {
			t.Errorf("%s: movement %d at %s is before the one before it", k, i, m.At)
		}
		if (m.Debit > 0) == (m.Credit > 0) || m.Debit < 0 || m.Credit < 0 {
			t.Errorf("%s: movement %d debits %d and credits %d", k, i, m.Debit, m.Credit)
		}
		bal += m.Debit - m.Credit
		debits += m.Debit
		credits += m.Credit
		if m.Balance != bal {
			t.Errorf("%s: movement %d has balance %d, want %d", k, i, m.Balance, bal)
		}
	}
	if bal != s.Closing || debits != s.Debits || credits != s.Credits {
		t.Errorf("%s: opening %d + movements = %d (debits %d, credits %d); statement says closing %d (%d, %d)",
			k, s.Opening, bal, debits, credits, s.Closing, s.Debits, s.Credits)
	}
}

var accountTypes = []ledger.AccountType{ledger.AccountPosition, ledger.AccountSettlement}

func TestStatementAgreesWithLedger(t *testing.T) {
	s := newScene(t)
	ctx := context.Background()
	src := s.source()
	start, end := t0, s.end()
	quarter := start.Add(end.Sub(start) / 4)
	ranges := [][2]time.Time{
		{start, end}, {start, s.mid}, {s.mid, end}, {quarter, s.mid}, {s.mid, s.mid.Add(time.Second)},
		{end, end.Add(time.Hour)}, {start.Add(-time.Hour), start},
	}
	calls := s.arch.calls
	if _, err := settlement.BuildStatement(ctx, src, settlement.StatementRequest{Participant: "a", Currency: "USD", Account: ledger.AccountPosition, From: s.mid, To: end}); err != nil {
		t.Fatal(err)
	}
	if n := s.arch.calls - calls; n != 1 {
		t.Errorf("BuildStatement read the transfers %d times, want once", n)
	}
	for _, acct := range s.l.Accounts() {
		k := acct.AccountKey
		if k.Participant == ledger.HubID {
			continue
		}
		full := settlement.Statement{}
		for i, r := range ranges {
			st, err := settlement.BuildStatement(ctx, src, settlement.StatementRequest{
				Participant: k.Participant, Currency: k.Currency, Account: k.Type, From: r[0], To: r[1],
			})
			if err != nil {
				t.Fatalf("%s %v: %v", k, r, err)
			}
			checkStatement(t, s.books, st)
			if i == 0 {
				full = st
				if st.Closing != acct.Balance() {
					t.Errorf("%s: closing %d, Account.Balance() %d", k, st.Closing, acct.Balance())
				}
				if st.Opening != 0 {
					t.Errorf("%s: opening at the start %d, want 0", k, st.Opening)
				}
			}
		}
		// The two halves make the whole.
		var halves []settlement.Movement
		for _, r := range [][2]time.Time{{start, s.mid}, {s.mid, end}} {
			st, err := settlement.BuildStatement(ctx, src, settlement.StatementRequest{Participant: k.Participant, Currency: k.Currency, Account: k.Type, From: r[0], To: r[1]})
			if err != nil {
				t.Fatal(err)
			}
			halves = append(halves, st.Movements...)
		}
		if !reflect.DeepEqual(halves, full.Movements) && len(halves)+len(full.Movements) > 0 {
			t.Errorf("%s: the halves' movements\n%+v\ndiffer from the whole's\n%+v", k, halves, full.Movements)
		}
	}
}

// mv is a movement as the tables below write it.
type mv struct {
	kind          settlement.MovementKind
	ref           string // a transfer's name in the scene, or "settlement usd" / "settlement eur"
	counterparty  string
	debit, credit int64
}

func TestStatementMovements(t *testing.T) {
	s := newScene(t)
	P, S := ledger.AccountPosition, ledger.AccountSettlement
	tests := []struct {
		p, cur string
		typ    ledger.AccountType
		want   []mv
	}{
		{"a", "USD", P, []mv{
			{settlement.MovementPaymentSent, "usd1", "b", 1250, 0},
			{settlement.MovementPaymentSent, "usd2", "c", 300, 0},
			{settlement.MovementPaymentReceived, "usd3", "b", 0, 500},
			{settlement.MovementSettlement, "settlement usd", ledger.HubID, 0, 1050},
			{settlement.MovementPaymentSent, "usd gross", "c", 5, 0},
			{settlement.MovementGrossSettlement, "usd gross", "c", 0, 5},
		}},
		{"a", "USD", S, []mv{
			{settlement.MovementFundsIn, "in a USD", ledger.HubID, 100000, 0},
			{settlement.MovementSettlement, "settlement usd", ledger.HubID, 0, 1050},
			{settlement.MovementGrossSettlement, "usd gross", "c", 0, 5},
			{settlement.MovementFundsOut, "out a", ledger.HubID, 0, 1000},
		}},
		{"b", "USD", P, []mv{
			{settlement.MovementPaymentReceived, "usd1", "a", 0, 1250},
			{settlement.MovementPaymentSent, "usd3", "a", 500, 0},
			{settlement.MovementSettlement, "settlement usd", ledger.HubID, 750, 0},
			{settlement.MovementPaymentSent, "usd4", "c", 10, 0},
		}},
		{"c", "USD", S, []mv{
			{settlement.MovementFundsIn, "in c USD", ledger.HubID, 20000, 0},
			{settlement.MovementSettlement, "settlement usd", ledger.HubID, 300, 0},
			{settlement.MovementGrossSettlement, "usd gross", "a", 5, 0},
		}},
		{"a", "JPY", P, []mv{
			{settlement.MovementPaymentSent, "jpy1", "b", 700, 0},
			{settlement.MovementGrossSettlement, "jpy1", "b", 0, 700},
			{settlement.MovementPaymentReceived, "jpy2", "b", 0, 200},
			{settlement.MovementGrossSettlement, "jpy2", "b", 200, 0},
		}},
		{"b", "JPY", S, []mv{
			{settlement.MovementFundsIn, "in b JPY", ledger.HubID, 5000, 0},
			{settlement.MovementGrossSettlement, "jpy1", "a", 700, 0},
			{settlement.MovementGrossSettlement, "jpy2", "a", 0, 200},
		}},
		{"a", "EUR", P, []mv{
			{settlement.MovementPaymentSent, "eur1", "b", 400, 0},
			{settlement.MovementPaymentReceived, "eur2", "b", 0, 100},
			{settlement.MovementPaymentReceived, "eur3", "c", 0, 50},
			{settlement.MovementSettlement, "settlement eur", "b", 0, 300},
			{settlement.MovementSettlement, "settlement eur", "c", 50, 0},
		}},
		{"c", "EUR", S, []mv{
			{settlement.MovementFundsIn, "in c EUR", ledger.HubID, 10000, 0},
			{settlement.MovementSettlement, "settlement eur", "a", 0, 50},
		}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/%s", tt.p, tt.cur, tt.typ), func(t *testing.T) {
			st, err := settlement.BuildStatement(context.Background(), s.source(), settlement.StatementRequest{
				Participant: tt.p, Currency: tt.cur, Account: tt.typ, From: t0, To: s.end(),
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []mv
			for _, m := range st.Movements {
				g := mv{kind: m.Kind, counterparty: m.Counterparty, debit: m.Debit, credit: m.Credit}
				switch m.Settlement {
				case s.usd.ID:
					g.ref = "settlement usd"
				case s.eur.ID:
					g.ref = "settlement eur"
				case 0:
					for name, id := range s.ids {
						if id == m.Transfer {
							g.ref = name
						}
					}
				}
				got = append(got, g)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("movements\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestStatementSettlementTime(t *testing.T) {
	s := newScene(t)
	var committed time.Time
	for _, h := range s.usd.History {
		if h.State == ledger.SettlementCommitted {
			committed = h.At
		}
	}
	for _, tt := range []struct {
		to   time.Time
		want int // settlement movements
	}{{committed, 0}, {committed.Add(time.Nanosecond), 1}} {
		st, err := settlement.BuildStatement(context.Background(), s.source(), settlement.StatementRequest{
			Participant: "a", Currency: "USD", Account: ledger.AccountSettlement, From: t0, To: tt.to,
		})
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, m := range st.Movements {
			if m.Kind == settlement.MovementSettlement {
				got++
				if !m.At.Equal(committed) {
					t.Errorf("settlement movement at %s, committed at %s", m.At, committed)
				}
			}
		}
		if got != tt.want {
			t.Errorf("to %s: %d settlement movements, want %d", tt.to, got, tt.want)
		}
	}
}

type failing struct{ err error }

func (f failing) Completed(ctx context.Context, from, to time.Time, fn func(*ledger.Transfer) error) error {
	return f.err
}

func TestStatementErrors(t *testing.T) {
	s := newScene(t)
	ok := settlement.StatementRequest{Participant: "a", Currency: "USD", Account: ledger.AccountPosition, From: t0, To: s.end()}
	boom := errors.New("disk on fire")
	noGross := s.source()
	noGross.Windows = nil
	tests := []struct {
		name string
		src  settlement.Source
		edit func(*settlement.StatementRequest)
		want error
	}{
		{"hub", s.source(), func(r *settlement.StatementRequest) { r.Participant = ledger.HubID }, settlement.ErrInvalidRequest},
		{"empty participant", s.source(), func(r *settlement.StatementRequest) { r.Participant = "" }, settlement.ErrInvalidRequest},
		{"currency", s.source(), func(r *settlement.StatementRequest) { r.Currency = "usd" }, settlement.ErrInvalidRequest},
		{"hub account", s.source(), func(r *settlement.StatementRequest) { r.Account = ledger.AccountHubMultilateral }, settlement.ErrInvalidRequest},
		{"no account", s.source(), func(r *settlement.StatementRequest) { r.Account = 0 }, settlement.ErrInvalidRequest},
		{"no start", s.source(), func(r *settlement.StatementRequest) { r.From = time.Time{} }, settlement.ErrInvalidRequest},
		{"no end", s.source(), func(r *settlement.StatementRequest) { r.To = time.Time{} }, settlement.ErrInvalidRequest},
		{"empty range", s.source(), func(r *settlement.StatementRequest) { r.To = r.From }, settlement.ErrInvalidRequest},
		{"reversed", s.source(), func(r *settlement.StatementRequest) { r.From, r.To = r.To, r.From }, settlement.ErrInvalidRequest},
		{"no transfers", settlement.Source{}, func(*settlement.StatementRequest) {}, settlement.ErrInvalidRequest},
		{"store fails", settlement.Source{Transfers: failing{boom}}, func(*settlement.StatementRequest) {}, boom},
		{"windows missing", noGross, func(*settlement.StatementRequest) {}, settlement.ErrUnknownWindow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ok
			tt.edit(&req)
			st, err := settlement.BuildStatement(context.Background(), tt.src, req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("BuildStatement = %+v, %v; want %v", st, err, tt.want)
			}
		})
	}
	// Windows are needed only for payments of the participant in the
	// currency: c has none in JPY.
	req := ok
	req.Participant, req.Currency = "c", "JPY"
	if st, err := settlement.BuildStatement(context.Background(), noGross, req); err != nil || len(st.Movements) != 0 || st.Closing != 0 {
		t.Errorf("c/JPY without windows = %+v, %v; want an empty statement", st, err)
	}
}

func TestStatementWriters(t *testing.T) {
	id := ledger.ID{0x9a, 0x3c, 0x1d, 0x4e, 0x2b, 0x7f, 0x4c, 0x1a, 0x8e, 0x5d, 0x0f, 0x6a, 0x7b, 0x8c, 0x9d, 0x0e}
	st := settlement.Statement{
		Participant: "payerfsp", Currency: "USD", Account: ledger.AccountPosition,
		From: t0, To: t0.Add(time.Hour), Opening: -250, Closing: 855, Debits: 1255, Credits: 150,
		Movements: []settlement.Movement{
			{At: t0.Add(time.Minute), Kind: settlement.MovementPaymentSent, Transfer: id, Window: 4, Counterparty: "payeefsp", Debit: 1255, Balance: 1005},
			{At: t0.Add(2 * time.Minute), Kind: settlement.MovementSettlement, Settlement: 2, Counterparty: ledger.HubID, Credit: 150, Balance: 855},
		},
	}
	var b bytes.Buffer
	if err := st.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	want := `time,kind,transfer_id,settlement_id,window_id,counterparty,debit,credit,balance
2030-01-02T03:04:05Z,OPENING_BALANCE,,,,,0,0,-2.5
2030-01-02T03:05:05Z,PAYMENT_SENT,9a3c1d4e-2b7f-4c1a-8e5d-0f6a7b8c9d0e,,4,payeefsp,12.55,0,10.05
2030-01-02T03:06:05Z,SETTLEMENT,,2,,hub,0,1.5,8.55
2030-01-02T04:04:05Z,CLOSING_BALANCE,,,,,12.55,1.5,8.55
`
	if got := b.String(); got != want {
		t.Errorf("CSV\n%s\nwant\n%s", got, want)
	}

	b.Reset()
	if err := st.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	wantJSON := map[string]any{
		"participant": "payerfsp", "currency": "USD", "account": "POSITION",
		"from": "2030-01-02T03:04:05Z", "to": "2030-01-02T04:04:05Z",
		"opening": "-2.5", "closing": "8.55", "debits": "12.55", "credits": "1.5",
		"movements": []any{
			map[string]any{"at": "2030-01-02T03:05:05Z", "kind": "PAYMENT_SENT", "transferId": id.String(), "windowId": 4.0,
				"counterparty": "payeefsp", "debit": "12.55", "credit": "0", "balance": "10.05"},
			map[string]any{"at": "2030-01-02T03:06:05Z", "kind": "SETTLEMENT", "settlementId": 2.0,
				"counterparty": "hub", "debit": "0", "credit": "1.5", "balance": "8.55"},
		},
	}
	if !reflect.DeepEqual(got, wantJSON) {
		t.Errorf("JSON\n%v\nwant\n%v", got, wantJSON)
	}

	// A statement that does not add up is not written.
	bad := st
	bad.Closing++
	for name, write := range map[string]func(*settlement.Statement) error{
		"csv":  func(s *settlement.Statement) error { return s.WriteCSV(&b) },
		"json": func(s *settlement.Statement) error { return s.WriteJSON(&b) },
		"camt": func(s *settlement.Statement) error { return s.WriteCAMT053(&b, "", t0) },
	} {
		b.Reset()
		if err := write(&bad); !errors.Is(err, settlement.ErrUnbalanced) || b.Len() != 0 {
			t.Errorf("%s of a statement that does not add up: %v, wrote %d bytes", name, err, b.Len())
		}
	}
}

// TestStatementCSVRoundTrip reads a real statement's CSV back.
func TestStatementCSVRoundTrip(t *testing.T) {
	s := newScene(t)
	st, err := settlement.BuildStatement(context.Background(), s.source(), settlement.StatementRequest{
		Participant: "a", Currency: "USD", Account: ledger.AccountSettlement, From: t0, To: s.end(),
	})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := st.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(st.Movements)+3 {
		t.Fatalf("%d rows, want %d", len(rows), len(st.Movements)+3)
	}
	last := rows[len(rows)-1]
	if last[1] != "CLOSING_BALANCE" || last[8] != "979.45" || !strings.HasPrefix(rows[1][1], "OPENING") {
		t.Errorf("rows %q", rows)
	}
}

// BenchmarkBuildStatement measures a statement of one account of ten
// participants over a history of 100000 payments.
func BenchmarkBuildStatement(b *testing.B) {
	arch := newArchive()
	windows := []ledger.Window{{ID: 1, Currency: "USD", Model: ledger.ModelMultilateral}}
	for i := range 100000 {
		var id ledger.ID
		id[0], id[1], id[2], id[15] = byte(i>>16), byte(i>>8), byte(i), 1
		arch.final = append(arch.final, ledger.Transfer{
			ID: id, Kind: ledger.KindPayment, State: ledger.StateCommitted, Payer: fmt.Sprint("p", i%10), Payee: fmt.Sprint("p", (i+1)%10),
			Currency: "USD", Amount: 100, Completed: t0.Add(time.Duration(i) * time.Millisecond), Window: 1,
		})
	}
	src := settlement.Source{Transfers: arch, Windows: windows}
	req := settlement.StatementRequest{Participant: "p3", Currency: "USD", Account: ledger.AccountPosition, From: t0.Add(50 * time.Second), To: t0.Add(time.Hour)}
	b.ReportAllocs()
	for b.Loop() {
		st, err := settlement.BuildStatement(context.Background(), src, req)
		if err != nil || len(st.Movements) != 10000 {
			b.Fatalf("%d movements, %v", len(st.Movements), err)
		}
	}
}
