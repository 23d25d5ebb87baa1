package settlement_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
	"github.com/hutong/hutong/settlement"
)

// The parts of camt.053 the tests read back, declared independently of the
// writer's types.
type camtDoc struct {
	XMLName xml.Name
	GrpHdr  struct {
		MsgID   string `xml:"MsgId"`
		CreDtTm string `xml:"CreDtTm"`
	} `xml:"BkToCstmrStmt>GrpHdr"`
	Stmts []camtStatement `xml:"BkToCstmrStmt>Stmt"`
}

type camtStatement struct {
	ID      string `xml:"Id"`
	CreDtTm string `xml:"CreDtTm"`
	FrDtTm  string `xml:"FrToDt>FrDtTm"`
	ToDtTm  string `xml:"FrToDt>ToDtTm"`
	AcctID  string `xml:"Acct>Id>Othr>Id"`
	AcctTp  string `xml:"Acct>Tp>Prtry"`
	Ccy     string `xml:"Acct>Ccy"`
	AcctNm  string `xml:"Acct>Nm"`
	Bal     []struct {
		Cd   string  `xml:"Tp>CdOrPrtry>Cd"`
		Amt  camtAmt `xml:"Amt"`
		Ind  string  `xml:"CdtDbtInd"`
		DtTm string  `xml:"Dt>DtTm"`
	} `xml:"Bal"`
	Summary struct {
		N      string `xml:"TtlNtries>NbOfNtries"`
		Sum    string `xml:"TtlNtries>Sum"`
		NetAmt string `xml:"TtlNtries>TtlNetNtry>Amt"`
		NetInd string `xml:"TtlNtries>TtlNetNtry>CdtDbtInd"`
		NCdt   string `xml:"TtlCdtNtries>NbOfNtries"`
		SumCdt string `xml:"TtlCdtNtries>Sum"`
		NDbt   string `xml:"TtlDbtNtries>NbOfNtries"`
		SumDbt string `xml:"TtlDbtNtries>Sum"`
	} `xml:"TxsSummry"`
	Ntry []struct {
		Amt      camtAmt `xml:"Amt"`
		Ind      string  `xml:"CdtDbtInd"`
		Sts      string  `xml:"Sts>Cd"`
		BookgDt  string  `xml:"BookgDt>DtTm"`
		ValDt    string  `xml:"ValDt>DtTm"`
		Code     string  `xml:"BkTxCd>Prtry>Cd"`
		Issr     string  `xml:"BkTxCd>Prtry>Issr"`
		EndToEnd string  `xml:"NtryDtls>TxDtls>Refs>EndToEndId"`
		TxID     string  `xml:"NtryDtls>TxDtls>Refs>TxId"`
		Dbtr     string  `xml:"NtryDtls>TxDtls>RltdPties>Dbtr>Pty>Nm"`
		Cdtr     string  `xml:"NtryDtls>TxDtls>RltdPties>Cdtr>Pty>Nm"`
		AddtlInf string  `xml:"NtryDtls>TxDtls>AddtlTxInf"`
	} `xml:"Ntry"`
}

type camtAmt struct {
	Ccy   string `xml:"Ccy,attr"`
	Value string `xml:",chardata"`
}

// minor parses an ISO decimal amount with exactly the currency's decimals.
func minor(t *testing.T, s string, c money.Currency) int64 {
	t.Helper()
	whole, frac, dot := strings.Cut(s, ".")
	if (c.Exponent == 0) == dot || len(frac) != c.Exponent || strings.HasPrefix(s, "-") {
		t.Fatalf("amount %q is not a non-negative decimal with %d decimals", s, c.Exponent)
	}
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return v
}

// signed is a camt amount in the participant's sense: CRDT in its favour.
func signed(t *testing.T, amt camtAmt, ind string, c money.Currency) int64 {
	t.Helper()
	if amt.Ccy != c.Code {
		t.Errorf("amount in %q, want %s", amt.Ccy, c.Code)
	}
	v := minor(t, amt.Value, c)
	switch ind {
	case "CRDT":
		return v
	case "DBIT":
		return -v
	}
	t.Fatalf("CdtDbtInd %q", ind)
	return 0
}

