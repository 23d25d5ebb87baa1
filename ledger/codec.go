package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The binary encodings of commands and records, shared by the journal and
// the store backends. Each record starts with a format version byte. Integers
// are varints; strings and byte strings are length-prefixed; times are Unix
// nanoseconds in UTC with 0 for the zero time; 32-byte digests are present
// only when a flag bit says so.
//
//	Transfer:    ver kind state flags id[16] amount currency payer payee
//	             [condition] [fulfilment] [fingerprint] expiry created completed reason
//	             window (version 2 on; version 1 records have none)
//	Participant: ver status id name created n (currency ndc)*n
//	Account:     ver participant currency type dPosted cPosted dPending cPending
//	Window:      ver id currency model state opened closed settlement count amount
//	             n (payer payee count amount)*n
//	Settlement:  ver id currency model state created updated reason count amount
//	             position nw window*nw nn (participant sent received sentCount
//	             receivedCount net)*nn no (payer payee count amount)*no
//	             nh (state at reason)*nh
//	Command:     0x00 ver op, then the fields its Op uses, in the order of
//	             Command's doc
//
// Commands are the exception to the leading version byte: they were written
// without one before version 2, starting with their op. Op 0 does not exist,
// so a command that starts with 0x00 carries its version in the next byte and
// one that starts with anything else is a version 1 command; versions 1 and 2
// have the same fields. A version this code does not know is reported as
// ErrCorrupt, never read as another one:
//
//	version 1:  op fields...
//	version 2:  0x00 2 op fields...

const codecVersion = 1

// commandTag starts a command that carries its version; no Op is 0.
const commandTag = 0

// commandVersion is the command format AppendCommand writes.
const commandVersion = 2

// transferVersion is the transfer record's format, which gained the window.
const transferVersion = 2

// ErrCorrupt is the one error for corrupt data, wherever it is found: bytes
// that do not decode as the record they should hold (a command, a transfer,
// a journal entry), a stored record that fails its checksum, a key-value
// record of another package that does not decode. Package journal returns it
// as is and package store exports it as store.ErrCorrupt, so that
// errors.Is(err, store.ErrCorrupt) holds for any of them. It is never
// returned for a record that is merely absent.
var ErrCorrupt = errors.New("ledger: corrupt record")

const (
	flagCondition = 1 << iota
	flagFulfilment
	flagFingerprint
)

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }
func appendVarint(b []byte, v int64) []byte   { return binary.AppendVarint(b, v) }
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return appendVarint(b, 0)
	}
	return appendVarint(b, t.UnixNano())
}

func digestFlags(cond, ful, fp *[32]byte) byte {
	var f byte
	if *cond != ([32]byte{}) {
		f |= flagCondition
	}
	if *ful != ([32]byte{}) {
		f |= flagFulfilment
	}
	if *fp != ([32]byte{}) {
		f |= flagFingerprint
	}
	return f
}

func appendDigests(b []byte, f byte, cond, ful, fp *[32]byte) []byte {
	if f&flagCondition != 0 {
		b = append(b, cond[:]...)
	}
	if f&flagFulfilment != 0 {
		b = append(b, ful[:]...)
	}
	if f&flagFingerprint != 0 {
		b = append(b, fp[:]...)
	}
	return b
}

// AppendTransfer appends the encoding of t to b.
func AppendTransfer(b []byte, t *Transfer) []byte {
	f := digestFlags(&t.Condition, &t.Fulfilment, &t.Fingerprint)
	b = append(b, transferVersion, byte(t.Kind), byte(t.State), f)
	b = append(b, t.ID[:]...)
	b = appendVarint(b, t.Amount)
	b = appendString(b, t.Currency)
	b = appendString(b, t.Payer)
	b = appendString(b, t.Payee)
	b = appendDigests(b, f, &t.Condition, &t.Fulfilment, &t.Fingerprint)
	b = appendTime(b, t.Expiry)
	b = appendTime(b, t.Created)
	b = appendTime(b, t.Completed)
	b = appendString(b, t.Reason)
	return appendUvarint(b, t.Window)
}

