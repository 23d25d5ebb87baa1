package money

// Currency is a currency as the switch uses it: its ISO 4217 alphabetic code
// and the number of decimal places of its minor unit.
//
// Obtain one with Lookup. A Currency built by hand is accepted by ParseAmount
// only if its Code is known and its Exponent is the table's (Numeric is not
// checked). The zero Currency is no currency.
type Currency struct {
	// Code is the three-letter upper-case alphabetic code, e.g. "USD".
	Code string
	// Numeric is the ISO 4217 numeric code, e.g. 840 for USD; 0 for the
	// few codes the FSPIOP enum carries that ISO never assigned (GGP, IMP,
	// JEP, SPL, TVD).
	Numeric int
	// Exponent is the ISO 4217 minor unit: the number of decimal places,
	// 0 for JPY, 2 for USD, 3 for KWD, 4 for CLF. One major unit is
	// 10^Exponent minor units.
	Exponent int
}

// String returns c.Code.
func (c Currency) String() string { return c.Code }

// codeSpace is the number of three-upper-case-letter codes.
const codeSpace = 26 * 26 * 26

// index maps a code (as codeIndex computes it) to 1 + its position in table,
// or 0 when the code is not in the table. A flat array keeps Lookup free of
// hashing and allocation on the amount-parsing path.
var index = func() (ix [codeSpace]uint8) {
	if len(table) > 255 {
		panic("money: currency table too large for its index")
	}
	for i, e := range table {
		k, ok := codeIndex(e.code)
		if !ok {
			panic("money: malformed code in currency table: " + e.code)
		}
		if ix[k] != 0 {
			panic("money: duplicate code in currency table: " + e.code)
		}
		ix[k] = uint8(i + 1)
	}
	return ix
}()

// codeIndex reports the position of code in the space of three-letter codes,
// and false unless code is exactly three bytes 'A'..'Z'.
func codeIndex(code string) (int, bool) {
	if len(code) != 3 {
		return 0, false
	}
	k := 0
	for i := 0; i < 3; i++ {
		b := code[i]
		if b < 'A' || b > 'Z' {
			return 0, false
		}
		k = k*26 + int(b-'A')
	}
	return k, true
}

// Lookup returns the currency with the alphabetic code code, and whether it
// is known. The match is exact: code must be three upper-case ASCII letters,
// with no surrounding space and no case folding ("usd" and " USD" are not
// known).
//
// Known are the active ISO 4217 codes plus the withdrawn and non-ISO codes
// that the FSPIOP Currency enum still lists (see iso4217.go). Codes whose ISO
// minor unit is "N.A." (XAU, XAG, XPD, XPT, XBA-XBD, XDR, XSU, XUA, XTS, XXX)
// are not known: amounts in them cannot be expressed in minor units.
func Lookup(code string) (Currency, bool) {
	k, ok := codeIndex(code)
	if !ok {
		return Currency{}, false
	}
	i := index[k]
	if i == 0 {
		return Currency{}, false
	}
	e := &table[i-1]
	return Currency{Code: e.code, Numeric: e.numeric, Exponent: e.exponent}, true
}

// Currencies returns every known currency, sorted by code. The slice is the
// caller's to keep or change.
func Currencies() []Currency {
	out := make([]Currency, len(table))
	for i, e := range table {
		out[i] = Currency{Code: e.code, Numeric: e.numeric, Exponent: e.exponent}
	}
	return out
}

// known reports whether c names a currency in the table with the table's
// exponent.
func known(c Currency) bool {
	k, ok := Lookup(c.Code)
	return ok && k.Exponent == c.Exponent
}
