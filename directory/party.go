package directory

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The FSPIOP PartyIdType values (API Definition v1.1, section 7.5.6).
const (
	TypeMSISDN     = "MSISDN"
	TypeEmail      = "EMAIL"
	TypePersonalID = "PERSONAL_ID"
	TypeBusiness   = "BUSINESS"
	TypeDevice     = "DEVICE"
	TypeAccountID  = "ACCOUNT_ID"
	TypeIBAN       = "IBAN"
	TypeAlias      = "ALIAS"
)

// MaxIDLength is the most characters (Unicode code points) a
// PartyIdentifier or a PartySubIdOrType may have: both are String(1..128).
const MaxIDLength = 128

// ErrInvalidParty is returned, wrapped in a *FieldError, when a party's
// type, identifier or sub-id is malformed. FSPIOP maps it to 3101.
var ErrInvalidParty = errors.New("directory: invalid party identifier")

// ErrUnknownType is returned, wrapped in a *FieldError, when a party's type
// is not one of the PartyIdType values. Such an error also matches
// ErrInvalidParty.
var ErrUnknownType = errors.New("directory: unknown party id type")

// FieldError says which element of a request is malformed and why. It wraps
// ErrInvalidParty, ErrUnknownType (and so ErrInvalidParty), ErrInvalidFSP or
// ErrInvalidCurrency.
type FieldError struct {
	// Field is the FSPIOP name of the element: "partyIdType",
	// "partyIdentifier", "partySubIdOrType", "fspId" or "currency".
	Field string
	// Reason says what is wrong and what is accepted, for the developer of
	// the client. It never holds more than a short prefix of the input.
	Reason string
	// Err is the sentinel the error matches.
	Err error
}

// Error returns the sentinel's message, the field and the reason.
func (e *FieldError) Error() string { return e.Err.Error() + ": " + e.Field + ": " + e.Reason }

// Unwrap returns the sentinels e matches.
func (e *FieldError) Unwrap() []error {
	if e.Err == ErrUnknownType {
		return []error{ErrUnknownType, ErrInvalidParty}
	}
	return []error{e.Err}
}

// Description returns "Field: Reason", cut to 128 characters so that it fits
// an FSPIOP ErrorDescription.
func (e *FieldError) Description() string {
	s := e.Field + ": " + e.Reason
	if utf8.RuneCountInString(s) <= 128 {
		return s
	}
	r := []rune(s)
	return string(r[:125]) + "..."
}

func partyError(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrInvalidParty}
}

// quote returns s quoted for an error message, cut to a short prefix: the
// input may be long and is the client's own, so it only helps to locate the
// problem.
func quote(s string) string {
	const max = 24
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		return fmt.Sprintf("%q...", string(r[:max]))
	}
	return fmt.Sprintf("%q", s)
}

// Party names a party the way FSPIOP addresses it: a PartyIdType, a
// PartyIdentifier and an optional PartySubIdOrType.
type Party struct {
	Type  string // PartyIdType, e.g. "MSISDN"
	ID    string // PartyIdentifier
	SubID string // PartySubIdOrType; "" when there is none
}

// String returns the party as its FSPIOP path: Type/ID or Type/ID/SubID.
func (p Party) String() string {
	if p.SubID == "" {
		return p.Type + "/" + p.ID
	}
	return p.Type + "/" + p.ID + "/" + p.SubID
}

// personalIDTypes are the PersonalIdentifierType values (section 7.5.7),
// the only sub-types a PERSONAL_ID party may have.
var personalIDTypes = []string{
	"PASSPORT", "NATIONAL_REGISTRATION", "DRIVING_LICENSE", "ALIEN_REGISTRATION",
	"NATIONAL_ID_CARD", "EMPLOYER_ID", "TAX_ID_NUMBER", "SENIOR_CITIZENS_CARD",
	"MARRIAGE_CERTIFICATE", "HEALTH_CARD", "VOTERS_ID", "UNITED_NATIONS", "OTHER_ID",
}

