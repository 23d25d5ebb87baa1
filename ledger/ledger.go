// Package ledger is hutong's money: participants, their accounts per
// currency, and transfers between them, kept by double-entry.
//
// The ledger is a deterministic state machine. It does no I/O and has no
// clock: every command is applied at a time its caller gives, and the same
// commands at the same times always give the same state. The writer package
// owns a Ledger from one goroutine and makes its changes durable; the audit
// package replays the journal through a fresh Ledger to check the store.
//
// Accounts and signs. Every account keeps debits and credits, posted and
// pending; its balance is debits minus credits. A payment debits the payer's
// POSITION and credits the payee's, so a positive position is what a
// participant owes the scheme. Funds in debit a participant's SETTLEMENT
// account and credit the hub's RECONCILIATION account, so a positive
// settlement balance is collateral the participant holds. For each currency
// the balances of all accounts sum to zero, and so do the pending amounts.
//
// Liquidity. A payment may be prepared only while the payer's position plus
// its reserved amount plus the new amount stays within its net debit cap
// (else ErrNDCExceeded) and within its settlement balance less
// funds-out reservations (else ErrInsufficientLiquidity).
//
// Two phases. Prepare reserves: it adds the amount to the payer's pending
// debits and the payee's pending credits. Fulfil posts the reservation when
// SHA-256(fulfilment) equals the condition; Abort and expiry release it.
package ledger

import (
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hutong/hutong/money"
)

// Op is what a Command does.
type Op uint8

// The commands. OpExpire is issued by the ledger's owner for transfers that
// Due reports; it is journaled like any other so that replays are exact.
const (
	OpCreateParticipant Op = 1
	OpSetStatus         Op = 2
	OpEnableCurrency    Op = 3
	OpSetNDC            Op = 4
	OpFundsIn           Op = 5
	OpFundsOutReserve   Op = 6
	OpFundsOutCommit    Op = 7
	OpFundsOutAbort     Op = 8
	OpPrepare           Op = 9
	OpFulfil            Op = 10
	OpAbort             Op = 11
	OpExpire            Op = 12
	OpSetModel          Op = 13
	OpCloseWindow       Op = 14
	OpCreateSettlement  Op = 15
	OpSettlementState   Op = 16
)

var opNames = [...]string{
	OpCreateParticipant: "CREATE_PARTICIPANT",
	OpSetStatus:         "SET_STATUS",
	OpEnableCurrency:    "ENABLE_CURRENCY",
	OpSetNDC:            "SET_NDC",
	OpFundsIn:           "FUNDS_IN",
	OpFundsOutReserve:   "FUNDS_OUT_RESERVE",
	OpFundsOutCommit:    "FUNDS_OUT_COMMIT",
	OpFundsOutAbort:     "FUNDS_OUT_ABORT",
	OpPrepare:           "PREPARE",
	OpFulfil:            "FULFIL",
	OpAbort:             "ABORT",
	OpExpire:            "EXPIRE",
	OpSetModel:          "SET_SETTLEMENT_MODEL",
	OpCloseWindow:       "CLOSE_WINDOW",
	OpCreateSettlement:  "CREATE_SETTLEMENT",
	OpSettlementState:   "SETTLEMENT_STATE",
}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Command is one request to change the ledger. Which fields matter depends on
// Op. On Fulfil and Abort, a non-empty Participant must be the payment's
// payee (ErrNotPayee otherwise); it is checked and not journaled, so a
// replay applies the command without it, to the same effect.
//
//	CreateParticipant  Participant, Name
//	SetStatus          Participant, Status
//	EnableCurrency     Participant, Currency
//	SetNDC             Participant, Currency, Amount (the cap)
//	FundsIn            ID, Participant, Currency, Amount, Fingerprint
//	FundsOutReserve    ID, Participant, Currency, Amount, Fingerprint
//	FundsOutCommit     ID
//	FundsOutAbort      ID, Reason
//	Prepare            ID, Payer, Payee, Currency, Amount, Condition, Expiry, Fingerprint
//	Fulfil             ID, Fulfilment, Participant (optional)
//	Abort              ID, Reason, Participant (optional)
//	Expire             ID
//	SetModel           Currency, Model
//	CloseWindow        Currency, Window (0 for the open one)
//	CreateSettlement   Currency (optional), Windows
//	SettlementState    Settlement, SettlementState, Reason
type Command struct {
	Op          Op
	ID          ID
	Participant string
	Name        string
	Status      Status
	Payer       string
	Payee       string
	Currency    string
	Amount      int64
	Condition   [32]byte
	Fulfilment  [32]byte
	Fingerprint [32]byte
	Expiry      time.Time
	Reason      string

	Model           Model
	Window          uint64
	Windows         []uint64
	Settlement      uint64
	SettlementState SettlementState
}

