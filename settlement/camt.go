package settlement

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
)

// CAMT053Namespace is the XML namespace of the statements WriteCAMT053
// writes.
const CAMT053Namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"

// The camt.053.001.08 elements written, in schema order. Only what a
// statement of a hub account needs is modelled.
type camtDocument struct {
	XMLName xml.Name      `xml:"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08 Document"`
	Stmt    camtBkToCstmr `xml:"BkToCstmrStmt"`
}

type camtBkToCstmr struct {
	GrpHdr camtGrpHdr `xml:"GrpHdr"`
	Stmt   camtStmt   `xml:"Stmt"`
}

type camtGrpHdr struct {
	MsgID   string `xml:"MsgId"`
	CreDtTm string `xml:"CreDtTm"`
}

type camtStmt struct {
	ID        string        `xml:"Id"`
	CreDtTm   string        `xml:"CreDtTm"`
	FrToDt    camtFrToDt    `xml:"FrToDt"`
	Acct      camtAcct      `xml:"Acct"`
	Bal       []camtBal     `xml:"Bal"`
	TxsSummry camtTxsSummry `xml:"TxsSummry"`
	Ntry      []camtNtry    `xml:"Ntry"`
}

type camtFrToDt struct {
	FrDtTm string `xml:"FrDtTm"`
	ToDtTm string `xml:"ToDtTm"`
}

type camtAcct struct {
	ID  camtAcctID    `xml:"Id"`
	Tp  camtPrtryCode `xml:"Tp"`
	Ccy string        `xml:"Ccy"`
	Nm  string        `xml:"Nm"`
}

type camtAcctID struct {
	Othr struct {
		ID string `xml:"Id"`
	} `xml:"Othr"`
}

type camtPrtryCode struct {
	Prtry string `xml:"Prtry"`
}

type camtAmt struct {
	Ccy   string `xml:"Ccy,attr"`
	Value string `xml:",chardata"`
}

type camtDtTm struct {
	DtTm string `xml:"DtTm"`
}

type camtBal struct {
	Tp struct {
		CdOrPrtry struct {
			Cd string `xml:"Cd"`
		} `xml:"CdOrPrtry"`
	} `xml:"Tp"`
	Amt       camtAmt  `xml:"Amt"`
	CdtDbtInd string   `xml:"CdtDbtInd"`
	Dt        camtDtTm `xml:"Dt"`
}

type camtTxsSummry struct {
	TtlNtries struct {
		NbOfNtries string `xml:"NbOfNtries"`
		Sum        string `xml:"Sum"`
		TtlNetNtry struct {
			Amt       string `xml:"Amt"`
			CdtDbtInd string `xml:"CdtDbtInd"`
		} `xml:"TtlNetNtry"`
	} `xml:"TtlNtries"`
	TtlCdtNtries camtNbSum `xml:"TtlCdtNtries"`
	TtlDbtNtries camtNbSum `xml:"TtlDbtNtries"`
}

type camtNbSum struct {
	NbOfNtries string `xml:"NbOfNtries"`
	Sum        string `xml:"Sum"`
}

type camtNtry struct {
	Amt       camtAmt `xml:"Amt"`
	CdtDbtInd string  `xml:"CdtDbtInd"`
	Sts       struct {
		Cd string `xml:"Cd"`
	} `xml:"Sts"`
	BookgDt camtDtTm `xml:"BookgDt"`
	ValDt   camtDtTm `xml:"ValDt"`
	BkTxCd  struct {
		Prtry struct {
			Cd   string `xml:"Cd"`
			Issr string `xml:"Issr"`
		} `xml:"Prtry"`
	} `xml:"BkTxCd"`
	NtryDtls struct {
		TxDtls camtTxDtls `xml:"TxDtls"`
	} `xml:"NtryDtls"`
}

type camtTxDtls struct {
	Refs struct {
		EndToEndID string `xml:"EndToEndId"`
		TxID       string `xml:"TxId,omitempty"`
	} `xml:"Refs"`
	RltdPties  *camtRltdPties `xml:"RltdPties,omitempty"`
	AddtlTxInf string         `xml:"AddtlTxInf,omitempty"`
}

type camtRltdPties struct {
	Dbtr *camtParty `xml:"Dbtr,omitempty"`
	Cdtr *camtParty `xml:"Cdtr,omitempty"`
}

type camtParty struct {
	Pty struct {
		Nm string `xml:"Nm"`
	} `xml:"Pty"`
}

// CAMTIssuer is the issuer of the proprietary entry codes (BkTxCd/Prtry)
// and of the account type (Acct/Tp/Prtry) in statements.
const CAMTIssuer = "HUTONG"

