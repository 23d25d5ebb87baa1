// Package settlement turns the ledger's settlement windows, settlements and
// final transfers into the documents a hub operator and its participants
// work from: settlement reports, account statements and reconciliations.
// Everything here is a pure function of ledger values and of two read-only
// interfaces over the stored transfers (Transfers and Archive, both
// implemented by store.Store); nothing here changes the ledger.
//
// The name is the domain's, not the machinery's: settlement itself
// (windows, nets, models and the settlement's states, each a ledger
// command) lives in package ledger, and the operator's steps through it in
// package operate. This package holds only the documents that record it.
//
// Amounts are int64 minor units everywhere in Go and are written in the
// FSPIOP amount form of money.FormatAmount ("12.5", "0", "-3") in JSON and
// CSV, in major units of the document's currency. ISO 20022 XML uses the
// fixed-decimals form of money.Format ("12.50"), as banks expect. Times are
// written in RFC 3339 with nanoseconds, in UTC.
//
// # Settlement reports
//
// WindowReport and SettlementReport give, per participant, the gross amount
// and count of the payments it sent and received and its net, Sent minus
// Received: positive when it owes, negative when it is owed. The totals row
// sums every participant; its Net is always zero and its Sent equals its
// Received. Both functions, and both writers, check that and return an error
// wrapping ErrUnbalanced rather than produce a report that does not balance.
//
// The CSV form has a header row, one row per participant ordered by id and a
// final row whose participant cell is TOTAL (the last row is the total even
// should a participant be called TOTAL):
//
//	participant,currency,sent_count,sent,received_count,received,net
//	payerfsp,USD,2,15,0,0,15
//	payeefsp,USD,0,0,2,15,-15
//	TOTAL,USD,2,15,2,15,0
//
// # Statements
//
// BuildStatement lists every movement of one participant's POSITION or
// SETTLEMENT account in one currency over a half-open time range [From, To),
// with the balance before it (opening), after each movement (running) and
// at the end (closing). A movement comes from
//
//	PAYMENT_SENT       a committed payment the participant paid: POSITION debit
//	PAYMENT_RECEIVED   a committed payment it was paid: POSITION credit
//	GROSS_SETTLEMENT   the same payment, when its window settles gross: the
//	                   payer's POSITION and SETTLEMENT are credited, the
//	                   payee's debited, at the payment's completion
//	FUNDS_IN           a deposit of collateral: SETTLEMENT debit
//	FUNDS_OUT          a committed withdrawal: SETTLEMENT credit
//	SETTLEMENT         a leg of a net settlement (ledger.Settlement.Legs), at
//	                   the time the settlement reached PS_TRANSFERS_COMMITTED
//
// Signs. Balances are the ledger's: debits minus credits of posted
// movements, so the closing balance of a range that ends after the last
// movement equals ledger.Account.Balance(). On POSITION a positive balance is
// what the participant owes the scheme (a net debtor since it last settled)
// and a negative one what it is owed; a debit (a payment sent) raises what it
// owes. On SETTLEMENT a positive balance is the collateral the participant
// holds at the settlement bank; a debit (funds in) raises it. The Debit and
// Credit of a Movement, and the debit and credit columns of the JSON and CSV
// forms, are in this ledger sense.
//
// The CSV form has a header row, an OPENING_BALANCE row at From, one row per
// movement and a CLOSING_BALANCE row at To whose debit and credit cells hold
// the totals of the movements; in a movement's row the debit or credit cell
// holds "0" on the side that did not move, and the id cells are empty where
// they do not apply:
//
//	time,kind,transfer_id,settlement_id,window_id,counterparty,debit,credit,balance
//
// ISO 20022. WriteCAMT053 writes a statement as a camt.053.001.08
// BankToCustomerStatement. There, CdtDbtInd is from the participant's point of
// view: CRDT is money in its favour and DBIT money against it. On POSITION a
// ledger credit is CRDT and a debit is DBIT, and a positive balance (it owes)
// is a DBIT balance; on SETTLEMENT a ledger debit is CRDT and a credit is
// DBIT, and a positive balance (it holds collateral) is a CRDT balance. A
// zero balance is CRDT. ISO limits account and reference identifiers to 34
// and 35 characters, fewer than a 32-character participant id with its
// currency and account type, or than a 36-character UUID, so the statement
// names the account by Acct/Id/Othr/Id = participant id, Acct/Tp/Prtry =
// POSITION or SETTLEMENT and Acct/Ccy = currency, with the full
// "participant/currency/type" in Acct/Nm; and an entry carries its transfer
// id as 32 hexadecimal digits without hyphens in Refs/EndToEndId and in the
// canonical UUID form in AddtlTxInf. A settlement entry has EndToEndId
// NOTPROVIDED and TxId SETTLEMENT-<id>. Entry codes (BkTxCd/Prtry/Cd) are the
// movement kinds above.
//
// # Reconciliation
//
// A participant states what it believes happened in a CSV file, read by
// ParseRecords. The first line is a header naming the columns, in any
// order; each later line is one transfer:
//
//	transfer_id   required; the transfer's UUID in canonical lower-case form
//	currency      required; ISO 4217 code, as in FSPIOP
//	amount        required; FSPIOP amount string in that currency, above 0
//	state         required; FSPIOP TransferState: RECEIVED, RESERVED,
//	              COMMITTED or ABORTED
//	direction     optional; SENT (the participant paid) or RECEIVED (it was
//	              paid, or for funds in, credited)
//	completed_at  optional; RFC 3339 time the transfer became final
//
// An optional column may be absent or its cell empty. Parsing is strict:
// no spaces around values, a column named twice or not known, a missing
// required column, a wrong number of cells, a transfer id given twice, or
// any value that does not parse, is an error naming its line (counted from
// 1, the header). ParseRecords reports every bad line, in a *RecordsError,
// and then returns no records at all. A leading UTF-8 byte order mark is
// ignored. For example:
//
//	transfer_id,currency,amount,state,direction,completed_at
//	9a3c1d4e-2b7f-4c1a-8e5d-0f6a7b8c9d0e,USD,12.5,COMMITTED,SENT,2030-01-02T03:04:05Z
//
// Reconcile compares the records with the hub's transfers. Each record's
// transfer is looked up by id; one the hub does not have, or that the
// participant is neither payer nor payee of, is missing at the hub (so a
// file cannot be used to learn about another participant's transfers).
// The others are compared field by field (currency, amount, state as FSPIOP
// reports it, direction when given); equal in all of them is a match. Then
// every committed transfer of the participant completed in the range (by
// default from the earliest completed_at in the file to just after the
// latest) that the file does not list is missing at the participant. Only
// committed transfers count there, because only they moved money, and only
// payments unless ReconcileRequest.Funds is set.
package settlement