// Result is what a successful command returns: the state after it of the
// transfer, participant, window or settlement it touched. Duplicate is true
// when the command repeated one already applied and changed nothing.
type Result struct {
	Transfer    Transfer
	Participant Participant
	Window      *Window     // SetModel (the open window), CloseWindow (the closed one)
	Settlement  *Settlement // CreateSettlement, SettlementState
	Duplicate   bool
}

// Finalized looks up transfers the ledger no longer holds in memory: those
// that became final in an earlier batch and were made durable. It returns
// false when no transfer has the id.
type Finalized interface {
	FinalTransfer(id ID) (Transfer, bool, error)
}

// MaxReason is the longest abort reason the ledger keeps.
const MaxReason = 256

// MaxExpiry is how far ahead of its prepare a payment may expire. FSPIOP
// transfers expire in seconds or minutes; a cap keeps a mistyped year from
// holding liquidity for ever.
const MaxExpiry = 30 * 24 * time.Hour

// Ledger is the state. It is not safe for concurrent use: one goroutine owns
// it.
type Ledger struct {
	participants map[string]*Participant
	accounts     map[AccountKey]*Account
	mem          map[ID]*Transfer // every transfer in memory: reserved, or final and not yet forgotten
	pending      map[ID]*Transfer // the reserved ones
	done         []ID             // final since the last Changes
	flushing     []ID             // final before the last Changes, until Forget
	expiries     expiryHeap
	finalized    Finalized
	settlementState

	trackPositions bool
	positions      map[*Account]struct{} // position accounts touched since TouchedPositions

	changedParticipants map[string]struct{}
	changedAccounts     map[AccountKey]struct{}
	changedTransfers    map[ID]bool // true when created since the last Changes
}

// New returns an empty ledger. finalized may be nil when no transfer has been
// made durable yet (tests, replays that keep everything).
func New(finalized Finalized) *Ledger {
	l := &Ledger{
		participants:        make(map[string]*Participant),
		accounts:            make(map[AccountKey]*Account),
		mem:                 make(map[ID]*Transfer),
		pending:             make(map[ID]*Transfer),
		finalized:           finalized,
		changedParticipants: make(map[string]struct{}),
		changedAccounts:     make(map[AccountKey]struct{}),
		changedTransfers:    make(map[ID]bool),
	}
	l.settlementState.init()
	return l
}

// Restore loads state saved from an earlier Ledger into an empty one.
func (l *Ledger) Restore(participants []Participant, accounts []Account, pending []Transfer) error {
	if len(l.participants) != 0 || len(l.accounts) != 0 || len(l.pending) != 0 {
		return fmt.Errorf("ledger: restore into a ledger that is not empty")
	}
	for i := range participants {
		p := participants[i].clone()
		l.participants[p.ID] = &p
	}
	for i := range accounts {
		a := accounts[i]
		l.accounts[a.AccountKey] = &a
	}
	for i := range pending {
		t := pending[i]
		if t.State != StateReserved {
			return fmt.Errorf("ledger: restore: transfer %s is %s, not pending", t.ID, t.State)
		}
		l.pending[t.ID] = &t
		l.mem[t.ID] = &t
		if !t.Expiry.IsZero() {
			l.expiries.push(expiryItem{at: t.Expiry.UnixNano(), id: t.ID})
		}
	}
	return nil
}

