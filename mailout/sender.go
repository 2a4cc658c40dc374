package mailout

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"maildesk/tickets"
)

// SMTPOptions say how to reach the SMTP server.
type SMTPOptions struct {
	Host     string
	Port     int
	Security string // "none", "starttls" or "tls"
	Username string
	Password string
	// Token, if set, returns an OAuth2 access token for XOAUTH2, fetched
	// before each connection.
	Token func(ctx context.Context) (string, error)
	// OAuthBearer uses OAUTHBEARER (RFC 7628) instead of XOAUTH2 with Token.
	OAuthBearer bool
	TLSConfig   *tls.Config
	HELO        string
	Timeout     time.Duration
}

// Sender delivers the outbox. It never blocks mail-in: it runs in its own
// goroutine and only reads due entries and marks them in short transactions.
type Sender struct {
	store    *tickets.Store
	desk     *tickets.Desk
	composer *Composer
	smtp     SMTPOptions
	// RetryFor is how long a temporary failure is retried. Default 3 days.
	retryFor time.Duration
	log      *slog.Logger
	now      func() time.Time
	failures atomic.Int64
	sent     atomic.Int64
	// afterAccept, in tests, runs between the server's acceptance and the
	// mark, where a crash would happen.
	afterAccept func(*tickets.Mail)
}

// SenderOptions configure a Sender.
type SenderOptions struct {
	Store    *tickets.Store
	Desk     *tickets.Desk
	Composer *Composer
	SMTP     SMTPOptions
	RetryFor time.Duration
	Log      *slog.Logger
	Now      func() time.Time
}

