// Package fspiop serves the FSPIOP API, version 1.1 (Mojaloop's, with 1.0
// content accepted), through which wallets and banks pay each other via
// the hub.
//
// Every message is asynchronous. A request is checked and answered at once,
// 202 with no body, or 4xx with an FSPIOP errorInformation body when its
// headers or body are wrong; its result travels later as a callback. A
// callback is answered 200. The hub routes by FSPIOP-Destination and sends
// messages on with their headers (signature, URI, method, traceparent
// included) and body byte for byte; messages the hub writes itself carry
// FSPIOP-Source "hub".
//
//	payer FSP                  hub                               payee FSP
//	GET /parties/{T}/{ID}  ->  directory: who holds it       ->  GET /parties/{T}/{ID}
//	                       <-  routed by FSPIOP-Destination  <-  PUT /parties/{T}/{ID}
//	POST /quotes           ->  checked, recorded             ->  POST /quotes
//	                       <-                                <-  PUT /quotes/{ID}
//	POST /transfers        ->  ledger: reserve the payer's   ->  POST /transfers
//	                           position (202 once durable)
//	                       <-  ledger: commit when SHA-256   <-  PUT /transfers/{ID}
//	                           (fulfilment) = condition          (COMMITTED, or RESERVED to
//	                           PATCH /transfers/{ID}         ->   ask for a commit notification)
//	expiry, no fulfilment  ->  ledger: abort; PUT /transfers/{ID}/error 3303 to both
//
// A POST /transfers is answered 202 only once the ledger's decision on it
// is durable; a refusal (limit 4200, liquidity 4001, a modified resend
// 3106, ...) reaches the payer as PUT /transfers/{ID}/error. A resend with
// the same body is ignored while the transfer is in flight and answered
// with its outcome once it is final. Quotes and transaction requests are
// recorded to route their answers and to tell resends (ignored, or answered
// again) from modified requests (3106).
//
// The hub is its own oracle: POST, GET and DELETE on /participants
// register, find and remove the FSP that holds a party, in the directory.
// An FSP registers and removes only its own parties.
package fspiop
