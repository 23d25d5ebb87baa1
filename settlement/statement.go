package settlement

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
)

// Transfers reads the hub's final transfers by completion time.
// store.Store implements it.
type Transfers interface {
	// Completed calls fn for every final transfer, of any kind and state,
	// with from <= Completed < to, in completion order. A zero from means
	// from the first.
	Completed(ctx context.Context, from, to time.Time, fn func(*ledger.Transfer) error) error
}

// MovementKind says what moved an account.
type MovementKind uint8

// The kinds of movement; see the package comment for which account each
// moves and how.
const (
	MovementPaymentSent     MovementKind = 1
	MovementPaymentReceived MovementKind = 2
	MovementGrossSettlement MovementKind = 3
	MovementFundsIn         MovementKind = 4
	MovementFundsOut        MovementKind = 5
	MovementSettlement      MovementKind = 6
)

var movementNames = [...]string{
	MovementPaymentSent:     "PAYMENT_SENT",
	MovementPaymentReceived: "PAYMENT_RECEIVED",
	MovementGrossSettlement: "GROSS_SETTLEMENT",
	MovementFundsIn:         "FUNDS_IN",
	MovementFundsOut:        "FUNDS_OUT",
	MovementSettlement:      "SETTLEMENT",
}

// String returns the kind's name as statements write it, e.g. PAYMENT_SENT.
func (k MovementKind) String() string {
	if int(k) < len(movementNames) && movementNames[k] != "" {
		return movementNames[k]
	}
	return fmt.Sprintf("MovementKind(%d)", uint8(k))
}

// Movement is one posting to the account a statement covers. Debit and
// Credit are in the ledger's sense (see the package comment); exactly one
// of them is above zero.
type Movement struct {
	At           time.Time // when it posted
	Kind         MovementKind
	Transfer     ledger.ID // the transfer that moved it; zero for MovementSettlement
	Settlement   uint64    // MovementSettlement only: the settlement's id
	Window       uint64    // payments and gross settlement: the payment's window
	Counterparty string    // the other side: a participant, or ledger.HubID
	Debit        int64
	Credit       int64
	Balance      int64 // the account's balance after it
}

// StatementRequest says which account and which time range a statement
// covers.
type StatementRequest struct {
	Participant string
	Currency    string
	Account     ledger.AccountType // ledger.AccountPosition or ledger.AccountSettlement
	From, To    time.Time          // movements with From <= time < To; both set, From before To
}

// Source is what statements are built from.
type Source struct {
	// Transfers gives the final transfers. To include everything up to
	// now, make the store current (writer.Checkpoint) before building.
	Transfers Transfers
	// Settlements are the settlements to post, as ledger.Ledger.Settlements
	// returns them; those of other currencies, and those that never
	// reached PS_TRANSFERS_COMMITTED, are skipped.
	Settlements []ledger.Settlement
	// Windows tell which payments settled gross: every window of the
	// currency, as ledger.Ledger.Windows(currency, false) returns them
	// (flows are not needed).
	Windows []ledger.Window
}

// Statement is the movements of one account over a time range. Opening +
// Debits - Credits = Closing, and each movement's Balance is the one
// before it plus its Debit less its Credit.
type Statement struct {
	Participant string
	Currency    string
	Account     ledger.AccountType
	From, To    time.Time
	Opening     int64 // the balance at From: every movement before it
	Closing     int64 // the balance at To
	Debits      int64 // the sum of the movements' Debit
	Credits     int64 // the sum of the movements' Credit
	Movements   []Movement
}

// BuildStatement builds the statement req asks for. It reads every final
// transfer completed before req.To, once, so its cost grows with the hub's
// history, not with the range. It returns an error wrapping
// ErrInvalidRequest for a request it cannot answer, ErrUnknownWindow when a
// payment's window is not in src.Windows, and any error of
// src.Transfers.Completed.
func BuildStatement(ctx context.Context, src Source, req StatementRequest) (Statement, error) {
	if err := req.validate(); err != nil {
		return Statement{}, err
	}
	if src.Transfers == nil {
		return Statement{}, invalidRequest("no transfers to read")
	}
	models := make(map[uint64]ledger.Model, len(src.Windows))
	for _, w := range src.Windows {
		models[w.ID] = w.Model
	}
	st := Statement{Participant: req.Participant, Currency: req.Currency, Account: req.Account, From: req.From, To: req.To}
	var s sum
	var moves []Movement
	emit := func(m Movement) {
		switch {
		case m.At.Before(req.From):
			s.add(&st.Opening, m.Debit)
			s.sub(&st.Opening, st.Opening, m.Credit)
		case m.At.Before(req.To):
			moves = append(moves, m)
		}
	}
	err := src.Transfers.Completed(ctx, time.Time{}, req.To, func(t *ledger.Transfer) error {
		if t.State != ledger.StateCommitted || t.Currency != req.Currency {
			return nil
		}
		return transferMovements(t, req, models, emit)
	})
	if err != nil {
		return Statement{}, err
	}
	// Settlement legs go after the transfers completed at the same time:
	// the sort below is stable.
	key := ledger.AccountKey{Participant: req.Participant, Currency: req.Currency, Type: req.Account}
	for i := range src.Settlements {
		settlementMovements(&src.Settlements[i], key, emit)
	}
	slices.SortStableFunc(moves, func(a, b Movement) int { return a.At.Compare(b.At) })
	bal := st.Opening
	for i := range moves {
		m := &moves[i]
		s.add(&st.Debits, m.Debit)
		s.add(&st.Credits, m.Credit)
		s.add(&bal, m.Debit)
		s.sub(&bal, bal, m.Credit)
		m.Balance = bal
	}
	if s.overflow {
		return Statement{}, fmt.Errorf("%w: statement of %s", ErrOverflow, key)
	}
	st.Closing, st.Movements = bal, moves
	return st, nil
}

