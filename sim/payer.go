package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/hutong/hutong/money"
)

// Payment is what Pay and Transfer report. On failure it holds what was
// learnt before the failing step.
type Payment struct {
	TransferID    string // transferId of POST /transfers
	QuoteID       string // quoteId of POST /quotes (Transfer: of the packet's Transaction)
	TransactionID string // transactionId

	Payer     Party  // the payer customer
	Payee     Party  // the payee
	PayeeFSP  string // the payee's FSP, from discovery
	PayeeName string // the payee's name, from discovery

	Amount   string // the amount asked for
	Currency string // its currency

	TransferAmount     string // transferAmount of the quote: what moved between the FSPs
	PayeeReceiveAmount string // payeeReceiveAmount of the quote, if given
	Fee                string // payeeFspFee of the quote, if given
	Commission         string // payeeFspCommission of the quote, if given

	Fulfilment string    // the fulfilment of a committed transfer
	State      string    // transferState: "COMMITTED" once committed
	Completed  time.Time // completedTimestamp of the transfer

	Phases Phases // how long each step took
}

// Phases is how long each step of a payment took, from sending its request
// to receiving its callback.
type Phases struct {
	Discovery time.Duration // GET /parties to PUT /parties
	Quote     time.Duration // POST /quotes to PUT /quotes
	Transfer  time.Duration // POST /transfers to PUT /transfers
}

// Payee is the receiving side of a Transfer: a customer of a simulated FSP
// whose ILP secret the payer knows. A payee FSP in the same process gives
// it with FSP.Payee; in another process, {FSP: id, Secret:
// DefaultSecret(id), Party: CustomerAlias(DefaultAliasPrefix(id), i)}.
type Payee struct {
	FSP    string // payee FSP id
	Secret []byte // its ILP secret
	Party  Party  // the payee customer
}

// waiter receives one callback.
type waiter struct{ ch chan callback }

func newWaiter() *waiter { return &waiter{ch: make(chan callback, 1)} }

// callback is a callback's content: val on success, info for an error
// callback.
type callback struct {
	val  any
	info *ErrorInformation
}

// outTransfer is a transfer this FSP sent as payer. Its amount is held
// from the customer's balance until the callback commits it (kept) or
// aborts it (given back).
type outTransfer struct {
	customer  *customer
	amount    int64
	condition string
	ch        chan transferResult
}

type transferResult struct {
	put  *transfersPut
	info *ErrorInformation
	bad  error // ErrFulfilment or ErrUnexpected
}

// wait waits for w's callback.
func (f *FSP) wait(ctx context.Context, phase Phase, w *waiter) (callback, error) {
	select {
	case cb := <-w.ch:
		if cb.info != nil {
			return cb, &Error{Phase: phase, Code: cb.info.ErrorCode, Description: cb.info.ErrorDescription, Err: ErrCallback}
		}
		return cb, nil
	case <-ctx.Done():
		return callback{}, &Error{Phase: phase, Err: fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())}
	case <-f.closed:
		return callback{}, ErrClosed
	}
}

// Pay pays amount of currency from the customer whose alias has
// PartyIdentifier from to the party to: discovery (GET /parties), quote
// (POST /quotes, amountType Config.AmountType) and transfer (POST
// /transfers with the quote's ILP packet and condition). The payer
// customer is debited the transfer amount when the transfer is sent and
// credited back if it fails.
//
// A step answered with an error callback fails with an *Error wrapping
// ErrCallback with the FSPIOP code; ctx ending first gives an *Error
// wrapping ErrTimeout. A transfer that timed out stays held from the
// customer until its callback comes (given back on an error callback).
func (f *FSP) Pay(ctx context.Context, from string, to Party, amount, currency string) (Payment, error) {
	if f.isClosed() {
		return Payment{Payee: to, Amount: amount, Currency: currency}, ErrClosed
	}
	pay := Payment{Payee: to, Amount: amount, Currency: currency}
	c := f.byID[from]
	if c == nil {
		return pay, fmt.Errorf("%w: %q is not a customer of %s", ErrUnknownCustomer, from, f.id)
	}
	pay.Payer = c.party
	if err := to.validate(); err != nil {
		return pay, err
	}
	if err := f.checkAmount(amount, currency); err != nil {
		return pay, err
	}
	start := time.Now()
	party, err := f.lookupParty(ctx, to)
	pay.Phases.Discovery = time.Since(start)
	if err != nil {
		f.stats.paymentsFailed.Add(1)
		return pay, err
	}
	pay.PayeeFSP, pay.PayeeName = party.PartyIDInfo.FspID, party.Name
	tt := TransactionType{Scenario: "TRANSFER", Initiator: "PAYER", InitiatorType: "CONSUMER"}
	err = f.quoteAndTransfer(ctx, c, party, f.cfg.AmountType, tt, "", "", &pay)
	return pay, err
}

