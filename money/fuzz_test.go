package money

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
)

// fspiopAmount is the Amount pattern from the FSPIOP API definition. It is
// used here only, as the oracle for the hand-written scanner.
var fspiopAmount = regexp.MustCompile(`^([0]|([1-9][0-9]{0,17}))([.][0-9]{0,3}[1-9])?$`)

// fuzzCurrencies covers every exponent in the table: 0, 2, 3 and 4.
var fuzzCurrencies = []string{"JPY", "USD", "KWD", "CLF"}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{
		"0", "0.5", "1", "12.25", "1.0001", "00", "01", "1.", ".5", "1.10", "1.0",
		"+1", "-1", " 1", "1e3", "1,5", "\u0661", "1.23456",
		"999999999999999999", "999999999999999999.9999", "1000000000000000000",
		"9223372036854775807", "9223372036854775808",
		"92233720368547758.07", "92233720368547758.08",
		"9223372036854775.807", "922337203685477.5808", "", ".", "0.0001",
	} {
		f.Add(s)
	}
	cs := make([]Currency, len(fuzzCurrencies))
	for i, code := range fuzzCurrencies {
		cs[i] = mustLookup(f, code)
	}
	f.Fuzz(func(t *testing.T, s string) {
		matches := fspiopAmount.MatchString(s)
		for _, c := range cs {
			got, err := ParseAmount(s, c)
			if err != nil {
				var ae *AmountError
				if !errors.As(err, &ae) {
					t.Fatalf("ParseAmount(%q, %s): error %T is not *AmountError", s, c.Code, err)
				}
				if got != 0 {
					t.Fatalf("ParseAmount(%q, %s) = %d with error %v", s, c.Code, got, err)
				}
				// ErrSyntax exactly when the FSPIOP pattern does not match.
				if isSyntax := errors.Is(err, ErrSyntax); isSyntax == matches {
					t.Fatalf("ParseAmount(%q, %s) = %v, but the FSPIOP pattern match is %v", s, c.Code, err, matches)
				}
				if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrPrecision) && !errors.Is(err, ErrOverflow) {
					t.Fatalf("ParseAmount(%q, %s): unexpected error %v", s, c.Code, err)
				}
				if msg := err.Error(); !strings.HasPrefix(msg, "money: ") {
					t.Fatalf("message %q lacks the package prefix", msg)
				}
				continue
			}
			if !matches {
				t.Fatalf("ParseAmount(%q, %s) = %d, but the FSPIOP pattern does not match", s, c.Code, got)
			}
			if got < 0 {
				t.Fatalf("ParseAmount(%q, %s) = %d, negative", s, c.Code, got)
			}
			if back := FormatAmount(got, c); back != s {
				t.Fatalf("FormatAmount(ParseAmount(%q, %s)) = %q", s, c.Code, back)
			}
		}
	})
}

func FuzzFormatParse(f *testing.F) {
	for _, x := range []int64{
		0, 1, 9, 10, 99, 100, 101, 1250, 10000, 12345, 999999999999999999,
		1000000000000000000, 9999999999999999999 / 10, math.MaxInt64, math.MaxInt64 - 1,
		-1, math.MinInt64,
	} {
		f.Add(x)
	}
	cs := make([]Currency, len(fuzzCurrencies))
	for i, code := range fuzzCurrencies {
		cs[i] = mustLookup(f, code)
	}
	f.Fuzz(func(t *testing.T, x int64) {
		if x < 0 {
			x &= math.MaxInt64 // fold negative inputs onto the non-negative range
		}
		for _, c := range cs {
			s := FormatAmount(x, c)
			intDigits := len(s)
			if i := strings.IndexByte(s, '.'); i >= 0 {
				intDigits = i
			}
			got, err := ParseAmount(s, c)
			if intDigits > maxIntDigits {
				if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrOverflow) {
					t.Fatalf("ParseAmount(%q, %s) = %d, %v; want ErrSyntax or ErrOverflow for %d integer digits", s, c.Code, got, err, intDigits)
				}
				continue
			}
			if err != nil || got != x {
				t.Fatalf("ParseAmount(FormatAmount(%d, %s) = %q) = %d, %v; want %d", x, c.Code, s, got, err, x)
			}
			// Format shows the same value with all c.Exponent decimals.
			fixed := Format(x, c)
			trimmed := fixed
			if c.Exponent > 0 {
				trimmed = strings.TrimRight(strings.TrimRight(fixed, "0"), ".")
			}
			if trimmed != s {
				t.Fatalf("Format(%d, %s) = %q does not trim to FormatAmount's %q", x, c.Code, fixed, s)
			}
			if i := strings.IndexByte(fixed, '.'); c.Exponent > 0 && (i < 0 || len(fixed)-i-1 != c.Exponent) {
				t.Fatalf("Format(%d, %s) = %q does not have %d decimals", x, c.Code, fixed, c.Exponent)
			}
		}
	})
}

func BenchmarkParseAmount(b *testing.B) {
	usd := mustLookup(b, "USD")
	for _, s := range []string{"0", "12.5", "1234567.89", "92233720368547758.07"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseAmount(s, usd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFormatAmount(b *testing.B) {
	usd := mustLookup(b, "USD")
	b.ReportAllocs()
	for b.Loop() {
		_ = FormatAmount(123456789, usd)
	}
}
