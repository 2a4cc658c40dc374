//go:build e2e

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// A customer's first mail: the acknowledgement and the welcome mail land in
// the customer's own inbox, tagged and threaded under the customer's mail.
func TestCustomerGetsAcknowledgement(t *testing.T) {
	e := getEnv(t)
	d := newDaemon(t, e, "")
	d.start()
	id := e.send(t, "Customer One <"+e.addr("customer")+">", e.addr("support"), "Printer broken", "It jams on every page.")

	got := e.waitInbox(t, "customer", 2, time.Minute)
	var ack, welcome *received
	for i := range got {
		switch {
		case got[i].InReplyTo == id:
			ack = &got[i]
		case strings.Contains(got[i].Subject, "access"):
			welcome = &got[i]
		}
	}
	if ack == nil || welcome == nil {
		t.Fatalf("customer's inbox: %+v", got)
	}
	if !strings.HasPrefix(ack.Subject, "Re: [#1] Printer broken") || !strings.Contains(ack.From, e.addr("support")) ||
		ack.AutoSubmitted != "auto-replied" || len(ack.References) == 0 || ack.References[0] != id {
		t.Errorf("acknowledgement = %+v", ack)
	}
	if !strings.Contains(welcome.Subject, "[#1]") || !strings.Contains(welcome.Text, "assword") {
		t.Errorf("welcome = %+v", welcome)
	}
	// The staff are told, and the mail left the INBOX for Processed.
	staff := e.waitInbox(t, "alice", 1, time.Minute)
	if !strings.Contains(staff[0].Subject, "[#1]") || !strings.Contains(staff[0].Text, "It jams") {
		t.Errorf("staff notification = %+v", staff[0])
	}
	waitFor(t, "the mail moved to Processed", 30*time.Second, func() bool {
		return len(e.inbox(t, "support", "INBOX")) == 0 && len(e.inbox(t, "support", "Processed")) == 1
	})
}

// A staff member presses Reply on the notification, puts commands on top:
// the customer gets the answer from the support address, the ticket changes.
func TestStaffReplyWithCommands(t *testing.T) {
	e := getEnv(t)
	d := newDaemon(t, e, "")
	d.start()
	id := e.send(t, e.addr("customer"), e.addr("support"), "Cannot log in", "The login page says 'error 500'.")
	note := e.waitInbox(t, "alice", 1, time.Minute)[0]

	// Alice's client answers to the notification's Reply-To (her signed address).
	replyTo := replyToOf(t, e, "alice")
	e.send(t, "Alice Smith <"+e.addr("alice")+">", replyTo, "Re: "+note.Subject,
		"Status: waiting-customer\nPriority: high\n\nWhich browser do you use?\n\n> "+strings.ReplaceAll(note.Text, "\n", "\n> "),
		"In-Reply-To: <"+note.MessageID+">", "References: <"+note.MessageID+">")

	var answer *received
	waitFor(t, "the answer in the customer's inbox", time.Minute, func() bool {
		for _, m := range e.inbox(t, "customer", "INBOX") {
			if strings.Contains(m.Text, "Which browser") {
				answer = &m
				return true
			}
		}
		return false
	})
	if !strings.Contains(answer.From, "Alice Smith via E2E Support") || !strings.Contains(answer.From, e.addr("support")) ||
		strings.Contains(answer.From, e.addr("alice")) || !strings.Contains(answer.Subject, "[#1]") ||
		len(answer.References) == 0 || answer.References[0] != id || strings.Contains(answer.Text, "Status:") {
		t.Errorf("answer = %+v", answer)
	}
	tk := d.ticket(1)
	if tk.Status != "waiting-customer" || tk.Assignee != e.addr("alice") {
		t.Errorf("ticket after the reply: status %q, assignee %q", tk.Status, tk.Assignee)
	}
}

