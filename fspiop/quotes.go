package fspiop

import (
	"errors"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/directory"
	"github.com/hutong/hutong/exchange"
	"github.com/hutong/hutong/ledger"
)

// partyField is the part of the FSPIOP Party type the hub reads.
type partyField struct {
	PartyIDInfo *PartyIDInfo `json:"partyIdInfo"`
}

// quotePost is what the hub reads of POST /quotes.
type quotePost struct {
	QuoteID         string      `json:"quoteId"`
	TransactionID   string      `json:"transactionId"`
	Payee           *partyField `json:"payee"`
	Payer           *partyField `json:"payer"`
	AmountType      string      `json:"amountType"`
	Amount          *Money      `json:"amount"`
	Expiration      string      `json:"expiration"`
	TransactionType *struct {
		Scenario      string `json:"scenario"`
		Initiator     string `json:"initiator"`
		InitiatorType string `json:"initiatorType"`
	} `json:"transactionType"`
}

// quotePut is what the hub checks of PUT /quotes/{ID}.
type quotePut struct {
	TransferAmount *Money `json:"transferAmount"`
	Expiration     string `json:"expiration"`
	IlpPacket      string `json:"ilpPacket"`
	Condition      string `json:"condition"`
}

func quotePath(id string) string { return "/quotes/" + id }

// party checks a PartyIdInfo and returns it as a directory party.
func party(field string, p *PartyIDInfo) (directory.Party, *Error) {
	if p == nil {
		return directory.Party{}, missing(field)
	}
	if p.PartyIDType == "" {
		return directory.Party{}, missing(field + ".partyIdType")
	}
	if p.PartyIdentifier == "" {
		return directory.Party{}, missing(field + ".partyIdentifier")
	}
	d, err := directory.Party{Type: p.PartyIDType, ID: p.PartyIdentifier, SubID: p.PartySubIDOrType}.Normalize()
	if err != nil {
		return d, badRequest("3101", "%s: %s", field, partyMessage(err))
	}
	return d, nil
}

// route finds the FSP a request goes to: FSPIOP-Destination, else the
// fspId the body names, else the directory's owner of the party.
func (s *Server) route(c *call, fsp string, p directory.Party, currency string) (string, *Error) {
	switch {
	case c.dest != "":
		if fsp != "" && fsp != c.dest {
			return "", badRequest("3100", "fspId %q is not the FSPIOP-Destination %q", fsp, c.dest)
		}
		return c.dest, nil
	case fsp != "":
		if pp, ok := s.w.Participant(fsp); !ok || pp.Status != ledger.StatusActive {
			return "", badRequest("3201", "FSP %q is not an active participant of this hub", truncate(fsp, 32))
		}
		return fsp, nil
	}
	e, err := s.dir.Lookup(c.ctx, p, currency)
	if errors.Is(err, directory.ErrNotFound) {
		return "", &Error{Code: "3204", Detail: "no FSP holds " + p.Type + " " + truncate(p.ID, 40)}
	}
	if err != nil {
		return "", internal(err)
	}
	if pp, ok := s.w.Participant(e.FSP); !ok || pp.Status != ledger.StatusActive {
		return "", &Error{Code: "3201", Detail: "the FSP holding the party is not active"}
	}
	return e.FSP, nil
}

