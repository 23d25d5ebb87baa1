package directory

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeValid(t *testing.T) {
	long := strings.Repeat("x", 128)
	longRunes := strings.Repeat("é", 128) // 256 bytes, 128 characters
	tests := []struct {
		in   Party
		want Party
	}{
		// MSISDN: '+' dropped, digits kept.
		{Party{"MSISDN", "16135551212", ""}, Party{"MSISDN", "16135551212", ""}},
		{Party{"MSISDN", "+123456789", ""}, Party{"MSISDN", "123456789", ""}},
		{Party{"MSISDN", "1", ""}, Party{"MSISDN", "1", ""}},
		{Party{"MSISDN", "+999999999999999", ""}, Party{"MSISDN", "999999999999999", ""}},
		{Party{"MSISDN", "255712345678", "wallet-2"}, Party{"MSISDN", "255712345678", "wallet-2"}},
		// EMAIL: domain lower-cased, local part kept.
		{Party{"EMAIL", "john@doe.com", ""}, Party{"EMAIL", "john@doe.com", ""}},
		{Party{"EMAIL", "John.Doe@Example.COM", ""}, Party{"EMAIL", "John.Doe@example.com", ""}},
		{Party{"EMAIL", "a+tag@mail.example.co.tz", ""}, Party{"EMAIL", "a+tag@mail.example.co.tz", ""}},
		{Party{"EMAIL", "o'brien_&-{x}~@xn--bcher-kva.example", ""}, Party{"EMAIL", "o'brien_&-{x}~@xn--bcher-kva.example", ""}},
		{Party{"EMAIL", "x@1.2.example", ""}, Party{"EMAIL", "x@1.2.example", ""}},
		{Party{"EMAIL", strings.Repeat("l", 64) + "@" + strings.Repeat("d", 59) + ".com", ""},
			Party{"EMAIL", strings.Repeat("l", 64) + "@" + strings.Repeat("d", 59) + ".com", ""}},
		// IBAN: spaces removed, upper-cased.
		{Party{"IBAN", "GB82WEST12345698765432", ""}, Party{"IBAN", "GB82WEST12345698765432", ""}},
		{Party{"IBAN", "GB82 WEST 1234 5698 7654 32", ""}, Party{"IBAN", "GB82WEST12345698765432", ""}},
		{Party{"IBAN", "de89 3704 0044 0532 0130 00", ""}, Party{"IBAN", "DE89370400440532013000", ""}},
		{Party{"IBAN", "SE4550000000058398257466", ""}, Party{"IBAN", "SE4550000000058398257466", ""}},
		// PERSONAL_ID with its kind.
		{Party{"PERSONAL_ID", "12345678", "PASSPORT"}, Party{"PERSONAL_ID", "12345678", "PASSPORT"}},
		{Party{"PERSONAL_ID", "AB 123-456", "OTHER_ID"}, Party{"PERSONAL_ID", "AB 123-456", "OTHER_ID"}},
		// Free-form types, compared exactly.
		{Party{"BUSINESS", "Shoe-company", "employeeId1"}, Party{"BUSINESS", "Shoe-company", "employeeId1"}},
		{Party{"DEVICE", "POS 0042", ""}, Party{"DEVICE", "POS 0042", ""}},
		{Party{"ACCOUNT_ID", "0123-456789#01", ""}, Party{"ACCOUNT_ID", "0123-456789#01", ""}},
		{Party{"ALIAS", "Mama Mboga", ""}, Party{"ALIAS", "Mama Mboga", ""}},
		{Party{"ALIAS", "кафе-ромашка", ""}, Party{"ALIAS", "кафе-ромашка", ""}},
		{Party{"ALIAS", long, long}, Party{"ALIAS", long, long}},
		{Party{"ALIAS", longRunes, ""}, Party{"ALIAS", longRunes, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			got, err := tt.in.Normalize()
			if err != nil {
				t.Fatalf("Normalize(%+v): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Normalize(%+v) = %+v, want %+v", tt.in, got, tt.want)
			}
			again, err := got.Normalize()
			if err != nil || again != got {
				t.Fatalf("Normalize(%+v) = %+v, %v; want itself", got, again, err)
			}
		})
	}
}