// replyToOf is the Reply-To of the newest mail in the account's INBOX.
func replyToOf(t *testing.T, e env, account string) string {
	t.Helper()
	raw := e.inboxRaw(t, account)
	for _, line := range strings.Split(string(raw[len(raw)-1]), "\r\n") {
		if v, ok := strings.CutPrefix(line, "Reply-To: "); ok {
			if i := strings.Index(v, "<"); i >= 0 {
				v = strings.Trim(v[i:], "<>")
			}
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("no Reply-To on the notification")
	return ""
}

// An out-of-office answer to maildesk's mail is kept as a note and answered
// by nothing: no loop.
func TestOutOfOfficeCausesNoLoop(t *testing.T) {
	e := getEnv(t)
	d := newDaemon(t, e, "")
	d.start()
	e.send(t, e.addr("olena"), e.addr("support"), "Рахунок", "Доброго дня! Де мій рахунок?")
	e.waitInbox(t, "olena", 2, time.Minute)
	for i := range 3 {
		e.send(t, e.addr("olena"), e.addr("support"), "Автоматична відповідь: Re: [#1] Рахунок",
			fmt.Sprintf("Я у відпустці до понеділка (%d).", i), "Auto-Submitted: auto-replied", "X-Autoreply: yes")
	}
	waitFor(t, "the out-of-office notes", time.Minute, func() bool { return len(d.ticket(1).Messages) >= 4 })
	time.Sleep(3 * time.Second) // time for a mail that should not come
	if got := e.inbox(t, "olena", "INBOX"); len(got) != 2 {
		t.Errorf("olena got %d mails, want the acknowledgement and welcome only", len(got))
	}
	tk := d.ticket(1)
	if tk.Status != "new" {
		t.Errorf("status = %q, out-of-office replies must not change it", tk.Status)
	}
	for _, m := range tk.Messages[1:] {
		if m.Kind != "note" {
			t.Errorf("out-of-office stored as %q", m.Kind)
		}
	}
}

// A windows-1251 mail and an HTML-only mail come out as the right text.
func TestCharsetAndHTML(t *testing.T) {
	e := getEnv(t)
	d := newDaemon(t, e, "")
	d.start()
	body, _ := charmap.Windows1251.NewEncoder().String("Здравствуйте! Не работает оплата, ошибка «Платёж отклонён».")
	e.send(t, e.addr("customer"), e.addr("support"), "=?windows-1251?B?"+b64(t, "Оплата")+"?=", body,
		"Content-Type: text/plain; charset=windows-1251", "Content-Transfer-Encoding: 8bit")
	e.send(t, e.addr("olena"), e.addr("support"), "HTML only",
		"<html><body><p>Hello,</p><p>the <b>schedule widget</b> is empty.</p></body></html>",
		"Content-Type: text/html; charset=utf-8")
	list := d.waitTickets(2, time.Minute)
	texts := map[string]string{}
	for _, tk := range list {
		full := d.ticket(tk.Number)
		texts[full.Customer] = full.Subject + " | " + full.Messages[0].Text
	}
	if got := texts[e.addr("customer")]; !strings.Contains(got, "Оплата | Здравствуйте! Не работает оплата, ошибка «Платёж отклонён».") {
		t.Errorf("windows-1251 mail = %q", got)
	}
	if got := texts[e.addr("olena")]; !strings.Contains(got, "schedule widget") || strings.Contains(got, "<p>") {
		t.Errorf("HTML mail = %q", got)
	}
}

// 500 customers write while maildesk is killed with SIGKILL at random
// moments and restarted: exactly 500 tickets, and every customer has exactly
// one acknowledgement (a kill between "accepted" and "marked sent" may send
// one again, with the same Message-ID, so receivers can drop it: counted).
func TestKilledUnderLoad(t *testing.T) {
	e := getEnv(t)
	const n = 500
	// All 500 customers are plus-addresses of one mailbox, so the acknowledgements can be counted there.
	d := newDaemon(t, e, "  auto_reply_limit: 100000\n")
	d.start()

	sent := make(chan struct{})
	ids := make([]string, n)
	go func() {
		defer close(sent)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 4 {
					ids[i] = e.send(t, fmt.Sprintf("customer+c%d@%s", i, e.domain), e.addr("support"),
						fmt.Sprintf("Problem number %d", i), "Please help.")
				}
			}()
		}
		wg.Wait()
	}()
	kills := 0
	rnd := rand.New(rand.NewPCG(1, 2))
	for kills < 4 {
		time.Sleep(time.Duration(1500+rnd.IntN(2500)) * time.Millisecond)
		d.kill()
		kills++
		d.start()
	}
	<-sent
	d.waitTickets(n, 5*time.Minute)
	list := d.tickets()
	if len(list) != n {
		t.Fatalf("%d tickets for %d mails", len(list), n)
	}
	customers := map[string]bool{}
	for _, tk := range list {
		if customers[tk.Customer] {
			t.Errorf("two tickets for %s", tk.Customer)
		}
		customers[tk.Customer] = true
	}
	// Every customer's acknowledgement, welcome and staff notice must go out.
	var acks map[string]int
	var raw int
	waitFor(t, "500 acknowledgements", 10*time.Minute, func() bool {
		acks, raw = map[string]int{}, 0
		want := map[string]bool{}
		for _, id := range ids {
			want[id] = true
		}
		for _, m := range e.inbox(t, "customer", "INBOX") {
			if want[m.InReplyTo] {
				acks[m.MessageID]++
				raw++
			}
		}
		return len(acks) >= n
	})
	if len(acks) != n {
		t.Errorf("%d distinct acknowledgements, want %d", len(acks), n)
	}
	t.Logf("%d kills; %d tickets; %d distinct acknowledgements, %d delivered copies (repeats carry the same Message-ID)",
		kills, len(list), len(acks), raw)
	if raw-len(acks) > kills {
		t.Errorf("%d repeated acknowledgements after %d kills: more than one per kill", raw-len(acks), kills)
	}
}

