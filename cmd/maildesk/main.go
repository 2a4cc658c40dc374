// Command maildesk is an email-only helpdesk: it turns mail to a support
// address into tickets, and lets staff work them from their own mail client.
//
//	maildesk run --config maildesk.yaml     the daemon
//	maildesk demo                           everything in one process, to try it
//	maildesk tickets list|show …            the admin's view (talks to the daemon)
//
// See README.md for the whole command set.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	_ "time/tzdata" // business hours need zone data on machines without it

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// A second signal while shutting down exits at once (maddy does the same).
		<-ctx.Done()
		stop()
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
		fmt.Fprintln(os.Stderr, "maildesk: second signal, exiting now")
		os.Exit(130)
	}()
	// MAILDESK_CPUPROFILE names a file for a CPU profile of this run: how
	// `maildesk bench --profile` looks inside the daemon it measures.
	if path := os.Getenv("MAILDESK_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	err := rootCommand().ExecuteContext(ctx)
	if err != nil {
		pprof.StopCPUProfile()
		var ue usageError
		if !errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "maildesk:", err)
		}
		os.Exit(1)
	}
}

// usageError is an error cobra already printed with the usage.
type usageError struct{ error }

// globals are the flags every command shares.
type globals struct {
	configPath string
	logFormat  string
	jsonOut    bool
}

func rootCommand() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "maildesk",
		Short:         "An email-only helpdesk",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	def := os.Getenv("MAILDESK_CONFIG")
	if def == "" {
		def = "maildesk.yaml"
	}
	root.PersistentFlags().StringVarP(&g.configPath, "config", "c", def, "config file (env MAILDESK_CONFIG)")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "", "log format: text or json (default: text on a terminal, else json)")
	root.AddCommand(
		runCommand(g), demoCommand(g), configCommand(g), ticketsCommand(g), outboxCommand(g),
		quarantineCommand(g), staffCommand(g), reportCommand(g), versionCommand(), benchCommand(),
		customersCommand(g), backupCommand(g), restoreCommand(g), importCommand(g),
	)
	return root
}

func versionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				return printJSON(cmd.OutOrStdout(), map[string]string{"version": version, "go": runtime.Version()})
			}
			fmt.Fprintln(cmd.OutOrStdout(), "maildesk", version, runtime.Version())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