// WriteCAMT053 writes s as an ISO 20022 camt.053.001.08
// BankToCustomerStatement holding one statement (see the package comment
// for how accounts, signs and references map). msgID becomes GrpHdr/MsgId
// and Stmt/Id: 1 to 35 characters, or "" for one derived from the
// statement's account and range, the same each time. created is the
// message's creation time (GrpHdr/CreDtTm and Stmt/CreDtTm) and must be
// set. It returns an error wrapping ErrInvalidRequest for a bad msgID or
// created, and ErrUnbalanced if s does not add up.
func (s *Statement) WriteCAMT053(w io.Writer, msgID string, created time.Time) error {
	c, err := s.check()
	if err != nil {
		return err
	}
	if msgID == "" {
		msgID = s.messageID()
	}
	if n := utf8.RuneCountInString(msgID); n > 35 || !utf8.ValidString(msgID) || strings.TrimSpace(msgID) == "" {
		return invalidRequest("message id %q must be 1 to 35 characters", msgID)
	}
	if created.IsZero() {
		return invalidRequest("a statement message needs its creation time")
	}
	credit := s.inFavour()
	var doc camtDocument
	b := &doc.Stmt
	b.GrpHdr = camtGrpHdr{MsgID: msgID, CreDtTm: isoTime(created)}
	st := &b.Stmt
	st.ID, st.CreDtTm = msgID, isoTime(created)
	st.FrToDt = camtFrToDt{FrDtTm: isoTime(s.From), ToDtTm: isoTime(s.To)}
	st.Acct.ID.Othr.ID = s.Participant
	st.Acct.Tp.Prtry = s.Account.String()
	st.Acct.Ccy = s.Currency
	st.Acct.Nm = ledger.AccountKey{Participant: s.Participant, Currency: s.Currency, Type: s.Account}.String()
	st.Bal = []camtBal{s.balance("OPBD", s.Opening, s.From, c), s.balance("CLBD", s.Closing, s.To, c)}

	var nCdt, nDbt int
	var sumCdt, sumDbt int64 // in the participant's sense; cannot overflow: check passed
	for i := range s.Movements {
		m := &s.Movements[i]
		var e camtNtry
		amount := m.Debit + m.Credit // one of them is zero
		ind := "DBIT"
		if credit(m) {
			ind = "CRDT"
			nCdt++
			sumCdt += amount
		} else {
			nDbt++
			sumDbt += amount
		}
		e.Amt = camtAmt{Ccy: s.Currency, Value: decimal(amount, c)}
		e.CdtDbtInd = ind
		e.Sts.Cd = "BOOK"
		e.BookgDt.DtTm = isoTime(m.At)
		e.ValDt.DtTm = isoTime(m.At)
		e.BkTxCd.Prtry.Cd = m.Kind.String()
		e.BkTxCd.Prtry.Issr = CAMTIssuer
		tx := &e.NtryDtls.TxDtls
		if m.Kind == MovementSettlement {
			tx.Refs.EndToEndID = "NOTPROVIDED"
			tx.Refs.TxID = "SETTLEMENT-" + strconv.FormatUint(m.Settlement, 10)
		} else {
			tx.Refs.EndToEndID = hex.EncodeToString(m.Transfer[:])
			tx.AddtlTxInf = m.Transfer.String()
		}
		if m.Counterparty != "" {
			p := &camtParty{}
			p.Pty.Nm = m.Counterparty
			if ind == "CRDT" {
				tx.RltdPties = &camtRltdPties{Dbtr: p}
			} else {
				tx.RltdPties = &camtRltdPties{Cdtr: p}
			}
		}
		st.Ntry = append(st.Ntry, e)
	}
	sm := &st.TxsSummry
	sm.TtlNtries.NbOfNtries = strconv.Itoa(nCdt + nDbt)
	total, ok := money.Add(sumCdt, sumDbt)
	if !ok {
		return fmt.Errorf("%w: statement of %s", ErrOverflow, st.Acct.Nm)
	}
	sm.TtlNtries.Sum = decimal(total, c)
	net, netInd := sumCdt-sumDbt, "CRDT"
	if net < 0 {
		net, netInd = -net, "DBIT"
	}
	sm.TtlNtries.TtlNetNtry.Amt = decimal(net, c)
	sm.TtlNtries.TtlNetNtry.CdtDbtInd = netInd
	sm.TtlCdtNtries = camtNbSum{NbOfNtries: strconv.Itoa(nCdt), Sum: decimal(sumCdt, c)}
	sm.TtlDbtNtries = camtNbSum{NbOfNtries: strconv.Itoa(nDbt), Sum: decimal(sumDbt, c)}

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// inFavour returns whether a movement is in the participant's favour
// (CRDT): a credit to its position, a debit to its settlement account.
func (s *Statement) inFavour() func(*Movement) bool {
	if s.Account == ledger.AccountSettlement {
		return func(m *Movement) bool { return m.Debit > 0 }
	}
	return func(m *Movement) bool { return m.Credit > 0 }
}

// balance is a Bal element for a ledger balance: a positive position owes
// (DBIT), a positive settlement balance holds (CRDT).
func (s *Statement) balance(code string, bal int64, at time.Time, c money.Currency) camtBal {
	var b camtBal
	b.Tp.CdOrPrtry.Cd = code
	inFavour := bal <= 0
	if s.Account == ledger.AccountSettlement {
		inFavour = bal >= 0
	}
	b.CdtDbtInd = "DBIT"
	if inFavour || bal == 0 {
		b.CdtDbtInd = "CRDT"
	}
	b.Amt = camtAmt{Ccy: s.Currency, Value: decimal(bal, c)}
	b.Dt.DtTm = isoTime(at)
	return b
}

// messageID derives a message id from the statement's account and range.
func (s *Statement) messageID() string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%s/%d/%d", s.Participant, s.Currency, s.Account, s.From.UnixNano(), s.To.UnixNano())))
	return "STMT-" + hex.EncodeToString(h[:15])
}

// decimal writes the magnitude of minor with the currency's decimals.
func decimal(minor int64, c money.Currency) string {
	return strings.TrimPrefix(money.Format(minor, c), "-")
}

func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