// NewSender returns a sender.
func NewSender(o SenderOptions) *Sender {
	if o.RetryFor == 0 {
		o.RetryFor = 72 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SMTP.Timeout == 0 {
		o.SMTP.Timeout = 30 * time.Second
	}
	return &Sender{store: o.Store, desk: o.Desk, composer: o.Composer, smtp: o.SMTP, retryFor: o.RetryFor,
		log: o.Log, now: o.Now}
}

// Counts are the sender's totals since start, for metrics.
func (s *Sender) Counts() (sent, failed int64) { return s.sent.Load(), s.failures.Load() }

// batchSize is how many mails go over one SMTP connection at most.
const batchSize = 50

// Run delivers mail until ctx is cancelled: it sleeps until the next entry
// is due, or until the store says mail was queued.
func (s *Sender) Run(ctx context.Context) error {
	for {
		next, err := s.Flush(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := time.Hour
		switch {
		case err != nil:
			s.log.Error("outbox", "err", err)
			wait = 30 * time.Second
		case !next.IsZero():
			wait = max(next.Sub(s.now()), 0)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-s.store.OutboxKick():
		case <-timer.C:
		}
		timer.Stop()
	}
}

// Flush makes one attempt at every mail due now and returns when the next
// one falls due (zero if none is pending).
func (s *Sender) Flush(ctx context.Context) (time.Time, error) {
	for ctx.Err() == nil {
		var due []tickets.Mail
		var next time.Time
		err := s.store.View(func(tx *tickets.Tx) (err error) {
			due, next, err = tx.DueMail(s.now(), batchSize)
			return err
		})
		if err != nil || len(due) == 0 {
			return next, err
		}
		if err := s.send(ctx, due); err != nil {
			return time.Time{}, err
		}
	}
	return time.Time{}, nil
}

// send makes one attempt at each of due over one connection. It returns an
// error only when the store fails; delivery failures are recorded.
func (s *Sender) send(ctx context.Context, due []tickets.Mail) error {
	type job struct {
		mail *tickets.Mail
		msg  *mail.Msg
	}
	if err := s.preparePasswords(due); err != nil {
		return err
	}
	var jobs []job
	for i := range due {
		m := &due[i]
		if deadline := s.deadline(m); s.now().After(deadline) {
			if err := s.fail(m, fmt.Sprintf("gave up after %s: %s", s.retryFor, m.LastError)); err != nil {
				return err
			}
			continue
		}
		if m.IssuePassword && m.Secret == "" {
			continue // its password is made in a later round; it stays due
		}
		msg, err := s.composer.Compose(m)
		if err != nil {
			// A template or attachment problem: retried, so that fixing
			// templates.dir and restarting sends it.
			s.log.Error("compose", "id", m.ID, "template", m.Template, "err", err)
			if err := s.retry(m, "compose: "+err.Error()); err != nil {
				return err
			}
			continue
		}
		jobs = append(jobs, job{m, msg})
	}
	if len(jobs) == 0 {
		return nil
	}
	client, err := dial(ctx, s.smtp)
	if err != nil {
		if ctx.Err() != nil {
			// Shutting down, not a failed attempt: left due, the mail goes
			// out first thing at the next start instead of after a backoff.
			return nil
		}
		s.log.Warn("smtp unavailable; mail stays queued", "err", err, "pending", len(jobs))
		for _, j := range jobs {
			if err := s.retry(j.mail, err.Error()); err != nil {
				return err
			}
		}
		return nil
	}
	defer client.Close()
	for _, j := range jobs {
		if ctx.Err() != nil {
			return nil // shutting down: the mail in hand went out; the rest stay due
		}
		// Each mail is marked right after the server accepts it, so a crash
		// can send at most this one mail twice, with the same Message-ID.
		sendErr := client.Send(j.msg)
		var err error
		switch {
		case j.msg.IsDelivered():
			if s.afterAccept != nil {
				s.afterAccept(j.mail)
			}
			err = s.markSent(j.mail)
		case permanent(sendErr):
			err = s.fail(j.mail, sendErr.Error())
		default:
			err = s.retry(j.mail, errText(sendErr))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return "not delivered"
	}
	return err.Error()
}

func (s *Sender) deadline(m *tickets.Mail) time.Time {
	if !m.Expires.IsZero() {
		return m.Expires
	}
	return m.Created.Add(s.retryFor)
}

// passwordsPerRound is the most passwords one round of sending makes:
// about 200 ms of hashing, so that a burst of new customers does not hold
// up the round's other mail for the time of fifty hashes.
const passwordsPerRound = 8

// preparePasswords makes the passwords that welcome and password mails
// among due carry, just before their first attempt (see tickets/doc.go,
// "Passwords"), and stores them with one commit rather than one each. It
// makes at most passwordsPerRound; the other such mails stay due for the
// next round.
func (s *Sender) preparePasswords(due []tickets.Mail) error {
	var need []*tickets.Mail
	for i := range due {
		m := &due[i]
		if m.IssuePassword && m.Secret == "" && !s.now().After(s.deadline(m)) && len(need) < passwordsPerRound {
			need = append(need, m)
		}
	}
	if len(need) == 0 {
		return nil
	}
	secrets := make([]tickets.Password, len(need))
	hashes := make([]string, len(need))
	for i := range need {
		secrets[i] = tickets.NewPassword()
		hashes[i] = tickets.HashPassword(secrets[i]) // slow on purpose; outside the transaction
	}
	err := s.store.Update(func(tx *tickets.Tx) error {
		for i, m := range need {
			if err := tx.SetMailPassword(m.ID, secrets[i], hashes[i], s.now()); err != nil {
				return fmt.Errorf("outbox entry %d: %w", m.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("passwords for %d mails: %w", len(need), err)
	}
	for i, m := range need {
		m.Secret = secrets[i]
	}
	return nil
}

// Check connects to the SMTP server and logs in, as a send would, and
// disconnects: for `maildesk config check`.
func Check(ctx context.Context, o SMTPOptions) error {
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	c, err := dial(ctx, o)
	if err != nil {
		return err
	}
	return c.Close()
}

func dial(ctx context.Context, o SMTPOptions) (*mail.Client, error) {
	opts := []mail.Option{
		mail.WithPort(o.Port), mail.WithTimeout(o.Timeout), mail.WithTLSConfig(tlsConfig(o)),
	}
	if o.HELO != "" {
		opts = append(opts, mail.WithHELO(o.HELO))
	}
	switch o.Security {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	switch {
	case o.Token != nil:
		token, err := o.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("smtp token: %w", err)
		}
		if o.OAuthBearer {
			c := sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: o.Username, Token: token, Host: o.Host, Port: o.Port})
			opts = append(opts, mail.WithSMTPAuthCustom(saslAuth{c}))
		} else {
			opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthXOAUTH2), mail.WithUsername(o.Username), mail.WithPassword(token))
		}
	case o.Username != "":
		auth := mail.SMTPAuthPlain
		if o.Security == "none" {
			// Plain text auth without TLS only on a network the admin chose.
			auth = mail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(o.Username), mail.WithPassword(o.Password))
	}
	c, err := mail.NewClient(o.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	dctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := c.DialWithContext(dctx); err != nil {
		return nil, fmt.Errorf("connect %s: %w", net.JoinHostPort(o.Host, strconv.Itoa(o.Port)), err)
	}
	return c, nil
}

func tlsConfig(o SMTPOptions) *tls.Config {
	cfg := &tls.Config{ServerName: o.Host, MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = o.Host
		}
	}
	return cfg
}

// permanent reports whether a send error is final: a 5xx reply, or a mail
// that cannot be sent as it is. Everything else (4xx, a dropped connection,
// a timeout) is worth another attempt; go-mail's IsTemp alone would call a
// connection dropped during DATA permanent.
func permanent(err error) bool {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return false
	}
	if code := se.ErrorCode(); code >= 500 && code <= 599 {
		return true
	}
	switch se.Reason {
	case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
		return true
	}
	return false
}

func (s *Sender) markSent(m *tickets.Mail) error {
	err := s.store.Update(func(tx *tickets.Tx) error { return tx.MarkSent(m.ID, s.now()) })
	if err != nil {
		return fmt.Errorf("mark outbox entry %d sent: %w", m.ID, err)
	}
	s.sent.Add(1)
	s.log.Info("mail sent", "id", m.ID, "ticket", uint64(m.Ticket), "template", m.Template, "to", m.To, "attempt", m.Attempts+1)
	return nil
}

func (s *Sender) retry(m *tickets.Mail, reason string) error {
	next := s.now().Add(backoff(m.Attempts, rand.Float64()))
	err := s.store.Update(func(tx *tickets.Tx) error { return tx.MarkRetry(m.ID, reason, next) })
	if err != nil {
		return fmt.Errorf("mark outbox entry %d for retry: %w", m.ID, err)
	}
	s.log.Warn("mail not sent, will retry", "id", m.ID, "ticket", uint64(m.Ticket), "to", m.To, "attempt", m.Attempts+1,
		"next", next.Format(time.RFC3339), "reason", reason)
	return nil
}

func (s *Sender) fail(m *tickets.Mail, reason string) error {
	err := s.store.Update(func(tx *tickets.Tx) error { return s.desk.DeliveryFailed(tx, m.ID, reason, s.now()) })
	if err != nil {
		return fmt.Errorf("mark outbox entry %d failed: %w", m.ID, err)
	}
	s.failures.Add(1)
	s.log.Warn("mail failed for good", "id", m.ID, "ticket", uint64(m.Ticket), "to", m.To, "reason", reason)
	return nil
}

// saslAuth lets go-mail authenticate with a go-sasl client (OAUTHBEARER,
// which go-mail does not have).
type saslAuth struct{ c sasl.Client }

func (a saslAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return a.c.Start() }

func (a saslAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	return a.c.Next(fromServer)
}
