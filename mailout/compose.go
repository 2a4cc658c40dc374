package mailout

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"maildesk/templates"
	"maildesk/tickets"
)

// Composer turns outbox entries into mails.
type Composer struct {
	tmpl     *templates.Set
	files    *tickets.Blobs
	cfg      *tickets.Config
	helpdesk templates.Helpdesk
	// verpKey, if set, makes the envelope sender a VERP address
	// (support+b.<id>.<mac>@domain) so a bounce names the mail it is for.
	verpKey []byte
}

// ComposerOptions configure a Composer.
type ComposerOptions struct {
	Templates *templates.Set
	Files     *tickets.Blobs
	Desk      *tickets.Config
	PortalURL string
	// VERPKey enables VERP return paths; it is the store's secret.
	VERPKey []byte
}

// NewComposer returns a composer.
func NewComposer(o ComposerOptions) *Composer {
	return &Composer{tmpl: o.Templates, files: o.Files, cfg: o.Desk, verpKey: o.VERPKey,
		helpdesk: templates.Helpdesk{Name: o.Desk.Name, Address: o.Desk.Address, PortalURL: o.PortalURL}}
}

// Compose renders m into a mail ready to send. The same entry always gives
// the same Message-ID, Date and (without attachments) the same bytes, so a
// retry is recognisable as the same mail.
func (c *Composer) Compose(m *tickets.Mail) (*mail.Msg, error) {
	data := &templates.Data{
		MailData: m.Data, Helpdesk: c.helpdesk, To: m.To, ToName: m.ToName, Password: m.Secret.Reveal(),
		AutocloseAfter: c.cfg.Lifecycle.AutocloseAfter, ReopenWithin: c.cfg.Lifecycle.ReopenWithin,
	}
	if m.Data.Ticket != nil {
		data.Target = c.cfg.Lifecycle.Targets[m.Data.Ticket.Priority]
	}
	r, err := c.tmpl.Render(m.Template, m.Lang, data)
	if err != nil {
		return nil, err
	}
	opts := []mail.MsgOption{mail.WithNoDefaultUserAgent()}
	if len(m.Files) == 0 {
		// go-mail would reuse a fixed boundary for nested multiparts, so only
		// a mail without attachments (one multipart) gets a fixed one.
		opts = append(opts, mail.WithBoundary(boundary(m.MessageID)))
	}
	msg := mail.NewMsg(opts...)
	fromName := m.FromName
	if fromName == "" {
		fromName = c.cfg.Name
	}
	// Address setters refuse CR/LF; names and the subject are made one line
	// first, so nothing a customer wrote can add a header.
	if err := msg.FromFormat(oneLine(fromName), c.cfg.Address); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.AddToFormat(oneLine(m.ToName), m.To); err != nil {
		return nil, fmt.Errorf("to %q: %w", m.To, err)
	}
	replyTo := m.ReplyTo
	if replyTo == "" {
		replyTo = c.cfg.Address
	}
	if err := msg.ReplyToFormat(oneLine(c.cfg.Name), replyTo); err != nil {
		return nil, fmt.Errorf("reply-to %q: %w", replyTo, err)
	}
	if err := msg.EnvelopeFrom(c.returnPath(m)); err != nil {
		return nil, fmt.Errorf("return path: %w", err)
	}
	msg.Subject(oneLine(r.Subject))
	msg.SetMessageIDWithValue(m.MessageID)
	msg.SetDateWithValue(m.Date)
	if id := headerID(m.InReplyTo); id != "" {
		msg.SetGenHeader(mail.HeaderInReplyTo, id)
	}
	if refs := references(m.References); refs != "" {
		// One value: go-mail joins several with ", ", which is wrong for References.
		msg.SetGenHeader(mail.HeaderReferences, refs)
	}
	if m.Auto != "" {
		msg.SetGenHeader("Auto-Submitted", m.Auto)
		// Exchange and Outlook send no out-of-office answer to this.
		msg.SetGenHeader("X-Auto-Response-Suppress", "All")
	}
	if m.Ticket != 0 {
		msg.SetGenHeader("X-Maildesk-Ticket", m.Ticket.String())
	}
	msg.SetBodyString(mail.TypeTextPlain, r.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, r.HTML)
	for _, f := range m.Files {
		data, err := c.files.Read(f.SHA256)
		if err != nil {
			return nil, fmt.Errorf("attachment %q: %w", f.Name, err)
		}
		ct := mail.ContentType(f.ContentType)
		if f.ContentType == "" {
			ct = mail.TypeAppOctetStream
		}
		if err := msg.AttachReader(tickets.SanitizeFilename(f.Name), bytes.NewReader(data), mail.WithFileContentType(ct)); err != nil {
			return nil, fmt.Errorf("attachment %q: %w", f.Name, err)
		}
	}
	return msg, nil
}

// Bytes renders m as it goes over the wire.
func (c *Composer) Bytes(m *tickets.Mail) ([]byte, error) {
	msg, err := c.Compose(m)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// returnPath is the envelope sender: the support address, or with VERP
// support+b.<id>.<mac>@domain, which names the outbox entry a bounce is for
// and cannot be forged to point at another.
func (c *Composer) returnPath(m *tickets.Mail) string {
	if c.verpKey == nil {
		return c.cfg.Address
	}
	local, domain, _ := strings.Cut(c.cfg.Address, "@")
	return fmt.Sprintf("%s+%s@%s", local, tickets.VERPToken(c.verpKey, m.ID), domain)
}

func boundary(messageID string) string {
	sum := sha256.Sum256([]byte(messageID))
	return "md-" + hex.EncodeToString(sum[:12])
}

// headerID brackets a Message-ID for a header, refusing anything that
// could not be one (an ID from a customer's mail is user input).
func headerID(id string) string {
	if id == "" || strings.ContainsAny(id, " \t\r\n<>") || !isASCII(id) {
		return ""
	}
	return "<" + id + ">"
}

func references(ids []string) string {
	var out []string
	for _, id := range ids {
		if h := headerID(id); h != "" {
			out = append(out, h)
		}
	}
	return strings.Join(out, " ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// oneLine removes line breaks and control characters from a header value.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// backoff is the wait before attempt n+1 after n failed attempts: 1, 2, 4 …
// minutes, at most an hour, with ±20% jitter so that mail queued together
// during an outage does not retry in one burst.
func backoff(n int, jitter float64) time.Duration {
	d := time.Minute << min(n, 6)
	if d > time.Hour {
		d = time.Hour
	}
	return time.Duration(float64(d) * (0.8 + 0.4*jitter))
}
