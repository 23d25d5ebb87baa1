// Package store defines what hutong persists and the interface every storage
// backend implements. Backends live in sub-packages (store/pebble, the
// embedded default); store/storetest holds the conformance suite each of
// them must pass.
//
// The ledger writer is a store's only writer. The journal is the truth: the
// writer appends one entry per batch of commands, durably, before it answers
// anyone. The state those entries leave behind (participants, accounts,
// transfers) is written in checkpoints, every few seconds, so that each
// transfer is written once in its final state rather than at every step; on
// start the entries after the last checkpoint are replayed. Reads of the
// stored state see it as of the last checkpoint; the writer answers for
// what is newer.
//
// A backend implements Store, the union of what three kinds of caller use,
// each of which takes only its part: Writer (the ledger writer), Reader
// (the admin API, the operator's workflows, settlement documents, the
// audit) and Outbox (package outbox). The key-value space beside the ledger
// is package kv's Space, reached through Store.KV.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/hutong/hutong/journal"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store/kv"
)

// ErrNotFound is returned by lookups when nothing has the key. It is
// kv.ErrNotFound, so the key-value space's lookups return it too.
var ErrNotFound = kv.ErrNotFound

// ErrCorrupt is returned when a stored record fails its checksum or does not
// decode. It is never returned for a record that is merely absent. It is
// ledger.ErrCorrupt, the error the journal and the ledger's codec return for
// bytes that do not decode, so errors.Is(err, store.ErrCorrupt) holds for
// corrupt data wherever it was found.
var ErrCorrupt = ledger.ErrCorrupt

// ErrConflict is returned by Commit when the batch's journal entry does not
// follow the stored head: another writer, or a writer that lost track.
var ErrConflict = errors.New("store: journal entry does not follow the head")

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("store: closed")

// Snapshot is what a ledger is restored from on start: the state as of the
// last checkpoint, everything but the final transfers, which stay in the
// store. Entries after Checkpoint up to Head are replayed on top of it.
type Snapshot struct {
	Head         journal.Head
	Checkpoint   uint64 // journal seq the stored state reflects
	Transfers    uint64 // transfers stored as of the checkpoint
	Participants []ledger.Participant
	Accounts     []ledger.Account
	Pending      []ledger.Transfer
	Windows      []ledger.Window
	Settlements  []ledger.Settlement
}

// Checkpoint is the state the journal up to Seq leaves behind, as changes
// since the previous checkpoint.
type Checkpoint struct {
	Seq          uint64
	Participants []ledger.Participant
	Accounts     []ledger.Account
	Transfers    []ledger.TransferChange
	Windows      []ledger.Window
	Settlements  []ledger.Settlement
}

// Store is a storage backend: the union of the parts its callers use. A
// backend implements Store; a caller takes the part it uses, Writer, Reader
// or Outbox, or the key-value space, and nothing else.
type Store interface {
	Writer
	Reader
	Outbox

	// KV returns the store's key-value space for records that are not
	// money: the directory's aliases, callback endpoints, quotes, failed
	// callbacks (package kv lists them). It is closed with the store.
	KV() kv.Space

	// Close releases the store. Writes after Close return ErrClosed.
	Close() error
}

// Writer is the store as the ledger writer uses it, its only writer: it
// restores the ledger from Load and the journal after it, makes each batch
// durable with Append or AppendOwed before answering anyone, and stores the
// resulting state with Checkpoint. It may rely on being the only caller of
// Append, AppendOwed with entries, and Checkpoint.
type Writer interface {
	// Load returns the current head and the state to restore a ledger from.
	Load(ctx context.Context) (Snapshot, error)

	// Append makes journal entries durable, atomically and with one sync,
	// before it returns. The first must follow the head and each the one
	// before it (ErrConflict otherwise). When Append returns any other error
	// the outcome is unknown: the caller must stop writing and reload.
	Append(ctx context.Context, es ...*journal.Entry) error

	// AppendOwed is Append that also stores msgs, the messages the entries'
	// commands oblige the hub to send, in the same atomic, synced commit:
	// after a crash either the entries and their messages are all there or
	// none is. With no entries it stores msgs alone, durably, without
	// looking at the head.
	AppendOwed(ctx context.Context, msgs []Message, es ...*journal.Entry) error

	// Checkpoint stores the state as of journal entry c.Seq, atomically.
	// It need not be durable on return: entries after the last durable
	// checkpoint are replayed on start. c.Seq must not pass the head or go
	// back before the previous checkpoint.
	Checkpoint(ctx context.Context, c *Checkpoint) error

	// Journal calls fn for each entry with Seq >= from, in order: the
	// writer replays the entries after the snapshot's checkpoint. The entry
	// is only valid during the call.
	Journal(ctx context.Context, from uint64, fn func(*journal.Entry) error) error

	// TransferIDs calls fn with the id of every stored transfer, in no set
	// order.
	TransferIDs(ctx context.Context, fn func(ledger.ID) error) error

	// NewFinder returns a Finder for the ledger writer's lookups.
	NewFinder() (Finder, error)
}

