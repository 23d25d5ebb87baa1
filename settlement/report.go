package settlement

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
)

// ReportKind says what a report is of.
type ReportKind uint8

const (
	// ReportWindow is a report of one settlement window.
	ReportWindow ReportKind = 1
	// ReportSettlement is a report of one settlement.
	ReportSettlement ReportKind = 2
)

// String returns WINDOW or SETTLEMENT.
func (k ReportKind) String() string {
	switch k {
	case ReportWindow:
		return "WINDOW"
	case ReportSettlement:
		return "SETTLEMENT"
	}
	return fmt.Sprintf("ReportKind(%d)", uint8(k))
}

// Line is one participant's part in a report, or the report's total.
// Amounts are minor units of the report's currency.
type Line struct {
	Participant   string // "" in the total
	SentCount     int64  // payments it sent
	Sent          int64  // their gross amount
	ReceivedCount int64  // payments it received
	Received      int64  // their gross amount
	Net           int64  // Sent - Received: positive when it owes, negative when owed; 0 in the total
}

// Report is a settlement report of a window or a settlement. Reports built
// by WindowReport and SettlementReport balance: Total is the sum of Lines,
// Total.Net is zero and Total.Sent equals Total.Received.
type Report struct {
	Kind       ReportKind
	ID         uint64       // the window's or the settlement's id
	Currency   string       // ISO 4217 code
	Model      ledger.Model // how the currency settled while the window was open
	State      string       // the window's ledger.WindowState or the settlement's ledger.SettlementState, as String writes it
	Windows    []uint64     // the windows covered, ascending: the window itself in a window report
	Settlement uint64       // window reports: the settlement covering the window, 0 while none does

	Opened, Closed   time.Time // window reports; Closed is zero while the window is open
	Created, Updated time.Time // settlement reports
	Reason           string    // settlement reports: why it was aborted, if it was

	Lines    []Line        // one per participant with a payment, ordered by participant id
	Total    Line          // the sum of Lines
	Position int64         // the sum of the positive nets: what moves at the settlement bank
	Owed     []ledger.Flow // bilateral model only (else nil): what each payer owes each payee after netting the pair, by payer then payee
}

// WindowReport reports on a window from its flows, with what each pair of
// participants owes after netting when the window settles bilaterally.
// w must carry its Flows, as ledger.Ledger.Window and Windows(currency,
// true) return it; a window without them does not add up to its Count and
// Amount and gives ErrUnbalanced.
func WindowReport(w ledger.Window) (Report, error) {
	r := Report{
		Kind: ReportWindow, ID: w.ID, Currency: w.Currency, Model: w.Model, State: w.State.String(),
		Windows: []uint64{w.ID}, Settlement: w.Settlement, Opened: w.Opened, Closed: w.Closed,
	}
	lines := make(map[string]*Line)
	line := func(p string) *Line {
		l, ok := lines[p]
		if !ok {
			l = &Line{Participant: p}
			lines[p] = l
		}
		return l
	}
	var s sum
	for _, f := range w.Flows {
		if f.Count < 0 || f.Amount < 0 {
			return Report{}, fmt.Errorf("%w: window %d: flow %s to %s has count %d and amount %d", ErrUnbalanced, w.ID, f.Payer, f.Payee, f.Count, f.Amount)
		}
		payer, payee := line(f.Payer), line(f.Payee)
		s.add(&payer.SentCount, f.Count)
		s.add(&payer.Sent, f.Amount)
		s.add(&payee.ReceivedCount, f.Count)
		s.add(&payee.Received, f.Amount)
	}
	for _, l := range lines {
		s.sub(&l.Net, l.Sent, l.Received)
		r.Lines = append(r.Lines, *l)
	}
	if s.overflow {
		return Report{}, fmt.Errorf("%w: window %d", ErrOverflow, w.ID)
	}
	slices.SortFunc(r.Lines, func(a, b Line) int { return strings.Compare(a.Participant, b.Participant) })
	if w.Model == ledger.ModelBilateral {
		o, err := owed(w.Flows)
		if err != nil {
			return Report{}, fmt.Errorf("window %d: %w", w.ID, err)
		}
		r.Owed = o
	}
	if err := r.total(); err != nil {
		return Report{}, fmt.Errorf("window %d: %w", w.ID, err)
	}
	if r.Total.SentCount != w.Count || r.Total.Sent != w.Amount {
		return Report{}, fmt.Errorf("%w: window %d: its flows add up to %d payments of %d, the window says %d of %d",
			ErrUnbalanced, w.ID, r.Total.SentCount, r.Total.Sent, w.Count, w.Amount)
	}
	if err := r.check(); err != nil {
		return Report{}, fmt.Errorf("window %d: %w", w.ID, err)
	}
	return r, nil
}