// Participant returns a copy of a participant.
func (l *Ledger) Participant(id string) (Participant, bool) {
	p, ok := l.participants[id]
	if !ok {
		return Participant{}, false
	}
	return p.clone(), true
}

// Participants returns copies of all participants, in no order.
func (l *Ledger) Participants() []Participant {
	out := make([]Participant, 0, len(l.participants))
	for _, p := range l.participants {
		out = append(out, p.clone())
	}
	return out
}

// Account returns a copy of an account.
func (l *Ledger) Account(k AccountKey) (Account, bool) {
	a, ok := l.accounts[k]
	if !ok {
		return Account{}, false
	}
	return *a, true
}

// Accounts returns copies of all accounts, in no order.
func (l *Ledger) Accounts() []Account {
	out := make([]Account, 0, len(l.accounts))
	for _, a := range l.accounts {
		out = append(out, *a)
	}
	return out
}

// Pending returns copies of all reserved transfers, in no order.
func (l *Ledger) Pending() []Transfer {
	out := make([]Transfer, 0, len(l.pending))
	for _, t := range l.pending {
		out = append(out, *t)
	}
	return out
}

// PendingCount is the number of reserved transfers.
func (l *Ledger) PendingCount() int { return len(l.pending) }

// Due returns up to max reserved transfers whose expiry is at or before now,
// earliest first. The caller expires each with an OpExpire command.
func (l *Ledger) Due(now time.Time, max int) []ID {
	var ids []ID
	n := now.UnixNano()
	for len(ids) < max && len(l.expiries) > 0 && l.expiries[0].at <= n {
		it := l.expiries.pop()
		t, ok := l.pending[it.id]
		if !ok || t.Expiry.UnixNano() != it.at {
			continue // finalized before it expired
		}
		ids = append(ids, it.id)
	}
	return ids
}

// NextExpiry returns when the earliest reserved transfer expires.
func (l *Ledger) NextExpiry() (time.Time, bool) {
	for len(l.expiries) > 0 {
		it := l.expiries[0]
		if t, ok := l.pending[it.id]; ok && t.Expiry.UnixNano() == it.at {
			return t.Expiry, true
		}
		l.expiries.pop()
	}
	return time.Time{}, false
}

// Changes lists what changed since the last call, for the owner to persist.
type Changes struct {
	Participants []Participant
	Accounts     []Account
	Transfers    []TransferChange
	Windows      []Window
	Settlements  []Settlement
}

// TransferChange is a transfer's state after a batch; New says it was created
// in the batch.
type TransferChange struct {
	Transfer
	New bool
}

// Changes returns what changed since it was last called and starts a new
// set. Transfers that became final stay in memory until Forget, so that
// commands find them while the owner makes the changes durable. Call Forget
// before calling Changes again.
func (l *Ledger) Changes() Changes {
	if len(l.flushing) != 0 {
		panic("ledger: Changes called again before Forget")
	}
	var c Changes
	for id := range l.changedParticipants {
		c.Participants = append(c.Participants, l.participants[id].clone())
	}
	clear(l.changedParticipants)
	for k := range l.changedAccounts {
		c.Accounts = append(c.Accounts, *l.accounts[k])
	}
	clear(l.changedAccounts)
	c.Transfers = make([]TransferChange, 0, len(l.changedTransfers))
	for id, isNew := range l.changedTransfers {
		c.Transfers = append(c.Transfers, TransferChange{Transfer: *l.mem[id], New: isNew})
	}
	clear(l.changedTransfers)
	for id := range l.changedWindows {
		c.Windows = append(c.Windows, l.windows[id].clone())
	}
	clear(l.changedWindows)
	for id := range l.changedSettlements {
		c.Settlements = append(c.Settlements, l.settlements[id].clone())
	}
	clear(l.changedSettlements)
	l.done, l.flushing = l.flushing[:0], l.done
	return c
}

