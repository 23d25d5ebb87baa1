package settlement

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
	"github.com/hutong/hutong/store"
)

// Archive is the hub's stored transfers: by completion time and by id.
// store.Store implements it.
type Archive interface {
	Transfers
	// Transfer returns a transfer by id, or an error wrapping
	// store.ErrNotFound when there is none.
	Transfer(ctx context.Context, id ledger.ID) (ledger.Transfer, error)
}

// ReconcileRequest is a participant's records to compare with the hub's.
type ReconcileRequest struct {
	Participant string
	Records     []Record // as ParseRecords returns them
	// From and To bound the completion times swept for transfers missing
	// at the participant, [From, To). A zero From is the earliest
	// completed_at of the records, a zero To just after the latest; when
	// the records give none, both must be set.
	From, To time.Time
	// Funds includes funds in and funds out in the sweep; without it only
	// payments missing at the participant are reported.
	Funds bool
}

// Side is one side's view of a transfer.
type Side struct {
	Kind         string    // hub only: ledger.Kind, as String writes it
	Currency     string    // ISO 4217 code
	Amount       int64     // minor units of Currency
	State        string    // FSPIOP TransferState (the hub's EXPIRED is ABORTED)
	Direction    string    // DirectionSent or DirectionReceived; "" when the participant did not say
	Counterparty string    // hub only: the other participant, or ledger.HubID for funds
	Completed    time.Time // when it became final; zero when not known or not final
}

// Entry is one transfer in a reconciliation, with both sides' views. A side
// is nil when that side does not have the transfer.
type Entry struct {
	TransferID  ledger.ID
	Line        int   // the record's line in the file; 0 when the file does not have it
	Participant *Side // nil when missing at the participant
	Hub         *Side // nil when missing at the hub
}

// Reconciliation is the outcome of comparing a participant's records with
// the hub's transfers. A transfer that differs in several ways is in each
// of the matching lists; a currency mismatch is not also an amount
// mismatch.
type Reconciliation struct {
	Participant          string
	From, To             time.Time // the range swept for transfers missing at the participant
	Matched              []Entry   // equal on both sides
	MissingAtHub         []Entry   // in the file; unknown to the hub, or not the participant's
	MissingAtParticipant []Entry   // committed at the hub in the range; not in the file
	AmountMismatches     []Entry
	StateMismatches      []Entry
	CurrencyMismatches   []Entry
	DirectionMismatches  []Entry
}

// Clean reports whether the records agree with the hub: nothing missing on
// either side and no mismatch.
func (r *Reconciliation) Clean() bool {
	return len(r.MissingAtHub) == 0 && len(r.MissingAtParticipant) == 0 && len(r.AmountMismatches) == 0 &&
		len(r.StateMismatches) == 0 && len(r.CurrencyMismatches) == 0 && len(r.DirectionMismatches) == 0
}

// Reconcile compares req.Records with the hub's transfers in hub (see the
// package comment). To compare with everything final up to now, make the
// store current (writer.Checkpoint) first. It returns an error wrapping
// ErrInvalidRequest for a bad participant id, invalid records or a range it
// cannot tell, and any error of hub other than store.ErrNotFound.
func Reconcile(ctx context.Context, hub Archive, req ReconcileRequest) (Reconciliation, error) {
	p := req.Participant
	if !ledger.ValidParticipantID(p) {
		return Reconciliation{}, invalidRequest("%q is not a participant id", p)
	}
	from, to := req.From, req.To
	inFile := make(map[ledger.ID]struct{}, len(req.Records))
	for i := range req.Records {
		rec := &req.Records[i]
		if err := rec.validate(); err != nil {
			return Reconciliation{}, err
		}
		if _, dup := inFile[rec.TransferID]; dup {
			return Reconciliation{}, invalidRequest("transfer %s is in the records twice", rec.TransferID)
		}
		inFile[rec.TransferID] = struct{}{}
		if c := rec.Completed; !c.IsZero() {
			if req.From.IsZero() && (from.IsZero() || c.Before(from)) {
				from = c
			}
			if req.To.IsZero() && (to.IsZero() || !c.Before(to)) {
				to = c.Add(time.Nanosecond)
			}
		}
	}
	switch {
	case from.IsZero() || to.IsZero():
		return Reconciliation{}, invalidRequest("no range to sweep: give one, or completed_at in the records")
	case !from.Before(to):
		return Reconciliation{}, invalidRequest("the range starts at %s, not before its end %s", timestamp(from), timestamp(to))
	}

	out := Reconciliation{Participant: p, From: from, To: to}
	for i := range req.Records {
		rec := &req.Records[i]
		mine := &Side{Currency: rec.Currency, Amount: rec.Amount, State: rec.State, Direction: rec.Direction, Completed: rec.Completed}
		e := Entry{TransferID: rec.TransferID, Line: rec.Line, Participant: mine}
		t, err := hub.Transfer(ctx, rec.TransferID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			out.MissingAtHub = append(out.MissingAtHub, e)
			continue
		case err != nil:
			return Reconciliation{}, fmt.Errorf("settlement: look up transfer %s: %w", rec.TransferID, err)
		case t.Payer != p && t.Payee != p:
			// Someone else's: say no more than that the hub has none of
			// the participant's by this id.
			out.MissingAtHub = append(out.MissingAtHub, e)
			continue
		}
		e.Hub = hubSide(&t, p)
		matched := true
		mismatch := func(list *[]Entry) {
			*list = append(*list, e)
			matched = false
		}
		if e.Hub.Currency != mine.Currency {
			mismatch(&out.CurrencyMismatches)
		} else if e.Hub.Amount != mine.Amount {
			mismatch(&out.AmountMismatches)
		}
		if e.Hub.State != mine.State {
			mismatch(&out.StateMismatches)
		}
		if mine.Direction != "" && e.Hub.Direction != mine.Direction {
			mismatch(&out.DirectionMismatches)
		}
		if matched {
			out.Matched = append(out.Matched, e)
		}
	}

	err := hub.Completed(ctx, from, to, func(t *ledger.Transfer) error {
		if t.State != ledger.StateCommitted || (t.Payer != p && t.Payee != p) || (t.Kind != ledger.KindPayment && !req.Funds) {
			return nil
		}
		if _, ok := inFile[t.ID]; ok {
			return nil
		}
		out.MissingAtParticipant = append(out.MissingAtParticipant, Entry{TransferID: t.ID, Hub: hubSide(t, p)})
		return nil
	})
	if err != nil {
		return Reconciliation{}, fmt.Errorf("settlement: read transfers completed from %s to %s: %w", timestamp(from), timestamp(to), err)
	}
	return out, nil
}