func (f *FSP) checkAmount(amount, currency string) error {
	cur, ok := money.Lookup(currency)
	if !ok {
		return fmt.Errorf("sim: unknown currency %q", currency)
	}
	v, err := money.ParseAmount(amount, cur)
	if err != nil {
		return err
	}
	if v == 0 {
		return fmt.Errorf("sim: amount must be more than zero")
	}
	return nil
}

// lookupParty sends GET /parties and waits for the payee's party.
func (f *FSP) lookupParty(ctx context.Context, p Party) (*PartyInfo, error) {
	w := newWaiter()
	f.mu.Lock()
	f.partyWaiters[p] = append(f.partyWaiters[p], w)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		ws := slices.DeleteFunc(f.partyWaiters[p], func(x *waiter) bool { return x == w })
		if len(ws) == 0 {
			delete(f.partyWaiters, p)
		} else {
			f.partyWaiters[p] = ws
		}
		f.mu.Unlock()
	}()
	if err := f.send(ctx, PhaseDiscovery, http.MethodGet, "parties", partyPath("parties", p), "", nil); err != nil {
		return nil, err
	}
	cb, err := f.wait(ctx, PhaseDiscovery, w)
	if err != nil {
		return nil, err
	}
	return cb.val.(*PartyInfo), nil
}

// register adds a waiter under key.
func (f *FSP) register(key string) *waiter {
	w := newWaiter()
	f.mu.Lock()
	f.waiters[key] = w
	f.mu.Unlock()
	return w
}

func (f *FSP) unregister(key string) {
	f.mu.Lock()
	delete(f.waiters, key)
	f.mu.Unlock()
}

// deliverAfter delivers cb to the waiter under key once in is recorded.
func (f *FSP) deliverAfter(in *inbound, key string, cb callback) {
	in.then(func() { f.deliver(key, cb) })
}

// deliverPartyAfter delivers cb to the lookups of p once in is recorded.
func (f *FSP) deliverPartyAfter(in *inbound, p Party, cb callback) {
	in.then(func() { f.deliverParty(p, cb) })
}

// deliver hands a callback to the waiter under key, if any.
func (f *FSP) deliver(key string, cb callback) {
	f.mu.Lock()
	w := f.waiters[key]
	delete(f.waiters, key)
	f.mu.Unlock()
	if w != nil {
		w.ch <- cb
	}
}

// quoteAndTransfer runs the quote and transfer phases of a payment from c
// to payee.
func (f *FSP) quoteAndTransfer(ctx context.Context, c *customer, payee *PartyInfo, amountType string, tt TransactionType, requestID, note string, pay *Payment) error {
	err := f.runQuoteAndTransfer(ctx, c, payee, amountType, tt, requestID, note, pay)
	if err != nil {
		f.stats.paymentsFailed.Add(1)
	} else {
		f.stats.paymentsCommitted.Add(1)
	}
	return err
}

func (f *FSP) runQuoteAndTransfer(ctx context.Context, c *customer, payee *PartyInfo, amountType string, tt TransactionType, requestID, note string, pay *Payment) error {
	pay.QuoteID, pay.TransactionID = newID(), newID()
	q := quotesPost{
		QuoteID:              pay.QuoteID,
		TransactionID:        pay.TransactionID,
		TransactionRequestID: requestID,
		Payee:                payee,
		Payer:                c.info(f.id),
		AmountType:           amountType,
		Amount:               &Money{Amount: pay.Amount, Currency: pay.Currency},
		TransactionType:      &tt,
		Note:                 note,
	}
	body, err := json.Marshal(&q)
	if err != nil {
		return err
	}
	key := "q:" + pay.QuoteID
	w := f.register(key)
	start := time.Now()
	err = f.send(ctx, PhaseQuote, http.MethodPost, "quotes", "/quotes", payee.PartyIDInfo.FspID, body)
	var cb callback
	if err == nil {
		cb, err = f.wait(ctx, PhaseQuote, w)
	}
	pay.Phases.Quote = time.Since(start)
	f.unregister(key)
	if err != nil {
		return err
	}
	quote := cb.val.(*quotesPut)
	pay.TransferAmount = quote.TransferAmount.Amount
	if quote.PayeeReceiveAmount != nil {
		pay.PayeeReceiveAmount = quote.PayeeReceiveAmount.Amount
	}
	if quote.PayeeFspFee != nil {
		pay.Fee = quote.PayeeFspFee.Amount
	}
	if quote.PayeeFspCommission != nil {
		pay.Commission = quote.PayeeFspCommission.Amount
	}
	if quote.TransferAmount.Currency != pay.Currency {
		f.stats.protocolErrors.Add(1)
		return &Error{Phase: PhaseQuote, Description: fmt.Sprintf("transferAmount is in %s, not %s", quote.TransferAmount.Currency, pay.Currency), Err: ErrUnexpected}
	}
	return f.transfer(ctx, c, payee.PartyIDInfo.FspID, *quote.TransferAmount, quote.IlpPacket, quote.Condition, pay)
}

