// Package kv defines the store's key-value space: a durable space beside the
// ledger for the switch's records that are not money, and so need neither
// the journal nor replay. A store backend provides it (store.Store.KV); the
// packages below keep their records in it.
//
// # Namespaces
//
// The space is shared. Each package writes only under key prefixes of its
// own, and owns the format of the records under them; Namespaces lists every
// one, and no prefix is a prefix of another:
//
//	prefix   owner               records
//	dir/     directory           parties and their owner index: dir/p/…, dir/o/…
//	cbe/     callback            participants' callback endpoints
//	cbf/     callback            callbacks that could not be delivered
//	q/       exchange            quotes
//	tr/      exchange            transaction requests
//	qx/      exchange            the time index of quotes and transaction requests
//	alert/   liquidity           liquidity alerts and levels: alert/all/…, alert/p/…, alert/level/…
//
// Each owner's package comment draws its keys and record format. A new
// namespace is added to Namespaces, which a test of the hub holds to the
// keys actually written.
package kv

import (
	"context"
	"errors"
	"strings"
)

// ErrNotFound is returned by Get when nothing has the key. It is
// store.ErrNotFound.
var ErrNotFound = errors.New("store: not found")

// Space is a durable key-value space. Callers own their keys and prefix them
// by namespace. A record that fails its checksum is reported as
// store.ErrCorrupt, and every method returns store.ErrClosed once the store
// is closed. It is safe for concurrent use.
type Space interface {
	// Get returns a copy of the value under key, or ErrNotFound.
	Get(ctx context.Context, key []byte) ([]byte, error)

	// Apply writes a batch of sets and deletes atomically. With Durable, it
	// returns once the batch survives a machine crash; without, once it
	// survives a crash of the process.
	Apply(ctx context.Context, b *Batch) error

	// Scan calls fn for each key under prefix in key order, and for at most
	// limit keys when limit > 0. Key and value are only valid during the
	// call.
	Scan(ctx context.Context, prefix []byte, limit int, fn func(key, value []byte) error) error
}

// Batch is a set of changes to a Space, applied together.
type Batch struct {
	Durable bool
	Ops     []Op
}

// Op is one change: a set of Key to Value, or a delete when Delete is set.
type Op struct {
	Key, Value []byte
	Delete     bool
}

// Set adds a set of key to value.
func (b *Batch) Set(key, value []byte) { b.Ops = append(b.Ops, Op{Key: key, Value: value}) }

// Delete adds a delete of key.
func (b *Batch) Delete(key []byte) { b.Ops = append(b.Ops, Op{Key: key, Delete: true}) }

// MaxKey is the longest key a Space accepts.
const MaxKey = 1024

// Namespace is a key prefix of the space and the package that owns it.
type Namespace struct {
	Prefix string // every key of the namespace starts with it
	Owner  string // import path below the module of the package that owns it
}

// Namespaces lists every namespace of the space, as the package comment does.
var Namespaces = []Namespace{
	{Prefix: "dir/", Owner: "directory"},
	{Prefix: "cbe/", Owner: "callback"},
	{Prefix: "cbf/", Owner: "callback"},
	{Prefix: "q/", Owner: "exchange"},
	{Prefix: "tr/", Owner: "exchange"},
	{Prefix: "qx/", Owner: "exchange"},
	{Prefix: "alert/", Owner: "liquidity"},
}

// NamespaceOf returns the namespace key is in; ok is false when it is in
// none of Namespaces.
func NamespaceOf(key []byte) (ns Namespace, ok bool) {
	for _, ns := range Namespaces {
		if strings.HasPrefix(string(key), ns.Prefix) {
			return ns, true
		}
	}
	return Namespace{}, false
}
