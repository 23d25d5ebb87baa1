package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hutong/hutong/admin/adminapi"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
	"github.com/hutong/hutong/settlement"
)

// The documents of settlement: reports of windows and settlements,
// statements of participants' accounts and reconciliations of a
// participant's records with the hub's, over the admin API.

// maxRecordsFile is the largest records file reconcile sends; the admin API
// refuses larger ones.
const maxRecordsFile = 4 << 20

// reportCmd is `hutong report window|settlement ID`.
func reportCmd(context.Context) *cobra.Command {
	o := &adminOptions{}
	var format string
	c := &cobra.Command{
		Use:   "report",
		Short: "Settlement reports of windows and settlements, as JSON or CSV",
		Long: `Settlement reports of a running hub, over its admin API (--admin, or
$` + adminEnv + `, default ` + defaultAdminURL + `): per participant, the
payments it sent and received and its net (positive when it owes), with a
total that nets to zero. Printed as the API writes them, JSON or CSV.`,
		Args: cobra.NoArgs,
	}
	o.register(c)
	c.PersistentFlags().StringVar(&format, "format", "json", "json or csv")
	for _, kind := range []struct {
		use, short string
		get        func(c *adminapi.Client, ctx context.Context, id, format string) ([]byte, error)
	}{
		{"window ID", "The report of a settlement window", (*adminapi.Client).WindowReport},
		{"settlement ID", "The report of a settlement", (*adminapi.Client).SettlementReport},
	} {
		c.AddCommand(&cobra.Command{
			Use:   kind.use,
			Short: kind.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if format != "json" && format != "csv" {
					return fmt.Errorf("--format %q: write json or csv", format)
				}
				return printDocument(cmd, o, func(ctx context.Context, c *adminapi.Client) ([]byte, error) {
					return kind.get(c, ctx, args[0], format)
				})
			},
		})
	}
	return c
}

// statementCmd is `hutong statement`.
func statementCmd(context.Context) *cobra.Command {
	o := &adminOptions{}
	var participant, currency, account, from, to, format string
	c := &cobra.Command{
		Use:   "statement --participant ID --currency CODE --account POSITION|SETTLEMENT",
		Short: "A statement of a participant's account, as JSON, CSV or ISO 20022 camt.053",
		Long: `A statement of a participant's POSITION or SETTLEMENT account in one
currency: every movement from --from (default: since the participant was
created) to --to (default: now), with the opening balance, the balance after
each movement and the closing balance, which for a statement that ends now
is the account's balance. Times are RFC 3339, such as 2025-03-01T00:00:00Z.
Printed as the admin API writes it: JSON, CSV, or an ISO 20022 camt.053.001.08
message (--format camt053).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := adminapi.StatementQuery{Currency: currency, Account: strings.ToUpper(account), From: from, To: to, Format: format}
			return printDocument(cmd, o, func(ctx context.Context, c *adminapi.Client) ([]byte, error) {
				return c.Statement(ctx, participant, q)
			})
		},
	}
	o.register(c)
	c.Flags().StringVar(&participant, "participant", "", "the participant's id")
	c.Flags().StringVar(&currency, "currency", "", "ISO 4217 code, such as USD")
	c.Flags().StringVar(&account, "account", "", "POSITION or SETTLEMENT")
	c.Flags().StringVar(&from, "from", "", "start of the statement, RFC 3339, included")
	c.Flags().StringVar(&to, "to", "", "end of the statement, RFC 3339, excluded")
	c.Flags().StringVar(&format, "format", "json", "json, csv or camt053")
	c.MarkFlagRequired("participant")
	c.MarkFlagRequired("currency")
	c.MarkFlagRequired("account")
	return c
}

// printDocument gets a document with get and prints it as it came.
func printDocument(cmd *cobra.Command, o *adminOptions, get func(context.Context, *adminapi.Client) ([]byte, error)) error {
	c, err := o.client(cmd)
	if err != nil {
		return err
	}
	b, err := get(cmd.Context(), c)
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(b)
	return err
}

// reconcileCmd is `hutong reconcile`. Its exit status says the outcome: 0
// when the records agree with the hub's, 1 when they differ, 2 when the
// reconciliation could not be made.
func reconcileCmd(context.Context) *cobra.Command {
	o := &adminOptions{}
	var participant, file, from, to string
	var funds bool
	c := &cobra.Command{
		Use:   "reconcile --participant ID --file RECORDS.csv",
		Short: "Compare a participant's records of its transfers with the hub's",
		Long: `Compare a participant's records of its transfers with the hub's, over the
admin API, and print what differs: transfers missing at the hub, transfers
committed at the hub that the records miss, and transfers whose amount,
state, currency or direction differ, each with both sides' values.

The file is CSV with a header line naming its columns, in any order:
transfer_id, currency, amount and state are required, direction (SENT or
RECEIVED) and completed_at (RFC 3339) optional. For example:

  transfer_id,currency,amount,state,direction,completed_at
  9a3c1d4e-2b7f-4c1a-8e5d-0f6a7b8c9d0e,USD,12.5,COMMITTED,SENT,2030-01-02T03:04:05Z

Transfers committed at the hub are looked for in the records from --from to
--to (RFC 3339; by default the span of the records' completed_at); payments
only, unless --funds.

Exit status: 0 when the records agree with the hub's, 1 when they differ,
2 when the reconciliation could not be made (a bad file, flag or answer).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.NoArgs(cmd, args); err != nil {
				return exitCode{2, err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			differ, err := reconcile(cmd, o, participant, file, from, to, funds)
			if err != nil {
				return exitCode{2, err}
			}
			if differ != 0 {
				return exitCode{1, fmt.Errorf("the records of %s differ from the hub's in %d transfers", participant, differ)}
			}
			return nil
		},
	}
	o.register(c)
	c.Flags().StringVar(&participant, "participant", "", "the participant's id")
	c.Flags().StringVar(&file, "file", "", `the participant's records, CSV ("-" for standard input)`)
	c.Flags().StringVar(&from, "from", "", "start of the range swept for transfers missing from the records, RFC 3339")
	c.Flags().StringVar(&to, "to", "", "end of that range, RFC 3339, excluded")
	c.Flags().BoolVar(&funds, "funds", false, "look for funds in and funds out missing from the records too, not only payments")
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return exitCode{2, err} })
	return c
}

