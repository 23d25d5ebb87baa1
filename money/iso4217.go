package money

// This file holds the currency table as plain Go data.
//
// Where the facts come from:
//
//   - Codes, numeric codes and minor units: ISO 4217 "List One" (current
//     funds) and "List Three" (historic denominations), as published by the
//     ISO 4217 maintenance agency (SIX Financial Information), including the
//     amendments of 2024-2025 that added ZWG (Zimbabwe Gold), XCG (Caribbean
//     guilder) and XAD (Arab Accounting Dinar). The minor unit is ISO's
//     "CcyMnrUnts", not CLDR's display digits: ISO says IQD 3, LBP 2, IDR 2,
//     IRR 2, HUF 2, TWD 2, COP 2 where CLDR shows 0 for some of them. An
//     amount that is valid on the wire in ISO terms must parse here.
//   - The alphabetic codes and numeric codes of List One were cross-checked
//     against Debian's iso-codes package (iso_4217.json, 4.15).
//   - Which legacy and non-ISO codes to carry: the Currency enum of the FSPIOP
//     v1.1 and v2.0 OpenAPI definitions (shared/reference/), which the tests
//     parse and compare against this table.
//
// Three kinds of entries:
//
//   - listOne: active ISO 4217 codes. ANG (being replaced by XCG from 2025),
//     BGN (Bulgaria adopted the euro on 2026-01-01) and CUC (out of
//     circulation in Cuba since 2021) are in their changeover period and kept
//     here so that peers still sending them are understood.
//   - listThree: codes ISO has withdrawn, carried only because the FSPIOP
//     Currency enum still lists them, with the minor unit ISO gave them.
//   - notISO: codes in the FSPIOP Currency enum that ISO 4217 never assigned
//     (local issues of sterling and the Australian dollar, and the Seborga
//     luigino); Numeric is 0 and the exponent is that of the currency they
//     are pegged to or divided by (1/100).
//
// Codes whose ISO minor unit is "N.A." (precious metals, bond-market units,
// SDR, Sucre, ADB unit of account, the testing code XTS and the no-currency
// code XXX) are deliberately NOT in the table: an amount in them has no
// defined minor unit, so Lookup reports them unknown and ParseAmount rejects
// amounts in them with ErrUnknownCurrency. They are listed in noMinorUnit so
// that the reason can be told and the tests can tell "excluded" from
// "forgotten".

// entryKind records why a code is in the table; see the file comment.
type entryKind uint8

const (
	listOne entryKind = iota + 1
	listThree
	notISO
)

// entry is one row of the currency table.
type entry struct {
	code     string
	numeric  int
	exponent int
	kind     entryKind
}