// Normalize checks p and returns its canonical form, the one the directory
// stores and looks up, so that two spellings of one party find the same
// entry. It returns a *FieldError wrapping ErrInvalidParty (or
// ErrUnknownType) when p is malformed. Normalize is idempotent: the result
// normalizes to itself.
//
// Every identifier and sub-id is 1 to 128 characters of valid UTF-8 with no
// control characters, no line or paragraph separators, no leading or
// trailing white space, and neither '/' nor '?', which FSPIOP reserves
// because the ids travel in URL paths (section 5.2.1). On top of that:
//
//   - MSISDN: an E.164 number, 1 to 15 digits, the first not 0, optionally
//     after a single '+'. The canonical form drops the '+': "+25512345678"
//     and "25512345678" are the same party.
//   - EMAIL: an ASCII addr-spec local@domain of at most 128 characters; the
//     local part is a dot-atom of at most 64 characters (no quoted strings,
//     no '/', no '?'); the domain is at least two dot-separated labels of
//     letters, digits and inner hyphens, the last not all digits. The
//     domain is lower-cased; the local part keeps its case, as RFC 5321
//     lets it matter. Internationalized domains must be given in their
//     xn-- form.
//   - IBAN: ISO 13616, in electronic form. Spaces are removed and letters
//     upper-cased, so the paper form "gb82 west 1234 5698 7654 32" is
//     accepted. Then: two letters of country code, two check digits from
//     02 to 98, an alphanumeric BBAN; the length the IBAN registry sets for
//     the country (15 to 34 for a country not in the table); and the ISO
//     7064 MOD 97-10 check must give 1.
//   - PERSONAL_ID: the sub-id is required and must be a
//     PersonalIdentifierType (PASSPORT, NATIONAL_REGISTRATION, ...), exactly
//     as the enumeration spells it.
//   - BUSINESS, DEVICE, ACCOUNT_ID, ALIAS: any identifier the common rules
//     allow, compared exactly (case-sensitive, no Unicode normalization).
//
// The type is matched exactly: "msisdn" is an unknown type.
func (p Party) Normalize() (Party, error) {
	var (
		id  string
		err *FieldError
	)
	switch p.Type {
	case TypeMSISDN:
		id, err = normalizeMSISDN(p.ID)
	case TypeEmail:
		id, err = normalizeEmail(p.ID)
	case TypeIBAN:
		id, err = normalizeIBAN(p.ID)
	case TypePersonalID, TypeBusiness, TypeDevice, TypeAccountID, TypeAlias:
		id, err = p.ID, checkText("partyIdentifier", p.ID)
	default:
		if p.Type == "" {
			return Party{}, &FieldError{Field: "partyIdType", Reason: "missing", Err: ErrUnknownType}
		}
		return Party{}, &FieldError{Field: "partyIdType",
			Reason: "unknown type " + quote(p.Type) + "; want one of " + strings.Join(types[1:], ", "),
			Err:    ErrUnknownType}
	}
	if err != nil {
		return Party{}, err
	}
	if p.Type == TypePersonalID {
		if p.SubID == "" {
			return Party{}, partyError("partySubIdOrType", "required for PERSONAL_ID: the kind of id, e.g. PASSPORT or NATIONAL_ID_CARD")
		}
		if !isPersonalIDType(p.SubID) {
			return Party{}, partyError("partySubIdOrType", "%s is not a PersonalIdentifierType, e.g. PASSPORT, DRIVING_LICENSE or OTHER_ID", quote(p.SubID))
		}
	} else if p.SubID != "" {
		if err := checkText("partySubIdOrType", p.SubID); err != nil {
			return Party{}, err
		}
	}
	return Party{Type: p.Type, ID: id, SubID: p.SubID}, nil
}

func isPersonalIDType(s string) bool {
	for _, t := range personalIDTypes {
		if s == t {
			return true
		}
	}
	return false
}