// postQuote checks a quote request, records it and sends it to the payee
// FSP.
func (s *Server) postQuote(c *call) *Error {
	var b quotePost
	if e := decode(c.body, &b); e != nil {
		return e
	}
	if _, e := correlationID("quoteId", b.QuoteID); e != nil {
		return e
	}
	if _, e := correlationID("transactionId", b.TransactionID); e != nil {
		return e
	}
	if b.Payee == nil {
		return missing("payee")
	}
	payee, e := party("payee.partyIdInfo", b.Payee.PartyIDInfo)
	if e != nil {
		return e
	}
	if b.Payer == nil {
		return missing("payer")
	}
	if _, e := party("payer.partyIdInfo", b.Payer.PartyIDInfo); e != nil {
		return e
	}
	if f := b.Payer.PartyIDInfo.FspID; f != "" && f != c.source {
		return badRequest("3100", "payer.partyIdInfo.fspId %q is not the FSPIOP-Source %q", truncate(f, 32), c.source)
	}
	switch b.AmountType {
	case "SEND", "RECEIVE":
	case "":
		return missing("amountType")
	default:
		return badRequest("3100", "amountType must be SEND or RECEIVE")
	}
	if _, e := b.Amount.minor("amount"); e != nil {
		return e
	}
	if b.TransactionType == nil {
		return missing("transactionType")
	}
	if b.TransactionType.Scenario == "" || b.TransactionType.Initiator == "" || b.TransactionType.InitiatorType == "" {
		return missing("transactionType.scenario, initiator or initiatorType")
	}
	vars := callback.Vars{ID: b.QuoteID}
	path := quotePath(b.QuoteID)
	if b.Expiration != "" {
		exp, e := dateTime("expiration", b.Expiration)
		if e != nil {
			return e
		}
		if !exp.After(s.clk.Now()) {
			s.sendError(c.source, "quotes", c.ver, callback.Quotes, path, vars, &Error{Code: "3302", Detail: "the quote request's expiration has passed"})
			return nil
		}
	}
	to, e := s.route(c, b.Payee.PartyIDInfo.FspID, payee, b.Amount.Currency)
	if e != nil {
		if e.Status != 0 {
			return e
		}
		s.sendError(c.source, "quotes", c.ver, callback.Quotes, path, vars, e)
		return nil
	}
	if e := s.currencies(c.source, to, b.Amount.Currency); e != nil {
		s.sendError(c.source, "quotes", c.ver, callback.Quotes, path, vars, e)
		return nil
	}
	return s.relay(c, exchange.Quotes, "quotes", callback.Quotes, b.QuoteID, to)
}

// currencies checks that both FSPs of a transaction can use currency.
func (s *Server) currencies(payer, payee, currency string) *Error {
	if payer == payee {
		return &Error{Code: "3100", Detail: "payer and payee FSP are the same"}
	}
	if p, _ := s.w.Participant(payer); !hasCurrency(p, currency) {
		return &Error{Code: "3202", Detail: "currency " + currency + " is not enabled for the payer FSP"}
	}
	if p, _ := s.w.Participant(payee); !hasCurrency(p, currency) {
		return &Error{Code: "3203", Detail: "currency " + currency + " is not enabled for the payee FSP"}
	}
	return nil
}

func hasCurrency(p ledger.Participant, currency string) bool {
	_, ok := p.Limit(currency)
	return ok
}

// putQuote takes the payee FSP's quote and sends it to the payer FSP.
func (s *Server) putQuote(c *call) *Error {
	id := c.id
	if _, e := correlationID("quote id in the path", id); e != nil {
		return e
	}
	var b quotePut
	if e := decode(c.body, &b); e != nil {
		return e
	}
	if _, e := b.TransferAmount.minor("transferAmount"); e != nil {
		return e
	}
	if _, e := dateTime("expiration", b.Expiration); e != nil {
		return e
	}
	if e := ilpPacket("ilpPacket", b.IlpPacket); e != nil {
		return e
	}
	if _, e := digest32("condition", b.Condition); e != nil {
		return e
	}
	to, e := s.answerExchange(c, exchange.Quotes, id, false)
	if e != nil {
		return e
	}
	s.forward(c, to, callback.Quotes, quotePath(id), callback.Vars{ID: id})
	return nil
}

// putQuoteError takes the payee FSP's refusal and sends it to the payer.
func (s *Server) putQuoteError(c *call) *Error {
	id := c.id
	if _, e := correlationID("quote id in the path", id); e != nil {
		return e
	}
	if _, e := parseErrorBody(c.body); e != nil {
		return e
	}
	to, e := s.answerExchange(c, exchange.Quotes, id, true)
	if e != nil {
		return e
	}
	if to == "" {
		return nil
	}
	s.forward(c, to, callback.Quotes, quotePath(id)+"/error", callback.Vars{ID: id})
	return nil
}

// getQuote answers from the record when the quote has its answer, and
// otherwise asks the payee FSP.
func (s *Server) getQuote(c *call) *Error {
	id := c.id
	if _, e := correlationID("quote id in the path", id); e != nil {
		return e
	}
	return s.getExchange(c, exchange.Quotes, id, "quotes", callback.Quotes, quotePath(id), "3205")
}

// partyMessage is the client's message for a party that does not
// normalize: the directory's description of what is wrong with it.
func partyMessage(err error) string {
	var fe *directory.FieldError
	if errors.As(err, &fe) {
		return fe.Description()
	}
	return err.Error()
}