// checkCAMT parses the camt.053 of st back and checks it against st.
func checkCAMT(t *testing.T, st *settlement.Statement, out []byte, msgID string, created time.Time) {
	t.Helper()
	c, _ := money.Lookup(st.Currency)
	if !bytes.HasPrefix(out, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Errorf("no XML declaration: %.60s", out)
	}
	var doc camtDoc
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("parse: %v\n%s", err, out)
	}
	if doc.XMLName.Space != settlement.CAMT053Namespace || doc.XMLName.Local != "Document" {
		t.Errorf("root %v", doc.XMLName)
	}
	if len(doc.Stmts) != 1 {
		t.Fatalf("%d statements", len(doc.Stmts))
	}
	s := doc.Stmts[0]
	ts := func(at time.Time) string { return at.UTC().Format(time.RFC3339Nano) }
	if doc.GrpHdr.MsgID != msgID || s.ID != msgID || doc.GrpHdr.CreDtTm != ts(created) || s.CreDtTm != ts(created) {
		t.Errorf("ids and creation %q %q %q %q, want %q and %s", doc.GrpHdr.MsgID, s.ID, doc.GrpHdr.CreDtTm, s.CreDtTm, msgID, ts(created))
	}
	if s.FrDtTm != ts(st.From) || s.ToDtTm != ts(st.To) {
		t.Errorf("FrToDt %s %s", s.FrDtTm, s.ToDtTm)
	}
	name := st.Participant + "/" + st.Currency + "/" + st.Account.String()
	if s.AcctID != st.Participant || s.AcctTp != st.Account.String() || s.Ccy != st.Currency || s.AcctNm != name {
		t.Errorf("account %q %q %q %q", s.AcctID, s.AcctTp, s.Ccy, s.AcctNm)
	}
	// The participant's sense is the ledger's on SETTLEMENT and its
	// opposite on POSITION.
	sense := int64(1)
	if st.Account == ledger.AccountPosition {
		sense = -1
	}
	if len(s.Bal) != 2 || s.Bal[0].Cd != "OPBD" || s.Bal[1].Cd != "CLBD" {
		t.Fatalf("balances %+v", s.Bal)
	}
	opening := signed(t, s.Bal[0].Amt, s.Bal[0].Ind, c)
	closing := signed(t, s.Bal[1].Amt, s.Bal[1].Ind, c)
	if opening != sense*st.Opening || closing != sense*st.Closing {
		t.Errorf("OPBD %d CLBD %d, want %d and %d", opening, closing, sense*st.Opening, sense*st.Closing)
	}
	if s.Bal[0].DtTm != ts(st.From) || s.Bal[1].DtTm != ts(st.To) {
		t.Errorf("balance dates %s %s", s.Bal[0].DtTm, s.Bal[1].DtTm)
	}
	if len(s.Ntry) != len(st.Movements) {
		t.Fatalf("%d entries, %d movements", len(s.Ntry), len(st.Movements))
	}
	bal := opening
	var nCdt, nDbt int
	var sumCdt, sumDbt int64
	for i, e := range s.Ntry {
		m := st.Movements[i]
		v := signed(t, e.Amt, e.Ind, c)
		if v != sense*(m.Debit-m.Credit) {
			t.Errorf("entry %d: %s %s, movement debit %d credit %d", i, e.Ind, e.Amt.Value, m.Debit, m.Credit)
		}
		bal += v
		if v >= 0 {
			nCdt++
			sumCdt += v
			if e.Dbtr != m.Counterparty || e.Cdtr != "" {
				t.Errorf("entry %d: debtor %q creditor %q, counterparty %q", i, e.Dbtr, e.Cdtr, m.Counterparty)
			}
		} else {
			nDbt++
			sumDbt -= v
			if e.Cdtr != m.Counterparty || e.Dbtr != "" {
				t.Errorf("entry %d: debtor %q creditor %q, counterparty %q", i, e.Dbtr, e.Cdtr, m.Counterparty)
			}
		}
		if e.Sts != "BOOK" || e.BookgDt != ts(m.At) || e.ValDt != ts(m.At) || e.Code != m.Kind.String() || e.Issr != settlement.CAMTIssuer {
			t.Errorf("entry %d: %+v for %+v", i, e, m)
		}
		if m.Kind == settlement.MovementSettlement {
			if e.EndToEnd != "NOTPROVIDED" || e.TxID != "SETTLEMENT-"+strconv.FormatUint(m.Settlement, 10) {
				t.Errorf("entry %d: refs %q %q for settlement %d", i, e.EndToEnd, e.TxID, m.Settlement)
			}
		} else if e.EndToEnd != hex.EncodeToString(m.Transfer[:]) || len(e.EndToEnd) > 35 || e.AddtlInf != m.Transfer.String() {
			t.Errorf("entry %d: refs %q %q for transfer %s", i, e.EndToEnd, e.AddtlInf, m.Transfer)
		}
	}
	if bal != closing {
		t.Errorf("OPBD %d + entries = %d, CLBD %d", opening, bal, closing)
	}
	sm := s.Summary
	if sm.N != strconv.Itoa(nCdt+nDbt) || sm.NCdt != strconv.Itoa(nCdt) || sm.NDbt != strconv.Itoa(nDbt) {
		t.Errorf("summary counts %s %s %s, want %d %d", sm.N, sm.NCdt, sm.NDbt, nCdt, nDbt)
	}
	if minor(t, sm.SumCdt, c) != sumCdt || minor(t, sm.SumDbt, c) != sumDbt || minor(t, sm.Sum, c) != sumCdt+sumDbt {
		t.Errorf("summary sums %s %s %s, want %d %d", sm.Sum, sm.SumCdt, sm.SumDbt, sumCdt, sumDbt)
	}
	if net := signed(t, camtAmt{c.Code, sm.NetAmt}, sm.NetInd, c); net != closing-opening {
		t.Errorf("net entry %d, closing - opening %d", net, closing-opening)
	}
}

