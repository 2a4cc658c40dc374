//go:build e2e

// Package e2e runs the built maildesk binary against real Dovecot and
// Postfix on loopback (test/e2e/mailenv), as customers and staff would meet
// it: mail is sent with a real SMTP client through Postfix and read back
// from the Dovecot mailboxes over IMAP. Run it with `make e2e`.
package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"golang.org/x/text/encoding/charmap"
)

// env is the mail system that mailenv started.
type env struct {
	imap, smtp, domain, password string
	bin, mailenv                 string
}

func getEnv(t *testing.T) env {
	t.Helper()
	e := env{imap: os.Getenv("E2E_IMAP"), smtp: os.Getenv("E2E_SMTP"), domain: os.Getenv("E2E_DOMAIN"),
		password: os.Getenv("E2E_PASSWORD"), bin: os.Getenv("MAILDESK_BIN"), mailenv: os.Getenv("E2E_MAILENV")}
	if e.imap == "" || e.bin == "" {
		t.Fatal("E2E_IMAP and MAILDESK_BIN are not set: run `make e2e`")
	}
	return e
}

func (e env) addr(local string) string { return local + "@" + e.domain }

// fault runs a mailenv subcommand (stop-smtp, start-imap, ...).
func (e env) fault(t *testing.T, what string) {
	t.Helper()
	out, err := exec.Command(e.mailenv, what).CombinedOutput()
	if err != nil {
		t.Fatalf("mailenv %s: %v\n%s", what, err, out)
	}
}

// --- IMAP and SMTP as a mail client uses them -------------------------------

func (e env) dial(t *testing.T, account string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(e.imap, nil)
	if err != nil {
		t.Fatalf("imap: %v", err)
	}
	if err := c.Login(e.addr(account), e.password).Wait(); err != nil {
		c.Close()
		t.Fatalf("imap login %s: %v", account, err)
	}
	return c
}

// empty removes every mail from the account's mailboxes, so a test starts clean.
func (e env) empty(t *testing.T, account string) {
	t.Helper()
	c := e.dial(t, account)
	defer c.Close()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, mbox := range list {
		if mbox.Mailbox != "INBOX" {
			c.Delete(mbox.Mailbox).Wait()
			continue
		}
		sel, err := c.Select("INBOX", nil).Wait()
		if err != nil || sel.NumMessages == 0 {
			continue
		}
		var all imap.SeqSet
		all.AddRange(1, 0)
		c.Store(all, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close()
		c.Expunge().Close()
	}
}

// received is a mail as the recipient's client shows it.
type received struct {
	From, Subject, MessageID, InReplyTo, AutoSubmitted, Ticket string
	References                                                 []string
	Text                                                       string
}

// inbox reads every mail in the account's mailbox.
func (e env) inbox(t *testing.T, account, mailbox string) []received {
	t.Helper()
	c := e.dial(t, account)
	defer c.Close()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil
	}
	if sel.NumMessages == 0 {
		return nil
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatalf("fetch %s/%s: %v", account, mailbox, err)
	}
	var out []received
	for _, m := range msgs {
		for _, raw := range m.BodySection {
			out = append(out, parseReceived(t, raw.Bytes))
		}
	}
	return out
}

func parseReceived(t *testing.T, raw []byte) received {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read mail: %v", err)
	}
	var m received
	m.Subject, _ = r.Header.Subject()
	if from, _ := r.Header.AddressList("From"); len(from) > 0 {
		m.From = from[0].String()
	}
	m.MessageID, _ = r.Header.MessageID()
	if ids, _ := r.Header.MsgIDList("In-Reply-To"); len(ids) > 0 {
		m.InReplyTo = ids[0]
	}
	m.References, _ = r.Header.MsgIDList("References")
	m.AutoSubmitted = r.Header.Get("Auto-Submitted")
	m.Ticket = r.Header.Get("X-Maildesk-Ticket")
	for {
		p, err := r.NextPart()
		if err != nil {
			break
		}
		if h, ok := p.Header.(*mail.InlineHeader); ok {
			if ct, _, _ := h.ContentType(); ct == "text/plain" && m.Text == "" {
				b, _ := io.ReadAll(p.Body)
				m.Text = string(b)
			}
		}
	}
	return m
}

// waitInbox waits until the account's INBOX holds at least n mails.
func (e env) waitInbox(t *testing.T, account string, n int, within time.Duration) []received {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := e.inbox(t, account, "INBOX")
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d mails after %v, want %d", account, len(got), within, n)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// send mails through Postfix as the customer's client would, and returns the Message-ID.
func (e env) send(t *testing.T, from, to, subject, body string, headers ...string) string {
	t.Helper()
	id := fmt.Sprintf("%d.%d@client.%s", time.Now().UnixNano(), rand.Uint32(), e.domain)
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\n",
		from, to, mime.QEncoding.Encode("utf-8", subject), id, time.Now().Format(time.RFC1123Z))
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if !strings.Contains(strings.ToLower(strings.Join(headers, "\n")), "content-type:") {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n")
	}
	b.WriteString("\r\n" + strings.ReplaceAll(body, "\n", "\r\n") + "\r\n")
	e.sendRaw(t, from, to, []byte(b.String()))
	return id
}

