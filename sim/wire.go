package sim

import (
	"strconv"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// The FSPIOP v1.1 data model, as far as the simulated FSPs use it. Fields
// the sims never read are left out: encoding/json skips them.

// Money is the FSPIOP Money type: an amount string in the currency's major
// unit and an ISO 4217 code.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// PartyIDInfo is the FSPIOP PartyIdInfo type.
type PartyIDInfo struct {
	PartyIDType     string `json:"partyIdType"`
	PartyIdentifier string `json:"partyIdentifier"`
	PartySubIDType  string `json:"partySubIdOrType,omitempty"`
	FspID           string `json:"fspId,omitempty"`
}

// ComplexName is the FSPIOP PartyComplexName type.
type ComplexName struct {
	FirstName  string `json:"firstName,omitempty"`
	MiddleName string `json:"middleName,omitempty"`
	LastName   string `json:"lastName,omitempty"`
}

// PersonalInfo is the FSPIOP PartyPersonalInfo type.
type PersonalInfo struct {
	ComplexName *ComplexName `json:"complexName,omitempty"`
	DateOfBirth string       `json:"dateOfBirth,omitempty"`
}

// PartyInfo is the FSPIOP Party type.
type PartyInfo struct {
	PartyIDInfo  PartyIDInfo   `json:"partyIdInfo"`
	Name         string        `json:"name,omitempty"`
	PersonalInfo *PersonalInfo `json:"personalInfo,omitempty"`
}

// TransactionType is the FSPIOP TransactionType type.
type TransactionType struct {
	Scenario      string `json:"scenario"`
	SubScenario   string `json:"subScenario,omitempty"`
	Initiator     string `json:"initiator"`
	InitiatorType string `json:"initiatorType"`
}

// Transaction is the FSPIOP Transaction type, carried in the ILP packet's
// data from the payee FSP's quote to its incoming transfer.
type Transaction struct {
	TransactionID   string          `json:"transactionId"`
	QuoteID         string          `json:"quoteId"`
	Payee           PartyInfo       `json:"payee"`
	Payer           PartyInfo       `json:"payer"`
	Amount          Money           `json:"amount"`
	TransactionType TransactionType `json:"transactionType"`
	Note            string          `json:"note,omitempty"`
}

// ErrorInformation is the FSPIOP ErrorInformation type.
type ErrorInformation struct {
	ErrorCode        string `json:"errorCode"`
	ErrorDescription string `json:"errorDescription"`
}

type errorBody struct {
	ErrorInformation *ErrorInformation `json:"errorInformation"`
}

type partiesPut struct {
	Party *PartyInfo `json:"party"`
}

type participantsPost struct {
	FspID    string `json:"fspId"`
	Currency string `json:"currency,omitempty"`
}

type participantsPut struct {
	FspID string `json:"fspId"`
}

type participantsBatchPost struct {
	RequestID string        `json:"requestId"`
	PartyList []PartyIDInfo `json:"partyList"`
	Currency  string        `json:"currency,omitempty"`
}

type partyResult struct {
	PartyID          PartyIDInfo       `json:"partyId"`
	ErrorInformation *ErrorInformation `json:"errorInformation,omitempty"`
}

type participantsBatchPut struct {
	PartyList []partyResult `json:"partyList"`
	Currency  string        `json:"currency,omitempty"`
}

type quotesPost struct {
	QuoteID              string           `json:"quoteId"`
	TransactionID        string           `json:"transactionId"`
	TransactionRequestID string           `json:"transactionRequestId,omitempty"`
	Payee                *PartyInfo       `json:"payee"`
	Payer                *PartyInfo       `json:"payer"`
	AmountType           string           `json:"amountType"`
	Amount               *Money           `json:"amount"`
	TransactionType      *TransactionType `json:"transactionType"`
	Note                 string           `json:"note,omitempty"`
	Expiration           string           `json:"expiration,omitempty"`
}

type quotesPut struct {
	TransferAmount     *Money `json:"transferAmount"`
	PayeeReceiveAmount *Money `json:"payeeReceiveAmount,omitempty"`
	PayeeFspFee        *Money `json:"payeeFspFee,omitempty"`
	PayeeFspCommission *Money `json:"payeeFspCommission,omitempty"`
	Expiration         string `json:"expiration"`
	IlpPacket          string `json:"ilpPacket"`
	Condition          string `json:"condition"`
}

type transfersPost struct {
	TransferID string `json:"transferId"`
	PayeeFsp   string `json:"payeeFsp"`
	PayerFsp   string `json:"payerFsp"`
	Amount     *Money `json:"amount"`
	IlpPacket  string `json:"ilpPacket"`
	Condition  string `json:"condition"`
	Expiration string `json:"expiration"`
}

type transfersPut struct {
	Fulfilment         string `json:"fulfilment,omitempty"`
	CompletedTimestamp string `json:"completedTimestamp,omitempty"`
	TransferState      string `json:"transferState"`
}

type transfersPatch struct {
	CompletedTimestamp string `json:"completedTimestamp"`
	TransferState      string `json:"transferState"`
}

type transactionRequestsPost struct {
	TransactionRequestID string           `json:"transactionRequestId"`
	Payee                *PartyInfo       `json:"payee"`
	Payer                *PartyIDInfo     `json:"payer"`
	Amount               *Money           `json:"amount"`
	TransactionType      *TransactionType `json:"transactionType"`
	Note                 string           `json:"note,omitempty"`
	Expiration           string           `json:"expiration,omitempty"`
}

type transactionRequestsPut struct {
	TransactionID           string `json:"transactionId,omitempty"`
	TransactionRequestState string `json:"transactionRequestState"`
}

// unmarshalJSON decodes with github.com/goccy/go-json, as the hub does:
// several times faster than encoding/json, and the sims share the
// benchmark's cores with the hub.
func unmarshalJSON(b []byte, v any) error { return gojson.Unmarshal(b, v) }

// dateTimeLayout is FSPIOP's DateTime: ISO 8601 with exactly three
// fractional digits.
const dateTimeLayout = "2006-01-02T15:04:05.000Z07:00"

func formatDateTime(t time.Time) string { return t.UTC().Format(dateTimeLayout) }

func parseDateTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

// appendJSONString appends s as a JSON string. Hand-built bodies are only
// used on the transfer path, which carries ids, base64url and fixed words.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, `\u00`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// appendTransfersPost appends the body of POST /transfers.
func appendTransfersPost(b []byte, t *transfersPost) []byte {
	b = append(b, `{"transferId":`...)
	b = appendJSONString(b, t.TransferID)
	b = append(b, `,"payeeFsp":`...)
	b = appendJSONString(b, t.PayeeFsp)
	b = append(b, `,"payerFsp":`...)
	b = appendJSONString(b, t.PayerFsp)
	b = append(b, `,"amount":{"amount":`...)
	b = appendJSONString(b, t.Amount.Amount)
	b = append(b, `,"currency":`...)
	b = appendJSONString(b, t.Amount.Currency)
	b = append(b, `},"ilpPacket":`...)
	b = appendJSONString(b, t.IlpPacket)
	b = append(b, `,"condition":`...)
	b = appendJSONString(b, t.Condition)
	b = append(b, `,"expiration":`...)
	b = appendJSONString(b, t.Expiration)
	return append(b, '}')
}

// appendTransfersPut appends the body of PUT /transfers/{ID}.
func appendTransfersPut(b []byte, t *transfersPut) []byte {
	b = append(b, '{')
	if t.Fulfilment != "" {
		b = append(b, `"fulfilment":`...)
		b = appendJSONString(b, t.Fulfilment)
		b = append(b, ',')
	}
	if t.CompletedTimestamp != "" {
		b = append(b, `"completedTimestamp":`...)
		b = appendJSONString(b, t.CompletedTimestamp)
		b = append(b, ',')
	}
	b = append(b, `"transferState":`...)
	b = appendJSONString(b, t.TransferState)
	return append(b, '}')
}

// appendErrorBody appends an FSPIOP error body, the description cut to the
// 128 characters ErrorDescription allows.
func appendErrorBody(b []byte, code, desc string) []byte {
	if utf8.RuneCountInString(desc) > 128 {
		r := []rune(desc)
		desc = string(r[:128])
	}
	if desc == "" {
		desc = "error " + code
	}
	b = append(b, `{"errorInformation":{"errorCode":`...)
	b = appendJSONString(b, code)
	b = append(b, `,"errorDescription":`...)
	b = appendJSONString(b, desc)
	return append(b, `}}`...)
}

// validErrorCode reports whether s is an FSPIOP ErrorCode: four digits, the
// first not zero.
func validErrorCode(s string) bool {
	if len(s) != 4 || s[0] < '1' || s[0] > '9' {
		return false
	}
	_, err := strconv.Atoi(s)
	return err == nil && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9'
}
