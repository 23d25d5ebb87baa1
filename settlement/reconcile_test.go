package settlement_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
	"github.com/hutong/hutong/settlement"
)

// recordsOf writes p's view of the named transfers of the scene as a records
// file, each changed by edit when edit has an entry for it.
func recordsOf(t *testing.T, s *scene, p string, names []string, edit map[string]func(*[6]string)) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("transfer_id,currency,amount,state,direction,completed_at\n")
	for _, name := range names {
		tr, ok := s.arch.byID[s.ids[name]]
		if !ok {
			t.Fatalf("no transfer %q", name)
		}
		c, _ := money.Lookup(tr.Currency)
		dir := settlement.DirectionReceived
		if tr.Payer == p {
			dir = settlement.DirectionSent
		}
		row := [6]string{tr.ID.String(), tr.Currency, money.FormatAmount(tr.Amount, c), tr.State.FSPIOP(), dir, tr.Completed.Format(time.RFC3339Nano)}
		if f := edit[name]; f != nil {
			f(&row)
		}
		b.WriteString(strings.Join(row[:], ",") + "\n")
	}
	return b.String()
}

func reconcile(t *testing.T, s *scene, p, file string, from, to time.Time, funds bool) settlement.Reconciliation {
	t.Helper()
	recs, err := settlement.ParseRecords(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	r, err := settlement.Reconcile(context.Background(), s.arch, settlement.ReconcileRequest{Participant: p, Records: recs, From: from, To: to, Funds: funds})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// idsOf lists the scene names of the transfers in entries.
func (s *scene) idsOf(entries []settlement.Entry) []string {
	var out []string
	for _, e := range entries {
		name := e.TransferID.String()
		for n, id := range s.ids {
			if id == e.TransferID {
				name = n
			}
		}
		out = append(out, name)
	}
	return out
}

// aPayments are every payment of participant a in the scene that
// committed, and the one that expired.
var aPayments = []string{"usd1", "usd2", "usd3", "usd expired", "jpy1", "jpy2", "eur1", "eur2", "eur3", "usd gross"}

func TestReconcileClean(t *testing.T) {
	s := newScene(t)
	r := reconcile(t, s, "a", recordsOf(t, s, "a", aPayments, nil), time.Time{}, time.Time{}, false)
	if !r.Clean() || len(r.Matched) != len(aPayments) {
		t.Errorf("reconciliation of a's own view: clean %v, %d matched; want clean and %d matched: %+v", r.Clean(), len(r.Matched), len(aPayments), r)
	}
	// The default range runs from the first completion in the file to
	// just after the last.
	first, last := s.arch.byID[s.ids["usd1"]].Completed, s.arch.byID[s.ids["usd gross"]].Completed
	if !r.From.Equal(first) || !r.To.Equal(last.Add(time.Nanosecond)) {
		t.Errorf("range [%s, %s), want [%s, %s]", r.From, r.To, first, last)
	}
	// Funds in and out are not in the file: they are missing at a only
	// when asked for, and only those in the range.
	r = reconcile(t, s, "a", recordsOf(t, s, "a", aPayments, nil), t0, s.end(), true)
	if got := s.idsOf(r.MissingAtParticipant); strings.Join(got, ",") != "in a USD,in a EUR,in a JPY,out a" {
		t.Errorf("with funds, missing at a: %q", got)
	}
}

func TestReconcileDifferences(t *testing.T) {
	s := newScene(t)
	unknown := "11111111-2222-4333-8444-555555555555"
	file := recordsOf(t, s, "a", []string{"usd1", "usd3", "usd expired", "jpy1", "jpy2", "eur1", "eur2", "eur3", "usd gross", "usd4"}, map[string]func(*[6]string){
		"usd expired": func(r *[6]string) { r[3] = "COMMITTED" },              // state
		"jpy2":        func(r *[6]string) { r[1], r[2] = "EUR", "2" },         // currency
		"eur1":        func(r *[6]string) { r[2] = "4.01" },                   // amount
		"eur3":        func(r *[6]string) { r[4] = settlement.DirectionSent }, // direction
		"eur2":        func(r *[6]string) { r[2], r[3] = "1.5", "RESERVED" },  // amount and state
		"usd4":        func(r *[6]string) { r[4] = "" },                       // b's and c's
	})
	file += unknown + ",USD,7,COMMITTED,SENT,\n"
	r := reconcile(t, s, "a", file, time.Time{}, time.Time{}, false)
	tests := []struct {
		name string
		got  []settlement.Entry
		want string
	}{
		{"matched", r.Matched, "usd1,usd3,jpy1,usd gross"},
		{"missing at the hub", r.MissingAtHub, "usd4," + unknown},
		{"missing at a", r.MissingAtParticipant, "usd2"},
		{"amount", r.AmountMismatches, "eur1,eur2"},
		{"state", r.StateMismatches, "usd expired,eur2"},
		{"currency", r.CurrencyMismatches, "jpy2"},
		{"direction", r.DirectionMismatches, "eur3"},
	}
	for _, tt := range tests {
		if got := strings.Join(s.idsOf(tt.got), ","); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if r.Clean() {
		t.Error("Clean() with differences")
	}

	// Both sides' values are reported.
	eur1 := r.AmountMismatches[0]
	if eur1.Line != 7 || eur1.Participant.Amount != 401 || eur1.Hub.Amount != 400 || eur1.Hub.Counterparty != "b" || eur1.Hub.Kind != "PAYMENT" {
		t.Errorf("amount mismatch %+v: participant %+v hub %+v", eur1, eur1.Participant, eur1.Hub)
	}
	exp := r.StateMismatches[0]
	if exp.Participant.State != "COMMITTED" || exp.Hub.State != "ABORTED" {
		t.Errorf("state mismatch: participant %+v hub %+v", exp.Participant, exp.Hub)
	}
	cur := r.CurrencyMismatches[0]
	if cur.Participant.Currency != "EUR" || cur.Participant.Amount != 200 || cur.Hub.Currency != "JPY" || cur.Hub.Amount != 200 {
		t.Errorf("currency mismatch: participant %+v hub %+v", cur.Participant, cur.Hub)
	}
	dir := r.DirectionMismatches[0]
	if dir.Participant.Direction != "SENT" || dir.Hub.Direction != "RECEIVED" || dir.Hub.Counterparty != "c" {
		t.Errorf("direction mismatch: participant %+v hub %+v", dir.Participant, dir.Hub)
	}
	miss := r.MissingAtParticipant[0]
	if miss.Participant != nil || miss.Line != 0 || miss.Hub.Amount != 300 || miss.Hub.Direction != "SENT" {
		t.Errorf("missing at a: %+v, hub %+v", miss, miss.Hub)
	}
	// Nothing is said of another participant's transfer.
	for _, e := range r.MissingAtHub {
		if e.Hub != nil || e.Participant == nil || e.Line == 0 {
			t.Errorf("missing at the hub: %+v", e)
		}
	}

	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Participant string         `json:"participant"`
		Clean       bool           `json:"clean"`
		Counts      map[string]int `json:"counts"`
		Amount      []struct {
			TransferID  string `json:"transferId"`
			Line        int    `json:"line"`
			Participant struct {
				Currency, Amount, State string
			} `json:"participant"`
			Hub struct {
				Kind, Currency, Amount, State, Direction, Counterparty, Completed string
			} `json:"hub"`
		} `json:"amountMismatches"`
		MissingAtHub []map[string]any `json:"missingAtHub"`
		Matched      []any            `json:"matched"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	wantCounts := map[string]int{"matched": 4, "missingAtHub": 2, "missingAtParticipant": 1, "amountMismatches": 2, "stateMismatches": 2, "currencyMismatches": 1, "directionMismatches": 1}
	if got.Participant != "a" || got.Clean || fmt.Sprint(got.Counts) != fmt.Sprint(wantCounts) || len(got.Matched) != 4 {
		t.Errorf("JSON %+v", got)
	}
	if a := got.Amount[0]; a.TransferID != s.ids["eur1"].String() || a.Line != 7 || a.Participant.Amount != "4.01" || a.Hub.Amount != "4" ||
		a.Hub.Currency != "EUR" || a.Hub.State != "COMMITTED" || a.Hub.Completed == "" {
		t.Errorf("JSON amount mismatch %+v", a)
	}
	for _, m := range got.MissingAtHub {
		if _, ok := m["hub"]; ok {
			t.Errorf("JSON missing at the hub has a hub side: %v", m)
		}
	}

	b.Reset()
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"Reconciliation of a, transfers completed from ",
		": 9 differences",
		"line 7", s.ids["eur1"].String(), "file: EUR 4.01 COMMITTED SENT", "hub: EUR 4 COMMITTED SENT to b at ",
		"Missing at a (committed at the hub; not in the file):",
		"file: USD 7 COMMITTED SENT", "hub: none",
		"file: none", "hub: USD 3 COMMITTED SENT to c",
		"Direction mismatches:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text does not contain %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "to c at "+timestamp(s.arch.byID[s.ids["usd4"]].Completed)) {
		t.Errorf("text shows usd4, which is not a's:\n%s", text)
	}
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func TestReconcileCleanText(t *testing.T) {
	s := newScene(t)
	r := reconcile(t, s, "c", recordsOf(t, s, "c", []string{"usd2", "eur3", "usd4", "usd gross"}, nil), time.Time{}, time.Time{}, false)
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !r.Clean() || !strings.Contains(b.String(), ": clean\n") || !strings.Contains(b.String(), "Matched") {
		t.Errorf("clean %v:\n%s", r.Clean(), b.String())
	}
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	// Empty lists are written as [], not null.
	if !strings.Contains(b.String(), `"missingAtHub": []`) || !strings.Contains(b.String(), `"clean": true`) {
		t.Errorf("JSON:\n%s", b.String())
	}
}

func TestReconcileErrors(t *testing.T) {
	s := newScene(t)
	rec := settlement.Record{Line: 2, TransferID: s.ids["usd1"], Currency: "USD", Amount: 1250, State: "COMMITTED"}
	boom := errors.New("disk on fire")
	tests := []struct {
		name string
		hub  settlement.Archive
		req  settlement.ReconcileRequest
		want error
	}{
		{"participant", s.arch, settlement.ReconcileRequest{Participant: "", From: t0, To: s.end()}, settlement.ErrInvalidRequest},
		{"hub", s.arch, settlement.ReconcileRequest{Participant: ledger.HubID, From: t0, To: s.end()}, settlement.ErrInvalidRequest},
		{"no range", s.arch, settlement.ReconcileRequest{Participant: "a", Records: []settlement.Record{rec}}, settlement.ErrInvalidRequest},
		{"no range and no records", s.arch, settlement.ReconcileRequest{Participant: "a"}, settlement.ErrInvalidRequest},
		{"reversed range", s.arch, settlement.ReconcileRequest{Participant: "a", From: s.end(), To: t0}, settlement.ErrInvalidRequest},
		{"repeated record", s.arch, settlement.ReconcileRequest{Participant: "a", Records: []settlement.Record{rec, rec}, From: t0, To: s.end()}, settlement.ErrInvalidRequest},
		{"bad record", s.arch, settlement.ReconcileRequest{Participant: "a", Records: []settlement.Record{{TransferID: rec.TransferID, Currency: "USD", Amount: 1, State: "DONE"}}, From: t0, To: s.end()}, settlement.ErrInvalidRequest},
		{"lookup fails", lookupFails{s.arch, boom}, settlement.ReconcileRequest{Participant: "a", Records: []settlement.Record{rec}, From: t0, To: s.end()}, boom},
		{"sweep fails", sweepFails{s.arch, boom}, settlement.ReconcileRequest{Participant: "a", Records: []settlement.Record{rec}, From: t0, To: s.end()}, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := settlement.Reconcile(context.Background(), tt.hub, tt.req)
			if !errors.Is(err, tt.want) {
				t.Errorf("Reconcile = %+v, %v; want %v", r, err, tt.want)
			}
		})
	}
	// With only From given, To defaults from the records.
	rec.Completed = s.arch.byID[rec.TransferID].Completed
	r, err := settlement.Reconcile(context.Background(), s.arch, settlement.ReconcileRequest{Participant: "a", Records: []settlement.Record{rec}, From: t0})
	if err != nil || !r.From.Equal(t0) || !r.To.Equal(rec.Completed.Add(time.Nanosecond)) {
		t.Errorf("Reconcile = [%s, %s), %v", r.From, r.To, err)
	}
}

type lookupFails struct {
	*archive
	err error
}

func (l lookupFails) Transfer(ctx context.Context, id ledger.ID) (ledger.Transfer, error) {
	return ledger.Transfer{}, l.err
}

type sweepFails struct {
	*archive
	err error
}

func (l sweepFails) Completed(ctx context.Context, from, to time.Time, fn func(*ledger.Transfer) error) error {
	return l.err
}
