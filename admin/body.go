package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
)

// bodyRule says whether an endpoint needs a body.
type bodyRule uint8

const (
	bodyRequired bodyRule = iota
	// bodyOptional: an empty body means every field is absent.
	bodyOptional
)

// decode reads the request body into dst, which must be a pointer to a
// struct. It accepts exactly one JSON object of dst's fields and nothing
// after it but white space, sent as application/json and no longer than the
// server's MaxBody.
func (s *Server) decode(rw http.ResponseWriter, r *http.Request, dst any, rule bodyRule) error {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, s.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &apiError{status: http.StatusRequestEntityTooLarge, code: codeBodyTooLarge,
				msg: fmt.Sprintf("request body is larger than the %d bytes allowed", tooLarge.Limit)}
		}
		return badRequest(codeInvalidJSON, "the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if rule == bodyOptional {
			return nil
		}
		return badRequest(codeInvalidJSON, "the request body is empty; send a JSON object")
	}
	if err := checkContentType(r); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest(codeTrailingData, "the request body must hold one JSON object and nothing after it")
	}
	return exactKeys(body, dst)
}

// exactKeys refuses what encoding/json lets through: a key that matches a
// field only when case is ignored ("ID" for "id"), and a key given twice,
// of which it would silently keep the last. body has decoded into dst
// already, so it is one well-formed JSON value.
func exactKeys(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil // null: no keys
	}
	fields := jsonFields(reflect.TypeOf(dst).Elem())
	seen := make(map[string]bool, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return decodeError(err)
		}
		key := tok.(string)
		if !slices.Contains(fields, key) {
			return badRequest(codeUnknownField, fmt.Sprintf("unknown field %s; field names are case-sensitive, see /admin/v1/openapi.yaml",
				strconv.Quote(truncate(key, 80))))
		}
		if seen[key] {
			return badRequest(codeInvalidJSON, fmt.Sprintf("field %q is given twice", key))
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return decodeError(err)
		}
	}
	return nil
}

// jsonFields lists the JSON names of a struct type's fields.
func jsonFields(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return &apiError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMedia,
			msg: "the request has a body but no Content-Type; send Content-Type: application/json"}
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &apiError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMedia,
			msg: fmt.Sprintf("Content-Type %s is not supported; send application/json", strconv.Quote(truncate(ct, 64)))}
	}
	return nil
}

// decodeError explains why a body did not decode.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return badRequest(codeInvalidJSON, "the request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest(codeInvalidJSON, "the request body ends in the middle of its JSON")
	case errors.As(err, &syntax):
		return badRequest(codeInvalidJSON, fmt.Sprintf("the request body is not valid JSON at byte %d: %s",
			syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: ")))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest(codeWrongType, fmt.Sprintf("the request body must be a JSON object; it is a JSON %s", typ.Value))
		}
		return badRequest(codeWrongType, fmt.Sprintf("field %q must be a %s, not a %s", typ.Field, jsonType(typ.Type.Kind().String()), typ.Value))
	}
	// DisallowUnknownFields reports `json: unknown field "x"` with no type
	// of its own.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest(codeUnknownField, fmt.Sprintf("unknown field %s; see /admin/v1/openapi.yaml for the fields this endpoint takes", truncate(name, 80)))
	}
	return badRequest(codeInvalidJSON, "the request body is not valid JSON: "+truncate(strings.TrimPrefix(err.Error(), "json: "), 200))
}

// jsonType names a Go kind as JSON does.
func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "bool":
		return "boolean"
	}
	return "number"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// required checks that every named field was given. fields alternates
// names and values.
func required(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] == "" {
			return badRequest(codeMissingField, fmt.Sprintf("field %q is required", fields[i]))
		}
	}
	return nil
}

// parseID parses a transfer id given in field (or path segment) name.
func parseID(name, s string) (ledger.ID, error) {
	id, err := ledger.ParseID(s)
	if err != nil {
		return id, badRequest(codeInvalidID, fmt.Sprintf("%s %s is not a UUID: write it in lower case as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
			name, strconv.Quote(truncate(s, 64))))
	}
	if id.IsZero() {
		return id, badRequest(codeInvalidID, name+" must not be the all-zero UUID")
	}
	return id, nil
}

// currency looks up an ISO 4217 code given in field (or path segment) name.
func currency(name, code string) (money.Currency, error) {
	c, ok := money.Lookup(code)
	if !ok {
		return c, badRequest(codeUnknownCurrency, fmt.Sprintf(
			"%s %s is not an ISO 4217 code with a minor unit; write three upper-case letters such as \"USD\"",
			name, strconv.Quote(truncate(code, 16))))
	}
	return c, nil
}

// amount parses an FSPIOP amount string. money's message says what is
// wrong and what to write instead.
func amount(s string, c money.Currency) (int64, error) {
	v, err := money.ParseAmount(s, c)
	if ae := (*money.AmountError)(nil); errors.As(err, &ae) {
		return 0, badRequest(codeInvalidAmount, ae.Message())
	}
	return v, err
}
