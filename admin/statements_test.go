package admin

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"github.com/hutong/hutong/admin/adminapi"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
)

// payID is settlementHarness.pay returning the payment's id.
func (h *settlementHarness) payID(payer, payee string, minor int64) ledger.ID {
	h.t.Helper()
	h.payments++
	fulfilment := sha256.Sum256([]byte(fmt.Sprintf("payment %d", h.payments)))
	id, err := ledger.ParseID(newID())
	if err != nil {
		h.t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := h.w.Submit(ctx, ledger.Command{Op: ledger.OpPrepare, ID: id, Payer: payer, Payee: payee, Currency: "USD",
		Amount: minor, Condition: ledger.ConditionOf(fulfilment), Expiry: h.clock.Now().Add(time.Minute)}); err != nil {
		h.t.Fatalf("prepare %s -> %s: %v", payer, payee, err)
	}
	if _, err := h.w.Submit(ctx, ledger.Command{Op: ledger.OpFulfil, ID: id, Payee: payee, Fulfilment: fulfilment}); err != nil {
		h.t.Fatalf("fulfil %s -> %s: %v", payer, payee, err)
	}
	return id
}

// get sends a GET with an Accept header ("" for none) and fails the test
// unless the answer is 200 of the media type want.
func (h *harness) get(path, accept, want string) []byte {
	h.t.Helper()
	req, err := http.NewRequest("GET", h.srv.URL+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	b := readAll(h.t, resp)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET %s: status %d: %s", path, resp.StatusCode, b)
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != want {
		h.t.Fatalf("GET %s (Accept %q): Content-Type %q, want %s", path, accept, resp.Header.Get("Content-Type"), want)
	}
	return []byte(b)
}

// readAll reads and closes a response's body.
func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recordsCode is errorCode for answers that may list bad lines.
func recordsCode(t testing.TB, b []byte) string {
	t.Helper()
	var e adminapi.ErrorBody
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an error body: %v: %s", err, b)
	}
	return e.Error.Code
}

// reportDoc is the JSON form of a report, as far as these tests read it.
type reportDoc struct {
	Kind         string       `json:"kind"`
	ID           uint64       `json:"id"`
	Currency     string       `json:"currency"`
	State        string       `json:"state"`
	Windows      []uint64     `json:"windows"`
	Participants []reportLine `json:"participants"`
	Total        reportLine   `json:"total"`
	Position     string       `json:"position"`
}

type reportLine struct {
	Participant   string `json:"participant"`
	SentCount     int64  `json:"sentCount"`
	Sent          string `json:"sent"`
	ReceivedCount int64  `json:"receivedCount"`
	Received      string `json:"received"`
	Net           string `json:"net"`
}

// settledFlow makes payments among a, b and c, closes the window and takes
// a settlement of it to PS_TRANSFERS_COMMITTED. It returns the window and
// settlement ids and the payments' ids.
func settledFlow(t *testing.T) (*settlementHarness, uint64, uint64, []ledger.ID) {
	h := newSettlementHarness(t, "a", "b", "c")
	ids := []ledger.ID{
		h.payID("a", "b", 30000), // 300
		h.payID("b", "c", 15050), // 150.5
		h.payID("c", "a", 5000),  // 50
		h.payID("a", "c", 1),     // 0.01
	}
	win := h.openWindow()
	h.close(win)
	st := h.create(win)
	for _, s := range []string{"PS_TRANSFERS_RECORDED", "PS_TRANSFERS_RESERVED", "PS_TRANSFERS_COMMITTED"} {
		h.move(st.ID, s, "")
	}
	// Payments after the settlement, so that positions are not all zero.
	ids = append(ids, h.payID("b", "a", 700))
	return h, win, st.ID, ids
}

func TestSettlementReports(t *testing.T) {
	h, win, st, _ := settledFlow(t)
	wantLines := []reportLine{
		{"a", 2, "300.01", 1, "50", "250.01"},
		{"b", 1, "150.5", 1, "300", "-149.5"},
		{"c", 1, "50", 2, "150.51", "-100.51"},
	}
	wantCSV := [][]string{
		{"participant", "currency", "sent_count", "sent", "received_count", "received", "net"},
		{"a", "USD", "2", "300.01", "1", "50", "250.01"},
		{"b", "USD", "1", "150.5", "1", "300", "-149.5"},
		{"c", "USD", "1", "50", "2", "150.51", "-100.51"},
		{"TOTAL", "USD", "4", "500.51", "4", "500.51", "0"},
	}
	for _, tc := range []struct {
		name, path, kind string
		id               uint64
	}{
		{"window", fmt.Sprintf("/admin/v1/settlement-windows/%d/report", win), "WINDOW", win},
		{"settlement", fmt.Sprintf("/admin/v1/settlements/%d/report", st), "SETTLEMENT", st},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, accept := range []string{"", "application/json", "*/*"} {
				var got reportDoc
				if err := json.Unmarshal(h.get(tc.path, accept, "application/json"), &got); err != nil {
					t.Fatal(err)
				}
				if got.Kind != tc.kind || got.ID != tc.id || got.Currency != "USD" || !reflect.DeepEqual(got.Windows, []uint64{win}) {
					t.Errorf("Accept %q: got %s %d %s %v", accept, got.Kind, got.ID, got.Currency, got.Windows)
				}
				if !reflect.DeepEqual(got.Participants, wantLines) {
					t.Errorf("Accept %q: participants\n got %+v\nwant %+v", accept, got.Participants, wantLines)
				}
				if want := (reportLine{"", 4, "500.51", 4, "500.51", "0"}); got.Total != want {
					t.Errorf("Accept %q: total %+v, want %+v", accept, got.Total, want)
				}
				if got.Position != "250.01" {
					t.Errorf("Accept %q: position %s, want 250.01", accept, got.Position)
				}
			}
			for _, x := range []struct{ path, accept string }{
				{tc.path + "?format=csv", ""},
				{tc.path, "text/csv"},
				{tc.path, "application/xml;q=0.5, text/csv"},
				{tc.path + "?format=csv", "application/json"}, // ?format= wins
			} {
				rows, err := csv.NewReader(strings.NewReader(string(h.get(x.path, x.accept, "text/csv")))).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(rows, wantCSV) {
					t.Errorf("%s (Accept %q):\n got %q\nwant %q", x.path, x.accept, rows, wantCSV)
				}
			}
		})
	}
}

