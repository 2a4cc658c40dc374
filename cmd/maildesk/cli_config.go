package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/spf13/cobra"

	"maildesk/mailout"
)

func configCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check the configuration"}
	var offline bool
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the config file and try both logins",
		Long: `Check reads the config file, reports every key that is wrong, and then logs in to
the IMAP server and to the SMTP server with the configured credentials. It changes nothing.
With --offline it only validates the file (for a service manager's start check).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "config %s: ok\n", cfg.path)
			if offline {
				return nil
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			if err := checkIMAP(ctx, cfg); err != nil {
				return fmt.Errorf("imap: %w", err)
			}
			fmt.Fprintf(out, "imap %s:%d: logged in as %s, mailbox %q selected\n", cfg.IMAP.Host, cfg.IMAP.Port, cfg.IMAP.Username, cfg.IMAP.Mailbox)
			if err := checkSMTP(ctx, cfg); err != nil {
				return fmt.Errorf("smtp: %w", err)
			}
			fmt.Fprintf(out, "smtp %s:%d: connected%s\n", cfg.SMTP.Host, cfg.SMTP.Port, map[bool]string{true: " and logged in", false: ""}[cfg.SMTP.Username != ""])
			return nil
		},
	}
	check.Flags().BoolVar(&offline, "offline", false, "validate the file only; do not log in")
	cmd.AddCommand(check)
	return cmd
}

func checkIMAP(ctx context.Context, cfg *Config) error {
	password, err := secret("imap.password", cfg.IMAP.Password, cfg.IMAP.PasswordFile, cfg.IMAP.PasswordCommand)
	if err != nil {
		return err
	}
	tlsCfg, err := tlsConfig("imap.tls_ca_file", cfg.IMAP.TLSCAFile, cfg.IMAP.Host)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(cfg.IMAP.Host, strconv.Itoa(cfg.IMAP.Port))
	opts := &imapclient.Options{TLSConfig: tlsCfg}
	var c *imapclient.Client
	switch cfg.IMAP.Security {
	case "tls":
		c, err = imapclient.DialTLS(addr, opts)
	case "starttls":
		c, err = imapclient.DialStartTLS(addr, opts)
	default:
		c, err = imapclient.DialInsecure(addr, opts)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if cfg.IMAP.OAuth2.enabled() {
		client, err := imapOAuth2(cfg.IMAP.Username, cfg.IMAP.Host, cfg.IMAP.Port, cfg.IMAP.OAuth2)(ctx)
		if err != nil {
			return err
		}
		if err := c.Authenticate(client); err != nil {
			return fmt.Errorf("authenticate as %q: %w", cfg.IMAP.Username, err)
		}
	} else if err := c.Login(cfg.IMAP.Username, password).Wait(); err != nil {
		return fmt.Errorf("login as %q: %w", cfg.IMAP.Username, err)
	}
	if _, err := c.Select(cfg.IMAP.Mailbox, nil).Wait(); err != nil {
		return fmt.Errorf("select %q: %w", cfg.IMAP.Mailbox, err)
	}
	return c.Logout().Wait()
}

func checkSMTP(ctx context.Context, cfg *Config) error {
	o, err := (&app{cfg: cfg}).smtpOptions()
	if err != nil {
		return err
	}
	return mailout.Check(ctx, o)
}
