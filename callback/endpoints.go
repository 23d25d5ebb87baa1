// Package callback delivers the hub's outbound FSPIOP calls. FSPIOP is
// asynchronous: the hub answers every request 202 Accepted and later calls
// the participants, to forward a request (POST /transfers to the payee) or
// to return a result (PUT /transfers/{ID} to the payer). This package holds
// where each participant wants those calls (its endpoints) and makes them
// (the Sender).
//
// # Endpoints
//
// A participant registers one URL per kind of call, under the names
// Mojaloop's central ledger uses (FSPIOP_CALLBACK_URL_TRANSFER_PUT, ...),
// and HUTONG_CALLBACK_URL_LIQUIDITY_ALERT for the hub's own liquidity
// alerts, which FSPIOP does not define.
// For the quote and transaction request kinds the URL is a base and the
// call's standard FSPIOP path is appended to it; for every other kind it is
// the whole URL, a template that may name the call's variables:
//
//	http://dfsp1:4000/transfers/{{transferId}}/error
//
// {{partyIdType}}, {{partyIdentifier}}, {{partySubIdOrType}}, {{transferId}}
// and {{requestId}} are replaced by the call's values, path-escaped. A
// participant without its own FSPIOP_CALLBACK_URL_TRANSFER_PATCH gets PATCH
// calls at its FSPIOP_CALLBACK_URL_TRANSFER_PUT URL.
//
// Endpoints are kept in memory and stored in the KV under
//
//	cbe/<participant>/<kind> = URL
//
// with durable writes.
//
// # Delivery
//
//	Send --> per-participant queue --> up to Concurrency workers --> HTTP
//	              ^                          |  network error, timeout, 5xx
//	              +------ timer (backoff) ---+
//	                                         |  4xx, attempts used up,
//	                                         v  no endpoint, queue full
//	                                   failed callbacks (KV, log)
//
// Send never blocks. A callback that cannot be delivered is recorded, with
// its headers and body, under
//
//	cbf/<participant>/<id>
//
// where id sorts newest first, so that the operator can read it and send it
// again (Redeliver) once the participant is reachable.
//
// The list is bounded. A participant keeps at most Config.MaxFailures
// (default 100,000): after storing new failures for it, the recorder drops
// its oldest beyond that. A failure whose last attempt is further back than
// Config.FailureRetention (default 30 days) is dropped by a pass that runs
// every Config.PruneEvery (default 1 minute) in a goroutine of its own,
// which never holds up delivery and stops at Close. Neither scans the list:
// the id is the inverted time of the last attempt, so the expired failures
// of a participant are the keys after the id of the cut-off time, and the
// oldest ones the last keys of its prefix. The Sender counts each
// participant's failures in memory, reading its keys once per process. What
// is dropped is counted in Stats.FailuresDropped and logged, with the
// participant, how many and why (age or count).
package callback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/kv"
)

// Kind is the kind of an outbound call, named as in Mojaloop's central
// ledger participant endpoints; the hub's own calls, which FSPIOP does not
// define, are named HUTONG_CALLBACK_URL_*.
type Kind string

