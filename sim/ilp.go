package sim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Packet types understood by DecodePacket.
const (
	// TypePrepare is the type byte of an ILP v4 Prepare packet, the packet
	// the simulated FSPs send.
	TypePrepare = 12
	// TypePayment is the type byte of the legacy ILP payment packet
	// ("InterledgerProtocolPaymentMessage") that the examples of the FSPIOP
	// v1.1 specification use; DecodePacket reads it too.
	TypePayment = 1
)

// MaxPacketData is the largest data field an ILP packet may carry.
const MaxPacketData = 32767

// ilpTimeLayout is the fixed 17-character GeneralizedTime of an ILP v4
// Prepare's expiresAt, in UTC with milliseconds.
const ilpTimeLayout = "20060102150405.000"

// ErrPacket is wrapped by the errors DecodePacket and ParsePacket return
// for a malformed ILP packet.
var ErrPacket = errors.New("sim: malformed ILP packet")

// Packet is an ILP packet as carried in the FSPIOP ilpPacket field.
//
// The simulated FSPs write ILP v4 Prepare packets: amount (UInt64, the
// transfer amount in the currency's minor unit), expiresAt, an
// executionCondition, the payee's ILP address and the data, which is the
// base64url encoding of the JSON Transaction object. Because the condition
// is derived from the packet itself (Condition(Fulfil(secret, packet))), the
// packet cannot contain it: its executionCondition is 32 zero bytes and the
// condition travels in the FSPIOP condition field.
type Packet struct {
	// Type is TypePrepare or TypePayment.
	Type int
	// Amount is the amount in the currency's minor unit.
	Amount uint64
	// ExpiresAt is the Prepare's expiry, in UTC with millisecond
	// precision; zero for a payment packet.
	ExpiresAt time.Time
	// Condition is the Prepare's executionCondition.
	Condition [32]byte
	// Account is the destination ILP address.
	Account string
	// Data is the end-to-end data.
	Data []byte
}

// Encode returns the OER encoding of an ILP v4 Prepare packet with p's
// amount, expiry, condition, account and data (p.Type is ignored).
func (p *Packet) Encode() ([]byte, error) {
	if len(p.Data) > MaxPacketData {
		return nil, fmt.Errorf("%w: data is %d bytes, more than %d", ErrPacket, len(p.Data), MaxPacketData)
	}
	if err := checkAddress(p.Account); err != nil {
		return nil, err
	}
	exp := p.ExpiresAt.UTC().Format(ilpTimeLayout)
	exp = exp[:14] + exp[15:] // drop the '.' of the layout: YYYYMMDDHHMMSSfff
	if len(exp) != 17 {
		return nil, fmt.Errorf("%w: expiry %v does not fit the packet", ErrPacket, p.ExpiresAt)
	}
	n := 8 + 17 + 32 + lengthSize(len(p.Account)) + len(p.Account) + lengthSize(len(p.Data)) + len(p.Data)
	b := make([]byte, 0, 1+lengthSize(n)+n)
	b = append(b, TypePrepare)
	b = appendLength(b, n)
	b = binary.BigEndian.AppendUint64(b, p.Amount)
	b = append(b, exp...)
	b = append(b, p.Condition[:]...)
	b = appendLength(b, len(p.Account))
	b = append(b, p.Account...)
	b = appendLength(b, len(p.Data))
	b = append(b, p.Data...)
	return b, nil
}

// EncodeString returns Encode's bytes in base64url without padding, the
// form of the FSPIOP ilpPacket field.
func (p *Packet) EncodeString() (string, error) {
	b, err := p.Encode()
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ParsePacket decodes an FSPIOP ilpPacket string (base64url, with or
// without padding) and returns the packet with its raw bytes, from which
// the fulfilment is computed.
func ParsePacket(s string) (*Packet, []byte, error) {
	raw, err := decodeBase64URL(s)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: ilpPacket is not base64url: %v", ErrPacket, err)
	}
	p, err := DecodePacket(raw)
	if err != nil {
		return nil, nil, err
	}
	return p, raw, nil
}

// DecodePacket decodes an OER-encoded ILP v4 Prepare packet or a legacy ILP
// payment packet, with or without its length prefix (the FSPIOP v1.1
// specification shows both). Bytes after the payment packet's data are its
// extensions and are ignored.
func DecodePacket(b []byte) (*Packet, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrPacket)
	}
	switch b[0] {
	case TypePrepare:
		body, rest, err := readLengthPrefixed(b[1:])
		if err != nil {
			return nil, fmt.Errorf("%w: envelope: %v", ErrPacket, err)
		}
		if len(rest) != 0 {
			return nil, fmt.Errorf("%w: %d bytes after the packet", ErrPacket, len(rest))
		}
		return decodePrepare(body)
	case TypePayment:
		// With a length prefix covering exactly the rest, as the
		// specification's OpenAPI example; else without, as its
		// end-to-end example.
		if body, rest, err := readLengthPrefixed(b[1:]); err == nil && len(rest) == 0 {
			if p, err := decodePayment(body); err == nil {
				return p, nil
			}
		}
		return decodePayment(b[1:])
	default:
		return nil, fmt.Errorf("%w: unknown packet type %d", ErrPacket, b[0])
	}
}