func TestSettlementReportErrors(t *testing.T) {
	h, win, _, _ := settledFlow(t)
	for _, tc := range []struct {
		name, path, accept string
		status             int
		code               string
	}{
		{"unknown window", "/admin/v1/settlement-windows/999/report", "", 404, ledger.ErrWindowNotFound.Code},
		{"unknown settlement", "/admin/v1/settlements/999/report", "", 404, ledger.ErrSettlementNotFound.Code},
		{"bad window id", "/admin/v1/settlement-windows/01/report", "", 400, codeInvalidID},
		{"bad format", fmt.Sprintf("/admin/v1/settlement-windows/%d/report?format=xml", win), "", 400, codeInvalidQuery},
		{"camt for a report", fmt.Sprintf("/admin/v1/settlement-windows/%d/report?format=camt053", win), "", 400, codeInvalidQuery},
		{"unknown parameter", fmt.Sprintf("/admin/v1/settlement-windows/%d/report?fmt=csv", win), "", 400, codeInvalidQuery},
		{"not acceptable", fmt.Sprintf("/admin/v1/settlement-windows/%d/report", win), "application/xml", 406, codeNotAcceptable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", h.srv.URL+tc.path, nil)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			resp, err := h.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b := readAll(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if got := errorCode(t, []byte(b)); got != tc.code {
				t.Errorf("code %s, want %s", got, tc.code)
			}
		})
	}
}