// The kinds of endpoint a participant can register.
const (
	PartiesGet               Kind = "FSPIOP_CALLBACK_URL_PARTIES_GET"
	PartiesPut               Kind = "FSPIOP_CALLBACK_URL_PARTIES_PUT"
	PartiesPutError          Kind = "FSPIOP_CALLBACK_URL_PARTIES_PUT_ERROR"
	PartiesSubIDGet          Kind = "FSPIOP_CALLBACK_URL_PARTIES_SUB_ID_GET"
	PartiesSubIDPut          Kind = "FSPIOP_CALLBACK_URL_PARTIES_SUB_ID_PUT"
	PartiesSubIDPutError     Kind = "FSPIOP_CALLBACK_URL_PARTIES_SUB_ID_PUT_ERROR"
	ParticipantPut           Kind = "FSPIOP_CALLBACK_URL_PARTICIPANT_PUT"
	ParticipantPutError      Kind = "FSPIOP_CALLBACK_URL_PARTICIPANT_PUT_ERROR"
	ParticipantSubIDPut      Kind = "FSPIOP_CALLBACK_URL_PARTICIPANT_SUB_ID_PUT"
	ParticipantSubIDPutError Kind = "FSPIOP_CALLBACK_URL_PARTICIPANT_SUB_ID_PUT_ERROR"
	ParticipantBatchPut      Kind = "FSPIOP_CALLBACK_URL_PARTICIPANT_BATCH_PUT"
	ParticipantBatchPutError Kind = "FSPIOP_CALLBACK_URL_PARTICIPANT_BATCH_PUT_ERROR"
	Quotes                   Kind = "FSPIOP_CALLBACK_URL_QUOTES"
	TrxReqService            Kind = "FSPIOP_CALLBACK_URL_TRX_REQ_SERVICE"
	TransferPost             Kind = "FSPIOP_CALLBACK_URL_TRANSFER_POST"
	TransferPut              Kind = "FSPIOP_CALLBACK_URL_TRANSFER_PUT"
	TransferError            Kind = "FSPIOP_CALLBACK_URL_TRANSFER_ERROR"
	TransferPatch            Kind = "FSPIOP_CALLBACK_URL_TRANSFER_PATCH"
	// LiquidityAlert receives POST /liquidityAlerts when the participant's
	// position crosses a threshold of its net debit cap.
	LiquidityAlert Kind = "HUTONG_CALLBACK_URL_LIQUIDITY_ALERT"
)

// kinds lists every kind with the standard FSPIOP path template SetBase
// appends to the base URL. A kind whose URL is a base (the call's path is
// appended at delivery) has base set and an empty template.
var kinds = [...]struct {
	kind     Kind
	template string
	base     bool
}{
	{PartiesGet, "/parties/{{partyIdType}}/{{partyIdentifier}}", false},
	{PartiesPut, "/parties/{{partyIdType}}/{{partyIdentifier}}", false},
	{PartiesPutError, "/parties/{{partyIdType}}/{{partyIdentifier}}/error", false},
	{PartiesSubIDGet, "/parties/{{partyIdType}}/{{partyIdentifier}}/{{partySubIdOrType}}", false},
	{PartiesSubIDPut, "/parties/{{partyIdType}}/{{partyIdentifier}}/{{partySubIdOrType}}", false},
	{PartiesSubIDPutError, "/parties/{{partyIdType}}/{{partyIdentifier}}/{{partySubIdOrType}}/error", false},
	{ParticipantPut, "/participants/{{partyIdType}}/{{partyIdentifier}}", false},
	{ParticipantPutError, "/participants/{{partyIdType}}/{{partyIdentifier}}/error", false},
	{ParticipantSubIDPut, "/participants/{{partyIdType}}/{{partyIdentifier}}/{{partySubIdOrType}}", false},
	{ParticipantSubIDPutError, "/participants/{{partyIdType}}/{{partyIdentifier}}/{{partySubIdOrType}}/error", false},
	{ParticipantBatchPut, "/participants/{{requestId}}", false},
	{ParticipantBatchPutError, "/participants/{{requestId}}/error", false},
	{Quotes, "", true},
	{TrxReqService, "", true},
	{TransferPost, "/transfers", false},
	{TransferPut, "/transfers/{{transferId}}", false},
	{TransferError, "/transfers/{{transferId}}/error", false},
	{TransferPatch, "/transfers/{{transferId}}", false},
	{LiquidityAlert, "/liquidityAlerts", false},
}

// kindIndex maps a kind to its place in kinds.
var kindIndex = func() map[Kind]int {
	m := make(map[Kind]int, len(kinds))
	for i, k := range kinds {
		m[k.kind] = i
	}
	return m
}()

// Kinds returns every kind, in the order of the constants.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind
	}
	return out
}

// Valid reports whether k is one of the kinds.
func (k Kind) Valid() bool {
	_, ok := kindIndex[k]
	return ok
}

