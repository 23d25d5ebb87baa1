package sim

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/hutong/hutong/money"
)

// inTransfer is a transfer the FSP answered RESERVED, waiting for the
// hub's commit notification.
type inTransfer struct {
	customer *customer
	credit   int64
}

// sendError sends an FSPIOP error callback PUT path/error to dest.
func (f *FSP) sendError(ctx context.Context, resource, path, dest, code, desc string) error {
	return f.send(ctx, "", http.MethodPut, resource, path+"/error", dest, appendErrorBody(nil, code, desc))
}

// getParties answers GET /parties/{Type}/{ID}[/{SubId}].
func (f *FSP) getParties(in *inbound) *protocolError {
	p, perr := partyFromSegs(in.segs, false)
	if perr != nil {
		return perr
	}
	src := in.source
	f.later(in, func(ctx context.Context) { f.answerParty(ctx, src, p) })
	return nil
}

func (f *FSP) answerParty(ctx context.Context, dest string, p Party) {
	path := partyPath("parties", p)
	c := f.byParty[p]
	if c == nil {
		f.stats.partiesNotFound.Add(1)
		f.sendError(ctx, "parties", path, dest, CodePartyNotFound, "Party not found: "+p.String())
		return
	}
	body, _ := json.Marshal(partiesPut{Party: c.info(f.id)})
	if f.send(ctx, "", http.MethodPut, "parties", path, dest, body) == nil {
		f.stats.partiesAnswered.Add(1)
	}
}

// postQuotes answers POST /quotes.
func (f *FSP) postQuotes(in *inbound) *protocolError {
	var q quotesPost
	if perr := decode(in, &q); perr != nil {
		return perr
	}
	if perr := checkID(q.QuoteID, "quoteId"); perr != nil {
		return perr
	}
	if perr := checkID(q.TransactionID, "transactionId"); perr != nil {
		return perr
	}
	if q.Payee == nil || q.Payee.PartyIDInfo.PartyIDType == "" || q.Payee.PartyIDInfo.PartyIdentifier == "" {
		return missing("payee.partyIdInfo")
	}
	if q.Payer == nil || q.Payer.PartyIDInfo.PartyIDType == "" || q.Payer.PartyIDInfo.PartyIdentifier == "" {
		return missing("payer.partyIdInfo")
	}
	if q.AmountType != "SEND" && q.AmountType != "RECEIVE" {
		return badRequest(CodeMalformedSyntax, "amountType %q is neither SEND nor RECEIVE", q.AmountType)
	}
	if perr := checkMoney(q.Amount, "amount"); perr != nil {
		return perr
	}
	if q.TransactionType == nil {
		return missing("transactionType")
	}
	src := in.source
	f.later(in, func(ctx context.Context) { f.answerQuote(ctx, src, &q) })
	return nil
}

