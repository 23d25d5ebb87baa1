// Package sim runs simulated FSPs (wallets, banks) that play the FSP side of
// the FSPIOP v1.1 API against a hub, for demos, end-to-end tests and
// benchmarks.
//
// A simulated FSP is an HTTP server serving the paths a hub calls on an
// FSP, under the base URL the hub has for it (FSP.URL):
//
//	GET  /parties/{Type}/{ID}[/{SubId}]                 as payee: who is this customer?
//	PUT  /parties/{Type}/{ID}[/{SubId}][/error]         as payer: the answer to a lookup
//	PUT  /participants/{Type}/{ID}[/{SubId}][/error]    the answer to registering an alias
//	PUT  /participants/{requestId}[/error]              the answer to registering a batch
//	POST /quotes                                        as payee: quote a payment
//	PUT  /quotes/{ID}[/error]                           as payer: the quote
//	POST /transfers                                     as payee: fulfil a transfer
//	PUT  /transfers/{ID}[/error]                        as payer: the transfer's end
//	PATCH /transfers/{ID}                               as payee: the commit notification
//	POST /transactionRequests                           as payer: a payee asks for money
//	PUT  /transactionRequests/{ID}[/error]              as payee: the payer FSP's answer
//
// Requests are answered 202 and callbacks 200 at once; the work a request
// calls for (a lookup, a quote, a fulfilment) is done by a fixed pool of
// workers, which send the callback to the hub. Every request and callback
// the FSP sends carries FSPIOP-Source (its id), FSPIOP-Destination (when the
// counterparty is known: not on GET /parties, and on POST /participants
// only when Config.HubID is set), Date, and Content-Type (and, on requests,
// Accept) application/vnd.interoperability.<resource>+json;version=1.1.
//
// What the hub sends is checked enough to catch a hub's mistakes: the
// Content-Type (and Accept on GET and POST) must name the path's resource at
// version 1.0 or 1.1, Date must be an HTTP date, FSPIOP-Source must be
// present and FSPIOP-Destination must be this FSP, the body must be
// well-formed JSON with the elements the FSP needs. A request that fails is
// answered 400 (404, 405 for an unknown path or method) with an FSPIOP
// errorInformation, counted in Stats.ProtocolErrors and recorded as an Event
// with its ProtocolError.
//
// # Customers
//
// An FSP has Config.Customers customers, in memory, each with a balance in
// the FSP's currency. Customer i (from 1) has the alias MSISDN
// <prefix><i in six digits>, the prefix being Config.AliasPrefix or, by
// default, DefaultAliasPrefix(id): "99" and six digits derived from the FSP
// id. So customer 1 of "payfast" can be paid from any process that knows
// the id: CustomerAlias(DefaultAliasPrefix("payfast"), 1). Register
// registers every alias with the hub (POST /participants).
//
// # Payments
//
// As payer, Pay runs discovery (GET /parties), quote (POST /quotes) and
// transfer (POST /transfers) and reports each step's duration. Callbacks
// are matched to their request by quoteId, transferId, or by the party for
// lookups (several lookups of one party may be in flight; one callback
// answers them all). Transfer runs the transfer phase alone, building the
// ILP packet itself, for benchmarks.
//
// As payee, the FSP answers a quote with transferAmount = amount + fee
// (amountType RECEIVE; the payee receives the amount) or transferAmount =
// amount (SEND; the payee receives amount - fee), and answers a transfer by
// checking the ILP packet against the transfer and the condition, then
// PUT /transfers/{ID} COMMITTED with the fulfilment, crediting the customer;
// with Behaviour.CommitNotification it answers RESERVED and credits only on
// the hub's PATCH /transfers/{ID} COMMITTED.
//
// # Interledger
//
// The ilpPacket of a quote is an ILP v4 Prepare packet, OER-encoded and
// base64url-encoded:
//
//	type    uint8 = 12
//	length  OER length determinant of what follows
//	amount  uint64, big-endian: transferAmount in the currency's minor unit
//	expires 17 ASCII digits YYYYMMDDHHMMSSmmm, UTC: the quote's expiration
//	cond    32 bytes, zero (the condition is derived from the packet)
//	account OER length + ILP address g.<fsp>.<type>.<id>[.<subId>]
//	data    OER length + base64url (no padding) of the JSON Transaction
//
// The fulfilment is HMAC-SHA256 of the packet's bytes keyed with the payee
// FSP's 32-byte secret; the condition is SHA-256 of the fulfilment; both
// travel as 43 characters of base64url without padding. The payee FSP
// recomputes the fulfilment from the packet of the incoming transfer, so
// it keeps no state between quote and transfer. DecodePacket also reads the
// legacy ILP payment packet of the specification's examples, whose data is
// the JSON itself.
package sim
