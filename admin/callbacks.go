package admin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/hutong/hutong/admin/adminapi"
	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/ledger"
)

// Codes of the callback routes.
const (
	codeInvalidEndpoint        = "INVALID_ENDPOINT"
	codeUnknownEndpointType    = "UNKNOWN_ENDPOINT_TYPE"
	codeNoEndpoint             = "NO_ENDPOINT"
	codeFailedCallbackNotFound = "FAILED_CALLBACK_NOT_FOUND"

	msgEndpointTypes = "the EndpointType schema in /admin/v1/openapi.yaml lists the types"
)

func toEndpoints(eps []callback.Endpoint) adminapi.EndpointList {
	out := adminapi.EndpointList{Endpoints: make([]adminapi.Endpoint, 0, len(eps))}
	for _, ep := range eps {
		out.Endpoints = append(out.Endpoints, adminapi.Endpoint{Type: string(ep.Kind), Value: ep.Value})
	}
	return out
}

func toFailedCallback(f *callback.Failure) adminapi.FailedCallback {
	out := adminapi.FailedCallback{ID: f.ID, To: f.To, Type: string(f.Kind), Method: f.Method, URL: f.URL, Path: f.Path,
		Attempts: f.Attempts, LastStatus: f.LastStatus, LastError: f.LastError,
		First: timestamp(f.First), Last: timestamp(f.Last), Headers: f.Header}
	if out.Headers == nil {
		out.Headers = map[string][]string{}
	}
	switch {
	case f.Body == nil:
	case utf8.Valid(f.Body):
		body := string(f.Body)
		out.Body = &body
	default:
		out.BodyBase64 = base64.StdEncoding.EncodeToString(f.Body)
	}
	return out
}

// endpointsConfigured answers 503 when the server has no endpoints.
func (s *Server) endpointsConfigured() error {
	if s.endpoints == nil {
		return &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable, msg: "callback endpoints are not configured on this hub"}
	}
	return nil
}

func (s *Server) callbacksConfigured() error {
	if s.callbacks == nil {
		return &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable, msg: "callback delivery is not configured on this hub"}
	}
	return nil
}

// participantExists answers 404 for a participant the ledger does not have.
func (s *Server) participantExists(ctx context.Context, id string) error {
	var found bool
	if err := s.w.Query(ctx, func(l *ledger.Ledger) { _, found = l.Participant(id) }); err != nil {
		return err
	}
	if !found {
		return participantNotFound(id)
	}
	return nil
}

// callbackError turns the callback package's refusals into what the client
// is told.
func callbackError(err error) error {
	msg := func() string {
		var m interface{ Message() string }
		if errors.As(err, &m) {
			return m.Message()
		}
		return err.Error()
	}
	switch {
	case errors.Is(err, callback.ErrUnknownKind):
		return badRequest(codeUnknownEndpointType, msg()+"; "+msgEndpointTypes)
	case errors.Is(err, callback.ErrInvalidEndpoint):
		return badRequest(codeInvalidEndpoint, msg())
	case errors.Is(err, callback.ErrInvalidCursor):
		return badRequest(codeInvalidCursor, "cursor is not one this API issued; pass the \"next\" value of the previous page, or none for the first page")
	case errors.Is(err, callback.ErrFailureNotFound):
		return &apiError{status: http.StatusNotFound, code: codeFailedCallbackNotFound,
			msg: "the participant has no failed callback with this id; it may have been redelivered already, or dropped as older than the retention or beyond the most kept"}
	case errors.Is(err, callback.ErrNoEndpoint), errors.Is(err, callback.ErrMissingValue):
		return &apiError{status: http.StatusConflict, code: codeNoEndpoint,
			msg: msg() + "; set the endpoint with PUT /admin/v1/participants/{id}/endpoints first"}
	case errors.Is(err, callback.ErrQueueFull):
		return &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
			msg: "the participant's callback queue is full; retry later", err: err}
	case errors.Is(err, callback.ErrClosed):
		return &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
			msg: "callback delivery is shutting down; retry later", err: err}
	}
	return err
}

func (s *Server) listEndpoints(rw http.ResponseWriter, r *http.Request) error {
	if err := s.endpointsConfigured(); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.participantExists(r.Context(), id); err != nil {
		return err
	}
	writeJSON(rw, http.StatusOK, toEndpoints(s.endpoints.List(id)))
	return nil
}

