package sim

import (
	"crypto/sha256"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/money"
	"github.com/valyala/fasthttp"
)

// Behaviour is how an FSP answers as payee. It is set at Start from
// Config.Behaviour and may be changed at any time with SetBehaviour; a
// change applies to the requests that arrive after it.
type Behaviour struct {
	// Fee is the payee FSP fee (payeeFspFee) added to every quote, an
	// FSPIOP amount in the FSP's currency. "" or "0" for none.
	Fee string
	// RejectQuotes answers every POST /quotes with PUT /quotes/{ID}/error
	// carrying RejectCode.
	RejectQuotes bool
	// RejectCode is the errorCode of rejected quotes; "" means
	// CodeRejectedQuote (5103, "Payee FSP rejected quote").
	RejectCode string
	// NoAnswer leaves every POST /transfers unanswered, so that the hub
	// expires the transfer.
	NoAnswer bool
	// WrongFulfilment answers POST /transfers with a well-formed
	// fulfilment that does not match the condition.
	WrongFulfilment bool
	// CommitNotification answers POST /transfers with transferState
	// RESERVED and waits for the hub's PATCH /transfers/{ID} before
	// crediting the payee customer.
	CommitNotification bool
	// RejectTransactionRequests answers every POST /transactionRequests
	// with transactionRequestState REJECTED instead of approving it.
	RejectTransactionRequests bool
}

// Config configures an FSP. Start it from DefaultConfig, set ID and HubURL.
type Config struct {
	// ID is the FSP's id, sent as FSPIOP-Source and fspId, and expected as
	// FSPIOP-Destination: 1 to 32 letters, digits, '.', '_' or '-'.
	ID string
	// Addr is the address the FSP's server listens on. Default
	// "127.0.0.1:0" (any free port; see FSP.URL).
	Addr string
	// HubURL is the base URL of the hub's FSPIOP API, e.g.
	// "http://127.0.0.1:7071"; paths such as /parties/... are appended.
	HubURL string
	// HubID, when set, is sent as FSPIOP-Destination on the requests meant
	// for the hub itself (POST /participants); "" sends none.
	HubID string
	// Currency is the currency of every customer account. Default "USD".
	Currency string
	// Customers is how many customers the FSP has, 0 to 999999. Default 10.
	Customers int
	// AliasPrefix is the start of every customer's MSISDN: customer i
	// (from 1) is MSISDN AliasPrefix followed by i in six digits. "" means
	// DefaultAliasPrefix(ID).
	AliasPrefix string
	// Balance is every customer's opening balance, an FSPIOP amount in
	// Currency. Default "1000000".
	Balance string
	// Secret is the 32-byte local secret from which the FSP derives the
	// fulfilments of its quotes. nil means DefaultSecret(ID), so that every
	// process can compute the conditions of a simulated FSP it knows the
	// id of.
	Secret []byte
	// AmountType is the amountType of the quotes the FSP sends as payer:
	// "RECEIVE" (the payee receives the amount; default) or "SEND".
	AmountType string
	// TransferExpiry is how far in the future the expiration of the FSP's
	// transfers is set. Default 30 s.
	TransferExpiry time.Duration
	// QuoteExpiry is how long the FSP's quotes are valid. Default 60 s.
	QuoteExpiry time.Duration
	// Behaviour is the FSP's starting behaviour as payee.
	Behaviour Behaviour
	// Workers is how many goroutines answer the requests the FSP receives
	// (each request is answered 202 at once and handled by a worker).
	// Default 64.
	Workers int
	// Queue is how many received requests may wait for a worker; when it
	// is full the server waits. Default 8192.
	Queue int
	// EventBuffer is how many received requests Events keeps (the newest);
	// 0 records none. Default 1024.
	EventBuffer int
	// RegisterBatch is how many aliases Register puts in one
	// POST /participants, 1 to 10000. Default 1000.
	RegisterBatch int
	// MaxBody is the largest request body the server reads, in bytes.
	// Default 1 MiB.
	MaxBody int64
	// Client sends the FSP's requests. nil means SharedClient(), shared by
	// every FSP of the process. A client of its own should set
	// DisablePathNormalizing, or escaped path segments are unescaped.
	Client *fasthttp.Client
	// Clock tells the time for dates, expirations and events. nil means
	// the system clock.
	Clock clock.Clock
}

