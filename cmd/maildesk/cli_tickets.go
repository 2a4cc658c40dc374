package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"maildesk/tickets"
)

func ticketsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "tickets", Short: "List and show tickets, and work them from a shell"}
	cmd.AddCommand(ticketsListCommand(g), ticketsShowCommand(g))
	cmd.AddCommand(ticketsAdminCommands(g)...)
	return cmd
}

type listArgs struct {
	Status   string `json:"status,omitempty"`
	Assignee string `json:"assignee,omitempty"`
	Priority string `json:"priority,omitempty"`
	Customer string `json:"customer,omitempty"`
	Text     string `json:"text,omitempty"`
	Limit    int    `json:"limit,omitempty"`
}

func apiTicketsList(ctx context.Context, x *api, raw json.RawMessage) (any, error) {
	var args listArgs
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	if args.Status != "" && args.Status != "open" && !tickets.Status(args.Status).Valid() {
		return nil, fmt.Errorf("--status %q is not open or one of %s", args.Status, statusList())
	}
	out := []tickets.Ticket{}
	err := x.a.store.View(func(tx *tickets.Tx) error {
		list, err := tx.ListTickets(tickets.Filter{Status: args.Status, Assignee: args.Assignee, Priority: args.Priority,
			Customer: args.Customer, Text: args.Text, Limit: args.Limit})
		out = append(out, list...)
		return err
	})
	return out, err
}

func statusList() string {
	var s []string
	for _, st := range tickets.Statuses {
		s = append(s, string(st))
	}
	return strings.Join(s, ", ")
}

func ticketsListCommand(g *globals) *cobra.Command {
	var args listArgs
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tickets, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []tickets.Ticket
			if err := callCLI(cmd, g, "tickets.list", args, &list); err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(cmd.OutOrStdout(), list)
			}
			w := table(cmd.OutOrStdout())
			fmt.Fprintln(w, "NUMBER\tSTATUS\tPRIORITY\tTYPE\tCUSTOMER\tASSIGNEE\tUPDATED\tDUE\tSUBJECT")
			for _, t := range list {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Number, t.Status, t.Priority, t.Type, t.Customer,
					dash(t.Assignee), stamp(t.Updated), stamp(t.Due), clip(t.Subject, 60))
			}
			return w.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&args.Status, "status", "", "open, or one of "+statusList())
	f.StringVar(&args.Assignee, "assignee", "", "staff address")
	f.StringVar(&args.Priority, "priority", "", "priority")
	f.StringVar(&args.Customer, "customer", "", "customer address")
	f.StringVar(&args.Text, "search", "", "text in the subject, customer or messages")
	f.IntVar(&args.Limit, "limit", 0, "show at most this many")
	f.BoolVar(&g.jsonOut, "json", false, "print JSON")
	return cmd
}

// ticketDetail is a ticket with its thread, as `tickets show` prints it.
type ticketDetail struct {
	tickets.Ticket
	Messages []tickets.Message `json:"messages"`
	// Raw holds the raw mails of the thread by blob key, with --raw.
	Raw map[string]string `json:"raw,omitempty"`
}

type showArgs struct {
	Number tickets.Number `json:"number"`
	Raw    bool           `json:"raw,omitempty"`
}

func apiTicketsShow(ctx context.Context, x *api, raw json.RawMessage) (any, error) {
	var args showArgs
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	var d ticketDetail
	err := x.a.store.View(func(tx *tickets.Tx) error {
		t, err := tx.Ticket(args.Number)
		if err != nil {
			return err
		}
		d.Ticket = *t
		d.Messages, err = tx.Thread(args.Number)
		return err
	})
	if err != nil || !args.Raw {
		return d, err
	}
	d.Raw = map[string]string{}
	for _, m := range d.Messages {
		if m.Raw == "" {
			continue
		}
		b, err := x.a.raw.Read(m.Raw)
		if err != nil {
			return nil, fmt.Errorf("raw mail of message %d: %w", m.Seq, err)
		}
		d.Raw[m.Raw] = string(b)
	}
	return d, nil
}

func ticketsShowCommand(g *globals) *cobra.Command {
	var raw bool
	cmd := &cobra.Command{
		Use:   "show NUMBER",
		Short: "Show a ticket and its thread",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, argv []string) error {
			n, ok := tickets.ParseNumber(argv[0])
			if !ok {
				return fmt.Errorf("%q is not a ticket number", argv[0])
			}
			var d ticketDetail
			if err := callCLI(cmd, g, "tickets.show", showArgs{Number: n, Raw: raw}, &d); err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(cmd.OutOrStdout(), d)
			}
			printTicket(cmd.OutOrStdout(), &d)
			return nil
		},
	}
	cmd.Flags().BoolVar(&raw, "raw", false, "also print the original mails, as received")
	cmd.Flags().BoolVar(&g.jsonOut, "json", false, "print JSON")
	return cmd
}

func printTicket(w io.Writer, d *ticketDetail) {
	t := &d.Ticket
	fmt.Fprintf(w, "#%d  %s\n", t.Number, t.Subject)
	tw := table(w)
	fmt.Fprintf(tw, "Status:\t%s\tPriority:\t%s\tType:\t%s\tService:\t%s\n", t.Status, t.Priority, t.Type, dash(t.Service))
	fmt.Fprintf(tw, "Customer:\t%s\tAssignee:\t%s\tLanguage:\t%s\n", person(t.CustomerName, t.Customer), dash(t.Assignee), t.Lang)
	fmt.Fprintf(tw, "Created:\t%s\tUpdated:\t%s\tDue:\t%s\n", stamp(t.Created), stamp(t.Updated), stamp(t.Due))
	if t.LinkedTo != 0 {
		fmt.Fprintf(tw, "Continues:\t#%d\n", t.LinkedTo)
	}
	if t.Rating != nil {
		fmt.Fprintf(tw, "Rating:\t%d/5\t%s\n", t.Rating.Score, t.Rating.Comment)
	}
	tw.Flush()
	for _, m := range d.Messages {
		flags := ""
		if len(m.Flags) > 0 {
			flags = " [" + strings.Join(m.Flags, ", ") + "]"
		}
		fmt.Fprintf(w, "\n--- %d. %s · %s · %s%s ---\n", m.Seq, m.Kind, person(m.FromName, m.From), stamp(m.At), flags)
		fmt.Fprintln(w, strings.TrimRight(m.Text, "\n"))
		for _, a := range m.Files {
			fmt.Fprintf(w, "  attachment: %s (%s, %d bytes, sha256 %s)\n", a.Name, a.ContentType, a.Size, a.SHA256[:12])
		}
		if raw, ok := d.Raw[m.Raw]; ok {
			fmt.Fprintf(w, "\n=== original mail (%d bytes) ===\n%s\n=== end of original ===\n", len(raw), raw)
		}
	}
}

// callCLI connects and calls method, closing the connection afterwards.
func callCLI(cmd *cobra.Command, g *globals, method string, args, result any) error {
	c, err := connect(g)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Call(cmd.Context(), method, args, result)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func person(name, email string) string {
	if name == "" || name == email {
		return email
	}
	return name + " <" + email + ">"
}
