package directory

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize checks that Normalize never panics, that what it accepts it
// accepts again unchanged, that its result obeys the common rules, and that
// what it refuses it refuses with a *FieldError.
func FuzzNormalize(f *testing.F) {
	for _, p := range []Party{
		{"MSISDN", "+255712345678", ""},
		{"MSISDN", "0712", ""},
		{"EMAIL", "John.Doe@Example.COM", ""},
		{"EMAIL", "a@b", ""},
		{"IBAN", "gb82 west 1234 5698 7654 32", ""},
		{"IBAN", "GB00WEST12345698765432", ""},
		{"PERSONAL_ID", "12345678", "PASSPORT"},
		{"PERSONAL_ID", "12345678", ""},
		{"BUSINESS", "Shoe-company", "employeeId1"},
		{"DEVICE", "pos\x00", ""},
		{"ACCOUNT_ID", " 1", ""},
		{"ALIAS", "кафе", "a/b"},
		{"msisdn", "1", ""},
	} {
		f.Add(p.Type, p.ID, p.SubID)
	}
	f.Fuzz(func(t *testing.T, typ, id, sub string) {
		p := Party{Type: typ, ID: id, SubID: sub}
		got, err := p.Normalize()
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidParty) {
				t.Fatalf("Normalize(%+v) error %v is not a *FieldError matching ErrInvalidParty", p, err)
			}
			if got != (Party{}) {
				t.Fatalf("Normalize(%+v) = %+v with error %v", p, got, err)
			}
			if utf8.RuneCountInString(fe.Description()) > 128 {
				t.Fatalf("Description() too long: %q", fe.Description())
			}
			return
		}
		again, err := got.Normalize()
		if err != nil || again != got {
			t.Fatalf("Normalize(%+v) = %+v, which normalizes to %+v, %v", p, got, again, err)
		}
		if got.Type != typ {
			t.Fatalf("type changed: %q to %q", typ, got.Type)
		}
		for _, s := range []string{got.ID, got.SubID} {
			if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxIDLength || strings.ContainsAny(s, "/?\x00") {
				t.Fatalf("Normalize(%+v) = %+v breaks the common rules", p, got)
			}
		}
		if got.ID == "" {
			t.Fatalf("Normalize(%+v) accepted an empty identifier", p)
		}
		suffix, _ := keySuffix(got)
		if n := len(ownerKey(strings.Repeat("f", 32), suffix)); n > 1024 {
			t.Fatalf("owner key of %d bytes for %+v", n, got)
		}
	})
}

// FuzzDecodeRecord checks that decoding any bytes never panics and that a
// record it accepts encodes to one that decodes the same. (The bytes may
// differ: a varint may be written longer than it need be.)
func FuzzDecodeRecord(f *testing.F) {
	for _, e := range []Entry{
		{Party: msisdn("1"), FSP: "d"},
		{Party: Party{TypePersonalID, "A123", "PASSPORT"}, FSP: "dfsp1", Currency: "USD", Updated: t0},
	} {
		f.Add(appendRecord(nil, &e))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, rest, err := decodeRecord(b, true)
		if err != nil {
			return
		}
		enc := appendRecord(nil, &e)
		again, _, err := decodeRecord(enc, true)
		if err != nil || again != e {
			t.Fatalf("decode(%x) = %+v, which encodes to %x, which decodes to %+v, %v", b, e, enc, again, err)
		}
		if !strings.HasSuffix(string(b), string(rest)) || len(rest) == 0 {
			t.Fatalf("decode(%x) returned party bytes %x, not a tail of the record", b, rest)
		}
	})
}
