package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hutong/hutong/admin/adminapi"
	"github.com/hutong/hutong/liquidity"
)

func toAlert(a *liquidity.Alert) adminapi.Alert {
	c := a.Currency
	out := adminapi.Alert{ID: a.ID, Kind: string(a.Kind), Participant: a.Participant, Currency: c,
		Threshold: a.Threshold, Level: a.Level,
		Used: format(a.Used, c), Position: format(a.Position, c), Reserved: format(a.Reserved, c), NDC: format(a.NDC, c),
		Time: timestamp(a.Time)}
	if pct, ok := a.Utilisation(); ok {
		out.Utilisation = &pct
	}
	return out
}

// alertsConfigured answers 503 when the server has no liquidity monitor.
func (s *Server) alertsConfigured() error {
	if s.alerts == nil {
		return &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable, msg: "liquidity alerts are not configured on this hub"}
	}
	return nil
}

// alertLimit reads the limit parameter: how many alerts to answer with.
func alertLimit(q url.Values) (int, error) {
	if !q.Has("limit") {
		return defaultLimit, nil
	}
	v := q.Get("limit")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, badRequest(codeInvalidQuery, fmt.Sprintf("limit %s must be a whole number from 1 to %d", strconv.Quote(truncate(v, 32)), maxLimit))
	}
	return n, nil
}

func (s *Server) listAlerts(rw http.ResponseWriter, r *http.Request) error {
	if err := s.alertsConfigured(); err != nil {
		return err
	}
	q, err := query(r, "participant", "limit")
	if err != nil {
		return err
	}
	limit, err := alertLimit(q)
	if err != nil {
		return err
	}
	id := q.Get("participant")
	if q.Has("participant") {
		if id == "" {
			return badRequest(codeInvalidQuery, "query parameter \"participant\" is empty; omit it for every participant's alerts")
		}
		if err := s.participantExists(r.Context(), id); err != nil {
			return err
		}
	}
	return s.writeAlerts(rw, r, id, limit)
}

func (s *Server) participantAlerts(rw http.ResponseWriter, r *http.Request) error {
	if err := s.alertsConfigured(); err != nil {
		return err
	}
	id := r.PathValue("id")
	q, err := query(r, "limit")
	if err != nil {
		return err
	}
	limit, err := alertLimit(q)
	if err != nil {
		return err
	}
	if err := s.participantExists(r.Context(), id); err != nil {
		return err
	}
	return s.writeAlerts(rw, r, id, limit)
}

// writeAlerts answers with participant's newest alerts, everyone's when
// participant is "".
func (s *Server) writeAlerts(rw http.ResponseWriter, r *http.Request, participant string, limit int) error {
	as, err := s.alerts.List(r.Context(), participant, limit)
	if err != nil {
		if errors.Is(err, liquidity.ErrInvalidParticipant) {
			return participantNotFound(participant)
		}
		return err
	}
	out := adminapi.AlertList{Alerts: make([]adminapi.Alert, 0, len(as))}
	for i := range as {
		out.Alerts = append(out.Alerts, toAlert(&as[i]))
	}
	writeJSON(rw, http.StatusOK, out)
	return nil
}