// checkText applies the rules every identifier and sub-id obeys.
func checkText(field, s string) *FieldError {
	if s == "" {
		return partyError(field, "missing")
	}
	if !utf8.ValidString(s) {
		return partyError(field, "not valid UTF-8")
	}
	n := 0
	for i, r := range s {
		n++
		switch {
		case r == '/' || r == '?':
			return partyError(field, "must not contain %q (reserved in FSPIOP URLs), found at byte %d", r, i)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return partyError(field, "must not contain control character %U, found at byte %d", r, i)
		}
	}
	if n > MaxIDLength {
		return partyError(field, "%d characters, want at most %d", n, MaxIDLength)
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return partyError(field, "must not begin or end with white space")
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

func normalizeMSISDN(s string) (string, *FieldError) {
	const field = "partyIdentifier"
	if s == "" {
		return "", partyError(field, "missing")
	}
	digits := strings.TrimPrefix(s, "+")
	if len(digits) > 64 {
		return "", partyError(field, "MSISDN of %d characters, want 1 to 15 digits", len(s))
	}
	for i := 0; i < len(digits); i++ {
		if !isDigit(digits[i]) {
			return "", partyError(field, "MSISDN %s must be digits only, optionally after one leading \"+\"", quote(s))
		}
	}
	switch {
	case len(digits) == 0 || len(digits) > 15:
		return "", partyError(field, "MSISDN of %d digits, want 1 to 15 (E.164)", len(digits))
	case digits[0] == '0':
		return "", partyError(field, "MSISDN %s starts with 0; want the international form, country code first", quote(s))
	}
	return digits, nil
}

// maxEmailLocal is the longest local part RFC 5321 allows.
const maxEmailLocal = 64

func normalizeEmail(s string) (string, *FieldError) {
	const field = "partyIdentifier"
	if s == "" {
		return "", partyError(field, "missing")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf {
			return "", partyError(field, "email must be ASCII (give an internationalized domain in its xn-- form)")
		} else if c <= ' ' || c == 0x7f {
			return "", partyError(field, "email must not contain spaces or control characters")
		}
	}
	if len(s) > MaxIDLength {
		return "", partyError(field, "email of %d characters, want at most %d", len(s), MaxIDLength)
	}
	at := strings.IndexByte(s, '@')
	if at < 0 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return "", partyError(field, "email must be local@domain with exactly one \"@\"")
	}
	local, domain := s[:at], s[at+1:]
	if err := checkEmailLocal(local); err != "" {
		return "", partyError(field, "email local part %s", err)
	}
	if err := checkDomain(domain); err != "" {
		return "", partyError(field, "email domain %s", err)
	}
	lower := true
	for i := 0; i < len(domain); i++ {
		if isUpper(domain[i]) {
			lower = false
			break
		}
	}
	if lower {
		return s, nil
	}
	return local + "@" + strings.ToLower(domain), nil
}

// checkEmailLocal checks a dot-atom local part (RFC 5322 atext, without '/'
// and '?') and returns what is wrong, or "".
func checkEmailLocal(local string) string {
	switch {
	case local == "":
		return "is empty"
	case len(local) > maxEmailLocal:
		return fmt.Sprintf("has %d characters, want at most %d", len(local), maxEmailLocal)
	case local[0] == '.' || local[len(local)-1] == '.':
		return "must not begin or end with \".\""
	case strings.Contains(local, ".."):
		return "must not contain \"..\""
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if isDigit(c) || isUpper(c) || isLower(c) || c == '.' || strings.IndexByte("!#$%&'*+-=^_`{|}~", c) >= 0 {
			continue
		}
		return fmt.Sprintf("must not contain %q", c)
	}
	return ""
}

// checkDomain checks a DNS host name of two or more labels and returns what
// is wrong, or "".
func checkDomain(d string) string {
	if d == "" {
		return "is empty"
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "needs a dot, e.g. example.com"
	}
	for _, l := range labels {
		switch {
		case l == "":
			return "has an empty label (leading, trailing or double \".\")"
		case len(l) > 63:
			return "has a label longer than 63 characters"
		case l[0] == '-' || l[len(l)-1] == '-':
			return "has a label beginning or ending with \"-\""
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !isDigit(c) && !isUpper(c) && !isLower(c) && c != '-' {
				return fmt.Sprintf("must be letters, digits, \"-\" and \".\", not %q", c)
			}
		}
	}
	tld := labels[len(labels)-1]
	for i := 0; i < len(tld); i++ {
		if !isDigit(tld[i]) {
			return ""
		}
	}
	return "must not end in an all-digit label"
}
