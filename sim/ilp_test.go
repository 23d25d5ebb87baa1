package sim

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// The end-to-end example of the FSPIOP v1.1 API Definition (section 10.4.8):
// the ILP packet of Listing 45 (written there with line breaks, joined
// here), the secret of Listing 42, the fulfilment of Listing 43 and the
// condition of Listing 44.
const (
	specSecret     = "JdtBrN2tskq9fuFr6Kg6kdy8RANoZv6BqR9nSk3rUbY"
	specFulfilment = "mhPUT9ZAwd-BXLfeSd7-YPh46rBWRNBiTCSWjpku90s"
	specCondition  = "fH9pAYDQbmoZLPbvv3CSW2RfjU4jvM4ApG_fqGnR7Xs"
)

// The example ilpPacket of the FSPIOP v1.1 OpenAPI document (IlpPacket): a
// legacy payment packet with its length prefix.
const openAPIPacket = "AYIBgQAAAAAAAASwNGxldmVsb25lLmRmc3AxLm1lci45T2RTOF81MDdqUUZERmZlakgyOVc4bXFmNEpLMHlGTFGCAUBQU0svMS4wCk5vbmNlOiB1SXlweUYzY3pYSXBFdzVVc05TYWh3CkVuY3J5cHRpb246IG5vbmUKUGF5bWVudC1JZDogMTMyMzZhM2ItOGZhOC00MTYzLTg0NDctNGMzZWQzZGE5OGE3CgpDb250ZW50LUxlbmd0aDogMTM1CkNvbnRlbnQtVHlwZTogYXBwbGljYXRpb24vanNvbgpTZW5kZXItSWRlbnRpZmllcjogOTI4MDYzOTEKCiJ7XCJmZWVcIjowLFwidHJhbnNmZXJDb2RlXCI6XCJpbnZvaWNlXCIsXCJkZWJpdE5hbWVcIjpcImFsaWNlIGNvb3BlclwiLFwiY3JlZGl0TmFtZVwiOlwibWVyIGNoYW50XCIsXCJkZWJpdElkZW50aWZpZXJcIjpcIjkyODA2MzkxXCJ9IgA"

