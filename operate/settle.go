package operate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hutong/hutong/ledger"
)

// CurrencyModel is a currency's settlement model and the window open in it.
type CurrencyModel struct {
	Currency string
	Model    ledger.Model
	Window   uint64 // the open window's id
}

// Models returns every currency's settlement model, by currency code.
func (o *Workflows) Models(ctx context.Context) ([]CurrencyModel, error) {
	var open []ledger.Window
	err := o.ledger.Query(ctx, func(l *ledger.Ledger) {
		for _, w := range l.Windows("", false) {
			if w.State == ledger.WindowOpen {
				open = append(open, w)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(open, func(a, b ledger.Window) int { return cmp.Compare(a.Currency, b.Currency) })
	out := make([]CurrencyModel, 0, len(open))
	for _, w := range open {
		out = append(out, CurrencyModel{Currency: w.Currency, Model: w.Model, Window: w.ID})
	}
	return out, nil
}

// SetModel sets a currency's settlement model and returns the model now in
// force with the window open in the currency. It returns a *NoWindowError
// for a currency no participant has enabled.
func (o *Workflows) SetModel(ctx context.Context, currency string, m ledger.Model) (CurrencyModel, error) {
	res, err := o.ledger.Submit(ctx, ledger.Command{Op: ledger.OpSetModel, Currency: currency, Model: m})
	if errors.Is(err, ledger.ErrNoWindow) {
		return CurrencyModel{}, &NoWindowError{Currency: currency}
	}
	if err != nil {
		return CurrencyModel{}, err
	}
	return CurrencyModel{Currency: currency, Model: res.Window.Model, Window: res.Window.ID}, nil
}

// WindowFilter selects windows; a zero field selects every window.
type WindowFilter struct {
	Currency string
	State    ledger.WindowState
}

// Windows returns the windows f selects, by id, without their flows.
func (o *Workflows) Windows(ctx context.Context, f WindowFilter) ([]ledger.Window, error) {
	var ws []ledger.Window
	if err := o.ledger.Query(ctx, func(l *ledger.Ledger) { ws = l.Windows(f.Currency, false) }); err != nil {
		return nil, err
	}
	if f.State != 0 {
		ws = slices.DeleteFunc(ws, func(w ledger.Window) bool { return w.State != f.State })
	}
	return ws, nil
}

// Window returns a window with its flows sorted by payer and payee, or a
// *WindowNotFoundError.
func (o *Workflows) Window(ctx context.Context, id uint64) (ledger.Window, error) {
	var w ledger.Window
	var ok bool
	if err := o.ledger.Query(ctx, func(l *ledger.Ledger) { w, ok = l.Window(id) }); err != nil {
		return w, err
	}
	if !ok {
		return w, &WindowNotFoundError{ID: id}
	}
	sortFlows(w.Flows)
	return w, nil
}

// sortFlows orders flows by payer, then payee: an open window keeps its
// flows in arrival order.
func sortFlows(fs []ledger.Flow) {
	slices.SortFunc(fs, func(a, b ledger.Flow) int {
		return cmp.Or(cmp.Compare(a.Payer, b.Payer), cmp.Compare(a.Payee, b.Payee))
	})
}

// ClosedWindow is what a close did: the window it closed, with its flows,
// and the window it opened in its place.
type ClosedWindow struct {
	Closed ledger.Window
	Next   ledger.Window // without its flows
}

// CloseWindow closes the window id and opens the next one of its currency.
// It returns a *WindowNotFoundError for an unknown window and a
// *WindowNotOpenError for one already closed, so that of two concurrent
// closes of a window one wins and a retry is safe.
func (o *Workflows) CloseWindow(ctx context.Context, id uint64) (ClosedWindow, error) {
	return o.close(ctx, ledger.Command{Op: ledger.OpCloseWindow, Window: id})
}

// CloseOpenWindow closes whichever window is open in currency and opens the
// next. Each call closes a new window: a caller that must retry should
// close by id. It returns a *NoWindowError for a currency no participant
// has enabled.
func (o *Workflows) CloseOpenWindow(ctx context.Context, currency string) (ClosedWindow, error) {
	return o.close(ctx, ledger.Command{Op: ledger.OpCloseWindow, Currency: currency})
}

func (o *Workflows) close(ctx context.Context, cmd ledger.Command) (ClosedWindow, error) {
	res, err := o.ledger.Submit(ctx, cmd)
	switch {
	case err == nil:
	case errors.Is(err, ledger.ErrNoWindow):
		return ClosedWindow{}, &NoWindowError{Currency: cmd.Currency}
	case errors.Is(err, ledger.ErrWindowNotFound):
		return ClosedWindow{}, &WindowNotFoundError{ID: cmd.Window}
	case errors.Is(err, ledger.ErrWindowNotOpen):
		return ClosedWindow{}, &WindowNotOpenError{ID: cmd.Window}
	default:
		return ClosedWindow{}, err
	}
	closed := *res.Window
	sortFlows(closed.Flows)
	// The command opened the next window of the currency, and no window of
	// the currency opened after the closed one before it: the next is the
	// first of the currency with a higher id.
	var next ledger.Window
	var found bool
	err = o.ledger.Query(ctx, func(l *ledger.Ledger) {
		for _, w := range l.Windows(closed.Currency, false) {
			if w.ID > closed.ID {
				next, found = w, true
				return
			}
		}
	})
	if err != nil {
		return ClosedWindow{}, err
	}
	if !found {
		return ClosedWindow{}, fmt.Errorf("operate: no window of %s opened after window %d closed", closed.Currency, closed.ID)
	}
	return ClosedWindow{Closed: closed, Next: next}, nil
}

// CreateSettlement creates a settlement of the closed windows ids under
// their model. currency, when not "", is the currency every window must be
// in. When the ledger refuses, the error names the window that stopped it:
// a *WindowNotFoundError, *WindowNotClosedError, *MixedWindowsError or
// *GrossWindowError.
func (o *Workflows) CreateSettlement(ctx context.Context, ids []uint64, currency string) (ledger.Settlement, error) {
	res, err := o.ledger.Submit(ctx, ledger.Command{Op: ledger.OpCreateSettlement, Windows: ids, Currency: currency})
	if err != nil {
		return ledger.Settlement{}, o.refineCreate(ctx, err, ids, currency)
	}
	return *res.Settlement, nil
}

// refineCreate says which window stopped a settlement being created. Windows
// are never removed and their currency and model never change, so the
// ledger's state read after the refusal still shows why.
func (o *Workflows) refineCreate(ctx context.Context, err error, ids []uint64, currency string) error {
	var le *ledger.Error
	if !errors.As(err, &le) {
		return err
	}
	var ws []ledger.Window
	var missing uint64
	qerr := o.ledger.Query(ctx, func(l *ledger.Ledger) {
		for _, id := range ids {
			w, ok := l.Window(id)
			if !ok {
				missing = id
				return
			}
			w.Flows = nil
			ws = append(ws, w)
		}
	})
	if qerr != nil {
		return err
	}
	switch le {
	case ledger.ErrWindowNotFound:
		if missing != 0 {
			return &WindowNotFoundError{ID: missing}
		}
	case ledger.ErrWindowNotClosed:
		for _, w := range ws {
			if w.State != ledger.WindowClosed {
				return &WindowNotClosedError{Window: w}
			}
		}
	case ledger.ErrMixedWindows:
		for _, w := range ws {
			first := ws[0]
			if (currency != "" && w.Currency != currency) || w.Currency != first.Currency || w.Model != first.Model {
				return &MixedWindowsError{First: first, Other: w, Currency: currency}
			}
		}
	case ledger.ErrGrossWindow:
		for _, w := range ws {
			if w.Model == ledger.ModelGross {
				return &GrossWindowError{Window: w}
			}
		}
	}
	return err
}

// SettlementFilter selects settlements; a zero field selects every
// settlement.
type SettlementFilter struct {
	Currency string
	State    ledger.SettlementState
}

// Settlements returns the settlements f selects, by id.
func (o *Workflows) Settlements(ctx context.Context, f SettlementFilter) ([]ledger.Settlement, error) {
	var ss []ledger.Settlement
	if err := o.ledger.Query(ctx, func(l *ledger.Ledger) { ss = l.Settlements() }); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ss, func(s ledger.Settlement) bool {
		return (f.Currency != "" && s.Currency != f.Currency) || (f.State != 0 && s.State != f.State)
	}), nil
}

// Settlement returns a settlement, or a *SettlementNotFoundError.
func (o *Workflows) Settlement(ctx context.Context, id uint64) (ledger.Settlement, error) {
	var st ledger.Settlement
	var ok bool
	if err := o.ledger.Query(ctx, func(l *ledger.Ledger) { st, ok = l.Settlement(id) }); err != nil {
		return st, err
	}
	if !ok {
		return st, &SettlementNotFoundError{ID: id}
	}
	return st, nil
}

// SetSettlementState moves a settlement one step, to state to, keeping
// reason in its history. Moving it to the state it is in returns it as it
// is. Aborting needs a reason (ErrReasonRequired); a reason longer than
// ledger.MaxReason is refused with a *ReasonTooLongError. A step the
// lifecycle does not allow is refused with the ledger's
// *ledger.TransitionError, which names the step allowed.
func (o *Workflows) SetSettlementState(ctx context.Context, id uint64, to ledger.SettlementState, reason string) (ledger.Settlement, error) {
	if len(reason) > ledger.MaxReason {
		return ledger.Settlement{}, &ReasonTooLongError{Len: len(reason), Max: ledger.MaxReason}
	}
	if to == ledger.SettlementAborted && strings.TrimSpace(reason) == "" {
		return ledger.Settlement{}, ErrReasonRequired
	}
	return o.move(ctx, id, to, reason)
}

// move submits one state change.
func (o *Workflows) move(ctx context.Context, id uint64, to ledger.SettlementState, reason string) (ledger.Settlement, error) {
	res, err := o.ledger.Submit(ctx, ledger.Command{Op: ledger.OpSettlementState, Settlement: id, SettlementState: to, Reason: reason})
	if errors.Is(err, ledger.ErrSettlementNotFound) {
		return ledger.Settlement{}, &SettlementNotFoundError{ID: id}
	}
	if err != nil {
		return ledger.Settlement{}, err
	}
	return *res.Settlement, nil
}

// settleSteps is the way from each state to SETTLED.
var settleSteps = map[ledger.SettlementState]ledger.SettlementState{
	ledger.SettlementPending:   ledger.SettlementRecorded,
	ledger.SettlementRecorded:  ledger.SettlementReserved,
	ledger.SettlementReserved:  ledger.SettlementCommitted,
	ledger.SettlementCommitted: ledger.SettlementSettled,
}

// Settle takes a settlement from its current state through every step to
// SETTLED and returns it settled; a settled one is returned as it is. Each
// step is its own ledger command: when one fails, those before it stand and
// the error is a *StepError saying where the settlement got to. An aborted
// settlement is refused with a *CannotSettleError.
func (o *Workflows) Settle(ctx context.Context, id uint64) (ledger.Settlement, error) {
	cur, err := o.Settlement(ctx, id)
	if err != nil {
		return cur, err
	}
	for cur.State != ledger.SettlementSettled {
		to, ok := settleSteps[cur.State]
		if !ok {
			return cur, &CannotSettleError{Settlement: id, State: cur.State}
		}
		next, err := o.move(ctx, id, to, "")
		if err != nil {
			return cur, &StepError{Settlement: id, Reached: cur.State, To: to, Err: err}
		}
		cur = next
	}
	return cur, nil
}
