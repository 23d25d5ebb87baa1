package fspiop

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/directory"
	"github.com/hutong/hutong/money"
)

// pathParty reads and checks the party in a /parties or /participants
// path, and returns it with its path and callback variables.
func pathParty(c *call, resource string) (directory.Party, string, callback.Vars, *Error) {
	t, id, sub := c.typ, c.id, c.sub
	p, err := directory.Party{Type: t, ID: id, SubID: sub}.Normalize()
	if err != nil {
		return p, "", callback.Vars{}, badRequest("3101", "%s", partyMessage(err))
	}
	path := "/" + resource + "/" + seg(t) + "/" + seg(id)
	if sub != "" {
		path += "/" + seg(sub)
	}
	return p, path, callback.Vars{PartyIDType: t, PartyIdentifier: id, PartySubIDOrType: sub}, nil
}

func partiesKinds(sub bool) (get, put, putErr callback.Kind) {
	if sub {
		return callback.PartiesSubIDGet, callback.PartiesSubIDPut, callback.PartiesSubIDPutError
	}
	return callback.PartiesGet, callback.PartiesPut, callback.PartiesPutError
}

// getParties finds the FSP that holds a party and asks it for the party's
// details; its answer comes back as PUT /parties/... and is routed to the
// requester. An unknown party is answered 3204 by the hub.
func (s *Server) getParties(c *call) *Error {
	p, path, vars, e := pathParty(c, "parties")
	if e != nil {
		return e
	}
	cur, e := queryCurrency(c)
	if e != nil {
		return e
	}
	get, _, putErr := partiesKinds(p.SubID != "")
	to, e := s.route(c, "", p, cur)
	if e != nil {
		if e.Status != 0 {
			return e
		}
		if e.Code == "3201" {
			e.Code = "3204"
		}
		s.sendError(c.source, "parties", c.ver, putErr, path, vars, e)
		return nil
	}
	s.forward(c, to, get, path, vars)
	return nil
}

// putParties routes the party holder's answer to the requester named in
// FSPIOP-Destination.
func (s *Server) putParties(c *call) *Error {
	_, path, vars, e := pathParty(c, "parties")
	if e != nil {
		return e
	}
	var b struct {
		Party *json.RawMessage `json:"party"`
	}
	if e := decode(c.body, &b); e != nil {
		return e
	}
	if b.Party == nil {
		return missing("party")
	}
	_, put, _ := partiesKinds(vars.PartySubIDOrType != "")
	s.forward(c, c.dest, put, path, vars)
	return nil
}

func (s *Server) putPartiesError(c *call) *Error {
	_, path, vars, e := pathParty(c, "parties")
	if e != nil {
		return e
	}
	if _, e := parseErrorBody(c.body); e != nil {
		return e
	}
	_, _, putErr := partiesKinds(vars.PartySubIDOrType != "")
	s.forward(c, c.dest, putErr, path+"/error", vars)
	return nil
}

func participantKinds(sub bool) (put, putErr callback.Kind) {
	if sub {
		return callback.ParticipantSubIDPut, callback.ParticipantSubIDPutError
	}
	return callback.ParticipantPut, callback.ParticipantPutError
}

// participantPut is the body of POST /participants/{Type}/{ID} and of the
// hub's PUT /participants/{Type}/{ID} answer.
type participantPut struct {
	FspID    string `json:"fspId"`
	Currency string `json:"currency,omitempty"`
}

// postParticipant registers a party as held by the requesting FSP. An FSP
// registers only its own parties.
func (s *Server) postParticipant(c *call) *Error {
	p, path, vars, e := pathParty(c, "participants")
	if e != nil {
		return e
	}
	var b participantPut
	if e := decode(c.body, &b); e != nil {
		return e
	}
	if e := fspID("fspId", b.FspID); e != nil {
		return e
	}
	if b.FspID != c.source {
		return badRequest("3100", "fspId %q is not the FSPIOP-Source %q: an FSP registers only its own parties", truncate(b.FspID, 32), c.source)
	}
	if b.Currency != "" {
		if _, ok := money.Lookup(b.Currency); !ok {
			return badRequest("3100", "currency %q is not a supported ISO 4217 code", truncate(b.Currency, 8))
		}
	}
	entry, err := s.dir.Register(c.ctx, directory.Entry{Party: p, FSP: c.source, Currency: b.Currency})
	return s.answerParticipant(c, p, path, vars, entry, err)
}

// getParticipant answers which FSP holds a party.
func (s *Server) getParticipant(c *call) *Error {
	p, path, vars, e := pathParty(c, "participants")
	if e != nil {
		return e
	}
	cur, e := queryCurrency(c)
	if e != nil {
		return e
	}
	entry, err := s.dir.Lookup(c.ctx, p, cur)
	return s.answerParticipant(c, p, path, vars, entry, err)
}

