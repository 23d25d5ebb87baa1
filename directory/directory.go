// Package directory is the hub's account lookup oracle: it records which FSP
// holds each party identifier (an MSISDN, an email address, an IBAN, ...),
// so that the hub can answer GET /parties and the FSPIOP /participants
// resource (API Definition v1.1, section 6.2) itself.
//
// # Model
//
// A party, as FSPIOP addresses it, is a PartyIdType, a PartyIdentifier and
// an optional PartySubIdOrType (Party). Party.Normalize checks one against
// the rules of its type and returns its canonical form; every method
// normalizes the parties it is given, so "+25512345678" and "25512345678"
// name the same MSISDN, and "gb82 west 1234 5698 7654 32" the IBAN
// GB82WEST12345698765432.
//
// Each party has at most one owner, the FSP that registered it (Entry).
// The entry may name a currency the party can receive; "" means any. FSPIOP
// lets a registration name a currency and a lookup or delete filter by one;
// here the filter matches an entry of that currency or of none, and another
// currency's lookup finds nothing (ErrNotFound). A second FSP cannot
// register the same party, in any currency (ErrOwnedElsewhere), until the
// owner removes it; this is what most schemes want, one place to send a
// party's money. Registering again from the owner is an update (a new
// currency) or, when nothing changed, a no-op.
//
// The checks on a party's records and their change happen under a lock
// striped by party, so two FSPs registering one party at once cannot both
// win. Lookups take no lock: they are one read of the store.
//
// # Errors
//
// Malformed input gives a *FieldError naming the FSPIOP element at fault;
// every one is FSPIOP error 3101 (malformed syntax), and its Description
// fits an errorDescription. ErrNotFound is what FSPIOP calls 3204 (party
// not found); ErrOwnedElsewhere on a registration is 3003 (add party
// information error). Anything else is the store's, 2001 or 2003.
//
// Normalizing changes how a party is spelled: a callback must echo the
// {Type}/{ID}/{SubId} of the request's URL, not Entry.Party.
//
// # Storage
//
// Records live in the store's key-value space under "dir/", two per party:
//
//	dir/p/<suffix>              the party's record
//	dir/o/<fsp>/<suffix>        the same record, indexed by owner for List
//
//	<suffix> = <Type>/<ID>            or <Type>/<ID>/<SubID>
//	         | <Type>#<hex SHA-256 of ID 0x00 SubID>   when the first form
//	                                                 passes 960 bytes
//
// Identifiers cannot contain '/', and FSP ids are letters, digits, '.',
// '_' and '-', so the readable form is unambiguous; the hashed one, needed
// only for identifiers of many multi-byte characters, keeps every key under
// the store's limit. Both records are written in one batch, durably.
//
// A record (version 1) is
//
//	+---------+-------------+-------------------+------------------+
//	| 0x01    | uvarint len | uvarint len       | varint           |
//	| version | + FSP id    | + currency (0/3)  | updated, Unix ns |
//	+---------+-------------+-------------------+------------------+
//	| type code (1 byte) | uvarint len + ID | uvarint len + SubID   |
//	+--------------------+------------------+-----------------------+
//
// with type codes 1 MSISDN, 2 EMAIL, 3 PERSONAL_ID, 4 BUSINESS, 5 DEVICE,
// 6 ACCOUNT_ID, 7 IBAN, 8 ALIAS. The party is kept in the record so that
// List and hashed keys can give it back. Records carry no checksum of their
// own: the store's backend checks its values (store/pebble seals each with
// a CRC-32C), and a record that does not decode is store.ErrCorrupt.
package directory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/kv"
)

// ErrNotFound is returned by Lookup and Remove when no FSP holds the party,
// or when the holder registered it for another currency than the one asked.
var ErrNotFound = errors.New("directory: party not found")

// ErrOwnedElsewhere is returned by Register and RegisterMany when another
// FSP holds the party, and by Remove when the caller is not the holder.
var ErrOwnedElsewhere = errors.New("directory: party is held by another FSP")

// ErrInvalidFSP is returned, wrapped in a *FieldError, for an FSP id that
// is not a valid participant id (ledger.ValidParticipantID).
var ErrInvalidFSP = errors.New("directory: invalid FSP id")