func decodePrepare(b []byte) (*Packet, error) {
	if len(b) < 8+17+32 {
		return nil, fmt.Errorf("%w: prepare is %d bytes, too short", ErrPacket, len(b))
	}
	p := &Packet{Type: TypePrepare, Amount: binary.BigEndian.Uint64(b)}
	ts := string(b[8:25])
	t, err := time.Parse(ilpTimeLayout, ts[:14]+"."+ts[14:])
	if err != nil {
		return nil, fmt.Errorf("%w: expiresAt %q: %v", ErrPacket, ts, err)
	}
	p.ExpiresAt = t.UTC()
	copy(p.Condition[:], b[25:57])
	addr, rest, err := readLengthPrefixed(b[57:])
	if err != nil {
		return nil, fmt.Errorf("%w: destination: %v", ErrPacket, err)
	}
	if err := checkAddress(string(addr)); err != nil {
		return nil, err
	}
	p.Account = string(addr)
	data, rest, err := readLengthPrefixed(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: data: %v", ErrPacket, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the data", ErrPacket, len(rest))
	}
	if len(data) > MaxPacketData {
		return nil, fmt.Errorf("%w: data is %d bytes, more than %d", ErrPacket, len(data), MaxPacketData)
	}
	p.Data = data
	return p, nil
}

func decodePayment(b []byte) (*Packet, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: payment is %d bytes, too short", ErrPacket, len(b))
	}
	p := &Packet{Type: TypePayment, Amount: binary.BigEndian.Uint64(b)}
	addr, rest, err := readLengthPrefixed(b[8:])
	if err != nil {
		return nil, fmt.Errorf("%w: account: %v", ErrPacket, err)
	}
	if err := checkAddress(string(addr)); err != nil {
		return nil, err
	}
	p.Account = string(addr)
	data, _, err := readLengthPrefixed(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: data: %v", ErrPacket, err)
	}
	if len(data) > MaxPacketData {
		return nil, fmt.Errorf("%w: data is %d bytes, more than %d", ErrPacket, len(data), MaxPacketData)
	}
	p.Data = data
	return p, nil
}

// lengthSize is the size of the OER length prefix of n.
func lengthSize(n int) int {
	if n < 128 {
		return 1
	}
	s := 1
	for ; n > 0; n >>= 8 {
		s++
	}
	return s
}

// appendLength appends the OER length determinant of n: one byte below
// 128, else 0x80|k followed by n in k big-endian bytes.
func appendLength(b []byte, n int) []byte {
	if n < 128 {
		return append(b, byte(n))
	}
	k := lengthSize(n) - 1
	b = append(b, 0x80|byte(k))
	for i := k - 1; i >= 0; i-- {
		b = append(b, byte(n>>(8*i)))
	}
	return b
}

// readLengthPrefixed reads an OER variable-length octet string and returns
// it with what follows.
func readLengthPrefixed(b []byte) (val, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, errors.New("missing length")
	}
	n := int(b[0])
	b = b[1:]
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 {
			return nil, nil, fmt.Errorf("length of %d bytes", k)
		}
		if len(b) < k {
			return nil, nil, errors.New("truncated length")
		}
		n = 0
		for _, c := range b[:k] {
			n = n<<8 | int(c)
		}
		b = b[k:]
		if n < 128 {
			return nil, nil, errors.New("non-canonical length")
		}
	}
	if n > len(b) {
		return nil, nil, fmt.Errorf("length %d beyond the %d bytes left", n, len(b))
	}
	return b[:n], b[n:], nil
}

