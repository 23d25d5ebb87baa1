package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// TokenEnv is the environment variable the hub and its command line read
// the admin token from.
const TokenEnv = "HUTONG_ADMIN_TOKEN"

// maxAnswer is the largest answer the client reads, in bytes.
const maxAnswer = 64 << 20

// Error is the admin API's refusal of a request: the answer's HTTP status
// and the error body's stable code and message. Act on Code; Message is
// for people.
type Error struct {
	Status  int    // the HTTP status, 4xx or 5xx
	Code    string // the stable code, such as SETTLEMENT_NOT_FOUND
	Message string
	// Lines lists the bad lines of a records file when Code is
	// INVALID_RECORDS.
	Lines []LineError
}

// Error returns the message and the code; for a records file, every bad
// line it lists.
func (e *Error) Error() string {
	msg := e.Message
	if len(e.Lines) > 0 {
		var sb strings.Builder
		sb.WriteString("the records file has bad lines:")
		for _, l := range e.Lines {
			fmt.Fprintf(&sb, "\n  line %d: %s", l.Line, l.Message)
		}
		msg = sb.String()
	}
	return fmt.Sprintf("%s (%s)", msg, e.Code)
}

// AnswerError is returned for an answer other than 2xx that is not the
// admin API's error body: the URL reaches another server, or a proxy
// answered for the hub.
type AnswerError struct {
	Method, Path string
	StatusCode   int
	Status       string // as the server wrote it, "502 Bad Gateway"
	Body         []byte // the start of the answer's body
}

func (e *AnswerError) Error() string {
	return fmt.Sprintf("admin API: %s %s: %s, not an answer of the admin API: %.200q", e.Method, e.Path, e.Status, e.Body)
}

// Client makes requests of a hub's admin API. Its methods return the
// API's answer decoded, an *Error when the API refused, an *AnswerError
// when something else answered, and any other error when no answer came.
// A Client is safe for concurrent use.
type Client struct {
	base  string // scheme and host, and a path prefix if any, without a trailing "/"
	token string
	http  *http.Client
}

// NewClient returns a client of the admin API at base, such as
// "http://127.0.0.1:7070". token, when not "", is sent as the bearer token
// with every request. hc nil means http.DefaultClient.
func NewClient(base, token string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("admin API URL %q is not an http or https URL such as http://127.0.0.1:7070", base)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimSuffix(u.String(), "/"), token: token, http: hc}, nil
}

// path joins the API's prefix, a route's format and its path segments,
// escaped.
func path(format string, segments ...string) string {
	a := make([]any, len(segments))
	for i, s := range segments {
		a[i] = url.PathEscape(s)
	}
	return "/admin/v1" + fmt.Sprintf(format, a...)
}

// do sends a request to p with query and body (sent as contentType when
// not nil) and returns the answer's body when it is 2xx.
func (c *Client) do(ctx context.Context, method, p string, query url.Values, contentType string, body []byte) ([]byte, error) {
	target := c.base + p
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("admin API: %s %s: reading the answer: %w", method, p, err)
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	var e ErrorBody
	if json.Unmarshal(b, &e) != nil || e.Error.Code == "" {
		return nil, &AnswerError{Method: method, Path: p, StatusCode: resp.StatusCode, Status: resp.Status, Body: b[:min(len(b), 1024)]}
	}
	return nil, &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message, Lines: e.Error.Lines}
}

// call sends in (when not nil) as JSON and decodes the answer.
func call[T any](ctx context.Context, c *Client, method, p string, query url.Values, in any) (*T, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	b, err := c.do(ctx, method, p, query, "application/json", body)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("admin API: %s %s: unexpected answer: %w", method, p, err)
	}
	return out, nil
}

// filter is the query of a list filtered by currency and state, each
// left out when "".
func filter(currency, state string) url.Values {
	q := url.Values{}
	if currency != "" {
		q.Set("currency", currency)
	}
	if state != "" {
		q.Set("state", state)
	}
	return q
}

