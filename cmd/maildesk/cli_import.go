package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"maildesk/mailin"
)

type importArgs struct {
	Mbox    string `json:"mbox,omitempty"`
	Maildir string `json:"maildir,omitempty"`
}

func apiImport(ctx context.Context, x *api, raw json.RawMessage) (any, error) {
	var args importArgs
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	var next func() ([]byte, error)
	switch {
	case args.Mbox != "" && filepath.IsAbs(args.Mbox):
		f, err := os.Open(args.Mbox)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		next = mailin.MboxReader(f)
	case args.Maildir != "" && filepath.IsAbs(args.Maildir):
		var err error
		if next, err = mailin.MaildirReader(args.Maildir); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("import: an absolute --mbox or --maildir path is needed")
	}
	x.a.log.Info("import started", "mbox", args.Mbox, "maildir", args.Maildir)
	progress := progressOf(ctx)
	res, err := x.a.proc.Import(ctx, next, func(r mailin.ImportResult) {
		x.a.log.Info("import progress", "mails", r.Mails, "quarantined", r.Quarantined)
		progress(fmt.Sprintf("%d mails taken in, %d quarantined", r.Mails, r.Quarantined))
	})
	x.a.log.Info("import finished", "mails", res.Mails, "outcomes", res.Outcomes, "quarantined", res.Quarantined, "err", err)
	return res, err
}

func importCommand(g *globals) *cobra.Command {
	var args importArgs
	cmd := &cobra.Command{
		Use:   "import --mbox FILE | --maildir DIR",
		Short: "Bring in history from another system: tickets and threads, without mailing anyone",
		Long: `import takes in the mails of an mbox file or a Maildir as if they had arrived by IMAP, dated by
their Date headers: new mails open tickets, replies thread into them, senders become customers.
Nobody is mailed: no acknowledgement, no welcome, no staff notice. Mails taken in before are
skipped, so an interrupted import can simply be run again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (args.Mbox == "") == (args.Maildir == "") {
				return errors.New("give either --mbox FILE or --maildir DIR")
			}
			for _, p := range []*string{&args.Mbox, &args.Maildir} {
				if *p != "" {
					abs, err := filepath.Abs(*p)
					if err != nil {
						return err
					}
					*p = abs
				}
			}
			var res mailin.ImportResult
			ctx, done := terminalProgress(cmd.Context())
			cmd.SetContext(ctx)
			err := callCLI(cmd, g, "import", args, &res)
			done()
			if err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d mails:", res.Mails)
			keys := make([]string, 0, len(res.Outcomes))
			for k := range res.Outcomes {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(cmd.OutOrStdout(), " %s %d,", k, res.Outcomes[k])
			}
			fmt.Fprintf(cmd.OutOrStdout(), " quarantined %d\n", res.Quarantined)
			return nil
		},
	}
	cmd.Flags().StringVar(&args.Mbox, "mbox", "", "an mbox file")
	cmd.Flags().StringVar(&args.Maildir, "maildir", "", "a Maildir folder (with cur/ and new/)")
	cmd.Flags().BoolVar(&g.jsonOut, "json", false, "print JSON")
	return cmd
}