// IsBase reports whether k's URL is a base to which the call's standard
// FSPIOP path is appended (FSPIOP_CALLBACK_URL_QUOTES and
// FSPIOP_CALLBACK_URL_TRX_REQ_SERVICE), rather than the whole URL.
func (k Kind) IsBase() bool {
	i, ok := kindIndex[k]
	return ok && kinds[i].base
}

// rule is one of the refusals below: its text for a client, which Error
// prefixes with the package's name.
type rule struct{ msg string }

func (r *rule) Error() string { return "callback: " + r.msg }

// ErrUnknownKind is returned for a kind that is not one of the constants.
var ErrUnknownKind error = &rule{"unknown endpoint type"}

// ErrInvalidEndpoint is returned, wrapped with the reason, for a URL an
// endpoint cannot have.
var ErrInvalidEndpoint error = &rule{"invalid endpoint"}

// ErrInvalidParticipant is returned for a participant id that
// ledger.ValidParticipantID refuses.
var ErrInvalidParticipant error = &rule{"invalid participant id"}

// ErrNoEndpoint is returned by Resolve when the participant has no endpoint
// of the request's kind.
var ErrNoEndpoint error = &rule{"no endpoint"}

// ErrMissingValue is returned by Resolve when the endpoint's template names
// a variable the request has no value for.
var ErrMissingValue error = &rule{"template variable has no value"}

// Error is a refusal of endpoints' and Resolve's with its detail:
// errors.Is finds its rule, one of the sentinels above, and Message is the
// text for a client.
type Error struct {
	Rule   error  // ErrUnknownKind, ErrInvalidEndpoint, ...
	Detail string // what follows the rule's text, with its separator
}

func (e *Error) Error() string { return e.Rule.Error() + e.Detail }

func (e *Error) Unwrap() error { return e.Rule }

// Message is the refusal without the package's name, for a client.
func (e *Error) Message() string {
	if r, ok := e.Rule.(*rule); ok {
		return r.msg + e.Detail
	}
	return e.Error()
}