// transfer runs the transfer phase: POST /transfers, wait PUT.
func (f *FSP) transfer(ctx context.Context, c *customer, payeeFSP string, amount Money, ilp, condition string, pay *Payment) error {
	cur, ok := money.Lookup(amount.Currency)
	if !ok || cur != f.cur {
		return &Error{Phase: PhaseTransfer, Description: fmt.Sprintf("the payer holds %s, not %s", f.cur.Code, amount.Currency), Err: ErrUnexpected}
	}
	minor, err := money.ParseAmount(amount.Amount, cur)
	if err != nil {
		return &Error{Phase: PhaseTransfer, Description: err.Error(), Err: ErrUnexpected}
	}
	if !c.debit(minor) {
		return &Error{Phase: PhaseTransfer, Description: fmt.Sprintf("%s holds less than %s %s", c.party, amount.Amount, amount.Currency), Err: ErrInsufficientFunds}
	}
	pay.TransferID = newID()
	ot := &outTransfer{customer: c, amount: minor, condition: condition, ch: make(chan transferResult, 1)}
	f.mu.Lock()
	f.outgoing[pay.TransferID] = ot
	f.mu.Unlock()
	body := appendTransfersPost(make([]byte, 0, 256+len(ilp)), &transfersPost{
		TransferID: pay.TransferID,
		PayeeFsp:   payeeFSP,
		PayerFsp:   f.id,
		Amount:     &amount,
		IlpPacket:  ilp,
		Condition:  condition,
		Expiration: formatDateTime(f.now().Add(f.cfg.TransferExpiry)),
	})
	start := time.Now()
	err = f.send(ctx, PhaseTransfer, http.MethodPost, "transfers", "/transfers", payeeFSP, body)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Status != 0 {
			// Refused: the hub took no transfer.
			f.mu.Lock()
			_, mine := f.outgoing[pay.TransferID]
			delete(f.outgoing, pay.TransferID)
			f.mu.Unlock()
			if mine {
				c.balance.Add(minor)
			}
		}
		pay.Phases.Transfer = time.Since(start)
		return err
	}
	var res transferResult
	select {
	case res = <-ot.ch:
	case <-ctx.Done():
		pay.Phases.Transfer = time.Since(start)
		return &Error{Phase: PhaseTransfer, Err: fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())}
	case <-f.closed:
		return ErrClosed
	}
	pay.Phases.Transfer = time.Since(start)
	switch {
	case res.info != nil:
		return &Error{Phase: PhaseTransfer, Code: res.info.ErrorCode, Description: res.info.ErrorDescription, Err: ErrCallback}
	case res.bad != nil:
		pay.State = res.put.TransferState
		pay.Fulfilment = res.put.Fulfilment
		return &Error{Phase: PhaseTransfer, Description: fmt.Sprintf("transferState %s, fulfilment %q", res.put.TransferState, res.put.Fulfilment), Err: res.bad}
	}
	pay.State, pay.Fulfilment = res.put.TransferState, res.put.Fulfilment
	if t, err := parseDateTime(res.put.CompletedTimestamp); err == nil {
		pay.Completed = t
	}
	return nil
}

