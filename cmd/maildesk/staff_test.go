package main

import (
	"slices"
	"strings"
	"testing"

	"maildesk/tickets"
)

// Issue 4: staff run the helpdesk from their own mail client.

func TestStaffReplyReachesCustomer(t *testing.T) {
	f := newFlow(t, nil)
	anna, alice := f.openTicket()
	notice := alice[0]
	// The notification: tag, the customer's words, the fields, Reply-To the
	// signed staff address, From the customer via the helpdesk.
	if notice.Subject != "[#1] Printer broken" || !strings.Contains(notice.Text, "It jams on page 2.") ||
		!strings.Contains(notice.Text, "Priority:  Medium") || !strings.HasPrefix(notice.ReplyTo, "support+") ||
		notice.FromName != "Anna Lee via Test Support" {
		t.Fatalf("staff notification: subject %q reply-to %q from %q\n%s", notice.Subject, notice.ReplyTo, notice.FromName, notice.Text)
	}
	if bob := f.waitInbox("bob", 1); bob[0].Subject != notice.Subject {
		t.Errorf("bob's notice = %q", bob[0].Subject)
	}

	f.reply(f.addr("alice"), "Alice Smith", notice, "Status: waiting-customer\n\nHi Anna,\nwhich model is it?\n\n-- \nAlice, ACME")
	got := f.waitInbox("anna", 3)[2]
	if got.From != f.addr("support") || got.FromName != "Alice Smith via Test Support" || got.Subject != "Re: [#1] Printer broken" {
		t.Errorf("answer from %q <%s>, subject %q", got.FromName, got.From, got.Subject)
	}
	// It threads in Anna's own conversation: it answers our last mail to her
	// and its References start with her first mail.
	if len(got.InReplyTo) != 1 || got.InReplyTo[0] != anna[1].MessageID || got.References[0] != anna[0].InReplyTo[0] {
		t.Errorf("threading: In-Reply-To %v References %v; our last mail to her was %s", got.InReplyTo, got.References, anna[1].MessageID)
	}
	if !strings.Contains(got.Text, "which model is it?") || !strings.Contains(got.Text, "Information required") {
		t.Errorf("answer text:\n%s", got.Text)
	}
	for _, leak := range []string{f.addr("alice"), "Status: waiting-customer", "It jams on page 2", "Alice, ACME"} {
		if strings.Contains(string(got.Raw), leak) {
			t.Errorf("answer to the customer contains %q", leak)
		}
	}
	tk := f.ticket(1)
	if tk.Status != tickets.StatusWaiting || tk.Assignee != f.addr("alice") || tk.FirstResponse.IsZero() {
		t.Errorf("ticket after the answer: status %q assignee %q first response %v", tk.Status, tk.Assignee, tk.FirstResponse)
	}
	th := f.thread(1)
	if last := th[len(th)-2]; last.Kind != tickets.KindStaff || strings.TrimSpace(last.Text) != "Hi Anna,\nwhich model is it?" {
		t.Errorf("stored answer %q (%s): the quote and signature should be gone", last.Text, last.Kind)
	}
}

func TestStaffCommandsMirror(t *testing.T) {
	f := newFlow(t, nil)
	_, alice := f.openTicket()
	notice := alice[0]
	steps := []struct {
		name, subject, body string
		check               func(tk *tickets.Ticket) bool
		mail                string // what the customer's new mail says; "" for none
	}{
		{"status", "", "Status: in-progress", func(tk *tickets.Ticket) bool { return tk.Status == tickets.StatusInProgress }, "In progress"},
		{"assign", "", "Assign: bob", func(tk *tickets.Ticket) bool { return tk.Assignee == f.addr("bob") }, "now handled by Bob Jones"},
		{"priority in Russian", "", "Приоритет: высокий\nТип: ошибка", func(tk *tickets.Ticket) bool { return tk.Priority == "high" && tk.Type == "error" }, ""},
		{"subject tag", " [status=waiting-customer]", "", func(tk *tickets.Ticket) bool { return tk.Status == tickets.StatusWaiting }, "Information required"},
		{"due", "", "Due: +48h", func(tk *tickets.Ticket) bool { return tk.DueExtended && !tk.Due.IsZero() }, "needs more time"},
		{"resolved", "", "status: Resolved", func(tk *tickets.Ticket) bool { return tk.Status == tickets.StatusResolved }, "Is your problem solved?"},
		{"close", "", "Close", func(tk *tickets.Ticket) bool { return tk.Status == tickets.StatusClosed && tk.RatingAsked }, "How did we do?"},
	}
	customerMails := 2
	for _, s := range steps {
		f.send(msg{from: f.addr("alice"), name: "Alice", to: notice.ReplyTo, subject: "Re: " + notice.Subject + s.subject,
			body: s.body, inReplyTo: notice.MessageID})
		if s.mail != "" {
			customerMails++
			got := f.waitInbox("anna", customerMails)[customerMails-1]
			if !strings.Contains(got.Text, s.mail) {
				t.Errorf("%s: the customer's mail lacks %q:\n%s", s.name, s.mail, got.Text)
			}
			if strings.Contains(string(got.Raw), f.addr("bob")) {
				t.Errorf("%s: the customer learned a staff address", s.name)
			}
		} else {
			f.quiet("anna", customerMails)
		}
		f.settle()
		if tk := f.ticket(1); !s.check(tk) {
			t.Errorf("%s: ticket is %+v", s.name, tk)
		}
	}
	// Every command is in the thread's history.
	var history []string
	for _, m := range f.thread(1) {
		if m.HasFlag("commands") {
			history = append(history, m.Text)
		}
	}
	if len(history) != len(steps) {
		t.Errorf("history has %d entries for %d commands: %q", len(history), len(steps), history)
	}
}