func TestNormalizeInvalid(t *testing.T) {
	tests := []struct {
		name   string
		in     Party
		field  string
		reason string // a substring of the reason
	}{
		{"no type", Party{"", "1", ""}, "partyIdType", "missing"},
		{"lower-case type", Party{"msisdn", "1", ""}, "partyIdType", "unknown type"},
		{"unknown type", Party{"PHONE", "1", ""}, "partyIdType", "unknown type"},

		{"msisdn empty", Party{"MSISDN", "", ""}, "partyIdentifier", "missing"},
		{"msisdn plus only", Party{"MSISDN", "+", ""}, "partyIdentifier", "0 digits"},
		{"msisdn two plus", Party{"MSISDN", "++1234", ""}, "partyIdentifier", "digits only"},
		{"msisdn 16 digits", Party{"MSISDN", "1234567890123456", ""}, "partyIdentifier", "16 digits"},
		{"msisdn leading 0", Party{"MSISDN", "0712345678", ""}, "partyIdentifier", "starts with 0"},
		{"msisdn plus 0", Party{"MSISDN", "+0712345678", ""}, "partyIdentifier", "starts with 0"},
		{"msisdn space", Party{"MSISDN", "255 712 345", ""}, "partyIdentifier", "digits only"},
		{"msisdn dash", Party{"MSISDN", "255-712", ""}, "partyIdentifier", "digits only"},
		{"msisdn arabic digits", Party{"MSISDN", "٢٥٥", ""}, "partyIdentifier", "digits only"},
		{"msisdn very long", Party{"MSISDN", strings.Repeat("1", 200), ""}, "partyIdentifier", "want 1 to 15"},
		{"msisdn bad subid", Party{"MSISDN", "1234", "a/b"}, "partySubIdOrType", `'/'`},

		{"email empty", Party{"EMAIL", "", ""}, "partyIdentifier", "missing"},
		{"email no at", Party{"EMAIL", "john.doe.com", ""}, "partyIdentifier", "exactly one"},
		{"email two at", Party{"EMAIL", "a@b@c.com", ""}, "partyIdentifier", "exactly one"},
		{"email no local", Party{"EMAIL", "@doe.com", ""}, "partyIdentifier", "local part is empty"},
		{"email no domain", Party{"EMAIL", "john@", ""}, "partyIdentifier", "domain is empty"},
		{"email no dot", Party{"EMAIL", "john@localhost", ""}, "partyIdentifier", "needs a dot"},
		{"email trailing dot", Party{"EMAIL", "john@doe.com.", ""}, "partyIdentifier", "empty label"},
		{"email double dot domain", Party{"EMAIL", "john@doe..com", ""}, "partyIdentifier", "empty label"},
		{"email hyphen label", Party{"EMAIL", "john@-doe.com", ""}, "partyIdentifier", "beginning or ending"},
		{"email numeric tld", Party{"EMAIL", "john@10.0.0.1", ""}, "partyIdentifier", "all-digit"},
		{"email ip literal", Party{"EMAIL", "john@[10.0.0.1]", ""}, "partyIdentifier", "letters, digits"},
		{"email space", Party{"EMAIL", "john doe@doe.com", ""}, "partyIdentifier", "spaces"},
		{"email tab", Party{"EMAIL", "john\t@doe.com", ""}, "partyIdentifier", "spaces"},
		{"email leading dot", Party{"EMAIL", ".john@doe.com", ""}, "partyIdentifier", "begin or end"},
		{"email double dot local", Party{"EMAIL", "jo..hn@doe.com", ""}, "partyIdentifier", `".."`},
		{"email quoted", Party{"EMAIL", `"john"@doe.com`, ""}, "partyIdentifier", "must not contain"},
		{"email slash", Party{"EMAIL", "jo/hn@doe.com", ""}, "partyIdentifier", "must not contain"},
		{"email question", Party{"EMAIL", "jo?hn@doe.com", ""}, "partyIdentifier", "must not contain"},
		{"email unicode", Party{"EMAIL", "jöhn@doe.com", ""}, "partyIdentifier", "ASCII"},
		{"email local 65", Party{"EMAIL", strings.Repeat("l", 65) + "@doe.com", ""}, "partyIdentifier", "65 characters"},
		{"email 129", Party{"EMAIL", "a@" + strings.Repeat("d", 60) + "." + strings.Repeat("e", 62) + ".com", ""}, "partyIdentifier", "129 characters"},
		{"email label 64", Party{"EMAIL", "a@" + strings.Repeat("d", 64) + ".com", ""}, "partyIdentifier", "longer than 63"},
		{"email underscore domain", Party{"EMAIL", "a@do_e.com", ""}, "partyIdentifier", "letters, digits"},

		{"iban empty", Party{"IBAN", "", ""}, "partyIdentifier", "missing"},
		{"iban bad check", Party{"IBAN", "GB83WEST12345698765432", ""}, "partyIdentifier", "MOD 97-10"},
		{"iban transposed", Party{"IBAN", "GB82WEST12345698765423", ""}, "partyIdentifier", "MOD 97-10"},
		{"iban short for country", Party{"IBAN", "GB82WEST1234569876543", ""}, "partyIdentifier", "must be 22"},
		{"iban long for country", Party{"IBAN", "DE893704004405320130000", ""}, "partyIdentifier", "must be 22"},
		{"iban dash", Party{"IBAN", "GB82-WEST-1234-5698-7654-32", ""}, "partyIdentifier", "letters and digits"},
		{"iban tab", Party{"IBAN", "GB82\tWEST12345698765432", ""}, "partyIdentifier", "letters and digits"},
		{"iban digit country", Party{"IBAN", "1B82WEST12345698765432", ""}, "partyIdentifier", "country code"},
		{"iban letter check", Party{"IBAN", "GBX2WEST12345698765432", ""}, "partyIdentifier", "check digits"},
		{"iban too short", Party{"IBAN", "GB82", ""}, "partyIdentifier", "too short"},
		{"iban check 00", Party{"IBAN", "GB00WEST12345698765432", ""}, "partyIdentifier", "never valid"},
		{"iban check 99", Party{"IBAN", "XY99ABCD1234567890", ""}, "partyIdentifier", "never valid"},
		{"iban unknown country short", Party{"IBAN", "XY12ABCD12", ""}, "partyIdentifier", "want 15 to 34"},
		{"iban unknown country long", Party{"IBAN", "XY12" + strings.Repeat("1", 31), ""}, "partyIdentifier", "want 15 to 34"},
		{"iban unicode", Party{"IBAN", "GB82WEST1234569876543²", ""}, "partyIdentifier", "letters and digits"},

		{"personal no subid", Party{"PERSONAL_ID", "12345678", ""}, "partySubIdOrType", "required"},
		{"personal bad subid", Party{"PERSONAL_ID", "12345678", "ID_CARD"}, "partySubIdOrType", "PersonalIdentifierType"},
		{"personal lower subid", Party{"PERSONAL_ID", "12345678", "passport"}, "partySubIdOrType", "PersonalIdentifierType"},
		{"personal bad id", Party{"PERSONAL_ID", "", "PASSPORT"}, "partyIdentifier", "missing"},

		{"business empty", Party{"BUSINESS", "", ""}, "partyIdentifier", "missing"},
		{"business slash", Party{"BUSINESS", "shoe/company", ""}, "partyIdentifier", `'/'`},
		{"business question", Party{"BUSINESS", "shoe?company", ""}, "partyIdentifier", `'?'`},
		{"business 129", Party{"BUSINESS", strings.Repeat("x", 129), ""}, "partyIdentifier", "129 characters"},
		{"business 129 runes", Party{"BUSINESS", strings.Repeat("é", 129), ""}, "partyIdentifier", "129 characters"},
		{"device nul", Party{"DEVICE", "pos\x00", ""}, "partyIdentifier", "control character U+0000"},
		{"device newline", Party{"DEVICE", "pos\n1", ""}, "partyIdentifier", "control character U+000A"},
		{"device C1", Party{"DEVICE", "pos\u0085", ""}, "partyIdentifier", "control character U+0085"},
		{"device line separator", Party{"DEVICE", "pos\u20281", ""}, "partyIdentifier", "U+2028"},
		{"account leading space", Party{"ACCOUNT_ID", " 123", ""}, "partyIdentifier", "white space"},
		{"account trailing nbsp", Party{"ACCOUNT_ID", "123\u00a0", ""}, "partyIdentifier", "white space"},
		{"alias bad utf8", Party{"ALIAS", "a\xffb", ""}, "partyIdentifier", "UTF-8"},
		{"alias subid 129", Party{"ALIAS", "a", strings.Repeat("s", 129)}, "partySubIdOrType", "129 characters"},
		{"alias subid space", Party{"ALIAS", "a", " s"}, "partySubIdOrType", "white space"},
		{"alias subid ctl", Party{"ALIAS", "a", "s\x7f"}, "partySubIdOrType", "control"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Normalize()
			if err == nil {
				t.Fatalf("Normalize(%+v) = %+v, want an error", tt.in, got)
			}
			if got != (Party{}) {
				t.Errorf("Normalize(%+v) returned %+v with its error, want the zero Party", tt.in, got)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			if !errors.Is(err, ErrInvalidParty) {
				t.Errorf("error %v does not match ErrInvalidParty", err)
			}
			if gotUnknown, want := errors.Is(err, ErrUnknownType), tt.field == "partyIdType"; gotUnknown != want {
				t.Errorf("errors.Is(%v, ErrUnknownType) = %v, want %v", err, gotUnknown, want)
			}
			if fe.Field != tt.field {
				t.Errorf("Field = %q, want %q (%v)", fe.Field, tt.field, err)
			}
			if !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", fe.Reason, tt.reason)
			}
			if d := fe.Description(); utf8.RuneCountInString(d) > 128 || !strings.HasPrefix(d, tt.field+": ") {
				t.Errorf("Description() = %q (%d characters), want %q... of at most 128", d, utf8.RuneCountInString(d), tt.field)
			}
			if !strings.HasPrefix(err.Error(), "directory: ") {
				t.Errorf("Error() = %q, want the package prefix", err.Error())
			}
		})
	}
}

func TestPersonalIDTypes(t *testing.T) {
	for _, k := range personalIDTypes {
		p := Party{TypePersonalID, "A1234567", k}
		if got, err := p.Normalize(); err != nil || got != p {
			t.Errorf("Normalize(%+v) = %+v, %v; want itself", p, got, err)
		}
	}
	if got, want := len(personalIDTypes), 13; got != want {
		t.Errorf("%d PersonalIdentifierType values, want %d", got, want)
	}
}

func TestFieldErrorDescriptionCut(t *testing.T) {
	e := &FieldError{Field: "partyIdentifier", Reason: strings.Repeat("é", 200), Err: ErrInvalidParty}
	d := e.Description()
	if n := utf8.RuneCountInString(d); n != 128 || !strings.HasSuffix(d, "...") {
		t.Fatalf("Description() has %d characters and ends %q; want 128 ending in ...", n, d[len(d)-6:])
	}
}

func TestPartyString(t *testing.T) {
	tests := []struct {
		p    Party
		want string
	}{
		{Party{"MSISDN", "123", ""}, "MSISDN/123"},
		{Party{"BUSINESS", "shoe", "emp1"}, "BUSINESS/shoe/emp1"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}
