package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"maildesk/tickets"
)

func outboxCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "outbox", Short: "See and retry mail waiting to be sent or failed"}
	cmd.AddCommand(outboxListCommand(g), outboxRetryCommand(g))
	return cmd
}

// outboxEntry is an outbox entry as the CLI shows it: never the secret.
type outboxEntry struct {
	ID          uint64            `json:"id"`
	Ticket      tickets.Number    `json:"ticket,omitempty"`
	Template    string            `json:"template"`
	To          string            `json:"to"`
	State       tickets.MailState `json:"state"`
	Attempts    int               `json:"attempts"`
	NextAttempt time.Time         `json:"next_attempt,omitzero"`
	LastError   string            `json:"last_error,omitempty"`
	Created     time.Time         `json:"created"`
	SentAt      time.Time         `json:"sent_at,omitzero"`
	MessageID   string            `json:"message_id"`
}

type outboxListArgs struct {
	All bool `json:"all,omitempty"`
}

func apiOutboxList(ctx context.Context, x *api, raw json.RawMessage) (any, error) {
	var args outboxListArgs
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	states := []tickets.MailState{tickets.MailPending, tickets.MailFailed}
	if args.All {
		states = nil
	}
	out := []outboxEntry{}
	err := x.a.store.View(func(tx *tickets.Tx) error {
		list, err := tx.Outbox(states...)
		for _, m := range list {
			e := outboxEntry{ID: m.ID, Ticket: m.Ticket, Template: m.Template, To: m.To, State: m.State, Attempts: m.Attempts,
				LastError: m.LastError, Created: m.Created, SentAt: m.SentAt, MessageID: m.MessageID}
			if m.State == tickets.MailPending {
				e.NextAttempt = m.NextAttempt
			}
			out = append(out, e)
		}
		return err
	})
	return out, err
}

func outboxListCommand(g *globals) *cobra.Command {
	var args outboxListArgs
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List pending and failed mail, and why",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []outboxEntry
			if err := callCLI(cmd, g, "outbox.list", args, &list); err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(cmd.OutOrStdout(), list)
			}
			w := table(cmd.OutOrStdout())
			fmt.Fprintln(w, "ID\tSTATE\tATTEMPTS\tTICKET\tTEMPLATE\tTO\tNEXT ATTEMPT\tLAST ERROR")
			for _, e := range list {
				fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.State, e.Attempts, ticketRef(e.Ticket), e.Template, e.To,
					stamp(e.NextAttempt), clip(dash(e.LastError), 80))
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&args.All, "all", false, "include sent mail")
	cmd.Flags().BoolVar(&g.jsonOut, "json", false, "print JSON")
	return cmd
}

func ticketRef(n tickets.Number) string {
	if n == 0 {
		return "-"
	}
	return "#" + n.String()
}

type outboxRetryArgs struct {
	ID  uint64 `json:"id,omitempty"`
	All bool   `json:"all,omitempty"`
}

func apiOutboxRetry(ctx context.Context, x *api, raw json.RawMessage) (any, error) {
	var args outboxRetryArgs
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	now := x.a.now()
	expires := now.Add(x.a.cfg.SMTP.RetryFor)
	retried := 0
	err := x.a.store.Update(func(tx *tickets.Tx) error {
		if !args.All {
			retried = 1
			return tx.RetryMail(args.ID, now, expires)
		}
		list, err := tx.Outbox(tickets.MailPending, tickets.MailFailed)
		if err != nil {
			return err
		}
		for _, m := range list {
			if err := tx.RetryMail(m.ID, now, expires); err != nil {
				return err
			}
			retried++
		}
		return nil
	})
	return map[string]int{"retried": retried}, err
}

func outboxRetryCommand(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "retry ID|--all",
		Short: "Queue failed or waiting mail for an attempt now",
		Long: `Retry puts an entry (or with --all every pending and failed entry) back in the queue
for an attempt now, with a fresh smtp.retry_for. Mail already sent is never sent again.
Without a running daemon, the attempt happens at the next maildesk run.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, argv []string) error {
			args := outboxRetryArgs{All: all}
			switch {
			case all && len(argv) == 0:
			case !all && len(argv) == 1:
				id, err := strconv.ParseUint(argv[0], 10, 64)
				if err != nil {
					return fmt.Errorf("%q is not an outbox entry ID", argv[0])
				}
				args.ID = id
			default:
				return fmt.Errorf("give one entry ID or --all")
			}
			var res map[string]int
			if err := callCLI(cmd, g, "outbox.retry", args, &res); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d queued for an attempt now\n", res["retried"])
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "retry every pending and failed entry")
	return cmd
}

func quarantineCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "quarantine", Short: "List mail that could not be taken in"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List quarantined mail and why",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []tickets.Quarantined
			if err := callCLI(cmd, g, "quarantine.list", nil, &list); err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(cmd.OutOrStdout(), list)
			}
			w := table(cmd.OutOrStdout())
			fmt.Fprintln(w, "ID\tWHEN\tUID\tFROM\tSUBJECT\tREASON")
			for _, q := range list {
				fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%s\n", q.ID, stamp(q.At), q.UID, dash(q.From), clip(dash(q.Subject), 40), q.Reason)
			}
			return w.Flush()
		},
	}
	list.Flags().BoolVar(&g.jsonOut, "json", false, "print JSON")
	cmd.AddCommand(list)
	return cmd
}

func apiQuarantineList(ctx context.Context, x *api, raw json.RawMessage) (any, error) {
	out := []tickets.Quarantined{}
	err := x.a.store.View(func(tx *tickets.Tx) error {
		list, err := tx.QuarantineList()
		out = append(out, list...)
		return err
	})
	return out, err
}