// statementDoc is the JSON form of a statement, as far as these tests read
// it.
type statementDoc struct {
	Account   string `json:"account"`
	From      string `json:"from"`
	To        string `json:"to"`
	Opening   string `json:"opening"`
	Closing   string `json:"closing"`
	Movements []struct {
		Kind       string `json:"kind"`
		TransferID string `json:"transferId"`
		Balance    string `json:"balance"`
	} `json:"movements"`
}

// camtClosing reads the closing balance of a camt.053 statement as a
// signed amount in the ledger's sense.
func camtClosing(t *testing.T, doc []byte, account string) int64 {
	t.Helper()
	var d struct {
		Stmt struct {
			Stmt struct {
				Bal []struct {
					Cd  string `xml:"Tp>CdOrPrtry>Cd"`
					Amt struct {
						Value string `xml:",chardata"`
						Ccy   string `xml:"Ccy,attr"`
					} `xml:"Amt"`
					CdtDbtInd string `xml:"CdtDbtInd"`
				} `xml:"Bal"`
			} `xml:"Stmt"`
		} `xml:"BkToCstmrStmt"`
	}
	if err := xml.Unmarshal(doc, &d); err != nil {
		t.Fatalf("camt.053: %v\n%s", err, doc)
	}
	usd, _ := money.Lookup("USD")
	for _, b := range d.Stmt.Stmt.Bal {
		if b.Cd != "CLBD" {
			continue
		}
		// camt.053 writes fixed decimals ("12.50"); FSPIOP amounts drop
		// trailing zeros.
		if b.Amt.Ccy != "USD" {
			t.Fatalf("closing balance in %q, want USD", b.Amt.Ccy)
		}
		s := strings.TrimSuffix(strings.TrimRight(b.Amt.Value, "0"), ".")
		if s == "" {
			s = "0"
		}
		v, err := money.ParseAmount(s, usd)
		if err != nil {
			t.Fatalf("closing balance %q: %v", b.Amt.Value, err)
		}
		// In the participant's favour is CRDT: on POSITION a negative
		// (owed) balance, on SETTLEMENT a positive one.
		inFavour := b.CdtDbtInd == "CRDT"
		if (account == "POSITION") == inFavour {
			v = -v
		}
		return v
	}
	t.Fatalf("no CLBD balance in\n%s", doc)
	return 0
}

// signed parses a balance as the API writes it.
func signed(t *testing.T, s string) int64 {
	t.Helper()
	usd, _ := money.Lookup("USD")
	neg := strings.HasPrefix(s, "-")
	v, err := money.ParseAmount(strings.TrimPrefix(s, "-"), usd)
	if err != nil {
		t.Fatalf("balance %q: %v", s, err)
	}
	if neg {
		v = -v
	}
	return v
}