func (s *Server) setEndpoints(rw http.ResponseWriter, r *http.Request) error {
	if err := s.endpointsConfigured(); err != nil {
		return err
	}
	id := r.PathValue("id")
	var req struct {
		Base      *string            `json:"base"`
		Endpoints *[]json.RawMessage `json:"endpoints"`
	}
	if err := s.decode(rw, r, &req, bodyRequired); err != nil {
		return err
	}
	var eps []callback.Endpoint
	switch {
	case req.Base != nil && req.Endpoints != nil:
		return badRequest(codeInvalidEndpoint, "give either \"base\" or \"endpoints\", not both")
	case req.Base == nil && req.Endpoints == nil:
		return badRequest(codeMissingField, "give \"base\" (a URL every endpoint is made from) or \"endpoints\" (a list of type and value)")
	case req.Base != nil && *req.Base == "":
		return badRequest(codeMissingField, "field \"base\" is empty")
	case req.Endpoints != nil:
		if len(*req.Endpoints) == 0 {
			return badRequest(codeMissingField, "field \"endpoints\" is empty; list at least one endpoint")
		}
		for i, raw := range *req.Endpoints {
			ep, err := decodeEndpoint(i, raw)
			if err != nil {
				return err
			}
			eps = append(eps, ep)
		}
	}
	if err := s.participantExists(r.Context(), id); err != nil {
		return err
	}
	var err error
	if req.Base != nil {
		err = s.endpoints.SetBase(r.Context(), id, *req.Base)
	} else {
		err = s.endpoints.SetMany(r.Context(), id, eps)
	}
	if err != nil {
		return callbackError(err)
	}
	writeJSON(rw, http.StatusOK, toEndpoints(s.endpoints.List(id)))
	return nil
}

// decodeEndpoint decodes element i of an endpoints list as strictly as
// decode does a body.
func decodeEndpoint(i int, raw json.RawMessage) (callback.Endpoint, error) {
	at := func(err error) error {
		var ae *apiError
		if errors.As(err, &ae) {
			return &apiError{status: ae.status, code: ae.code, msg: fmt.Sprintf("endpoints[%d]: %s", i, ae.msg)}
		}
		return err
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return callback.Endpoint{}, badRequest(codeWrongType, fmt.Sprintf("endpoints[%d] must be an object with \"type\" and \"value\"", i))
	}
	var e adminapi.Endpoint
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return callback.Endpoint{}, at(decodeError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return callback.Endpoint{}, at(badRequest(codeInvalidJSON, "trailing data"))
	}
	if err := exactKeys(raw, &e); err != nil {
		return callback.Endpoint{}, at(err)
	}
	if err := required("type", e.Type, "value", e.Value); err != nil {
		return callback.Endpoint{}, at(err)
	}
	k := callback.Kind(e.Type)
	if !k.Valid() {
		return callback.Endpoint{}, badRequest(codeUnknownEndpointType, fmt.Sprintf("endpoints[%d]: type %s is not an endpoint type; %s",
			i, strconv.Quote(truncate(e.Type, 64)), msgEndpointTypes))
	}
	return callback.Endpoint{Kind: k, Value: e.Value}, nil
}

func (s *Server) deleteEndpoint(rw http.ResponseWriter, r *http.Request) error {
	if err := s.endpointsConfigured(); err != nil {
		return err
	}
	id := r.PathValue("id")
	k := callback.Kind(r.PathValue("type"))
	if !k.Valid() {
		return badRequest(codeUnknownEndpointType, fmt.Sprintf("%s is not an endpoint type; %s",
			strconv.Quote(truncate(string(k), 64)), msgEndpointTypes))
	}
	if err := s.participantExists(r.Context(), id); err != nil {
		return err
	}
	if err := s.endpoints.Delete(r.Context(), id, k); err != nil {
		return callbackError(err)
	}
	writeJSON(rw, http.StatusOK, toEndpoints(s.endpoints.List(id)))
	return nil
}

func (s *Server) failedCallbacks(rw http.ResponseWriter, r *http.Request) error {
	if err := s.callbacksConfigured(); err != nil {
		return err
	}
	id := r.PathValue("id")
	q, err := query(r, "limit", "cursor")
	if err != nil {
		return err
	}
	limit := defaultLimit
	if q.Has("limit") {
		v := q.Get("limit")
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return badRequest(codeInvalidQuery, fmt.Sprintf("limit %s must be a whole number from 1 to %d", strconv.Quote(truncate(v, 32)), maxLimit))
		}
		limit = n
	}
	if err := s.participantExists(r.Context(), id); err != nil {
		return err
	}
	fs, next, err := s.callbacks.Failures(r.Context(), id, q.Get("cursor"), limit)
	if err != nil {
		return callbackError(err)
	}
	out := adminapi.FailedCallbackPage{Failures: make([]adminapi.FailedCallback, 0, len(fs)), Next: next}
	for i := range fs {
		out.Failures = append(out.Failures, toFailedCallback(&fs[i]))
	}
	writeJSON(rw, http.StatusOK, out)
	return nil
}

func (s *Server) redeliverCallback(rw http.ResponseWriter, r *http.Request) error {
	if err := s.callbacksConfigured(); err != nil {
		return err
	}
	id, fid := r.PathValue("id"), r.PathValue("failureId")
	if err := s.decode(rw, r, &struct{}{}, bodyOptional); err != nil {
		return err
	}
	if err := s.participantExists(r.Context(), id); err != nil {
		return err
	}
	f, err := s.callbacks.Failure(r.Context(), id, fid)
	if err != nil {
		return callbackError(err)
	}
	if err := s.callbacks.Redeliver(r.Context(), id, fid); err != nil {
		return callbackError(err)
	}
	writeJSON(rw, http.StatusAccepted, toFailedCallback(&f))
	return nil
}
