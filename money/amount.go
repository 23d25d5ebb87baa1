package money

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Sentinel errors wrapped by *AmountError. Test for them with errors.Is.
var (
	// ErrSyntax is returned by ParseAmount when the input is not an FSPIOP
	// Amount: a sign, a leading zero, white space, an exponent, a comma, a
	// bare or leading ".", more than 18 integer digits, more than 4
	// decimals, a trailing zero in the fraction, or any other byte.
	ErrSyntax = errors.New("money: invalid amount syntax")
	// ErrPrecision is returned by ParseAmount when the amount has more
	// decimals than the currency's ISO 4217 exponent allows.
	ErrPrecision = errors.New("money: too many decimals for the currency")
	// ErrOverflow is returned by ParseAmount when the amount in minor units
	// is larger than math.MaxInt64.
	ErrOverflow = errors.New("money: amount out of range")
	// ErrUnknownCurrency is returned by ParseAmount when the Currency is the
	// zero Currency, has a code Lookup does not know (including the ISO
	// codes without a minor unit, such as XAU or XXX), or has an exponent
	// other than the table's.
	ErrUnknownCurrency = errors.New("money: unknown currency")
)

// AmountError is the error ParseAmount returns. Err is one of ErrSyntax,
// ErrPrecision, ErrOverflow or ErrUnknownCurrency; the message says what is
// wrong with the input in terms a sender can act on.
type AmountError struct {
	Input    string // the amount as given
	Currency string // the currency code as given
	Err      error  // the sentinel error

	exponent int // the exponent given with the currency
}

// Unwrap returns e.Err.
func (e *AmountError) Unwrap() error { return e.Err }

// maxQuoted bounds how much of a hostile input goes into a message.
const maxQuoted = 40

func (e *AmountError) quotedInput() string {
	if len(e.Input) <= maxQuoted {
		return strconv.Quote(e.Input)
	}
	return fmt.Sprintf("%q... (%d bytes)", e.Input[:maxQuoted], len(e.Input))
}

// Error describes the failure, e.g.
// `money: amount "1.001" has 3 decimals but USD allows 2`.
func (e *AmountError) Error() string { return "money: " + e.Message() }

// Message is the description without the package prefix, for a client to
// read, e.g. `amount "1.001" has 3 decimals but USD allows 2`.
func (e *AmountError) Message() string {
	in := e.quotedInput()
	switch e.Err {
	case ErrSyntax:
		r := scan(e.Input)
		return fmt.Sprintf("amount %s is not an FSPIOP amount: %s", in, r.describe(e.Input))
	case ErrPrecision:
		r := scan(e.Input)
		unit := "decimals"
		if r.fracDigits == 1 {
			unit = "decimal"
		}
		return fmt.Sprintf("amount %s has %d %s but %s allows %d", in, r.fracDigits, unit, e.Currency, e.exponent)
	case ErrOverflow:
		c := Currency{Code: e.Currency, Exponent: e.exponent}
		return fmt.Sprintf("amount %s is too large: the largest %s amount is %s", in, e.Currency, FormatAmount(math.MaxInt64, c))
	case ErrUnknownCurrency:
		if e.Currency == "" {
			return fmt.Sprintf("amount %s has no currency", in)
		}
		if what, ok := noMinorUnit[e.Currency]; ok {
			return fmt.Sprintf("amount %s: currency %s (%s) has no minor unit in ISO 4217, so amounts in it are not accepted", in, e.Currency, what)
		}
		if c, ok := Lookup(e.Currency); ok {
			return fmt.Sprintf("amount %s: currency %s has exponent %d in ISO 4217, not %d", in, e.Currency, c.Exponent, e.exponent)
		}
		return fmt.Sprintf("amount %s: unknown currency %q (want an ISO 4217 code such as \"USD\")", in, e.Currency)
	}
	return fmt.Sprintf("amount %s in %s: %v", in, e.Currency, e.Err)
}

// Grammar limits of the FSPIOP Amount type.
const (
	maxIntDigits  = 18
	maxFracDigits = 4
)

// fault says which rule of the grammar an input breaks; 0 means none.
type fault uint8