func (e env) sendRaw(t *testing.T, from, to string, raw []byte) {
	t.Helper()
	envFrom := from
	if a, err := mail.ParseAddress(from); err == nil {
		envFrom = a.Address
	}
	var err error
	for try := 0; try < 20; try++ {
		if err = smtp.SendMail(e.smtp, nil, envFrom, []string{to}, raw); err == nil {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("smtp send: %v", err)
}

// --- maildesk ---------------------------------------------------------------

type daemon struct {
	t      *testing.T
	e      env
	dir    string
	config string
	cmd    *exec.Cmd
	log    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// newDaemon writes a config for a fresh store and empties the mailboxes;
// helpdeskExtra adds lines to the helpdesk block.
func newDaemon(t *testing.T, e env, helpdeskExtra string) *daemon {
	t.Helper()
	for _, a := range []string{"support", "alice", "bob", "customer", "olena"} {
		e.empty(t, a)
	}
	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(e.imap)
	_, sport, _ := net.SplitHostPort(e.smtp)
	config := filepath.Join(dir, "maildesk.yaml")
	yaml := fmt.Sprintf(`helpdesk:
  name: E2E Support
  address: %s
  staff:
    - {email: %s, name: Alice Smith}
    - {email: %s, name: Bob Jones}
%simap: {host: %s, port: %s, security: none, password: %s, processed_mailbox: Processed, poll_interval: 2s}
smtp: {host: %s, port: %s, security: none}
store: {path: %s}
log: {level: debug, format: text}
`, e.addr("support"), e.addr("alice"), e.addr("bob"), helpdeskExtra, host, port, e.password, host, sport, filepath.Join(dir, "maildesk.db"))
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, e: e, dir: dir, config: config, log: &syncBuffer{}}
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("maildesk log:\n%s", tail(d.log.String(), 60))
		}
	})
	return d
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// extra appends top-level YAML to the daemon's config (before it starts).
func (d *daemon) extra(yaml string) {
	d.t.Helper()
	f, err := os.OpenFile(d.config, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(yaml); err != nil {
		d.t.Fatal(err)
	}
}

func (d *daemon) start() {
	d.t.Helper()
	connects := strings.Count(d.log.String(), "imap connected")
	d.cmd = exec.Command(d.e.bin, "run", "-c", d.config)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(d.log.String(), "imap connected") == connects {
		if time.Now().After(deadline) {
			d.t.Fatalf("maildesk did not connect:\n%s", d.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil || d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-done
	}
}

func (d *daemon) kill() {
	d.cmd.Process.Kill()
	d.cmd.Wait()
}

// cli runs a maildesk command against the same config and decodes its JSON.
func (d *daemon) cli(out any, args ...string) {
	d.t.Helper()
	cmd := exec.Command(d.e.bin, append(args, "-c", d.config, "--json")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		d.t.Fatalf("maildesk %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if err := json.Unmarshal(b, out); err != nil {
		d.t.Fatalf("maildesk %s: %v\n%s", strings.Join(args, " "), err, b)
	}
}

type ticket struct {
	Number   int    `json:"number"`
	Subject  string `json:"subject"`
	Status   string `json:"status"`
	Customer string `json:"customer"`
	Assignee string `json:"assignee"`
	Messages []struct {
		Kind string `json:"kind"`
		From string `json:"from"`
		Text string `json:"text"`
	} `json:"messages"`
}

// tickets lists the tickets; in the list "messages" is a count, so it is left out.
func (d *daemon) tickets() []ticket {
	var list []struct {
		Number   int    `json:"number"`
		Subject  string `json:"subject"`
		Status   string `json:"status"`
		Customer string `json:"customer"`
		Assignee string `json:"assignee"`
	}
	d.cli(&list, "tickets", "list")
	out := make([]ticket, len(list))
	for i, l := range list {
		out[i] = ticket{Number: l.Number, Subject: l.Subject, Status: l.Status, Customer: l.Customer, Assignee: l.Assignee}
	}
	return out
}

func (d *daemon) ticket(n int) ticket {
	var t ticket
	d.cli(&t, "tickets", "show", fmt.Sprint(n))
	return t
}

// waitTickets waits until the store holds n tickets.
func (d *daemon) waitTickets(n int, within time.Duration) []ticket {
	d.t.Helper()
	deadline := time.Now().Add(within)
	for {
		list := d.tickets()
		if len(list) >= n {
			return list
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%d tickets after %v, want %d", len(list), within, n)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// inboxRaw reads the raw mails of the account's INBOX, oldest first.
func (e env) inboxRaw(t *testing.T, account string) [][]byte {
	t.Helper()
	c := e.dial(t, account)
	defer c.Close()
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range msgs {
		for _, b := range m.BodySection {
			out = append(out, b.Bytes)
		}
	}
	return out
}

// appendMail files raw in the account's INBOX over IMAP, as a delivery would.
func (e env) appendMail(t *testing.T, account, raw string) {
	t.Helper()
	c := e.dial(t, account)
	defer c.Close()
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	cmd.Write([]byte(raw))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("append: %v", err)
	}
}

func b64(t *testing.T, s string) string {
	enc, err := charmap.Windows1251.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString([]byte(enc))
}
