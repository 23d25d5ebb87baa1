package settlement_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/settlement"
)

func testWindow() ledger.Window {
	return ledger.Window{
		ID: 7, Currency: "USD", Model: ledger.ModelMultilateral, State: ledger.WindowClosed,
		Opened: t0, Closed: t0.Add(time.Hour), Count: 4, Amount: 13500,
		Flows: []ledger.Flow{
			{Payer: "payerfsp", Payee: "payeefsp", Count: 2, Amount: 10000},
			{Payer: "payeefsp", Payee: "payerfsp", Count: 1, Amount: 3000},
			{Payer: "otherfsp", Payee: "payerfsp", Count: 1, Amount: 500},
		},
	}
}

func TestWindowReport(t *testing.T) {
	r, err := settlement.WindowReport(testWindow())
	if err != nil {
		t.Fatal(err)
	}
	wantLines := []settlement.Line{
		{Participant: "otherfsp", SentCount: 1, Sent: 500, Net: 500},
		{Participant: "payeefsp", SentCount: 1, Sent: 3000, ReceivedCount: 2, Received: 10000, Net: -7000},
		{Participant: "payerfsp", SentCount: 2, Sent: 10000, ReceivedCount: 2, Received: 3500, Net: 6500},
	}
	if !reflect.DeepEqual(r.Lines, wantLines) {
		t.Errorf("lines\n got %+v\nwant %+v", r.Lines, wantLines)
	}
	wantTotal := settlement.Line{SentCount: 4, Sent: 13500, ReceivedCount: 4, Received: 13500}
	if r.Total != wantTotal || r.Position != 7000 {
		t.Errorf("total %+v position %d, want %+v and 7000", r.Total, r.Position, wantTotal)
	}
	if r.Kind != settlement.ReportWindow || r.ID != 7 || r.State != "CLOSED" || !reflect.DeepEqual(r.Windows, []uint64{7}) || r.Owed != nil {
		t.Errorf("report %+v", r)
	}

	var b bytes.Buffer
	if err := r.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	wantCSV := `participant,currency,sent_count,sent,received_count,received,net
otherfsp,USD,1,5,0,0,5
payeefsp,USD,1,30,2,100,-70
payerfsp,USD,2,100,2,35,65
TOTAL,USD,4,135,4,135,0
`
	if b.String() != wantCSV {
		t.Errorf("CSV\n%s\nwant\n%s", b.String(), wantCSV)
	}

	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"kind": "WINDOW", "id": 7.0, "currency": "USD", "model": "DEFERRED_MULTILATERAL_NET", "state": "CLOSED",
		"windows": []any{7.0}, "opened": "2030-01-02T03:04:05Z", "closed": "2030-01-02T04:04:05Z",
		"participants": []any{
			map[string]any{"participant": "otherfsp", "sentCount": 1.0, "sent": "5", "receivedCount": 0.0, "received": "0", "net": "5"},
			map[string]any{"participant": "payeefsp", "sentCount": 1.0, "sent": "30", "receivedCount": 2.0, "received": "100", "net": "-70"},
			map[string]any{"participant": "payerfsp", "sentCount": 2.0, "sent": "100", "receivedCount": 2.0, "received": "35", "net": "65"},
		},
		"total":    map[string]any{"sentCount": 4.0, "sent": "135", "receivedCount": 4.0, "received": "135", "net": "0"},
		"position": "70",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JSON\n%v\nwant\n%v", got, want)
	}
}

func TestWindowReportErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*ledger.Window)
		want error
	}{
		{"count", func(w *ledger.Window) { w.Count++ }, settlement.ErrUnbalanced},
		{"amount", func(w *ledger.Window) { w.Amount-- }, settlement.ErrUnbalanced},
		{"without flows", func(w *ledger.Window) { w.Flows = nil }, settlement.ErrUnbalanced},
		{"negative flow", func(w *ledger.Window) { w.Flows[0].Amount = -w.Flows[0].Amount; w.Amount -= 20000 }, settlement.ErrUnbalanced},
		{"bad participant", func(w *ledger.Window) { w.Flows[2].Payer = "" }, settlement.ErrUnbalanced},
		{"overflow", func(w *ledger.Window) {
			w.Flows[0].Amount = 1 << 62
			w.Flows[1].Payer = "payerfsp"
			w.Flows[1].Amount = 1 << 62
		}, settlement.ErrOverflow},
		{"currency", func(w *ledger.Window) { w.Currency = "XXX" }, settlement.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := testWindow()
			tt.edit(&w)
			if r, err := settlement.WindowReport(w); !errors.Is(err, tt.want) {
				t.Errorf("WindowReport = %+v, %v; want %v", r, err, tt.want)
			}
		})
	}
}