// validate checks a record built by hand as ParseRecords would.
func (rec *Record) validate() error {
	bad := func(what string) error {
		return invalidRequest("record of transfer %s on line %d: %s", rec.TransferID, rec.Line, what)
	}
	if rec.TransferID.IsZero() {
		return bad("no transfer id")
	}
	if _, ok := money.Lookup(rec.Currency); !ok {
		return bad(fmt.Sprintf("unknown currency %q", rec.Currency))
	}
	if rec.Amount <= 0 {
		return bad("amount not above zero")
	}
	switch rec.State {
	case "RECEIVED", "RESERVED", "COMMITTED", "ABORTED":
	default:
		return bad(fmt.Sprintf("state %q", rec.State))
	}
	switch rec.Direction {
	case "", DirectionSent, DirectionReceived:
	default:
		return bad(fmt.Sprintf("direction %q", rec.Direction))
	}
	return nil
}

// hubSide is the hub's view of t as participant p sees it.
func hubSide(t *ledger.Transfer, p string) *Side {
	s := &Side{Kind: t.Kind.String(), Currency: t.Currency, Amount: t.Amount, State: t.State.FSPIOP(), Completed: t.Completed}
	if t.Payer == p {
		s.Direction, s.Counterparty = DirectionSent, t.Payee
	} else {
		s.Direction, s.Counterparty = DirectionReceived, t.Payer
	}
	return s
}

type sideJSON struct {
	Kind         string `json:"kind,omitempty"`
	Currency     string `json:"currency"`
	Amount       string `json:"amount"`
	State        string `json:"state"`
	Direction    string `json:"direction,omitempty"`
	Counterparty string `json:"counterparty,omitempty"`
	Completed    string `json:"completed,omitempty"`
}

type entryJSON struct {
	TransferID  string    `json:"transferId"`
	Line        int       `json:"line,omitempty"`
	Participant *sideJSON `json:"participant,omitempty"`
	Hub         *sideJSON `json:"hub,omitempty"`
}

type reconciliationJSON struct {
	Participant          string         `json:"participant"`
	From                 string         `json:"from"`
	To                   string         `json:"to"`
	Clean                bool           `json:"clean"`
	Counts               map[string]int `json:"counts"`
	Matched              []entryJSON    `json:"matched"`
	MissingAtHub         []entryJSON    `json:"missingAtHub"`
	MissingAtParticipant []entryJSON    `json:"missingAtParticipant"`
	AmountMismatches     []entryJSON    `json:"amountMismatches"`
	StateMismatches      []entryJSON    `json:"stateMismatches"`
	CurrencyMismatches   []entryJSON    `json:"currencyMismatches"`
	DirectionMismatches  []entryJSON    `json:"directionMismatches"`
}