func TestStaffNoteStaysInside(t *testing.T) {
	f := newFlow(t, nil)
	_, bobMail := func() ([]*received, []*received) { a, _ := f.openTicket(); return a, f.waitInbox("bob", 1) }()
	f.reply(f.addr("bob"), "Bob", bobMail[0], "Note\n\nCalled Anna: it is the HP one. Ordering the part.")
	aliceGot := f.waitInbox("alice", 2)[1]
	if !strings.Contains(aliceGot.Text, "Ordering the part") || !strings.Contains(aliceGot.Subject, "internal note") {
		t.Errorf("alice's note notice %q:\n%s", aliceGot.Subject, aliceGot.Text)
	}
	f.quiet("anna", 2)
	f.quiet("bob", 1) // the author is not told of their own note
	th := f.thread(1)
	if n := th[len(th)-1]; n.Kind != tickets.KindNote || !strings.Contains(n.Text, "HP one") {
		t.Errorf("last entry = %+v", n)
	}
}

func TestStaffInvalidCommandChangesNothing(t *testing.T) {
	f := newFlow(t, nil)
	_, alice := f.openTicket()
	f.reply(f.addr("alice"), "Alice", alice[0], "Priority: high\nStatus: donee\nAssign: zed\n\nFixed it, I think.")
	errMail := f.waitInbox("alice", 2)[1]
	for _, want := range []string{`"Status: donee"`, `"Assign: zed"`, "in-progress (In progress)", "bob (Bob Jones)", "changed nothing"} {
		if !strings.Contains(errMail.Text, want) {
			t.Errorf("error reply lacks %q:\n%s", want, errMail.Text)
		}
	}
	f.quiet("anna", 2)
	if tk := f.ticket(1); tk.Priority != "medium" || tk.Status != tickets.StatusNew || tk.Assignee != "" {
		t.Errorf("a refused mail changed the ticket: %+v", tk)
	}
}

func TestForgedStaffFromChangesNothing(t *testing.T) {
	f := newFlow(t, func(c *Config) { c.Helpdesk.TrustedAuthServIDs = []string{"mx.example.test"} })
	f.openTicket()
	forged := []msg{
		// Straight to the support address, no authentication.
		{from: f.addr("alice"), name: "Alice", subject: "Re: [#1] Printer broken", body: "Status: closed\n\nDone."},
		// A reply address with a tampered token.
		{from: f.addr("alice"), name: "Alice", to: "support+aaaaaaaaaaaaaaaa@example.test", subject: "Re: [#1] Printer broken", body: "Close"},
		// Authentication-Results from a server we do not trust.
		{from: f.addr("alice"), name: "Alice", subject: "Re: [#1] Printer broken", body: "Close",
			headers: map[string]string{"Authentication-Results": "evil.example; dkim=pass header.d=example.test"}},
	}
	for i, m := range forged {
		f.send(m)
		f.settle()
		if tk := f.ticket(1); tk.Status != tickets.StatusNew {
			t.Fatalf("forged mail %d changed the status to %q", i, tk.Status)
		}
	}
	f.quiet("anna", 2)
	unverified := 0
	for _, m := range f.thread(1) {
		if m.HasFlag("unauthenticated") {
			unverified++
		}
	}
	if unverified != 3 {
		t.Errorf("%d flagged notes, want 3", unverified)
	}
	bob := f.waitInbox("bob", 4)
	if !strings.Contains(bob[1].Subject, "Unverified mail in the name of "+f.addr("alice")) {
		t.Errorf("staff were not told: %q", bob[1].Subject)
	}
	// The same mail with our own server's DKIM verdict is believed.
	f.send(msg{from: f.addr("alice"), name: "Alice", subject: "Re: [#1] Printer broken", body: "Status: in-progress",
		headers: map[string]string{"Authentication-Results": "mx.example.test; dkim=pass header.d=example.test; spf=fail"}})
	f.settle()
	if tk := f.ticket(1); tk.Status != tickets.StatusInProgress {
		t.Errorf("mail with a trusted DKIM pass was not believed: %q", tk.Status)
	}
}