func (f *FSP) answerQuote(ctx context.Context, dest string, q *quotesPost) {
	path := "/quotes/" + url.PathEscape(q.QuoteID)
	reject := func(code, desc string) {
		f.stats.quotesRejected.Add(1)
		f.sendError(ctx, "quotes", path, dest, code, desc)
	}
	b := f.behav.Load()
	if b.RejectQuotes {
		reject(b.RejectCode, "Payee FSP rejected quote")
		return
	}
	if q.Amount.Currency != f.cur.Code {
		reject(CodePayeeCurrency, fmt.Sprintf("Payee unsupported currency %s; this FSP holds %s", q.Amount.Currency, f.cur.Code))
		return
	}
	c := f.byParty[partyOf(&q.Payee.PartyIDInfo)]
	if c == nil {
		reject(CodePartyNotFound, "Party not found: "+partyOf(&q.Payee.PartyIDInfo).String())
		return
	}
	amount, err := money.ParseAmount(q.Amount.Amount, f.cur)
	if err != nil || amount == 0 {
		reject(CodeMalformedSyntax, fmt.Sprintf("amount %q is not a positive %s amount", q.Amount.Amount, f.cur.Code))
		return
	}
	var transfer, receive int64
	if q.AmountType == "RECEIVE" {
		receive = amount
		t, ok := money.Add(amount, b.fee)
		if !ok {
			reject(CodeGenericValidation, "amount plus fee overflows")
			return
		}
		transfer = t
	} else {
		transfer, receive = amount, amount-b.fee
		if receive <= 0 {
			reject(CodeGenericValidation, "the payee FSP fee is not less than the amount sent")
			return
		}
	}
	expiration := f.now().Add(f.cfg.QuoteExpiry)
	tx := Transaction{
		TransactionID:   q.TransactionID,
		QuoteID:         q.QuoteID,
		Payee:           *c.info(f.id),
		Payer:           *q.Payer,
		Amount:          Money{Amount: money.FormatAmount(transfer, f.cur), Currency: f.cur.Code},
		TransactionType: *q.TransactionType,
		Note:            q.Note,
	}
	ilp, cond, err := buildPacket(&tx, transfer, expiration, Address(f.id, c.party), f.secret)
	if err != nil {
		reject(CodePayeeRejection, "cannot build the ILP packet: "+err.Error())
		return
	}
	put := quotesPut{
		TransferAmount:     &tx.Amount,
		PayeeReceiveAmount: &Money{Amount: money.FormatAmount(receive, f.cur), Currency: f.cur.Code},
		Expiration:         formatDateTime(expiration),
		IlpPacket:          ilp,
		Condition:          Encode32(cond),
	}
	if b.fee > 0 {
		put.PayeeFspFee = &Money{Amount: money.FormatAmount(b.fee, f.cur), Currency: f.cur.Code}
	}
	body, _ := json.Marshal(&put)
	if f.send(ctx, "", http.MethodPut, "quotes", path, dest, body) == nil {
		f.stats.quotesAnswered.Add(1)
	}
}

// buildPacket returns the ilpPacket of tx (an ILP v4 Prepare whose data is
// the base64url of tx's JSON) and its condition under secret.
func buildPacket(tx *Transaction, amount int64, expires time.Time, account string, secret []byte) (string, [32]byte, error) {
	js, err := json.Marshal(tx)
	if err != nil {
		return "", [32]byte{}, err
	}
	data := make([]byte, base64.RawURLEncoding.EncodedLen(len(js)))
	base64.RawURLEncoding.Encode(data, js)
	p := Packet{Amount: uint64(amount), ExpiresAt: expires, Account: account, Data: data}
	raw, err := p.Encode()
	if err != nil {
		return "", [32]byte{}, err
	}
	return base64.RawURLEncoding.EncodeToString(raw), Condition(Fulfil(secret, raw)), nil
}

// postTransfers answers POST /transfers.
func (f *FSP) postTransfers(in *inbound) *protocolError {
	var t transfersPost
	if perr := decode(in, &t); perr != nil {
		return perr
	}
	if perr := checkID(t.TransferID, "transferId"); perr != nil {
		return perr
	}
	if t.PayerFsp == "" {
		return missing("payerFsp")
	}
	if t.PayeeFsp != f.id {
		return badRequest(CodeMalformedSyntax, "payeeFsp is %q, not %q", t.PayeeFsp, f.id)
	}
	if perr := checkMoney(t.Amount, "amount"); perr != nil {
		return perr
	}
	if t.IlpPacket == "" {
		return missing("ilpPacket")
	}
	if _, err := Decode32(t.Condition); err != nil {
		return badRequest(CodeMalformedSyntax, "condition: %v", err)
	}
	exp, err := parseDateTime(t.Expiration)
	if err != nil {
		return badRequest(CodeMalformedSyntax, "expiration %q is not a DateTime", t.Expiration)
	}
	src := in.source
	f.later(in, func(ctx context.Context) { f.answerTransfer(ctx, src, &t, exp) })
	return nil
}

