package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hutong/hutong/admin"
	"github.com/spf13/cobra"
)

// The operator's commands talk to a running hub's admin API over HTTP, the
// same API an operator's own tools use: each command is one or a few
// requests, and prints the answer as a table or, with --json, as the API
// wrote it.

// adminEnv names the environment variable that gives the admin API's URL
// when --admin is not given.
const adminEnv = "HUTONG_ADMIN"

// defaultAdminURL is where `hutong serve` puts the admin API by default.
const defaultAdminURL = "http://127.0.0.1:7070"

// adminTimeout bounds one request to the admin API.
const adminTimeout = time.Minute

// adminOptions are the flags of every command that talks to the admin API.
type adminOptions struct {
	url  string
	json bool
}

// register adds --admin and --json to c and its subcommands.
func (o *adminOptions) register(c *cobra.Command) {
	c.PersistentFlags().StringVar(&o.url, "admin", defaultAdminURL, "base URL of the hub's admin API (default from $"+adminEnv+" when set); the token in $"+admin.TokenEnv+", if set, is sent with every request")
	c.PersistentFlags().BoolVar(&o.json, "json", false, "print the API's JSON answer instead of a table")
}

// client returns a client of the admin API that cmd names: --admin, else
// $HUTONG_ADMIN, else the default.
func (o *adminOptions) client(cmd *cobra.Command) (*adminClient, error) {
	base := o.url
	if f := cmd.Flags().Lookup("admin"); (f == nil || !f.Changed) && os.Getenv(adminEnv) != "" {
		base = os.Getenv(adminEnv)
	}
	return newAdminClient(base)
}

// adminClient makes requests of the admin API.
type adminClient struct {
	base  string // scheme and host, and a path prefix if any, without a trailing "/"
	token string // sent as a bearer token when not empty
	http  *http.Client
}

func newAdminClient(base string) (*adminClient, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("admin API URL %q is not an http or https URL such as %s", base, defaultAdminURL)
	}
	return &adminClient{base: strings.TrimSuffix(u.String(), "/"), token: os.Getenv(admin.TokenEnv),
		http: &http.Client{Timeout: adminTimeout}}, nil
}

// adminError is the admin API's refusal of a request.
type adminError struct {
	Status  int
	Code    string
	Message string
}

func (e *adminError) Error() string { return fmt.Sprintf("%s (%s)", e.Message, e.Code) }

// do sends a request to path (under the base URL) with query and, when body
// is not nil, body as JSON, and returns the answer's body. An answer other
// than 2xx is returned as an *adminError.
func (c *adminClient) do(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
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
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("admin API: %s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil || e.Error.Code == "" {
		return nil, fmt.Errorf("admin API: %s %s: %s, not an answer of the admin API: %.200q", method, path, resp.Status, b)
	}
	return nil, &adminError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
}

// adminCall makes a request and prints its answer: with --json as it came, else
// decoded into a value of type T and written by render.
func adminCall[T any](cmd *cobra.Command, o *adminOptions, method, path string, query url.Values, body any, render func(io.Writer, *T) error) error {
	c, err := o.client(cmd)
	if err != nil {
		return err
	}
	b, err := c.do(cmd.Context(), method, path, query, body)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if o.json {
		var buf bytes.Buffer
		if err := json.Indent(&buf, b, "", "  "); err != nil {
			return fmt.Errorf("admin API: %s %s: the answer is not JSON: %w", method, path, err)
		}
		buf.WriteByte('\n')
		_, err := out.Write(buf.Bytes())
		return err
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("admin API: %s %s: unexpected answer: %w", method, path, err)
	}
	return render(out, v)
}

