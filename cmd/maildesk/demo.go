package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/spf13/cobra"
	gomail "github.com/wneessen/go-mail"

	"maildesk/internal/memmail"
)

// demoAccounts are the demo mailboxes; every password is "demo".
var demoAccounts = []struct{ name, role string }{
	{"support", "the helpdesk's mailbox"},
	{"alice", "staff (English)"},
	{"bob", "staff (Russian)"},
	{"anna", "customer"},
	{"olena", "customer"},
}

func demoCommand(g *globals) *cobra.Command {
	var imapPort, smtpPort int
	var dir string
	var exit bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Try maildesk with built-in mail servers: nothing to install",
		Long: `Demo starts an IMAP and an SMTP server inside the process, on 127.0.0.1, with a support
mailbox and demo accounts, runs maildesk against them, and plays a short scenario: a customer
writes, gets a ticket number and a password, and staff are told. Then it keeps running so you
can point a mail client at it, until Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), cmd.OutOrStdout(), imapPort, smtpPort, dir, exit)
		},
	}
	cmd.Flags().IntVar(&imapPort, "imap-port", 3143, "IMAP port on 127.0.0.1 (0: any free port)")
	cmd.Flags().IntVar(&smtpPort, "smtp-port", 3025, "SMTP port on 127.0.0.1 (0: any free port)")
	cmd.Flags().StringVar(&dir, "dir", "", "folder for the store and the log (default: a new temporary folder)")
	cmd.Flags().BoolVar(&exit, "exit", false, "exit after the scenario instead of running on")
	return cmd
}

func runDemo(ctx context.Context, out io.Writer, imapPort, smtpPort int, dir string, exit bool) error {
	sys, err := memmail.Start(memmail.Options{Domain: "demo.test",
		IMAPAddr: "127.0.0.1:" + strconv.Itoa(imapPort), SMTPAddr: "127.0.0.1:" + strconv.Itoa(smtpPort)})
	if err != nil {
		return fmt.Errorf("%w (another demo running? try --imap-port 0 --smtp-port 0)", err)
	}
	defer sys.Close()
	for _, acc := range demoAccounts {
		if err := sys.AddUser(acc.name, "demo"); err != nil {
			return err
		}
	}
	if dir == "" {
		dir, err = os.MkdirTemp("", "maildesk-demo-")
	} else {
		err = os.MkdirAll(dir, 0o750)
	}
	if err != nil {
		return err
	}
	cfg := demoConfig(sys, dir)
	if err := cfg.validate(); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "maildesk.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	a, err := openApp(cfg, slog.New(slog.NewTextHandler(logFile, nil)), time.Second)
	if err != nil {
		return err
	}
	defer a.Close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.run(runCtx, false) }()
	defer func() { stop(); <-done }()

	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	say("maildesk demo: mail servers on %s (IMAP) and %s (SMTP), store in %s", sys.IMAPAddr(), sys.SMTPAddr(), dir)
	if err := demoTour(ctx, sys, say); err != nil {
		return fmt.Errorf("demo scenario: %w (the log is %s)", err, logFile.Name())
	}
	host, iport, _ := net.SplitHostPort(sys.IMAPAddr())
	_, sport, _ := net.SplitHostPort(sys.SMTPAddr())
	say("\nPoint a mail client (Thunderbird, mutt, aerc) at it: no encryption, password \"demo\".")
	say("  IMAP  %s port %s    SMTP  %s port %s", host, iport, host, sport)
	for _, acc := range demoAccounts {
		say("  %-20s %s", sys.Address(acc.name), acc.role)
	}
	say("Write to %s as a customer; answer as alice or bob by replying to their notifications.", sys.Address("support"))
	say("In another shell:  MAILDESK_CONFIG=%s maildesk tickets list", writeDemoConfig(cfg, dir))
	say("The log is %s. Ctrl-C stops the demo.", logFile.Name())
	if exit {
		return nil
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-done:
		return err
	}
}

// demoConfig is a config for the demo servers: plain text on loopback,
// staff authenticated by their reply addresses.
func demoConfig(sys *memmail.System, dir string) *Config {
	host, iport, _ := net.SplitHostPort(sys.IMAPAddr())
	_, sport, _ := net.SplitHostPort(sys.SMTPAddr())
	ip, _ := strconv.Atoi(iport)
	sp, _ := strconv.Atoi(sport)
	cfg := &Config{
		Helpdesk: HelpdeskConfig{Name: "Demo Support", Address: sys.Address("support"), Language: "en",
			Staff: []StaffConfig{
				{Email: sys.Address("alice"), Name: "Alice Smith", Language: "en"},
				{Email: sys.Address("bob"), Name: "Борис Петров", Language: "ru"},
			}},
		IMAP: IMAPConfig{Host: host, Port: ip, Security: "none", Username: sys.Address("support"), Password: "demo",
			ProcessedMailbox: "Processed", PollInterval: 5 * time.Second},
		SMTP:  SMTPConfig{Host: host, Port: sp, Security: "none"},
		Store: StoreConfig{Path: filepath.Join(dir, "maildesk.db")},
		Fields: FieldsConfig{Service: FieldConfig{Values: []FieldValueConfig{
			{Name: "crm", Labels: map[string]string{"en": "CRM", "ru": "Система (CRM)", "uk": "Система (CRM)"}},
			{Name: "client-app", Labels: map[string]string{"en": "Client mobile app", "ru": "Мобильное приложение клиента", "uk": "Мобільний застосунок клієнта"}},
			{Name: "trainer-app", Labels: map[string]string{"en": "Trainer mobile app", "ru": "Мобильное приложение тренера", "uk": "Мобільний застосунок тренера"}},
			{Name: "chat", Labels: map[string]string{"en": "Chat", "ru": "Чат", "uk": "Чат"}},
		}}},
	}
	cfg.defaults()
	return cfg
}

// writeDemoConfig writes the demo's config, so the CLI can be pointed at it.
func writeDemoConfig(cfg *Config, dir string) string {
	path := filepath.Join(dir, "maildesk.yaml")
	var b strings.Builder
	fmt.Fprintf(&b, "helpdesk:\n  name: %q\n  address: %s\n  staff:\n", cfg.Helpdesk.Name, cfg.Helpdesk.Address)
	for _, s := range cfg.Helpdesk.Staff {
		fmt.Fprintf(&b, "    - {email: %s, name: %q, language: %s}\n", s.Email, s.Name, s.Language)
	}
	fmt.Fprintf(&b, "imap: {host: %s, port: %d, security: none, password: demo, processed_mailbox: Processed}\n", cfg.IMAP.Host, cfg.IMAP.Port)
	fmt.Fprintf(&b, "smtp: {host: %s, port: %d, security: none}\n", cfg.SMTP.Host, cfg.SMTP.Port)
	fmt.Fprintf(&b, "store: {path: %s}\n", cfg.Store.Path)
	os.WriteFile(path, []byte(b.String()), 0o600)
	return path
}

// demoTour plays the scenario and shows what each person receives.
func demoTour(ctx context.Context, sys *memmail.System, say func(string, ...any)) error {
	say("\n1. Anna writes to support, in Russian, from her own mail client.")
	if err := demoSend(sys, "anna", "Анна Иванова", sys.Address("support"), "Не печатает чеки [Ошибка] [Высокий]",
		"Здравствуйте!\n\nС утра касса не печатает чеки: при оплате выдаёт ошибку 1102.\nПерезагрузка не помогла.\n\nАнна", ""); err != nil {
		return err
	}
	annaMail, err := demoWait(ctx, sys, "anna", 2)
	if err != nil {
		return err
	}
	say("   Anna's inbox, a moment later (a ticket number, and her password):")
	for _, m := range annaMail {
		say("     • %s", demoSummary(m))
	}
	aliceMail, err := demoWait(ctx, sys, "alice", 1)
	if err != nil {
		return err
	}
	say("\n2. Alice, on the team, is told in her own inbox; its Reply-To is her personal reply address:")
	say("     • %s", demoSummary(aliceMail[0]))
	replyTo, msgID, subject := demoReplyTarget(aliceMail[0])
	say("\n3. Alice presses Reply and writes a command line above her answer:")
	body := "Status: waiting-customer\n\nАнна, добрый день!\nПодскажите, пожалуйста, модель кассы и версию драйвера ККМ."
	say("     %s", strings.ReplaceAll(body, "\n", "\n     "))
	if err := demoSend(sys, "alice", "Alice Smith", replyTo, "Re: "+subject, body, msgID); err != nil {
		return err
	}
	annaMail, err = demoWait(ctx, sys, "anna", 3)
	if err != nil {
		return err
	}
	say("\n4. Anna gets the answer from the support address, never Alice's own, with the new status:")
	say("     From: %s", demoFrom(annaMail[2]))
	say("     %s", strings.ReplaceAll(strings.TrimSpace(demoText(annaMail[2])), "\n", "\n     "))
	return nil
}

// demoReplyTarget is where a mail client's Reply button would send an answer to raw.
func demoReplyTarget(raw []byte) (replyTo, messageID, subject string) {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return "", "", ""
	}
	if rt, _ := r.Header.AddressList("Reply-To"); len(rt) > 0 {
		replyTo = rt[0].Address
	}
	messageID, _ = r.Header.MessageID()
	subject, _ = r.Header.Subject()
	return replyTo, messageID, subject
}

func demoSend(sys *memmail.System, from, name, to, subject, body, inReplyTo string) error {
	m := gomail.NewMsg()
	if err := m.FromFormat(name, sys.Address(from)); err != nil {
		return err
	}
	if err := m.To(to); err != nil {
		return err
	}
	m.Subject(subject)
	if inReplyTo != "" {
		m.SetGenHeader(gomail.HeaderInReplyTo, "<"+inReplyTo+">")
	}
	m.SetBodyString(gomail.TypeTextPlain, body)
	host, port, _ := net.SplitHostPort(sys.SMTPAddr())
	p, _ := strconv.Atoi(port)
	c, err := gomail.NewClient(host, gomail.WithPort(p), gomail.WithTLSPolicy(gomail.NoTLS))
	if err != nil {
		return err
	}
	return c.DialAndSend(m)
}

// demoWait waits until account name's INBOX holds n mails, and returns them.
func demoWait(ctx context.Context, sys *memmail.System, name string, n int) ([][]byte, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		msgs, err := sys.Mailbox(name, "INBOX")
		if err == nil && len(msgs) >= n {
			return msgs, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s's inbox holds %d mails after 20s, expected %d", name, len(msgs), n)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// demoSummary is "Subject — first line of text".
func demoSummary(raw []byte) string {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return "(unreadable)"
	}
	subject, _ := r.Header.Subject()
	first := ""
	for _, l := range strings.Split(demoText(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Здравствуйте") && !strings.HasPrefix(l, "Hello") {
			first = l
			break
		}
	}
	return fmt.Sprintf("%q\n         %s", subject, clip(first, 100))
}

// demoText is the plain text part of raw.
func demoText(raw []byte) string {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	for {
		p, err := r.NextPart()
		if err != nil {
			return ""
		}
		if h, ok := p.Header.(*mail.InlineHeader); ok {
			if ct, _, _ := h.ContentType(); ct == "text/plain" {
				b, _ := io.ReadAll(p.Body)
				return string(b)
			}
		}
	}
}

func demoFrom(raw []byte) string {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	from, _ := r.Header.AddressList("From")
	if len(from) == 0 {
		return ""
	}
	return fmt.Sprintf("%s <%s>", from[0].Name, from[0].Address)
}
