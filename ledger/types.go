package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// HubID is the participant id under which the hub's own accounts are kept.
// It cannot be used by a real participant.
const HubID = "hub"

// ID identifies a transfer or a liquidity movement. It is a UUID (FSPIOP
// CorrelationId), kept as its 16 bytes.
type ID [16]byte

// ParseID parses the canonical lower-case 8-4-4-4-12 hexadecimal form of a
// UUID. Upper case, braces, URN prefixes and missing hyphens are rejected,
// because FSPIOP correlation ids are compared as strings by participants.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, fmt.Errorf("ledger: id %q is not a UUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s)
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := fromHex(s[i])
		lo, ok2 := fromHex(s[i+1])
		if !ok1 || !ok2 {
			return ID{}, fmt.Errorf("ledger: id %q is not a UUID: only lower-case hexadecimal digits are allowed", s)
		}
		id[j] = hi<<4 | lo
		j++
		i += 2
	}
	return id, nil
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// String returns the canonical lower-case UUID form.
func (id ID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:], id[10:])
	return string(b[:])
}

// IsZero reports whether id is the all-zero id, which is never valid.
func (id ID) IsZero() bool { return id == ID{} }

// Kind says what a transfer moves.
type Kind uint8

const (
	// KindPayment is a two-phase transfer between two participants' POSITION
	// accounts, locked by a SHA-256 condition.
	KindPayment Kind = 1
	// KindFundsIn credits a participant's SETTLEMENT account from the hub's
	// RECONCILIATION account: collateral deposited at the settlement bank.
	KindFundsIn Kind = 2
	// KindFundsOut is a two-phase withdrawal of collateral from a
	// participant's SETTLEMENT account to the hub's RECONCILIATION account.
	KindFundsOut Kind = 3
)

