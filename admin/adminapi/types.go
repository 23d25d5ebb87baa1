// Package adminapi is the hub operator's admin API as its clients see it:
// the JSON bodies of its requests and answers, declared once and used by
// both the server (package admin) and its clients, and Client, a typed Go
// client of it. It imports nothing of the hub, so a tool that talks to a
// running hub builds without the server.
//
// Field names and formats are the API's: ../openapi.yaml describes each
// type. Amounts are FSPIOP amount strings in the currency's major unit
// ("12.5"), with a leading "-" on negative balances; times are RFC 3339 in
// UTC; an empty string is an absent time.
package adminapi

// Participant is a participant with its currencies and net debit caps.
type Participant struct {
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	Status     string                `json:"status"` // ACTIVE or SUSPENDED
	Created    string                `json:"created"`
	Currencies []ParticipantCurrency `json:"currencies"`
}

// ParticipantCurrency is a currency enabled for a participant and its net
// debit cap in it.
type ParticipantCurrency struct {
	Currency string `json:"currency"`
	NDC      string `json:"ndc"`
}

// ParticipantList answers GET /participants, by id.
type ParticipantList struct {
	Participants []Participant `json:"participants"`
}

// Transfer is a transfer of any kind: a payment, a funds in or a funds
// out. FSPIOPState is State as FSPIOP names it (EXPIRED is ABORTED).
type Transfer struct {
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

// TransferPage is one page of a participant's transfers. Next is the
// cursor of the next page, "" after the last.
type TransferPage struct {
	Transfers []Transfer `json:"transfers"`
	Next      string     `json:"next"`
}

// Account is one account's totals. Balance is debits minus credits
// posted: for POSITION what the participant owes the scheme, for SETTLEMENT
// the collateral it holds. Reserved is the pending debits, PendingCredits the
// pending credits (on SETTLEMENT: funds out reserved).
type Account struct {
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

// AccountList answers GET /participants/{id}/accounts.
type AccountList struct {
	Participant string    `json:"participant"`
	Accounts    []Account `json:"accounts"`
}

// Position is one participant's standing in a currency, for the hub
// operator: its POSITION and SETTLEMENT accounts side by side.
type Position struct {
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

// Positions answers GET /positions: every participant's standing in one
// currency, by id, and the hub's own accounts in it.
type Positions struct {
	Currency     string     `json:"currency"`
	Participants []Position `json:"participants"`
	Hub          []Account  `json:"hub"`
}

// Stats is the ledger writer's counters.
type Stats struct {
	Batches    uint64 `json:"batches"`
	Commands   uint64 `json:"commands"`
	Applied    uint64 `json:"applied"`
	Expired    uint64 `json:"expired"`
	MaxBatch   uint64 `json:"maxBatch"`
	Pending    int64  `json:"pending"`
	Head       uint64 `json:"head"`
	Checkpoint uint64 `json:"checkpoint"`
}

// SettlementModel is a currency's settlement model and the window open in
// it.
type SettlementModel struct {
	Currency string `json:"currency"`
	Model    string `json:"model"`
	Window   uint64 `json:"window"`
}

// ModelList answers GET /settlement-models, by currency.
type ModelList struct {
	Models []SettlementModel `json:"models"`
}

// Window is a settlement window without its flows. Count and Amount are
// the payments that joined it.
type Window struct {
	ID         uint64 `json:"id"`
	Currency   string `json:"currency"`
	Model      string `json:"model"`
	State      string `json:"state"`
	Opened     string `json:"opened"`
	Closed     string `json:"closed,omitempty"`
	Settlement uint64 `json:"settlement,omitempty"`
	Count      int64  `json:"count"`
	Amount     string `json:"amount"`
}

// WindowDetail is a window with what each payer paid each payee in it, by
// payer and payee.
type WindowDetail struct {
	Window
	Flows []Flow `json:"flows"`
}

// Flow is, in a window, what Payer paid Payee; in a settlement's owed,
// what Payer owes Payee after netting the pair, Count being the payments
// both ways.
type Flow struct {
	Payer  string `json:"payer"`
	Payee  string `json:"payee"`
	Count  int64  `json:"count"`
	Amount string `json:"amount"`
}

// WindowList answers GET /settlement-windows, by id.
type WindowList struct {
	Windows []Window `json:"windows"`
}

// ClosedWindow answers a close: the window closed and the one opened in its
// place.
type ClosedWindow struct {
	Closed WindowDetail `json:"closed"`
	Next   Window       `json:"next"`
}

// SettlementSummary is a settlement without its nets, obligations and
// history. Allowed lists the states it may move to next.
type SettlementSummary struct {
	ID       uint64   `json:"id"`
	Currency string   `json:"currency"`
	Model    string   `json:"model"`
	State    string   `json:"state"`
	Allowed  []string `json:"allowed"`
	Windows  []uint64 `json:"windows"`
	Created  string   `json:"created"`
	Updated  string   `json:"updated"`
	Reason   string   `json:"reason,omitempty"`
	Count    int64    `json:"count"`
	Amount   string   `json:"amount"`
	Position string   `json:"position"`
}

// Settlement is a settlement with every participant's net, what each
// pair owes under the bilateral model, and its history.
type Settlement struct {
	SettlementSummary
	Nets    []Net         `json:"nets"`
	Owed    []Flow        `json:"owed,omitempty"`
	History []StateChange `json:"history"`
}

// Net is a participant's payments in a settlement and its net: positive
// when it owes.
type Net struct {
	Participant   string `json:"participant"`
	Sent          string `json:"sent"`
	Received      string `json:"received"`
	SentCount     int64  `json:"sentCount"`
	ReceivedCount int64  `json:"receivedCount"`
	Net           string `json:"net"`
}

// StateChange is one step of a settlement's history.
type StateChange struct {
	State  string `json:"state"`
	At     string `json:"at"`
	Reason string `json:"reason,omitempty"`
}

// SettlementList answers GET /settlements, by id.
type SettlementList struct {
	Settlements []SettlementSummary `json:"settlements"`
}

// Alert is a participant's level against its net debit cap going up
// (RAISED) or down (CLEARED): the body the participant's webhook got.
type Alert struct {
	ID          uint64 `json:"id"`
	Kind        string `json:"kind"`
	Participant string `json:"participant"`
	Currency    string `json:"currency"`
	Threshold   int    `json:"threshold"`
	Level       int    `json:"level"`
	// Utilisation is used*100/ndc rounded down; absent when ndc is 0.
	Utilisation *int64 `json:"utilisation,omitempty"`
	Used        string `json:"used"`
	Position    string `json:"position"`
	Reserved    string `json:"reserved"`
	NDC         string `json:"ndc"`
	Time        string `json:"time"`
}

// AlertList answers the alert routes, newest first.
type AlertList struct {
	Alerts []Alert `json:"alerts"`
}

// Endpoint is one of a participant's callback endpoints: a Mojaloop
// endpoint type and its URL or URL template.
type Endpoint struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// EndpointList answers the endpoint routes.
type EndpointList struct {
	Endpoints []Endpoint `json:"endpoints"`
}

// FailedCallback is a callback that was not delivered. Body holds a UTF-8
// body, BodyBase64 any other.
type FailedCallback struct {
	ID         string              `json:"id"`
	To         string              `json:"to"`
	Type       string              `json:"type"`
	Method     string              `json:"method"`
	URL        string              `json:"url,omitempty"`
	Path       string              `json:"path,omitempty"`
	Attempts   int                 `json:"attempts"`
	LastStatus int                 `json:"lastStatus,omitempty"`
	LastError  string              `json:"lastError"`
	First      string              `json:"first"`
	Last       string              `json:"last"`
	Headers    map[string][]string `json:"headers"`
	Body       *string             `json:"body,omitempty"`
	BodyBase64 string              `json:"bodyBase64,omitempty"`
}

// FailedCallbackPage is one page of a participant's failed callbacks.
// Next is the cursor of the next page, "" after the last.
type FailedCallbackPage struct {
	Failures []FailedCallback `json:"failures"`
	Next     string           `json:"next"`
}

// Reconciliation answers POST /participants/{id}/reconcile: the
// participant's records compared with the hub's transfers. Counts has one
// count per list, keyed by the list's JSON name; Clean is true when
// nothing but Matched has entries.
type Reconciliation struct {
	Participant          string           `json:"participant"`
	From                 string           `json:"from"`
	To                   string           `json:"to"`
	Clean                bool             `json:"clean"`
	Counts               map[string]int   `json:"counts"`
	Matched              []ReconcileEntry `json:"matched"`
	MissingAtHub         []ReconcileEntry `json:"missingAtHub"`
	MissingAtParticipant []ReconcileEntry `json:"missingAtParticipant"`
	AmountMismatches     []ReconcileEntry `json:"amountMismatches"`
	StateMismatches      []ReconcileEntry `json:"stateMismatches"`
	CurrencyMismatches   []ReconcileEntry `json:"currencyMismatches"`
	DirectionMismatches  []ReconcileEntry `json:"directionMismatches"`
}

// ReconcileEntry is one transfer of a reconciliation. Line is its line in
// the records file (0 when the file does not have it); a side is nil when
// that side does not have the transfer.
type ReconcileEntry struct {
	TransferID  string         `json:"transferId"`
	Line        int            `json:"line,omitempty"`
	Participant *ReconcileSide `json:"participant,omitempty"`
	Hub         *ReconcileSide `json:"hub,omitempty"`
}

// ReconcileSide is one side's view of a transfer. Kind and Counterparty
// are the hub's only.
type ReconcileSide struct {
	Kind         string `json:"kind,omitempty"`
	Currency     string `json:"currency"`
	Amount       string `json:"amount"`
	State        string `json:"state"`
	Direction    string `json:"direction,omitempty"`
	Counterparty string `json:"counterparty,omitempty"`
	Completed    string `json:"completed,omitempty"`
}

// The bodies of requests.

// CreateParticipantRequest is the body of POST /participants.
type CreateParticipantRequest struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CurrencyRequest is the body of POST /participants/{id}/currencies.
type CurrencyRequest struct {
	Currency string `json:"currency"`
}

// NDCRequest is the body of PUT /participants/{id}/currencies/{currency}/ndc.
type NDCRequest struct {
	Amount string `json:"amount"`
}

// FundsRequest is the body of funds in and funds out. ID is the
// movement's id, a lower-case UUID: a retry with the same id and content is
// applied once.
type FundsRequest struct {
	ID       string `json:"id"`
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

// AbortFundsOutRequest is the body of POST /funds-out/{transferId}/abort.
type AbortFundsOutRequest struct {
	Reason string `json:"reason"`
}

// ModelRequest is the body of PUT /settlement-models/{currency}.
type ModelRequest struct {
	Model string `json:"model"`
}

// CloseWindowRequest is the body of POST /settlement-windows/close.
type CloseWindowRequest struct {
	Currency string `json:"currency"`
}

// CreateSettlementRequest is the body of POST /settlements. Currency,
// when given, is checked against every window's.
type CreateSettlementRequest struct {
	Windows  []uint64 `json:"windows"`
	Currency string   `json:"currency,omitempty"`
}

// SettlementStateRequest is the body of PUT /settlements/{id}/state.
// Reason is required to abort.
type SettlementStateRequest struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// ErrorBody is the body of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is an error: a stable code to act on and a message for
// people. Lines lists the bad lines of a records file (code
// INVALID_RECORDS), at most a thousand.
type ErrorDetail struct {
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Lines   []LineError `json:"lines,omitempty"`
}

// LineError is a bad line of a records file; the header is line 1.
type LineError struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}