func TestStatementClosesAtBalance(t *testing.T) {
	h, _, _, _ := settledFlow(t)
	for _, p := range []string{"a", "b", "c"} {
		acc := h.accounts(p)
		for _, account := range []string{"POSITION", "SETTLEMENT"} {
			t.Run(p+"/"+account, func(t *testing.T) {
				want := acc["USD/"+account].Balance
				path := "/admin/v1/participants/" + p + "/statement?currency=USD&account=" + account
				var st statementDoc
				if err := json.Unmarshal(h.get(path, "", "application/json"), &st); err != nil {
					t.Fatal(err)
				}
				if st.Account != account || st.Opening != "0" || st.Closing != want {
					t.Errorf("JSON: account %s opening %s closing %s, want %s 0 %s", st.Account, st.Opening, st.Closing, account, want)
				}
				if n := len(st.Movements); n == 0 || st.Movements[n-1].Balance != want {
					t.Errorf("JSON: last movement of %+v does not end at %s", st.Movements, want)
				}
				if got := camtClosing(t, h.get(path+"&format=camt053", "", "application/xml"), account); got != signed(t, want) {
					t.Errorf("camt.053 ?format: closing %d, want %s", got, want)
				}
				if got := camtClosing(t, h.get(path, "application/xml", "application/xml"), account); got != signed(t, want) {
					t.Errorf("camt.053 Accept: closing %d, want %s", got, want)
				}
				rows, err := csv.NewReader(strings.NewReader(string(h.get(path+"&format=csv", "", "text/csv")))).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				last := rows[len(rows)-1]
				if last[1] != "CLOSING_BALANCE" || last[len(last)-1] != want {
					t.Errorf("CSV: last row %q, want a CLOSING_BALANCE of %s", last, want)
				}
			})
		}
	}

	// The fake clock stands still: every movement is at 12:00:00. A range
	// after it opens and closes at the balance, one before it at zero.
	want := h.accounts("a")["USD/POSITION"].Balance
	for _, tc := range []struct{ query, opening, closing string }{
		{"&from=2025-03-01T12:00:00.000000001Z", want, want},
		{"&from=2025-03-01T00:00:00Z&to=2025-03-01T12:00:00Z", "0", "0"},
		{"&from=2025-03-01T20:00:00%2B08:00&to=2025-03-01T12:00:00.000000001Z", "0", want},
	} {
		t.Run("range"+tc.query, func(t *testing.T) {
			var st statementDoc
			path := "/admin/v1/participants/a/statement?currency=USD&account=POSITION" + tc.query
			if err := json.Unmarshal(h.get(path, "", "application/json"), &st); err != nil {
				t.Fatal(err)
			}
			if st.Opening != tc.opening || st.Closing != tc.closing {
				t.Errorf("opening %s closing %s, want %s %s", st.Opening, st.Closing, tc.opening, tc.closing)
			}
			if n := len(st.Movements); (tc.opening == tc.closing) != (n == 0) {
				t.Errorf("%d movements", n)
			}
		})
	}
}

func TestStatementErrors(t *testing.T) {
	h, _, _, _ := settledFlow(t)
	h.participant("d") // no currency
	base := "/admin/v1/participants/a/statement?"
	for _, tc := range []struct {
		name, path string
		status     int
		code       string
	}{
		{"unknown participant", "/admin/v1/participants/zz/statement?currency=USD&account=POSITION", 404, ledger.ErrParticipantNotFound.Code},
		{"currency not enabled", "/admin/v1/participants/d/statement?currency=USD&account=POSITION", 409, ledger.ErrCurrencyNotEnabled.Code},
		{"no currency", base + "account=POSITION", 400, codeInvalidQuery},
		{"bad currency", base + "currency=usd&account=POSITION", 400, codeUnknownCurrency},
		{"no account", base + "currency=USD", 400, codeInvalidQuery},
		{"bad account", base + "currency=USD&account=position", 400, codeInvalidQuery},
		{"hub account", base + "currency=USD&account=HUB_RECONCILIATION", 400, codeInvalidQuery},
		{"bad from", base + "currency=USD&account=POSITION&from=2025-03-01", 400, codeInvalidQuery},
		{"bad to", base + "currency=USD&account=POSITION&to=yesterday", 400, codeInvalidQuery},
		{"from after to", base + "currency=USD&account=POSITION&from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z", 400, codeInvalidQuery},
		{"from equals to", base + "currency=USD&account=POSITION&from=2025-03-02T00:00:00Z&to=2025-03-02T00:00:00Z", 400, codeInvalidQuery},
		{"from in the future", base + "currency=USD&account=POSITION&from=2999-01-01T00:00:00Z", 400, codeInvalidQuery},
		{"bad format", base + "currency=USD&account=POSITION&format=xml", 400, codeInvalidQuery},
		{"twice", base + "currency=USD&currency=USD&account=POSITION", 400, codeInvalidQuery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, b := h.do("GET", tc.path, "", "")
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, b)
			}
			if got := errorCode(t, b); got != tc.code {
				t.Errorf("code %s, want %s", got, tc.code)
			}
		})
	}
}