// DefaultConfig returns the defaults; ID and HubURL are left empty.
func DefaultConfig() Config {
	return Config{
		Addr:           "127.0.0.1:0",
		Currency:       "USD",
		Customers:      10,
		Balance:        "1000000",
		AmountType:     "RECEIVE",
		TransferExpiry: 30 * time.Second,
		QuoteExpiry:    60 * time.Second,
		Workers:        64,
		Queue:          8192,
		EventBuffer:    1024,
		RegisterBatch:  1000,
		MaxBody:        1 << 20,
	}
}

// MaxCustomers is the largest Config.Customers.
const MaxCustomers = 999999

// Validate reports the first field of c that cannot work, wrapping
// ErrConfig.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	if !validFSPID(c.ID) {
		return bad("ID %q is not 1 to 32 letters, digits, '.', '_' or '-'", c.ID)
	}
	if c.Addr == "" {
		return bad("Addr is empty")
	}
	u, err := url.Parse(c.HubURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("HubURL %q is not an http(s) URL", c.HubURL)
	}
	cur, ok := money.Lookup(c.Currency)
	if !ok {
		return bad("unknown currency %q", c.Currency)
	}
	if c.Customers < 0 || c.Customers > MaxCustomers {
		return bad("Customers %d is not between 0 and %d", c.Customers, MaxCustomers)
	}
	for _, r := range c.AliasPrefix {
		if r < '0' || r > '9' {
			return bad("AliasPrefix %q is not digits", c.AliasPrefix)
		}
	}
	if len(c.AliasPrefix) > 9 {
		return bad("AliasPrefix %q is longer than 9 digits", c.AliasPrefix)
	}
	if _, err := money.ParseAmount(c.Balance, cur); err != nil {
		return bad("Balance: %v", err)
	}
	if c.Secret != nil && len(c.Secret) != 32 {
		return bad("Secret is %d bytes, not 32", len(c.Secret))
	}
	if c.AmountType != "RECEIVE" && c.AmountType != "SEND" {
		return bad("AmountType %q is neither RECEIVE nor SEND", c.AmountType)
	}
	if c.TransferExpiry <= 0 || c.QuoteExpiry <= 0 {
		return bad("TransferExpiry and QuoteExpiry must be positive")
	}
	if _, err := c.Behaviour.parse(cur); err != nil {
		return err
	}
	if c.Workers < 1 {
		return bad("Workers %d is less than 1", c.Workers)
	}
	if c.Queue < 0 || c.EventBuffer < 0 {
		return bad("Queue and EventBuffer must not be negative")
	}
	if c.RegisterBatch < 1 || c.RegisterBatch > 10000 {
		return bad("RegisterBatch %d is not between 1 and 10000", c.RegisterBatch)
	}
	if c.MaxBody < 1024 {
		return bad("MaxBody %d is less than 1024", c.MaxBody)
	}
	return nil
}

// behaviour is a Behaviour with its fee parsed.
type behaviour struct {
	Behaviour
	fee int64 // minor units
}

func (b Behaviour) parse(cur money.Currency) (*behaviour, error) {
	p := &behaviour{Behaviour: b}
	if b.Fee != "" {
		fee, err := money.ParseAmount(b.Fee, cur)
		if err != nil {
			return nil, fmt.Errorf("%w: Fee: %v", ErrConfig, err)
		}
		p.fee = fee
	}
	if p.RejectCode == "" {
		p.RejectCode = CodeRejectedQuote
	}
	if !validErrorCode(p.RejectCode) {
		return nil, fmt.Errorf("%w: RejectCode %q is not an FSPIOP error code", ErrConfig, b.RejectCode)
	}
	return p, nil
}

