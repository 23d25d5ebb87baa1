package admin

import (
	"encoding/base64"
	"time"

	"github.com/hutong/hutong/admin/adminapi"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
	"github.com/hutong/hutong/operate"
	"github.com/hutong/hutong/writer"
)

// Converters from the ledger's values to the API's JSON, adminapi's types.
// Field names and formats are part of the API: openapi.yaml describes each
// of these types.

func toParticipant(p *ledger.Participant) adminapi.Participant {
	out := adminapi.Participant{
		ID:         p.ID,
		Name:       p.Name,
		Status:     p.Status.String(),
		Created:    timestamp(p.Created),
		Currencies: make([]adminapi.ParticipantCurrency, 0, len(p.Currencies)),
	}
	for _, c := range p.Currencies {
		out.Currencies = append(out.Currencies, adminapi.ParticipantCurrency{Currency: c.Currency, NDC: format(c.NDC, c.Currency)})
	}
	return out
}

func toTransfer(t *ledger.Transfer) adminapi.Transfer {
	out := adminapi.Transfer{
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

// toAccount converts a; ndc is the participant's cap in a's currency, used
// for a POSITION account.
func toAccount(a *ledger.Account, ndc int64) adminapi.Account {
	c := a.Currency
	out := adminapi.Account{
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
		out.Headroom = format(operate.Headroom(ndc, a), c)
	case ledger.AccountSettlement:
		out.Available = format(operate.Available(a), c)
	}
	return out
}

func toPosition(p *operate.Position) adminapi.Position {
	pos, settle := &p.Position, &p.Settlement
	c := pos.Currency
	return adminapi.Position{
		Participant:         p.Participant.ID,
		Status:              p.Participant.Status.String(),
		Position:            format(pos.Balance(), c),
		Reserved:            format(pos.DebitsPending, c),
		PendingCredits:      format(pos.CreditsPending, c),
		NDC:                 format(p.NDC, c),
		Headroom:            format(p.Headroom(), c),
		SettlementBalance:   format(settle.Balance(), c),
		SettlementReserved:  format(settle.CreditsPending, c),
		SettlementAvailable: format(p.Available(), c),
	}
}

func toStats(s writer.Stats) adminapi.Stats {
	return adminapi.Stats{
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