// checkAddress checks the ILP address grammar loosely: 1 to 1023 bytes of
// printable ASCII without spaces.
func checkAddress(a string) error {
	if a == "" || len(a) > 1023 {
		return fmt.Errorf("%w: ILP address of %d bytes", ErrPacket, len(a))
	}
	for i := 0; i < len(a); i++ {
		if a[i] <= ' ' || a[i] > '~' {
			return fmt.Errorf("%w: ILP address %q has byte 0x%02x", ErrPacket, a, a[i])
		}
	}
	return nil
}

// Address returns the ILP address of a customer of fsp:
// g.<fsp>.<type>.<id>[.<subId>], lower-cased type, with every byte outside
// the address alphabet [A-Za-z0-9_~-] of a segment replaced by '~'.
func Address(fsp string, p Party) string {
	var b strings.Builder
	b.WriteString("g.")
	writeSegment(&b, fsp, true)
	b.WriteByte('.')
	writeSegment(&b, strings.ToLower(p.Type), false)
	b.WriteByte('.')
	writeSegment(&b, p.ID, false)
	if p.SubID != "" {
		b.WriteByte('.')
		writeSegment(&b, p.SubID, false)
	}
	return b.String()
}

func writeSegment(b *strings.Builder, s string, dots bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '~', c == '-':
			b.WriteByte(c)
		case c == '.' && dots && i > 0 && i < len(s)-1 && s[i-1] != '.':
			b.WriteByte(c)
		default:
			b.WriteByte('~')
		}
	}
}

// Fulfil returns the fulfilment of an ILP packet: HMAC-SHA256 of the
// packet's bytes under the payee FSP's secret (FSPIOP v1.1, "Interledger
// Payment Request": the fulfilment is the HMAC of the ILP packet with a
// local secret as key; the specification's end-to-end example hashes the
// decoded packet bytes).
func Fulfil(secret, packet []byte) [32]byte {
	m := hmac.New(sha256.New, secret)
	m.Write(packet)
	var f [32]byte
	m.Sum(f[:0])
	return f
}

// Condition returns the condition of a fulfilment: its SHA-256.
func Condition(fulfilment [32]byte) [32]byte { return sha256.Sum256(fulfilment[:]) }

// Encode32 returns a 32-byte value in base64url without padding, the
// 43-character form of FSPIOP's IlpCondition and IlpFulfilment.
func Encode32(v [32]byte) string { return base64.RawURLEncoding.EncodeToString(v[:]) }

// Decode32 parses the 43-character base64url form of a condition or
// fulfilment.
func Decode32(s string) ([32]byte, error) {
	var v [32]byte
	if len(s) != 43 {
		return v, fmt.Errorf("sim: %q is %d characters, not 43", s, len(s))
	}
	n, err := base64.RawURLEncoding.Decode(v[:], []byte(s))
	if err != nil || n != 32 {
		return v, fmt.Errorf("sim: %q is not base64url of 32 bytes", s)
	}
	return v, nil
}

// Matches reports whether fulfilment (base64url) fulfils condition
// (base64url).
func Matches(fulfilment, condition string) bool {
	f, err := Decode32(fulfilment)
	if err != nil {
		return false
	}
	c, err := Decode32(condition)
	if err != nil {
		return false
	}
	got := Condition(f)
	return subtle.ConstantTimeCompare(got[:], c[:]) == 1
}

// decodeBase64URL decodes base64url with or without '=' padding.
func decodeBase64URL(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	return base64.RawURLEncoding.DecodeString(s)
}

// TransactionFromPacket reads the FSPIOP Transaction object carried in a
// packet's data: base64url of the JSON, or (as in the specification's
// example) the JSON itself.
func TransactionFromPacket(p *Packet) (*Transaction, error) {
	data := bytes.TrimSpace(p.Data)
	if len(data) == 0 || data[0] != '{' {
		d, err := decodeBase64URL(string(data))
		if err != nil {
			return nil, fmt.Errorf("%w: data is neither JSON nor base64url: %v", ErrPacket, err)
		}
		data = d
	}
	var t Transaction
	if err := unmarshalJSON(data, &t); err != nil {
		return nil, fmt.Errorf("%w: transaction: %v", ErrPacket, err)
	}
	return &t, nil
}