const (
	faultNone         fault = iota
	faultEmpty              // ""
	faultSign               // leading '+' or '-'
	faultNoInt              // ".5"
	faultLeadingZero        // "01", "00"
	faultIntTooLong         // 19 or more integer digits
	faultBareDot            // "1."
	faultFracTooLong        // 5 or more decimals
	faultTrailingZero       // "1.10", "1.0"
	faultByte               // anything else at pos
)

// scanned is what scan learns about an input.
type scanned struct {
	fault      fault
	pos        int    // byte offset of the offending byte, for faultByte
	intVal     uint64 // value of the integer part; < 10^18
	fracVal    uint64 // value of the fraction digits; < 10^4
	fracDigits int    // number of fraction digits
}

// scan checks s against the FSPIOP Amount grammar and, when it matches,
// returns the integer and fraction parts. It never allocates.
func scan(s string) scanned {
	var r scanned
	n := len(s)
	if n == 0 {
		r.fault = faultEmpty
		return r
	}
	i := 0
	switch b := s[0]; {
	case b == '0':
		i = 1
		if i < n && isDigit(s[i]) {
			r.fault, r.pos = faultLeadingZero, i
			return r
		}
	case b >= '1' && b <= '9':
		for i < n && isDigit(s[i]) {
			if i == maxIntDigits {
				r.fault, r.pos = faultIntTooLong, i
				return r
			}
			r.intVal = r.intVal*10 + uint64(s[i]-'0')
			i++
		}
	case b == '+' || b == '-':
		r.fault = faultSign
		return r
	case b == '.':
		r.fault = faultNoInt
		return r
	default:
		r.fault = faultByte
		return r
	}
	if i == n {
		return r
	}
	if s[i] != '.' {
		r.fault, r.pos = faultByte, i
		return r
	}
	i++
	start := i
	for i < n && isDigit(s[i]) {
		if i-start == maxFracDigits {
			r.fault, r.pos = faultFracTooLong, i
			return r
		}
		r.fracVal = r.fracVal*10 + uint64(s[i]-'0')
		i++
	}
	r.fracDigits = i - start
	if i < n {
		r.fault, r.pos = faultByte, i
		return r
	}
	if r.fracDigits == 0 {
		r.fault, r.pos = faultBareDot, start-1
		return r
	}
	if s[n-1] == '0' {
		r.fault, r.pos = faultTrailingZero, n-1
		return r
	}
	return r
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// describe explains r.fault for a person; s is the input scan saw.
func (r scanned) describe(s string) string {
	switch r.fault {
	case faultEmpty:
		return "it is empty"
	case faultSign:
		if s[0] == '-' {
			return "negative amounts are not allowed"
		}
		return "a sign is not allowed"
	case faultNoInt:
		return `the integer part is missing (write "0.5", not ".5")`
	case faultLeadingZero:
		return "leading zeros are not allowed"
	case faultIntTooLong:
		return "more than 18 integer digits"
	case faultBareDot:
		return "a decimal point must be followed by digits"
	case faultFracTooLong:
		return "more than 4 decimals"
	case faultTrailingZero:
		return "trailing zeros after the decimal point are not allowed"
	case faultByte:
		switch b := s[r.pos]; {
		case b == ' ' || b == '\t' || b == '\n' || b == '\r':
			return "white space is not allowed"
		case b == 'e' || b == 'E':
			return "exponent notation is not allowed"
		case b == ',':
			return `the decimal separator is ".", and digit grouping is not allowed`
		case b == '.':
			return "only one decimal point is allowed"
		case b >= 0x80:
			return fmt.Sprintf("non-ASCII character at byte %d; only the ASCII digits 0-9 and one \".\" are allowed", r.pos)
		default:
			return fmt.Sprintf("unexpected %q at byte %d; only the digits 0-9 and one \".\" are allowed", b, r.pos)
		}
	}
	return "no fault" // not reached for inputs ParseAmount rejected
}

// maxSafeInt bounds the integer parts that cannot overflow with any exponent
// up to maxFracDigits: for intVal < maxSafeInt and frac < 10^4,
// intVal*10^4 + frac < maxSafeInt*10^4 <= math.MaxInt64.
const maxSafeInt = math.MaxInt64 / 10000

// pow10 holds the powers of ten that fit in a uint64 below 10^19.
var pow10 = [...]uint64{
	1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
}

// ParseAmount parses s, an FSPIOP Amount string such as "12.5", into minor
// units of c: ParseAmount("12.5", USD) is 1250.
//
// It returns an *AmountError wrapping ErrUnknownCurrency if c is not a known
// currency (see Lookup), ErrSyntax if s does not match the FSPIOP Amount
// grammar (see the package comment), ErrPrecision if s has more decimals than
// c.Exponent, and ErrOverflow if the result exceeds math.MaxInt64. "0" is
// accepted and returns 0; whether zero is allowed is the caller's decision.
// The result is never negative. It does not allocate unless it fails.
func ParseAmount(s string, c Currency) (int64, error) {
	if !known(c) {
		return 0, &AmountError{Input: s, Currency: c.Code, Err: ErrUnknownCurrency, exponent: c.Exponent}
	}
	r := scan(s)
	if r.fault != faultNone {
		return 0, &AmountError{Input: s, Currency: c.Code, Err: ErrSyntax, exponent: c.Exponent}
	}
	if r.fracDigits > c.Exponent {
		return 0, &AmountError{Input: s, Currency: c.Code, Err: ErrPrecision, exponent: c.Exponent}
	}
	// known guarantees 0 <= c.Exponent <= 4, so no index below is out of range
	// and frac < 10^4 <= MaxInt64.
	frac := r.fracVal * pow10[c.Exponent-r.fracDigits]
	unit := pow10[c.Exponent]
	// Below maxSafeInt no exponent in the table can overflow; skip the
	// division.
	if r.intVal >= maxSafeInt && r.intVal > (math.MaxInt64-frac)/unit {
		return 0, &AmountError{Input: s, Currency: c.Code, Err: ErrOverflow, exponent: c.Exponent}
	}
	return int64(r.intVal*unit + frac), nil
}

// FormatAmount returns minor, in minor units of c, in the canonical FSPIOP
// form: no trailing zeros in the fraction, no trailing ".", "0" for zero, so
// that FormatAmount(1250, USD) is "12.5" and FormatAmount(1200, USD) is "12".
// A negative minor gets a leading "-" (for balances in reports; such a string
// is not an FSPIOP Amount and ParseAmount rejects it). For every s that
// ParseAmount accepts, FormatAmount of the result is s.
//
// FormatAmount uses c.Exponent as given and does not consult the table; a
// negative exponent counts as 0.
func FormatAmount(minor int64, c Currency) string {
	var buf [48]byte
	return string(appendAmount(buf[:0], minor, c.Exponent, true))
}

// Format returns minor, in minor units of c, with exactly c.Exponent
// decimals, for people: Format(1250, USD) is "12.50", Format(-300, USD) is
// "-3.00", Format(100, JPY) is "100". Use FormatAmount for the wire.
//
// Format uses c.Exponent as given and does not consult the table; a negative
// exponent counts as 0.
func Format(minor int64, c Currency) string {
	var buf [48]byte
	return string(appendAmount(buf[:0], minor, c.Exponent, false))
}

// appendAmount appends minor/10^exp in decimal to dst, dropping trailing
// fraction zeros (and then the point) if trim is set.
func appendAmount(dst []byte, minor int64, exp int, trim bool) []byte {
	u := uint64(minor)
	if minor < 0 {
		dst = append(dst, '-')
		u = -u // also right for math.MinInt64
	}
	if exp <= 0 {
		return strconv.AppendUint(dst, u, 10)
	}
	var tmp [20]byte
	digits := strconv.AppendUint(tmp[:0], u, 10)
	if len(digits) <= exp {
		// Print the integer part "0" and pad the fraction with zeros.
		dst = append(dst, '0')
		frac := digits
		if trim {
			frac = trimZeros(frac)
			if len(frac) == 0 {
				return dst // minor == 0
			}
		}
		dst = append(dst, '.')
		for i := len(digits); i < exp; i++ {
			dst = append(dst, '0')
		}
		return append(dst, frac...)
	}
	cut := len(digits) - exp
	dst = append(dst, digits[:cut]...)
	frac := digits[cut:]
	if trim {
		frac = trimZeros(frac)
		if len(frac) == 0 {
			return dst
		}
	}
	dst = append(dst, '.')
	return append(dst, frac...)
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	return b
}
