package money

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
)

func mustLookup(t testing.TB, code string) Currency {
	t.Helper()
	c, ok := Lookup(code)
	if !ok {
		t.Fatalf("Lookup(%q) failed", code)
	}
	return c
}

func TestParseAmount(t *testing.T) {
	usd := mustLookup(t, "USD")
	jpy := mustLookup(t, "JPY")
	kwd := mustLookup(t, "KWD")
	clf := mustLookup(t, "CLF")
	uyw := mustLookup(t, "UYW")

	tests := []struct {
		name    string
		in      string
		c       Currency
		want    int64
		wantErr error
	}{
		// Accepted.
		{"zero", "0", usd, 0, nil},
		{"zero JPY", "0", jpy, 0, nil},
		{"half", "0.5", usd, 50, nil},
		{"one cent", "0.01", usd, 1, nil},
		{"integer", "12", usd, 1200, nil},
		{"one decimal", "12.5", usd, 1250, nil},
		{"two decimals", "12.25", usd, 1225, nil},
		{"inner zero", "10.05", usd, 1005, nil},
		{"JPY integer", "1250", jpy, 1250, nil},
		{"KWD three decimals", "1.125", kwd, 1125, nil},
		{"KWD two decimals", "1.25", kwd, 1250, nil},
		{"CLF four decimals", "1.2345", clf, 12345, nil},
		{"CLF one decimal", "1.5", clf, 15000, nil},
		{"UYW four decimals", "0.0001", uyw, 1, nil},
		{"18 integer digits JPY", "999999999999999999", jpy, 999999999999999999, nil},
		{"18 integer digits KWD", "9223372036854775", kwd, 9223372036854775000, nil},
		{"USD max", "92233720368547758.07", usd, math.MaxInt64, nil},
		{"KWD max", "9223372036854775.807", kwd, math.MaxInt64, nil},
		{"CLF max", "922337203685477.5807", clf, math.MaxInt64, nil},

		// Grammar violations: ErrSyntax, whatever the currency.
		{"empty", "", usd, 0, ErrSyntax},
		{"double zero", "00", usd, 0, ErrSyntax},
		{"leading zero", "01", usd, 0, ErrSyntax},
		{"leading zero with fraction", "00.5", usd, 0, ErrSyntax},
		{"bare dot after integer", "1.", usd, 0, ErrSyntax},
		{"bare dot after zero", "0.", usd, 0, ErrSyntax},
		{"no integer part", ".5", usd, 0, ErrSyntax},
		{"dot only", ".", usd, 0, ErrSyntax},
		{"trailing zero", "1.10", usd, 0, ErrSyntax},
		{"fraction zero", "1.0", usd, 0, ErrSyntax},
		{"zero fraction zero", "0.0", usd, 0, ErrSyntax},
		{"fraction zero JPY", "1.0", jpy, 0, ErrSyntax},
		{"plus", "+1", usd, 0, ErrSyntax},
		{"minus", "-1", usd, 0, ErrSyntax},
		{"minus zero", "-0", usd, 0, ErrSyntax},
		{"leading space", " 1", usd, 0, ErrSyntax},
		{"trailing space", "1 ", usd, 0, ErrSyntax},
		{"trailing newline", "1\n", usd, 0, ErrSyntax},
		{"exponent", "1e3", usd, 0, ErrSyntax},
		{"upper exponent", "1E3", usd, 0, ErrSyntax},
		{"comma decimal", "1,5", usd, 0, ErrSyntax},
		{"thousands separator", "1,000", usd, 0, ErrSyntax},
		{"underscore", "1_000", usd, 0, ErrSyntax},
		{"two dots", "1.2.3", usd, 0, ErrSyntax},
		{"hex", "0x10", usd, 0, ErrSyntax},
		{"letters", "abc", usd, 0, ErrSyntax},
		{"NaN", "NaN", usd, 0, ErrSyntax},
		{"Inf", "Inf", usd, 0, ErrSyntax},
		{"Arabic-Indic digit", "\u0661", usd, 0, ErrSyntax},
		{"fullwidth digit", "\uff11", usd, 0, ErrSyntax},
		{"Arabic decimal separator", "1\u066b5", usd, 0, ErrSyntax},
		{"Devanagari fraction", "1.\u0967", usd, 0, ErrSyntax},
		{"NUL", "1\x00", usd, 0, ErrSyntax},
		{"invalid UTF-8", "1\xff", usd, 0, ErrSyntax},
		{"quoted", `"1"`, usd, 0, ErrSyntax},
		{"5 decimals", "1.23456", clf, 0, ErrSyntax},
		{"5 decimals USD", "0.00001", usd, 0, ErrSyntax},
		{"19 integer digits", "1000000000000000000", jpy, 0, ErrSyntax},
		{"MaxInt64 JPY", "9223372036854775807", jpy, 0, ErrSyntax},
		{"MaxInt64+1 JPY", "9223372036854775808", jpy, 0, ErrSyntax},
		{"19 integer digits with fraction", "1000000000000000000.5", usd, 0, ErrSyntax},
		{"long junk", strings.Repeat("9", 1000), usd, 0, ErrSyntax},

		// Too many decimals for the currency: ErrPrecision.
		{"3 decimals USD", "1.001", usd, 0, ErrPrecision},
		{"4 decimals USD", "1.0001", usd, 0, ErrPrecision},
		{"4 decimals KWD", "1.1234", kwd, 0, ErrPrecision},
		{"decimal JPY", "1.5", jpy, 0, ErrPrecision},
		{"small decimal JPY", "0.0001", jpy, 0, ErrPrecision},

		// Too large for int64 minor units: ErrOverflow.
		{"USD max+1", "92233720368547758.08", usd, 0, ErrOverflow},
		{"USD 18 digits", "999999999999999999", usd, 0, ErrOverflow},
		{"USD 18 digits with cents", "999999999999999999.99", usd, 0, ErrOverflow},
		{"USD just over", "92233720368547759", usd, 0, ErrOverflow},
		{"KWD max+1", "9223372036854775.808", kwd, 0, ErrOverflow},
		{"CLF max+1", "922337203685477.5808", clf, 0, ErrOverflow},
		{"CLF 18 digits", "999999999999999999.9999", clf, 0, ErrOverflow},

		// Currency not usable.
		{"zero currency", "1", Currency{}, 0, ErrUnknownCurrency},
		{"unknown code", "1", Currency{Code: "ABC", Exponent: 2}, 0, ErrUnknownCurrency},
		{"lower-case code", "1", Currency{Code: "usd", Exponent: 2}, 0, ErrUnknownCurrency},
		{"no minor unit", "1", Currency{Code: "XAU"}, 0, ErrUnknownCurrency},
		{"test code", "1", Currency{Code: "XTS"}, 0, ErrUnknownCurrency},
		{"wrong exponent", "1.001", Currency{Code: "USD", Numeric: 840, Exponent: 3}, 0, ErrUnknownCurrency},
		{"unknown currency bad syntax", "-1", Currency{}, 0, ErrUnknownCurrency},

		// A Currency built by hand with the right exponent is fine.
		{"hand-made USD", "1.5", Currency{Code: "USD", Exponent: 2}, 150, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAmount(tt.in, tt.c)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ParseAmount(%q, %s) error = %v, want %d", tt.in, tt.c.Code, err, tt.want)
				}
				if got != tt.want {
					t.Errorf("ParseAmount(%q, %s) = %d, want %d", tt.in, tt.c.Code, got, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseAmount(%q, %s) = %d, %v; want error %v", tt.in, tt.c.Code, got, err, tt.wantErr)
			}
			if got != 0 {
				t.Errorf("ParseAmount(%q, %s) = %d with an error, want 0", tt.in, tt.c.Code, got)
			}
			var ae *AmountError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not *AmountError", err)
			}
			if ae.Input != tt.in || ae.Currency != tt.c.Code || ae.Err != tt.wantErr {
				t.Errorf("AmountError = {%q %q %v}, want {%q %q %v}", ae.Input, ae.Currency, ae.Err, tt.in, tt.c.Code, tt.wantErr)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "money: ") {
				t.Errorf("message %q lacks the package prefix", msg)
			}
		})
	}
}