// Models returns every currency's settlement model and open window.
func (c *Client) Models(ctx context.Context) (*ModelList, error) {
	return call[ModelList](ctx, c, "GET", path("/settlement-models"), nil, nil)
}

// SetModel sets a currency's settlement model, such as
// DEFERRED_MULTILATERAL_NET.
func (c *Client) SetModel(ctx context.Context, currency, model string) (*SettlementModel, error) {
	return call[SettlementModel](ctx, c, "PUT", path("/settlement-models/%s", currency), nil, ModelRequest{Model: model})
}

// Windows lists settlement windows, of one currency and in one state when
// those are not "".
func (c *Client) Windows(ctx context.Context, currency, state string) (*WindowList, error) {
	return call[WindowList](ctx, c, "GET", path("/settlement-windows"), filter(currency, state), nil)
}

// Window returns a settlement window with its flows. id is sent as given,
// so that the API says what is wrong with one that is not an id.
func (c *Client) Window(ctx context.Context, id string) (*WindowDetail, error) {
	return call[WindowDetail](ctx, c, "GET", path("/settlement-windows/%s", id), nil, nil)
}

// CloseWindow closes the window id; one already closed is refused
// (WINDOW_NOT_OPEN), so a close by id is safe to repeat.
func (c *Client) CloseWindow(ctx context.Context, id string) (*ClosedWindow, error) {
	return call[ClosedWindow](ctx, c, "POST", path("/settlement-windows/%s/close", id), nil, nil)
}

// CloseOpenWindow closes whichever window is open in currency.
func (c *Client) CloseOpenWindow(ctx context.Context, currency string) (*ClosedWindow, error) {
	return call[ClosedWindow](ctx, c, "POST", path("/settlement-windows/close"), nil, CloseWindowRequest{Currency: currency})
}

// CreateSettlement creates a settlement over closed windows.
func (c *Client) CreateSettlement(ctx context.Context, req CreateSettlementRequest) (*Settlement, error) {
	return call[Settlement](ctx, c, "POST", path("/settlements"), nil, req)
}

// Settlements lists settlements, of one currency and in one state when
// those are not "".
func (c *Client) Settlements(ctx context.Context, currency, state string) (*SettlementList, error) {
	return call[SettlementList](ctx, c, "GET", path("/settlements"), filter(currency, state), nil)
}

// Settlement returns a settlement with its nets and history.
func (c *Client) Settlement(ctx context.Context, id string) (*Settlement, error) {
	return call[Settlement](ctx, c, "GET", path("/settlements/%s", id), nil, nil)
}

// SetSettlementState moves a settlement one step.
func (c *Client) SetSettlementState(ctx context.Context, id string, req SettlementStateRequest) (*Settlement, error) {
	return call[Settlement](ctx, c, "PUT", path("/settlements/%s/state", id), nil, req)
}

// Settle takes a settlement through every step to SETTLED.
func (c *Client) Settle(ctx context.Context, id string) (*Settlement, error) {
	return call[Settlement](ctx, c, "POST", path("/settlements/%s/settle", id), nil, nil)
}

// SetNDC sets a participant's net debit cap in a currency.
func (c *Client) SetNDC(ctx context.Context, participant, currency, amount string) (*Participant, error) {
	return call[Participant](ctx, c, "PUT", path("/participants/%s/currencies/%s/ndc", participant, currency), nil, NDCRequest{Amount: amount})
}

// FundsIn records collateral deposited for a participant.
func (c *Client) FundsIn(ctx context.Context, participant string, req FundsRequest) (*Transfer, error) {
	return call[Transfer](ctx, c, "POST", path("/participants/%s/funds-in", participant), nil, req)
}

// FundsOut reserves collateral of a participant to withdraw.
func (c *Client) FundsOut(ctx context.Context, participant string, req FundsRequest) (*Transfer, error) {
	return call[Transfer](ctx, c, "POST", path("/participants/%s/funds-out", participant), nil, req)
}

// CommitFundsOut commits a reserved funds out.
func (c *Client) CommitFundsOut(ctx context.Context, id string) (*Transfer, error) {
	return call[Transfer](ctx, c, "POST", path("/funds-out/%s/commit", id), nil, nil)
}

