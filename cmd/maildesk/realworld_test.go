package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"maildesk/tickets"
)

// Issue 6: real-world mail. Fixtures come from mailin/testdata (copied from
// the shared corpus with their SOURCE.md).

// realBounce builds a bounce of the mail with Message-ID msgID to rcpt from a
// real Postfix DSN (sisimai's lhost-postfix-01), with our addresses in it.
func realBounce(t *testing.T, support, rcpt, msgID string) []byte {
	t.Helper()
	raw, err := os.ReadFile("../../mailin/testdata/auto/bounces-sisimai/lhost-postfix-01.eml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(raw), "\r\n", "\n")
	s = strings.Replace(s, "To: shironeko@mx.example.jp", "To: "+support, 1)
	s = strings.ReplaceAll(s, "kijitora@example.org", rcpt)
	s = strings.Replace(s, "r@p351355.pool.example.ne.jp", rcpt, 1)
	// The fixture's returned message is empty: put the headers of ours in.
	boundary := "--FFFFFFFFFFFF.0000000000000/p351355.pool.example.ne.jp"
	s = strings.TrimRight(s, "\n") + "\n\nFrom: " + support + "\nTo: " + rcpt + "\nSubject: Re: [#1] x\nMessage-ID: <" + msgID +
		">\n\nbody\n\n" + boundary + "--\n"
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

func TestBounceRecordedOnTicket(t *testing.T) {
	f := newFlow(t, nil)
	anna, _ := f.openTicket()
	bounce := realBounce(t, f.addr("support"), f.addr("anna"), anna[0].MessageID)
	if err := f.sys.Deliver("", f.addr("support"), bounce); err != nil {
		t.Fatal(err)
	}
	f.settle()
	th := f.thread(1)
	last := th[len(th)-1]
	if last.Kind != tickets.KindSystem || !last.HasFlag("delivery-failed") || !strings.Contains(last.Text, "5.1.1") {
		t.Fatalf("ticket lacks the failure: %+v", last)
	}
	if got := f.waitInbox("alice", 2)[1]; !strings.Contains(got.Subject, "Delivery failed") || !strings.Contains(got.Text, "No such user") {
		t.Errorf("staff notice %q:\n%s", got.Subject, got.Text)
	}
	var list []tickets.Ticket
	f.app.store.View(func(tx *tickets.Tx) (err error) { list, err = tx.ListTickets(tickets.Filter{}); return err })
	if len(list) != 1 {
		t.Errorf("the bounce opened a ticket: %d tickets", len(list))
	}
	for _, d := range f.sys.Delivered() {
		if strings.Contains(strings.Join(d.To, ","), "p351355") || strings.Contains(strings.ToLower(strings.Join(d.To, ",")), "mailer-daemon") {
			t.Errorf("maildesk answered the bounce: %v", d.To)
		}
	}
}

func TestBounceByVERP(t *testing.T) {
	f := newFlow(t, func(c *Config) { c.SMTP.VERP = true })
	f.openTicket()
	// The acknowledgement left with a VERP return path naming its outbox entry.
	var returnPath string
	for _, d := range f.sys.Delivered() {
		if d.To[0] == f.addr("anna") {
			returnPath = d.From
			break
		}
	}
	if !strings.HasPrefix(returnPath, "support+b.1.") {
		t.Fatalf("return path %q is not VERP", returnPath)
	}
	// A bounce that quotes nothing, sent back to that return path.
	bounce := "From: MAILER-DAEMON\r\nTo: " + returnPath + "\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\n" +
		"I'm sorry to have to inform you that your message could not\r\nbe delivered: mailbox full.\r\n"
	f.sys.Deliver("", returnPath, []byte(bounce))
	f.settle()
	th := f.thread(1)
	if last := th[len(th)-1]; !last.HasFlag("delivery-failed") || !strings.Contains(last.Text, "mailbox full") {
		t.Errorf("VERP bounce not matched: %+v", last)
	}
	// A forged token matches nothing and does nothing.
	f.sys.Deliver("", "support+b.2.ffffffffffff@example.test", []byte(strings.Replace(bounce, returnPath, "support+b.2.ffffffffffff@example.test", 1)))
	f.settle()
	if n := len(f.thread(1)); n != len(th) {
		t.Errorf("a forged VERP bounce changed ticket 1")
	}
}

// TestLoopBetweenHelpdesks: two helpdesks, each a customer of the other.
// Automatic mail says so in its headers, and neither answers the other's.
func TestLoopBetweenHelpdesks(t *testing.T) {
	f := newFlow(t, nil) // helpdesk A at support@
	f.sys.AddUser("deskb", "pw")
	cfgB := &Config{
		Helpdesk: HelpdeskConfig{Name: "Desk B", Address: f.addr("deskb"), SubjectTag: "B #", AutoReplyLimit: 5},
		IMAP:     IMAPConfig{Host: "127.0.0.1", Port: atoi(port(f.sys.IMAPAddr())), Security: "none", Password: "pw"},
		SMTP:     SMTPConfig{Host: "127.0.0.1", Port: atoi(port(f.sys.SMTPAddr())), Security: "none"},
		Store:    StoreConfig{Path: filepath.Join(t.TempDir(), "b.db")},
	}
	startApp(t, cfgB, f.clock)
	// Desk B writes to desk A, as if someone there had asked a question.
	f.send(msg{from: f.addr("deskb"), name: "Desk B", subject: "Question from B", body: "Hello A."})
	time.Sleep(time.Second)
	f.settle()
	toB, toA := 0, 0
	for _, d := range f.sys.Delivered() {
		switch d.To[0] {
		case f.addr("deskb"):
			toB++
		case f.addr("support"):
			toA++
		}
	}
	// A acknowledged and welcomed B; B saw automatic mail and said nothing.
	if toB != 2 || toA != 1 {
		t.Errorf("A sent %d mails to B, B sent %d to A (the first question included); want 2 and 1", toB, toA)
	}
}

// TestLoopCapStopsHeaderlessAutoresponder: an autoresponder that strips
// every header and changes the subject each time. Only the per-address cap
// can stop it, and it does.
func TestLoopCapStopsHeaderlessAutoresponder(t *testing.T) {
	f := newFlow(t, func(c *Config) { c.Helpdesk.AutoReplyLimit = 5 })
	f.sys.AddUser("bot", "pw")
	answered := 0
	f.send(msg{from: f.addr("bot"), name: "Bot", subject: "Hello 0", body: "I answer everything."})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		f.settle()
		got := f.inbox("bot")
		if len(got) == answered {
			break
		}
		for ; answered < len(got); answered++ {
			f.send(msg{from: f.addr("bot"), name: "Bot", subject: fmt.Sprintf("Your message %d was received", answered+1),
				body: "Thank you for your message. This is an automatic answer."})
		}
	}
	if answered > 5 {
		t.Errorf("maildesk sent the autoresponder %d mails; the cap is 5", answered)
	}
	if answered < 3 {
		t.Errorf("only %d mails reached the autoresponder: the test did not loop", answered)
	}
	var list []tickets.Ticket
	f.app.store.View(func(tx *tickets.Tx) (err error) { list, err = tx.ListTickets(tickets.Filter{}); return err })
	t.Logf("the exchange stopped after %d automatic mails; %d tickets were opened (staff can see them)", answered, len(list))
}

func TestOutOfOfficeKeptAsNote(t *testing.T) {
	f := newFlow(t, nil)
	anna, _ := f.openTicket()
	raw, err := os.ReadFile("../../mailin/testdata/auto/misc-watchdogpolska/vacation-reply.eml")
	if err != nil {
		t.Fatal(err)
	}
	// A real vacation reply, sent by Anna's server in answer to our acknowledgement.
	ooo := strings.Replace(string(raw), "\nFrom:", "\nX-Old-From:", 1)
	ooo = "From: Anna <" + f.addr("anna") + ">\r\nIn-Reply-To: <" + anna[0].MessageID + ">\r\n" + ooo
	f.sys.Deliver(f.addr("anna"), f.addr("support"), []byte(ooo))
	f.settle()
	th := f.thread(1)
	if last := th[len(th)-1]; last.Kind != tickets.KindNote || !last.HasFlag("auto-reply") {
		t.Errorf("vacation reply stored as %+v", last)
	}
	if tk := f.ticket(1); tk.Status != tickets.StatusNew {
		t.Errorf("vacation reply changed the status to %q", tk.Status)
	}
	f.quiet("anna", 2)
	f.quiet("alice", 1)
}

func TestAttachmentLimits(t *testing.T) {
	f := newFlow(t, func(c *Config) { c.Limits.MaxFileSize = 100 << 10 })
	big := bytes.Repeat([]byte("0123456789"), 20<<10) // 200 KiB
	f.send(msg{from: f.addr("anna"), name: "Anna", subject: "Video of the bug", body: "See the video and the log.",
		attach: map[string][]byte{"bug.mp4": big, "app.log": []byte("ERROR 1102\n")}})
	ack := f.waitInbox("anna", 2)[0]
	if !strings.Contains(ack.Text, "bug.mp4 (200 KB)") || !strings.Contains(ack.Text, "100 KB") {
		t.Errorf("ack does not tell the limit:\n%s", ack.Text)
	}
	th := f.thread(1)
	if len(th[0].Files) != 1 || th[0].Files[0].Name != "app.log" {
		t.Errorf("kept files = %+v", th[0].Files)
	}
	// On a reply, the customer is told in a mail of its own.
	f.reply(f.addr("anna"), "Anna", ack, "Here it is again.")
	f.send(msg{from: f.addr("anna"), name: "Anna", subject: "Re: [#1] Video of the bug", body: "And again.",
		attach: map[string][]byte{"again.mp4": big}})
	if got := f.waitInbox("anna", 3)[2]; !strings.Contains(got.Subject, "attachments too large") || !strings.Contains(got.Text, "again.mp4") {
		t.Errorf("dropped notice %q:\n%s", got.Subject, got.Text)
	}
	// The same file twice is stored once.
	f.send(msg{from: f.addr("olena"), name: "Olena", subject: "Same log", body: "Log.", attach: map[string][]byte{"app.log": []byte("ERROR 1102\n")}})
	f.waitInbox("olena", 2)
	files, _ := filepath.Glob(filepath.Join(f.app.cfg.Store.Attachments, "*", "*"))
	if len(files) != 1 {
		t.Errorf("%d attachment files stored, want 1 (app.log once)", len(files))
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
