// Package operate holds the hub operator's workflows: choosing settlement
// models, closing settlement windows, creating settlements and taking them
// through their states (one step, or every step to SETTLED), building
// settlement reports and participants' statements, reconciling a
// participant's records with the hub's, reading positions and headroom, and
// moving liquidity (net debit caps, funds in, two-phase funds out).
//
// Each workflow is a method of Workflows: it takes a context and typed
// arguments (ids already parsed, amounts in minor units), and returns ledger
// and settlement values and typed errors. It knows nothing of HTTP or JSON:
// the admin API (package admin) parses requests, calls a workflow and
// writes its result; a console or a test calls the same methods.
//
// Workflows reads and writes the ledger through the narrow Ledger interface
// (writer.Writer implements it), and reads stored transfers through its Read,
// which brings the store up to date first.
//
// Errors: a refusal about something the call named is one of the error
// types of this package, which carry the ids and values a message needs and
// unwrap to the ledger's sentinel (errors.Is(err, ledger.ErrWindowNotFound)
// holds for a *WindowNotFoundError). Other ledger refusals are returned as
// the ledger gave them, and so are the writer's "outcome unknown" and
// "unavailable" errors: every workflow that writes is safe to repeat with the
// same arguments.
package operate

import (
	"context"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
)

// Ledger is what the workflows need of the ledger's writer.
// writer.Writer implements it.
type Ledger interface {
	// Submit applies one command durably and returns its result.
	Submit(ctx context.Context, c ledger.Command) (ledger.Result, error)
	// Query runs fn on the ledger's current state, which fn must not keep
	// or change.
	Query(ctx context.Context, fn func(*ledger.Ledger)) error
	// Read calls fn with the store once it holds every command
	// acknowledged before the call, every transfer final by then included.
	Read(ctx context.Context, fn func(store.Reader) error) error
}

// Clock tells the time: statements end at now at the latest.
type Clock interface {
	Now() time.Time
}

// Workflows runs the operator's workflows. It holds no state of its own and
// is safe for concurrent use.
type Workflows struct {
	ledger Ledger
	clock  Clock
}

// realClock is the system's clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// New returns the workflows over l. clk is the time statements are cut at;
// nil means the system's clock.
func New(l Ledger, clk Clock) *Workflows {
	if clk == nil {
		clk = realClock{}
	}
	return &Workflows{ledger: l, clock: clk}
}

// participant reads a participant; it returns a *ParticipantNotFoundError
// when there is none.
func (o *Workflows) participant(ctx context.Context, id string) (ledger.Participant, error) {
	var p ledger.Participant
	var ok bool
	if err := o.ledger.Query(ctx, func(l *ledger.Ledger) { p, ok = l.Participant(id) }); err != nil {
		return p, err
	}
	if !ok {
		return p, &ParticipantNotFoundError{ID: id}
	}
	return p, nil
}

// Participant returns a participant, or a *ParticipantNotFoundError.
func (o *Workflows) Participant(ctx context.Context, id string) (ledger.Participant, error) {
	return o.participant(ctx, id)
}