// DecodeTransfer decodes a transfer encoded by AppendTransfer.
func DecodeTransfer(b []byte) (Transfer, error) {
	d := decoder{b: b}
	var t Transfer
	ver := d.byte()
	if ver != codecVersion && ver != transferVersion {
		return t, fmt.Errorf("%w: transfer: unknown version", ErrCorrupt)
	}
	t.Kind, t.State = Kind(d.byte()), State(d.byte())
	f := d.byte()
	d.fixed(t.ID[:])
	t.Amount = d.varint()
	t.Currency = d.string()
	t.Payer = d.string()
	t.Payee = d.string()
	d.digests(f, &t.Condition, &t.Fulfilment, &t.Fingerprint)
	t.Expiry = d.time()
	t.Created = d.time()
	t.Completed = d.time()
	t.Reason = d.string()
	if ver >= transferVersion {
		t.Window = d.uvarint()
	}
	if err := d.finish("transfer"); err != nil {
		return Transfer{}, err
	}
	if t.Kind < KindPayment || t.Kind > KindFundsOut || t.State < StateReserved || t.State > StateExpired {
		return Transfer{}, fmt.Errorf("%w: transfer: kind %d state %d", ErrCorrupt, t.Kind, t.State)
	}
	return t, nil
}

// AppendParticipant appends the encoding of p to b.
func AppendParticipant(b []byte, p *Participant) []byte {
	b = append(b, codecVersion, byte(p.Status))
	b = appendString(b, p.ID)
	b = appendString(b, p.Name)
	b = appendTime(b, p.Created)
	b = appendUvarint(b, uint64(len(p.Currencies)))
	for _, c := range p.Currencies {
		b = appendString(b, c.Currency)
		b = appendVarint(b, c.NDC)
	}
	return b
}

// DecodeParticipant decodes a participant encoded by AppendParticipant.
func DecodeParticipant(b []byte) (Participant, error) {
	d := decoder{b: b}
	var p Participant
	if d.byte() != codecVersion {
		return p, fmt.Errorf("%w: participant: unknown version", ErrCorrupt)
	}
	p.Status = Status(d.byte())
	p.ID = d.string()
	p.Name = d.string()
	p.Created = d.time()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return Participant{}, fmt.Errorf("%w: participant: %d currencies", ErrCorrupt, n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		p.Currencies = append(p.Currencies, CurrencyLimit{Currency: d.string(), NDC: d.varint()})
	}
	if err := d.finish("participant"); err != nil {
		return Participant{}, err
	}
	return p, nil
}

// AppendAccount appends the encoding of a to b.
func AppendAccount(b []byte, a *Account) []byte {
	b = append(b, codecVersion)
	b = appendString(b, a.Participant)
	b = appendString(b, a.Currency)
	b = append(b, byte(a.Type))
	b = appendVarint(b, a.DebitsPosted)
	b = appendVarint(b, a.CreditsPosted)
	b = appendVarint(b, a.DebitsPending)
	return appendVarint(b, a.CreditsPending)
}

// DecodeAccount decodes an account encoded by AppendAccount.
func DecodeAccount(b []byte) (Account, error) {
	d := decoder{b: b}
	var a Account
	if d.byte() != codecVersion {
		return a, fmt.Errorf("%w: account: unknown version", ErrCorrupt)
	}
	a.Participant = d.string()
	a.Currency = d.string()
	a.Type = AccountType(d.byte())
	a.DebitsPosted = d.varint()
	a.CreditsPosted = d.varint()
	a.DebitsPending = d.varint()
	a.CreditsPending = d.varint()
	if err := d.finish("account"); err != nil {
		return Account{}, err
	}
	return a, nil
}

// AppendCommand appends the encoding of c to b.
func AppendCommand(b []byte, c *Command) []byte {
	b = append(b, commandTag, commandVersion, byte(c.Op))
	switch c.Op {
	case OpCreateParticipant:
		b = appendString(b, c.Participant)
		b = appendString(b, c.Name)
	case OpSetStatus:
		b = appendString(b, c.Participant)
		b = append(b, byte(c.Status))
	case OpEnableCurrency:
		b = appendString(b, c.Participant)
		b = appendString(b, c.Currency)
	case OpSetNDC:
		b = appendString(b, c.Participant)
		b = appendString(b, c.Currency)
		b = appendVarint(b, c.Amount)
	case OpFundsIn, OpFundsOutReserve:
		b = append(b, c.ID[:]...)
		b = appendString(b, c.Participant)
		b = appendString(b, c.Currency)
		b = appendVarint(b, c.Amount)
		b = append(b, c.Fingerprint[:]...)
	case OpFundsOutCommit, OpExpire:
		b = append(b, c.ID[:]...)
	case OpFundsOutAbort, OpAbort:
		b = append(b, c.ID[:]...)
		b = appendString(b, c.Reason)
	case OpPrepare:
		b = append(b, c.ID[:]...)
		b = appendString(b, c.Payer)
		b = appendString(b, c.Payee)
		b = appendString(b, c.Currency)
		b = appendVarint(b, c.Amount)
		b = append(b, c.Condition[:]...)
		b = appendTime(b, c.Expiry)
		b = append(b, c.Fingerprint[:]...)
	case OpFulfil:
		b = append(b, c.ID[:]...)
		b = append(b, c.Fulfilment[:]...)
	case OpSetModel:
		b = appendString(b, c.Currency)
		b = append(b, byte(c.Model))
	case OpCloseWindow:
		b = appendString(b, c.Currency)
		b = appendUvarint(b, c.Window)
	case OpCreateSettlement:
		b = appendString(b, c.Currency)
		b = appendUvarint(b, uint64(len(c.Windows)))
		for _, w := range c.Windows {
			b = appendUvarint(b, w)
		}
	case OpSettlementState:
		b = appendUvarint(b, c.Settlement)
		b = append(b, byte(c.SettlementState))
		b = appendString(b, c.Reason)
	}
	return b
}

