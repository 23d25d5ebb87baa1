package directory

import (
	"errors"
	"testing"
)

// registryExamples are the example IBANs the IBAN registry publishes for
// its countries, in electronic form, and the example of ISO 13616 itself
// (GB82WEST...).
var registryExamples = []string{
	"GB82WEST12345698765432",
	"AD1200012030200359100100", "AE070331234567890123456", "AL47212110090000000235698741",
	"AT611904300234573201", "AZ21NABZ00000000137010001944", "BA391290079401028494",
	"BE68539007547034", "BG80BNBG96611020345678", "BH67BMAG00001299123456",
	"BI4210000100010000332045181", "BR1800360305000010009795493C1", "BY13NBRB3600900000002Z00AB00",
	"CH9300762011623852957", "CR05015202001026284066", "CY17002001280000001200527600",
	"CZ6508000000192000145399", "DE89370400440532013000", "DK5000400440116243",
	"DO28BAGR00000001212453611324", "EE382200221020145685", "EG380019000500000000263180002",
	"ES9121000418450200051332", "FI2112345600000785", "FO6264600001631634",
	"FR1420041010050500013M02606", "GB29NWBK60161331926819", "GE29NB0000000101904917",
	"GI75NWBK000000007099453", "GL8964710001000206", "GR1601101250000000012300695",
	"GT82TRAJ01020000001210029690", "HR1210010051863000160", "HU42117730161111101800000000",
	"IE29AIBK93115212345678", "IL620108000000099999999", "IQ98NBIQ850123456789012",
	"IS140159260076545510730339", "IT60X0542811101000000123456", "JO94CBJO0010000000000131000302",
	"KW81CBKU0000000000001234560101", "KZ86125KZT5004100100", "LB62099900000001001901229114",
	"LC55HEMM000100010012001200023015", "LI21088100002324013AA", "LT121000011101001000",
	"LU280019400644750000", "LV80BANK0000435195001", "LY83002048000020100120361",
	"MC5811222000010123456789030", "MD24AG000225100013104168", "ME25505000012345678951",
	"MK07250120000058984", "MR1300020001010000123456753", "MT84MALT011000012345MTLCAST001S",
	"MU17BOMM0101101030300200000MUR", "NL91ABNA0417164300", "NO9386011117947",
	"PK36SCBL0000001123456702", "PL61109010140000071219812874", "PS92PALS000000000400123456702",
	"PT50000201231234567890154", "QA58DOHB00001234567890ABCDEFG", "RO49AAAA1B31007593840000",
	"RS35260005601001611379", "SA0380000000608010167519", "SC18SSCB11010000000000001497USD",
	"SD2129010501234001", "SE4550000000058398257466", "SI56263300012039086",
	"SK3112000000198742637541", "SM86U0322509800000000270100", "ST23000100010051845310146",
	"SV62CENR00000000000000700025", "TL380080012345678910157", "TN5910006035183598478831",
	"TR330006100519786457841326", "UA213223130000026007233566001", "VA59001123000012345678",
	"VG96VPVG0000012345678901", "XK051212012345678906",
}

func TestIBANRegistryExamples(t *testing.T) {
	for _, s := range registryExamples {
		t.Run(s, func(t *testing.T) {
			if want, ok := ibanLengths[s[:2]]; !ok || len(s) != want {
				t.Errorf("table length for %s = %d, %v; the example has %d", s[:2], want, ok, len(s))
			}
			got, err := Party{Type: TypeIBAN, ID: s}.Normalize()
			if err != nil || got.ID != s {
				t.Fatalf("Normalize(%s) = %+v, %v; want it unchanged", s, got, err)
			}
			// Any change of one character breaks the check: MOD 97-10
			// catches every single substitution.
			b := []byte(s)
			for i := 2; i < len(b); i++ {
				orig := b[i]
				b[i] = '0' + (orig-'0'+1)%10
				if !isDigit(orig) {
					b[i] = 'A' + (orig-'A'+1)%26
				}
				if _, err := (Party{Type: TypeIBAN, ID: string(b)}).Normalize(); !errors.Is(err, ErrInvalidParty) {
					t.Errorf("Normalize(%s) = %v, want ErrInvalidParty", b, err)
				}
				b[i] = orig
			}
		})
	}
}

func TestIBANLengths(t *testing.T) {
	if got, want := len(ibanLengths), 89; got != want {
		t.Errorf("%d countries in the table, want %d", got, want)
	}
	for c, n := range ibanLengths {
		if len(c) != 2 || !isUpper(c[0]) || !isUpper(c[1]) || n < minIBAN || n > maxIBAN {
			t.Errorf("table row %q: %d", c, n)
		}
	}
}

func TestIBANMod97(t *testing.T) {
	tests := []struct {
		iban string
		want int
	}{
		{"GB82WEST12345698765432", 1},
		// With the check digits replaced by 00, the remainder is 98 minus
		// the check digits: that is how they are computed.
		{"GB00WEST12345698765432", 98 - 82},
		{"DE89370400440532013000", 1},
	}
	for _, tt := range tests {
		if got := ibanMod97(tt.iban); got != tt.want {
			t.Errorf("ibanMod97(%s) = %d, want %d", tt.iban, got, tt.want)
		}
	}
}

// An unknown country still gets the length bounds and the checksum.
func TestIBANUnknownCountry(t *testing.T) {
	// Build a valid IBAN for the unassigned code XY: check digits are
	// 98 - the remainder with "00".
	bban := "ABCD1234567890"
	r := ibanMod97("XY00" + bban)
	cd := 98 - r
	s := "XY" + string(rune('0'+cd/10)) + string(rune('0'+cd%10)) + bban
	got, err := Party{Type: TypeIBAN, ID: s}.Normalize()
	if err != nil || got.ID != s {
		t.Fatalf("Normalize(%s) = %+v, %v; want it unchanged", s, got, err)
	}
}