// ErrInvalidCurrency is returned, wrapped in a *FieldError, for a currency
// that is neither "" nor a known ISO 4217 code (money.Lookup).
var ErrInvalidCurrency = errors.New("directory: invalid currency")

// ErrInvalidCursor is returned by List for a cursor it did not issue.
var ErrInvalidCursor = errors.New("directory: invalid page cursor")

// List page sizes.
const (
	DefaultListLimit = 100  // used when the limit asked is 0 or less
	MaxListLimit     = 1000 // larger limits are cut to it
)

// Entry is a party's registration.
type Entry struct {
	Party    Party     // normalized
	FSP      string    // the FSP that holds the party
	Currency string    // ISO 4217 code the party can receive; "" for any
	Updated  time.Time // when the entry was created or last changed (UTC); set by the directory
}

// Directory maps parties to the FSPs that hold them. It is safe for
// concurrent use.
type Directory struct {
	kv    kv.Space
	clk   clock.Clock
	seed  maphash.Seed
	locks [64]sync.Mutex // striped by key suffix; each guards the read-check-write of its parties' records
}

// New returns a directory keeping its records in kv, under "dir/", and
// stamping them with clk's time.
func New(kv kv.Space, clk clock.Clock) *Directory {
	return &Directory{kv: kv, clk: clk, seed: maphash.MakeSeed()}
}

const (
	partyPrefix = "dir/p/"
	ownerPrefix = "dir/o/"
	// maxSuffix bounds a readable key suffix so that the owner key, with
	// its prefix and an FSP id of up to 32 bytes, stays under
	// kv.MaxKey.
	maxSuffix = 960
)

// types lists the PartyIdType values by their code in a record. The codes
// are stored: never renumber them.
var types = [...]string{"", TypeMSISDN, TypeEmail, TypePersonalID, TypeBusiness, TypeDevice, TypeAccountID, TypeIBAN, TypeAlias}

func typeCode(t string) byte {
	for i, s := range types {
		if i > 0 && s == t {
			return byte(i)
		}
	}
	return 0
}

// keySuffix returns the part of a normalized party's keys after their
// prefix, and whether it is the hashed form.
func keySuffix(p Party) (string, bool) {
	n := len(p.Type) + 1 + len(p.ID)
	if p.SubID != "" {
		n += 1 + len(p.SubID)
	}
	if n <= maxSuffix {
		return p.String(), false
	}
	h := sha256.New()
	h.Write([]byte(p.ID))
	h.Write([]byte{0})
	h.Write([]byte(p.SubID))
	return p.Type + "#" + hex.EncodeToString(h.Sum(nil)), true
}

func partyKey(suffix string) []byte {
	return append([]byte(partyPrefix), suffix...)
}

func ownerKey(fsp, suffix string) []byte {
	k := make([]byte, 0, len(ownerPrefix)+len(fsp)+1+len(suffix))
	k = append(k, ownerPrefix...)
	k = append(k, fsp...)
	k = append(k, '/')
	return append(k, suffix...)
}

const recordVersion = 1

// appendRecord appends e's record to dst.
func appendRecord(dst []byte, e *Entry) []byte {
	dst = append(dst, recordVersion)
	dst = binary.AppendUvarint(dst, uint64(len(e.FSP)))
	dst = append(dst, e.FSP...)
	dst = binary.AppendUvarint(dst, uint64(len(e.Currency)))
	dst = append(dst, e.Currency...)
	dst = binary.AppendVarint(dst, e.Updated.UnixNano())
	return appendParty(dst, e.Party)
}

// appendParty appends the party part of a record: type code, ID, SubID.
func appendParty(dst []byte, p Party) []byte {
	dst = append(dst, typeCode(p.Type))
	dst = binary.AppendUvarint(dst, uint64(len(p.ID)))
	dst = append(dst, p.ID...)
	dst = binary.AppendUvarint(dst, uint64(len(p.SubID)))
	return append(dst, p.SubID...)
}

// errRecord is wrapped by decoding errors.
func errRecord(what string) error {
	return fmt.Errorf("directory: record: %s: %w", what, store.ErrCorrupt)
}

// recordReader reads a record's fields in order.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) bytes() []byte {
	if r.err != nil {
		return nil
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		r.err = errRecord("bad length")
		return nil
	}
	v := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return v
}