func validFSPID(id string) bool {
	if len(id) < 1 || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// DefaultSecret returns the ILP secret of an FSP configured without one:
// SHA-256 of "hutong sim secret " and its id. Simulated FSPs are not meant
// to keep secrets; this lets a benchmark compute any sim's conditions.
func DefaultSecret(fsp string) []byte {
	s := sha256.Sum256([]byte("hutong sim secret " + fsp))
	return s[:]
}

// DefaultAliasPrefix returns the MSISDN prefix of an FSP's customers when
// Config.AliasPrefix is empty: "99" followed by six digits derived from the
// id (FNV-1a, modulo 10^6). Customer i (from 1) of FSP "payfast" is then
// MSISDN DefaultAliasPrefix("payfast") + fmt.Sprintf("%06d", i), a 14-digit
// number any other process can compute from the id alone.
func DefaultAliasPrefix(fsp string) string {
	h := fnv.New32a()
	h.Write([]byte(fsp))
	return fmt.Sprintf("99%06d", h.Sum32()%1000000)
}

// CustomerAlias returns the alias of customer i (from 1) under prefix: the
// MSISDN prefix followed by i in six digits.
func CustomerAlias(prefix string, i int) Party {
	return Party{Type: "MSISDN", ID: fmt.Sprintf("%s%06d", prefix, i)}
}

// Party identifies a party by its FSPIOP PartyIdType, PartyIdentifier and
// optional PartySubIdOrType, as in the path /parties/{Type}/{ID}/{SubId}.
type Party struct {
	Type  string // PartyIdType, e.g. "MSISDN"
	ID    string // PartyIdentifier
	SubID string // PartySubIdOrType, optional
}

// String returns "TYPE/ID" or "TYPE/ID/SUBID".
func (p Party) String() string {
	if p.SubID == "" {
		return p.Type + "/" + p.ID
	}
	return p.Type + "/" + p.ID + "/" + p.SubID
}

// partyIDTypes are FSPIOP's PartyIdType values.
var partyIDTypes = map[string]bool{
	"MSISDN": true, "EMAIL": true, "PERSONAL_ID": true, "BUSINESS": true,
	"DEVICE": true, "ACCOUNT_ID": true, "IBAN": true, "ALIAS": true,
}

// ParseParty parses "TYPE/ID" or "TYPE/ID/SUBID", TYPE being an FSPIOP
// PartyIdType and ID and SUBID 1 to 128 bytes without '/'.
func ParseParty(s string) (Party, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return Party{}, fmt.Errorf("%w: %q is not TYPE/ID or TYPE/ID/SUBID", ErrParty, s)
	}
	p := Party{Type: parts[0], ID: parts[1]}
	if len(parts) == 3 {
		p.SubID = parts[2]
		if p.SubID == "" {
			return Party{}, fmt.Errorf("%w: %q has an empty SUBID", ErrParty, s)
		}
	}
	if err := p.validate(); err != nil {
		return Party{}, err
	}
	return p, nil
}

func (p Party) validate() error {
	if !partyIDTypes[p.Type] {
		return fmt.Errorf("%w: %q is not a PartyIdType", ErrParty, p.Type)
	}
	if p.ID == "" || len(p.ID) > 128 || len(p.SubID) > 128 {
		return fmt.Errorf("%w: identifier %q is not 1 to 128 bytes", ErrParty, p.ID)
	}
	return nil
}

func (p Party) idInfo(fsp string) PartyIDInfo {
	return PartyIDInfo{PartyIDType: p.Type, PartyIdentifier: p.ID, PartySubIDType: p.SubID, FspID: fsp}
}

func partyOf(i *PartyIDInfo) Party {
	return Party{Type: i.PartyIDType, ID: i.PartyIdentifier, SubID: i.PartySubIDType}
}

// Names of the customers: customer i is firstNames[i%n] and
// lastNames[(i/n)%m].
var (
	firstNames = []string{"Amina", "Baraka", "Chen", "Dalia", "Emeka", "Farida", "Goran", "Hana",
		"Imani", "Jonas", "Kofi", "Leila", "Mateo", "Nia", "Omar", "Priya", "Quynh", "Rafael",
		"Sana", "Tomas", "Uma", "Vikram", "Wanjiru", "Yusuf", "Zara"}
	lastNames = []string{"Achieng", "Banda", "Castillo", "Diallo", "Eriksen", "Fofana", "Gupta",
		"Haddad", "Ibrahim", "Juma", "Kamau", "Lindqvist", "Mensah", "Nguyen", "Okafor", "Petrov",
		"Rahman", "Silva", "Tanaka", "Usman", "Wang"}
)

func customerName(i int) (first, last string) {
	return firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)]
}
