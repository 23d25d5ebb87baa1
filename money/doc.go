// Package money holds amounts as integers in minor units and converts them
// to and from the FSPIOP (Mojaloop) wire form. There are no floats anywhere.
//
// # Minor units
//
// An amount is an int64 count of the currency's minor unit: 1250 in USD is
// 12.50 dollars, 1250 in JPY is 1250 yen, 1250 in KWD is 1.250 dinars. The
// number of decimals is the ISO 4217 minor unit ("exponent") of the currency,
// looked up with Lookup in a table kept as Go data in iso4217.go. Codes whose
// ISO minor unit is "N.A." (XAU, XDR, XTS, XXX, ...) are not in the table, so
// no amount can be parsed in them.
//
// # The FSPIOP Amount format
//
// On the wire an amount is a JSON string matching
//
//	^([0]|([1-9][0-9]{0,17}))([.][0-9]{0,3}[1-9])?$
//
// that is:
//
//	"0" | nonzero-digit digit{0,17}     integer part: no sign, no leading
//	                                    zero, at most 18 digits
//	[ "." digit{0,3} nonzero-digit ]    optional fraction: 1 to 4 digits,
//	                                    no trailing zero, never a bare "."
//
// So "0", "5", "0.5", "12.25" and "999999999999999999.9999" are amounts;
// "00", "01", "+1", "-1", " 1", "1.", ".5", "1.10", "1.0", "1e3", "1,5" and
// "1.00001" are not. ParseAmount checks that grammar byte by byte, then that
// the fraction has no more digits than the currency's exponent (ErrPrecision:
// "1.001" in USD, "1.5" in JPY) and that the value fits in an int64 of minor
// units (ErrOverflow: "92233720368547758.08" in USD). Every failure is an
// *AmountError that wraps one of the sentinel errors and says, in its
// message, what to change.
//
// FormatAmount writes the canonical form back, so for any amount s that
// ParseAmount accepts, FormatAmount(ParseAmount(s)) == s. Format writes the
// fixed-decimals form people expect in reports ("12.50", "-3.00").
//
// # Arithmetic
//
// Add and Sub are checked int64 arithmetic for the ledger: they report
// overflow instead of wrapping around.
package money