func (r *recordReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = errRecord("bad time")
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *recordReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = errRecord("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// decodeRecord decodes a record. It fills e.Party only when party is set;
// otherwise it returns the party's encoding (type code onwards) so that a
// caller who knows the party can compare without decoding.
func decodeRecord(b []byte, party bool) (e Entry, rest []byte, err error) {
	r := recordReader{b: b}
	if v := r.byte(); r.err == nil && v != recordVersion {
		return Entry{}, nil, errRecord(fmt.Sprintf("unknown version %d", v))
	}
	fsp := r.bytes()
	cur := r.bytes()
	ns := r.varint()
	if r.err != nil {
		return Entry{}, nil, r.err
	}
	if len(cur) != 0 && len(cur) != 3 {
		return Entry{}, nil, errRecord("bad currency")
	}
	e = Entry{FSP: string(fsp), Currency: string(cur), Updated: time.Unix(0, ns).UTC()}
	rest = r.b
	code := r.byte()
	id := r.bytes()
	sub := r.bytes()
	switch {
	case r.err != nil:
		return Entry{}, nil, r.err
	case len(r.b) != 0:
		return Entry{}, nil, errRecord("trailing bytes")
	case code == 0 || int(code) >= len(types):
		return Entry{}, nil, errRecord(fmt.Sprintf("unknown type code %d", code))
	}
	if party {
		e.Party = Party{Type: types[code], ID: string(id), SubID: string(sub)}
	}
	return e, rest, nil
}

func (d *Directory) stripe(suffix string) int {
	return int(maphash.String(d.seed, suffix) % uint64(len(d.locks)))
}

func (d *Directory) now() time.Time {
	return time.Unix(0, d.clk.Now().UnixNano()).UTC()
}

// get reads a party's record: found is false when there is none.
func (d *Directory) get(ctx context.Context, p Party, suffix string, hashed bool) (e Entry, found bool, err error) {
	v, err := d.kv.Get(ctx, partyKey(suffix))
	if errors.Is(err, store.ErrNotFound) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("directory: read %s: %w", p.Type, err)
	}
	e, rest, err := decodeRecord(v, false)
	if err != nil {
		return Entry{}, false, err
	}
	if hashed {
		// A hashed key names the party only through SHA-256; the record
		// says who it is, and a mismatch is damage, not a collision.
		if !bytes.Equal(rest, appendParty(nil, p)) {
			return Entry{}, false, errRecord("party does not match its key")
		}
	}
	e.Party = p
	return e, true, nil
}

// matches reports whether an entry serves a lookup filtered by currency.
func (e *Entry) matches(currency string) bool {
	return currency == "" || e.Currency == "" || e.Currency == currency
}

func checkFSP(fsp string) error {
	if !ledger.ValidParticipantID(fsp) {
		reason := "must be 1 to 32 letters, digits, '.', '_' or '-', and not \"hub\""
		if fsp == "" {
			reason = "missing"
		}
		return &FieldError{Field: "fspId", Reason: reason, Err: ErrInvalidFSP}
	}
	return nil
}

func checkCurrency(c string) error {
	if c == "" {
		return nil
	}
	if _, ok := money.Lookup(c); !ok {
		return &FieldError{Field: "currency", Reason: quote(c) + " is not a known ISO 4217 code (three upper-case letters)", Err: ErrInvalidCurrency}
	}
	return nil
}

// prepare validates and normalizes an entry to register.
func prepare(e Entry) (Entry, error) {
	p, err := e.Party.Normalize()
	if err != nil {
		return Entry{}, err
	}
	if err := checkFSP(e.FSP); err != nil {
		return Entry{}, err
	}
	if err := checkCurrency(e.Currency); err != nil {
		return Entry{}, err
	}
	return Entry{Party: p, FSP: e.FSP, Currency: e.Currency}, nil
}

// put adds the writes of e's two records to b.
func put(b *kv.Batch, suffix string, e *Entry) {
	v := appendRecord(nil, e)
	b.Set(partyKey(suffix), v)
	b.Set(ownerKey(e.FSP, suffix), v)
}

// Lookup returns the entry of the FSP that holds p. With a currency, it
// finds only an entry registered for that currency or for any; with "", any
// entry. It returns ErrNotFound when there is none, a *FieldError for a
// malformed party or currency, or the store's error.
//
// Lookup is one read of the store and takes no lock.
func (d *Directory) Lookup(ctx context.Context, p Party, currency string) (Entry, error) {
	p, err := p.Normalize()
	if err != nil {
		return Entry{}, err
	}
	if err := checkCurrency(currency); err != nil {
		return Entry{}, err
	}
	suffix, hashed := keySuffix(p)
	e, found, err := d.get(ctx, p, suffix, hashed)
	if err != nil {
		return Entry{}, err
	}
	if !found || !e.matches(currency) {
		return Entry{}, ErrNotFound
	}
	return e, nil
}

// Register records that e.FSP holds e.Party, for e.Currency ("" for any),
// durably, and returns the stored entry. e.Updated is ignored: the
// directory sets it.
//
// When the same FSP already holds the party, Register changes the currency
// if it differs and otherwise returns the stored entry unchanged, so it is
// safe to repeat. When another FSP holds it, Register returns that entry
// with an error wrapping ErrOwnedElsewhere and changes nothing. A malformed
// party, FSP id or currency gives a *FieldError. After a store error the
// entry may or may not be stored; repeating the call settles it.
func (d *Directory) Register(ctx context.Context, e Entry) (Entry, error) {
	e, err := prepare(e)
	if err != nil {
		return Entry{}, err
	}
	suffix, hashed := keySuffix(e.Party)
	mu := &d.locks[d.stripe(suffix)]
	mu.Lock()
	defer mu.Unlock()
	cur, found, err := d.get(ctx, e.Party, suffix, hashed)
	if err != nil {
		return Entry{}, err
	}
	if found {
		if cur.FSP != e.FSP {
			return cur, fmt.Errorf("register %s for %s: %w", e.Party.Type, e.FSP, ErrOwnedElsewhere)
		}
		if cur.Currency == e.Currency {
			return cur, nil
		}
	}
	e.Updated = d.now()
	b := &kv.Batch{Durable: true}
	put(b, suffix, &e)
	if err := d.kv.Apply(ctx, b); err != nil {
		return Entry{}, fmt.Errorf("directory: register %s: %w", e.Party.Type, err)
	}
	return e, nil
}

// RegisterMany registers each of es as Register would, in one durable
// write, and returns one error per entry, nil for each entry now stored
// (FSPIOP POST /participants, whose callback reports each party's result).
// An invalid entry, or one another FSP holds, fails alone; the rest are
// stored. Entries are taken in order, so of two for the same party from
// different FSPs the second fails with ErrOwnedElsewhere, and of two from
// the same FSP the second wins. If the write fails, every entry that needed
// it gets the error.
func (d *Directory) RegisterMany(ctx context.Context, es []Entry) []error {
	errs := make([]error, len(es))
	type item struct {
		i      int
		e      Entry
		suffix string
		hashed bool
	}
	items := make([]item, 0, len(es))
	stripes := make([]int, 0, len(es))
	for i, e := range es {
		e, err := prepare(e)
		if err != nil {
			errs[i] = err
			continue
		}
		suffix, hashed := keySuffix(e.Party)
		items = append(items, item{i: i, e: e, suffix: suffix, hashed: hashed})
		stripes = append(stripes, d.stripe(suffix))
	}
	if len(items) == 0 {
		return errs
	}
	// Lock in ascending order so that concurrent batches cannot deadlock.
	slices.Sort(stripes)
	stripes = slices.Compact(stripes)
	for _, s := range stripes {
		d.locks[s].Lock()
	}
	defer func() {
		for _, s := range stripes {
			d.locks[s].Unlock()
		}
	}()

	type state struct {
		e     Entry
		found bool
	}
	current := make(map[string]*state, len(items)) // by suffix, as the batch leaves it
	var (
		writes  = make(map[string]Entry, len(items)) // by suffix, the final record
		order   []string                             // suffixes in writes, first-write order
		pending []int                                // entries stored only if the write succeeds
	)
	now := d.now()
	for _, it := range items {
		st, ok := current[it.suffix]
		if !ok {
			e, found, err := d.get(ctx, it.e.Party, it.suffix, it.hashed)
			if err != nil {
				errs[it.i] = err
				continue
			}
			st = &state{e: e, found: found}
			current[it.suffix] = st
		}
		if st.found {
			if st.e.FSP != it.e.FSP {
				errs[it.i] = fmt.Errorf("register %s for %s: %w", it.e.Party.Type, it.e.FSP, ErrOwnedElsewhere)
				continue
			}
			if st.e.Currency == it.e.Currency {
				if _, written := writes[it.suffix]; written {
					pending = append(pending, it.i)
				}
				continue
			}
		}
		it.e.Updated = now
		st.e, st.found = it.e, true
		if _, written := writes[it.suffix]; !written {
			order = append(order, it.suffix)
		}
		writes[it.suffix] = it.e
		pending = append(pending, it.i)
	}
	if len(order) == 0 {
		return errs
	}
	b := &kv.Batch{Durable: true, Ops: make([]kv.Op, 0, 2*len(order))}
	for _, s := range order {
		e := writes[s]
		put(b, s, &e)
	}
	if err := d.kv.Apply(ctx, b); err != nil {
		err = fmt.Errorf("directory: register: %w", err)
		for _, i := range pending {
			errs[i] = err
		}
	}
	return errs
}

// Remove deletes p's entry, durably, and returns it, if fsp holds p and the
// entry serves currency as Lookup would match it ("" for any: FSPIOP DELETE
// /participants/{Type}/{ID}?currency=XYZ). It returns ErrNotFound when
// there is no such entry and an error wrapping ErrOwnedElsewhere when
// another FSP holds p: only the holder may remove a party.
func (d *Directory) Remove(ctx context.Context, p Party, fsp, currency string) (Entry, error) {
	p, err := p.Normalize()
	if err != nil {
		return Entry{}, err
	}
	if err := checkFSP(fsp); err != nil {
		return Entry{}, err
	}
	if err := checkCurrency(currency); err != nil {
		return Entry{}, err
	}
	suffix, hashed := keySuffix(p)
	mu := &d.locks[d.stripe(suffix)]
	mu.Lock()
	defer mu.Unlock()
	e, found, err := d.get(ctx, p, suffix, hashed)
	if err != nil {
		return Entry{}, err
	}
	if !found || !e.matches(currency) {
		return Entry{}, ErrNotFound
	}
	if e.FSP != fsp {
		return Entry{}, fmt.Errorf("remove %s for %s: %w", p.Type, fsp, ErrOwnedElsewhere)
	}
	b := &kv.Batch{Durable: true}
	b.Delete(partyKey(suffix))
	b.Delete(ownerKey(e.FSP, suffix))
	if err := d.kv.Apply(ctx, b); err != nil {
		return Entry{}, fmt.Errorf("directory: remove %s: %w", p.Type, err)
	}
	return e, nil
}

// errPageFull stops a scan once a page and one more entry are read.
var errPageFull = errors.New("page full")

// List returns the entries fsp holds, ordered by key (type, then
// identifier), at most limit of them (DefaultListLimit when limit <= 0,
// MaxListLimit at most), starting after cursor ("" for the first page). It
// returns the cursor of the next page, "" when there is none. A cursor is
// opaque; one List did not issue gives ErrInvalidCursor.
//
// The store scans from the start of the FSP's entries, so a page deep into
// a large list costs a scan of the entries before it: this is for the
// operator, not for a request path.
func (d *Directory) List(ctx context.Context, fsp, cursor string, limit int) ([]Entry, string, error) {
	if err := checkFSP(fsp); err != nil {
		return nil, "", err
	}
	var after []byte
	if cursor != "" {
		var err error
		after, err = base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(after) == 0 {
			return nil, "", ErrInvalidCursor
		}
	}
	switch {
	case limit <= 0:
		limit = DefaultListLimit
	case limit > MaxListLimit:
		limit = MaxListLimit
	}
	prefix := ownerKey(fsp, "")
	var (
		out  []Entry
		last []byte
		more bool
	)
	err := d.kv.Scan(ctx, prefix, 0, func(key, value []byte) error {
		suffix := key[len(prefix):]
		if after != nil && bytes.Compare(suffix, after) <= 0 {
			return nil
		}
		if len(out) == limit {
			more = true
			return errPageFull
		}
		e, _, err := decodeRecord(value, true)
		if err != nil {
			return fmt.Errorf("%w (key %q)", err, key)
		}
		out = append(out, e)
		last = append(last[:0], suffix...)
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		return nil, "", fmt.Errorf("directory: list %s: %w", fsp, err)
	}
	if !more {
		return out, "", nil
	}
	return out, base64.RawURLEncoding.EncodeToString(last), nil
}