// answerParticipant answers a participants request with the directory's
// entry, or with the error callback its error calls for.
func (s *Server) answerParticipant(c *call, p directory.Party, path string, vars callback.Vars, entry directory.Entry, err error) *Error {
	put, putErr := participantKinds(p.SubID != "")
	switch {
	case errors.Is(err, directory.ErrNotFound):
		s.sendError(c.source, "participants", c.ver, putErr, path, vars, &Error{Code: "3204", Detail: "no FSP holds the party"})
	case errors.Is(err, directory.ErrOwnedElsewhere):
		s.sendError(c.source, "participants", c.ver, putErr, path, vars, &Error{Code: "3003", Detail: "the party is registered to another FSP"})
	case err != nil:
		return internal(err)
	default:
		s.send(c.source, "participants", c.ver, http.MethodPut, put, path, vars, mustJSON(participantPut{FspID: entry.FSP, Currency: entry.Currency}))
	}
	return nil
}

// deleteParticipant removes a party's registration; only its FSP may.
func (s *Server) deleteParticipant(c *call) *Error {
	p, path, vars, e := pathParty(c, "participants")
	if e != nil {
		return e
	}
	cur, e := queryCurrency(c)
	if e != nil {
		return e
	}
	entry, err := s.dir.Remove(c.ctx, p, c.source, cur)
	return s.answerParticipant(c, p, path, vars, entry, err)
}

// batchPost is the body of POST /participants.
type batchPost struct {
	RequestID string        `json:"requestId"`
	PartyList []PartyIDInfo `json:"partyList"`
	Currency  string        `json:"currency"`
}

type partyResult struct {
	PartyID          PartyIDInfo       `json:"partyId"`
	ErrorInformation *errorInformation `json:"errorInformation,omitempty"`
}

type batchPut struct {
	PartyList []partyResult `json:"partyList"`
	Currency  string        `json:"currency,omitempty"`
}

// MaxBatch is the most parties one POST /participants may register.
const MaxBatch = 10000

// postParticipantsBatch registers many parties at once and answers each in
// PUT /participants/{requestId}.
func (s *Server) postParticipantsBatch(c *call) *Error {
	var b batchPost
	if e := decode(c.body, &b); e != nil {
		return e
	}
	if _, e := correlationID("requestId", b.RequestID); e != nil {
		return e
	}
	switch n := len(b.PartyList); {
	case n == 0:
		return missing("partyList")
	case n > MaxBatch:
		return badRequest("3103", "partyList has %d entries, at most %d are allowed", n, MaxBatch)
	}
	if b.Currency != "" {
		if _, ok := money.Lookup(b.Currency); !ok {
			return badRequest("3100", "currency %q is not a supported ISO 4217 code", truncate(b.Currency, 8))
		}
	}
	results := make([]partyResult, len(b.PartyList))
	var entries []directory.Entry
	var at []int
	for i, pi := range b.PartyList {
		pi.ExtensionList = nil
		results[i].PartyID = pi
		fail := func(e *Error) {
			results[i].ErrorInformation = &errorInformation{ErrorCode: e.Code, ErrorDescription: e.Description()}
		}
		p, e := party("partyList entry", &pi)
		if e != nil {
			fail(e)
			continue
		}
		if pi.FspID != "" && pi.FspID != c.source {
			fail(&Error{Code: "3100", Detail: "an FSP registers only its own parties"})
			continue
		}
		results[i].PartyID.FspID = c.source
		entries = append(entries, directory.Entry{Party: p, FSP: c.source, Currency: b.Currency})
		at = append(at, i)
	}
	if len(entries) > 0 {
		errs := s.dir.RegisterMany(c.ctx, entries)
		for j, err := range errs {
			if err == nil {
				continue
			}
			e := &Error{Code: "3003", Detail: "the party is registered to another FSP"}
			if !errors.Is(err, directory.ErrOwnedElsewhere) {
				var fe *directory.FieldError
				if !errors.As(err, &fe) {
					return internal(err)
				}
				e = &Error{Code: "3101", Detail: fe.Description()}
			}
			results[at[j]].ErrorInformation = &errorInformation{ErrorCode: e.Code, ErrorDescription: e.Description()}
		}
	}
	s.send(c.source, "participants", c.ver, http.MethodPut, callback.ParticipantBatchPut, "/participants/"+b.RequestID,
		callback.Vars{ID: b.RequestID}, mustJSON(batchPut{PartyList: results, Currency: b.Currency}))
	return nil
}

// queryCurrency reads the optional currency query parameter.
func queryCurrency(c *call) (string, *Error) {
	cur := string(c.rc.QueryArgs().Peek("currency"))
	if cur != "" {
		if _, ok := money.Lookup(cur); !ok {
			return "", badRequest("3100", "currency %q is not a supported ISO 4217 code", truncate(cur, 8))
		}
	}
	return cur, nil
}
