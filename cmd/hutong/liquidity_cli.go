package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/url"

	"github.com/spf13/cobra"
)

// printJSON writes an answer as indented JSON: the liquidity commands'
// answers are small records that read well as they are.
func printJSON(w io.Writer, v *json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, *v, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// newUUID returns a random (version 4) UUID in the lower-case form the hub
// takes.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func liquidityCmd(context.Context) *cobra.Command {
	o := &adminOptions{}
	c := &cobra.Command{
		Use:   "liquidity",
		Short: "Net debit caps, collateral in and out, accounts and liquidity alerts of a running hub, over its admin API",
		Long: `Net debit caps, collateral in and out, accounts and liquidity alerts of a
running hub, over its admin API (--admin, or $` + adminEnv + `, default ` + defaultAdminURL + `).

Amounts are FSPIOP amount strings in the currency's major unit ("1000.5").
Funds in and funds out take an --id; without one a new id is made and
printed, so that a retry with the same id is applied once.`,
		Args: cobra.NoArgs,
	}
	o.register(c)
	esc := url.PathEscape
	call := func(cmd *cobra.Command, method, path string, body any) error {
		return adminCall(cmd, o, method, path, nil, body, printJSON)
	}

	ndc := &cobra.Command{
		Use:   "ndc PARTICIPANT CURRENCY AMOUNT",
		Short: "Set a participant's net debit cap in a currency",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, a []string) error {
			return call(cmd, "PUT", "/admin/v1/participants/"+esc(a[0])+"/currencies/"+esc(a[1])+"/ndc", map[string]string{"amount": a[2]})
		},
	}
	funds := func(use, short, path string) *cobra.Command {
		var id string
		f := &cobra.Command{
			Use:   use + " PARTICIPANT CURRENCY AMOUNT [--id UUID]",
			Short: short,
			Args:  cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, a []string) error {
				if id == "" {
					id = newUUID()
					fmt.Fprintf(cmd.ErrOrStderr(), "id %s (give it as --id to retry)\n", id)
				}
				return call(cmd, "POST", "/admin/v1/participants/"+esc(a[0])+"/"+path,
					map[string]string{"id": id, "currency": a[1], "amount": a[2]})
			},
		}
		f.Flags().StringVar(&id, "id", "", "the movement's id, a UUID (default: a new one)")
		return f
	}
	commit := &cobra.Command{
		Use:   "funds-out-commit ID",
		Short: "Commit a reserved funds out: the collateral has left the settlement bank",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return call(cmd, "POST", "/admin/v1/funds-out/"+esc(a[0])+"/commit", nil)
		},
	}
	var reason string
	abort := &cobra.Command{
		Use:   "funds-out-abort ID --reason TEXT",
		Short: "Abort a reserved funds out: the collateral stays",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return call(cmd, "POST", "/admin/v1/funds-out/"+esc(a[0])+"/abort", map[string]string{"reason": reason})
		},
	}
	abort.Flags().StringVar(&reason, "reason", "", "why it is aborted")
	abort.MarkFlagRequired("reason")
	accounts := &cobra.Command{
		Use:   "accounts PARTICIPANT",
		Short: "A participant's position and settlement accounts, with its caps",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return call(cmd, "GET", "/admin/v1/participants/"+esc(a[0])+"/accounts", nil)
		},
	}
	var participant string
	alerts := &cobra.Command{
		Use:   "alerts [--participant ID]",
		Short: "Liquidity alerts, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := "/admin/v1/alerts"
			if participant != "" {
				path = "/admin/v1/participants/" + esc(participant) + "/alerts"
			}
			return call(cmd, "GET", path, nil)
		},
	}
	alerts.Flags().StringVar(&participant, "participant", "", "only this participant's alerts")
	c.AddCommand(ndc,
		funds("funds-in", "Record collateral deposited at the settlement bank", "funds-in"),
		funds("funds-out", "Reserve collateral to withdraw (then funds-out-commit or funds-out-abort)", "funds-out"),
		commit, abort, accounts, alerts)
	return c
}