func (req *StatementRequest) validate() error {
	switch {
	case !ledger.ValidParticipantID(req.Participant):
		return invalidRequest("%q is not a participant id", req.Participant)
	case req.Account != ledger.AccountPosition && req.Account != ledger.AccountSettlement:
		return invalidRequest("a statement covers a POSITION or SETTLEMENT account, not %s", req.Account)
	case req.From.IsZero() || req.To.IsZero():
		return invalidRequest("a statement needs both the start and the end of its range")
	case !req.From.Before(req.To):
		return invalidRequest("the range starts at %s, not before its end %s", timestamp(req.From), timestamp(req.To))
	}
	_, err := currency(req.Currency)
	return err
}

// transferMovements emits the movements a committed transfer in the
// request's currency makes on the request's account.
func transferMovements(t *ledger.Transfer, req StatementRequest, models map[uint64]ledger.Model, emit func(Movement)) error {
	p, pos := req.Participant, req.Account == ledger.AccountPosition
	m := Movement{At: t.Completed, Transfer: t.ID}
	switch t.Kind {
	case ledger.KindPayment:
		if t.Payer != p && t.Payee != p {
			return nil
		}
		model, ok := models[t.Window]
		if !ok {
			return fmt.Errorf("%w: window %d of payment %s", ErrUnknownWindow, t.Window, t.ID)
		}
		gross := model == ledger.ModelGross
		m.Window = t.Window
		if t.Payer == p {
			// Paying debits the payer's position; gross settlement
			// credits it back and takes the collateral.
			m.Counterparty = t.Payee
			if pos {
				emit(with(m, MovementPaymentSent, t.Amount, 0))
			}
			if gross {
				emit(with(m, MovementGrossSettlement, 0, t.Amount))
			}
		} else {
			m.Counterparty = t.Payer
			if pos {
				emit(with(m, MovementPaymentReceived, 0, t.Amount))
			}
			if gross {
				emit(with(m, MovementGrossSettlement, t.Amount, 0))
			}
		}
	case ledger.KindFundsIn:
		if t.Payee == p && !pos {
			m.Counterparty = t.Payer
			emit(with(m, MovementFundsIn, t.Amount, 0))
		}
	case ledger.KindFundsOut:
		if t.Payer == p && !pos {
			m.Counterparty = t.Payee
			emit(with(m, MovementFundsOut, 0, t.Amount))
		}
	}
	return nil
}

func with(m Movement, k MovementKind, debit, credit int64) Movement {
	m.Kind, m.Debit, m.Credit = k, debit, credit
	return m
}

// settlementMovements emits the legs of a committed settlement that move
// the account key, at the time it committed.
func settlementMovements(st *ledger.Settlement, key ledger.AccountKey, emit func(Movement)) {
	if st.Currency != key.Currency {
		return
	}
	var at time.Time
	committed := false
	for _, h := range st.History {
		if h.State == ledger.SettlementCommitted {
			at, committed = h.At, true
			break
		}
	}
	if !committed {
		return
	}
	for _, leg := range st.Legs() {
		m := Movement{At: at, Kind: MovementSettlement, Settlement: st.ID}
		switch key {
		case leg.Debit:
			m.Counterparty, m.Debit = leg.Credit.Participant, leg.Amount
		case leg.Credit:
			m.Counterparty, m.Credit = leg.Debit.Participant, leg.Amount
		default:
			continue
		}
		emit(m)
	}
}

type movementJSON struct {
	At           string `json:"at"`
	Kind         string `json:"kind"`
	TransferID   string `json:"transferId,omitempty"`
	SettlementID uint64 `json:"settlementId,omitempty"`
	WindowID     uint64 `json:"windowId,omitempty"`
	Counterparty string `json:"counterparty"`
	Debit        string `json:"debit"`
	Credit       string `json:"credit"`
	Balance      string `json:"balance"`
}