func specPacket(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/spec-listing45.ilp")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func mustDecode32(t *testing.T, s string) [32]byte {
	t.Helper()
	v, err := Decode32(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSpecExampleFulfilmentAndCondition(t *testing.T) {
	secret, err := base64.RawURLEncoding.DecodeString(specSecret)
	if err != nil {
		t.Fatal(err)
	}
	p, raw, err := ParsePacket(specPacket(t))
	if err != nil {
		t.Fatal(err)
	}
	f := Fulfil(secret, raw)
	if got := Encode32(f); got != specFulfilment {
		t.Errorf("fulfilment = %s, want %s (Listing 43)", got, specFulfilment)
	}
	if got := Encode32(Condition(f)); got != specCondition {
		t.Errorf("condition = %s, want %s (Listing 44)", got, specCondition)
	}
	if !Matches(specFulfilment, specCondition) {
		t.Error("Matches(Listing 43, Listing 44) = false")
	}
	if Matches(specCondition, specCondition) {
		t.Error("Matches(condition, condition) = true")
	}

	if p.Type != TypePayment || p.Amount != 9900 || p.Account != "g.se.mobilemoney.msisdn.123456789" {
		t.Errorf("packet = type %d amount %d account %q, want type 1, 9900 (99 USD), g.se.mobilemoney.msisdn.123456789", p.Type, p.Amount, p.Account)
	}
	tx, err := TransactionFromPacket(p)
	if err != nil {
		t.Fatal(err)
	}
	if tx.TransactionID != "85feac2f-39b2-491b-817e-4a03203d4f14" || tx.QuoteID != "7c23e80c-d078-4077-8263-2c047876fcf6" {
		t.Errorf("transaction ids = %s, %s", tx.TransactionID, tx.QuoteID)
	}
	if got := partyOf(&tx.Payee.PartyIDInfo); got != (Party{Type: "MSISDN", ID: "123456789"}) || tx.Payee.PartyIDInfo.FspID != "MobileMoney" {
		t.Errorf("payee = %v at %q", got, tx.Payee.PartyIDInfo.FspID)
	}
	if tx.Payer.PartyIDInfo.PartyIDType != "IBAN" || tx.Payer.PersonalInfo == nil || tx.Payer.PersonalInfo.ComplexName.FirstName != "Mats" {
		t.Errorf("payer = %+v", tx.Payer)
	}
}

func TestDecodeOpenAPIExample(t *testing.T) {
	p, _, err := ParsePacket(openAPIPacket)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != TypePayment || p.Amount != 1200 || p.Account != "levelone.dfsp1.mer.9OdS8_507jQFDFfejH29W8mqf4JK0yFLQ" {
		t.Errorf("packet = type %d amount %d account %q", p.Type, p.Amount, p.Account)
	}
	if len(p.Data) != 320 || !bytes.HasPrefix(p.Data, []byte("PSK/1.0\n")) {
		t.Errorf("data = %d bytes %.20q, want 320 bytes of PSK", len(p.Data), p.Data)
	}
}

func TestDecodeLegacyPaymentVector(t *testing.T) {
	// A payment packet of 123000000 to g.us.nexus.bob with data 04 10 41,
	// as the reference serializer writes it.
	b, _ := hex.DecodeString("011c000000000754d4c00e672e75732e6e657875732e626f620304104100")
	p, err := DecodePacket(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Amount != 123000000 || p.Account != "g.us.nexus.bob" || !bytes.Equal(p.Data, []byte{4, 0x10, 0x41}) {
		t.Errorf("packet = %+v", p)
	}
}

func TestPrepareRoundTrip(t *testing.T) {
	exp := time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.UTC)
	tests := []struct {
		name string
		p    Packet
	}{
		{"small", Packet{Amount: 9900, ExpiresAt: exp, Account: "g.mobimoney.msisdn.99123456000001", Data: []byte("eyJhIjoxfQ")}},
		{"long data", Packet{Amount: 1, ExpiresAt: exp, Account: "g.x.y", Data: bytes.Repeat([]byte("A"), 300)}},
		{"empty data", Packet{Amount: 0, ExpiresAt: exp, Account: "g.x"}},
		{"max", Packet{Amount: 1<<64 - 1, ExpiresAt: exp, Condition: [32]byte{1, 2, 3}, Account: "g." + strings.Repeat("a", 200), Data: bytes.Repeat([]byte{0xff}, MaxPacketData)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.p.EncodeString()
			if err != nil {
				t.Fatal(err)
			}
			got, raw, err := ParsePacket(s)
			if err != nil {
				t.Fatal(err)
			}
			if raw[0] != TypePrepare {
				t.Errorf("type byte = %d, want %d", raw[0], TypePrepare)
			}
			if got.Type != TypePrepare || got.Amount != tc.p.Amount || !got.ExpiresAt.Equal(tc.p.ExpiresAt) ||
				got.Condition != tc.p.Condition || got.Account != tc.p.Account || !bytes.Equal(got.Data, tc.p.Data) {
				t.Errorf("decoded = %+v, want %+v", got, tc.p)
			}
		})
	}
}

func TestPrepareLayout(t *testing.T) {
	p := Packet{Amount: 0x0102, ExpiresAt: time.Date(2017, 11, 15, 10, 13, 41, 663_000_000, time.UTC), Account: "g.b", Data: []byte("d")}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{12, 8 + 17 + 32 + 4 + 2}
	want = append(want, 0, 0, 0, 0, 0, 0, 1, 2)
	want = append(want, "20171115101341663"...)
	want = append(want, make([]byte, 32)...)
	want = append(want, 3, 'g', '.', 'b', 1, 'd')
	if !bytes.Equal(b, want) {
		t.Errorf("Encode = %x\nwant     %x", b, want)
	}
}

func TestLengthDeterminant(t *testing.T) {
	tests := []struct {
		n    int
		want []byte
	}{
		{0, []byte{0}}, {127, []byte{127}}, {128, []byte{0x81, 128}}, {255, []byte{0x81, 255}},
		{256, []byte{0x82, 1, 0}}, {32767, []byte{0x82, 0x7f, 0xff}}, {70000, []byte{0x83, 1, 0x11, 0x70}},
	}
	for _, tc := range tests {
		got := appendLength(nil, tc.n)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("appendLength(%d) = %x, want %x", tc.n, got, tc.want)
		}
		if lengthSize(tc.n) != len(tc.want) {
			t.Errorf("lengthSize(%d) = %d, want %d", tc.n, lengthSize(tc.n), len(tc.want))
		}
		v, rest, err := readLengthPrefixed(append(append(got, make([]byte, tc.n)...), 9))
		if err != nil || len(v) != tc.n || !bytes.Equal(rest, []byte{9}) {
			t.Errorf("readLengthPrefixed(%d) = %d bytes, rest %x, %v", tc.n, len(v), rest, err)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	good, _ := (&Packet{Amount: 5, ExpiresAt: time.Unix(0, 0), Account: "g.a", Data: []byte("x")}).Encode()
	tests := map[string][]byte{
		"empty":            {},
		"unknown type":     {13, 0},
		"truncated":        good[:len(good)-1],
		"trailing":         append(append([]byte{}, good...), 0),
		"short prepare":    {12, 3, 0, 0, 0},
		"bad time":         func() []byte { b := append([]byte{}, good...); b[2+8] = 'x'; return b }(),
		"non-canonical":    {12, 0x81, 5, 0, 0, 0, 0, 0},
		"huge length":      {12, 0x85, 1, 1, 1, 1, 1},
		"address control":  func() []byte { b := append([]byte{}, good...); b[len(b)-4] = '\n'; return b }(),
		"payment no addr":  {1, 0, 0, 0, 0, 0, 0, 0, 1},
		"payment addr len": {1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 'g'},
	}
	for name, b := range tests {
		if p, err := DecodePacket(b); !errors.Is(err, ErrPacket) {
			t.Errorf("%s: DecodePacket = %+v, %v; want ErrPacket", name, p, err)
		}
	}
	if _, _, err := ParsePacket("not base64!"); !errors.Is(err, ErrPacket) {
		t.Errorf("ParsePacket(not base64) = %v, want ErrPacket", err)
	}
}

func TestFulfilmentDependsOnSecretAndPacket(t *testing.T) {
	p1 := []byte("packet one")
	a := Fulfil([]byte("secret a"), p1)
	if a != Fulfil([]byte("secret a"), p1) {
		t.Fatal("Fulfil is not deterministic")
	}
	if a == Fulfil([]byte("secret b"), p1) || a == Fulfil([]byte("secret a"), []byte("packet two")) {
		t.Error("Fulfil ignores its secret or packet")
	}
	c := Condition(a)
	if !Matches(Encode32(a), Encode32(c)) {
		t.Error("a fulfilment does not match its own condition")
	}
	b := Fulfil([]byte("secret b"), p1)
	if Matches(Encode32(b), Encode32(c)) {
		t.Error("another fulfilment matches the condition")
	}
	if len(Encode32(c)) != 43 || strings.ContainsAny(Encode32(c), "+/=") {
		t.Errorf("Encode32 = %q, want 43 base64url characters", Encode32(c))
	}
}

func TestAddress(t *testing.T) {
	tests := []struct {
		fsp  string
		p    Party
		want string
	}{
		{"mobimoney", Party{Type: "MSISDN", ID: "99123456000001"}, "g.mobimoney.msisdn.99123456000001"},
		{"bank.one", Party{Type: "BUSINESS", ID: "shoe company", SubID: "emp@1"}, "g.bank.one.business.shoe~company.emp~1"},
		{".x.", Party{Type: "EMAIL", ID: "a.b@c"}, "g.~x~.email.a~b~c"},
		{"a..b", Party{Type: "ALIAS", ID: "z"}, "g.a.~b.alias.z"},
	}
	for _, tc := range tests {
		if got := Address(tc.fsp, tc.p); got != tc.want {
			t.Errorf("Address(%q, %v) = %q, want %q", tc.fsp, tc.p, got, tc.want)
		}
	}
}

func TestTransactionFromPacketData(t *testing.T) {
	js := `{"transactionId":"t","quoteId":"q","payee":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"1"}},"payer":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"2"}},"amount":{"amount":"1","currency":"USD"},"transactionType":{"scenario":"TRANSFER","initiator":"PAYER","initiatorType":"CONSUMER"}}`
	for name, data := range map[string]string{
		"base64url": base64.RawURLEncoding.EncodeToString([]byte(js)),
		"padded":    base64.URLEncoding.EncodeToString([]byte(js)),
		"json":      js,
	} {
		tx, err := TransactionFromPacket(&Packet{Data: []byte(data)})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if tx.QuoteID != "q" || tx.Payee.PartyIDInfo.PartyIdentifier != "1" {
			t.Errorf("%s: transaction = %+v", name, tx)
		}
	}
	if _, err := TransactionFromPacket(&Packet{Data: []byte("%%%")}); !errors.Is(err, ErrPacket) {
		t.Errorf("garbage data: %v, want ErrPacket", err)
	}
}

func FuzzDecodePacket(f *testing.F) {
	good, _ := (&Packet{Amount: 5, ExpiresAt: time.Unix(1e9, 0), Account: "g.a.b", Data: []byte("xyz")}).Encode()
	f.Add(good)
	b, _ := base64.RawURLEncoding.DecodeString(openAPIPacket)
	f.Add(b)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 'g', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePacket(b)
		if err != nil {
			if !errors.Is(err, ErrPacket) {
				t.Fatalf("error %v does not wrap ErrPacket", err)
			}
			return
		}
		if p.Type != TypePrepare {
			return
		}
		// A Prepare that decodes re-encodes to the same bytes.
		again, err := p.Encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x, decoded from %x", again, b)
		}
	})
}

