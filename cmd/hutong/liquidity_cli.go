package main

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hutong/hutong/admin/adminapi"
)

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

	ndc := &cobra.Command{
		Use:   "ndc PARTICIPANT CURRENCY AMOUNT",
		Short: "Set a participant's net debit cap in a currency",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, a []string) error {
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.Participant, error) {
				return c.SetNDC(ctx, a[0], a[1], a[2])
			}, printJSON)
		},
	}
	type move func(c *adminapi.Client, ctx context.Context, participant string, req adminapi.FundsRequest) (*adminapi.Transfer, error)
	funds := func(use, short string, m move) *cobra.Command {
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
				return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.Transfer, error) {
					return m(c, ctx, a[0], adminapi.FundsRequest{ID: id, Currency: a[1], Amount: a[2]})
				}, printJSON)
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
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.Transfer, error) {
				return c.CommitFundsOut(ctx, a[0])
			}, printJSON)
		},
	}
	var reason string
	abort := &cobra.Command{
		Use:   "funds-out-abort ID --reason TEXT",
		Short: "Abort a reserved funds out: the collateral stays",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.Transfer, error) {
				return c.AbortFundsOut(ctx, a[0], reason)
			}, printJSON)
		},
	}
	abort.Flags().StringVar(&reason, "reason", "", "why it is aborted")
	abort.MarkFlagRequired("reason")
	accounts := &cobra.Command{
		Use:   "accounts PARTICIPANT",
		Short: "A participant's position and settlement accounts, with its caps",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.AccountList, error) {
				return c.Accounts(ctx, a[0])
			}, printJSON)
		},
	}
	var participant string
	alerts := &cobra.Command{
		Use:   "alerts [--participant ID]",
		Short: "Liquidity alerts, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return adminCall(cmd, o, func(ctx context.Context, c *adminapi.Client) (*adminapi.AlertList, error) {
				if participant != "" {
					return c.ParticipantAlerts(ctx, participant)
				}
				return c.Alerts(ctx)
			}, printJSON)
		},
	}
	alerts.Flags().StringVar(&participant, "participant", "", "only this participant's alerts")
	c.AddCommand(ndc,
		funds("funds-in", "Record collateral deposited at the settlement bank", (*adminapi.Client).FundsIn),
		funds("funds-out", "Reserve collateral to withdraw (then funds-out-commit or funds-out-abort)", (*adminapi.Client).FundsOut),
		commit, abort, accounts, alerts)
	return c
}
