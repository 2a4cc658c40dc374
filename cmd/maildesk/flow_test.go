package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	gomail "github.com/wneessen/go-mail"

	"maildesk/internal/memmail"
	"maildesk/tickets"
)

// flow is maildesk running in-process, as `maildesk run` wires it, against
// an in-process mail system: tests send mail as people do and read what
// lands in their inboxes.
type flow struct {
	t   *testing.T
	sys *memmail.System
	app *app
	mu  sync.Mutex
	now time.Time
}

// newFlow starts maildesk with support, staff alice and bob, and customers
// anna, olena and carl. mod may change the config first.
func newFlow(t *testing.T, mod func(*Config)) *flow {
	return newFlowAt(t, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), mod)
}

// newFlowAt is newFlow with maildesk's clock starting at start.
func newFlowAt(t *testing.T, start time.Time, mod func(*Config)) *flow {
	t.Helper()
	sys, err := memmail.Start(memmail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	for _, u := range []string{"support", "alice", "bob", "anna", "olena", "carl", "mallory"} {
		sys.AddUser(u, "pw")
	}
	dir := t.TempDir()
	ip, _ := strconv.Atoi(port(sys.IMAPAddr()))
	sp, _ := strconv.Atoi(port(sys.SMTPAddr()))
	cfg := &Config{
		Helpdesk: HelpdeskConfig{Name: "Test Support", Address: sys.Address("support"), AutoReplyLimit: 100,
			Staff: []StaffConfig{
				{Email: sys.Address("alice"), Name: "Alice Smith", Language: "en"},
				{Email: sys.Address("bob"), Name: "Bob Jones", Language: "en"},
			}},
		IMAP:  IMAPConfig{Host: "127.0.0.1", Port: ip, Security: "none", Password: "pw", PollInterval: time.Second},
		SMTP:  SMTPConfig{Host: "127.0.0.1", Port: sp, Security: "none"},
		Store: StoreConfig{Path: filepath.Join(dir, "maildesk.db")},
	}
	if mod != nil {
		mod(cfg)
	}
	f := &flow{t: t, sys: sys, now: start}
	f.app = startApp(t, cfg, f.clock)
	return f
}

// startApp runs maildesk with cfg until the test ends.
func startApp(t *testing.T, cfg *Config, now func() time.Time) *app {
	t.Helper()
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	a, err := openApp(cfg, slog.New(slog.NewTextHandler(t.Output(), nil)), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	a.now = now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.run(ctx, false) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	return a
}

func (f *flow) clock() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }

// advance moves maildesk's clock and lets the timers run.
func (f *flow) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
	if err := f.app.tick(); err != nil {
		f.t.Fatal(err)
	}
}

// msg is a mail to send.
type msg struct {
	from, name, to, subject, body string
	inReplyTo                     string
	references                    []string
	headers                       map[string]string
	attach                        map[string][]byte
}

// send submits m over SMTP as a mail client would.
func (f *flow) send(m msg) {
	f.t.Helper()
	g := gomail.NewMsg()
	if err := g.FromFormat(m.name, m.from); err != nil {
		f.t.Fatal(err)
	}
	to := m.to
	if to == "" {
		to = f.sys.Address("support")
	}
	g.To(to)
	g.Subject(m.subject)
	if m.inReplyTo != "" {
		g.SetGenHeader(gomail.HeaderInReplyTo, "<"+m.inReplyTo+">")
	}
	if len(m.references) > 0 {
		g.SetGenHeader(gomail.HeaderReferences, "<"+strings.Join(m.references, "> <")+">")
	}
	for k, v := range m.headers {
		g.SetGenHeaderPreformatted(gomail.Header(k), v)
	}
	g.SetBodyString(gomail.TypeTextPlain, m.body)
	for name, data := range m.attach {
		g.AttachReader(name, bytes.NewReader(data))
	}
	host, p, _ := net.SplitHostPort(f.sys.SMTPAddr())
	pn, _ := strconv.Atoi(p)
	c, err := gomail.NewClient(host, gomail.WithPort(pn), gomail.WithTLSPolicy(gomail.NoTLS))
	if err != nil {
		f.t.Fatal(err)
	}
	if err := c.DialAndSend(g); err != nil {
		f.t.Fatal(err)
	}
}

// received is a mail as the recipient's client shows it.
type received struct {
	Subject, From, FromName, ReplyTo, MessageID string
	InReplyTo, References                       []string
	Header                                      mail.Header
	Text                                        string
	Files                                       []string
	Raw                                         []byte
}

func parseReceived(t *testing.T, raw []byte) *received {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := r.Header
	out := &received{Header: h, Raw: raw}
	out.Subject, _ = h.Subject()
	if from, _ := h.AddressList("From"); len(from) > 0 {
		out.From, out.FromName = from[0].Address, from[0].Name
	}
	if rt, _ := h.AddressList("Reply-To"); len(rt) > 0 {
		out.ReplyTo = rt[0].Address
	}
	out.MessageID, _ = h.MessageID()
	out.InReplyTo, _ = h.MsgIDList("In-Reply-To")
	out.References, _ = h.MsgIDList("References")
	for {
		p, err := r.NextPart()
		if err != nil {
			break
		}
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			if ct, _, _ := ph.ContentType(); ct == "text/plain" && out.Text == "" {
				b, _ := io.ReadAll(p.Body)
				out.Text = string(b)
			}
		case *mail.AttachmentHeader:
			name, _ := ph.Filename()
			out.Files = append(out.Files, name)
		}
	}
	return out
}