// AbortFundsOut releases a reserved funds out.
func (c *Client) AbortFundsOut(ctx context.Context, id, reason string) (*Transfer, error) {
	return call[Transfer](ctx, c, "POST", path("/funds-out/%s/abort", id), nil, AbortFundsOutRequest{Reason: reason})
}

// Accounts returns a participant's accounts.
func (c *Client) Accounts(ctx context.Context, participant string) (*AccountList, error) {
	return call[AccountList](ctx, c, "GET", path("/participants/%s/accounts", participant), nil, nil)
}

// Positions returns every participant's position in a currency.
func (c *Client) Positions(ctx context.Context, currency string) (*Positions, error) {
	return call[Positions](ctx, c, "GET", path("/positions"), url.Values{"currency": {currency}}, nil)
}

// Alerts returns the newest liquidity alerts of every participant.
func (c *Client) Alerts(ctx context.Context) (*AlertList, error) {
	return call[AlertList](ctx, c, "GET", path("/alerts"), nil, nil)
}

// ParticipantAlerts returns a participant's newest liquidity alerts.
func (c *Client) ParticipantAlerts(ctx context.Context, participant string) (*AlertList, error) {
	return call[AlertList](ctx, c, "GET", path("/participants/%s/alerts", participant), nil, nil)
}

// Document formats, the values of the documents' format parameter.
const (
	FormatJSON    = "json"
	FormatCSV     = "csv"
	FormatCAMT053 = "camt053" // statements only
)

// WindowReport returns the settlement report of a window in format
// (FormatJSON or FormatCSV), as the API wrote it.
func (c *Client) WindowReport(ctx context.Context, id, format string) ([]byte, error) {
	return c.do(ctx, "GET", path("/settlement-windows/%s/report", id), url.Values{"format": {format}}, "", nil)
}

// SettlementReport returns the settlement report of a settlement in format
// (FormatJSON or FormatCSV), as the API wrote it.
func (c *Client) SettlementReport(ctx context.Context, id, format string) ([]byte, error) {
	return c.do(ctx, "GET", path("/settlements/%s/report", id), url.Values{"format": {format}}, "", nil)
}

// StatementQuery asks for a statement. From and To are RFC 3339 times,
// left out when ""; Format is FormatJSON, FormatCSV or FormatCAMT053.
type StatementQuery struct {
	Currency string
	Account  string // POSITION or SETTLEMENT
	From, To string
	Format   string
}

// Statement returns the statement of a participant's account, as the API
// wrote it.
func (c *Client) Statement(ctx context.Context, participant string, q StatementQuery) ([]byte, error) {
	v := url.Values{"currency": {q.Currency}, "account": {q.Account}, "format": {q.Format}}
	if q.From != "" {
		v.Set("from", q.From)
	}
	if q.To != "" {
		v.Set("to", q.To)
	}
	return c.do(ctx, "GET", path("/participants/%s/statement", participant), v, "", nil)
}

// ReconcileQuery bounds a reconciliation: From and To are RFC 3339 times,
// left out when ""; Funds includes funds in and out in the sweep.
type ReconcileQuery struct {
	From, To string
	Funds    bool
}

// Reconcile compares a participant's records, a CSV file with a header
// line, with the hub's. A file with bad lines is refused with an *Error
// listing them in Lines.
func (c *Client) Reconcile(ctx context.Context, participant string, records []byte, q ReconcileQuery) (*Reconciliation, error) {
	v := url.Values{}
	if q.From != "" {
		v.Set("from", q.From)
	}
	if q.To != "" {
		v.Set("to", q.To)
	}
	if q.Funds {
		v.Set("funds", "true")
	}
	p := path("/participants/%s/reconcile", participant)
	b, err := c.do(ctx, "POST", p, v, "text/csv", records)
	if err != nil {
		return nil, err
	}
	out := new(Reconciliation)
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("admin API: POST %s: unexpected answer: %w", p, err)
	}
	return out, nil
}
