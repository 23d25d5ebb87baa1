package money

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		code   string
		want   Currency
		wantOK bool
	}{
		{"USD", Currency{Code: "USD", Numeric: 840, Exponent: 2}, true},
		{"EUR", Currency{Code: "EUR", Numeric: 978, Exponent: 2}, true},
		{"JPY", Currency{Code: "JPY", Numeric: 392, Exponent: 0}, true},
		{"KWD", Currency{Code: "KWD", Numeric: 414, Exponent: 3}, true},
		{"CLF", Currency{Code: "CLF", Numeric: 990, Exponent: 4}, true},
		{"ALL", Currency{Code: "ALL", Numeric: 8, Exponent: 2}, true},
		{"GGP", Currency{Code: "GGP", Numeric: 0, Exponent: 2}, true},   // non-ISO, in the FSPIOP enum
		{"MRO", Currency{Code: "MRO", Numeric: 478, Exponent: 2}, true}, // withdrawn, in the FSPIOP enum
		{"ZWG", Currency{Code: "ZWG", Numeric: 924, Exponent: 2}, true}, // added 2024
		{"XCG", Currency{Code: "XCG", Numeric: 532, Exponent: 2}, true}, // added 2025
		{"AED", Currency{Code: "AED", Numeric: 784, Exponent: 2}, true}, // first
		{"ZWD", Currency{Code: "ZWD", Numeric: 716, Exponent: 2}, true}, // withdrawn, in the FSPIOP enum
		{"usd", Currency{}, false},
		{"Usd", Currency{}, false},
		{" USD", Currency{}, false},
		{"USD ", Currency{}, false},
		{"US", Currency{}, false},
		{"USDX", Currency{}, false},
		{"", Currency{}, false},
		{"U$D", Currency{}, false},
		{"ÜSD", Currency{}, false},
		{"ABC", Currency{}, false},
		{"ZZZ", Currency{}, false},
		{"AAA", Currency{}, false},
		{"XAU", Currency{}, false}, // no minor unit
		{"XAG", Currency{}, false},
		{"XDR", Currency{}, false},
		{"XTS", Currency{}, false},
		{"XXX", Currency{}, false},
		{"HRK\x00", Currency{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			got, ok := Lookup(tt.code)
			if ok != tt.wantOK {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.code, ok, tt.wantOK)
			}
			want := tt.want
			if !tt.wantOK {
				want = Currency{}
			}
			if got != want {
				t.Errorf("Lookup(%q) = %+v, want %+v", tt.code, got, want)
			}
		})
	}
}

// TestExponents pins the minor units where ISO 4217 differs from common
// assumptions (and from CLDR's display digits).
func TestExponents(t *testing.T) {
	want := map[string]int{
		"IQD": 3, "LBP": 2, "IDR": 2, "IRR": 2, "JPY": 0, "KRW": 0, "CLP": 0,
		"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "LYD": 3, "TND": 3,
		"CLF": 4, "UYW": 4, "UYI": 0,
		"XAF": 0, "XOF": 0, "XPF": 0, "UGX": 0, "RWF": 0, "VND": 0, "ISK": 0,
		"PYG": 0, "KMF": 0, "DJF": 0, "GNF": 0, "VUV": 0, "BIF": 0,
		"USD": 2, "EUR": 2, "GBP": 2, "KES": 2, "TZS": 2, "NGN": 2, "GHS": 2,
		"ZMW": 2, "MWK": 2, "HUF": 2, "TWD": 2, "COP": 2, "CVE": 2, "MGA": 2,
		"MRU": 2, "XAD": 2,
	}
	for code, exp := range want {
		t.Run(code, func(t *testing.T) {
			c, ok := Lookup(code)
			if !ok {
				t.Fatalf("Lookup(%q) not found", code)
			}
			if c.Exponent != exp {
				t.Errorf("Lookup(%q).Exponent = %d, want %d", code, c.Exponent, exp)
			}
		})
	}
}

