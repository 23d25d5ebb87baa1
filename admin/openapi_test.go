package admin

import (
	"bufio"
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// documented reads the paths section of an OpenAPI document in the block
// style openapi.yaml is written in: a path is a key indented two spaces
// under "paths:", its operations keys indented four. It returns the
// operations as "METHOD path".
func documented(t *testing.T, doc []byte) []string {
	t.Helper()
	var ops []string
	in, path := false, ""
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			in = true
		case !in || strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
		case !strings.HasPrefix(line, " "):
			in = false // the next top-level key
		case strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			path = strings.TrimSuffix(strings.TrimPrefix(line, "  "), ":")
		case strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     "):
			key, _, _ := strings.Cut(strings.TrimSpace(line), ":")
			switch key {
			case "get", "put", "post", "delete", "patch", "head", "options":
				if path == "" {
					t.Fatalf("operation %q outside a path", line)
				}
				ops = append(ops, strings.ToUpper(key)+" "+path)
			}
		}
	}
	return ops
}

// TestOpenAPIDocumentsEveryRoute checks that the served document describes
// exactly the routes the server registers, so neither can change alone.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t, Options{})
	status, hdr, doc := h.do("GET", "/admin/v1/openapi.yaml", "", "")
	if status != http.StatusOK || hdr.Get("Content-Type") != "application/yaml" {
		t.Fatalf("status %d, Content-Type %q", status, hdr.Get("Content-Type"))
	}
	if !bytes.Equal(doc, openAPI) {
		t.Fatal("served document differs from openapi.yaml")
	}
	if !bytes.HasPrefix(doc, []byte("openapi: 3.0.")) {
		t.Errorf("document does not start with an OpenAPI 3.0 version")
	}
	if bytes.Contains(doc, []byte("\t")) {
		t.Errorf("document has tabs, which YAML does not allow for indentation")
	}

	got := documented(t, doc)
	var want []string
	for _, rt := range routes {
		want = append(want, rt.method+" "+rt.path)
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("route %s is not in openapi.yaml", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("openapi.yaml documents %s, which is not a route", g)
		}
	}
	if len(got) != len(want) {
		t.Errorf("openapi.yaml has %d operations, the server %d routes", len(got), len(want))
	}

	// Every error code the server can answer with is listed.
	for _, code := range []string{codeInvalidJSON, codeUnknownField, codeWrongType, codeTrailingData, codeMissingField,
		codeBodyTooLarge, codeUnsupportedMedia, codeInvalidID, codeInvalidAmount, codeUnknownCurrency, codeInvalidReason,
		codeInvalidQuery, codeInvalidCursor, codeUnavailable, codeOutcomeUnknown, codeInternal, "NOT_FOUND", "METHOD_NOT_ALLOWED"} {
		if !bytes.Contains(doc, []byte("- "+code+"\n")) {
			t.Errorf("error code %s is not in the document's enum", code)
		}
	}
	for code := range ledgerStatus {
		if strings.HasPrefix(code, "PAYER_") || strings.HasPrefix(code, "PAYEE_") || code == "SAME_PARTICIPANT" ||
			code == "MALFORMED_CONDITION" || code == "EXPIRY_NOT_IN_FUTURE" || code == "INVALID_FULFILMENT" {
			continue // payment rules, or ones no admin command can break
		}
		if !bytes.Contains(doc, []byte("- "+code+"\n")) {
			t.Errorf("ledger code %s is not in the document's enum", code)
		}
	}
}
