package mailin

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"golang.org/x/text/encoding/charmap"

	"maildesk/internal/memmail"
	"maildesk/tickets"
)

// pollEnv is mail-in against an in-process IMAP server and a real store.
type pollEnv struct {
	t     *testing.T
	sys   *memmail.System
	store *tickets.Store
	proc  *Processor
	opts  IMAPOptions
	dir   string
}

func newPollEnv(t *testing.T, mopts memmail.Options, mod func(*IMAPOptions)) *pollEnv {
	t.Helper()
	sys, err := memmail.Start(mopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	for _, u := range []string{"support", "alice"} {
		if err := sys.AddUser(u, u+"-pw"); err != nil {
			t.Fatal(err)
		}
	}
	e := &pollEnv{t: t, sys: sys, dir: t.TempDir()}
	e.openStore()
	e.opts = IMAPOptions{Addr: sys.IMAPAddr(), Security: "none", Username: sys.Address("support"), Password: "support-pw",
		PollInterval: 50 * time.Millisecond}
	if mod != nil {
		mod(&e.opts)
	}
	return e
}

func (e *pollEnv) openStore() {
	e.t.Helper()
	store, err := tickets.Open(filepath.Join(e.dir, "maildesk.db"), tickets.StoreOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { store.Close() })
	desk, err := tickets.NewDesk(tickets.Config{Name: "ACME", Address: e.sys.Address("support"),
		Staff: []tickets.Staff{{Email: e.sys.Address("alice"), Name: "Alice"}}})
	if err != nil {
		e.t.Fatal(err)
	}
	raw, _ := tickets.OpenBlobs(filepath.Join(e.dir, "raw"))
	files, _ := tickets.OpenBlobs(filepath.Join(e.dir, "files"))
	e.store = store
	e.proc = NewProcessor(store, desk, raw, files, Options{})
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// run starts a poller and returns a function that stops it and waits.
func (e *pollEnv) run() (stop func()) {
	ctx, cancel := context.WithCancel(e.t.Context())
	done := make(chan struct{})
	p := NewPoller(e.proc, e.opts, testLogger(e.t), nil)
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	return func() { cancel(); <-done }
}

func (e *pollEnv) deliver(raw string) {
	e.t.Helper()
	if err := e.sys.Deliver("sender@client.test", e.sys.Address("support"), []byte(raw)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *pollEnv) waitFor(what string, cond func() bool) {
	e.t.Helper()
	// A deadline for a hung test, not a speed claim: -race on a loaded CI
	// machine takes 1,200 mails in well over 15 s.
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *pollEnv) tickets() []tickets.Ticket {
	var out []tickets.Ticket
	e.store.View(func(tx *tickets.Tx) (err error) { out, err = tx.ListTickets(tickets.Filter{}); return err })
	slices.Reverse(out)
	return out
}

func (e *pollEnv) thread(n tickets.Number) []tickets.Message {
	var out []tickets.Message
	e.store.View(func(tx *tickets.Tx) (err error) { out, err = tx.Thread(n); return err })
	return out
}

func (e *pollEnv) outbox() []tickets.Mail {
	var out []tickets.Mail
	e.store.View(func(tx *tickets.Tx) (err error) { out, err = tx.Outbox(); return err })
	slices.Reverse(out)
	return out
}

func (e *pollEnv) messages() int {
	n := 0
	e.store.View(func(tx *tickets.Tx) error {
		for _, t := range e.tickets() {
			n += int(t.Messages)
		}
		return nil
	})
	return n
}

func plainMail(from, subject, body string, headers ...string) string {
	return fmt.Sprintf("From: %s\r\nTo: support@example.test\r\nSubject: %s\r\nMessage-ID: <%d.%s>\r\n%s\r\n%s\r\n",
		from, subject, time.Now().UnixNano(), strings.ReplaceAll(from, " ", ""), strings.Join(headers, ""), body)
}

func TestPollerTakesMailIn(t *testing.T) {
	e := newPollEnv(t, memmail.Options{}, func(o *IMAPOptions) { o.ProcessedMailbox = "Processed" })
	stop := e.run()
	defer stop()
	e.deliver(plainMail("Ann <ann@client.test>", "Printer broken", "It jams."))
	e.waitFor("the first ticket and its mails", func() bool { return len(e.outbox()) == 3 })

	tk := e.tickets()
	if len(tk) != 1 || tk[0].Customer != "ann@client.test" || tk[0].Subject != "Printer broken" {
		t.Fatalf("tickets = %+v", tk)
	}
	ack := e.outbox()[0]
	if ack.Template != "ack" || e.outbox()[1].Template != "welcome" || e.outbox()[2].Template != "staff-new" {
		t.Fatalf("outbox = %+v", e.outbox())
	}
	e.deliver(plainMail("ann@client.test", "Re: [#1] Printer broken", "Still jams."))
	e.deliver(plainMail("ann@client.test", "Re: Printer", "Only In-Reply-To", "In-Reply-To: <"+ack.MessageID+">\r\n"))
	e.deliver(plainMail("mallory@evil.test", "Re: [#1] Printer broken", "let me in"))
	e.waitFor("the replies", func() bool { return len(e.tickets()) == 2 && e.messages() == 4 })

	if n := len(e.thread(1)); n != 3 {
		t.Errorf("ticket 1 has %d messages, want 3 (new + tagged + In-Reply-To)", n)
	}
	if tk := e.tickets(); tk[1].Customer != "mallory@evil.test" || tk[1].Subject != "Printer broken" {
		t.Errorf("stranger's ticket = %+v", tk[1])
	}
	// Processed mail left INBOX for Processed, marked \Seen.
	e.waitFor("the mail moved", func() bool {
		inbox, _ := e.sys.Mailbox("support", "INBOX")
		done, _ := e.sys.Mailbox("support", "Processed")
		return len(inbox) == 0 && len(done) == 4
	})
	flags, _ := e.sys.Flags("support", "Processed")
	for uid, f := range flags {
		if !slices.Contains(f, imap.FlagSeen) {
			t.Errorf("processed mail %d not \\Seen: %v", uid, f)
		}
	}
}

func TestPollerCharsets(t *testing.T) {
	e := newPollEnv(t, memmail.Options{}, nil)
	stop := e.run()
	defer stop()
	enc := func(cm *charmap.Charmap, s string) string { b, _ := cm.NewEncoder().Bytes([]byte(s)); return string(b) }
	e.deliver("From: ivan@client.test\r\nSubject: =?windows-1251?B?" + b64(enc(charmap.Windows1251, "Касса")) + "?=\r\n" +
		"Content-Type: text/plain; charset=windows-1251\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + enc(charmap.Windows1251, "Не печатает чеки"))
	e.deliver("From: petr@client.test\r\nSubject: =?koi8-r?Q?" + qEncode(enc(charmap.KOI8R, "Склад")) + "?=\r\n" +
		"Content-Type: text/plain; charset=koi8-r\r\n\r\n" + enc(charmap.KOI8R, "Остатки не сходятся"))
	e.deliver("From: olena@client.test\r\nSubject: HTML\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<div>Добрий день!<br>Не працює&nbsp;<b>віджет</b></div>")
	e.waitFor("three tickets", func() bool { return len(e.tickets()) == 3 })
	want := []struct{ subject, text, lang string }{
		{"Касса", "Не печатает чеки", "ru"},
		{"Склад", "Остатки не сходятся", "ru"},
		{"HTML", "Добрий день!\nНе працює *віджет*", "uk"},
	}
	for i, tk := range e.tickets() {
		th := e.thread(tk.Number)
		if tk.Subject != want[i].subject || strings.TrimSpace(th[0].Text) != want[i].text || tk.Lang != want[i].lang {
			t.Errorf("ticket %d: subject %q text %q lang %q; want %q %q %q", tk.Number, tk.Subject, th[0].Text, tk.Lang,
				want[i].subject, want[i].text, want[i].lang)
		}
	}
}

// TestPollerCrashWindow: whatever point maildesk dies at, a restart takes
// every mail in once. Here the process "dies" after the commit but before
// the mail is flagged, the one window where the server still offers the mail.
func TestPollerCrashWindow(t *testing.T) {
	e := newPollEnv(t, memmail.Options{}, nil)
	for i := range 5 {
		e.deliver(plainMail(fmt.Sprintf("c%d@client.test", i), fmt.Sprintf("Problem %d", i), "help"))
	}
	// Take the mail in as the poller does, but skip the acknowledgement.
	items := []*Item{}
	for i := range 5 {
		it := &Item{UID: uint32(i + 1), Raw: []byte(plainMail(fmt.Sprintf("c%d@client.test", i), "", ""))}
		items = append(items, it)
	}
	msgs, _ := e.sys.Mailbox("support", "INBOX")
	for i, raw := range msgs {
		items[i].Raw = raw
		if err := e.proc.Prepare(items[i]); err != nil {
			t.Fatal(err)
		}
	}
	p := NewPoller(e.proc, e.opts, testLogger(t), nil)
	state, _, _ := p.loadState(1)
	if err := p.commit(state, items[:3]); err != nil {
		t.Fatal(err)
	}
	// "Crash" here: three committed and unacknowledged, two never committed.
	stop := e.run()
	defer stop()
	e.waitFor("all five tickets", func() bool { return len(e.tickets()) == 5 })
	e.waitFor("all mail flagged", func() bool {
		flags, _ := e.sys.Flags("support", "INBOX")
		seen := 0
		for _, f := range flags {
			if slices.Contains(f, imap.FlagSeen) {
				seen++
			}
		}
		return seen == 5
	})
	time.Sleep(200 * time.Millisecond)
	if n, queued := len(e.tickets()), len(e.outbox()); n != 5 || queued != 15 {
		t.Errorf("%d tickets and %d queued mails, want 5 and 15 (ack, welcome, staff notice each)", n, queued)
	}
}

// TestPollerAckAfterCrashedMove: maildesk died after moving mail to the
// processed mailbox but before recording it. On restart the mail is gone
// from INBOX; the poller must clear its list, not fail on it forever.
func TestPollerAckAfterCrashedMove(t *testing.T) {
	e := newPollEnv(t, memmail.Options{}, func(o *IMAPOptions) { o.ProcessedMailbox = "Processed" })
	stop := e.run()
	e.deliver(plainMail("ann@client.test", "One", "x"))
	e.waitFor("the mail moved", func() bool { done, _ := e.sys.Mailbox("support", "Processed"); return len(done) == 1 })
	stop()
	// Put the store back to "committed, not acknowledged" for UID 1.
	e.store.Update(func(tx *tickets.Tx) error {
		st, _ := tx.MailboxState("INBOX")
		st.Unacked = []uint32{1}
		return tx.PutMailboxState("INBOX", st)
	})
	stop = e.run()
	defer stop()
	e.deliver(plainMail("ann@client.test", "Two", "y"))
	e.waitFor("the next mail taken in", func() bool { return len(e.tickets()) == 2 })
	e.waitFor("the list cleared", func() bool {
		var st *tickets.MailboxState
		e.store.View(func(tx *tickets.Tx) (err error) { st, err = tx.MailboxState("INBOX"); return err })
		return len(st.Unacked) == 0
	})
}

func TestPollerUIDValidityChange(t *testing.T) {
	e := newPollEnv(t, memmail.Options{}, nil)
	mails := []string{
		plainMail("a@client.test", "One", "1"), plainMail("b@client.test", "Two", "2"), plainMail("c@client.test", "Three", "3"),
	}
	for _, m := range mails {
		e.deliver(m)
	}
	stop := e.run()
	e.waitFor("three tickets", func() bool { return len(e.tickets()) == 3 })
	stop()

	// The server rebuilt the mailbox: same mail, new UIDs, new UIDVALIDITY, and one new mail.
	if err := e.sys.RecreateMailbox("support", "INBOX"); err != nil {
		t.Fatal(err)
	}
	for _, m := range mails {
		e.deliver(m)
	}
	e.deliver(plainMail("d@client.test", "Four", "4"))
	e.sys.Commands()
	stop = e.run()
	defer stop()
	e.waitFor("the fourth ticket", func() bool { return len(e.tickets()) == 4 })
	time.Sleep(200 * time.Millisecond)
	if n := len(e.tickets()); n != 4 {
		t.Fatalf("%d tickets after UIDVALIDITY change, want 4 (old mail not re-imported)", n)
	}
	// Old mail was recognised from its Message-ID header alone.
	bodyFetches := 0
	for _, c := range e.sys.Commands() {
		if c.Name == "FETCH" && c.Arg != "1:*" && !strings.Contains(c.Arg, ":") && !strings.Contains(c.Arg, ",") {
			bodyFetches++
		}
	}
	if bodyFetches > 2 {
		t.Errorf("%d single-message fetches during the rescan", bodyFetches)
	}
}

// TestPollerWatermark: once mail is taken in, looking for new mail asks the
// server only about UIDs above the watermark, however big the mailbox is.
func TestPollerWatermark(t *testing.T) {
	e := newPollEnv(t, memmail.Options{}, nil)
	const n = 1200
	for i := range n {
		e.sys.Append("support", "INBOX", []byte(plainMail(fmt.Sprintf("c%d@client.test", i%50), fmt.Sprintf("Subject %d", i), "x")))
	}
	stop := e.run()
	defer stop()
	e.waitFor("the backlog", func() bool { return len(e.tickets()) == n })
	e.waitFor("the backlog flagged", func() bool {
		for _, c := range e.sys.Commands() {
			if c.Name == "STORE" && strings.HasSuffix(c.Arg, fmt.Sprint(n)) {
				return true
			}
		}
		return false
	})
	time.Sleep(100 * time.Millisecond)
	e.sys.Commands() // forget the backlog
	e.deliver(plainMail("new@client.test", "Fresh", "new"))
	e.waitFor("the new mail", func() bool { return len(e.tickets()) == n+1 })
	time.Sleep(100 * time.Millisecond)
	var fetches []string
	for _, c := range e.sys.Commands() {
		if c.Name == "FETCH" || c.Name == "SEARCH" {
			fetches = append(fetches, c.Name+" "+c.Arg)
		}
	}
	// List above the watermark, fetch the body, check it is still there before
	// flagging it, list above the new watermark: nothing below is touched.
	want := []string{fmt.Sprintf("FETCH %d:*", n+1), fmt.Sprintf("FETCH %d", n+1), fmt.Sprintf("FETCH %d", n+1), fmt.Sprintf("FETCH %d:*", n+2)}
	if !slices.Equal(fetches, want) {
		t.Errorf("commands for one new mail = %q, want %q", fetches, want)
	}
}

func TestPollerQuarantine(t *testing.T) {
	e := newPollEnv(t, memmail.Options{}, nil)
	e.deliver(plainMail("ok1@client.test", "Fine", "first"))
	e.sys.Append("support", "INBOX", []byte("Subject: nobody sent this\r\n\r\nno sender"))
	e.sys.Append("support", "INBOX", []byte("\x00\x01 binary junk that is no mail"))
	e.deliver(plainMail("ok2@client.test", "Fine too", "last"))
	stop := e.run()
	defer stop()
	e.waitFor("two quarantined, two tickets", func() bool {
		q, _ := e.sys.Mailbox("support", "Quarantine")
		return len(q) == 2 && len(e.tickets()) == 2
	})
	var list []tickets.Quarantined
	e.store.View(func(tx *tickets.Tx) (err error) { list, err = tx.QuarantineList(); return err })
	if len(list) != 2 || list[0].Raw == "" || !strings.Contains(list[1].Reason, "no sender") {
		t.Errorf("quarantine records = %+v", list)
	}
	if inbox, _ := e.sys.Mailbox("support", "INBOX"); len(inbox) != 2 {
		t.Errorf("INBOX holds %d mails, want the 2 good ones", len(inbox))
	}
}

func TestPollerWithoutIdle(t *testing.T) {
	e := newPollEnv(t, memmail.Options{NoIdle: true, NoMove: true}, func(o *IMAPOptions) { o.ProcessedMailbox = "Processed" })
	stop := e.run()
	defer stop()
	time.Sleep(100 * time.Millisecond)
	e.deliver(plainMail("ann@client.test", "Polled", "x"))
	e.waitFor("the polled mail", func() bool { return len(e.tickets()) == 1 })
	// Without MOVE or UIDPLUS, moving would expunge other people's \Deleted
	// mail: the mail stays in INBOX, flagged \Seen.
	e.waitFor("the flag", func() bool {
		flags, _ := e.sys.Flags("support", "INBOX")
		return len(flags) == 1 && slices.Contains(flags[1], imap.FlagSeen)
	})
}

func TestPollerReconnects(t *testing.T) {
	e := newPollEnv(t, memmail.Options{}, nil)
	stop := e.run()
	defer stop()
	e.deliver(plainMail("ann@client.test", "Before", "x"))
	e.waitFor("the first mail", func() bool { return len(e.tickets()) == 1 })
	e.sys.StopIMAP()
	e.deliver(plainMail("ann@client.test", "During the outage", "y"))
	time.Sleep(300 * time.Millisecond)
	if err := e.sys.StartIMAP(); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the mail sent during the outage", func() bool { return len(e.tickets()) == 2 })
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func qEncode(s string) string {
	var out strings.Builder
	for _, c := range []byte(s) {
		fmt.Fprintf(&out, "=%02X", c)
	}
	return out.String()
}

func TestChunksOf(t *testing.T) {
	mails := func(sizes ...int64) []newMail {
		var out []newMail
		for i, s := range sizes {
			out = append(out, newMail{uid: imap.UID(i + 1), size: s})
		}
		return out
	}
	sizes := func(chunks [][]newMail) [][]int64 {
		var out [][]int64
		for _, c := range chunks {
			var s []int64
			for _, m := range c {
				s = append(s, m.size)
			}
			out = append(out, s)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		pending  []newMail
		n        int
		maxBytes int64
		want     [][]int64
	}{
		{"none", nil, 3, 100, nil},
		{"by count", mails(1, 1, 1, 1, 1, 1, 1), 3, 100, [][]int64{{1, 1, 1}, {1, 1, 1}, {1}}},
		{"by bytes", mails(40, 40, 40, 10, 90), 10, 100, [][]int64{{40, 40}, {40, 10}, {90}}},
		{"one mail over the limit alone", mails(5, 500, 5), 10, 100, [][]int64{{5}, {500}, {5}}},
		{"exactly the limit", mails(50, 50, 1), 10, 100, [][]int64{{50, 50}, {1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sizes(chunksOf(tc.pending, tc.n, tc.maxBytes))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("chunksOf = %v, want %v", got, tc.want)
			}
		})
	}
}

// A backlog is taken in chunk by chunk, each prepared while the one before
// is committed; at the end every mail is in a ticket, flagged and moved,
// and the store says nothing is left to acknowledge.
func TestPollerBacklogInChunks(t *testing.T) {
	e := newPollEnv(t, memmail.Options{}, func(o *IMAPOptions) {
		o.ChunkSize, o.ProcessedMailbox = 7, "Processed"
	})
	const n = 100
	for i := range n {
		e.sys.Append("support", "INBOX", []byte(plainMail(fmt.Sprintf("c%d@client.test", i%9), fmt.Sprintf("Question %d", i), "body")))
	}
	stop := e.run()
	e.waitFor("the backlog", func() bool { return len(e.tickets()) == n })
	count := func(mailbox string) int {
		mails, err := e.sys.Mailbox("support", mailbox)
		if err != nil {
			t.Fatal(err)
		}
		return len(mails)
	}
	e.waitFor("the backlog moved", func() bool { return count("INBOX") == 0 })
	stop()
	if got := count("Processed"); got != n {
		t.Errorf("%d mails in Processed, want %d", got, n)
	}
	for i, tk := range e.tickets() {
		if want := fmt.Sprintf("Question %d", i); tk.Subject != want {
			t.Fatalf("ticket %d is %q, want %q: chunks were committed out of order", tk.Number, tk.Subject, want)
		}
	}
	e.store.View(func(tx *tickets.Tx) error {
		st, err := tx.MailboxState("INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Unacked) != 0 || st.LastUID != n {
			t.Errorf("stored state: last UID %d, unacknowledged %v", st.LastUID, st.Unacked)
		}
		return nil
	})
}