// table writes aligned columns; rows are tab-separated.
func table(w io.Writer, header string, rows []string) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	tw.Flush()
	// An empty last column leaves padding behind.
	var out strings.Builder
	for line := range strings.Lines(buf.String()) {
		out.WriteString(strings.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// orDash shows an absent value.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// The settlement answers, as far as the tables show them.
type (
	cliModel struct {
		Currency string `json:"currency"`
		Model    string `json:"model"`
		Window   uint64 `json:"window"`
	}
	cliFlow struct {
		Payer  string `json:"payer"`
		Payee  string `json:"payee"`
		Count  int64  `json:"count"`
		Amount string `json:"amount"`
	}
	cliWindow struct {
		ID         uint64    `json:"id"`
		Currency   string    `json:"currency"`
		Model      string    `json:"model"`
		State      string    `json:"state"`
		Opened     string    `json:"opened"`
		Closed     string    `json:"closed"`
		Settlement uint64    `json:"settlement"`
		Count      int64     `json:"count"`
		Amount     string    `json:"amount"`
		Flows      []cliFlow `json:"flows"`
	}
	cliNet struct {
		Participant   string `json:"participant"`
		Sent          string `json:"sent"`
		Received      string `json:"received"`
		SentCount     int64  `json:"sentCount"`
		ReceivedCount int64  `json:"receivedCount"`
		Net           string `json:"net"`
	}
	cliStateChange struct {
		State  string `json:"state"`
		At     string `json:"at"`
		Reason string `json:"reason"`
	}
	cliSettlement struct {
		ID       uint64           `json:"id"`
		Currency string           `json:"currency"`
		Model    string           `json:"model"`
		State    string           `json:"state"`
		Allowed  []string         `json:"allowed"`
		Windows  []uint64         `json:"windows"`
		Created  string           `json:"created"`
		Updated  string           `json:"updated"`
		Reason   string           `json:"reason"`
		Count    int64            `json:"count"`
		Amount   string           `json:"amount"`
		Position string           `json:"position"`
		Nets     []cliNet         `json:"nets"`
		Owed     []cliFlow        `json:"owed"`
		History  []cliStateChange `json:"history"`
	}
	cliModelList struct {
		Models []cliModel `json:"models"`
	}
	cliWindowList struct {
		Windows []cliWindow `json:"windows"`
	}
	cliClosed struct {
		Closed cliWindow `json:"closed"`
		Next   cliWindow `json:"next"`
	}
	cliSettlementList struct {
		Settlements []cliSettlement `json:"settlements"`
	}
)

func joinIDs(ns []uint64) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(s, ",")
}

func printModels(w io.Writer, v *cliModelList) error {
	rows := make([]string, 0, len(v.Models))
	for _, m := range v.Models {
		rows = append(rows, fmt.Sprintf("%s\t%s\t%d", m.Currency, m.Model, m.Window))
	}
	return table(w, "CURRENCY\tMODEL\tOPEN WINDOW", rows)
}

func printWindows(w io.Writer, v *cliWindowList) error {
	rows := make([]string, 0, len(v.Windows))
	for _, x := range v.Windows {
		settlement := "-"
		if x.Settlement != 0 {
			settlement = strconv.FormatUint(x.Settlement, 10)
		}
		rows = append(rows, fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s",
			x.ID, x.Currency, x.Model, x.State, x.Opened, orDash(x.Closed), x.Count, x.Amount, settlement))
	}
	return table(w, "ID\tCURRENCY\tMODEL\tSTATE\tOPENED\tCLOSED\tPAYMENTS\tAMOUNT\tSETTLEMENT", rows)
}

func printWindow(w io.Writer, x *cliWindow) error {
	fmt.Fprintf(w, "window %d  %s  %s  %s\n", x.ID, x.Currency, x.Model, x.State)
	fmt.Fprintf(w, "opened %s, closed %s\n", x.Opened, orDash(x.Closed))
	if x.Settlement != 0 {
		fmt.Fprintf(w, "settlement %d\n", x.Settlement)
	}
	fmt.Fprintf(w, "%d payments, %s %s\n", x.Count, x.Amount, x.Currency)
	if len(x.Flows) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	rows := make([]string, 0, len(x.Flows))
	for _, f := range x.Flows {
		rows = append(rows, fmt.Sprintf("%s\t%s\t%d\t%s", f.Payer, f.Payee, f.Count, f.Amount))
	}
	return table(w, "PAYER\tPAYEE\tPAYMENTS\tAMOUNT", rows)
}

func printClosed(w io.Writer, v *cliClosed) error {
	if err := printWindow(w, &v.Closed); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nwindow %d is now the open window of %s\n", v.Next.ID, v.Next.Currency)
	return err
}

func printSettlements(w io.Writer, v *cliSettlementList) error {
	rows := make([]string, 0, len(v.Settlements))
	for _, s := range v.Settlements {
		rows = append(rows, fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s",
			s.ID, s.Currency, s.Model, s.State, joinIDs(s.Windows), s.Count, s.Amount, s.Position, s.Updated))
	}
	return table(w, "ID\tCURRENCY\tMODEL\tSTATE\tWINDOWS\tPAYMENTS\tAMOUNT\tTO MOVE\tUPDATED", rows)
}