// Forget drops from memory the transfers that were final when Changes was
// last called. Call it once those changes are stored and Finalized finds
// them.
func (l *Ledger) Forget() {
	for _, id := range l.flushing {
		delete(l.mem, id)
	}
	l.flushing = l.flushing[:0]
	// The heap keeps entries of finalized transfers until they reach the top;
	// rebuild it when those dominate, so memory follows the pending count.
	if len(l.expiries) > 4096 && len(l.expiries) > 2*len(l.pending) {
		h := l.expiries[:0]
		for _, it := range l.expiries {
			if t, ok := l.pending[it.id]; ok && t.Expiry.UnixNano() == it.at {
				h = append(h, it)
			}
		}
		l.expiries = nil
		for _, it := range h {
			l.expiries.push(it)
		}
	}
}

// InMemory returns a copy of a transfer the ledger holds: reserved, or final
// but not yet forgotten. A transfer it does not hold is in the store, if it
// exists.
func (l *Ledger) InMemory(id ID) (Transfer, bool) {
	t, ok := l.memory(id)
	if !ok {
		return Transfer{}, false
	}
	return *t, true
}

func (l *Ledger) memory(id ID) (*Transfer, bool) {
	t, ok := l.mem[id]
	return t, ok
}

// find returns the transfer with id, from memory or from finalized.
func (l *Ledger) find(id ID) (*Transfer, bool, error) {
	if t, ok := l.memory(id); ok {
		return t, true, nil
	}
	if l.finalized == nil {
		return nil, false, nil
	}
	t, ok, err := l.finalized.FinalTransfer(id)
	if err != nil || !ok {
		return nil, false, err
	}
	return &t, true, nil
}

// Apply applies c at time now. On error nothing changed.
func (l *Ledger) Apply(now time.Time, c *Command) (Result, error) {
	now = now.UTC().Round(0)
	switch c.Op {
	case OpCreateParticipant:
		return l.createParticipant(now, c)
	case OpSetStatus:
		return l.setStatus(c)
	case OpEnableCurrency:
		return l.enableCurrency(now, c)
	case OpSetNDC:
		return l.setNDC(c)
	case OpFundsIn, OpFundsOutReserve:
		return l.fundsMovement(now, c)
	case OpFundsOutCommit, OpFundsOutAbort:
		return l.finishFundsOut(now, c)
	case OpPrepare:
		return l.prepare(now, c)
	case OpFulfil:
		return l.fulfil(now, c)
	case OpAbort:
		return l.abort(now, c)
	case OpExpire:
		return l.expire(now, c)
	case OpSetModel:
		return l.setModel(now, c)
	case OpCloseWindow:
		return l.closeWindowCmd(now, c)
	case OpCreateSettlement:
		return l.createSettlement(now, c)
	case OpSettlementState:
		return l.settlementStateCmd(now, c)
	}
	return Result{}, ErrInvalidCommand.detail("unknown operation %d", c.Op)
}

