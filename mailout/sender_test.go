package mailout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"maildesk/internal/memmail"
	"maildesk/templates"
	"maildesk/tickets"
)

// sendEnv is a desk, a store and a sender against an in-process SMTP server.
type sendEnv struct {
	t      *testing.T
	sys    *memmail.System
	store  *tickets.Store
	desk   *tickets.Desk
	sender *Sender
	mu     sync.Mutex
	now    time.Time
	seq    int
}

func newSendEnv(t *testing.T, opts ...memmail.Options) *sendEnv {
	t.Helper()
	sys, err := memmail.Start(append(opts, memmail.Options{})[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	for _, u := range []string{"support", "ann", "alice", "bob"} {
		sys.AddUser(u, "pw")
	}
	e := &sendEnv{t: t, sys: sys, now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	e.store, err = tickets.Open(filepath.Join(t.TempDir(), "maildesk.db"), tickets.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	e.desk, err = tickets.NewDesk(tickets.Config{Name: "ACME Support", Address: sys.Address("support"),
		Staff: []tickets.Staff{{Email: sys.Address("alice"), Name: "Alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	e.sender = e.newSender()
	return e
}

func (e *sendEnv) newSender() *Sender {
	set, err := templates.Load(templates.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	host, port := splitAddr(e.t, e.sys.SMTPAddr())
	files, _ := tickets.OpenBlobs(e.t.TempDir())
	return NewSender(SenderOptions{
		Store: e.store, Desk: e.desk,
		Composer: NewComposer(ComposerOptions{Templates: set, Files: files, Desk: e.desk.Config()}),
		SMTP:     SMTPOptions{Host: host, Port: port, Security: "none", Timeout: 5 * time.Second},
		Log:      slog.New(slog.NewTextHandler(e.t.Output(), nil)),
		Now:      e.clock,
	})
}

func (e *sendEnv) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }

func (e *sendEnv) advance(d time.Duration) { e.mu.Lock(); e.now = e.now.Add(d); e.mu.Unlock() }

func splitAddr(t *testing.T, addr string) (string, int) {
	i := strings.LastIndexByte(addr, ':')
	var port int
	fmt.Sscan(addr[i+1:], &port)
	return addr[:i], port
}

// newTicket lets a customer open a ticket, queueing the ack and welcome.
func (e *sendEnv) newTicket(from, name, subject string) *tickets.Incoming {
	e.t.Helper()
	e.seq++
	id := fmt.Sprintf("CAF%d=x@Client.Example", e.seq)
	in := &tickets.Incoming{Key: tickets.MailKey(id, ""), MessageID: id, From: tickets.Address{Email: from, Name: name},
		Subject: subject, CleanSubject: subject, Text: "help", FullText: "help"}
	if err := e.store.Update(func(tx *tickets.Tx) error { _, err := e.desk.Receive(tx, in, e.clock()); return err }); err != nil {
		e.t.Fatal(err)
	}
	return in
}

func (e *sendEnv) flush() {
	e.t.Helper()
	if _, err := e.sender.Flush(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *sendEnv) outbox() []tickets.Mail {
	var out []tickets.Mail
	e.store.View(func(tx *tickets.Tx) (err error) { out, err = tx.Outbox(); return err })
	return out
}

// delivered parses every mail the SMTP server accepted for to.
func (e *sendEnv) delivered(to string) []*mail.Reader {
	var out []*mail.Reader
	for _, d := range e.sys.Delivered() {
		if len(d.To) > 0 && strings.EqualFold(d.To[0], to) {
			r, err := mail.CreateReader(bytes.NewReader(d.Data))
			if err != nil {
				e.t.Fatal(err)
			}
			out = append(out, r)
		}
	}
	return out
}

func textOf(t *testing.T, r *mail.Reader) string {
	for {
		p, err := r.NextPart()
		if err != nil {
			t.Fatalf("no text part: %v", err)
		}
		if ct, _, _ := p.Header.(*mail.InlineHeader).ContentType(); ct == "text/plain" {
			b, _ := io.ReadAll(p.Body)
			return string(b)
		}
	}
}

func TestSendHeadersThreadingAndPassword(t *testing.T) {
	e := newSendEnv(t)
	ann := e.sys.Address("ann")
	in := e.newTicket(ann, "Ann Lee", "Printer broken")
	e.flush()

	got := e.delivered(ann)
	if len(got) != 2 {
		t.Fatalf("ann got %d mails, want ack and welcome", len(got))
	}
	ack, welcome := got[0], got[1]
	h := ack.Header
	subject, _ := h.Subject()
	from, _ := h.AddressList("From")
	replyTo, _ := h.AddressList("Reply-To")
	msgID, _ := h.MessageID()
	inReplyTo, _ := h.MsgIDList("In-Reply-To")
	refs, _ := h.MsgIDList("References")
	if subject != "Re: [#1] Printer broken" || from[0].Address != e.sys.Address("support") || replyTo[0].Address != e.sys.Address("support") {
		t.Errorf("ack Subject %q From %v Reply-To %v", subject, from, replyTo)
	}
	if h.Get("Auto-Submitted") != "auto-replied" {
		t.Errorf("ack Auto-Submitted = %q", h.Get("Auto-Submitted"))
	}
	// The customer's own Message-ID comes back exactly as sent, case and all.
	if len(inReplyTo) != 1 || inReplyTo[0] != in.MessageID || len(refs) != 1 || refs[0] != in.MessageID {
		t.Errorf("ack In-Reply-To %q References %q, want %q", inReplyTo, refs, in.MessageID)
	}
	if !strings.HasSuffix(msgID, "@example.test") {
		t.Errorf("Message-ID %q not under the helpdesk's domain", msgID)
	}
	wrefs, _ := welcome.Header.MsgIDList("References")
	if len(wrefs) != 2 || wrefs[1] != msgID {
		t.Errorf("welcome References = %q, want the customer's mail then the ack", wrefs)
	}

	// The mailed password is the one whose hash is stored, and the clear
	// text is gone from the store once the mail is sent.
	m := regexp.MustCompile(`Password: (\S+)`).FindStringSubmatch(textOf(t, welcome))
	if m == nil {
		t.Fatal("welcome mail has no password")
	}
	var c *tickets.Customer
	e.store.View(func(tx *tickets.Tx) (err error) { c, err = tx.Customer(ann); return err })
	if !tickets.CheckPassword(c.PasswordHash, tickets.Password(m[1])) {
		t.Error("mailed password does not match the stored hash")
	}
	for _, o := range e.outbox() {
		if o.State != tickets.MailSent || o.Secret != "" {
			t.Errorf("outbox entry %d: state %q, secret kept: %v", o.ID, o.State, o.Secret != "")
		}
	}
}

// A burst of new customers: the sender makes a few passwords per round, so
// the round's other mail is not held up by fifty hashes, and every welcome
// mail still goes out, with a password that works.
func TestSendBurstOfNewCustomers(t *testing.T) {
	e := newSendEnv(t, memmail.Options{AcceptUnknown: true})
	const n = 3*passwordsPerRound + 2
	for i := range n {
		e.newTicket(fmt.Sprintf("c%d@client.example", i), "", fmt.Sprintf("Question %d", i))
	}
	e.flush()
	for i := range n {
		to := fmt.Sprintf("c%d@client.example", i)
		got := e.delivered(to)
		if len(got) != 2 {
			t.Fatalf("%s got %d mails, want ack and welcome", to, len(got))
		}
		m := regexp.MustCompile(`Password: (\S+)`).FindStringSubmatch(textOf(t, got[1]))
		if m == nil {
			t.Fatalf("%s: welcome mail has no password", to)
		}
		var c *tickets.Customer
		e.store.View(func(tx *tickets.Tx) (err error) { c, err = tx.Customer(to); return err })
		if !tickets.CheckPassword(c.PasswordHash, tickets.Password(m[1])) {
			t.Errorf("%s: mailed password does not match the stored hash", to)
		}
	}
	// The first round made passwordsPerRound passwords and sent the rest
	// of its mail; the next welcome mail came only in a later round, after
	// the first round's acknowledgements (all 50 hashed at once, it would
	// have followed the ninth).
	acks := 0
	welcomes := 0
	for _, d := range e.sys.Delivered() {
		r, _ := mail.CreateReader(bytes.NewReader(d.Data))
		subject, _ := r.Header.Subject()
		switch {
		case strings.HasPrefix(subject, "Re: [#"):
			acks++
		case strings.Contains(subject, "Your access"):
			welcomes++
		}
		if welcomes == passwordsPerRound+1 {
			break
		}
	}
	if acks <= passwordsPerRound+1 {
		t.Errorf("%d acknowledgements went out before welcome mail %d, want more: a round held up for its hashes", acks, passwordsPerRound+1)
	}
}

func TestSendSurvivesOutage(t *testing.T) {
	e := newSendEnv(t)
	e.sys.StopSMTP()
	e.newTicket(e.sys.Address("ann"), "Ann", "During the outage")
	e.flush()
	for _, o := range e.outbox() {
		if o.State != tickets.MailPending || o.Attempts != 1 || o.LastError == "" || !o.NextAttempt.After(e.clock()) {
			t.Fatalf("entry after a failed attempt = %+v", o)
		}
	}
	// Hours later, a new sender (a restart) finds the queue intact.
	e.advance(3 * time.Hour)
	if err := e.sys.StartSMTP(); err != nil {
		t.Fatal(err)
	}
	e.sender = e.newSender()
	e.flush()
	if n := len(e.delivered(e.sys.Address("ann"))); n != 2 {
		t.Fatalf("%d mails delivered after the outage, want 2", n)
	}
	before := len(e.sys.Delivered())
	e.flush()
	if n := len(e.sys.Delivered()); n != before {
		t.Errorf("a second flush delivered %d more mails", n-before)
	}
}

func TestSendTemporaryAndPermanentFailures(t *testing.T) {
	e := newSendEnv(t)
	ann, bob := e.sys.Address("ann"), e.sys.Address("bob")
	e.sys.SetReject(func(from, to string) error {
		switch to {
		case ann:
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		case bob:
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	e.newTicket(ann, "Ann", "Temporary")
	e.newTicket(bob, "Bob", "Permanent")
	e.flush()
	for _, o := range e.outbox() {
		switch o.To {
		case ann:
			if o.State != tickets.MailPending || !strings.Contains(o.LastError, "451") {
				t.Errorf("after 451: %+v", o)
			}
		case bob:
			if o.State != tickets.MailFailed || !strings.Contains(o.LastError, "550") || o.Secret != "" {
				t.Errorf("after 550: state %q error %q", o.State, o.LastError)
			}
		}
	}
	// The permanent failure is on the ticket, and staff are told.
	var thread []tickets.Message
	e.store.View(func(tx *tickets.Tx) (err error) { thread, err = tx.Thread(2); return err })
	last := thread[len(thread)-1]
	if last.Kind != tickets.KindSystem || !last.HasFlag("delivery-failed") {
		t.Errorf("ticket 2 lacks the delivery failure: %+v", last)
	}
	bounceNotices := 0
	for _, o := range e.outbox() {
		if o.Template == "staff-bounce" && o.To == e.sys.Address("alice") {
			bounceNotices++
		}
	}
	if bounceNotices != 2 { // ack and welcome to bob both failed
		t.Errorf("%d staff-bounce notices, want 2", bounceNotices)
	}
	// After retry_for, a temporary failure becomes final.
	e.advance(73 * time.Hour)
	e.flush()
	for _, o := range e.outbox() {
		if o.To == ann && (o.State != tickets.MailFailed || !strings.Contains(o.LastError, "gave up")) {
			t.Errorf("after retry_for: %+v", o)
		}
	}
}

// TestSendCrashBetweenAcceptAndMark: the server accepted a mail, and the
// sender died before recording it. After restart the mail goes once more,
// with the same Message-ID; no other mail is sent twice.
func TestSendCrashBetweenAcceptAndMark(t *testing.T) {
	e := newSendEnv(t)
	e.newTicket(e.sys.Address("ann"), "Ann", "One")
	e.newTicket(e.sys.Address("bob"), "Bob", "Two")
	crashed := false
	e.sender.afterAccept = func(m *tickets.Mail) {
		if m.Template == "welcome" && !crashed {
			crashed = true
			panic("killed")
		}
	}
	func() {
		defer func() { recover() }()
		e.sender.Flush(e.t.Context())
	}()
	if !crashed {
		t.Fatal("the crash did not happen")
	}
	e.sender = e.newSender()
	e.flush()
	counts := map[string]int{}
	for _, d := range e.sys.Delivered() {
		r, _ := mail.CreateReader(bytes.NewReader(d.Data))
		id, _ := r.Header.MessageID()
		counts[id]++
	}
	twice := 0
	for id, n := range counts {
		if n > 1 {
			twice++
			if n != 2 {
				t.Errorf("%s delivered %d times", id, n)
			}
		}
	}
	if twice != 1 || len(counts) != len(e.outbox()) {
		t.Errorf("%d mails sent twice (want 1, the one in hand), %d distinct of %d queued", twice, len(counts), len(e.outbox()))
	}
}

func TestSendRefusesHeaderInjection(t *testing.T) {
	e := newSendEnv(t)
	e.newTicket(e.sys.Address("ann"), "Ann\r\nBcc: victim@example.test", "Hi\r\nBcc: victim@example.test\nX-Evil: 1")
	e.flush()
	for _, d := range e.sys.Delivered() {
		head, _, _ := bytes.Cut(d.Data, []byte("\r\n\r\n"))
		for _, line := range strings.Split(string(head), "\r\n") {
			if strings.HasPrefix(strings.ToLower(line), "bcc:") || strings.HasPrefix(strings.ToLower(line), "x-evil:") {
				t.Errorf("injected header line %q", line)
			}
		}
		for _, rcpt := range d.To {
			if strings.Contains(rcpt, "victim") {
				t.Errorf("mail went to %q", rcpt)
			}
		}
	}
	if len(e.sys.Delivered()) == 0 {
		t.Fatal("nothing was sent")
	}
}

func TestPermanentClassification(t *testing.T) {
	if permanent(errors.New("dial tcp: connection refused")) || permanent(nil) {
		t.Error("a connection error counts as permanent")
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour} {
		if got := backoff(n, 0.5); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
	if lo, hi := backoff(2, 0), backoff(2, 1); lo != time.Duration(float64(4*time.Minute)*0.8) || hi != time.Duration(float64(4*time.Minute)*1.2) {
		t.Errorf("jitter range %v..%v", lo, hi)
	}
}

// OAUTHBEARER through go-mail: the adapter starts with the RFC 7628
// initial response and answers the server's error challenge.
func TestSASLAuthOAuthBearer(t *testing.T) {
	a := saslAuth{sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: "support@x.test", Token: "tok", Host: "smtp.x.test", Port: 587})}
	mech, ir, err := a.Start(nil)
	if err != nil || mech != "OAUTHBEARER" || !strings.Contains(string(ir), "a=support@x.test,") || !strings.Contains(string(ir), "auth=Bearer tok") {
		t.Errorf("Start = %q %q %v", mech, ir, err)
	}
	if out, err := a.Next(nil, false); out != nil || err != nil {
		t.Errorf("Next without more = %q %v", out, err)
	}
	if _, err := a.Next([]byte(`{"status":"invalid_token"}`), true); err == nil {
		t.Error("the server's refusal was not reported")
	}
}