func printSettlement(w io.Writer, s *cliSettlement) error {
	fmt.Fprintf(w, "settlement %d  %s  %s  %s\n", s.ID, s.Currency, s.Model, s.State)
	fmt.Fprintf(w, "windows %s; %d payments, %s %s; %s %s to move\n", joinIDs(s.Windows), s.Count, s.Amount, s.Currency, s.Position, s.Currency)
	if s.Reason != "" {
		fmt.Fprintf(w, "aborted: %s\n", s.Reason)
	}
	if len(s.Allowed) > 0 {
		fmt.Fprintf(w, "next: %s\n", strings.Join(s.Allowed, " or "))
	}
	if len(s.Nets) > 0 {
		fmt.Fprintln(w)
		rows := make([]string, 0, len(s.Nets))
		for _, n := range s.Nets {
			rows = append(rows, fmt.Sprintf("%s\t%s\t%d\t%s\t%d\t%s", n.Participant, n.Sent, n.SentCount, n.Received, n.ReceivedCount, n.Net))
		}
		if err := table(w, "PARTICIPANT\tSENT\tPAYMENTS\tRECEIVED\tPAYMENTS\tNET (+ owes)", rows); err != nil {
			return err
		}
	}
	if len(s.Owed) > 0 {
		fmt.Fprintln(w)
		rows := make([]string, 0, len(s.Owed))
		for _, o := range s.Owed {
			rows = append(rows, fmt.Sprintf("%s\t%s\t%s\t%d", o.Payer, o.Payee, o.Amount, o.Count))
		}
		if err := table(w, "PAYER\tOWES PAYEE\tAMOUNT\tPAYMENTS", rows); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	rows := make([]string, 0, len(s.History))
	for _, h := range s.History {
		rows = append(rows, fmt.Sprintf("%s\t%s\t%s", h.At, h.State, h.Reason))
	}
	return table(w, "AT\tSTATE\tREASON", rows)
}

// modelAliases lets the operator name a model by its kind alone.
var modelAliases = map[string]string{
	"MULTILATERAL": "DEFERRED_MULTILATERAL_NET",
	"BILATERAL":    "DEFERRED_BILATERAL_NET",
	"GROSS":        "IMMEDIATE_GROSS",
}

// settlementCmd is `hutong settlement`: settlement models, windows and
// settlements, over the admin API.
func settlementCmd(context.Context) *cobra.Command {
	o := &adminOptions{}
	c := &cobra.Command{
		Use:   "settlement",
		Short: "Settlement models, windows and settlements of a running hub, over its admin API",
		Long: `Settlement models, windows and settlements of a running hub, over its
admin API (--admin, or $` + adminEnv + `, default ` + defaultAdminURL + `).

Every currency has one open settlement window; committed payments join it.
Close it to settle its payments: under a deferred net model, create a
settlement over closed windows and take it through PS_TRANSFERS_RECORDED,
PS_TRANSFERS_RESERVED, PS_TRANSFERS_COMMITTED (positions are reset and
settlement accounts move) to SETTLED, or abort it before it commits.`,
		Args: cobra.NoArgs,
	}
	o.register(c)
	path := func(format string, a ...any) string {
		for i, v := range a {
			if s, ok := v.(string); ok {
				a[i] = url.PathEscape(s)
			}
		}
		return fmt.Sprintf(format, a...)
	}

	models := &cobra.Command{
		Use:   "models",
		Short: "Every currency's settlement model and open window",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return adminCall(cmd, o, "GET", "/admin/v1/settlement-models", nil, nil, printModels)
		},
	}

	setModel := &cobra.Command{
		Use:   "set-model CURRENCY MODEL",
		Short: "Set a currency's model: DEFERRED_MULTILATERAL_NET, DEFERRED_BILATERAL_NET or IMMEDIATE_GROSS (or multilateral, bilateral, gross)",
		Long: `Set a currency's settlement model. When its open window has payments it is
closed, to be settled under the old model, and a new window opens.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			model := strings.ToUpper(args[1])
			if full, ok := modelAliases[model]; ok {
				model = full
			}
			return adminCall(cmd, o, "PUT", path("/admin/v1/settlement-models/%s", args[0]), nil, map[string]string{"model": model},
				func(w io.Writer, m *cliModel) error {
					_, err := fmt.Fprintf(w, "%s settles %s; window %d is open\n", m.Currency, m.Model, m.Window)
					return err
				})
		},
	}

	var wCurrency, wState string
	windows := &cobra.Command{
		Use:   "windows",
		Short: "List settlement windows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if wCurrency != "" {
				q.Set("currency", wCurrency)
			}
			if wState != "" {
				q.Set("state", strings.ToUpper(wState))
			}
			return adminCall(cmd, o, "GET", "/admin/v1/settlement-windows", q, nil, printWindows)
		},
	}
	windows.Flags().StringVar(&wCurrency, "currency", "", "only windows of this currency")
	windows.Flags().StringVar(&wState, "state", "", "only windows in this state: OPEN, CLOSED, PENDING_SETTLEMENT or SETTLED")

	window := &cobra.Command{
		Use:   "window ID",
		Short: "Show a settlement window with what each payer paid each payee",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, o, "GET", path("/admin/v1/settlement-windows/%s", args[0]), nil, nil, printWindow)
		},
	}

	var closeCurrency string
	closeWindow := &cobra.Command{
		Use:   "close-window (ID | --currency CURRENCY)",
		Short: "Close a settlement window, by id or whichever is open in a currency",
		Long: `Close a settlement window and open the next one of its currency. By id, a
window already closed is refused, so a close can safely be repeated; with
--currency, each run closes the window open at that moment.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 1 && closeCurrency == "":
				return adminCall(cmd, o, "POST", path("/admin/v1/settlement-windows/%s/close", args[0]), nil, nil, printClosed)
			case len(args) == 0 && closeCurrency != "":
				return adminCall(cmd, o, "POST", "/admin/v1/settlement-windows/close", nil, map[string]string{"currency": closeCurrency}, printClosed)
			}
			return errors.New("close-window needs a window id or --currency, not both")
		},
	}
	closeWindow.Flags().StringVar(&closeCurrency, "currency", "", "close the window open in this currency")

	var createCurrency string
	create := &cobra.Command{
		Use:   "create WINDOW_ID...",
		Short: "Create a settlement over closed windows of one currency",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws := make([]uint64, len(args))
			for i, a := range args {
				n, err := strconv.ParseUint(a, 10, 64)
				if err != nil {
					return fmt.Errorf("window id %q is not a whole number", a)
				}
				ws[i] = n
			}
			body := map[string]any{"windows": ws}
			if createCurrency != "" {
				body["currency"] = createCurrency
			}
			return adminCall(cmd, o, "POST", "/admin/v1/settlements", nil, body, printSettlement)
		},
	}
	create.Flags().StringVar(&createCurrency, "currency", "", "check that every window is in this currency")

	var sCurrency, sState string
	list := &cobra.Command{
		Use:   "list",
		Short: "List settlements",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if sCurrency != "" {
				q.Set("currency", sCurrency)
			}
			if sState != "" {
				q.Set("state", strings.ToUpper(sState))
			}
			return adminCall(cmd, o, "GET", "/admin/v1/settlements", q, nil, printSettlements)
		},
	}
	list.Flags().StringVar(&sCurrency, "currency", "", "only settlements of this currency")
	list.Flags().StringVar(&sState, "state", "", "only settlements in this state")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a settlement with every participant's net and its history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, o, "GET", path("/admin/v1/settlements/%s", args[0]), nil, nil, printSettlement)
		},
	}

	var stateReason string
	state := &cobra.Command{
		Use:   "state ID STATE",
		Short: "Move a settlement one step: PS_TRANSFERS_RECORDED, PS_TRANSFERS_RESERVED, PS_TRANSFERS_COMMITTED, SETTLED or ABORTED",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]string{"state": strings.ToUpper(args[1])}
			if stateReason != "" {
				body["reason"] = stateReason
			}
			return adminCall(cmd, o, "PUT", path("/admin/v1/settlements/%s/state", args[0]), nil, body, printSettlement)
		},
	}
	state.Flags().StringVar(&stateReason, "reason", "", "why, kept in the settlement's history (required for ABORTED)")

	settle := &cobra.Command{
		Use:   "settle ID",
		Short: "Take a settlement from its current state through every step to SETTLED",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, o, "POST", path("/admin/v1/settlements/%s/settle", args[0]), nil, nil, printSettlement)
		},
	}

	var abortReason string
	abort := &cobra.Command{
		Use:   "abort ID --reason TEXT",
		Short: "Abort a settlement that has not committed; its windows can be settled anew",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, o, "PUT", path("/admin/v1/settlements/%s/state", args[0]), nil,
				map[string]string{"state": "ABORTED", "reason": abortReason}, printSettlement)
		},
	}
	abort.Flags().StringVar(&abortReason, "reason", "", "why it is aborted (required)")
	abort.MarkFlagRequired("reason")

	c.AddCommand(models, setModel, windows, window, closeWindow, create, list, show, state, settle, abort)
	return c
}
