package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"maildesk/tickets"
)

// The admin's shell commands that change tickets and customers. They go
// through the desk like a staff member's mail, so the customer hears of a
// status or assignee change exactly as if it had come by mail.

type commandArgs struct {
	Number tickets.Number `json:"number"`
	As     string         `json:"as"`
	Lines  []string       `json:"lines"`
	Text   string         `json:"text,omitempty"`
}

func apiTicketsCommand(ctx context.Context, x *api, raw json.RawMessage) (any, error) {
	var args commandArgs
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	var out tickets.Outcome
	err := x.a.store.Update(func(tx *tickets.Tx) (err error) {
		out, err = x.a.desk.Command(tx, args.Number, args.As, args.Lines, args.Text, x.a.now())
		return err
	})
	return out, err
}

// ticketsChangeCommand makes `tickets status|assign|note N …`: build turns
// the arguments after the number into command lines and a text.
func ticketsChangeCommand(g *globals, use, short string, nargs int, build func(args []string) ([]string, string)) *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `.
It works as the same command by mail: the customer is told of a status or assignee change,
and one wrong value changes nothing. --as names the staff member it is done as (default: the
first in helpdesk.staff).`,
		Args: cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.ParseUint(strings.TrimPrefix(args[0], "#"), 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a ticket number", args[0])
			}
			if as == "" {
				cfg, err := loadConfig(g.configPath)
				if err != nil {
					return err
				}
				if len(cfg.Helpdesk.Staff) == 0 {
					return fmt.Errorf("helpdesk.staff is empty: say --as whom")
				}
				as = cfg.Helpdesk.Staff[0].Email
			}
			lines, text := build(args[1:])
			var out tickets.Outcome
			if err := callCLI(cmd, g, "tickets.command", commandArgs{Number: tickets.Number(n), As: as, Lines: lines, Text: text}, &out); err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s %s\n", out.Ticket, out.Action, out.Detail)
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "staff member (name or address) the change is made as")
	cmd.Flags().BoolVar(&g.jsonOut, "json", false, "print JSON")
	return cmd
}

func ticketsAdminCommands(g *globals) []*cobra.Command {
	return []*cobra.Command{
		ticketsChangeCommand(g, "status NUMBER STATUS", "Set a ticket's status", 2,
			func(a []string) ([]string, string) { return []string{"Status: " + a[0]}, "" }),
		ticketsChangeCommand(g, "assign NUMBER WHO", "Assign a ticket to a staff member (or nobody)", 2,
			func(a []string) ([]string, string) { return []string{"Assign: " + a[0]}, "" }),
		ticketsChangeCommand(g, "note NUMBER TEXT", "Add an internal note, which staff see and the customer never does", 2,
			func(a []string) ([]string, string) { return []string{"Note"}, a[0] }),
	}
}

// --- customers ---

type customerEntry struct {
	tickets.Customer
	HasPassword bool             `json:"has_password"`
	Tickets     []tickets.Number `json:"tickets"`
}

func customerEntryOf(tx *tickets.Tx, c tickets.Customer) customerEntry {
	e := customerEntry{Customer: c, HasPassword: c.PasswordHash != "", Tickets: tx.CustomerTickets(c.Email)}
	e.PasswordHash = "" // never leaves the daemon
	return e
}

func apiCustomersList(ctx context.Context, x *api, raw json.RawMessage) (any, error) {
	out := []customerEntry{}
	err := x.a.store.View(func(tx *tickets.Tx) error {
		list, err := tx.Customers()
		for _, c := range list {
			out = append(out, customerEntryOf(tx, c))
		}
		return err
	})
	return out, err
}

// customerDetail is a customer with their tickets, as `customers show` prints it.
type customerDetail struct {
	customerEntry
	List []tickets.Ticket `json:"ticket_list"`
}

type customerArgs struct {
	Email string `json:"email"`
}

func apiCustomersShow(ctx context.Context, x *api, raw json.RawMessage) (any, error) {
	var args customerArgs
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	var out customerDetail
	err := x.a.store.View(func(tx *tickets.Tx) error {
		c, err := tx.Customer(args.Email)
		if err != nil {
			return fmt.Errorf("customer %s: %w", args.Email, err)
		}
		out.customerEntry = customerEntryOf(tx, *c)
		out.List, err = tx.ListTickets(tickets.Filter{Customer: c.Email})
		return err
	})
	return out, err
}

func apiCustomersResetPassword(ctx context.Context, x *api, raw json.RawMessage) (any, error) {
	var args customerArgs
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	var m *tickets.Mail
	err := x.a.store.Update(func(tx *tickets.Tx) (err error) {
		m, err = x.a.desk.ResetPassword(tx, args.Email, x.a.now())
		if err != nil {
			return fmt.Errorf("customer %s: %w", args.Email, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"outbox_id": m.ID, "to": m.To}, nil
}

func customersCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "customers", Short: "List and show customers, mail one a new password"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the customers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []customerEntry
			if err := callCLI(cmd, g, "customers.list", nil, &list); err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(cmd.OutOrStdout(), list)
			}
			w := table(cmd.OutOrStdout())
			fmt.Fprintln(w, "EMAIL\tNAME\tLANGUAGE\tSINCE\tTICKETS\tPASSWORD")
			for _, c := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", c.Email, dash(c.Name), c.Lang, stamp(c.Created), len(c.Tickets),
					map[bool]string{true: "set", false: "not yet"}[c.HasPassword])
			}
			return w.Flush()
		},
	}
	list.Flags().BoolVar(&g.jsonOut, "json", false, "print JSON")
	show := &cobra.Command{
		Use:   "show EMAIL",
		Short: "Show a customer and their tickets",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var c customerDetail
			if err := callCLI(cmd, g, "customers.show", customerArgs{Email: args[0]}, &c); err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(cmd.OutOrStdout(), c)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s\nname: %s\nlanguage: %s\ncustomer since: %s\npassword: %s\n\n", c.Email, dash(c.Name), c.Lang,
				stamp(c.Created), map[bool]string{true: "set " + stamp(c.PasswordSet), false: "not yet"}[c.HasPassword])
			w := table(out)
			fmt.Fprintln(w, "TICKET\tSTATUS\tUPDATED\tSUBJECT")
			for _, t := range c.List {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Number, t.Status, stamp(t.Updated), clip(t.Subject, 60))
			}
			return w.Flush()
		},
	}
	show.Flags().BoolVar(&g.jsonOut, "json", false, "print JSON")
	reset := &cobra.Command{
		Use:   "reset-password EMAIL",
		Short: "Mail a customer a new password (the old one stops working when it is sent)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res map[string]any
			if err := callCLI(cmd, g, "customers.reset-password", customerArgs{Email: args[0]}, &res); err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "a new password is on its way to %s (outbox %v)\n", res["to"], res["outbox_id"])
			return nil
		},
	}
	reset.Flags().BoolVar(&g.jsonOut, "json", false, "print JSON")
	cmd.AddCommand(list, show, reset)
	return cmd
}