// ValidParticipantID reports whether id may name a participant: 1 to 32
// bytes (FSPIOP FspId) of ASCII letters, digits, '.', '_' and '-', so that it
// travels unchanged in HTTP headers and URL paths.
func ValidParticipantID(id string) bool {
	if len(id) == 0 || len(id) > 32 || id == HubID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validName(s string) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > 128 {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func validReason(s string) bool { return len(s) <= MaxReason && utf8.ValidString(s) }

func (l *Ledger) createParticipant(now time.Time, c *Command) (Result, error) {
	if !ValidParticipantID(c.Participant) {
		return Result{}, ErrInvalidParticipantID
	}
	if !validName(c.Name) {
		return Result{}, ErrInvalidName
	}
	if p, ok := l.participants[c.Participant]; ok {
		if p.Name == c.Name {
			return Result{Participant: p.clone(), Duplicate: true}, nil
		}
		return Result{}, ErrParticipantExists
	}
	p := &Participant{ID: c.Participant, Name: c.Name, Status: StatusActive, Created: now}
	l.participants[p.ID] = p
	l.changedParticipants[p.ID] = struct{}{}
	return Result{Participant: p.clone()}, nil
}

func (l *Ledger) participant(id string) (*Participant, error) {
	p, ok := l.participants[id]
	if !ok {
		return nil, ErrParticipantNotFound
	}
	return p, nil
}

func (l *Ledger) setStatus(c *Command) (Result, error) {
	p, err := l.participant(c.Participant)
	if err != nil {
		return Result{}, err
	}
	if c.Status != StatusActive && c.Status != StatusSuspended {
		return Result{}, ErrInvalidCommand.detail("status must be ACTIVE or SUSPENDED")
	}
	if p.Status == c.Status {
		return Result{Participant: p.clone(), Duplicate: true}, nil
	}
	p.Status = c.Status
	l.changedParticipants[p.ID] = struct{}{}
	return Result{Participant: p.clone()}, nil
}

func (l *Ledger) enableCurrency(now time.Time, c *Command) (Result, error) {
	p, err := l.participant(c.Participant)
	if err != nil {
		return Result{}, err
	}
	if _, ok := money.Lookup(c.Currency); !ok {
		return Result{}, ErrUnknownCurrency
	}
	if _, ok := p.Limit(c.Currency); ok {
		return Result{Participant: p.clone(), Duplicate: true}, nil
	}
	i := 0
	for i < len(p.Currencies) && p.Currencies[i].Currency < c.Currency {
		i++
	}
	p.Currencies = append(p.Currencies, CurrencyLimit{})
	copy(p.Currencies[i+1:], p.Currencies[i:])
	p.Currencies[i] = CurrencyLimit{Currency: c.Currency}
	l.changedParticipants[p.ID] = struct{}{}
	l.openAccount(AccountKey{p.ID, c.Currency, AccountPosition})
	l.openAccount(AccountKey{p.ID, c.Currency, AccountSettlement})
	l.openAccount(AccountKey{HubID, c.Currency, AccountHubMultilateral})
	l.openAccount(AccountKey{HubID, c.Currency, AccountHubReconciliation})
	l.openAccount(AccountKey{HubID, c.Currency, AccountHubFees})
	l.openFirstWindow(now, c.Currency)
	return Result{Participant: p.clone()}, nil
}

func (l *Ledger) openAccount(k AccountKey) {
	if _, ok := l.accounts[k]; ok {
		return
	}
	l.accounts[k] = &Account{AccountKey: k}
	l.changedAccounts[k] = struct{}{}
}

func (l *Ledger) setNDC(c *Command) (Result, error) {
	p, err := l.participant(c.Participant)
	if err != nil {
		return Result{}, err
	}
	if c.Amount < 0 {
		return Result{}, ErrInvalidNDC
	}
	for i := range p.Currencies {
		if p.Currencies[i].Currency == c.Currency {
			if p.Currencies[i].NDC == c.Amount {
				return Result{Participant: p.clone(), Duplicate: true}, nil
			}
			p.Currencies[i].NDC = c.Amount
			l.changedParticipants[p.ID] = struct{}{}
			if l.trackPositions {
				l.positions[l.account(p.ID, c.Currency, AccountPosition)] = struct{}{}
			}
			return Result{Participant: p.clone()}, nil
		}
	}
	return Result{}, ErrCurrencyNotEnabled
}

// account returns an account that must exist because its currency is
// enabled.
func (l *Ledger) account(participant, currency string, t AccountType) *Account {
	a := l.accounts[AccountKey{participant, currency, t}]
	if a == nil {
		panic(fmt.Sprintf("ledger: account %s/%s/%s missing for an enabled currency", participant, currency, t))
	}
	return a
}

func (l *Ledger) touch(a *Account) {
	l.changedAccounts[a.AccountKey] = struct{}{}
	if l.trackPositions && a.Type == AccountPosition {
		l.positions[a] = struct{}{}
	}
}

// sameRequest reports whether c asks for what t already is.
func sameRequest(t *Transfer, c *Command) bool {
	switch c.Op {
	case OpPrepare:
		return t.Kind == KindPayment && t.Payer == c.Payer && t.Payee == c.Payee &&
			t.Currency == c.Currency && t.Amount == c.Amount && t.Condition == c.Condition &&
			t.Expiry.Equal(c.Expiry) && t.Fingerprint == c.Fingerprint
	case OpFundsIn:
		return t.Kind == KindFundsIn && t.Payee == c.Participant && t.Currency == c.Currency &&
			t.Amount == c.Amount && t.Fingerprint == c.Fingerprint
	case OpFundsOutReserve:
		return t.Kind == KindFundsOut && t.Payer == c.Participant && t.Currency == c.Currency &&
			t.Amount == c.Amount && t.Fingerprint == c.Fingerprint
	}
	return false
}

// existing handles a create command whose id may already be in use.
func (l *Ledger) existing(c *Command) (Result, bool, error) {
	if c.ID.IsZero() {
		return Result{}, true, ErrInvalidID
	}
	t, ok, err := l.find(c.ID)
	if err != nil {
		return Result{}, true, fmt.Errorf("ledger: look up transfer %s: %w", c.ID, err)
	}
	if !ok {
		return Result{}, false, nil
	}
	if !sameRequest(t, c) {
		return Result{}, true, ErrModifiedRequest
	}
	return Result{Transfer: *t, Duplicate: true}, true, nil
}

func (l *Ledger) fundsMovement(now time.Time, c *Command) (Result, error) {
	if r, done, err := l.existing(c); done {
		return r, err
	}
	p, err := l.participant(c.Participant)
	if err != nil {
		return Result{}, err
	}
	if _, ok := p.Limit(c.Currency); !ok {
		return Result{}, ErrCurrencyNotEnabled
	}
	if c.Amount <= 0 {
		return Result{}, ErrInvalidAmount
	}
	settle := l.account(p.ID, c.Currency, AccountSettlement)
	recon := l.account(HubID, c.Currency, AccountHubReconciliation)
	t := &Transfer{ID: c.ID, Currency: c.Currency, Amount: c.Amount, Fingerprint: c.Fingerprint, Created: now}
	if c.Op == OpFundsIn {
		d, ok1 := add(settle.DebitsPosted, c.Amount)
		cr, ok2 := add(recon.CreditsPosted, c.Amount)
		if !ok1 || !ok2 {
			return Result{}, ErrOverflow
		}
		settle.DebitsPosted, recon.CreditsPosted = d, cr
		t.Kind, t.Payer, t.Payee, t.State, t.Completed = KindFundsIn, HubID, p.ID, StateCommitted, now
		l.done = append(l.done, t.ID)
		l.mem[t.ID] = t
	} else {
		pos := l.account(p.ID, c.Currency, AccountPosition)
		owed, ok1 := add(pos.Balance(), pos.DebitsPending)
		avail, ok2 := sub(settle.Balance(), settle.CreditsPending)
		left, ok3 := sub(avail, c.Amount)
		cp, ok4 := add(settle.CreditsPending, c.Amount)
		dp, ok5 := add(recon.DebitsPending, c.Amount)
		if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
			return Result{}, ErrOverflow
		}
		if left < max(owed, 0) {
			return Result{}, ErrInsufficientLiquidity
		}
		settle.CreditsPending, recon.DebitsPending = cp, dp
		t.Kind, t.Payer, t.Payee, t.State = KindFundsOut, p.ID, HubID, StateReserved
		l.pending[t.ID] = t
		l.mem[t.ID] = t
	}
	l.touch(settle)
	l.touch(recon)
	l.changedTransfers[t.ID] = true
	return Result{Transfer: *t}, nil
}

// reserved finds a transfer that a finishing command applies to. It returns
// done=true with the result or error when the command cannot proceed.
func (l *Ledger) reserved(now time.Time, c *Command, kind Kind, want State) (*Transfer, Result, bool, error) {
	if c.ID.IsZero() {
		return nil, Result{}, true, ErrInvalidID
	}
	t, ok, err := l.find(c.ID)
	if err != nil {
		return nil, Result{}, true, fmt.Errorf("ledger: look up transfer %s: %w", c.ID, err)
	}
	if !ok {
		return nil, Result{}, true, ErrTransferNotFound
	}
	if t.Kind != kind {
		return nil, Result{}, true, ErrWrongKind
	}
	if c.Participant != "" && kind == KindPayment && c.Participant != t.Payee {
		return nil, Result{}, true, ErrNotPayee
	}
	switch {
	case t.State == want && (want != StateCommitted || t.Kind != KindPayment || t.Fulfilment == c.Fulfilment):
		return nil, Result{Transfer: *t, Duplicate: true}, true, nil
	case t.State == StateExpired:
		return nil, Result{}, true, ErrTransferExpired
	case t.State != StateReserved:
		return nil, Result{}, true, ErrTransferFinal
	case !t.Expiry.IsZero() && !now.Before(t.Expiry):
		// Due reports it at this time; the owner expires it.
		return nil, Result{}, true, ErrTransferExpired
	}
	return t, Result{}, false, nil
}

func (l *Ledger) finishFundsOut(now time.Time, c *Command) (Result, error) {
	want := StateCommitted
	if c.Op == OpFundsOutAbort {
		want = StateAborted
		if !validReason(c.Reason) {
			return Result{}, ErrInvalidCommand.detail("reason must be valid UTF-8 of at most %d bytes", MaxReason)
		}
	}
	t, r, done, err := l.reserved(now, c, KindFundsOut, want)
	if done {
		return r, err
	}
	settle := l.account(t.Payer, t.Currency, AccountSettlement)
	recon := l.account(HubID, t.Currency, AccountHubReconciliation)
	if want == StateCommitted {
		cr, ok1 := add(settle.CreditsPosted, t.Amount)
		d, ok2 := add(recon.DebitsPosted, t.Amount)
		if !ok1 || !ok2 {
			return Result{}, ErrOverflow
		}
		settle.CreditsPosted, recon.DebitsPosted = cr, d
	} else {
		t.Reason = c.Reason
	}
	settle.CreditsPending -= t.Amount
	recon.DebitsPending -= t.Amount
	l.touch(settle)
	l.touch(recon)
	l.finish(now, t, want)
	return Result{Transfer: *t}, nil
}

func (l *Ledger) finish(now time.Time, t *Transfer, s State) {
	t.State = s
	t.Completed = now
	delete(l.pending, t.ID)
	l.done = append(l.done, t.ID)
	if _, ok := l.changedTransfers[t.ID]; !ok {
		l.changedTransfers[t.ID] = false
	}
}

func (l *Ledger) prepare(now time.Time, c *Command) (Result, error) {
	if r, done, err := l.existing(c); done {
		return r, err
	}
	payer, ok := l.participants[c.Payer]
	if !ok {
		return Result{}, ErrPayerNotFound
	}
	payee, ok := l.participants[c.Payee]
	if !ok {
		return Result{}, ErrPayeeNotFound
	}
	if payer.Status != StatusActive {
		return Result{}, ErrPayerSuspended
	}
	if payee.Status != StatusActive {
		return Result{}, ErrPayeeSuspended
	}
	if payer == payee {
		return Result{}, ErrSameParticipant
	}
	limit, ok := payer.Limit(c.Currency)
	if !ok {
		return Result{}, ErrPayerCurrency
	}
	if _, ok := payee.Limit(c.Currency); !ok {
		return Result{}, ErrPayeeCurrency
	}
	if c.Amount <= 0 {
		return Result{}, ErrInvalidAmount
	}
	if c.Condition == ([32]byte{}) {
		return Result{}, ErrMalformedCondition
	}
	if !c.Expiry.After(now) {
		return Result{}, ErrExpiryNotInFuture
	}
	if c.Expiry.After(now.Add(MaxExpiry)) {
		return Result{}, ErrExpiryTooFar
	}
	pos := l.account(payer.ID, c.Currency, AccountPosition)
	settle := l.account(payer.ID, c.Currency, AccountSettlement)
	payeePos := l.account(payee.ID, c.Currency, AccountPosition)
	held, ok1 := add(pos.Balance(), pos.DebitsPending)
	need, ok2 := add(held, c.Amount)
	avail, ok3 := sub(settle.Balance(), settle.CreditsPending)
	dp, ok4 := add(pos.DebitsPending, c.Amount)
	cp, ok5 := add(payeePos.CreditsPending, c.Amount)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return Result{}, ErrOverflow
	}
	if need > limit.NDC {
		return Result{}, ErrNDCExceeded
	}
	if need > avail {
		return Result{}, ErrInsufficientLiquidity
	}
	pos.DebitsPending, payeePos.CreditsPending = dp, cp
	l.touch(pos)
	l.touch(payeePos)
	t := &Transfer{
		ID: c.ID, Kind: KindPayment, State: StateReserved,
		Payer: payer.ID, Payee: payee.ID, Currency: c.Currency, Amount: c.Amount,
		Condition: c.Condition, Fingerprint: c.Fingerprint, Expiry: c.Expiry.UTC().Round(0), Created: now,
	}
	l.pending[t.ID] = t
	l.mem[t.ID] = t
	l.expiries.push(expiryItem{at: t.Expiry.UnixNano(), id: t.ID})
	l.changedTransfers[t.ID] = true
	return Result{Transfer: *t}, nil
}