// SettlementReport reports on a settlement from its nets, with its
// bilateral obligations when it settles bilaterally.
func SettlementReport(st ledger.Settlement) (Report, error) {
	r := Report{
		Kind: ReportSettlement, ID: st.ID, Currency: st.Currency, Model: st.Model, State: st.State.String(),
		Windows: slices.Clone(st.Windows), Created: st.Created, Updated: st.Updated, Reason: st.Reason,
	}
	for _, n := range st.Nets {
		r.Lines = append(r.Lines, Line{
			Participant: n.Participant, SentCount: n.SentCount, Sent: n.Sent,
			ReceivedCount: n.ReceivedCount, Received: n.Received, Net: n.Net,
		})
	}
	slices.SortFunc(r.Lines, func(a, b Line) int { return strings.Compare(a.Participant, b.Participant) })
	r.Owed = slices.Clone(st.Owed) // check rejects any under another model
	if st.Model == ledger.ModelBilateral && r.Owed == nil {
		r.Owed = []ledger.Flow{}
	}
	if err := r.total(); err != nil {
		return Report{}, fmt.Errorf("settlement %d: %w", st.ID, err)
	}
	if r.Total.SentCount != st.Count || r.Total.Sent != st.Amount || r.Position != st.Position {
		return Report{}, fmt.Errorf("%w: settlement %d: its nets add up to %d payments of %d and a position of %d, the settlement says %d of %d and %d",
			ErrUnbalanced, st.ID, r.Total.SentCount, r.Total.Sent, r.Position, st.Count, st.Amount, st.Position)
	}
	if err := r.check(); err != nil {
		return Report{}, fmt.Errorf("settlement %d: %w", st.ID, err)
	}
	return r, nil
}

// owed nets the flows of each pair of participants: the result says what
// one owes the other, with the count of payments both ways, ordered by
// payer then payee; pairs that net to zero are left out.
func owed(flows []ledger.Flow) ([]ledger.Flow, error) {
	type pair struct{ lo, hi string }
	pairs := make(map[pair]*ledger.Flow)
	var s sum
	for _, f := range flows {
		k, sign := pair{f.Payer, f.Payee}, int64(1)
		if f.Payee < f.Payer {
			k, sign = pair{f.Payee, f.Payer}, -1
		}
		p, ok := pairs[k]
		if !ok {
			p = &ledger.Flow{Payer: k.lo, Payee: k.hi}
			pairs[k] = p
		}
		s.add(&p.Count, f.Count)
		s.add(&p.Amount, sign*f.Amount)
	}
	if s.overflow {
		return nil, ErrOverflow
	}
	out := []ledger.Flow{}
	for _, p := range pairs {
		switch {
		case p.Amount > 0:
			out = append(out, *p)
		case p.Amount < 0:
			out = append(out, ledger.Flow{Payer: p.Payee, Payee: p.Payer, Count: p.Count, Amount: -p.Amount})
		}
	}
	slices.SortFunc(out, func(a, b ledger.Flow) int {
		if c := strings.Compare(a.Payer, b.Payer); c != 0 {
			return c
		}
		return strings.Compare(a.Payee, b.Payee)
	})
	return out, nil
}

// total fills in Total and Position from Lines.
func (r *Report) total() error {
	var s sum
	r.Total, r.Position = Line{}, 0
	for _, l := range r.Lines {
		s.add(&r.Total.SentCount, l.SentCount)
		s.add(&r.Total.Sent, l.Sent)
		s.add(&r.Total.ReceivedCount, l.ReceivedCount)
		s.add(&r.Total.Received, l.Received)
		s.add(&r.Total.Net, l.Net)
		if l.Net > 0 {
			s.add(&r.Position, l.Net)
		}
	}
	if s.overflow {
		return ErrOverflow
	}
	return nil
}