type statementJSON struct {
	Participant string         `json:"participant"`
	Currency    string         `json:"currency"`
	Account     string         `json:"account"`
	From        string         `json:"from"`
	To          string         `json:"to"`
	Opening     string         `json:"opening"`
	Closing     string         `json:"closing"`
	Debits      string         `json:"debits"`
	Credits     string         `json:"credits"`
	Movements   []movementJSON `json:"movements"`
}

// WriteJSON writes s as one JSON object:
//
//	{"participant", "currency", "account": "POSITION" | "SETTLEMENT",
//	 "from", "to", "opening", "closing", "debits", "credits",
//	 "movements": [{"at", "kind", "transferId", "settlementId", "windowId",
//	                "counterparty", "debit", "credit", "balance"}]}
//
// Amounts are strings in the FSPIOP form (balances may have a leading "-"),
// ids of settlements and windows are numbers and are left out where they
// do not apply, as is transferId. Debits and credits are in the ledger's
// sense (see the package comment).
func (s *Statement) WriteJSON(w io.Writer) error {
	c, err := s.check()
	if err != nil {
		return err
	}
	out := statementJSON{
		Participant: s.Participant, Currency: s.Currency, Account: s.Account.String(),
		From: timestamp(s.From), To: timestamp(s.To),
		Opening: money.FormatAmount(s.Opening, c), Closing: money.FormatAmount(s.Closing, c),
		Debits: money.FormatAmount(s.Debits, c), Credits: money.FormatAmount(s.Credits, c),
		Movements: make([]movementJSON, 0, len(s.Movements)),
	}
	for i := range s.Movements {
		m := &s.Movements[i]
		mj := movementJSON{
			At: timestamp(m.At), Kind: m.Kind.String(), SettlementID: m.Settlement, WindowID: m.Window,
			Counterparty: m.Counterparty, Debit: money.FormatAmount(m.Debit, c), Credit: money.FormatAmount(m.Credit, c),
			Balance: money.FormatAmount(m.Balance, c),
		}
		if !m.Transfer.IsZero() {
			mj.TransferID = m.Transfer.String()
		}
		out.Movements = append(out.Movements, mj)
	}
	return writeJSON(w, out)
}

// statementHeader is the header row of a statement's CSV form.
var statementHeader = []string{"time", "kind", "transfer_id", "settlement_id", "window_id", "counterparty", "debit", "credit", "balance"}

// WriteCSV writes s as CSV: a header row, an OPENING_BALANCE row at From,
// one row per movement, and a CLOSING_BALANCE row at To whose debit and
// credit cells hold the totals of the movements.
func (s *Statement) WriteCSV(w io.Writer) error {
	c, err := s.check()
	if err != nil {
		return err
	}
	id := func(v uint64) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatUint(v, 10)
	}
	amt := func(v int64) string { return money.FormatAmount(v, c) }
	rows := [][]string{statementHeader, {timestamp(s.From), "OPENING_BALANCE", "", "", "", "", "0", "0", amt(s.Opening)}}
	for i := range s.Movements {
		m := &s.Movements[i]
		tid := ""
		if !m.Transfer.IsZero() {
			tid = m.Transfer.String()
		}
		rows = append(rows, []string{timestamp(m.At), m.Kind.String(), tid, id(m.Settlement), id(m.Window), m.Counterparty, amt(m.Debit), amt(m.Credit), amt(m.Balance)})
	}
	rows = append(rows, []string{timestamp(s.To), "CLOSING_BALANCE", "", "", "", "", amt(s.Debits), amt(s.Credits), amt(s.Closing)})
	return csv.NewWriter(w).WriteAll(rows)
}

// check verifies that s adds up, so that no statement is written that
// does not, and returns its currency.
func (s *Statement) check() (money.Currency, error) {
	c, err := currency(s.Currency)
	if err != nil {
		return c, err
	}
	var sm sum
	bal := s.Opening
	var debits, credits int64
	for i := range s.Movements {
		m := &s.Movements[i]
		if m.Debit < 0 || m.Credit < 0 || (m.Debit == 0) == (m.Credit == 0) {
			return c, fmt.Errorf("%w: movement %d of the statement debits %d and credits %d", ErrUnbalanced, i, m.Debit, m.Credit)
		}
		sm.add(&debits, m.Debit)
		sm.add(&credits, m.Credit)
		sm.add(&bal, m.Debit)
		sm.sub(&bal, bal, m.Credit)
		if !sm.overflow && bal != m.Balance {
			return c, fmt.Errorf("%w: movement %d of the statement leaves %d, not %d", ErrUnbalanced, i, bal, m.Balance)
		}
	}
	switch {
	case sm.overflow:
		return c, ErrOverflow
	case bal != s.Closing || debits != s.Debits || credits != s.Credits:
		return c, fmt.Errorf("%w: the statement's movements from %d come to %d (debits %d, credits %d), it says %d (%d, %d)",
			ErrUnbalanced, s.Opening, bal, debits, credits, s.Closing, s.Debits, s.Credits)
	}
	return c, nil
}