func (l *Ledger) fulfil(now time.Time, c *Command) (Result, error) {
	t, r, done, err := l.reserved(now, c, KindPayment, StateCommitted)
	if done {
		return r, err
	}
	if ConditionOf(c.Fulfilment) != t.Condition {
		return Result{}, ErrInvalidFulfilment
	}
	pos := l.account(t.Payer, t.Currency, AccountPosition)
	payeePos := l.account(t.Payee, t.Currency, AccountPosition)
	d, ok1 := add(pos.DebitsPosted, t.Amount)
	cr, ok2 := add(payeePos.CreditsPosted, t.Amount)
	if !ok1 || !ok2 {
		return Result{}, ErrOverflow
	}
	if err := l.joinWindow(t); err != nil {
		return Result{}, err
	}
	pos.DebitsPosted, payeePos.CreditsPosted = d, cr
	pos.DebitsPending -= t.Amount
	payeePos.CreditsPending -= t.Amount
	l.touch(pos)
	l.touch(payeePos)
	t.Fulfilment = c.Fulfilment
	l.finish(now, t, StateCommitted)
	return Result{Transfer: *t}, nil
}

func (l *Ledger) release(t *Transfer) {
	pos := l.account(t.Payer, t.Currency, AccountPosition)
	payeePos := l.account(t.Payee, t.Currency, AccountPosition)
	pos.DebitsPending -= t.Amount
	payeePos.CreditsPending -= t.Amount
	l.touch(pos)
	l.touch(payeePos)
}

