package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hutong/hutong/admin/adminapi"
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
	c.PersistentFlags().StringVar(&o.url, "admin", defaultAdminURL, "base URL of the hub's admin API (default from $"+adminEnv+" when set); the token in $"+adminapi.TokenEnv+", if set, is sent with every request")
	c.PersistentFlags().BoolVar(&o.json, "json", false, "print the API's JSON answer instead of a table")
}

// client returns a client of the admin API that cmd names: --admin, else
// $HUTONG_ADMIN, else the default. It sends the token in
// $HUTONG_ADMIN_TOKEN, when set.
func (o *adminOptions) client(cmd *cobra.Command) (*adminapi.Client, error) {
	base := o.url
	if f := cmd.Flags().Lookup("admin"); (f == nil || !f.Changed) && os.Getenv(adminEnv) != "" {
		base = os.Getenv(adminEnv)
	}
	return adminapi.NewClient(base, os.Getenv(adminapi.TokenEnv), &http.Client{Timeout: adminTimeout})
}

// adminCall makes a request through the client with call and prints its
// answer: with --json as the API wrote it, indented, else by render.
func adminCall[T any](cmd *cobra.Command, o *adminOptions, call func(context.Context, *adminapi.Client) (*T, error), render func(io.Writer, *T) error) error {
	c, err := o.client(cmd)
	if err != nil {
		return err
	}
	v, err := call(cmd.Context(), c)
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(cmd.OutOrStdout(), v)
	}
	return render(cmd.OutOrStdout(), v)
}

// printJSON writes an answer as indented JSON. The answer's type is the
// one the API wrote it from, so this is the API's JSON.
func printJSON[T any](w io.Writer, v *T) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
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

func joinIDs(ns []uint64) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(s, ",")
}

func printModels(w io.Writer, v *adminapi.ModelList) error {
	rows := make([]string, 0, len(v.Models))
	for _, m := range v.Models {
		rows = append(rows, fmt.Sprintf("%s\t%s\t%d", m.Currency, m.Model, m.Window))
	}
	return table(w, "CURRENCY\tMODEL\tOPEN WINDOW", rows)
}

func printWindows(w io.Writer, v *adminapi.WindowList) error {
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

func printWindow(w io.Writer, x *adminapi.WindowDetail) error {
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

func printClosed(w io.Writer, v *adminapi.ClosedWindow) error {
	if err := printWindow(w, &v.Closed); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nwindow %d is now the open window of %s\n", v.Next.ID, v.Next.Currency)
	return err
}

func printSettlements(w io.Writer, v *adminapi.SettlementList) error {
	rows := make([]string, 0, len(v.Settlements))
	for _, s := range v.Settlements {
		rows = append(rows, fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s",
			s.ID, s.Currency, s.Model, s.State, joinIDs(s.Windows), s.Count, s.Amount, s.Position, s.Updated))
	}
	return table(w, "ID\tCURRENCY\tMODEL\tSTATE\tWINDOWS\tPAYMENTS\tAMOUNT\tTO MOVE\tUPDATED", rows)
}

func printSettlement(w io.Writer, s *adminapi.Settlement) error {
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

	models := &cobra.Command{
		Use:   "models",
		Short: "Every currency's settlement model and open window",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.ModelList, error) {
				return c.Models(ctx)
			}, printModels)
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
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.SettlementModel, error) {
				return c.SetModel(ctx, args[0], model)
			},
				func(w io.Writer, m *adminapi.SettlementModel) error {
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
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.WindowList, error) {
				return c.Windows(ctx, wCurrency, strings.ToUpper(wState))
			}, printWindows)
		},
	}
	windows.Flags().StringVar(&wCurrency, "currency", "", "only windows of this currency")
	windows.Flags().StringVar(&wState, "state", "", "only windows in this state: OPEN, CLOSED, PENDING_SETTLEMENT or SETTLED")

	window := &cobra.Command{
		Use:   "window ID",
		Short: "Show a settlement window with what each payer paid each payee",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.WindowDetail, error) {
				return c.Window(ctx, args[0])
			}, printWindow)
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
				return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.ClosedWindow, error) {
					return c.CloseWindow(ctx, args[0])
				}, printClosed)
			case len(args) == 0 && closeCurrency != "":
				return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.ClosedWindow, error) {
					return c.CloseOpenWindow(ctx, closeCurrency)
				}, printClosed)
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
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.Settlement, error) {
				return c.CreateSettlement(ctx, adminapi.CreateSettlementRequest{Windows: ws, Currency: createCurrency})
			}, printSettlement)
		},
	}
	create.Flags().StringVar(&createCurrency, "currency", "", "check that every window is in this currency")

	var sCurrency, sState string
	list := &cobra.Command{
		Use:   "list",
		Short: "List settlements",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.SettlementList, error) {
				return c.Settlements(ctx, sCurrency, strings.ToUpper(sState))
			}, printSettlements)
		},
	}
	list.Flags().StringVar(&sCurrency, "currency", "", "only settlements of this currency")
	list.Flags().StringVar(&sState, "state", "", "only settlements in this state")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a settlement with every participant's net and its history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.Settlement, error) {
				return c.Settlement(ctx, args[0])
			}, printSettlement)
		},
	}

	var stateReason string
	state := &cobra.Command{
		Use:   "state ID STATE",
		Short: "Move a settlement one step: PS_TRANSFERS_RECORDED, PS_TRANSFERS_RESERVED, PS_TRANSFERS_COMMITTED, SETTLED or ABORTED",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := adminapi.SettlementStateRequest{State: strings.ToUpper(args[1]), Reason: stateReason}
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.Settlement, error) {
				return c.SetSettlementState(ctx, args[0], req)
			}, printSettlement)
		},
	}
	state.Flags().StringVar(&stateReason, "reason", "", "why, kept in the settlement's history (required for ABORTED)")

	settle := &cobra.Command{
		Use:   "settle ID",
		Short: "Take a settlement from its current state through every step to SETTLED",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.Settlement, error) {
				return c.Settle(ctx, args[0])
			}, printSettlement)
		},
	}

	var abortReason string
	abort := &cobra.Command{
		Use:   "abort ID --reason TEXT",
		Short: "Abort a settlement that has not committed; its windows can be settled anew",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := adminapi.SettlementStateRequest{State: "ABORTED", Reason: abortReason}
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.Settlement, error) {
				return c.SetSettlementState(ctx, args[0], req)
			}, printSettlement)
		},
	}
	abort.Flags().StringVar(&abortReason, "reason", "", "why it is aborted (required)")
	abort.MarkFlagRequired("reason")

	c.AddCommand(models, setModel, windows, window, closeWindow, create, list, show, state, settle, abort)
	return c
}
