package admin

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/hutong/hutong/admin/adminapi"
	"github.com/hutong/hutong/ledger"
)

func (s *Server) createParticipant(rw http.ResponseWriter, r *http.Request) error {
	var req adminapi.CreateParticipantRequest
	if err := s.decode(rw, r, &req, bodyRequired); err != nil {
		return err
	}
	if err := required("id", req.ID, "name", req.Name); err != nil {
		return err
	}
	res, err := s.w.Submit(r.Context(), ledger.Command{Op: ledger.OpCreateParticipant, Participant: req.ID, Name: req.Name})
	if errors.Is(err, ledger.ErrParticipantExists) {
		return &apiError{status: http.StatusConflict, code: ledger.ErrParticipantExists.Code,
			msg: fmt.Sprintf("participant %q already exists with another name; ids cannot be reused", req.ID)}
	}
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	rw.Header().Set("Location", "/admin/v1/participants/"+url.PathEscape(res.Participant.ID))
	writeJSON(rw, status, toParticipant(&res.Participant))
	return nil
}

func (s *Server) listParticipants(rw http.ResponseWriter, r *http.Request) error {
	var ps []ledger.Participant
	if err := s.w.Query(r.Context(), func(l *ledger.Ledger) { ps = l.Participants() }); err != nil {
		return err
	}
	slices.SortFunc(ps, func(a, b ledger.Participant) int { return cmp.Compare(a.ID, b.ID) })
	out := adminapi.ParticipantList{Participants: make([]adminapi.Participant, 0, len(ps))}
	for i := range ps {
		out.Participants = append(out.Participants, toParticipant(&ps[i]))
	}
	writeJSON(rw, http.StatusOK, out)
	return nil
}

func (s *Server) getParticipant(rw http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var p ledger.Participant
	var ok bool
	if err := s.w.Query(r.Context(), func(l *ledger.Ledger) { p, ok = l.Participant(id) }); err != nil {
		return err
	}
	if !ok {
		return participantNotFound(id)
	}
	writeJSON(rw, http.StatusOK, toParticipant(&p))
	return nil
}

func (s *Server) suspendParticipant(rw http.ResponseWriter, r *http.Request) error {
	return s.setStatus(rw, r, ledger.StatusSuspended)
}

func (s *Server) activateParticipant(rw http.ResponseWriter, r *http.Request) error {
	return s.setStatus(rw, r, ledger.StatusActive)
}

func (s *Server) setStatus(rw http.ResponseWriter, r *http.Request, status ledger.Status) error {
	id := r.PathValue("id")
	if err := s.decode(rw, r, &struct{}{}, bodyOptional); err != nil {
		return err
	}
	res, err := s.w.Submit(r.Context(), ledger.Command{Op: ledger.OpSetStatus, Participant: id, Status: status})
	if err != nil {
		return refine(err, id, "")
	}
	writeJSON(rw, http.StatusOK, toParticipant(&res.Participant))
	return nil
}

func (s *Server) enableCurrency(rw http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var req adminapi.CurrencyRequest
	if err := s.decode(rw, r, &req, bodyRequired); err != nil {
		return err
	}
	if err := required("currency", req.Currency); err != nil {
		return err
	}
	if _, err := currency("currency", req.Currency); err != nil {
		return err
	}
	res, err := s.w.Submit(r.Context(), ledger.Command{Op: ledger.OpEnableCurrency, Participant: id, Currency: req.Currency})
	if err != nil {
		return refine(err, id, req.Currency)
	}
	writeJSON(rw, http.StatusOK, toParticipant(&res.Participant))
	return nil
}

func (s *Server) setNDC(rw http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	cur, err := currency("currency", r.PathValue("currency"))
	if err != nil {
		return err
	}
	var req adminapi.NDCRequest
	if err := s.decode(rw, r, &req, bodyRequired); err != nil {
		return err
	}
	if err := required("amount", req.Amount); err != nil {
		return err
	}
	ndc, err := amount(req.Amount, cur)
	if err != nil {
		return err
	}
	p, err := s.ops.SetNDC(r.Context(), id, cur.Code, ndc)
	if err != nil {
		return err
	}
	writeJSON(rw, http.StatusOK, toParticipant(&p))
	return nil
}

func participantNotFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: ledger.ErrParticipantNotFound.Code,
		msg: fmt.Sprintf("no participant has id %q", truncate(id, 64))}
}

// refine puts the participant and currency a request named into the
// message of the ledger refusals that are about them.
func refine(err error, participant, currency string) error {
	switch {
	case errors.Is(err, ledger.ErrParticipantNotFound):
		return participantNotFound(participant)
	case errors.Is(err, ledger.ErrCurrencyNotEnabled):
		return &apiError{status: http.StatusUnprocessableEntity, code: ledger.ErrCurrencyNotEnabled.Code,
			msg: fmt.Sprintf("currency %s is not enabled for participant %q; enable it with POST /admin/v1/participants/%s/currencies",
				currency, participant, participant)}
	}
	return err
}