// refuse returns the refusal of rule with the detail format makes.
func refuse(rule error, format string, args ...any) error {
	return &Error{Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// MaxURL is the longest endpoint URL accepted, in bytes.
const MaxURL = 2048

// Endpoint is one of a participant's endpoints.
type Endpoint struct {
	Kind  Kind
	Value string
}

// The variables a template may name.
const (
	varPartyIDType = iota
	varPartyIdentifier
	varPartySubIDOrType
	varTransferID
	varRequestID
	numVars
	varLiteral = -1
)

var varNames = map[string]int{
	"partyIdType":      varPartyIDType,
	"partyIdentifier":  varPartyIdentifier,
	"partySubIdOrType": varPartySubIDOrType,
	"transferId":       varTransferID,
	"requestId":        varRequestID,
}

// part is a piece of a template: literal text, or a variable when v is not
// varLiteral.
type part struct {
	lit string
	v   int
}

// endpoint is a parsed endpoint URL.
type endpoint struct {
	value string
	parts []part // for a base kind, the value with any trailing "/" removed
	base  bool   // the request's path is appended
}

// parseTemplate splits s into literal text and {{variables}}. Braces
// anywhere else are refused: a URL carries them percent-encoded.
func parseTemplate(s string) ([]part, error) {
	var parts []part
	for s != "" {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			parts = append(parts, part{lit: s, v: varLiteral})
			break
		}
		if i > 0 {
			parts = append(parts, part{lit: s[:i], v: varLiteral})
			s = s[i:]
		}
		if !strings.HasPrefix(s, "{{") {
			return nil, fmt.Errorf("a brace that does not open a {{variable}}; write a literal brace as %%7B or %%7D")
		}
		end := strings.Index(s, "}}")
		if end < 0 {
			return nil, fmt.Errorf("{{ without a closing }}")
		}
		name := s[2:end]
		v, ok := varNames[name]
		if !ok {
			return nil, fmt.Errorf("unknown variable {{%s}}; the variables are {{partyIdType}}, {{partyIdentifier}}, {{partySubIdOrType}}, {{transferId}} and {{requestId}}",
				truncate(name, 32))
		}
		parts = append(parts, part{v: v})
		s = s[end+2:]
	}
	return parts, nil
}

// placeholder stands in for a variable while a template is checked as a URL.
const placeholder = "hutong-variable"

// parseEndpoint checks value as an endpoint of kind k and parses it.
func parseEndpoint(k Kind, value string) (*endpoint, error) {
	fail := func(format string, args ...any) error {
		return &endpointError{kind: k, value: value, reason: fmt.Sprintf(format, args...)}
	}
	if !k.Valid() {
		return nil, refuse(ErrUnknownKind, " %q", truncate(string(k), 64))
	}
	if value == "" {
		return nil, fail("empty URL")
	}
	if len(value) > MaxURL {
		return nil, fail("%d bytes, more than the %d allowed", len(value), MaxURL)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c <= ' ' || c >= 0x7f {
			return nil, fail("byte %d is a space, a control character or not ASCII; percent-encode it", i)
		}
	}
	parts, err := parseTemplate(value)
	if err != nil {
		return nil, fail("%v", err)
	}
	vars := false
	var sample strings.Builder
	for _, p := range parts {
		if p.v == varLiteral {
			sample.WriteString(p.lit)
		} else {
			vars = true
			sample.WriteString(placeholder)
		}
	}
	u, err := url.Parse(sample.String())
	if err != nil {
		return nil, fail("not a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fail("want an absolute http:// or https:// URL")
	case u.Opaque != "" || u.Host == "":
		return nil, fail("no host; write scheme://host[:port]/path")
	case u.User != nil:
		return nil, fail("user information in the URL is not allowed")
	case strings.Contains(u.Host, placeholder):
		return nil, fail("variables may appear only in the path and query")
	case u.Hostname() == "":
		return nil, fail("no host name")
	case u.Fragment != "" || strings.Contains(value, "#"):
		return nil, fail("a fragment (#...) is never sent; remove it")
	}
	if k.IsBase() {
		switch {
		case vars:
			return nil, fail("this type takes a base URL, to which the request's path is appended; it has no variables")
		case u.RawQuery != "" || strings.Contains(value, "?"):
			return nil, fail("this type takes a base URL, to which the request's path is appended; it has no query")
		}
		return &endpoint{value: value, parts: []part{{lit: strings.TrimRight(value, "/"), v: varLiteral}}, base: true}, nil
	}
	return &endpoint{value: value, parts: parts}, nil
}

// expand writes the endpoint's URL for vars, path-escaping each value.
func (e *endpoint) expand(r *Request) (string, error) {
	if len(e.parts) == 1 && e.parts[0].v == varLiteral {
		if e.base {
			return e.parts[0].lit + r.Path, nil
		}
		return e.parts[0].lit, nil
	}
	var vals [numVars]string
	n := 0
	for _, p := range e.parts {
		if p.v == varLiteral {
			n += len(p.lit)
			continue
		}
		if vals[p.v] == "" {
			v := r.Vars.value(p.v)
			if v == "" {
				return "", refuse(ErrMissingValue, ": %s for %s needs {{%s}}", r.Kind, r.To, varName(p.v))
			}
			vals[p.v] = url.PathEscape(v)
		}
		n += len(vals[p.v])
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range e.parts {
		if p.v == varLiteral {
			b.WriteString(p.lit)
		} else {
			b.WriteString(vals[p.v])
		}
	}
	return b.String(), nil
}

func varName(v int) string {
	for name, i := range varNames {
		if i == v {
			return name
		}
	}
	return "?"
}

// value returns the variable v's value.
func (v *Vars) value(i int) string {
	switch i {
	case varPartyIDType:
		return v.PartyIDType
	case varPartyIdentifier:
		return v.PartyIdentifier
	case varPartySubIDOrType:
		return v.PartySubIDOrType
	}
	return v.ID
}

// Endpoints holds every participant's endpoints: in memory for Resolve, and
// in the KV. It is safe for concurrent use.
type Endpoints struct {
	kv kv.Space

	// wmu serializes writes, so that the memory follows the KV's order.
	wmu sync.Mutex

	mu sync.RWMutex // guards the field below
	// byParticipant maps a participant to its endpoints, indexed as kinds.
	// An array is never changed once in the map: a write replaces it.
	byParticipant map[string]*[len(kinds)]*endpoint
}

const endpointPrefix = "cbe/"

func endpointKey(participant string, k Kind) []byte {
	return []byte(endpointPrefix + participant + "/" + string(k))
}

// OpenEndpoints loads every stored endpoint from kv.
func OpenEndpoints(ctx context.Context, kv kv.Space) (*Endpoints, error) {
	e := &Endpoints{kv: kv, byParticipant: make(map[string]*[len(kinds)]*endpoint)}
	err := kv.Scan(ctx, []byte(endpointPrefix), 0, func(key, value []byte) error {
		rest := key[len(endpointPrefix):]
		i := bytes.LastIndexByte(rest, '/')
		if i < 0 {
			return fmt.Errorf("callback: endpoint key %q: %w", key, store.ErrCorrupt)
		}
		participant, k := string(rest[:i]), Kind(rest[i+1:])
		ep, err := parseEndpoint(k, string(value))
		if err != nil {
			return fmt.Errorf("callback: endpoint key %q: %w: %w", key, store.ErrCorrupt, err)
		}
		set := e.byParticipant[participant]
		if set == nil {
			set = new([len(kinds)]*endpoint)
			e.byParticipant[participant] = set
		}
		set[kindIndex[k]] = ep
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("callback: load endpoints: %w", err)
	}
	return e, nil
}

// Set stores participant's endpoint of kind k, replacing any it had.
func (e *Endpoints) Set(ctx context.Context, participant string, k Kind, value string) error {
	return e.SetMany(ctx, participant, []Endpoint{{Kind: k, Value: value}})
}

// SetMany stores several of participant's endpoints with one durable write.
// Every one is checked first: when any is invalid, or a kind is given
// twice, none is stored.
func (e *Endpoints) SetMany(ctx context.Context, participant string, eps []Endpoint) error {
	if !ledger.ValidParticipantID(participant) {
		return refuse(ErrInvalidParticipant, " %q", truncate(participant, 64))
	}
	parsed := make([]*endpoint, len(eps))
	for i, ep := range eps {
		p, err := parseEndpoint(ep.Kind, ep.Value)
		if err != nil {
			return err
		}
		for _, prev := range eps[:i] {
			if prev.Kind == ep.Kind {
				return refuse(ErrInvalidEndpoint, ": %s is given twice", ep.Kind)
			}
		}
		parsed[i] = p
	}
	b := kv.Batch{Durable: true}
	for _, ep := range eps {
		b.Set(endpointKey(participant, ep.Kind), []byte(ep.Value))
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if err := e.kv.Apply(ctx, &b); err != nil {
		return fmt.Errorf("callback: store endpoints of %s: %w", participant, err)
	}
	e.mu.Lock()
	set := new([len(kinds)]*endpoint)
	if old := e.byParticipant[participant]; old != nil {
		*set = *old
	}
	for i, ep := range eps {
		set[kindIndex[ep.Kind]] = parsed[i]
	}
	e.byParticipant[participant] = set
	e.mu.Unlock()
	return nil
}

// SetBase sets every one of participant's endpoints at once, with one
// durable write: each kind gets base followed by its standard FSPIOP path
// (FSPIOP_CALLBACK_URL_PARTIES_PUT gets
// base+"/parties/{{partyIdType}}/{{partyIdentifier}}"; the hub's own
// HUTONG_CALLBACK_URL_LIQUIDITY_ALERT gets base+"/liquidityAlerts"), and
// the quote and transaction request kinds get base itself.
func (e *Endpoints) SetBase(ctx context.Context, participant, base string) error {
	// Check base on its own first, so that a bad one is reported as such
	// rather than through the first kind's template.
	if _, err := parseEndpoint(Quotes, base); err != nil {
		var ee *endpointError
		if errors.As(err, &ee) {
			return refuse(ErrInvalidEndpoint, ": base %q: %s", truncate(base, 80), ee.reason)
		}
		return err
	}
	trimmed := strings.TrimRight(base, "/")
	eps := make([]Endpoint, len(kinds))
	for i, k := range kinds {
		eps[i] = Endpoint{Kind: k.kind, Value: trimmed + k.template}
		if k.base {
			eps[i].Value = base
		}
	}
	return e.SetMany(ctx, participant, eps)
}

// endpointError is an invalid endpoint URL and why.
type endpointError struct {
	kind          Kind
	value, reason string
}

func (e *endpointError) Error() string { return "callback: " + e.Message() }

// Message is the refusal without the package's name, for a client.
func (e *endpointError) Message() string {
	return fmt.Sprintf("%s: %s %q: %s", ErrInvalidEndpoint.(*rule).msg, e.kind, truncate(e.value, 80), e.reason)
}

func (e *endpointError) Unwrap() error { return ErrInvalidEndpoint }

// Get returns participant's endpoint of kind k as it was set, without the
// fallback Resolve applies.
func (e *Endpoints) Get(participant string, k Kind) (string, bool) {
	i, ok := kindIndex[k]
	if !ok {
		return "", false
	}
	e.mu.RLock()
	set := e.byParticipant[participant]
	e.mu.RUnlock()
	if set == nil || set[i] == nil {
		return "", false
	}
	return set[i].value, true
}

// List returns participant's endpoints sorted by kind.
func (e *Endpoints) List(participant string) []Endpoint {
	e.mu.RLock()
	set := e.byParticipant[participant]
	e.mu.RUnlock()
	var out []Endpoint
	if set == nil {
		return out
	}
	for i, ep := range set {
		if ep != nil {
			out = append(out, Endpoint{Kind: kinds[i].kind, Value: ep.value})
		}
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return strings.Compare(string(a.Kind), string(b.Kind)) })
	return out
}

// Delete removes participant's endpoint of kind k. Deleting an endpoint
// that is not set changes nothing and is not an error.
func (e *Endpoints) Delete(ctx context.Context, participant string, k Kind) error {
	i, ok := kindIndex[k]
	if !ok {
		return refuse(ErrUnknownKind, " %q", truncate(string(k), 64))
	}
	if !ledger.ValidParticipantID(participant) {
		return refuse(ErrInvalidParticipant, " %q", truncate(participant, 64))
	}
	b := kv.Batch{Durable: true}
	b.Delete(endpointKey(participant, k))
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if err := e.kv.Apply(ctx, &b); err != nil {
		return fmt.Errorf("callback: delete endpoint %s of %s: %w", k, participant, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.byParticipant[participant]
	if old == nil || old[i] == nil {
		return nil
	}
	set := new([len(kinds)]*endpoint)
	*set = *old
	set[i] = nil
	e.byParticipant[participant] = set
	return nil
}

// Resolve returns the URL r is to be sent to: the recipient's endpoint of
// r.Kind, with r.Path appended for the base kinds, or its variables filled
// in from r.Vars for the others. A PATCH of a transfer falls back to the
// FSPIOP_CALLBACK_URL_TRANSFER_PUT endpoint. It returns an error wrapping
// ErrNoEndpoint when the recipient has no endpoint of the kind,
// ErrMissingValue when the template needs a variable r does not have, and
// ErrUnknownKind for an unknown kind.
func (e *Endpoints) Resolve(r *Request) (string, error) {
	i, ok := kindIndex[r.Kind]
	if !ok {
		return "", refuse(ErrUnknownKind, " %q", truncate(string(r.Kind), 64))
	}
	e.mu.RLock()
	set := e.byParticipant[r.To]
	e.mu.RUnlock()
	var ep *endpoint
	if set != nil {
		ep = set[i]
		if ep == nil && r.Kind == TransferPatch {
			ep = set[kindIndex[TransferPut]]
		}
	}
	if ep == nil {
		return "", refuse(ErrNoEndpoint, " %s for participant %s", r.Kind, r.To)
	}
	return ep.expand(r)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
