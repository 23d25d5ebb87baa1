package operate

import (
	"context"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/settlement"
	"github.com/hutong/hutong/store"
)

// WindowReport returns the settlement report of a window: each
// participant's gross sent and received and its net. It returns a
// *WindowNotFoundError for an unknown window, and settlement's error for a
// report that would not net to zero.
func (o *Workflows) WindowReport(ctx context.Context, id uint64) (settlement.Report, error) {
	w, err := o.Window(ctx, id)
	if err != nil {
		return settlement.Report{}, err
	}
	return settlement.WindowReport(w)
}

// SettlementReport returns the settlement report of a settlement. It
// returns a *SettlementNotFoundError for an unknown settlement, and
// settlement's error for a report that would not net to zero.
func (o *Workflows) SettlementReport(ctx context.Context, id uint64) (settlement.Report, error) {
	st, err := o.Settlement(ctx, id)
	if err != nil {
		return settlement.Report{}, err
	}
	return settlement.SettlementReport(st)
}

// StatementRequest asks for the statement of one of a participant's
// accounts.
type StatementRequest struct {
	Participant string
	Currency    string
	Account     ledger.AccountType // ledger.AccountPosition or ledger.AccountSettlement
	// From and To bound the movements, From <= time < To. A zero From is
	// when the participant was created; a zero To, or one after now, is
	// now: a statement of the future would print a closing balance that
	// later movements make false.
	From, To time.Time
}

// Statement is a statement with the time it was built at.
type Statement struct {
	settlement.Statement
	Built time.Time // the clock's now when it was built, in UTC
}

// Statement builds the statement req asks for, of every movement final
// when it is called. It returns a *ParticipantNotFoundError, a
// *CurrencyNotEnabledError when the participant has no accounts in the
// currency, an *EmptyRangeError when the range holds no time, and an error
// wrapping settlement.ErrInvalidRequest for a request settlement cannot
// answer.
func (o *Workflows) Statement(ctx context.Context, req StatementRequest) (Statement, error) {
	// Make the store hold every transfer final so far, then read the
	// settlements: any that committed before now is then in both.
	var out Statement
	err := o.ledger.Read(ctx, func(r store.Reader) error {
		var err error
		out, err = o.statement(ctx, r, req)
		return err
	})
	return out, err
}

// statement builds the statement req asks for from a store that holds
// every transfer final so far.
func (o *Workflows) statement(ctx context.Context, archive settlement.Archive, req StatementRequest) (Statement, error) {
	now := o.clock.Now().UTC()
	from, to := req.From, req.To
	if to.IsZero() || to.After(now) {
		to = now
	}
	var p ledger.Participant
	var found bool
	var settlements []ledger.Settlement
	var windows []ledger.Window
	err := o.ledger.Query(ctx, func(l *ledger.Ledger) {
		if p, found = l.Participant(req.Participant); !found {
			return
		}
		settlements, windows = l.Settlements(), l.Windows(req.Currency, false)
	})
	if err != nil {
		return Statement{}, err
	}
	if !found {
		return Statement{}, &ParticipantNotFoundError{ID: req.Participant}
	}
	if _, ok := p.Limit(req.Currency); !ok {
		return Statement{}, &CurrencyNotEnabledError{Participant: req.Participant, Currency: req.Currency}
	}
	if from.IsZero() {
		// Nothing moves an account before its participant exists.
		from = p.Created.UTC()
	}
	if !from.Before(to) {
		return Statement{}, &EmptyRangeError{From: from, To: to}
	}
	st, err := settlement.BuildStatement(ctx,
		settlement.Source{Transfers: archive, Settlements: settlements, Windows: windows},
		settlement.StatementRequest{Participant: req.Participant, Currency: req.Currency, Account: req.Account, From: from, To: to})
	if err != nil {
		return Statement{}, err
	}
	return Statement{Statement: st, Built: now}, nil
}

// Reconcile compares a participant's records with the hub's transfers
// final when it is called (see settlement.Reconcile for req). It returns a
// *ParticipantNotFoundError for an unknown participant and an error
// wrapping settlement.ErrInvalidRequest for records or a range settlement
// cannot compare.
func (o *Workflows) Reconcile(ctx context.Context, req settlement.ReconcileRequest) (settlement.Reconciliation, error) {
	if _, err := o.participant(ctx, req.Participant); err != nil {
		return settlement.Reconciliation{}, err
	}
	var out settlement.Reconciliation
	err := o.ledger.Read(ctx, func(r store.Reader) error {
		var err error
		out, err = settlement.Reconcile(ctx, r, req)
		return err
	})
	return out, err
}