// Reader is the store as its readers use it: the admin API, the operator's
// workflows, settlement documents and the audit. They may call it at any
// time, concurrently with the writer and each other. What they read is the
// state as of the last checkpoint, consistent record by record but not
// across calls; a reader that needs everything acknowledged so far asks the
// writer first (writer.Writer.Read). None of its methods writes.
type Reader interface {
	// Transfer returns a transfer by id, or ErrNotFound.
	Transfer(ctx context.Context, id ledger.ID) (ledger.Transfer, error)

	// ParticipantTransfers lists the transfers a participant sent or
	// received, newest first by creation, at most limit of them, starting
	// after cursor ("" for the first page). It returns the cursor of the
	// next page, "" when there is none. A backend may return a short page,
	// even an empty one, with a cursor, when it bounds the work of one call.
	ParticipantTransfers(ctx context.Context, participant, cursor string, limit int) ([]ledger.Transfer, string, error)

	// Participant returns a participant by id, or ErrNotFound.
	Participant(ctx context.Context, id string) (ledger.Participant, error)

	// Participants returns all participants ordered by id.
	Participants(ctx context.Context) ([]ledger.Participant, error)

	// Accounts returns a participant's accounts ("" for all, the hub's
	// included) ordered by participant, currency and type.
	Accounts(ctx context.Context, participant string) ([]ledger.Account, error)

	// Windows returns the settlement windows ordered by id.
	Windows(ctx context.Context) ([]ledger.Window, error)
	// Settlements returns the settlements ordered by id.
	Settlements(ctx context.Context) ([]ledger.Settlement, error)
	// Completed calls fn for every final transfer with from <= Completed <
	// to, in completion order (ties by id). The transfer is only valid
	// during the call.
	Completed(ctx context.Context, from, to time.Time, fn func(*ledger.Transfer) error) error

	// EachTransfer calls fn for every stored transfer, in no set order.
	EachTransfer(ctx context.Context, fn func(*ledger.Transfer) error) error

	// Journal calls fn for each entry with Seq >= from, in order, for the
	// audit. The entry is only valid during the call.
	Journal(ctx context.Context, from uint64, fn func(*journal.Entry) error) error
}

// Outbox is the store as package outbox uses it: messages owed to
// participants are stored, listed after a restart and removed once
// delivered. It may rely on a message stored with AppendOwed being listed by
// Owed until Delivered removes it, across crashes: owed messages are never
// lost, though one may be sent twice.
type Outbox interface {
	// AppendOwed is Writer.AppendOwed; the outbox calls it with no entries,
	// for messages owed by anything but the ledger.
	AppendOwed(ctx context.Context, msgs []Message, es ...*journal.Entry) error

	// Owed calls fn for every message stored by AppendOwed and not yet
	// removed by Delivered, in id order. The value is only valid during
	// the call.
	Owed(ctx context.Context, fn func(id uint64, value []byte) error) error

	// Delivered removes messages by id. It need not be durable: a message
	// removed just before a crash may be listed by Owed again, and so be
	// sent twice, never lost.
	Delivered(ctx context.Context, ids ...uint64) error
}

// Finder answers the ledger writer's lookups of final transfers: one for
// every new transfer id, most of them for ids that exist nowhere, so a
// backend makes those cheap. It sees the store as of its creation or last
// Refresh, and is used from one goroutine.
type Finder interface {
	ledger.Finalized
	// Refresh makes checkpoints stored since the last Refresh visible.
	Refresh() error
	Close() error
}

// CursorError is returned for a paging cursor the store did not issue.
type CursorError struct{ Cursor string }

func (e *CursorError) Error() string { return "store: invalid page cursor " + strconvQuote(e.Cursor) }

func strconvQuote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return "\"" + s + "\""
}

// Message is a message the hub owes a participant, kept by the store from
// the commit that made it owed until it is delivered. The store does not
// read Value; package outbox owns its format. IDs are chosen by the caller
// and unique among the messages kept.
type Message struct {
	ID    uint64
	Value []byte
}

// MaxMessage is the largest Message.Value a store accepts.
const MaxMessage = 8 << 20

// KV, KVBatch and KVOp are the key-value space's types, which live in
// package kv; these names remain for callers not yet moved to it.
type (
	KV      = kv.Space
	KVBatch = kv.Batch
	KVOp    = kv.Op
)