// DecodeCommand decodes one command from the front of b and returns the rest.
// It decodes every command version, those written before commands carried
// one included; a command of an unknown version is ErrCorrupt.
func DecodeCommand(b []byte) (Command, []byte, error) {
	d := decoder{b: b}
	var c Command
	c.Op = Op(d.byte())
	if c.Op == commandTag && d.err == nil {
		if v := d.byte(); v != commandVersion && d.err == nil {
			return Command{}, nil, fmt.Errorf("%w: command: unknown version %d", ErrCorrupt, v)
		}
		c.Op = Op(d.byte())
	}
	switch c.Op {
	case OpCreateParticipant:
		c.Participant = d.string()
		c.Name = d.string()
	case OpSetStatus:
		c.Participant = d.string()
		c.Status = Status(d.byte())
	case OpEnableCurrency:
		c.Participant = d.string()
		c.Currency = d.string()
	case OpSetNDC:
		c.Participant = d.string()
		c.Currency = d.string()
		c.Amount = d.varint()
	case OpFundsIn, OpFundsOutReserve:
		d.fixed(c.ID[:])
		c.Participant = d.string()
		c.Currency = d.string()
		c.Amount = d.varint()
		d.fixed(c.Fingerprint[:])
	case OpFundsOutCommit, OpExpire:
		d.fixed(c.ID[:])
	case OpFundsOutAbort, OpAbort:
		d.fixed(c.ID[:])
		c.Reason = d.string()
	case OpPrepare:
		d.fixed(c.ID[:])
		c.Payer = d.string()
		c.Payee = d.string()
		c.Currency = d.string()
		c.Amount = d.varint()
		d.fixed(c.Condition[:])
		c.Expiry = d.time()
		d.fixed(c.Fingerprint[:])
	case OpFulfil:
		d.fixed(c.ID[:])
		d.fixed(c.Fulfilment[:])
	case OpSetModel:
		c.Currency = d.string()
		c.Model = Model(d.byte())
	case OpCloseWindow:
		c.Currency = d.string()
		c.Window = d.uvarint()
	case OpCreateSettlement:
		c.Currency = d.string()
		c.Windows = d.uvarints()
	case OpSettlementState:
		c.Settlement = d.uvarint()
		c.SettlementState = SettlementState(d.byte())
		c.Reason = d.string()
	default:
		if d.err == nil {
			d.err = fmt.Errorf("%w: command: unknown operation %d", ErrCorrupt, c.Op)
		}
	}
	if d.err != nil {
		return Command{}, nil, d.err
	}
	return c, d.b, nil
}

// decoder reads fields in order; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or malformed %s", ErrCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("byte")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) fixed(dst []byte) {
	if len(d.b) < len(dst) {
		d.fail("fixed field")
		return
	}
	copy(dst, d.b)
	d.b = d.b[len(dst):]
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length that at least min bytes per element must follow.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/min) {
		d.fail("count")
		return 0
	}
	return int(n)
}