func (l *Ledger) abort(now time.Time, c *Command) (Result, error) {
	if !validReason(c.Reason) {
		return Result{}, ErrInvalidCommand.detail("reason must be valid UTF-8 of at most %d bytes", MaxReason)
	}
	t, r, done, err := l.reserved(now, c, KindPayment, StateAborted)
	if done {
		return r, err
	}
	l.release(t)
	t.Reason = c.Reason
	l.finish(now, t, StateAborted)
	return Result{Transfer: *t}, nil
}

func (l *Ledger) expire(now time.Time, c *Command) (Result, error) {
	t, ok := l.pending[c.ID]
	if !ok || t.Kind != KindPayment || now.Before(t.Expiry) {
		return Result{}, ErrInvalidCommand.detail("transfer %s is not due to expire", c.ID)
	}
	l.release(t)
	t.Reason = "expired"
	l.finish(now, t, StateExpired)
	return Result{Transfer: *t}, nil
}

func add(a, b int64) (int64, bool) { return money.Add(a, b) }
func sub(a, b int64) (int64, bool) { return money.Sub(a, b) }

type expiryItem struct {
	at int64
	id ID
}

// expiryHeap is a binary min-heap by expiry time. Entries of transfers that
// became final stay until they reach the top and are skipped there.
type expiryHeap []expiryItem

func (h *expiryHeap) push(it expiryItem) {
	*h = append(*h, it)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].at <= s[i].at {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *expiryHeap) pop() expiryItem {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		m, l, r := i, 2*i+1, 2*i+2
		if l < n && s[l].at < s[m].at {
			m = l
		}
		if r < n && s[r].at < s[m].at {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
