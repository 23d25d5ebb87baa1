package settlement_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hutong/hutong/internal/testseed"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/settlement"
)

// TestRandomized drives a ledger through random payments, funds movements,
// window closes, model changes and settlements, then checks every report,
// statements of every account over random ranges against the balances the
// ledger had at their ends, their camt.053 form, and a reconciliation with
// one planted difference.
func TestRandomized(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, seed>>32|1))
	n := 1500
	if testing.Short() {
		n = 300
	}
	parts := []string{"p0", "p1", "p2", "p3", "p4"}
	curs := []string{"USD", "JPY", "KWD"}
	b := newBooks(t)
	for _, p := range parts {
		b.participant(p, curs...)
		for _, c := range curs {
			if _, err := b.fundsIn(p, c, 1_000_000); err != nil {
				t.Fatal(err)
			}
		}
	}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	counts := make(map[string]int)
	for range n {
		cur := pick(curs)
		switch k := rng.IntN(20); {
		case k < 10:
			payer, payee := pick(parts), pick(parts)
			if payer == payee {
				continue
			}
			if _, err := b.pay(payer, payee, cur, 1+rng.Int64N(5000), rng.IntN(10) == 0); err == nil {
				counts["payment"]++
			}
		case k == 10:
			b.fundsIn(pick(parts), cur, 1+rng.Int64N(10000))
		case k == 11:
			if _, err := b.fundsOut(pick(parts), cur, 1+rng.Int64N(10000), rng.IntN(3) == 0); err == nil {
				counts["funds out"]++
			}
		case k < 14:
			b.closeWindow(cur)
		case k < 16:
			var ids []uint64
			var model ledger.Model
			for _, w := range b.l.Windows(cur, false) {
				if w.State == ledger.WindowClosed && (model == 0 || w.Model == model) && rng.IntN(3) != 0 {
					ids, model = append(ids, w.ID), w.Model
				}
			}
			if len(ids) != 0 {
				b.must(ledger.Command{Op: ledger.OpCreateSettlement, Windows: ids})
			}
		case k < 19:
			var open []ledger.Settlement
			for _, s := range b.l.Settlements() {
				if !s.State.Final() {
					open = append(open, s)
				}
			}
			if len(open) == 0 {
				continue
			}
			s := open[rng.IntN(len(open))]
			to := s.State + 1
			if s.State.CanMove(ledger.SettlementAborted) && rng.IntN(6) == 0 {
				to = ledger.SettlementAborted
			}
			b.must(ledger.Command{Op: ledger.OpSettlementState, Settlement: s.ID, SettlementState: to, Reason: "random"})
			counts[to.String()]++
		default:
			b.setModel(cur, ledger.Model(1+rng.IntN(3)))
		}
	}
	t.Logf("%d commands: %v", len(b.steps), counts)
	if !testing.Short() && (counts["PS_TRANSFERS_COMMITTED"] == 0 || counts["payment"] < n/4) {
		t.Errorf("the run committed no settlement or few payments: %v", counts)
	}

	// Reports.
	for _, w := range b.l.Windows("", true) {
		r, err := settlement.WindowReport(w)
		if err != nil {
			t.Fatalf("window %d: %v", w.ID, err)
		}
		if r.Total.Sent != w.Amount || r.Total.Net != 0 || len(r.Lines) > len(parts) {
			t.Errorf("window %d: total %+v, window amount %d", w.ID, r.Total, w.Amount)
		}
	}
	for _, s := range b.l.Settlements() {
		r, err := settlement.SettlementReport(s)
		if err != nil {
			t.Fatalf("settlement %d: %v", s.ID, err)
		}
		var wsum []settlement.Line
		for _, id := range s.Windows {
			w, _ := b.l.Window(id)
			wr, err := settlement.WindowReport(w)
			if err != nil {
				t.Fatal(err)
			}
			wsum = addLines(wsum, wr.Lines)
		}
		if !slices.Equal(wsum, r.Lines) {
			t.Errorf("settlement %d: its windows sum to %+v, it reports %+v", s.ID, wsum, r.Lines)
		}
	}

	// Statements over random ranges, and camt.053 of the whole.
	ctx := context.Background()
	src := b.source()
	end := b.now.Add(time.Second)
	for _, acct := range b.l.Accounts() {
		k := acct.AccountKey
		if k.Participant == ledger.HubID {
			continue
		}
		req := settlement.StatementRequest{Participant: k.Participant, Currency: k.Currency, Account: k.Type, From: t0, To: end}
		st, err := settlement.BuildStatement(ctx, src, req)
		if err != nil {
			t.Fatal(err)
		}
		if st.Closing != acct.Balance() {
			t.Errorf("%s: closing %d, Account.Balance() %d", k, st.Closing, acct.Balance())
		}
		checkStatement(t, b, st)
		var out bytes.Buffer
		if err := st.WriteCAMT053(&out, "", end); err != nil {
			t.Fatal(err)
		}
		checkCAMT(t, &st, out.Bytes(), firstID(out.Bytes()), end)
		for range 3 {
			i, j := rng.IntN(len(b.steps)), rng.IntN(len(b.steps))
			if i > j {
				i, j = j, i
			}
			// Cut between commands, or exactly at one.
			req.From, req.To = b.steps[i].Add(time.Duration(rng.IntN(2))*time.Millisecond), b.steps[j].Add(time.Second/2)
			st, err := settlement.BuildStatement(ctx, src, req)
			if err != nil {
				t.Fatal(err)
			}
			checkStatement(t, b, st)
		}
	}

	// Reconciliation: a participant's true records are clean; one planted
	// difference is found where it belongs.
	p := pick(parts)
	var recs []settlement.Record
	for _, tr := range b.arch.final {
		if tr.Kind == ledger.KindPayment && (tr.Payer == p || tr.Payee == p) {
			dir := settlement.DirectionSent
			if tr.Payee == p {
				dir = settlement.DirectionReceived
			}
			recs = append(recs, settlement.Record{Line: len(recs) + 2, TransferID: tr.ID, Currency: tr.Currency, Amount: tr.Amount,
				State: tr.State.FSPIOP(), Direction: dir, Completed: tr.Completed})
		}
	}
	if len(recs) < 3 {
		t.Skipf("participant %s has %d payments", p, len(recs))
	}
	r, err := settlement.Reconcile(ctx, b.arch, settlement.ReconcileRequest{Participant: p, Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Clean() || len(r.Matched) != len(recs) {
		t.Errorf("%s's true records: clean %v, %d of %d matched", p, r.Clean(), len(r.Matched), len(recs))
	}
	i := 1 + rng.IntN(len(recs)-2) // not the first or last: they set the range
	planted := slices.Clone(recs)
	kind := rng.IntN(5)
	switch kind {
	case 0:
		planted[i].Amount++
	case 1:
		planted[i].State = map[string]string{"COMMITTED": "ABORTED", "ABORTED": "COMMITTED"}[planted[i].State]
	case 2:
		planted[i].Currency = map[string]string{"USD": "EUR", "JPY": "USD", "KWD": "USD"}[planted[i].Currency]
	case 3:
		planted[i].Direction = map[string]string{"SENT": "RECEIVED", "RECEIVED": "SENT"}[planted[i].Direction]
	case 4:
		if planted[i].State != "COMMITTED" {
			kind = 0
			planted[i].Amount++
			break
		}
		planted = slices.Delete(planted, i, i+1)
	}
	r, err = settlement.Reconcile(ctx, b.arch, settlement.ReconcileRequest{Participant: p, Records: planted})
	if err != nil {
		t.Fatal(err)
	}
	lists := [][]settlement.Entry{r.AmountMismatches, r.StateMismatches, r.CurrencyMismatches, r.DirectionMismatches, r.MissingAtParticipant}
	for k, l := range lists {
		want := 0
		if k == kind {
			want = 1
		}
		if len(l) != want || (want == 1 && l[0].TransferID != recs[i].TransferID) {
			t.Errorf("planted difference %d in %s: list %d holds %+v", kind, recs[i].TransferID, k, l)
		}
	}
	if r.Clean() || len(r.MissingAtHub) != 0 {
		t.Errorf("planted difference %d: clean %v, missing at the hub %+v", kind, r.Clean(), r.MissingAtHub)
	}
	// The same records as a file read back the same.
	parsed, err := settlement.ParseRecords(bytes.NewReader(writeRecords(t, recs)))
	if err != nil || len(parsed) != len(recs) {
		t.Fatalf("records file: %d records, %v", len(parsed), err)
	}
}

// firstID returns the MsgId of a camt.053 document.
func firstID(doc []byte) string {
	_, rest, _ := bytes.Cut(doc, []byte("<MsgId>"))
	id, _, _ := bytes.Cut(rest, []byte("</MsgId>"))
	return string(id)
}