func TestSettlementReport(t *testing.T) {
	s := newScene(t)
	for _, st := range s.l.Settlements() {
		r, err := settlement.SettlementReport(st)
		if err != nil {
			t.Fatalf("settlement %d: %v", st.ID, err)
		}
		if len(r.Lines) != len(st.Nets) {
			t.Fatalf("settlement %d: %d lines for %d nets", st.ID, len(r.Lines), len(st.Nets))
		}
		for i, n := range st.Nets {
			l := r.Lines[i]
			if l.Participant != n.Participant || l.Sent != n.Sent || l.Received != n.Received || l.SentCount != n.SentCount ||
				l.ReceivedCount != n.ReceivedCount || l.Net != n.Net {
				t.Errorf("settlement %d: line %+v for net %+v", st.ID, l, n)
			}
		}
		if r.Total.Net != 0 || r.Total.Sent != st.Amount || r.Total.SentCount != st.Count || r.Position != st.Position {
			t.Errorf("settlement %d: total %+v position %d; settlement %d payments of %d, position %d", st.ID, r.Total, r.Position, st.Count, st.Amount, st.Position)
		}
		if r.State != st.State.String() || !reflect.DeepEqual(r.Windows, st.Windows) || r.Reason != st.Reason {
			t.Errorf("settlement %d: report %+v", st.ID, r)
		}
		// The settlement's windows report the same nets between them.
		var sum []settlement.Line
		for _, id := range st.Windows {
			w, _ := s.l.Window(id)
			wr, err := settlement.WindowReport(w)
			if err != nil {
				t.Fatal(err)
			}
			sum = addLines(sum, wr.Lines)
		}
		if len(st.Windows) == 1 {
			w, _ := s.l.Window(st.Windows[0])
			wr, _ := settlement.WindowReport(w)
			if !reflect.DeepEqual(wr.Owed, r.Owed) {
				t.Errorf("settlement %d: its window owes %+v, the settlement %+v", st.ID, wr.Owed, r.Owed)
			}
		}
		if !reflect.DeepEqual(sum, r.Lines) {
			t.Errorf("settlement %d: windows give %+v, the settlement %+v", st.ID, sum, r.Lines)
		}

		var b bytes.Buffer
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Kind  string `json:"kind"`
			Model string `json:"model"`
			Owed  *[]struct {
				Payer, Payee string
				Count        int64
				Amount       string
			} `json:"owed"`
		}
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Kind != "SETTLEMENT" || got.Model != st.Model.String() || (got.Owed != nil) != (st.Model == ledger.ModelBilateral) {
			t.Errorf("settlement %d: JSON %s", st.ID, b.String())
		}
		if st.Model == ledger.ModelBilateral && (len(*got.Owed) != len(st.Owed) || len(st.Owed) == 0) {
			t.Errorf("settlement %d: owed %+v, want %+v", st.ID, *got.Owed, st.Owed)
		}
		b.Reset()
		if err := r.WriteCSV(&b); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil || len(rows) != len(st.Nets)+2 || rows[len(rows)-1][0] != "TOTAL" || rows[len(rows)-1][6] != "0" {
			t.Errorf("settlement %d: CSV %q, %v", st.ID, rows, err)
		}
	}
}