// inbox returns what account name has received, oldest first.
func (f *flow) inbox(name string) []*received {
	f.t.Helper()
	raws, err := f.sys.Mailbox(name, "INBOX")
	if err != nil {
		f.t.Fatal(err)
	}
	var out []*received
	for _, raw := range raws {
		out = append(out, parseReceived(f.t, raw))
	}
	return out
}

// waitInbox waits until account name has n mails and returns them.
func (f *flow) waitInbox(name string, n int) []*received {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := f.inbox(name)
		if len(got) >= n {
			if len(got) > n {
				f.t.Fatalf("%s has %d mails, want %d:\n%s", name, len(got), n, subjects(got))
			}
			return got
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s has %d mails after 15s, want %d:\n%s", name, len(got), n, subjects(got))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// quiet checks that account name still has n mails after maildesk had time to send more.
func (f *flow) quiet(name string, n int) {
	f.t.Helper()
	f.settle()
	if got := f.inbox(name); len(got) != n {
		f.t.Errorf("%s has %d mails, want %d:\n%s", name, len(got), n, subjects(got))
	}
}

// settle waits until maildesk has taken in all mail and sent its outbox.
func (f *flow) settle() {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		inbox, _ := f.sys.Flags("support", "INBOX")
		unseen := 0
		for _, fl := range inbox {
			if !containsFlag(fl, "\\Seen") {
				unseen++
			}
		}
		pending := 0
		f.app.store.View(func(tx *tickets.Tx) error { pending, _ = tx.OutboxDepth(); return nil })
		if unseen == 0 && pending == 0 {
			time.Sleep(50 * time.Millisecond)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatal("maildesk did not settle within 15s")
}

func subjects(rs []*received) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  %q from %s\n", r.Subject, r.From)
	}
	return b.String()
}

// reply answers r like a mail client's Reply button: to its Reply-To, with
// "Re:" and the threading headers, quoting it below.
func (f *flow) reply(from, name string, r *received, body string) {
	to := r.ReplyTo
	if to == "" {
		to = r.From
	}
	quoted := "> " + strings.ReplaceAll(strings.TrimSpace(r.Text), "\n", "\n> ")
	f.send(msg{from: from, name: name, to: to, subject: "Re: " + r.Subject,
		body:      body + "\n\nOn Mon, 23 Nov 2026 at 10:00, Test Support <" + r.From + "> wrote:\n" + quoted,
		inReplyTo: r.MessageID, references: append(append([]string{}, r.References...), r.MessageID)})
}

func (f *flow) ticket(n tickets.Number) *tickets.Ticket {
	f.t.Helper()
	var t *tickets.Ticket
	if err := f.app.store.View(func(tx *tickets.Tx) (err error) { t, err = tx.Ticket(n); return err }); err != nil {
		f.t.Fatal(err)
	}
	return t
}

func (f *flow) thread(n tickets.Number) []tickets.Message {
	var out []tickets.Message
	f.app.store.View(func(tx *tickets.Tx) (err error) { out, err = tx.Thread(n); return err })
	return out
}

func (f *flow) addr(name string) string { return f.sys.Address(name) }

// openTicket has anna open ticket #1 and returns her and alice's mail.
func (f *flow) openTicket() (annaMail, aliceMail []*received) {
	f.t.Helper()
	f.send(msg{from: f.addr("anna"), name: "Anna Lee", subject: "Printer broken", body: "It jams on page 2."})
	return f.waitInbox("anna", 2), f.waitInbox("alice", 1)
}

// A customer writes "password": a new password arrives at the registered
// address, the old one stops working, the new one works; "tickets" lists
// the open tickets. Both answer once per interval.
func TestRequestsByMailFlow(t *testing.T) {
	f := newFlow(t, nil)
	anna, _ := f.openTicket()
	old := passwordIn(t, anna[1].Text)

	f.send(msg{from: f.addr("anna"), subject: "Password", body: ""})
	got := f.waitInbox("anna", 3)[2]
	fresh := passwordIn(t, got.Text)
	if !strings.Contains(got.Subject, "new password") || fresh == "" || fresh == old {
		t.Fatalf("password mail %q: %q (old %q)", got.Subject, got.Text, old)
	}
	var c *tickets.Customer
	f.app.store.View(func(tx *tickets.Tx) (err error) { c, err = tx.Customer(f.addr("anna")); return err })
	if !tickets.CheckPassword(c.PasswordHash, tickets.Password(fresh)) || tickets.CheckPassword(c.PasswordHash, tickets.Password(old)) {
		t.Error("the stored hash does not match the new password only")
	}

	f.send(msg{from: f.addr("anna"), subject: "заявки", body: ""})
	list := f.waitInbox("anna", 4)[3]
	if !strings.Contains(list.Text, "[#1] Printer broken") {
		t.Errorf("ticket list: %q", list.Text)
	}
	f.send(msg{from: f.addr("anna"), subject: "password", body: ""}) // again at once: no answer
	f.quiet("anna", 4)
	var open []tickets.Ticket
	f.app.store.View(func(tx *tickets.Tx) (err error) { open, err = tx.ListTickets(tickets.Filter{}); return err })
	if len(open) != 1 {
		t.Errorf("requests opened tickets: %d", len(open))
	}
}

// passwordIn finds the password line of a welcome or password mail.
func passwordIn(t *testing.T, text string) string {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if _, v, ok := strings.Cut(line, "Password:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no password in %q", text)
	return ""
}