// check verifies that r balances; see ErrUnbalanced.
func (r *Report) check() error {
	if _, err := currency(r.Currency); err != nil {
		return err
	}
	var s sum
	var want Line
	var position int64
	for i, l := range r.Lines {
		if !ledger.ValidParticipantID(l.Participant) {
			return fmt.Errorf("%w: line %d has participant %q", ErrUnbalanced, i, l.Participant)
		}
		if i > 0 && r.Lines[i-1].Participant >= l.Participant {
			return fmt.Errorf("%w: participant %s is out of order or repeated", ErrUnbalanced, l.Participant)
		}
		if l.SentCount < 0 || l.Sent < 0 || l.ReceivedCount < 0 || l.Received < 0 {
			return fmt.Errorf("%w: participant %s has a negative gross amount or count", ErrUnbalanced, l.Participant)
		}
		var net int64
		s.sub(&net, l.Sent, l.Received)
		if !s.overflow && net != l.Net {
			return fmt.Errorf("%w: participant %s sent %d and received %d, so its net is %d, not %d",
				ErrUnbalanced, l.Participant, l.Sent, l.Received, net, l.Net)
		}
		s.add(&want.SentCount, l.SentCount)
		s.add(&want.Sent, l.Sent)
		s.add(&want.ReceivedCount, l.ReceivedCount)
		s.add(&want.Received, l.Received)
		s.add(&want.Net, l.Net)
		if l.Net > 0 {
			s.add(&position, l.Net)
		}
	}
	if s.overflow {
		return ErrOverflow
	}
	switch {
	case r.Total != want:
		return fmt.Errorf("%w: the total %+v is not the sum of the lines %+v", ErrUnbalanced, r.Total, want)
	case want.Net != 0:
		return fmt.Errorf("%w: the nets sum to %d, not 0", ErrUnbalanced, want.Net)
	case want.Sent != want.Received || want.SentCount != want.ReceivedCount:
		return fmt.Errorf("%w: %d payments of %d sent but %d of %d received", ErrUnbalanced, want.SentCount, want.Sent, want.ReceivedCount, want.Received)
	case r.Position != position:
		return fmt.Errorf("%w: the position is %d, the positive nets sum to %d", ErrUnbalanced, r.Position, position)
	}
	return r.checkOwed()
}

// checkOwed verifies that the bilateral obligations give each participant
// its net: what it owes others less what others owe it.
func (r *Report) checkOwed() error {
	if r.Model != ledger.ModelBilateral {
		if len(r.Owed) != 0 {
			return fmt.Errorf("%w: obligations in a report of a %s currency", ErrUnbalanced, r.Model)
		}
		return nil
	}
	nets := make(map[string]int64, len(r.Lines))
	var s sum
	for _, o := range r.Owed {
		if o.Amount <= 0 || o.Payer == o.Payee {
			return fmt.Errorf("%w: obligation of %s to %s of %d", ErrUnbalanced, o.Payer, o.Payee, o.Amount)
		}
		p, q := nets[o.Payer], nets[o.Payee]
		s.add(&p, o.Amount)
		s.sub(&q, q, o.Amount)
		nets[o.Payer], nets[o.Payee] = p, q
	}
	if s.overflow {
		return ErrOverflow
	}
	for _, l := range r.Lines {
		if nets[l.Participant] != l.Net {
			return fmt.Errorf("%w: participant %s has net %d, its obligations give %d", ErrUnbalanced, l.Participant, l.Net, nets[l.Participant])
		}
		delete(nets, l.Participant)
	}
	for p := range nets {
		return fmt.Errorf("%w: participant %s has obligations but no net", ErrUnbalanced, p)
	}
	return nil
}

type lineJSON struct {
	Participant   string `json:"participant,omitempty"`
	SentCount     int64  `json:"sentCount"`
	Sent          string `json:"sent"`
	ReceivedCount int64  `json:"receivedCount"`
	Received      string `json:"received"`
	Net           string `json:"net"`
}

type owedJSON struct {
	Payer  string `json:"payer"`
	Payee  string `json:"payee"`
	Count  int64  `json:"count"`
	Amount string `json:"amount"`
}

type reportJSON struct {
	Kind         string      `json:"kind"`
	ID           uint64      `json:"id"`
	Currency     string      `json:"currency"`
	Model        string      `json:"model"`
	State        string      `json:"state"`
	Windows      []uint64    `json:"windows"`
	Settlement   uint64      `json:"settlement,omitempty"`
	Opened       string      `json:"opened,omitempty"`
	Closed       string      `json:"closed,omitempty"`
	Created      string      `json:"created,omitempty"`
	Updated      string      `json:"updated,omitempty"`
	Reason       string      `json:"reason,omitempty"`
	Participants []lineJSON  `json:"participants"`
	Total        lineJSON    `json:"total"`
	Position     string      `json:"position"`
	Owed         *[]owedJSON `json:"owed,omitempty"`
}