// TestTable checks the table's own invariants.
func TestTable(t *testing.T) {
	if len(table) < 170 {
		t.Errorf("table has %d entries; the active ISO 4217 list alone has more than 170", len(table))
	}
	numerics := map[int]string{}
	for i, e := range table {
		if i > 0 && table[i-1].code >= e.code {
			t.Errorf("table not sorted or has a duplicate at %q after %q", e.code, table[i-1].code)
		}
		if _, ok := codeIndex(e.code); !ok {
			t.Errorf("malformed code %q", e.code)
		}
		if e.exponent < 0 || e.exponent > maxFracDigits {
			t.Errorf("%s: exponent %d outside 0..%d (FSPIOP amounts carry at most %d decimals)", e.code, e.exponent, maxFracDigits, maxFracDigits)
		}
		switch e.kind {
		case listOne, listThree:
			if e.numeric < 1 || e.numeric > 999 {
				t.Errorf("%s: numeric code %d outside 1..999", e.code, e.numeric)
			}
		case notISO:
			if e.numeric != 0 {
				t.Errorf("%s: non-ISO code has numeric code %d, want 0", e.code, e.numeric)
			}
		default:
			t.Errorf("%s: kind %d not set", e.code, e.kind)
		}
		if _, ok := noMinorUnit[e.code]; ok {
			t.Errorf("%s is both in the table and in noMinorUnit", e.code)
		}
		if e.numeric != 0 {
			// XCG took over ANG's numeric code 532 during the changeover.
			if prev, dup := numerics[e.numeric]; dup && !(prev == "ANG" && e.code == "XCG") {
				t.Errorf("%s and %s share numeric code %d", prev, e.code, e.numeric)
			}
			numerics[e.numeric] = e.code
		}
	}
	for code := range noMinorUnit {
		if _, ok := codeIndex(code); !ok {
			t.Errorf("noMinorUnit: malformed code %q", code)
		}
		if _, ok := Lookup(code); ok {
			t.Errorf("Lookup(%q) found a code without a minor unit", code)
		}
	}
}

func TestCurrencies(t *testing.T) {
	all := Currencies()
	if len(all) != len(table) {
		t.Fatalf("len(Currencies()) = %d, want %d", len(all), len(table))
	}
	if !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].Code < all[j].Code }) {
		t.Error("Currencies() not sorted by code")
	}
	for _, c := range all {
		got, ok := Lookup(c.Code)
		if !ok || got != c {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v, true", c.Code, got, ok, c)
		}
	}
	all[0].Exponent = 99
	if again := Currencies(); again[0].Exponent == 99 {
		t.Error("Currencies() returned shared storage")
	}
}

// fspiopEnum reads the values of the Currency schema's enum from an FSPIOP
// OpenAPI file. It is a line scanner for the layout of those files, not a
// YAML parser: it finds "Currency:" under components/schemas, then the items
// of its "enum:" list.
func fspiopEnum(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skipf("FSPIOP reference %s is absent (it lives in the shared/ tree beside the repository); cannot check the currency table against it", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var codes []string
	const (
		seeking = iota
		inSchema
		inEnum
	)
	state, schemaIndent := seeking, 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		indent := len(line) - len(strings.TrimLeft(line, " "))
		switch state {
		case seeking:
			if trimmed == "Currency:" && indent == 4 {
				state, schemaIndent = inSchema, indent
			}
		case inSchema:
			if trimmed != "" && indent <= schemaIndent {
				t.Fatalf("%s: Currency schema ended without an enum", path)
			}
			if trimmed == "enum:" {
				state = inEnum
			}
		case inEnum:
			if item, ok := strings.CutPrefix(trimmed, "- "); ok {
				codes = append(codes, strings.Trim(item, `"'`))
				continue
			}
			if trimmed == "" {
				continue
			}
			return codes
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if state != inEnum {
		t.Fatalf("%s: no Currency enum found", path)
	}
	return codes
}

// TestFSPIOPCurrencyEnum checks that every code the FSPIOP API may send is
// either known to Lookup or deliberately excluded for having no minor unit.
func TestFSPIOPCurrencyEnum(t *testing.T) {
	for _, name := range []string{"fspiop-v1.1-openapi3.yaml", "fspiop-v2.0-openapi3.yaml"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", "..", "shared", "reference", name)
			codes := fspiopEnum(t, path)
			if len(codes) < 150 {
				t.Fatalf("found only %d enum values in %s; the scanner is out of step with the file", len(codes), path)
			}
			var known, excluded int
			for _, code := range codes {
				c, ok := Lookup(code)
				_, none := noMinorUnit[code]
				switch {
				case ok && none:
					t.Errorf("%s: both known and excluded", code)
				case ok:
					known++
					if c.Code != code {
						t.Errorf("Lookup(%q).Code = %q", code, c.Code)
					}
				case none:
					excluded++
				default:
					t.Errorf("FSPIOP enum code %s is neither in the currency table nor in noMinorUnit", code)
				}
			}
			t.Logf("%s: %d codes, %d known, %d excluded (no ISO minor unit)", name, len(codes), known, excluded)
		})
	}
}