func TestAmountErrorMessage(t *testing.T) {
	usd := mustLookup(t, "USD")
	jpy := mustLookup(t, "JPY")
	tests := []struct {
		in   string
		c    Currency
		want string
	}{
		{"1.001", usd, `money: amount "1.001" has 3 decimals but USD allows 2`},
		{"1.5", jpy, `money: amount "1.5" has 1 decimal but JPY allows 0`},
		{"0.0001", jpy, `money: amount "0.0001" has 4 decimals but JPY allows 0`},
		{"92233720368547758.08", usd, `money: amount "92233720368547758.08" is too large: the largest USD amount is 92233720368547758.07`},
		{"", usd, `money: amount "" is not an FSPIOP amount: it is empty`},
		{"-1", usd, `money: amount "-1" is not an FSPIOP amount: negative amounts are not allowed`},
		{"+1", usd, `money: amount "+1" is not an FSPIOP amount: a sign is not allowed`},
		{"01", usd, `money: amount "01" is not an FSPIOP amount: leading zeros are not allowed`},
		{".5", usd, `money: amount ".5" is not an FSPIOP amount: the integer part is missing (write "0.5", not ".5")`},
		{"1.", usd, `money: amount "1." is not an FSPIOP amount: a decimal point must be followed by digits`},
		{"1.10", usd, `money: amount "1.10" is not an FSPIOP amount: trailing zeros after the decimal point are not allowed`},
		{"1.23456", usd, `money: amount "1.23456" is not an FSPIOP amount: more than 4 decimals`},
		{"1000000000000000000", jpy, `money: amount "1000000000000000000" is not an FSPIOP amount: more than 18 integer digits`},
		{" 1", usd, `money: amount " 1" is not an FSPIOP amount: white space is not allowed`},
		{"1e3", usd, `money: amount "1e3" is not an FSPIOP amount: exponent notation is not allowed`},
		{"1,5", usd, `money: amount "1,5" is not an FSPIOP amount: the decimal separator is ".", and digit grouping is not allowed`},
		{"1.2.3", usd, `money: amount "1.2.3" is not an FSPIOP amount: only one decimal point is allowed`},
		{"1x", usd, `money: amount "1x" is not an FSPIOP amount: unexpected 'x' at byte 1; only the digits 0-9 and one "." are allowed`},
		{"\u0661", usd, `money: amount "١" is not an FSPIOP amount: non-ASCII character at byte 0; only the ASCII digits 0-9 and one "." are allowed`},
		{strings.Repeat("1", 50), usd, `money: amount "1111111111111111111111111111111111111111"... (50 bytes) is not an FSPIOP amount: more than 18 integer digits`},
		{"1", Currency{}, `money: amount "1" has no currency`},
		{"1", Currency{Code: "ABC", Exponent: 2}, `money: amount "1": unknown currency "ABC" (want an ISO 4217 code such as "USD")`},
		{"1", Currency{Code: "XAU"}, `money: amount "1": currency XAU (gold (one troy ounce)) has no minor unit in ISO 4217, so amounts in it are not accepted`},
		{"1", Currency{Code: "USD", Exponent: 3}, `money: amount "1": currency USD has exponent 2 in ISO 4217, not 3`},
	}
	for _, tt := range tests {
		t.Run(tt.in+"/"+tt.c.Code, func(t *testing.T) {
			_, err := ParseAmount(tt.in, tt.c)
			if err == nil {
				t.Fatalf("ParseAmount(%q, %s) succeeded", tt.in, tt.c.Code)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("message\n got: %s\nwant: %s", got, tt.want)
			}
			var ae *AmountError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not *AmountError", err)
			}
			if got, want := ae.Message(), strings.TrimPrefix(tt.want, "money: "); got != want {
				t.Errorf("Message()\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestSentinelMessages(t *testing.T) {
	for _, err := range []error{ErrSyntax, ErrPrecision, ErrOverflow, ErrUnknownCurrency} {
		if !strings.HasPrefix(err.Error(), "money: ") {
			t.Errorf("%q lacks the package prefix", err)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	usd := mustLookup(t, "USD")
	jpy := mustLookup(t, "JPY")
	kwd := mustLookup(t, "KWD")
	clf := mustLookup(t, "CLF")
	tests := []struct {
		minor int64
		c     Currency
		want  string
	}{
		{0, usd, "0"},
		{0, jpy, "0"},
		{0, clf, "0"},
		{1, usd, "0.01"},
		{10, usd, "0.1"},
		{50, usd, "0.5"},
		{100, usd, "1"},
		{1200, usd, "12"},
		{1250, usd, "12.5"},
		{1225, usd, "12.25"},
		{1005, usd, "10.05"},
		{1250, jpy, "1250"},
		{1000, kwd, "1"},
		{1100, kwd, "1.1"},
		{1, kwd, "0.001"},
		{1, clf, "0.0001"},
		{12345, clf, "1.2345"},
		{15000, clf, "1.5"},
		{math.MaxInt64, usd, "92233720368547758.07"},
		{math.MaxInt64, jpy, "9223372036854775807"},
		{math.MaxInt64, clf, "922337203685477.5807"},
		{-1, usd, "-0.01"},
		{-300, usd, "-3"},
		{-1250, usd, "-12.5"},
		{-5, jpy, "-5"},
		{math.MinInt64, usd, "-92233720368547758.08"},
		{math.MinInt64, jpy, "-9223372036854775808"},
		{1250, Currency{}, "1250"},
		{1250, Currency{Code: "ODD", Exponent: -1}, "1250"},
		{1, Currency{Code: "ODD", Exponent: 6}, "0.000001"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatAmount(tt.minor, tt.c); got != tt.want {
				t.Errorf("FormatAmount(%d, %s) = %q, want %q", tt.minor, tt.c.Code, got, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	usd := mustLookup(t, "USD")
	jpy := mustLookup(t, "JPY")
	kwd := mustLookup(t, "KWD")
	clf := mustLookup(t, "CLF")
	tests := []struct {
		minor int64
		c     Currency
		want  string
	}{
		{0, usd, "0.00"},
		{0, jpy, "0"},
		{0, clf, "0.0000"},
		{1, usd, "0.01"},
		{50, usd, "0.50"},
		{1250, usd, "12.50"},
		{1200, usd, "12.00"},
		{-300, usd, "-3.00"},
		{-1, usd, "-0.01"},
		{100, jpy, "100"},
		{-100, jpy, "-100"},
		{1, kwd, "0.001"},
		{1000, kwd, "1.000"},
		{15000, clf, "1.5000"},
		{math.MaxInt64, usd, "92233720368547758.07"},
		{math.MinInt64, usd, "-92233720368547758.08"},
		{1250, Currency{}, "1250"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := Format(tt.minor, tt.c); got != tt.want {
				t.Errorf("Format(%d, %s) = %q, want %q", tt.minor, tt.c.Code, got, tt.want)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		a, b   int64
		want   int64
		wantOK bool
	}{
		{0, 0, 0, true},
		{1, 2, 3, true},
		{-1, -2, -3, true},
		{5, -7, -2, true},
		{math.MaxInt64, 0, math.MaxInt64, true},
		{math.MaxInt64, 1, 0, false},
		{math.MaxInt64, math.MaxInt64, 0, false},
		{math.MaxInt64, math.MinInt64, -1, true},
		{math.MinInt64, 0, math.MinInt64, true},
		{math.MinInt64, -1, 0, false},
		{math.MinInt64, math.MinInt64, 0, false},
		{math.MaxInt64 - 5, 5, math.MaxInt64, true},
		{math.MinInt64 + 5, -5, math.MinInt64, true},
	}
	for _, tt := range tests {
		got, ok := Add(tt.a, tt.b)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Add(%d, %d) = %d, %v; want %d, %v", tt.a, tt.b, got, ok, tt.want, tt.wantOK)
		}
		// Addition commutes, including in its overflow verdict.
		got, ok = Add(tt.b, tt.a)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Add(%d, %d) = %d, %v; want %d, %v", tt.b, tt.a, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestSub(t *testing.T) {
	tests := []struct {
		a, b   int64
		want   int64
		wantOK bool
	}{
		{0, 0, 0, true},
		{3, 2, 1, true},
		{2, 3, -1, true},
		{-1, -1, 0, true},
		{0, math.MaxInt64, -math.MaxInt64, true},
		{0, math.MinInt64, 0, false},
		{-1, math.MinInt64, math.MaxInt64, true},
		{math.MinInt64, 1, 0, false},
		{math.MinInt64, -1, math.MinInt64 + 1, true},
		{math.MaxInt64, -1, 0, false},
		{math.MaxInt64, math.MaxInt64, 0, true},
		{math.MinInt64, math.MinInt64, 0, true},
		{math.MaxInt64, math.MinInt64, 0, false},
		{math.MinInt64, math.MaxInt64, 0, false},
	}
	for _, tt := range tests {
		got, ok := Sub(tt.a, tt.b)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Sub(%d, %d) = %d, %v; want %d, %v", tt.a, tt.b, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestAddSubAgreeWithBigArithmetic(t *testing.T) {
	vals := []int64{math.MinInt64, math.MinInt64 + 1, -1 << 62, -3, -1, 0, 1, 3, 1 << 62, math.MaxInt64 - 1, math.MaxInt64}
	exact := func(op func(z, x, y *big.Int) *big.Int, a, b int64) (int64, bool) {
		z := op(new(big.Int), big.NewInt(a), big.NewInt(b))
		if !z.IsInt64() {
			return 0, false
		}
		return z.Int64(), true
	}
	for _, a := range vals {
		for _, b := range vals {
			wantSum, sumFits := exact((*big.Int).Add, a, b)
			if got, ok := Add(a, b); got != wantSum || ok != sumFits {
				t.Errorf("Add(%d, %d) = %d, %v; want %d, %v", a, b, got, ok, wantSum, sumFits)
			}
			wantDiff, diffFits := exact((*big.Int).Sub, a, b)
			if got, ok := Sub(a, b); got != wantDiff || ok != diffFits {
				t.Errorf("Sub(%d, %d) = %d, %v; want %d, %v", a, b, got, ok, wantDiff, diffFits)
			}
		}
	}
}