// WriteJSON writes r as one JSON object:
//
//	{"participant", "from", "to", "clean": bool,
//	 "counts": {"matched", "missingAtHub", "missingAtParticipant",
//	            "amountMismatches", "stateMismatches",
//	            "currencyMismatches", "directionMismatches"},
//	 "matched": [entry], "missingAtHub": [entry], ... one list per count}
//
// where an entry is {"transferId", "line" (when in the file),
// "participant": side (when in the file), "hub": side (when the hub has it
// as the participant's)} and a side is {"kind" (hub only), "currency",
// "amount", "state", "direction", "counterparty" (hub only), "completed"}.
// Amounts are FSPIOP amount strings in the side's currency.
func (r *Reconciliation) WriteJSON(w io.Writer) error {
	lists := r.lists()
	out := reconciliationJSON{
		Participant: r.Participant, From: timestamp(r.From), To: timestamp(r.To), Clean: r.Clean(),
		Counts: make(map[string]int, len(lists)),
	}
	conv := make([][]entryJSON, len(lists))
	for i, l := range lists {
		out.Counts[l.key] = len(*l.entries)
		conv[i] = make([]entryJSON, 0, len(*l.entries))
		for _, e := range *l.entries {
			conv[i] = append(conv[i], entryJSON{TransferID: e.TransferID.String(), Line: e.Line, Participant: toSideJSON(e.Participant), Hub: toSideJSON(e.Hub)})
		}
	}
	out.Matched, out.MissingAtHub, out.MissingAtParticipant = conv[0], conv[1], conv[2]
	out.AmountMismatches, out.StateMismatches, out.CurrencyMismatches, out.DirectionMismatches = conv[3], conv[4], conv[5], conv[6]
	return writeJSON(w, out)
}

type list struct {
	key, title string
	entries    *[]Entry
}

// lists names the lists of r, in the order they are written.
func (r *Reconciliation) lists() []list {
	return []list{
		{"matched", "Matched", &r.Matched},
		{"missingAtHub", "Missing at the hub (in the file; the hub has no such transfer of " + r.Participant + ")", &r.MissingAtHub},
		{"missingAtParticipant", "Missing at " + r.Participant + " (committed at the hub; not in the file)", &r.MissingAtParticipant},
		{"amountMismatches", "Amount mismatches", &r.AmountMismatches},
		{"stateMismatches", "State mismatches", &r.StateMismatches},
		{"currencyMismatches", "Currency mismatches", &r.CurrencyMismatches},
		{"directionMismatches", "Direction mismatches", &r.DirectionMismatches},
	}
}

func toSideJSON(s *Side) *sideJSON {
	if s == nil {
		return nil
	}
	return &sideJSON{
		Kind: s.Kind, Currency: s.Currency, Amount: formatIn(s.Amount, s.Currency), State: s.State,
		Direction: s.Direction, Counterparty: s.Counterparty, Completed: timestamp(s.Completed),
	}
}

// formatIn formats an amount of a currency, in minor units when the
// currency is unknown.
func formatIn(minor int64, code string) string {
	c, ok := money.Lookup(code)
	if !ok {
		return fmt.Sprint(minor)
	}
	return money.FormatAmount(minor, c)
}

// WriteText writes r for people: a summary line, the count of each list,
// then every difference, one per line with both sides; matched transfers
// are counted, not listed.
func (r *Reconciliation) WriteText(w io.Writer) error {
	var b strings.Builder
	n := len(r.MissingAtHub) + len(r.MissingAtParticipant) + len(r.AmountMismatches) + len(r.StateMismatches) +
		len(r.CurrencyMismatches) + len(r.DirectionMismatches)
	verdict := "clean"
	if !r.Clean() {
		verdict = fmt.Sprintf("%d differences", n)
	}
	fmt.Fprintf(&b, "Reconciliation of %s, transfers completed from %s to %s: %s\n\n", r.Participant, timestamp(r.From), timestamp(r.To), verdict)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	lists := r.lists()
	for _, l := range lists {
		fmt.Fprintf(tw, "  %s\t%d\n", strings.SplitN(l.title, " (", 2)[0], len(*l.entries))
	}
	tw.Flush()
	for _, l := range lists[1:] {
		if len(*l.entries) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", l.title)
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, e := range *l.entries {
			line := "-"
			if e.Line != 0 {
				line = fmt.Sprintf("line %d", e.Line)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", line, e.TransferID, describe("file", e.Participant), describe("hub", e.Hub))
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// describe writes one side of an entry for WriteText.
func describe(who string, s *Side) string {
	if s == nil {
		return who + ": none"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s %s", who, s.Currency, formatIn(s.Amount, s.Currency), s.State)
	if s.Direction != "" {
		b.WriteString(" " + s.Direction)
	}
	if s.Counterparty != "" {
		prep := " to "
		if s.Direction == DirectionReceived {
			prep = " from "
		}
		b.WriteString(prep + s.Counterparty)
	}
	if !s.Completed.IsZero() {
		b.WriteString(" at " + timestamp(s.Completed))
	}
	return b.String()
}