// Postfix stopped: the outbox holds the mail, and delivers all of it when
// Postfix is back.
func TestSMTPOutage(t *testing.T) {
	e := getEnv(t)
	d := newDaemon(t, e, "")
	d.start()
	e.fault(t, "stop-smtp")
	defer e.fault(t, "start-smtp")
	// With Postfix down, the customers' mail is put into the mailbox directly.
	// Three customers (plus-addresses of one mailbox), each new.
	for i := range 3 {
		e.appendMail(t, "support", fmt.Sprintf("From: customer+o%d@%s\r\nTo: %s\r\nSubject: Outage %d\r\nMessage-ID: <outage%d.%d@client.e2e.test>\r\n\r\nHello\r\n",
			i, e.domain, e.addr("support"), i, i, time.Now().UnixNano()))
	}
	d.waitTickets(3, time.Minute)
	var pending []struct {
		State     string `json:"state"`
		LastError string `json:"last_error"`
	}
	waitFor(t, "the outbox to record failed attempts", time.Minute, func() bool {
		d.cli(&pending, "outbox", "list")
		return len(pending) >= 9 && pending[0].LastError != ""
	})
	time.Sleep(2 * time.Second)
	e.fault(t, "start-smtp")
	// The sender retries after its backoff (1 minute at first).
	got := e.waitInbox(t, "customer", 6, 3*time.Minute)
	if len(got) != 6 {
		t.Errorf("customer got %d mails, want 3 acknowledgements and 3 welcome mails", len(got))
	}
}

// Dovecot restarted while maildesk waits in IDLE: maildesk reconnects and
// takes in the mail that came during the gap.
func TestIMAPRestart(t *testing.T) {
	e := getEnv(t)
	d := newDaemon(t, e, "")
	d.start()
	e.send(t, e.addr("customer"), e.addr("support"), "Before the restart", "one")
	d.waitTickets(1, time.Minute)
	e.fault(t, "stop-imap")
	e.send(t, e.addr("olena"), e.addr("support"), "During the restart", "two") // Postfix queues it
	time.Sleep(3 * time.Second)
	e.fault(t, "start-imap")
	list := d.waitTickets(2, 2*time.Minute)
	if len(list) != 2 {
		t.Fatalf("%d tickets", len(list))
	}
	if n := strings.Count(d.log.String(), "imap connected"); n < 2 {
		t.Errorf("maildesk connected %d times; it should have reconnected", n)
	}
}

// A store that cannot be written: maildesk leaves the mail in the mailbox,
// says why, and takes it in once the store is writable again.
func TestStoreNotWritable(t *testing.T) {
	e := getEnv(t)
	d := newDaemon(t, e, "")
	d.start()
	raw := d.dir + "/maildesk-raw" // store.raw's default, beside the database
	e.send(t, e.addr("customer"), e.addr("support"), "First", "one")
	d.waitTickets(1, time.Minute)
	// chattr +i stops even root from creating files in the folders.
	if out, err := exec.Command("chattr", "-R", "+i", raw).CombinedOutput(); err != nil {
		t.Skipf("chattr +i %s: %v %s", raw, err, out)
	}
	defer exec.Command("chattr", "-R", "-i", raw).Run()
	e.send(t, e.addr("olena"), e.addr("support"), "Second", "two")
	waitFor(t, "maildesk to say the store fails", time.Minute, func() bool {
		return strings.Contains(d.log.String(), "level=ERROR") && strings.Contains(d.log.String(), "raw")
	})
	if n := len(e.inbox(t, "support", "INBOX")); n != 1 {
		t.Errorf("support INBOX has %d mails, the untaken one must stay", n)
	}
	if list := d.tickets(); len(list) != 1 {
		t.Errorf("%d tickets while the store fails", len(list))
	}
	exec.Command("chattr", "-R", "-i", raw).Run()
	d.waitTickets(2, 3*time.Minute)
}