// WriteJSON writes r as one JSON object:
//
//	{"kind": "WINDOW" | "SETTLEMENT", "id", "currency", "model", "state",
//	 "windows": [ids], "settlement" (window reports, when covered),
//	 "opened", "closed" (window reports), "created", "updated", "reason"
//	 (settlement reports), "participants": [line], "total": line,
//	 "position", "owed": [{"payer", "payee", "count", "amount"}]
//	 (bilateral model only)}
//
// where a line is {"participant", "sentCount", "sent", "receivedCount",
// "received", "net"} ("participant" is left out of the total). Ids and
// counts are JSON numbers; amounts are strings in the FSPIOP form, a net
// owed with a leading "-". It returns an error wrapping ErrUnbalanced,
// writing nothing, if r does not balance.
func (r *Report) WriteJSON(w io.Writer) error {
	if err := r.check(); err != nil {
		return err
	}
	c, _ := currency(r.Currency)
	out := reportJSON{
		Kind: r.Kind.String(), ID: r.ID, Currency: r.Currency, Model: r.Model.String(), State: r.State,
		Windows: r.Windows, Settlement: r.Settlement, Reason: r.Reason,
		Opened: timestamp(r.Opened), Closed: timestamp(r.Closed), Created: timestamp(r.Created), Updated: timestamp(r.Updated),
		Participants: make([]lineJSON, 0, len(r.Lines)), Total: toLineJSON(r.Total, c), Position: money.FormatAmount(r.Position, c),
	}
	if out.Windows == nil {
		out.Windows = []uint64{}
	}
	for _, l := range r.Lines {
		out.Participants = append(out.Participants, toLineJSON(l, c))
	}
	if r.Model == ledger.ModelBilateral {
		owed := make([]owedJSON, 0, len(r.Owed))
		for _, o := range r.Owed {
			owed = append(owed, owedJSON{Payer: o.Payer, Payee: o.Payee, Count: o.Count, Amount: money.FormatAmount(o.Amount, c)})
		}
		out.Owed = &owed
	}
	return writeJSON(w, out)
}

func toLineJSON(l Line, c money.Currency) lineJSON {
	return lineJSON{
		Participant: l.Participant, SentCount: l.SentCount, Sent: money.FormatAmount(l.Sent, c),
		ReceivedCount: l.ReceivedCount, Received: money.FormatAmount(l.Received, c), Net: money.FormatAmount(l.Net, c),
	}
}

// reportHeader is the header row of a report's CSV form.
var reportHeader = []string{"participant", "currency", "sent_count", "sent", "received_count", "received", "net"}

// WriteCSV writes r as CSV: a header row, one row per participant and a
// final TOTAL row (see the package comment). It returns an error wrapping
// ErrUnbalanced, writing nothing, if r does not balance.
func (r *Report) WriteCSV(w io.Writer) error {
	if err := r.check(); err != nil {
		return err
	}
	c, _ := currency(r.Currency)
	cw := csv.NewWriter(w)
	row := func(name string, l Line) []string {
		return []string{
			name, r.Currency,
			strconv.FormatInt(l.SentCount, 10), money.FormatAmount(l.Sent, c),
			strconv.FormatInt(l.ReceivedCount, 10), money.FormatAmount(l.Received, c),
			money.FormatAmount(l.Net, c),
		}
	}
	rows := [][]string{reportHeader}
	for _, l := range r.Lines {
		rows = append(rows, row(l.Participant, l))
	}
	rows = append(rows, row("TOTAL", r.Total))
	return cw.WriteAll(rows)
}

// sum accumulates with overflow checks; overflow records any failure.
type sum struct{ overflow bool }

func (s *sum) add(dst *int64, v int64) {
	r, ok := money.Add(*dst, v)
	s.overflow = s.overflow || !ok
	*dst = r
}

func (s *sum) sub(dst *int64, a, b int64) {
	r, ok := money.Sub(a, b)
	s.overflow = s.overflow || !ok
	*dst = r
}

// currency looks up a currency code.
func currency(code string) (money.Currency, error) {
	c, ok := money.Lookup(code)
	if !ok {
		return money.Currency{}, invalidRequest("unknown currency %q", code)
	}
	return c, nil
}

// timestamp formats t for JSON and CSV, "" when zero.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