// addLines adds the lines of b to those of a, by participant.
func addLines(a, b []settlement.Line) []settlement.Line {
	out := append([]settlement.Line(nil), a...)
	for _, l := range b {
		found := false
		for i := range out {
			if out[i].Participant == l.Participant {
				out[i].SentCount += l.SentCount
				out[i].Sent += l.Sent
				out[i].ReceivedCount += l.ReceivedCount
				out[i].Received += l.Received
				out[i].Net += l.Net
				found = true
			}
		}
		if !found {
			out = append(out, l)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Participant < out[j-1].Participant; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func testSettlement() ledger.Settlement {
	return ledger.Settlement{
		ID: 3, Currency: "EUR", Model: ledger.ModelBilateral, State: ledger.SettlementPending, Windows: []uint64{2, 5},
		Created: t0, Updated: t0,
		Nets: []ledger.Net{
			{Participant: "a", Sent: 400, Received: 150, SentCount: 1, ReceivedCount: 2, Net: 250},
			{Participant: "b", Sent: 100, Received: 400, SentCount: 1, ReceivedCount: 1, Net: -300},
			{Participant: "c", Sent: 50, SentCount: 1, Net: 50},
		},
		Owed:  []ledger.Flow{{Payer: "a", Payee: "b", Count: 2, Amount: 300}, {Payer: "c", Payee: "a", Count: 1, Amount: 50}},
		Count: 3, Amount: 550, Position: 300,
	}
}

func TestSettlementReportErrors(t *testing.T) {
	if _, err := settlement.SettlementReport(testSettlement()); err != nil {
		t.Fatalf("the unedited settlement: %v", err)
	}
	tests := []struct {
		name string
		edit func(*ledger.Settlement)
		want error
	}{
		{"net is not sent less received", func(s *ledger.Settlement) { s.Nets[0].Net++ }, settlement.ErrUnbalanced},
		{"nets do not sum to zero", func(s *ledger.Settlement) {
			s.Nets[0].Sent++
			s.Nets[0].Net++
			s.Amount++
			s.Position++
		}, settlement.ErrUnbalanced},
		{"count", func(s *ledger.Settlement) { s.Count-- }, settlement.ErrUnbalanced},
		{"amount", func(s *ledger.Settlement) { s.Amount++ }, settlement.ErrUnbalanced},
		{"position", func(s *ledger.Settlement) { s.Position-- }, settlement.ErrUnbalanced},
		{"owed amount", func(s *ledger.Settlement) { s.Owed[0].Amount-- }, settlement.ErrUnbalanced},
		{"owed missing", func(s *ledger.Settlement) { s.Owed = s.Owed[:1] }, settlement.ErrUnbalanced},
		{"owed stranger", func(s *ledger.Settlement) {
			s.Owed = append(s.Owed, ledger.Flow{Payer: "d", Payee: "e", Amount: 1})
		}, settlement.ErrUnbalanced},
		{"owed under multilateral", func(s *ledger.Settlement) { s.Model = ledger.ModelMultilateral }, settlement.ErrUnbalanced},
		{"repeated participant", func(s *ledger.Settlement) { s.Nets[2].Participant = "b" }, settlement.ErrUnbalanced},
		{"negative gross", func(s *ledger.Settlement) {
			s.Nets[2].Sent, s.Nets[2].Received, s.Nets[2].Net = -50, -100, 50
		}, settlement.ErrUnbalanced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := testSettlement()
			tt.edit(&st)
			if r, err := settlement.SettlementReport(st); !errors.Is(err, tt.want) {
				t.Errorf("SettlementReport = %+v, %v; want %v", r, err, tt.want)
			}
		})
	}
}

// TestReportWritersCheck: a report changed after it was built is not
// written unless it still balances.
func TestReportWritersCheck(t *testing.T) {
	r, err := settlement.SettlementReport(testSettlement())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*settlement.Report)
	}{
		{"line net", func(r *settlement.Report) { r.Lines[1].Net-- }},
		{"total", func(r *settlement.Report) { r.Total.Sent++ }},
		{"lines and total off zero", func(r *settlement.Report) {
			r.Lines[0].Received--
			r.Lines[0].Net++
			r.Total.Received--
			r.Total.Net++
		}},
		{"currency", func(r *settlement.Report) { r.Currency = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := r
			c.Lines = append([]settlement.Line(nil), r.Lines...)
			tt.edit(&c)
			var b bytes.Buffer
			if err := c.WriteJSON(&b); err == nil || b.Len() != 0 {
				t.Errorf("WriteJSON: %v, wrote %d bytes", err, b.Len())
			}
			if err := c.WriteCSV(&b); err == nil || b.Len() != 0 {
				t.Errorf("WriteCSV: %v, wrote %d bytes", err, b.Len())
			}
		})
	}
}