func FuzzParseParty(f *testing.F) {
	for _, s := range []string{"MSISDN/123", "BUSINESS/shoe/emp1", "X/1", "MSISDN//", "MSISDN/1/2/3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseParty(s)
		if err != nil {
			if !errors.Is(err, ErrParty) {
				t.Fatalf("error %v does not wrap ErrParty", err)
			}
			return
		}
		if p.String() != s {
			t.Fatalf("ParseParty(%q).String() = %q", s, p.String())
		}
	})
}

func BenchmarkBuildPacket(b *testing.B) {
	tx := Transaction{TransactionID: newID(), QuoteID: newID(),
		Payee:           PartyInfo{PartyIDInfo: PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "99000001000001", FspID: "b"}},
		Payer:           PartyInfo{PartyIDInfo: PartyIDInfo{PartyIDType: "MSISDN", PartyIdentifier: "99000002000001", FspID: "a"}},
		Amount:          Money{Amount: "10", Currency: "USD"},
		TransactionType: TransactionType{Scenario: "TRANSFER", Initiator: "PAYER", InitiatorType: "CONSUMER"}}
	secret := DefaultSecret("b")
	exp := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := buildPacket(&tx, 1000, exp, "g.b.msisdn.99000001000001", secret); err != nil {
			b.Fatal(err)
		}
	}
}
