package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"maildesk/mailin"
	"maildesk/mailout"
	"maildesk/templates"
	"maildesk/tickets"
)

func runCommand(g *globals) *cobra.Command {
	var once bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the helpdesk: take mail in, send mail out, until stopped",
		Long: `Run logs in to the IMAP mailbox, takes in every message not yet processed,
then waits for new mail (IDLE, or polling), and delivers the outbox over SMTP.
SIGINT or SIGTERM finishes the mail in hand and stops; a second signal stops at once.
With --once it processes what is there, delivers the outbox, and exits (for cron).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			log, err := newLogger(os.Stderr, firstNonEmpty(g.logFormat, cfg.Log.Format), cfg.Log.Level)
			if err != nil {
				return err
			}
			if os.Getenv("GOMEMLIMIT") == "" {
				debug.SetMemoryLimit(int64(cfg.Limits.Memory))
			}
			a, err := openApp(cfg, log, time.Second)
			if errors.Is(err, tickets.ErrLocked) {
				return fmt.Errorf("%w: is another maildesk run already running?", err)
			}
			if err != nil {
				return err
			}
			defer a.Close()
			return a.run(cmd.Context(), once)
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "process waiting mail, deliver the outbox, and exit")
	return cmd
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// app is maildesk assembled from a config: what every command needs (the
// store, the blobs, the desk) and, for run, the loops.
type app struct {
	cfg   *Config
	log   *slog.Logger
	store *tickets.Store
	desk  *tickets.Desk
	raw   *tickets.Blobs
	files *tickets.Blobs
	tmpl  *templates.Set
	proc  *mailin.Processor
	now   func() time.Time

	mu      sync.Mutex
	poller  *mailin.Poller
	sender  *mailout.Sender
	started time.Time
}

// openApp opens the store and everything that works without a network.
func openApp(cfg *Config, log *slog.Logger, lockTimeout time.Duration) (*app, error) {
	dc, err := cfg.deskConfig()
	if err != nil {
		return nil, err
	}
	desk, err := tickets.NewDesk(dc)
	if err != nil {
		return nil, err
	}
	tmpl, err := templates.Load(templates.Options{Dir: cfg.Templates.Dir, Fields: &desk.Config().Fields,
		Location: dc.Hours.Location, TagPrefix: dc.TagPrefix})
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	store, err := tickets.Open(cfg.Store.Path, tickets.StoreOptions{LockTimeout: lockTimeout})
	if err != nil {
		return nil, err
	}
	raw, err := tickets.OpenBlobs(cfg.Store.Raw)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("store.raw: %w", err)
	}
	files, err := tickets.OpenBlobs(cfg.Store.Attachments)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("store.attachments: %w", err)
	}
	proc := mailin.NewProcessor(store, desk, raw, files, mailin.Options{
		TagPrefix: dc.TagPrefix, MaxFileSize: int64(cfg.Limits.MaxFileSize), MaxMailFiles: int64(cfg.Limits.MaxMailSize),
		TrustedAuthServIDs: cfg.Helpdesk.TrustedAuthServIDs,
	})
	return &app{cfg: cfg, log: log, store: store, desk: desk, raw: raw, files: files, tmpl: tmpl, proc: proc, now: time.Now}, nil
}

func (a *app) Close() { a.store.Close() }

func (a *app) newPoller() (*mailin.Poller, error) {
	password, err := secret("imap.password", a.cfg.IMAP.Password, a.cfg.IMAP.PasswordFile, a.cfg.IMAP.PasswordCommand)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := tlsConfig("imap.tls_ca_file", a.cfg.IMAP.TLSCAFile, a.cfg.IMAP.Host)
	if err != nil {
		return nil, err
	}
	opts := mailin.IMAPOptions{
		Addr: net.JoinHostPort(a.cfg.IMAP.Host, strconv.Itoa(a.cfg.IMAP.Port)), Security: a.cfg.IMAP.Security,
		TLSConfig: tlsCfg, Username: a.cfg.IMAP.Username, Password: password, Mailbox: a.cfg.IMAP.Mailbox,
		ProcessedMailbox: a.cfg.IMAP.ProcessedMailbox, QuarantineMailbox: a.cfg.IMAP.QuarantineMailbox,
		PollInterval: a.cfg.IMAP.PollInterval, IdleRefresh: a.cfg.IMAP.IdleRefresh,
		MaxMessageSize: int64(a.cfg.IMAP.MaxMessageSize),
	}
	if a.cfg.IMAP.OAuth2.enabled() {
		opts.SASL = imapOAuth2(a.cfg.IMAP.Username, a.cfg.IMAP.Host, a.cfg.IMAP.Port, a.cfg.IMAP.OAuth2)
	}
	return mailin.NewPoller(a.proc, opts, a.log.With("loop", "mailin"), a.now), nil
}

// smtpOptions builds the SMTP settings, reading the password from where the config says.
func (a *app) smtpOptions() (mailout.SMTPOptions, error) {
	password, err := secret("smtp.password", a.cfg.SMTP.Password, a.cfg.SMTP.PasswordFile, a.cfg.SMTP.PasswordCommand)
	if err != nil {
		return mailout.SMTPOptions{}, err
	}
	tlsCfg, err := tlsConfig("smtp.tls_ca_file", a.cfg.SMTP.TLSCAFile, a.cfg.SMTP.Host)
	if err != nil {
		return mailout.SMTPOptions{}, err
	}
	o := mailout.SMTPOptions{Host: a.cfg.SMTP.Host, Port: a.cfg.SMTP.Port, Security: a.cfg.SMTP.Security,
		Username: a.cfg.SMTP.Username, Password: password, TLSConfig: tlsCfg, HELO: a.cfg.SMTP.HELO}
	if a.cfg.SMTP.OAuth2.enabled() {
		o.Token, o.OAuthBearer = tokenSource(a.cfg.SMTP.OAuth2), a.cfg.SMTP.OAuth2.oauthBearer()
	}
	return o, nil
}

func (a *app) newSender() (*mailout.Sender, error) {
	smtpOpts, err := a.smtpOptions()
	if err != nil {
		return nil, err
	}
	var verp []byte
	if a.cfg.SMTP.VERP {
		verp = a.store.Secret()
	}
	return mailout.NewSender(mailout.SenderOptions{
		Store: a.store, Desk: a.desk,
		Composer: mailout.NewComposer(mailout.ComposerOptions{Templates: a.tmpl, Files: a.files, Desk: a.desk.Config(), PortalURL: a.cfg.Portal.URL,
			VERPKey: verp}),
		SMTP: smtpOpts, RetryFor: a.cfg.SMTP.RetryFor, Log: a.log.With("loop", "mailout"), Now: a.now,
	}), nil
}

// run starts every loop and waits until ctx is cancelled and all stopped.
func (a *app) run(ctx context.Context, once bool) error {
	poller, err := a.newPoller()
	if err != nil {
		return err
	}
	sender, err := a.newSender()
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.poller, a.sender, a.started = poller, sender, time.Now()
	a.mu.Unlock()
	if once {
		if err := poller.Once(ctx); err != nil {
			return err
		}
		if err := a.tick(); err != nil {
			return err
		}
		_, err := sender.Flush(ctx)
		return err
	}
	ctl, err := listenControl(a.cfg.Store.Socket)
	if err != nil {
		return err
	}
	a.log.Info("maildesk running", "version", version, "address", a.cfg.Helpdesk.Address, "store", a.cfg.Store.Path,
		"control", a.cfg.Store.Socket)
	var wg sync.WaitGroup
	loops := map[string]func(context.Context) error{
		"mailin":  poller.Run,
		"mailout": sender.Run,
		"timers":  a.runTimers,
		"control": func(ctx context.Context) error { return serveControl(ctx, ctl, newAPI(a, sender)) },
	}
	if a.cfg.HTTP.Listen != "" {
		loops["http"] = func(ctx context.Context) error { return a.serveMonitor(ctx, a.cfg.HTTP.Listen) }
	}
	if a.cfg.Portal.Listen != "" {
		loops["portal"] = a.servePortal
	}
	for name, fn := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.supervise(ctx, name, fn)
		}()
	}
	wg.Wait()
	a.log.Info("maildesk stopped")
	return nil
}

// runTimers does what time decides (autoclose, due reminders) every 30s.
func (a *app) runTimers(ctx context.Context) error {
	ticker := time.NewTicker(30 * time.Second)
	defer ticker.Stop()
	for {
		if err := a.tick(); err != nil {
			a.log.Error("timers", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// tick runs the desk's timers until no batch is left, one transaction per batch.
func (a *app) tick() error {
	for {
		var n int
		err := a.store.Update(func(tx *tickets.Tx) (err error) {
			n, err = a.desk.Tick(tx, a.now())
			return err
		})
		if n > 0 {
			a.log.Info("timers", "done", n)
		}
		if err != nil {
			return err
		}
		if n < tickets.TickBatch {
			break
		}
	}
	return a.pruneOutbox()
}

// pruneOutbox drops sent mail older than store.keep_sent, a thousand per
// transaction, so the store grows with the tickets, not with every mail.
func (a *app) pruneOutbox() error {
	before := a.now().Add(-a.cfg.Store.KeepSent)
	for {
		var n int
		err := a.store.Update(func(tx *tickets.Tx) (err error) {
			n, err = tx.PruneSent(before, 1000)
			return err
		})
		if n > 0 {
			a.log.Info("outbox pruned", "mails", n, "sent_before", before)
		}
		if err != nil || n < 1000 {
			return err
		}
	}
}

// supervise runs a loop until ctx ends. A panic in it (a bug) is logged and
// the loop restarted after a pause, so one bad path does not stop the
// helpdesk; mail is safe because nothing is acknowledged before commit.
func (a *app) supervise(ctx context.Context, name string, fn func(context.Context) error) {
	for ctx.Err() == nil {
		err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
				}
			}()
			return fn(ctx)
		}()
		if ctx.Err() != nil {
			return
		}
		a.log.Error("loop stopped; restarting in 5s", "loop", name, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// secret returns value, or the content of file, or what command prints,
// whichever is set, so passwords need not sit in the config file.
func secret(key, value, file, command string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_file: %w", key, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case command != "":
		out, err := exec.Command("/bin/sh", "-c", command).Output()
		if err != nil {
			return "", fmt.Errorf("%s_command: %w", key, err)
		}
		return strings.TrimRight(string(out), "\r\n"), nil
	}
	return value, nil
}

// tlsConfig trusts the system roots, or the CA in caFile (self-signed test servers).
func tlsConfig(key, caFile, host string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: %s holds no PEM certificate", key, caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