func (k Kind) String() string {
	switch k {
	case KindPayment:
		return "PAYMENT"
	case KindFundsIn:
		return "FUNDS_IN"
	case KindFundsOut:
		return "FUNDS_OUT"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// State is where a transfer is in its life. Every transfer is in exactly one
// state; all but StateReserved are terminal.
type State uint8

const (
	// StateReserved: prepared, the amount is held against the payer.
	StateReserved State = 1
	// StateCommitted: fulfilled; the amount has moved.
	StateCommitted State = 2
	// StateAborted: released on request; nothing moved.
	StateAborted State = 3
	// StateExpired: released by the ledger at its expiry; nothing moved.
	StateExpired State = 4
)

func (s State) String() string {
	switch s {
	case StateReserved:
		return "RESERVED"
	case StateCommitted:
		return "COMMITTED"
	case StateAborted:
		return "ABORTED"
	case StateExpired:
		return "EXPIRED"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Final reports whether s is terminal.
func (s State) Final() bool { return s == StateCommitted || s == StateAborted || s == StateExpired }

// FSPIOP returns the TransferState the FSPIOP API exposes for s. RECEIVED is
// the state of a request the ledger has not yet answered, so the ledger never
// holds it; EXPIRED is reported as ABORTED.
func (s State) FSPIOP() string {
	switch s {
	case StateReserved:
		return "RESERVED"
	case StateCommitted:
		return "COMMITTED"
	default:
		return "ABORTED"
	}
}

// Transfer is a movement of money, in one of the kinds above. For a payment,
// Payer's POSITION is debited and Payee's credited. For funds in, Payer is
// HubID and Payee the participant; for funds out, Payer is the participant
// and Payee HubID.
type Transfer struct {
	ID          ID
	Kind        Kind
	State       State
	Payer       string
	Payee       string
	Currency    string
	Amount      int64    // minor units, > 0
	Condition   [32]byte // payments only
	Fulfilment  [32]byte // set when a payment commits
	Fingerprint [32]byte // caller's hash of the request, compared on resends
	Expiry      time.Time
	Created     time.Time
	Completed   time.Time // zero until the transfer is final
	Reason      string    // why it was aborted, if it was
	Window      uint64    // the settlement window a committed payment joined
}

// Participant returns the non-hub participant of a funds movement.
func (t *Transfer) participant() string {
	if t.Kind == KindFundsIn {
		return t.Payee
	}
	return t.Payer
}

// ConditionOf returns the condition that fulfilment satisfies: its SHA-256.
func ConditionOf(fulfilment [32]byte) [32]byte { return sha256.Sum256(fulfilment[:]) }

// Status says whether a participant may take part in new transfers.
type Status uint8

const (
	// StatusActive participants may send and receive.
	StatusActive Status = 1
	// StatusSuspended participants may not take part in new transfers;
	// transfers already reserved still complete.
	StatusSuspended Status = 2
)

func (s Status) String() string {
	switch s {
	case StatusActive:
		return "ACTIVE"
	case StatusSuspended:
		return "SUSPENDED"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Participant is a wallet provider or bank connected to the hub.
type Participant struct {
	ID         string
	Name       string
	Status     Status
	Created    time.Time
	Currencies []CurrencyLimit // sorted by Currency
}

// CurrencyLimit is a currency enabled for a participant and its net debit cap.
type CurrencyLimit struct {
	Currency string
	NDC      int64 // net debit cap, minor units, >= 0
}

// Limit returns the participant's entry for currency, if it is enabled.
func (p *Participant) Limit(currency string) (CurrencyLimit, bool) {
	for _, c := range p.Currencies {
		if c.Currency == currency {
			return c, true
		}
	}
	return CurrencyLimit{}, false
}

func (p *Participant) clone() Participant {
	c := *p
	c.Currencies = append([]CurrencyLimit(nil), p.Currencies...)
	return c
}

// AccountType says what an account holds.
type AccountType uint8

const (
	// AccountPosition is a participant's net position in the scheme:
	// positive when it owes the other participants, negative when owed.
	AccountPosition AccountType = 1
	// AccountSettlement is a participant's prefunded collateral at the
	// settlement bank: positive when the participant has funds.
	AccountSettlement AccountType = 2
	// AccountHubMultilateral is the hub's multilateral net settlement account.
	AccountHubMultilateral AccountType = 3
	// AccountHubReconciliation is the hub's counterpart to money deposited
	// and withdrawn at the settlement bank.
	AccountHubReconciliation AccountType = 4
	// AccountHubFees collects scheme fees.
	AccountHubFees AccountType = 5
)

func (t AccountType) String() string {
	switch t {
	case AccountPosition:
		return "POSITION"
	case AccountSettlement:
		return "SETTLEMENT"
	case AccountHubMultilateral:
		return "HUB_MULTILATERAL_SETTLEMENT"
	case AccountHubReconciliation:
		return "HUB_RECONCILIATION"
	case AccountHubFees:
		return "HUB_FEES"
	}
	return fmt.Sprintf("AccountType(%d)", uint8(t))
}

// AccountKey names an account.
type AccountKey struct {
	Participant string
	Currency    string
	Type        AccountType
}

func (k AccountKey) String() string { return k.Participant + "/" + k.Currency + "/" + k.Type.String() }

// Compare orders account keys by participant, currency and type.
func (k AccountKey) Compare(o AccountKey) int {
	if c := strings.Compare(k.Participant, o.Participant); c != 0 {
		return c
	}
	if c := strings.Compare(k.Currency, o.Currency); c != 0 {
		return c
	}
	return int(k.Type) - int(o.Type)
}

// Account holds the running totals of one account. Every movement debits one
// account and credits another by the same amount, so for each currency the
// balances of all accounts sum to zero, and so do the pending amounts.
type Account struct {
	AccountKey
	DebitsPosted   int64
	CreditsPosted  int64
	DebitsPending  int64 // reserved by transfers not yet final
	CreditsPending int64
}

// Balance is debits minus credits of posted movements.
func (a *Account) Balance() int64 { return a.DebitsPosted - a.CreditsPosted }