func TestStaffOpensTicketForCustomer(t *testing.T) {
	f := newFlow(t, nil)
	// Staff writing a new mail (not a reply) send it to their own reply
	// address, which `maildesk staff` prints for their address book.
	var personal string
	f.app.store.View(func(tx *tickets.Tx) error { personal = f.app.desk.ReplyAddress(tx, f.addr("alice")); return nil })
	f.send(msg{from: f.addr("alice"), name: "Alice", to: personal, subject: "Olena's scanner",
		body: "Customer: Olena Koval <" + f.addr("olena") + ">\nPriority: high\n\nОлена подзвонила: сканер не працює після оновлення."})
	olena := f.waitInbox("olena", 2)
	if !strings.Contains(olena[0].Subject, "[#1]") || !strings.Contains(olena[0].Text, "Ми отримали ваше звернення") {
		t.Errorf("olena's ack (in Ukrainian) %q:\n%s", olena[0].Subject, olena[0].Text)
	}
	tk := f.ticket(1)
	if tk.Customer != f.addr("olena") || tk.Priority != "high" || tk.Assignee != f.addr("alice") || tk.Lang != "uk" {
		t.Errorf("ticket = %+v", tk)
	}
	if bob := f.waitInbox("bob", 1); bob[0].Subject != "[#1] Olena's scanner" {
		t.Errorf("bob's notice %q", bob[0].Subject)
	}
	f.quiet("alice", 0)

	// A staff mail about no ticket, with nothing saying whose it is, is refused.
	f.send(msg{from: f.addr("alice"), name: "Alice", to: personal, subject: "Lunch?", body: "Anyone?"})
	if got := f.waitInbox("alice", 1)[0]; !strings.Contains(got.Text, "no ticket") {
		t.Errorf("refusal:\n%s", got.Text)
	}
}

func TestAttachmentsBothWays(t *testing.T) {
	f := newFlow(t, nil)
	f.send(msg{from: f.addr("anna"), name: "Anna", subject: "Screenshot", body: "See attached.",
		attach: map[string][]byte{"error.png": []byte("\x89PNG fake")}})
	alice := f.waitInbox("alice", 1)
	if !slices.Contains(alice[0].Files, "error.png") {
		t.Errorf("staff notice lacks the customer's file: %v", alice[0].Files)
	}
	f.waitInbox("anna", 2)
	f.send(msg{from: f.addr("alice"), name: "Alice", to: alice[0].ReplyTo, subject: "Re: " + alice[0].Subject,
		body: "Here is the driver.", inReplyTo: alice[0].MessageID, attach: map[string][]byte{"driver.zip": []byte("PK fake")}})
	got := f.waitInbox("anna", 3)[2]
	if !slices.Contains(got.Files, "driver.zip") {
		t.Errorf("customer did not get the staff file: %v", got.Files)
	}
}

func TestStaffForwardOpensTicket(t *testing.T) {
	f := newFlow(t, nil)
	var personal string
	f.app.store.View(func(tx *tickets.Tx) error { personal = f.app.desk.ReplyAddress(tx, f.addr("alice")); return nil })
	f.send(msg{from: f.addr("alice"), name: "Alice", to: personal, subject: "Fwd: Invoice question",
		body: "Carl wrote to me directly, please take it.\n\n---------- Forwarded message ---------\nFrom: Carl Berg <" + f.addr("carl") +
			">\nDate: Mon, 23 Nov 2026 at 09:00\nSubject: Invoice question\nTo: Alice <" + f.addr("alice") + ">\n\nWhy was I charged twice?"})
	carl := f.waitInbox("carl", 2)
	if !strings.Contains(carl[0].Subject, "[#1] Invoice question") {
		t.Errorf("carl's ack %q", carl[0].Subject)
	}
	tk := f.ticket(1)
	if tk.Customer != f.addr("carl") || tk.CustomerName != "Carl Berg" || tk.Subject != "Invoice question" {
		t.Errorf("ticket = %+v", tk)
	}
	th := f.thread(1)
	if th[0].Text != "Why was I charged twice?" || th[0].From != f.addr("carl") || th[1].Kind != tickets.KindNote ||
		!strings.Contains(th[1].Text, "please take it") {
		t.Errorf("thread = %+v", th)
	}
	for _, r := range carl {
		if strings.Contains(string(r.Raw), "please take it") {
			t.Error("the staff member's remark reached the customer")
		}
	}
}