// Transfer runs only the transfer phase of a payment, for benchmarks: it
// builds the ILP packet the payee FSP would have quoted (a Transaction for
// amount from the customer from to to.Party) and computes its condition
// with to.Secret, then sends POST /transfers and waits for the callback.
// No fee applies.
func (f *FSP) Transfer(ctx context.Context, from string, to Payee, amount, currency string) (Payment, error) {
	if f.isClosed() {
		return Payment{Payee: to.Party, PayeeFSP: to.FSP, Amount: amount, Currency: currency}, ErrClosed
	}
	pay := Payment{Payee: to.Party, PayeeFSP: to.FSP, Amount: amount, Currency: currency, TransferAmount: amount}
	c := f.byID[from]
	if c == nil {
		return pay, fmt.Errorf("%w: %q is not a customer of %s", ErrUnknownCustomer, from, f.id)
	}
	pay.Payer = c.party
	if currency != f.cur.Code {
		return pay, fmt.Errorf("sim: %s holds %s, not %s", f.id, f.cur.Code, currency)
	}
	minor, err := money.ParseAmount(amount, f.cur)
	if err != nil {
		return pay, err
	}
	pay.QuoteID, pay.TransactionID = newID(), newID()
	tx := Transaction{
		TransactionID:   pay.TransactionID,
		QuoteID:         pay.QuoteID,
		Payee:           PartyInfo{PartyIDInfo: to.Party.idInfo(to.FSP)},
		Payer:           PartyInfo{PartyIDInfo: c.party.idInfo(f.id)},
		Amount:          Money{Amount: amount, Currency: currency},
		TransactionType: TransactionType{Scenario: "TRANSFER", Initiator: "PAYER", InitiatorType: "CONSUMER"},
	}
	ilp, cond, err := buildPacket(&tx, minor, f.now().Add(f.cfg.TransferExpiry), Address(to.FSP, to.Party), to.Secret)
	if err != nil {
		return pay, err
	}
	err = f.transfer(ctx, c, to.FSP, tx.Amount, ilp, Encode32(cond), &pay)
	if err != nil {
		f.stats.paymentsFailed.Add(1)
	} else {
		f.stats.paymentsCommitted.Add(1)
	}
	return pay, err
}

// putParties takes PUT /parties/{Type}/{ID}[/{SubId}] and answers every
// lookup of that party in flight.
func (f *FSP) putParties(in *inbound) *protocolError {
	p, perr := partyFromSegs(in.segs, false)
	if perr != nil {
		return perr
	}
	var b partiesPut
	if perr := decode(in, &b); perr != nil {
		return perr
	}
	if b.Party == nil || b.Party.PartyIDInfo.PartyIDType == "" || b.Party.PartyIDInfo.PartyIdentifier == "" {
		return missing("party.partyIdInfo")
	}
	if b.Party.PartyIDInfo.FspID == "" {
		return missing("party.partyIdInfo.fspId")
	}
	f.deliverPartyAfter(in, p, callback{val: b.Party})
	return nil
}

// putPartiesError takes PUT /parties/{Type}/{ID}[/{SubId}]/error.
func (f *FSP) putPartiesError(in *inbound) *protocolError {
	p, perr := partyFromSegs(in.segs, true)
	if perr != nil {
		return perr
	}
	info, perr := checkErrorBody(in)
	if perr != nil {
		return perr
	}
	f.deliverPartyAfter(in, p, callback{info: info})
	return nil
}

func (f *FSP) deliverParty(p Party, cb callback) {
	f.mu.Lock()
	ws := f.partyWaiters[p]
	delete(f.partyWaiters, p)
	f.mu.Unlock()
	for _, w := range ws {
		w.ch <- cb
	}
}

// putQuotes takes PUT /quotes/{ID}.
func (f *FSP) putQuotes(in *inbound) *protocolError {
	var q quotesPut
	if perr := decode(in, &q); perr != nil {
		return perr
	}
	if perr := checkMoney(q.TransferAmount, "transferAmount"); perr != nil {
		return perr
	}
	if q.Expiration == "" {
		return missing("expiration")
	}
	if q.IlpPacket == "" {
		return missing("ilpPacket")
	}
	if _, err := Decode32(q.Condition); err != nil {
		return badRequest(CodeMalformedSyntax, "condition: %v", err)
	}
	f.deliverAfter(in, "q:"+in.segs[0], callback{val: &q})
	return nil
}

// putQuotesError takes PUT /quotes/{ID}/error.
func (f *FSP) putQuotesError(in *inbound) *protocolError {
	info, perr := checkErrorBody(in)
	if perr != nil {
		return perr
	}
	f.deliverAfter(in, "q:"+in.segs[0], callback{info: info})
	return nil
}

