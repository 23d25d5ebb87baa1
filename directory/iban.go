package directory

import "strings"

// ibanLengths is the length of an IBAN in each country of the IBAN registry
// that ISO 13616 provides for (SWIFT, release of December 2024).
// Territories that use another country's prefix (Åland with FI, the French
// overseas departments with FR, Jersey, Guernsey and Man with GB) have no
// row of their own.
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
	"BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
	"DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
	"FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
	"GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
	"IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
	"LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
	"MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
	"PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
	"SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
	"SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
	"YE": 30,
}

// The lengths an IBAN of a country missing from ibanLengths may have: the
// shortest in the registry (Norway) and the most ISO 13616 allows.
const (
	minIBAN = 15
	maxIBAN = 34
)

func normalizeIBAN(s string) (string, *FieldError) {
	const field = "partyIdentifier"
	if s == "" {
		return "", partyError(field, "missing")
	}
	if len(s) > MaxIDLength {
		return "", partyError(field, "IBAN input of %d bytes, want at most %d characters", len(s), maxIBAN)
	}
	// Build the electronic form: no spaces, upper case. Only when s is not
	// already in it does this allocate.
	canonical := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ' ' || isLower(c) {
			canonical = false
			break
		}
	}
	if !canonical {
		var b strings.Builder
		b.Grow(len(s))
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c == ' ':
			case isLower(c):
				b.WriteByte(c - 'a' + 'A')
			default:
				b.WriteByte(c)
			}
		}
		s = b.String()
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && !isUpper(c) {
			return "", partyError(field, "IBAN must be letters and digits only (spaces are ignored), found %q", rune(c))
		}
	}
	if len(s) < 5 {
		return "", partyError(field, "IBAN of %d characters is too short", len(s))
	}
	country, check := s[:2], s[2:4]
	if !isUpper(country[0]) || !isUpper(country[1]) {
		return "", partyError(field, "IBAN must start with a two-letter country code")
	}
	if !isDigit(check[0]) || !isDigit(check[1]) {
		return "", partyError(field, "IBAN characters 3 and 4 must be check digits")
	}
	if check == "00" || check == "01" || check == "99" {
		return "", partyError(field, "IBAN check digits %s are never valid (02 to 98)", check)
	}
	if want, ok := ibanLengths[country]; ok {
		if len(s) != want {
			return "", partyError(field, "IBAN for %s must be %d characters, got %d", country, want, len(s))
		}
	} else if len(s) < minIBAN || len(s) > maxIBAN {
		return "", partyError(field, "IBAN of %d characters, want %d to %d", len(s), minIBAN, maxIBAN)
	}
	if ibanMod97(s) != 1 {
		return "", partyError(field, "IBAN check digits do not match (ISO 7064 MOD 97-10); check for a typing error")
	}
	return s, nil
}

// ibanMod97 returns the ISO 7064 MOD 97-10 remainder of an IBAN of digits
// and upper-case letters: the first four characters moved to the end, each
// letter replaced by two digits (A=10 ... Z=35), the whole read as one
// decimal number.
func ibanMod97(s string) int {
	r := 0
	add := func(c byte) {
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A') + 10) % 97
		}
	}
	for i := 4; i < len(s); i++ {
		add(s[i])
	}
	for i := 0; i < 4; i++ {
		add(s[i])
	}
	return r
}