// table is sorted by code; currencies_test.go checks the order.
var table = [...]entry{
	{"AED", 784, 2, listOne},   // UAE Dirham
	{"AFN", 971, 2, listOne},   // Afghani
	{"ALL", 8, 2, listOne},     // Lek
	{"AMD", 51, 2, listOne},    // Armenian Dram
	{"ANG", 532, 2, listOne},   // Netherlands Antillean Guilder (changeover to XCG)
	{"AOA", 973, 2, listOne},   // Kwanza
	{"ARS", 32, 2, listOne},    // Argentine Peso
	{"AUD", 36, 2, listOne},    // Australian Dollar
	{"AWG", 533, 2, listOne},   // Aruban Florin
	{"AZN", 944, 2, listOne},   // Azerbaijan Manat
	{"BAM", 977, 2, listOne},   // Convertible Mark
	{"BBD", 52, 2, listOne},    // Barbados Dollar
	{"BDT", 50, 2, listOne},    // Taka
	{"BGN", 975, 2, listOne},   // Bulgarian Lev (changeover to EUR)
	{"BHD", 48, 3, listOne},    // Bahraini Dinar
	{"BIF", 108, 0, listOne},   // Burundi Franc
	{"BMD", 60, 2, listOne},    // Bermudian Dollar
	{"BND", 96, 2, listOne},    // Brunei Dollar
	{"BOB", 68, 2, listOne},    // Boliviano
	{"BOV", 984, 2, listOne},   // Mvdol
	{"BRL", 986, 2, listOne},   // Brazilian Real
	{"BSD", 44, 2, listOne},    // Bahamian Dollar
	{"BTN", 64, 2, listOne},    // Ngultrum
	{"BWP", 72, 2, listOne},    // Pula
	{"BYN", 933, 2, listOne},   // Belarusian Ruble
	{"BZD", 84, 2, listOne},    // Belize Dollar
	{"CAD", 124, 2, listOne},   // Canadian Dollar
	{"CDF", 976, 2, listOne},   // Congolese Franc
	{"CHE", 947, 2, listOne},   // WIR Euro
	{"CHF", 756, 2, listOne},   // Swiss Franc
	{"CHW", 948, 2, listOne},   // WIR Franc
	{"CLF", 990, 4, listOne},   // Unidad de Fomento
	{"CLP", 152, 0, listOne},   // Chilean Peso
	{"CNY", 156, 2, listOne},   // Yuan Renminbi
	{"COP", 170, 2, listOne},   // Colombian Peso
	{"COU", 970, 2, listOne},   // Unidad de Valor Real
	{"CRC", 188, 2, listOne},   // Costa Rican Colon
	{"CUC", 931, 2, listOne},   // Peso Convertible (out of circulation since 2021)
	{"CUP", 192, 2, listOne},   // Cuban Peso
	{"CVE", 132, 2, listOne},   // Cabo Verde Escudo
	{"CZK", 203, 2, listOne},   // Czech Koruna
	{"DJF", 262, 0, listOne},   // Djibouti Franc
	{"DKK", 208, 2, listOne},   // Danish Krone
	{"DOP", 214, 2, listOne},   // Dominican Peso
	{"DZD", 12, 2, listOne},    // Algerian Dinar
	{"EGP", 818, 2, listOne},   // Egyptian Pound
	{"ERN", 232, 2, listOne},   // Nakfa
	{"ETB", 230, 2, listOne},   // Ethiopian Birr
	{"EUR", 978, 2, listOne},   // Euro
	{"FJD", 242, 2, listOne},   // Fiji Dollar
	{"FKP", 238, 2, listOne},   // Falkland Islands Pound
	{"GBP", 826, 2, listOne},   // Pound Sterling
	{"GEL", 981, 2, listOne},   // Lari
	{"GGP", 0, 2, notISO},      // Guernsey Pound (local issue of GBP)
	{"GHS", 936, 2, listOne},   // Ghana Cedi
	{"GIP", 292, 2, listOne},   // Gibraltar Pound
	{"GMD", 270, 2, listOne},   // Dalasi
	{"GNF", 324, 0, listOne},   // Guinean Franc
	{"GTQ", 320, 2, listOne},   // Quetzal
	{"GYD", 328, 2, listOne},   // Guyana Dollar
	{"HKD", 344, 2, listOne},   // Hong Kong Dollar
	{"HNL", 340, 2, listOne},   // Lempira
	{"HRK", 191, 2, listThree}, // Kuna (withdrawn 2023, replaced by EUR)
	{"HTG", 332, 2, listOne},   // Gourde
	{"HUF", 348, 2, listOne},   // Forint
	{"IDR", 360, 2, listOne},   // Rupiah
	{"ILS", 376, 2, listOne},   // New Israeli Sheqel
	{"IMP", 0, 2, notISO},      // Manx Pound (local issue of GBP)
	{"INR", 356, 2, listOne},   // Indian Rupee
	{"IQD", 368, 3, listOne},   // Iraqi Dinar
	{"IRR", 364, 2, listOne},   // Iranian Rial
	{"ISK", 352, 0, listOne},   // Iceland Krona
	{"JEP", 0, 2, notISO},      // Jersey Pound (local issue of GBP)
	{"JMD", 388, 2, listOne},   // Jamaican Dollar
	{"JOD", 400, 3, listOne},   // Jordanian Dinar
	{"JPY", 392, 0, listOne},   // Yen
	{"KES", 404, 2, listOne},   // Kenyan Shilling
	{"KGS", 417, 2, listOne},   // Som
	{"KHR", 116, 2, listOne},   // Riel
	{"KMF", 174, 0, listOne},   // Comorian Franc
	{"KPW", 408, 2, listOne},   // North Korean Won
	{"KRW", 410, 0, listOne},   // Won
	{"KWD", 414, 3, listOne},   // Kuwaiti Dinar
	{"KYD", 136, 2, listOne},   // Cayman Islands Dollar
	{"KZT", 398, 2, listOne},   // Tenge
	{"LAK", 418, 2, listOne},   // Lao Kip
	{"LBP", 422, 2, listOne},   // Lebanese Pound
	{"LKR", 144, 2, listOne},   // Sri Lanka Rupee
	{"LRD", 430, 2, listOne},   // Liberian Dollar
	{"LSL", 426, 2, listOne},   // Loti
	{"LYD", 434, 3, listOne},   // Libyan Dinar
	{"MAD", 504, 2, listOne},   // Moroccan Dirham
	{"MDL", 498, 2, listOne},   // Moldovan Leu
	{"MGA", 969, 2, listOne},   // Malagasy Ariary
	{"MKD", 807, 2, listOne},   // Denar
	{"MMK", 104, 2, listOne},   // Kyat
	{"MNT", 496, 2, listOne},   // Tugrik
	{"MOP", 446, 2, listOne},   // Pataca
	{"MRO", 478, 2, listThree}, // Ouguiya (withdrawn 2018, replaced by MRU)
	{"MRU", 929, 2, listOne},   // Ouguiya
	{"MUR", 480, 2, listOne},   // Mauritius Rupee
	{"MVR", 462, 2, listOne},   // Rufiyaa
	{"MWK", 454, 2, listOne},   // Malawi Kwacha
	{"MXN", 484, 2, listOne},   // Mexican Peso
	{"MXV", 979, 2, listOne},   // Mexican Unidad de Inversion (UDI)
	{"MYR", 458, 2, listOne},   // Malaysian Ringgit
	{"MZN", 943, 2, listOne},   // Mozambique Metical
	{"NAD", 516, 2, listOne},   // Namibia Dollar
	{"NGN", 566, 2, listOne},   // Naira
	{"NIO", 558, 2, listOne},   // Cordoba Oro
	{"NOK", 578, 2, listOne},   // Norwegian Krone
	{"NPR", 524, 2, listOne},   // Nepalese Rupee
	{"NZD", 554, 2, listOne},   // New Zealand Dollar
	{"OMR", 512, 3, listOne},   // Rial Omani
	{"PAB", 590, 2, listOne},   // Balboa
	{"PEN", 604, 2, listOne},   // Sol
	{"PGK", 598, 2, listOne},   // Kina
	{"PHP", 608, 2, listOne},   // Philippine Peso
	{"PKR", 586, 2, listOne},   // Pakistan Rupee
	{"PLN", 985, 2, listOne},   // Zloty
	{"PYG", 600, 0, listOne},   // Guarani
	{"QAR", 634, 2, listOne},   // Qatari Rial
	{"RON", 946, 2, listOne},   // Romanian Leu
	{"RSD", 941, 2, listOne},   // Serbian Dinar
	{"RUB", 643, 2, listOne},   // Russian Ruble
	{"RWF", 646, 0, listOne},   // Rwanda Franc
	{"SAR", 682, 2, listOne},   // Saudi Riyal
	{"SBD", 90, 2, listOne},    // Solomon Islands Dollar
	{"SCR", 690, 2, listOne},   // Seychelles Rupee
	{"SDG", 938, 2, listOne},   // Sudanese Pound
	{"SEK", 752, 2, listOne},   // Swedish Krona
	{"SGD", 702, 2, listOne},   // Singapore Dollar
	{"SHP", 654, 2, listOne},   // Saint Helena Pound
	{"SLE", 925, 2, listOne},   // Leone
	{"SLL", 694, 2, listThree}, // Leone (old; replaced by SLE)
	{"SOS", 706, 2, listOne},   // Somali Shilling
	{"SPL", 0, 2, notISO},      // Seborga Luigino (not an ISO code)
	{"SRD", 968, 2, listOne},   // Surinam Dollar
	{"SSP", 728, 2, listOne},   // South Sudanese Pound
	{"STD", 678, 2, listThree}, // Dobra (withdrawn 2018, replaced by STN)
	{"STN", 930, 2, listOne},   // Dobra
	{"SVC", 222, 2, listOne},   // El Salvador Colon
	{"SYP", 760, 2, listOne},   // Syrian Pound
	{"SZL", 748, 2, listOne},   // Lilangeni
	{"THB", 764, 2, listOne},   // Baht
	{"TJS", 972, 2, listOne},   // Somoni
	{"TMT", 934, 2, listOne},   // Turkmenistan New Manat
	{"TND", 788, 3, listOne},   // Tunisian Dinar
	{"TOP", 776, 2, listOne},   // Pa'anga
	{"TRY", 949, 2, listOne},   // Turkish Lira
	{"TTD", 780, 2, listOne},   // Trinidad and Tobago Dollar
	{"TVD", 0, 2, notISO},      // Tuvaluan Dollar (local issue of AUD)
	{"TWD", 901, 2, listOne},   // New Taiwan Dollar
	{"TZS", 834, 2, listOne},   // Tanzanian Shilling
	{"UAH", 980, 2, listOne},   // Hryvnia
	{"UGX", 800, 0, listOne},   // Uganda Shilling
	{"USD", 840, 2, listOne},   // US Dollar
	{"USN", 997, 2, listOne},   // US Dollar (Next day)
	{"UYI", 940, 0, listOne},   // Uruguay Peso en Unidades Indexadas (UI)
	{"UYU", 858, 2, listOne},   // Peso Uruguayo
	{"UYW", 927, 4, listOne},   // Unidad Previsional
	{"UZS", 860, 2, listOne},   // Uzbekistan Sum
	{"VED", 926, 2, listOne},   // Bolivar Soberano (digital)
	{"VEF", 937, 2, listThree}, // Bolivar (withdrawn 2018, replaced by VES)
	{"VES", 928, 2, listOne},   // Bolivar Soberano
	{"VND", 704, 0, listOne},   // Dong
	{"VUV", 548, 0, listOne},   // Vatu
	{"WST", 882, 2, listOne},   // Tala
	{"XAD", 396, 2, listOne},   // Arab Accounting Dinar
	{"XAF", 950, 0, listOne},   // CFA Franc BEAC
	{"XCD", 951, 2, listOne},   // East Caribbean Dollar
	{"XCG", 532, 2, listOne},   // Caribbean Guilder
	{"XOF", 952, 0, listOne},   // CFA Franc BCEAO
	{"XPF", 953, 0, listOne},   // CFP Franc
	{"YER", 886, 2, listOne},   // Yemeni Rial
	{"ZAR", 710, 2, listOne},   // Rand
	{"ZMW", 967, 2, listOne},   // Zambian Kwacha
	{"ZWD", 716, 2, listThree}, // Zimbabwe Dollar (withdrawn; later ZWL, now ZWG)
	{"ZWG", 924, 2, listOne},   // Zimbabwe Gold
}

// noMinorUnit lists the ISO 4217 codes whose minor unit is "N.A.". They are
// deliberately absent from table: no amount can be expressed in them.
var noMinorUnit = map[string]string{
	"XAG": "silver (one troy ounce)",
	"XAU": "gold (one troy ounce)",
	"XBA": "bond markets unit European Composite Unit (EURCO)",
	"XBB": "bond markets unit European Monetary Unit (E.M.U.-6)",
	"XBC": "bond markets unit European Unit of Account 9 (E.U.A.-9)",
	"XBD": "bond markets unit European Unit of Account 17 (E.U.A.-17)",
	"XDR": "SDR (Special Drawing Right)",
	"XPD": "palladium (one troy ounce)",
	"XPT": "platinum (one troy ounce)",
	"XSU": "Sucre",
	"XTS": "code reserved for testing",
	"XUA": "ADB Unit of Account",
	"XXX": "no currency involved",
}