// putTransfers takes PUT /transfers/{ID}, the end of a transfer this FSP
// sent as payer. A commit whose fulfilment does not match the condition,
// or any state but COMMITTED, is a protocol error.
func (f *FSP) putTransfers(in *inbound) *protocolError {
	var t transfersPut
	if perr := decode(in, &t); perr != nil {
		return perr
	}
	if t.TransferState == "" {
		return missing("transferState")
	}
	id := in.segs[0]
	f.mu.Lock()
	ot := f.outgoing[id]
	delete(f.outgoing, id)
	f.mu.Unlock()
	if ot == nil {
		return nil // a resent callback, or for a transfer given up
	}
	var perr *protocolError
	res := transferResult{put: &t}
	switch {
	case t.TransferState != "COMMITTED":
		res.bad = ErrUnexpected
		perr = badRequest(CodeMalformedSyntax, "transferState %q in the callback to the payer; want COMMITTED", t.TransferState)
		if t.TransferState == "ABORTED" {
			ot.customer.balance.Add(ot.amount)
		}
	case !Matches(t.Fulfilment, ot.condition):
		res.bad = ErrFulfilment
		perr = badRequest(CodeMalformedSyntax, "fulfilment %q does not match condition %q", t.Fulfilment, ot.condition)
	}
	in.then(func() { ot.ch <- res })
	return perr
}

// RequestResult is what RequestToPay reports.
type RequestResult struct {
	TransactionRequestID string // transactionRequestId
	PayerFSP             string // the payer's FSP, from discovery
	State                string // transactionRequestState: RECEIVED, PENDING, ACCEPTED or REJECTED
	TransactionID        string // transactionId, if the payer FSP gave one
}

// RequestToPay asks payer to pay amount to the customer of this FSP whose
// alias has PartyIdentifier to: discovery of the payer (GET /parties),
// then POST /transactionRequests, waiting for the payer FSP's
// PUT /transactionRequests/{ID}. A payer FSP that approves then pays with
// POST /quotes and POST /transfers, which this FSP answers as payee.
func (f *FSP) RequestToPay(ctx context.Context, to string, payer Party, amount, currency string) (RequestResult, error) {
	if f.isClosed() {
		return RequestResult{}, ErrClosed
	}
	var res RequestResult
	c := f.byID[to]
	if c == nil {
		return res, fmt.Errorf("%w: %q is not a customer of %s", ErrUnknownCustomer, to, f.id)
	}
	if err := payer.validate(); err != nil {
		return res, err
	}
	if err := f.checkAmount(amount, currency); err != nil {
		return res, err
	}
	party, err := f.lookupParty(ctx, payer)
	if err != nil {
		return res, err
	}
	res.PayerFSP = party.PartyIDInfo.FspID
	res.TransactionRequestID = newID()
	r := transactionRequestsPost{
		TransactionRequestID: res.TransactionRequestID,
		Payee:                c.info(f.id),
		Payer:                &party.PartyIDInfo,
		Amount:               &Money{Amount: amount, Currency: currency},
		TransactionType:      &TransactionType{Scenario: "PAYMENT", Initiator: "PAYEE", InitiatorType: "CONSUMER"},
	}
	body, err := json.Marshal(&r)
	if err != nil {
		return res, err
	}
	key := "r:" + res.TransactionRequestID
	w := f.register(key)
	defer f.unregister(key)
	if err := f.send(ctx, PhaseRequest, http.MethodPost, "transactionRequests", "/transactionRequests", res.PayerFSP, body); err != nil {
		return res, err
	}
	cb, err := f.wait(ctx, PhaseRequest, w)
	if err != nil {
		return res, err
	}
	put := cb.val.(*transactionRequestsPut)
	res.State, res.TransactionID = put.TransactionRequestState, put.TransactionID
	return res, nil
}

// putTransactionRequests takes PUT /transactionRequests/{ID}.
func (f *FSP) putTransactionRequests(in *inbound) *protocolError {
	var r transactionRequestsPut
	if perr := decode(in, &r); perr != nil {
		return perr
	}
	switch r.TransactionRequestState {
	case "RECEIVED", "PENDING", "ACCEPTED", "REJECTED":
	case "":
		return missing("transactionRequestState")
	default:
		return badRequest(CodeMalformedSyntax, "transactionRequestState %q", r.TransactionRequestState)
	}
	f.deliverAfter(in, "r:"+in.segs[0], callback{val: &r})
	return nil
}

// putTransactionRequestsError takes PUT /transactionRequests/{ID}/error.
func (f *FSP) putTransactionRequestsError(in *inbound) *protocolError {
	info, perr := checkErrorBody(in)
	if perr != nil {
		return perr
	}
	f.deliverAfter(in, "r:"+in.segs[0], callback{info: info})
	return nil
}
