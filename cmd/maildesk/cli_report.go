package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"maildesk/tickets"
)

type reportArgs struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

func apiReport(ctx context.Context, x *api, raw json.RawMessage) (any, error) {
	var args reportArgs
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	var r *tickets.Report
	err := x.a.store.View(func(tx *tickets.Tx) (err error) {
		r, err = tx.Report(args.Since, args.Until)
		return err
	})
	return r, err
}

func reportCommand(g *globals) *cobra.Command {
	var since string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Sum up tickets: status counts, first response, breaches, ratings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := parseDuration(since)
			if err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			now := time.Now()
			var r tickets.Report
			if err := callCLI(cmd, g, "report", reportArgs{Since: now.Add(-d), Until: now}, &r); err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(cmd.OutOrStdout(), r)
			}
			printReport(cmd.OutOrStdout(), &r)
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "30d", "the period: tickets opened this long ago or later")
	cmd.Flags().BoolVar(&g.jsonOut, "json", false, "print JSON")
	return cmd
}

func printReport(w io.Writer, r *tickets.Report) {
	fmt.Fprintf(w, "Tickets opened %s – %s\n", r.Since.Local().Format("2006-01-02"), r.Until.Local().Format("2006-01-02"))
	var now []string
	for _, s := range tickets.Statuses {
		now = append(now, fmt.Sprintf("%s %d", s, r.Now[s]))
	}
	tw := table(w)
	fmt.Fprintf(tw, "All tickets now:\t%s\n", strings.Join(now, ", "))
	fmt.Fprintf(tw, "Opened:\t%d\n", r.Opened)
	fmt.Fprintf(tw, "Closed since:\t%d\n", r.Closed)
	if r.FirstResponses > 0 {
		fmt.Fprintf(tw, "First response:\t%d answered, median %s\n", r.FirstResponses, r.MedianFirstResponse.Round(time.Minute))
	} else {
		fmt.Fprintf(tw, "First response:\tnone answered yet\n")
	}
	fmt.Fprintf(tw, "Target breaches:\t%d\n", r.Breaches)
	if r.Ratings > 0 {
		fmt.Fprintf(tw, "Ratings:\t%d, average %.1f, %d of them 1–2\n", r.Ratings, r.AverageRating, r.LowRatings)
	} else {
		fmt.Fprintf(tw, "Ratings:\tnone yet\n")
	}
	tw.Flush()
}