// reconcile posts the records and prints the outcome. It returns how many
// transfers differ.
func reconcile(cmd *cobra.Command, o *adminOptions, participant, file, from, to string, funds bool) (int, error) {
	if participant == "" || file == "" {
		return 0, errors.New("reconcile needs --participant and --file")
	}
	var in io.Reader = cmd.InOrStdin()
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		in = f
	}
	records, err := io.ReadAll(io.LimitReader(in, maxRecordsFile+1))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", file, err)
	}
	if len(records) > maxRecordsFile {
		return 0, fmt.Errorf("%s is larger than the %d bytes the admin API takes; reconcile a shorter range at a time", file, maxRecordsFile)
	}
	c, err := o.client(cmd)
	if err != nil {
		return 0, err
	}
	r, err := c.Reconcile(cmd.Context(), participant, records, adminapi.ReconcileQuery{From: from, To: to, Funds: funds})
	if err != nil {
		return 0, err
	}
	n := 0
	for k, v := range r.Counts {
		if k != "matched" {
			n += v
		}
	}
	if r.Clean != (n == 0) {
		return 0, fmt.Errorf("admin API: the answer says clean is %v with %d differences", r.Clean, n)
	}
	out := cmd.OutOrStdout()
	if o.json {
		return n, printJSON(out, r)
	}
	rec, err := reconciliation(r)
	if err != nil {
		return 0, err
	}
	return n, rec.WriteText(out)
}

// reconciliation turns the answer back into a settlement.Reconciliation, so
// that it is printed by the package that defines it.
func reconciliation(r *adminapi.Reconciliation) (*settlement.Reconciliation, error) {
	out := &settlement.Reconciliation{Participant: r.Participant}
	var err error
	if out.From, err = parseStamp(r.From); err != nil {
		return nil, err
	}
	if out.To, err = parseStamp(r.To); err != nil {
		return nil, err
	}
	for _, l := range []struct {
		in  []adminapi.ReconcileEntry
		out *[]settlement.Entry
	}{
		{r.Matched, &out.Matched}, {r.MissingAtHub, &out.MissingAtHub}, {r.MissingAtParticipant, &out.MissingAtParticipant},
		{r.AmountMismatches, &out.AmountMismatches}, {r.StateMismatches, &out.StateMismatches},
		{r.CurrencyMismatches, &out.CurrencyMismatches}, {r.DirectionMismatches, &out.DirectionMismatches},
	} {
		for _, e := range l.in {
			se, err := entry(&e)
			if err != nil {
				return nil, err
			}
			*l.out = append(*l.out, se)
		}
	}
	return out, nil
}

func entry(e *adminapi.ReconcileEntry) (settlement.Entry, error) {
	id, err := ledger.ParseID(e.TransferID)
	if err != nil {
		return settlement.Entry{}, fmt.Errorf("admin API: transfer id %q in the answer: %w", e.TransferID, err)
	}
	out := settlement.Entry{TransferID: id, Line: e.Line}
	if out.Participant, err = side(e.Participant); err != nil {
		return out, err
	}
	if out.Hub, err = side(e.Hub); err != nil {
		return out, err
	}
	return out, nil
}

func side(s *adminapi.ReconcileSide) (*settlement.Side, error) {
	if s == nil {
		return nil, nil
	}
	out := &settlement.Side{Kind: s.Kind, Currency: s.Currency, State: s.State, Direction: s.Direction, Counterparty: s.Counterparty}
	var err error
	// A currency the hub does not know is written in minor units.
	if c, ok := money.Lookup(s.Currency); ok {
		out.Amount, err = money.ParseAmount(s.Amount, c)
	} else {
		out.Amount, err = strconv.ParseInt(s.Amount, 10, 64)
	}
	if err != nil {
		return nil, fmt.Errorf("admin API: amount %q in the answer: %w", s.Amount, err)
	}
	if out.Completed, err = parseStamp(s.Completed); err != nil {
		return nil, err
	}
	return out, nil
}

// parseStamp parses a time of the answer; "" is the zero time.
func parseStamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, fmt.Errorf("admin API: time %q in the answer: %w", s, err)
	}
	return t, nil
}