func TestCAMT053(t *testing.T) {
	s := newScene(t)
	created := s.end().Add(time.Minute)
	for _, acct := range s.l.Accounts() {
		k := acct.AccountKey
		if k.Participant == ledger.HubID {
			continue
		}
		for _, r := range [][2]time.Time{{t0, s.end()}, {s.mid, s.end()}} {
			st, err := settlement.BuildStatement(context.Background(), s.source(), settlement.StatementRequest{
				Participant: k.Participant, Currency: k.Currency, Account: k.Type, From: r[0], To: r[1],
			})
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := st.WriteCAMT053(&b, "MSG-"+k.Participant, created); err != nil {
				t.Fatal(err)
			}
			checkCAMT(t, &st, b.Bytes(), "MSG-"+k.Participant, created)
		}
	}
}

func TestCAMT053Signs(t *testing.T) {
	id := ledger.ID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	tests := []struct {
		name        string
		typ         ledger.AccountType
		cur         string
		opening     int64
		debit       int64
		wantOpen    string // amount and indicator of OPBD
		wantEntry   string // of the one entry, a debit in the ledger
		wantClosing string
	}{
		{"position owes", ledger.AccountPosition, "USD", 1000, 250, "10.00 DBIT", "2.50 DBIT", "12.50 DBIT"},
		{"position owed", ledger.AccountPosition, "USD", -1000, 250, "10.00 CRDT", "2.50 DBIT", "7.50 CRDT"},
		{"position to zero", ledger.AccountPosition, "JPY", -250, 250, "250 CRDT", "250 DBIT", "0 CRDT"},
		{"settlement holds", ledger.AccountSettlement, "KWD", 1000, 250, "1.000 CRDT", "0.250 CRDT", "1.250 CRDT"},
		{"settlement overdrawn", ledger.AccountSettlement, "KWD", -1000, 250, "1.000 DBIT", "0.250 CRDT", "0.750 DBIT"},
		{"settlement from zero", ledger.AccountSettlement, "USD", 0, 1, "0.00 CRDT", "0.01 CRDT", "0.01 CRDT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := settlement.Statement{
				Participant: "fsp", Currency: tt.cur, Account: tt.typ, From: t0, To: t0.Add(time.Hour),
				Opening: tt.opening, Closing: tt.opening + tt.debit, Debits: tt.debit,
				Movements: []settlement.Movement{{At: t0, Kind: settlement.MovementFundsIn, Transfer: id, Counterparty: "hub", Debit: tt.debit, Balance: tt.opening + tt.debit}},
			}
			var b bytes.Buffer
			if err := st.WriteCAMT053(&b, "M1", t0); err != nil {
				t.Fatal(err)
			}
			var doc camtDoc
			if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			s := doc.Stmts[0]
			got := []string{s.Bal[0].Amt.Value + " " + s.Bal[0].Ind, s.Ntry[0].Amt.Value + " " + s.Ntry[0].Ind, s.Bal[1].Amt.Value + " " + s.Bal[1].Ind}
			want := []string{tt.wantOpen, tt.wantEntry, tt.wantClosing}
			if strings.Join(got, ", ") != strings.Join(want, ", ") {
				t.Errorf("got %q, want %q", got, want)
			}
			checkCAMT(t, &st, b.Bytes(), "M1", t0)
		})
	}
}

func TestCAMT053MessageID(t *testing.T) {
	st := settlement.Statement{Participant: "abcdefghijabcdefghijabcdefghijab", Currency: "USD", Account: ledger.AccountSettlement, From: t0, To: t0.Add(time.Hour)}
	var b1, b2 bytes.Buffer
	if err := st.WriteCAMT053(&b1, "", t0); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteCAMT053(&b2, "", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var d1, d2 camtDoc
	if err := xml.Unmarshal(b1.Bytes(), &d1); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b2.Bytes(), &d2); err != nil {
		t.Fatal(err)
	}
	id := d1.GrpHdr.MsgID
	if id == "" || len(id) > 35 || id != d2.GrpHdr.MsgID {
		t.Errorf("derived ids %q and %q: want equal, 1 to 35 characters", id, d2.GrpHdr.MsgID)
	}
	other := st
	other.Account = ledger.AccountPosition
	var b3 bytes.Buffer
	if err := other.WriteCAMT053(&b3, "", t0); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b3.Bytes(), []byte(id)) {
		t.Errorf("the POSITION statement has the SETTLEMENT statement's id %s", id)
	}

	for _, tt := range []struct {
		name    string
		msgID   string
		created time.Time
	}{
		{"too long", strings.Repeat("x", 36), t0},
		{"blank", "   ", t0},
		{"not UTF-8", "\xff", t0},
		{"no creation time", "M1", time.Time{}},
	} {
		var b bytes.Buffer
		if err := st.WriteCAMT053(&b, tt.msgID, tt.created); !errors.Is(err, settlement.ErrInvalidRequest) || b.Len() != 0 {
			t.Errorf("%s: %v, wrote %d bytes; want ErrInvalidRequest and nothing written", tt.name, err, b.Len())
		}
	}
	var b bytes.Buffer
	if err := st.WriteCAMT053(&b, strings.Repeat("é", 35), t0); err != nil {
		t.Errorf("35 two-byte characters: %v", err)
	}
}
