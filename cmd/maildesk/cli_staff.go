package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"maildesk/tickets"
)

// staffEntry is a staff member with their personal reply address.
type staffEntry struct {
	Email        string `json:"email"`
	Name         string `json:"name"`
	Language     string `json:"language"`
	ReplyAddress string `json:"reply_address"`
}

func apiStaffList(ctx context.Context, x *api, raw json.RawMessage) (any, error) {
	out := []staffEntry{}
	err := x.a.store.View(func(tx *tickets.Tx) error {
		for _, s := range x.a.desk.Config().Staff {
			out = append(out, staffEntry{Email: s.Email, Name: s.Name, Language: s.Lang, ReplyAddress: x.a.desk.ReplyAddress(tx, s.Email)})
		}
		return nil
	})
	return out, err
}

func staffCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "staff",
		Short: "List the staff and their personal reply addresses",
		Long: `Staff answer tickets by replying to their notifications, whose Reply-To is their own
signed address (support+<token>@…): mail to it is believed to be theirs. To open a ticket for a
customer without a notification to reply to, write to that address; put it in your address book.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []staffEntry
			if err := callCLI(cmd, g, "staff.list", nil, &list); err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(cmd.OutOrStdout(), list)
			}
			w := table(cmd.OutOrStdout())
			fmt.Fprintln(w, "EMAIL\tNAME\tLANGUAGE\tREPLY ADDRESS")
			for _, s := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Email, s.Name, s.Language, s.ReplyAddress)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&g.jsonOut, "json", false, "print JSON")
	return cmd
}