func (f *FSP) answerTransfer(ctx context.Context, dest string, t *transfersPost, exp time.Time) {
	path := "/transfers/" + url.PathEscape(t.TransferID)
	reject := func(code, desc string) {
		f.stats.transfersRejected.Add(1)
		f.sendError(ctx, "transfers", path, dest, code, desc)
	}
	b := f.behav.Load()
	if b.NoAnswer {
		f.stats.transfersIgnored.Add(1)
		return
	}
	now := f.now()
	if !now.Before(exp) {
		reject(CodeTransferExpired, "Transfer expired at "+t.Expiration)
		return
	}
	if t.Amount.Currency != f.cur.Code {
		reject(CodePayeeCurrency, fmt.Sprintf("Payee unsupported currency %s; this FSP holds %s", t.Amount.Currency, f.cur.Code))
		return
	}
	amount, err := money.ParseAmount(t.Amount.Amount, f.cur)
	if err != nil || amount <= 0 {
		reject(CodeMalformedSyntax, fmt.Sprintf("amount %q is not a positive %s amount", t.Amount.Amount, f.cur.Code))
		return
	}
	p, raw, err := ParsePacket(t.IlpPacket)
	if err != nil {
		reject(CodeRejectedTransfer, err.Error())
		return
	}
	if p.Amount != uint64(amount) {
		reject(CodeRejectedTransfer, fmt.Sprintf("ILP packet amount %d differs from the transfer amount %d", p.Amount, amount))
		return
	}
	fulfilment := Fulfil(f.secret, raw)
	cond := Condition(fulfilment)
	want, _ := Decode32(t.Condition)
	if subtle.ConstantTimeCompare(cond[:], want[:]) != 1 {
		reject(CodeRejectedTransfer, "condition does not match the ILP packet")
		return
	}
	tx, err := TransactionFromPacket(p)
	if err != nil {
		reject(CodeRejectedTransfer, err.Error())
		return
	}
	c := f.byParty[partyOf(&tx.Payee.PartyIDInfo)]
	if c == nil {
		reject(CodeRejectedTransfer, "no such payee: "+partyOf(&tx.Payee.PartyIDInfo).String())
		return
	}
	credit := amount
	if b.fee > 0 && amount > b.fee {
		credit = amount - b.fee
	}
	if b.WrongFulfilment {
		fulfilment = Fulfil(f.secret, append(raw, 0))
	}
	put := transfersPut{Fulfilment: Encode32(fulfilment), CompletedTimestamp: formatDateTime(now), TransferState: "COMMITTED"}
	if b.CommitNotification {
		put.TransferState = "RESERVED"
		f.mu.Lock()
		f.reserved[t.TransferID] = &inTransfer{customer: c, credit: credit}
		f.mu.Unlock()
	}
	err = f.send(ctx, "", http.MethodPut, "transfers", path, dest, appendTransfersPut(nil, &put))
	switch {
	case err != nil && b.CommitNotification:
		f.mu.Lock()
		delete(f.reserved, t.TransferID)
		f.mu.Unlock()
	case err != nil:
	case !b.CommitNotification && !b.WrongFulfilment:
		f.stats.transfersFulfilled.Add(1)
		c.balance.Add(credit)
		f.stats.credited.Add(1)
	default:
		f.stats.transfersFulfilled.Add(1)
	}
}

