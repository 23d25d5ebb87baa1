package operate

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"math"
	"slices"
	"strconv"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
)

// Account is one of a participant's accounts with its net debit cap in the
// account's currency (used for a POSITION account).
type Account struct {
	ledger.Account
	NDC int64
}

// Headroom is what is left of the net debit cap for new payments: NDC less
// the position and the reserved payments. It means something for a
// POSITION account only.
func (a *Account) Headroom() int64 { return Headroom(a.NDC, &a.Account) }

// Available is the settlement balance less the funds out reserved. It
// means something for a SETTLEMENT account only.
func (a *Account) Available() int64 { return Available(&a.Account) }

// Headroom is what is left of ndc for new payments given the POSITION
// account pos, held at the int64 limits rather than wrapping.
func Headroom(ndc int64, pos *ledger.Account) int64 {
	return satSub(satSub(ndc, pos.Balance()), pos.DebitsPending)
}

// Available is the balance of the SETTLEMENT account settle less the funds
// out reserved on it, held at the int64 limits rather than wrapping.
func Available(settle *ledger.Account) int64 {
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

// Accounts returns a participant with its POSITION and SETTLEMENT accounts
// in each of its currencies, in the order of its currencies. It returns a
// *ParticipantNotFoundError for an unknown participant.
func (o *Workflows) Accounts(ctx context.Context, participant string) (ledger.Participant, []Account, error) {
	var p ledger.Participant
	var found bool
	var accounts []Account
	err := o.ledger.Query(ctx, func(l *ledger.Ledger) {
		if p, found = l.Participant(participant); !found {
			return
		}
		for _, c := range p.Currencies {
			for _, t := range []ledger.AccountType{ledger.AccountPosition, ledger.AccountSettlement} {
				if a, ok := l.Account(ledger.AccountKey{Participant: participant, Currency: c.Currency, Type: t}); ok {
					accounts = append(accounts, Account{Account: a, NDC: c.NDC})
				}
			}
		}
	})
	if err != nil {
		return p, nil, err
	}
	if !found {
		return p, nil, &ParticipantNotFoundError{ID: participant}
	}
	return p, accounts, nil
}

// Position is one participant's standing in a currency: its POSITION and
// SETTLEMENT accounts side by side, with its net debit cap.
type Position struct {
	Participant ledger.Participant
	NDC         int64
	Position    ledger.Account
	Settlement  ledger.Account
}

// Headroom is what is left of the net debit cap for new payments.
func (p *Position) Headroom() int64 { return Headroom(p.NDC, &p.Position) }

// Available is the settlement balance less the funds out reserved.
func (p *Position) Available() int64 { return Available(&p.Settlement) }

// Positions is every participant's standing in one currency, and the hub's
// own accounts in it.
type Positions struct {
	Currency     string
	Participants []Position       // by participant id
	Hub          []ledger.Account // multilateral settlement, reconciliation, fees: those that exist
}

// Positions returns the positions of every participant that has the
// currency enabled.
func (o *Workflows) Positions(ctx context.Context, currency string) (Positions, error) {
	out := Positions{Currency: currency}
	err := o.ledger.Query(ctx, func(l *ledger.Ledger) {
		for _, p := range l.Participants() {
			limit, ok := p.Limit(currency)
			if !ok {
				continue
			}
			pos, ok1 := l.Account(ledger.AccountKey{Participant: p.ID, Currency: currency, Type: ledger.AccountPosition})
			settle, ok2 := l.Account(ledger.AccountKey{Participant: p.ID, Currency: currency, Type: ledger.AccountSettlement})
			if ok1 && ok2 {
				out.Participants = append(out.Participants, Position{Participant: p, NDC: limit.NDC, Position: pos, Settlement: settle})
			}
		}
		for _, t := range []ledger.AccountType{ledger.AccountHubMultilateral, ledger.AccountHubReconciliation, ledger.AccountHubFees} {
			if a, ok := l.Account(ledger.AccountKey{Participant: ledger.HubID, Currency: currency, Type: t}); ok {
				out.Hub = append(out.Hub, a)
			}
		}
	})
	if err != nil {
		return Positions{}, err
	}
	slices.SortFunc(out.Participants, func(a, b Position) int { return cmp.Compare(a.Participant.ID, b.Participant.ID) })
	return out, nil
}

// SetNDC sets a participant's net debit cap in a currency, in minor units,
// and returns the participant. It returns a *ParticipantNotFoundError or a
// *CurrencyNotEnabledError for a participant or currency the ledger does
// not have.
func (o *Workflows) SetNDC(ctx context.Context, participant, currency string, ndc int64) (ledger.Participant, error) {
	res, err := o.ledger.Submit(ctx, ledger.Command{Op: ledger.OpSetNDC, Participant: participant, Currency: currency, Amount: ndc})
	if err != nil {
		return ledger.Participant{}, refine(err, participant, currency)
	}
	return res.Participant, nil
}

// refine names the participant and currency in the ledger refusals that
// are about them.
func refine(err error, participant, currency string) error {
	switch {
	case errors.Is(err, ledger.ErrParticipantNotFound):
		return &ParticipantNotFoundError{ID: participant}
	case errors.Is(err, ledger.ErrCurrencyNotEnabled):
		return &CurrencyNotEnabledError{Participant: participant, Currency: currency}
	}
	return err
}

// Funds is a movement of collateral: into a participant's settlement
// account, or reserved to leave it.
type Funds struct {
	ID          ledger.ID // the movement's id: a retry with the same id and content is applied once
	Participant string
	Currency    string
	Amount      int64 // minor units of Currency, > 0
}

// Moved is the transfer a funds movement made, and whether it was made by
// an earlier call with the same id and content.
type Moved struct {
	Transfer  ledger.Transfer
	Duplicate bool
}

// FundsIn records collateral deposited at the settlement bank. A retry
// with the same f returns the transfer with Duplicate set; another movement
// under f.ID is refused with a *ModifiedRequestError.
func (o *Workflows) FundsIn(ctx context.Context, f Funds) (Moved, error) {
	return o.funds(ctx, ledger.OpFundsIn, f)
}

// FundsOut reserves collateral to withdraw, to be committed by
// CommitFundsOut once it has left the settlement bank or released by
// AbortFundsOut. It returns a *CollateralError when what would be left
// would not cover the participant's position and reserved payments; and is
// safe to repeat as FundsIn is.
func (o *Workflows) FundsOut(ctx context.Context, f Funds) (Moved, error) {
	return o.funds(ctx, ledger.OpFundsOutReserve, f)
}

func (o *Workflows) funds(ctx context.Context, op ledger.Op, f Funds) (Moved, error) {
	cmd := ledger.Command{Op: op, ID: f.ID, Participant: f.Participant, Currency: f.Currency, Amount: f.Amount}
	cmd.Fingerprint = fingerprint(&cmd)
	res, err := o.ledger.Submit(ctx, cmd)
	switch {
	case err == nil:
	case errors.Is(err, ledger.ErrModifiedRequest):
		return Moved{}, &ModifiedRequestError{ID: f.ID}
	case errors.Is(err, ledger.ErrInsufficientLiquidity) && op == ledger.OpFundsOutReserve:
		return Moved{}, &CollateralError{Participant: f.Participant, Currency: f.Currency, Amount: f.Amount}
	default:
		return Moved{}, refine(err, f.Participant, f.Currency)
	}
	return Moved{Transfer: res.Transfer, Duplicate: res.Duplicate}, nil
}

// fingerprint is the SHA-256 of the fields that make a funds movement what
// it is, so that a resend under the same id is recognised as the same
// request and anything else as a different one.
func fingerprint(c *ledger.Command) [32]byte {
	// Participant ids and currency codes cannot hold a NUL, so the fields
	// cannot run into each other.
	b := make([]byte, 0, 96)
	b = append(b, "hutong admin v1\x00"...)
	b = append(b, c.Op.String()...)
	b = append(b, 0)
	b = append(b, c.ID.String()...)
	b = append(b, 0)
	b = append(b, c.Participant...)
	b = append(b, 0)
	b = append(b, c.Currency...)
	b = append(b, 0)
	b = strconv.AppendInt(b, c.Amount, 10)
	return sha256.Sum256(b)
}

// CommitFundsOut commits a reserved funds out: the collateral has left the
// settlement bank. Committing it again returns it as it is. It returns a
// *TransferNotFoundError, a *NotFundsOutError for a transfer of another
// kind and a *FundsOutFinalError for one that was aborted.
func (o *Workflows) CommitFundsOut(ctx context.Context, id ledger.ID) (ledger.Transfer, error) {
	return o.finishFundsOut(ctx, ledger.Command{Op: ledger.OpFundsOutCommit, ID: id})
}

// AbortFundsOut releases a reserved funds out, keeping reason: the
// collateral stays. It returns errors as CommitFundsOut does, and a
// *ReasonTooLongError for a reason longer than ledger.MaxReason.
func (o *Workflows) AbortFundsOut(ctx context.Context, id ledger.ID, reason string) (ledger.Transfer, error) {
	if len(reason) > ledger.MaxReason {
		return ledger.Transfer{}, &ReasonTooLongError{Len: len(reason), Max: ledger.MaxReason}
	}
	return o.finishFundsOut(ctx, ledger.Command{Op: ledger.OpFundsOutAbort, ID: id, Reason: reason})
}

func (o *Workflows) finishFundsOut(ctx context.Context, cmd ledger.Command) (ledger.Transfer, error) {
	res, err := o.ledger.Submit(ctx, cmd)
	switch {
	case err == nil:
	case errors.Is(err, ledger.ErrTransferNotFound):
		return ledger.Transfer{}, &TransferNotFoundError{ID: cmd.ID}
	case errors.Is(err, ledger.ErrWrongKind):
		return ledger.Transfer{}, &NotFundsOutError{ID: cmd.ID}
	case errors.Is(err, ledger.ErrTransferFinal):
		return ledger.Transfer{}, &FundsOutFinalError{ID: cmd.ID}
	default:
		return ledger.Transfer{}, err
	}
	return res.Transfer, nil
}
