package sim

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Event is a request the FSP received.
type Event struct {
	Seq    uint64      // 1 for the first request the FSP received
	Method string      // e.g. "PATCH"
	Path   string      // e.g. "/transfers/3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	Header http.Header // a copy of the request's header
	Body   []byte      // a copy of the request's body
	Time   time.Time   // when the request was read, from Config.Clock
	// Status is the HTTP status the FSP answered with.
	Status int
	// ProtocolError says what was wrong with a request the FSP answered
	// 400 (or 404, 405) because the sender broke the protocol; "" for a
	// well-formed request.
	ProtocolError string
}

// events is a bounded ring of the newest events with a way to wait for new
// ones.
type events struct {
	seq atomic.Uint64

	mu      sync.Mutex // guards the fields below
	ring    []Event
	next    int           // where the next event goes
	full    bool          // the ring has wrapped
	changed chan struct{} // closed on the next record; nil when nobody waits
}

func newEvents(n int) *events { return &events{ring: make([]Event, n)} }

func (e *events) record(ev Event) {
	ev.Seq = e.seq.Add(1)
	if len(e.ring) == 0 {
		return
	}
	e.mu.Lock()
	e.ring[e.next] = ev
	e.next++
	if e.next == len(e.ring) {
		e.next, e.full = 0, true
	}
	ch := e.changed
	e.changed = nil
	e.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// snapshotLocked returns the events oldest first, those with Seq > after
// only.
func (e *events) snapshotLocked(after uint64) []Event {
	var out []Event
	add := func(evs []Event) {
		for _, ev := range evs {
			if ev.Seq > after {
				out = append(out, ev)
			}
		}
	}
	if e.full {
		add(e.ring[e.next:])
	}
	add(e.ring[:e.next])
	return out
}

func (e *events) all() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.snapshotLocked(0)
}

func (e *events) wait(ctx context.Context, match func(Event) bool) (Event, error) {
	var seen uint64
	for {
		e.mu.Lock()
		for _, ev := range e.snapshotLocked(seen) {
			seen = ev.Seq
			if match(ev) {
				e.mu.Unlock()
				return ev, nil
			}
		}
		if e.changed == nil {
			e.changed = make(chan struct{})
		}
		ch := e.changed
		e.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Stats counts what an FSP did since it started.
type Stats struct {
	Received       int64 // requests and callbacks received
	ProtocolErrors int64 // of those, refused as breaking the protocol
	Sent           int64 // requests and callbacks sent
	SendFailures   int64 // of those, not answered with the expected status

	PartiesAnswered    int64 // GET /parties answered with the party
	PartiesNotFound    int64 // GET /parties answered 3204
	QuotesAnswered     int64 // POST /quotes answered with a quote
	QuotesRejected     int64 // POST /quotes answered with an error callback
	TransfersFulfilled int64 // POST /transfers answered COMMITTED or RESERVED
	TransfersRejected  int64 // POST /transfers answered with an error callback
	TransfersIgnored   int64 // POST /transfers left unanswered (NoAnswer)
	CommitsNotified    int64 // PATCH /transfers/{ID} COMMITTED received
	AbortsNotified     int64 // PATCH /transfers/{ID} ABORTED received
	Credited           int64 // payee customers credited
	RequestsReceived   int64 // POST /transactionRequests received

	PaymentsCommitted int64 // Pay or Transfer calls that ended COMMITTED
	PaymentsFailed    int64 // Pay or Transfer calls that failed
}

// counters are the live Stats.
type counters struct {
	received, protocolErrors, sent, sendFailures                atomic.Int64
	partiesAnswered, partiesNotFound                            atomic.Int64
	quotesAnswered, quotesRejected                              atomic.Int64
	transfersFulfilled, transfersRejected, transfersIgnored     atomic.Int64
	commitsNotified, abortsNotified, credited, requestsReceived atomic.Int64
	paymentsCommitted, paymentsFailed                           atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Received: c.received.Load(), ProtocolErrors: c.protocolErrors.Load(),
		Sent: c.sent.Load(), SendFailures: c.sendFailures.Load(),
		PartiesAnswered: c.partiesAnswered.Load(), PartiesNotFound: c.partiesNotFound.Load(),
		QuotesAnswered: c.quotesAnswered.Load(), QuotesRejected: c.quotesRejected.Load(),
		TransfersFulfilled: c.transfersFulfilled.Load(), TransfersRejected: c.transfersRejected.Load(),
		TransfersIgnored: c.transfersIgnored.Load(), CommitsNotified: c.commitsNotified.Load(),
		AbortsNotified: c.abortsNotified.Load(), Credited: c.credited.Load(),
		RequestsReceived:  c.requestsReceived.Load(),
		PaymentsCommitted: c.paymentsCommitted.Load(), PaymentsFailed: c.paymentsFailed.Load(),
	}
}