// patchTransfers takes the hub's commit notification PATCH /transfers/{ID}.
func (f *FSP) patchTransfers(in *inbound) *protocolError {
	var p transfersPatch
	if perr := decode(in, &p); perr != nil {
		return perr
	}
	if p.CompletedTimestamp == "" {
		return missing("completedTimestamp")
	}
	if p.TransferState != "COMMITTED" && p.TransferState != "ABORTED" {
		return badRequest(CodeMalformedSyntax, "transferState %q in a commit notification is neither COMMITTED nor ABORTED", p.TransferState)
	}
	id := in.segs[0]
	f.mu.Lock()
	r := f.reserved[id]
	delete(f.reserved, id)
	f.mu.Unlock()
	if r == nil {
		return badRequest(CodeGenericClient, "commit notification for transfer %s, which this FSP did not answer RESERVED", id)
	}
	if p.TransferState == "COMMITTED" {
		f.stats.commitsNotified.Add(1)
		r.customer.balance.Add(r.credit)
		f.stats.credited.Add(1)
	} else {
		f.stats.abortsNotified.Add(1)
	}
	return nil
}

// putTransfersError takes PUT /transfers/{ID}/error: the end of a transfer
// this FSP sent as payer, or the hub's word that a transfer it answered
// failed.
func (f *FSP) putTransfersError(in *inbound) *protocolError {
	info, perr := checkErrorBody(in)
	if perr != nil {
		return perr
	}
	id := in.segs[0]
	f.mu.Lock()
	ot := f.outgoing[id]
	delete(f.outgoing, id)
	delete(f.reserved, id)
	f.mu.Unlock()
	if ot != nil {
		ot.customer.balance.Add(ot.amount)
		in.then(func() { ot.ch <- transferResult{info: info} })
	}
	return nil
}

// postTransactionRequests answers POST /transactionRequests: a payee asks
// one of this FSP's customers to pay. Unless RejectTransactionRequests is
// set, the FSP answers RECEIVED and pays at once (quote and transfer).
func (f *FSP) postTransactionRequests(in *inbound) *protocolError {
	var r transactionRequestsPost
	if perr := decode(in, &r); perr != nil {
		return perr
	}
	if perr := checkID(r.TransactionRequestID, "transactionRequestId"); perr != nil {
		return perr
	}
	if r.Payee == nil || r.Payee.PartyIDInfo.PartyIDType == "" || r.Payee.PartyIDInfo.PartyIdentifier == "" || r.Payee.PartyIDInfo.FspID == "" {
		return missing("payee.partyIdInfo with its fspId")
	}
	if r.Payer == nil || r.Payer.PartyIDType == "" || r.Payer.PartyIdentifier == "" {
		return missing("payer")
	}
	if perr := checkMoney(r.Amount, "amount"); perr != nil {
		return perr
	}
	if r.TransactionType == nil {
		return missing("transactionType")
	}
	f.stats.requestsReceived.Add(1)
	src := in.source
	f.later(in, func(ctx context.Context) { f.answerTransactionRequest(ctx, src, &r) })
	return nil
}

func (f *FSP) answerTransactionRequest(ctx context.Context, dest string, r *transactionRequestsPost) {
	path := "/transactionRequests/" + url.PathEscape(r.TransactionRequestID)
	c := f.byParty[partyOf(r.Payer)]
	if c == nil {
		f.sendError(ctx, "transactionRequests", path, dest, CodePartyNotFound, "Party not found: "+partyOf(r.Payer).String())
		return
	}
	put := transactionRequestsPut{TransactionRequestState: "RECEIVED"}
	if f.behav.Load().RejectTransactionRequests {
		put.TransactionRequestState = "REJECTED"
	}
	body, _ := json.Marshal(&put)
	if f.send(ctx, "", http.MethodPut, "transactionRequests", path, dest, body) != nil || put.TransactionRequestState == "REJECTED" {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, f.cfg.TransferExpiry+f.cfg.QuoteExpiry)
	defer cancel()
	pay := Payment{Payer: c.party, Payee: partyOf(&r.Payee.PartyIDInfo), PayeeFSP: r.Payee.PartyIDInfo.FspID,
		PayeeName: r.Payee.Name, Amount: r.Amount.Amount, Currency: r.Amount.Currency}
	f.quoteAndTransfer(pctx, c, r.Payee, "RECEIVE", *r.TransactionType, r.TransactionRequestID, r.Note, &pay)
}