func (d *decoder) uvarints() []uint64 {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = d.uvarint()
	}
	return out
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("string")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) time() time.Time {
	n := d.varint()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (d *decoder) digests(f byte, cond, ful, fp *[32]byte) {
	if f&flagCondition != 0 {
		d.fixed(cond[:])
	}
	if f&flagFulfilment != 0 {
		d.fixed(ful[:])
	}
	if f&flagFingerprint != 0 {
		d.fixed(fp[:])
	}
}

func (d *decoder) finish(what string) error {
	if d.err != nil {
		return fmt.Errorf("%s: %w", what, d.err)
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %s: %d trailing bytes", ErrCorrupt, what, len(d.b))
	}
	return nil
}

func appendFlows(b []byte, fs []Flow) []byte {
	b = appendUvarint(b, uint64(len(fs)))
	for _, f := range fs {
		b = appendString(b, f.Payer)
		b = appendString(b, f.Payee)
		b = appendVarint(b, f.Count)
		b = appendVarint(b, f.Amount)
	}
	return b
}

func (d *decoder) flows() []Flow {
	n := d.count(4)
	if n == 0 {
		return nil
	}
	out := make([]Flow, n)
	for i := range out {
		out[i] = Flow{Payer: d.string(), Payee: d.string(), Count: d.varint(), Amount: d.varint()}
	}
	return out
}

// AppendWindow appends the encoding of w to b.
func AppendWindow(b []byte, w *Window) []byte {
	b = append(b, codecVersion)
	b = appendUvarint(b, w.ID)
	b = appendString(b, w.Currency)
	b = append(b, byte(w.Model), byte(w.State))
	b = appendTime(b, w.Opened)
	b = appendTime(b, w.Closed)
	b = appendUvarint(b, w.Settlement)
	b = appendVarint(b, w.Count)
	b = appendVarint(b, w.Amount)
	return appendFlows(b, w.Flows)
}

// DecodeWindow decodes a window encoded by AppendWindow.
func DecodeWindow(b []byte) (Window, error) {
	d := decoder{b: b}
	var w Window
	if d.byte() != codecVersion {
		return w, fmt.Errorf("%w: window: unknown version", ErrCorrupt)
	}
	w.ID = d.uvarint()
	w.Currency = d.string()
	w.Model, w.State = Model(d.byte()), WindowState(d.byte())
	w.Opened = d.time()
	w.Closed = d.time()
	w.Settlement = d.uvarint()
	w.Count = d.varint()
	w.Amount = d.varint()
	w.Flows = d.flows()
	if err := d.finish("window"); err != nil {
		return Window{}, err
	}
	if !w.Model.Valid() || w.State < WindowOpen || w.State > WindowSettled {
		return Window{}, fmt.Errorf("%w: window: model %d state %d", ErrCorrupt, w.Model, w.State)
	}
	return w, nil
}

// AppendSettlement appends the encoding of s to b.
func AppendSettlement(b []byte, s *Settlement) []byte {
	b = append(b, codecVersion)
	b = appendUvarint(b, s.ID)
	b = appendString(b, s.Currency)
	b = append(b, byte(s.Model), byte(s.State))
	b = appendTime(b, s.Created)
	b = appendTime(b, s.Updated)
	b = appendString(b, s.Reason)
	b = appendVarint(b, s.Count)
	b = appendVarint(b, s.Amount)
	b = appendVarint(b, s.Position)
	b = appendUvarint(b, uint64(len(s.Windows)))
	for _, w := range s.Windows {
		b = appendUvarint(b, w)
	}
	b = appendUvarint(b, uint64(len(s.Nets)))
	for _, n := range s.Nets {
		b = appendString(b, n.Participant)
		b = appendVarint(b, n.Sent)
		b = appendVarint(b, n.Received)
		b = appendVarint(b, n.SentCount)
		b = appendVarint(b, n.ReceivedCount)
		b = appendVarint(b, n.Net)
	}
	b = appendFlows(b, s.Owed)
	b = appendUvarint(b, uint64(len(s.History)))
	for _, h := range s.History {
		b = append(b, byte(h.State))
		b = appendTime(b, h.At)
		b = appendString(b, h.Reason)
	}
	return b
}

// DecodeSettlement decodes a settlement encoded by AppendSettlement.
func DecodeSettlement(b []byte) (Settlement, error) {
	d := decoder{b: b}
	var s Settlement
	if d.byte() != codecVersion {
		return s, fmt.Errorf("%w: settlement: unknown version", ErrCorrupt)
	}
	s.ID = d.uvarint()
	s.Currency = d.string()
	s.Model, s.State = Model(d.byte()), SettlementState(d.byte())
	s.Created = d.time()
	s.Updated = d.time()
	s.Reason = d.string()
	s.Count = d.varint()
	s.Amount = d.varint()
	s.Position = d.varint()
	s.Windows = d.uvarints()
	if n := d.count(6); n > 0 {
		s.Nets = make([]Net, n)
		for i := range s.Nets {
			s.Nets[i] = Net{Participant: d.string(), Sent: d.varint(), Received: d.varint(),
				SentCount: d.varint(), ReceivedCount: d.varint(), Net: d.varint()}
		}
	}
	s.Owed = d.flows()
	if n := d.count(3); n > 0 {
		s.History = make([]StateChange, n)
		for i := range s.History {
			s.History[i] = StateChange{State: SettlementState(d.byte()), At: d.time(), Reason: d.string()}
		}
	}
	if err := d.finish("settlement"); err != nil {
		return Settlement{}, err
	}
	if !s.Model.Valid() || s.State < SettlementPending || s.State > SettlementAborted {
		return Settlement{}, fmt.Errorf("%w: settlement: model %d state %d", ErrCorrupt, s.Model, s.State)
	}
	return s, nil
}