// reconciliationDoc is the JSON answer of a reconciliation, as far as these
// tests read it.
type reconciliationDoc struct {
	Clean                bool           `json:"clean"`
	Counts               map[string]int `json:"counts"`
	Matched              []entryDoc     `json:"matched"`
	MissingAtHub         []entryDoc     `json:"missingAtHub"`
	MissingAtParticipant []entryDoc     `json:"missingAtParticipant"`
	AmountMismatches     []entryDoc     `json:"amountMismatches"`
	StateMismatches      []entryDoc     `json:"stateMismatches"`
}

type entryDoc struct {
	TransferID  string `json:"transferId"`
	Line        int    `json:"line"`
	Participant *struct {
		Amount string `json:"amount"`
		State  string `json:"state"`
	} `json:"participant"`
	Hub *struct {
		Amount string `json:"amount"`
		State  string `json:"state"`
	} `json:"hub"`
}

func ids(es []entryDoc) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.TransferID)
	}
	return out
}

func TestReconcile(t *testing.T) {
	h, _, _, pays := settledFlow(t)
	// a's payments: pays[0] a->b 300, pays[2] c->a 50, pays[3] a->c 0.01,
	// pays[4] b->a 7.
	const at = "2025-03-01T12:00:00Z"
	unknown := "00000000-0000-4000-8000-ffffffffffff"
	const header = "transfer_id,currency,amount,state,direction,completed_at\n"
	path := "/admin/v1/participants/a/reconcile?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z"

	t.Run("clean", func(t *testing.T) {
		body := header +
			pays[0].String() + ",USD,300,COMMITTED,SENT," + at + "\n" +
			pays[2].String() + ",USD,50,COMMITTED,RECEIVED," + at + "\n" +
			pays[3].String() + ",USD,0.01,COMMITTED,SENT,\n" +
			pays[4].String() + ",USD,7,COMMITTED,,\n"
		var got reconciliationDoc
		status, _, b := h.do("POST", path, "text/csv", body)
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, b)
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if !got.Clean || len(got.Matched) != 4 || got.Counts["matched"] != 4 {
			t.Errorf("clean %v, matched %d (count %d), want clean and 4: %s", got.Clean, len(got.Matched), got.Counts["matched"], b)
		}
	})

	t.Run("differences", func(t *testing.T) {
		body := header +
			pays[0].String() + ",USD,300,COMMITTED,SENT," + at + "\n" + // matches
			pays[2].String() + ",USD,49.99,COMMITTED,RECEIVED," + at + "\n" + // amount mismatch
			pays[3].String() + ",USD,0.01,ABORTED,SENT,\n" + // state mismatch
			unknown + ",USD,5,COMMITTED,SENT,\n" + // missing at the hub
			pays[1].String() + ",USD,150.5,COMMITTED,SENT,\n" // b's, not a's: missing at the hub
		// pays[4] is not in the file: missing at the participant.
		status, _, b := h.do("POST", path, "text/csv; charset=utf-8", body)
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, b)
		}
		var got reconciliationDoc
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Clean {
			t.Errorf("clean, want differences: %s", b)
		}
		for _, c := range []struct {
			name string
			got  []string
			want []string
		}{
			{"matched", ids(got.Matched), []string{pays[0].String()}},
			{"missing at hub", ids(got.MissingAtHub), []string{unknown, pays[1].String()}},
			{"missing at participant", ids(got.MissingAtParticipant), []string{pays[4].String()}},
			{"amount", ids(got.AmountMismatches), []string{pays[2].String()}},
			{"state", ids(got.StateMismatches), []string{pays[3].String()}},
		} {
			if !sameSet(c.got, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
			}
		}
		if len(got.AmountMismatches) == 1 {
			e := got.AmountMismatches[0]
			if e.Line != 3 || e.Participant == nil || e.Participant.Amount != "49.99" || e.Hub == nil || e.Hub.Amount != "50" {
				t.Errorf("amount mismatch %+v: want line 3, 49.99 in the file and 50 at the hub", e)
			}
		}
		if len(got.StateMismatches) == 1 {
			e := got.StateMismatches[0]
			if e.Participant == nil || e.Participant.State != "ABORTED" || e.Hub == nil || e.Hub.State != "COMMITTED" {
				t.Errorf("state mismatch %+v: want ABORTED in the file and COMMITTED at the hub", e)
			}
		}
		if len(got.MissingAtParticipant) == 1 && (got.MissingAtParticipant[0].Hub == nil || got.MissingAtParticipant[0].Participant != nil) {
			t.Errorf("missing at participant %+v: want the hub's side only", got.MissingAtParticipant[0])
		}
	})
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[string]int)
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestReconcileErrors(t *testing.T) {
	h, _, _, pays := settledFlow(t)
	const header = "transfer_id,currency,amount,state\n"
	good := header + pays[0].String() + ",USD,300,COMMITTED\n"
	path := "/admin/v1/participants/a/reconcile?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z"

	t.Run("bad lines", func(t *testing.T) {
		body := header +
			pays[0].String() + ",USD,300,COMMITTED\n" + // line 2, good
			pays[2].String() + ",USD,12.345,COMMITTED\n" + // line 3, too many decimals
			pays[3].String() + ",USD,1,DONE\n" + // line 4, bad state
			pays[4].String() + ",USD,1\n" // line 5, too few cells
		status, _, b := h.do("POST", path, "text/csv", body)
		if status != http.StatusBadRequest {
			t.Fatalf("status %d: %s", status, b)
		}
		var e adminapi.ErrorBody
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if e.Error.Code != codeInvalidRecords {
			t.Errorf("code %s, want %s", e.Error.Code, codeInvalidRecords)
		}
		var lines []int
		for _, l := range e.Error.Lines {
			lines = append(lines, l.Line)
			if l.Message == "" {
				t.Errorf("line %d has no message", l.Line)
			}
		}
		if want := []int{3, 4, 5}; !reflect.DeepEqual(lines, want) {
			t.Errorf("bad lines %v, want %v: %s", lines, want, b)
		}
		if !strings.Contains(e.Error.Message, "line 3") {
			t.Errorf("message %q does not name line 3", e.Error.Message)
		}
	})

	big := header + strings.Repeat(pays[0].String()+",USD,300,COMMITTED\n", maxRecordsBody/50)
	for _, tc := range []struct {
		name, path, ctype, body string
		status                  int
		code                    string
	}{
		{"unknown participant", "/admin/v1/participants/zz/reconcile?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z", "text/csv", good, 404, ledger.ErrParticipantNotFound.Code},
		{"json body", path, "application/json", good, 415, codeUnsupportedMedia},
		{"no content type", path, "", good, 415, codeUnsupportedMedia},
		{"empty", path, "text/csv", "", 400, codeInvalidRecords},
		{"no header", path, "text/csv", pays[0].String() + ",USD,300,COMMITTED\n", 400, codeInvalidRecords},
		{"too large", path, "text/csv", big, 413, codeBodyTooLarge},
		{"bad from", "/admin/v1/participants/a/reconcile?from=2025-03-01", "text/csv", good, 400, codeInvalidQuery},
		{"from after to", "/admin/v1/participants/a/reconcile?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z", "text/csv", good, 400, codeInvalidQuery},
		{"bad funds", path + "&funds=yes", "text/csv", good, 400, codeInvalidQuery},
		{"no range", "/admin/v1/participants/a/reconcile", "text/csv", good, 400, codeInvalidQuery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, b := h.do("POST", tc.path, tc.ctype, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %.300s", status, tc.status, b)
			}
			if got := recordsCode(t, b); got != tc.code {
				t.Errorf("code %s, want %s", got, tc.code)
			}
		})
	}
}
