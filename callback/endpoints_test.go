package callback

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/kv"
	"github.com/hutong/hutong/store/pebble"
)

var quiet = slog.New(slog.DiscardHandler)

// openStore opens a Pebble store in dir, closed when the test ends unless
// the test closes it first through the returned function.
func openStore(t testing.TB, dir string) (kv.Space, func()) {
	t.Helper()
	st, err := pebble.Open(dir, pebble.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	closeFn := func() {
		if closed {
			return
		}
		closed = true
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	}
	t.Cleanup(closeFn)
	return st.KV(), closeFn
}

func newEndpoints(t testing.TB) (*Endpoints, kv.Space) {
	t.Helper()
	kv, _ := openStore(t, t.TempDir())
	eps, err := OpenEndpoints(context.Background(), kv)
	if err != nil {
		t.Fatal(err)
	}
	return eps, kv
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		value string
		want  error
	}{
		{"plain", TransferPut, "http://dfsp1:4000/transfers", nil},
		{"https", TransferPut, "https://dfsp1.example/transfers/{{transferId}}", nil},
		{"ipv6 host", TransferPut, "http://[::1]:4000/transfers/{{transferId}}", nil},
		{"every variable", PartiesSubIDPut, "http://h/p/{{partyIdType}}/{{partyIdentifier}}/{{partySubIdOrType}}/{{transferId}}/{{requestId}}", nil},
		{"variable in query", TransferPut, "http://h/cb?id={{transferId}}", nil},
		{"mojaloop error template", TransferError, "http://fsp:4000/transfers/{{transferId}}/error", nil},
		{"base kind", Quotes, "http://dfsp1:4000", nil},
		{"base kind with path", TrxReqService, "http://dfsp1:4000/fspiop/", nil},

		{"unknown kind", Kind("FSPIOP_CALLBACK_URL_NOPE"), "http://h/", ErrUnknownKind},
		{"empty kind", Kind(""), "http://h/", ErrUnknownKind},
		{"empty", TransferPut, "", ErrInvalidEndpoint},
		{"relative", TransferPut, "/transfers", ErrInvalidEndpoint},
		{"no scheme", TransferPut, "dfsp1:4000/transfers", ErrInvalidEndpoint},
		{"ftp", TransferPut, "ftp://h/transfers", ErrInvalidEndpoint},
		{"no host", TransferPut, "http:///transfers", ErrInvalidEndpoint},
		{"port only", TransferPut, "http://:80/transfers", ErrInvalidEndpoint},
		{"opaque", TransferPut, "http:h/transfers", ErrInvalidEndpoint},
		{"user info", TransferPut, "http://user:pw@h/transfers", ErrInvalidEndpoint},
		{"bad port", TransferPut, "http://h:port/transfers", ErrInvalidEndpoint},
		{"space", TransferPut, "http://h/a b", ErrInvalidEndpoint},
		{"newline", TransferPut, "http://h/a\n", ErrInvalidEndpoint},
		{"non-ascii", TransferPut, "http://h/ü", ErrInvalidEndpoint},
		{"fragment", TransferPut, "http://h/a#b", ErrInvalidEndpoint},
		{"unknown variable", TransferPut, "http://h/{{quoteId}}", ErrInvalidEndpoint},
		{"variable case", TransferPut, "http://h/{{TransferId}}", ErrInvalidEndpoint},
		{"unclosed variable", TransferPut, "http://h/{{transferId", ErrInvalidEndpoint},
		{"single brace", TransferPut, "http://h/{transferId}", ErrInvalidEndpoint},
		{"stray closing", TransferPut, "http://h/a}}", ErrInvalidEndpoint},
		{"variable in host", TransferPut, "http://{{transferId}}/a", ErrInvalidEndpoint},
		{"variable in port", TransferPut, "http://h:{{transferId}}/a", ErrInvalidEndpoint},
		{"variable as scheme", TransferPut, "{{transferId}}://h/a", ErrInvalidEndpoint},
		{"variable in base kind", Quotes, "http://h/{{transferId}}", ErrInvalidEndpoint},
		{"query in base kind", Quotes, "http://h/?a=b", ErrInvalidEndpoint},
		{"too long", TransferPut, "http://h/" + strings.Repeat("a", MaxURL), ErrInvalidEndpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseEndpoint(tt.kind, tt.value)
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Errorf("parseEndpoint(%s, %q) = %v, want %v", tt.kind, tt.value, err, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "callback: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	eps, _ := newEndpoints(t)
	ctx := context.Background()
	for _, ep := range []Endpoint{
		{TransferPut, "http://dfsp1:4000/transfers/{{transferId}}"},
		{TransferError, "http://dfsp1:4000/transfers/{{transferId}}/error?x=1"},
		{PartiesSubIDPut, "http://dfsp1/parties/{{partyIdType}}/{{partyIdentifier}}/{{partySubIdOrType}}"},
		{ParticipantBatchPut, "http://dfsp1/participants/{{requestId}}"},
		{TransferPost, "http://dfsp1/transfers"},
		{Quotes, "http://dfsp1:4000/q/"},
		{TrxReqService, "http://dfsp1:4000"},
	} {
		if err := eps.Set(ctx, "dfsp1", ep.Kind, ep.Value); err != nil {
			t.Fatal(err)
		}
	}
	if err := eps.Set(ctx, "dfsp2", TransferPatch, "http://dfsp2/patch/{{transferId}}"); err != nil {
		t.Fatal(err)
	}
	id := "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	tests := []struct {
		name string
		req  Request
		want string
		err  error
	}{
		{"transfer put", Request{To: "dfsp1", Kind: TransferPut, Vars: Vars{ID: id}}, "http://dfsp1:4000/transfers/" + id, nil},
		{"query kept", Request{To: "dfsp1", Kind: TransferError, Vars: Vars{ID: id}}, "http://dfsp1:4000/transfers/" + id + "/error?x=1", nil},
		{"escaped", Request{To: "dfsp1", Kind: PartiesSubIDPut, Vars: Vars{PartyIDType: "MSISDN", PartyIdentifier: "a b/c?d", PartySubIDOrType: "ü%"}},
			"http://dfsp1/parties/MSISDN/a%20b%2Fc%3Fd/%C3%BC%25", nil},
		{"request id", Request{To: "dfsp1", Kind: ParticipantBatchPut, Vars: Vars{ID: "r1"}}, "http://dfsp1/participants/r1", nil},
		{"no variables", Request{To: "dfsp1", Kind: TransferPost, Path: "/transfers"}, "http://dfsp1/transfers", nil},
		{"base with slash", Request{To: "dfsp1", Kind: Quotes, Path: "/quotes/" + id + "/error"}, "http://dfsp1:4000/q/quotes/" + id + "/error", nil},
		{"base", Request{To: "dfsp1", Kind: TrxReqService, Path: "/transactionRequests"}, "http://dfsp1:4000/transactionRequests", nil},
		{"patch falls back to put", Request{To: "dfsp1", Kind: TransferPatch, Vars: Vars{ID: id}}, "http://dfsp1:4000/transfers/" + id, nil},
		{"patch of its own", Request{To: "dfsp2", Kind: TransferPatch, Vars: Vars{ID: id}}, "http://dfsp2/patch/" + id, nil},
		{"no such kind set", Request{To: "dfsp1", Kind: PartiesGet}, "", ErrNoEndpoint},
		{"no endpoints at all", Request{To: "dfsp9", Kind: TransferPut, Vars: Vars{ID: id}}, "", ErrNoEndpoint},
		{"put has no fallback", Request{To: "dfsp2", Kind: TransferPut, Vars: Vars{ID: id}}, "", ErrNoEndpoint},
		{"missing value", Request{To: "dfsp1", Kind: PartiesSubIDPut, Vars: Vars{PartyIDType: "MSISDN", PartyIdentifier: "1"}}, "", ErrMissingValue},
		{"unknown kind", Request{To: "dfsp1", Kind: "X"}, "", ErrUnknownKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eps.Resolve(&tt.req)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("Resolve = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestSetBase(t *testing.T) {
	eps, _ := newEndpoints(t)
	ctx := context.Background()
	if err := eps.SetBase(ctx, "dfsp1", "http://dfsp1:4000/"); err != nil {
		t.Fatal(err)
	}
	want := map[Kind]string{
		PartiesGet:               "http://dfsp1:4000/parties/{{partyIdType}}/{{partyIdentifier}}",
		PartiesPut:               "http://dfsp1:4000/parties/{{partyIdType}}/{{partyIdentifier}}",
		PartiesPutError:          "http://dfsp1:4000/parties/{{partyIdType}}/{{partyIdentifier}}/error",
		PartiesSubIDGet:          "http://dfsp1:4000/parties/{{partyIdType}}/{{partyIdentifier}}/{{partySubIdOrType}}",
		PartiesSubIDPut:          "http://dfsp1:4000/parties/{{partyIdType}}/{{partyIdentifier}}/{{partySubIdOrType}}",
		PartiesSubIDPutError:     "http://dfsp1:4000/parties/{{partyIdType}}/{{partyIdentifier}}/{{partySubIdOrType}}/error",
		ParticipantPut:           "http://dfsp1:4000/participants/{{partyIdType}}/{{partyIdentifier}}",
		ParticipantPutError:      "http://dfsp1:4000/participants/{{partyIdType}}/{{partyIdentifier}}/error",
		ParticipantSubIDPut:      "http://dfsp1:4000/participants/{{partyIdType}}/{{partyIdentifier}}/{{partySubIdOrType}}",
		ParticipantSubIDPutError: "http://dfsp1:4000/participants/{{partyIdType}}/{{partyIdentifier}}/{{partySubIdOrType}}/error",
		ParticipantBatchPut:      "http://dfsp1:4000/participants/{{requestId}}",
		ParticipantBatchPutError: "http://dfsp1:4000/participants/{{requestId}}/error",
		Quotes:                   "http://dfsp1:4000/",
		TrxReqService:            "http://dfsp1:4000/",
		TransferPost:             "http://dfsp1:4000/transfers",
		TransferPut:              "http://dfsp1:4000/transfers/{{transferId}}",
		TransferError:            "http://dfsp1:4000/transfers/{{transferId}}/error",
		TransferPatch:            "http://dfsp1:4000/transfers/{{transferId}}",
		LiquidityAlert:           "http://dfsp1:4000/liquidityAlerts",
	}
	if len(want) != len(Kinds()) {
		t.Fatalf("test covers %d kinds of %d", len(want), len(Kinds()))
	}
	list := eps.List("dfsp1")
	if len(list) != len(want) {
		t.Errorf("List has %d endpoints, want %d", len(list), len(want))
	}
	if !slices.IsSortedFunc(list, func(a, b Endpoint) int { return strings.Compare(string(a.Kind), string(b.Kind)) }) {
		t.Errorf("List is not sorted by kind: %v", list)
	}
	for k, w := range want {
		if got, ok := eps.Get("dfsp1", k); got != w || !ok {
			t.Errorf("Get(%s) = %q, %v; want %q", k, got, ok, w)
		}
	}
	// Every base-filled endpoint resolves to the standard path.
	got, err := eps.Resolve(&Request{To: "dfsp1", Kind: Quotes, Path: "/quotes/q1"})
	if want := "http://dfsp1:4000/quotes/q1"; got != want || err != nil {
		t.Errorf("Resolve quotes = %q, %v; want %q", got, err, want)
	}

	for _, bad := range []string{"", "http://h/?q=1", "http://h/{{transferId}}", "http://u@h", "h:80"} {
		if err := eps.SetBase(ctx, "dfsp2", bad); !errors.Is(err, ErrInvalidEndpoint) {
			t.Errorf("SetBase(%q) = %v, want ErrInvalidEndpoint", bad, err)
		}
	}
	if err := eps.SetBase(ctx, "bad/id", "http://h"); !errors.Is(err, ErrInvalidParticipant) {
		t.Errorf("SetBase of an invalid participant = %v, want ErrInvalidParticipant", err)
	}
	if got := eps.List("dfsp2"); len(got) != 0 {
		t.Errorf("refused SetBase stored %v", got)
	}
}

func TestSetManyAllOrNothing(t *testing.T) {
	eps, _ := newEndpoints(t)
	ctx := context.Background()
	err := eps.SetMany(ctx, "dfsp1", []Endpoint{
		{TransferPut, "http://h/transfers/{{transferId}}"},
		{TransferError, "http://h/{{nope}}"},
	})
	if !errors.Is(err, ErrInvalidEndpoint) {
		t.Fatalf("SetMany = %v, want ErrInvalidEndpoint", err)
	}
	err = eps.SetMany(ctx, "dfsp1", []Endpoint{
		{TransferPut, "http://h/transfers/{{transferId}}"},
		{TransferPut, "http://h/other/{{transferId}}"},
	})
	if !errors.Is(err, ErrInvalidEndpoint) {
		t.Fatalf("SetMany of a kind twice = %v, want ErrInvalidEndpoint", err)
	}
	if got := eps.List("dfsp1"); len(got) != 0 {
		t.Errorf("refused SetMany stored %v", got)
	}
}

func TestEndpointsPersist(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	kv, closeStore := openStore(t, dir)
	eps, err := OpenEndpoints(ctx, kv)
	if err != nil {
		t.Fatal(err)
	}
	if err := eps.SetBase(ctx, "dfsp1", "http://dfsp1:4000"); err != nil {
		t.Fatal(err)
	}
	if err := eps.Set(ctx, "dfsp1", TransferPut, "http://other/t/{{transferId}}"); err != nil {
		t.Fatal(err)
	}
	if err := eps.Delete(ctx, "dfsp1", PartiesGet); err != nil {
		t.Fatal(err)
	}
	if err := eps.Delete(ctx, "dfsp1", PartiesGet); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
	if err := eps.Delete(ctx, "dfsp1", "NOPE"); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("Delete of an unknown kind = %v, want ErrUnknownKind", err)
	}
	if err := eps.Set(ctx, "dfsp2", Quotes, "https://dfsp2"); err != nil {
		t.Fatal(err)
	}
	want1, want2 := eps.List("dfsp1"), eps.List("dfsp2")
	if len(want1) != len(Kinds())-1 || len(want2) != 1 {
		t.Fatalf("lists of %d and %d endpoints", len(want1), len(want2))
	}
	closeStore()

	kv, _ = openStore(t, dir)
	eps, err = OpenEndpoints(ctx, kv)
	if err != nil {
		t.Fatal(err)
	}
	if got := eps.List("dfsp1"); !slices.Equal(got, want1) {
		t.Errorf("after reopen dfsp1 has %v, want %v", got, want1)
	}
	if got := eps.List("dfsp2"); !slices.Equal(got, want2) {
		t.Errorf("after reopen dfsp2 has %v, want %v", got, want2)
	}
	if _, ok := eps.Get("dfsp1", PartiesGet); ok {
		t.Errorf("deleted endpoint is back after reopen")
	}
}

func TestOpenEndpointsCorrupt(t *testing.T) {
	space, _ := openStore(t, t.TempDir())
	ctx := context.Background()
	var b kv.Batch
	b.Set([]byte("cbe/dfsp1/"+string(TransferPut)), []byte("not a url"))
	if err := space.Apply(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenEndpoints(ctx, space); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("OpenEndpoints = %v, want ErrCorrupt", err)
	}
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{
		"http://dfsp1:4000/transfers/{{transferId}}/error",
		"https://[::1]/parties/{{partyIdType}}/{{partyIdentifier}}?x={{requestId}}",
		"http://h:{{transferId}}/", "http://{{", "http://h/}}{{", "http://a@b/",
	} {
		f.Add(s, "a b/c", false)
		f.Add(s, "", true)
	}
	f.Fuzz(func(t *testing.T, value, v string, base bool) {
		k := TransferPut
		if base {
			k = Quotes
		}
		ep, err := parseEndpoint(k, value)
		if err != nil {
			if !errors.Is(err, ErrInvalidEndpoint) {
				t.Fatalf("error %v is not ErrInvalidEndpoint", err)
			}
			return
		}
		want, _ := url.Parse(strings.ReplaceAll(strings.ReplaceAll(value, "{{", ""), "}}", ""))
		r := &Request{Kind: k, Path: "/quotes", Vars: Vars{ID: v, PartyIDType: v, PartyIdentifier: v, PartySubIDOrType: v}}
		got, err := ep.expand(r)
		if err != nil {
			if v == "" && errors.Is(err, ErrMissingValue) {
				return
			}
			t.Fatalf("expand: %v", err)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("expanded %q is not a URL: %v", got, err)
		}
		if u.Scheme != want.Scheme || u.Host != want.Host || u.User != nil {
			t.Fatalf("expanded %q has scheme %q host %q, the template %q and %q", got, u.Scheme, u.Host, want.Scheme, want.Host)
		}
	})
}

// TestRefusalMessages: every refusal is found by its rule, and its Message
// is its text without the package's name.
func TestRefusalMessages(t *testing.T) {
	eps, _ := newEndpoints(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		err  error
		rule error
		msg  string
	}{
		{"unknown kind", eps.Set(ctx, "dfsp1", Kind("NOPE"), "http://h"), ErrUnknownKind, `unknown endpoint type "NOPE"`},
		{"bad URL", eps.Set(ctx, "dfsp1", TransferPut, "ftp://h"), ErrInvalidEndpoint, ""},
		{"bad participant", eps.Set(ctx, "no such id!", TransferPut, "http://h"), ErrInvalidParticipant, `invalid participant id "no such id!"`},
		{"no endpoint", func() error { _, err := eps.Resolve(&Request{To: "dfsp9", Kind: TransferPut}); return err }(), ErrNoEndpoint,
			"no endpoint FSPIOP_CALLBACK_URL_TRANSFER_PUT for participant dfsp9"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.rule) {
				t.Fatalf("err = %v, want %v", tt.err, tt.rule)
			}
			var m interface{ Message() string }
			if !errors.As(tt.err, &m) {
				t.Fatalf("%v has no Message", tt.err)
			}
			if got := m.Message(); strings.HasPrefix(got, "callback:") || (tt.msg != "" && got != tt.msg) {
				t.Errorf("Message() = %q, want %q", got, tt.msg)
			}
			if got, want := tt.err.Error(), "callback: "+m.Message(); got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
		})
	}
}
