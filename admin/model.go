package admin

import (
	"encoding/base64"
	"math"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
	"github.com/hutong/hutong/writer"
)

// The JSON the API answers with. Field names and formats are part of the
// API: openapi.yaml describes each of these types.

// participantJSON is a participant with its currencies and net debit caps.
type participantJSON struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Status     string         `json:"status"`
	Created    string         `json:"created"`
	Currencies []currencyJSON `json:"currencies"`
}

type currencyJSON struct {
	Currency string `json:"currency"`
	NDC      string `json:"ndc"`
}

func toParticipant(p *ledger.Participant) participantJSON {
	out := participantJSON{
		ID:         p.ID,
		Name:       p.Name,
		Status:     p.Status.String(),
		Created:    timestamp(p.Created),
		Currencies: make([]currencyJSON, 0, len(p.Currencies)),
	}
	for _, c := range p.Currencies {
		out.Currencies = append(out.Currencies, currencyJSON{Currency: c.Currency, NDC: format(c.NDC, c.Currency)})
	}
	return out
}

type participantList struct {
	Participants []participantJSON `json:"participants"`
}

// transferJSON is a transfer of any kind.
type transferJSON struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	State       string `json:"state"`
	FSPIOPState string `json:"fspiopState"`
	Payer       string `json:"payer"`
	Payee       string `json:"payee"`
	Currency    string `json:"currency"`
	Amount      string `json:"amount"`
	Condition   string `json:"condition,omitempty"`
	Fulfilment  string `json:"fulfilment,omitempty"`
	Expiry      string `json:"expiry,omitempty"`
	Created     string `json:"created"`
	Completed   string `json:"completed,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

func toTransfer(t *ledger.Transfer) transferJSON {
	out := transferJSON{
		ID:          t.ID.String(),
		Kind:        t.Kind.String(),
		State:       t.State.String(),
		FSPIOPState: t.State.FSPIOP(),
		Payer:       t.Payer,
		Payee:       t.Payee,
		Currency:    t.Currency,
		Amount:      format(t.Amount, t.Currency),
		Created:     timestamp(t.Created),
		Reason:      t.Reason,
	}
	if t.Condition != ([32]byte{}) {
		out.Condition = base64.RawURLEncoding.EncodeToString(t.Condition[:])
	}
	if t.Fulfilment != ([32]byte{}) {
		out.Fulfilment = base64.RawURLEncoding.EncodeToString(t.Fulfilment[:])
	}
	if !t.Expiry.IsZero() {
		out.Expiry = timestamp(t.Expiry)
	}
	if !t.Completed.IsZero() {
		out.Completed = timestamp(t.Completed)
	}
	return out
}

type transferPage struct {
	Transfers []transferJSON `json:"transfers"`
	Next      string         `json:"next"`
}

// accountJSON is one account's totals. Balance is debits minus credits
// posted: for POSITION what the participant owes the scheme, for SETTLEMENT
// the collateral it holds. Reserved is the pending debits, PendingCredits the
// pending credits (on SETTLEMENT: funds out reserved).
type accountJSON struct {
	Participant    string `json:"participant"`
	Type           string `json:"type"`
	Currency       string `json:"currency"`
	Balance        string `json:"balance"`
	Reserved       string `json:"reserved"`
	PendingCredits string `json:"pendingCredits"`
	DebitsPosted   string `json:"debitsPosted"`
	CreditsPosted  string `json:"creditsPosted"`
	// POSITION only: the net debit cap, and what of it is left for new
	// payments (NDC - position - reserved).
	NDC      string `json:"ndc,omitempty"`
	Headroom string `json:"headroom,omitempty"`
	// SETTLEMENT only: balance less funds out reserved.
	Available string `json:"available,omitempty"`
}

// toAccount converts a; ndc is the participant's cap in a's currency, used
// for a POSITION account.
func toAccount(a *ledger.Account, ndc int64) accountJSON {
	c := a.Currency
	out := accountJSON{
		Participant:    a.Participant,
		Type:           a.Type.String(),
		Currency:       c,
		Balance:        format(a.Balance(), c),
		Reserved:       format(a.DebitsPending, c),
		PendingCredits: format(a.CreditsPending, c),
		DebitsPosted:   format(a.DebitsPosted, c),
		CreditsPosted:  format(a.CreditsPosted, c),
	}
	switch a.Type {
	case ledger.AccountPosition:
		out.NDC = format(ndc, c)
		out.Headroom = format(headroom(ndc, a), c)
	case ledger.AccountSettlement:
		out.Available = format(available(a), c)
	}
	return out
}

type accountList struct {
	Participant string        `json:"participant"`
	Accounts    []accountJSON `json:"accounts"`
}

// positionJSON is one participant's standing in a currency, for the hub
// operator: its POSITION and SETTLEMENT accounts side by side.
type positionJSON struct {
	Participant         string `json:"participant"`
	Status              string `json:"status"`
	Position            string `json:"position"`
	Reserved            string `json:"reserved"`
	PendingCredits      string `json:"pendingCredits"`
	NDC                 string `json:"ndc"`
	Headroom            string `json:"headroom"`
	SettlementBalance   string `json:"settlementBalance"`
	SettlementReserved  string `json:"settlementReserved"`
	SettlementAvailable string `json:"settlementAvailable"`
}

func toPosition(p *ledger.Participant, ndc int64, pos, settle *ledger.Account) positionJSON {
	c := pos.Currency
	return positionJSON{
		Participant:         p.ID,
		Status:              p.Status.String(),
		Position:            format(pos.Balance(), c),
		Reserved:            format(pos.DebitsPending, c),
		PendingCredits:      format(pos.CreditsPending, c),
		NDC:                 format(ndc, c),
		Headroom:            format(headroom(ndc, pos), c),
		SettlementBalance:   format(settle.Balance(), c),
		SettlementReserved:  format(settle.CreditsPending, c),
		SettlementAvailable: format(available(settle), c),
	}
}

type positionReport struct {
	Currency     string         `json:"currency"`
	Participants []positionJSON `json:"participants"`
	Hub          []accountJSON  `json:"hub"`
}

type statsJSON struct {
	Batches    uint64 `json:"batches"`
	Commands   uint64 `json:"commands"`
	Applied    uint64 `json:"applied"`
	Expired    uint64 `json:"expired"`
	MaxBatch   uint64 `json:"maxBatch"`
	Pending    int64  `json:"pending"`
	Head       uint64 `json:"head"`
	Checkpoint uint64 `json:"checkpoint"`
}

func toStats(s writer.Stats) statsJSON {
	return statsJSON{
		Batches:    s.Batches,
		Commands:   s.Commands,
		Applied:    s.Applied,
		Expired:    s.Expired,
		MaxBatch:   s.MaxBatch,
		Pending:    s.Pending,
		Head:       s.Head,
		Checkpoint: s.Checkpoint,
	}
}

// headroom is what is left of the net debit cap for new payments.
func headroom(ndc int64, pos *ledger.Account) int64 {
	return satSub(satSub(ndc, pos.Balance()), pos.DebitsPending)
}

// available is the settlement balance less the funds out reserved.
func available(settle *ledger.Account) int64 {
	return satSub(settle.Balance(), settle.CreditsPending)
}

// satSub is a - b, held at the int64 limits rather than wrapping: a report
// may show an extreme figure but never a wrong sign.
func satSub(a, b int64) int64 {
	if d, ok := money.Sub(a, b); ok {
		return d
	}
	if b < 0 {
		return math.MaxInt64
	}
	return math.MinInt64
}

// format writes minor units of the currency code as an FSPIOP amount, with
// a leading "-" when negative.
func format(minor int64, code string) string {
	c, ok := money.Lookup(code)
	if !ok {
		// The ledger enables only known currencies; show minor units
		// rather than fail a report.
		c = money.Currency{Code: code}
	}
	return money.FormatAmount(minor, c)
}

func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
