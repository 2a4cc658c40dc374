package tickets

import (
	"testing"
	"time"
)

func TestRequestsByMail(t *testing.T) {
	e := newDeskEnv(t)
	e.receive(e.mail("ann@client.test", "Printer broken", "It jams."))
	before := len(e.outbox())

	out := e.receive(e.mail("Ann@Client.test", "Password", ""))
	if out.Action != ActionRequest || out.Detail != "password" {
		t.Fatalf("password request: %+v", out)
	}
	mails := e.outbox()[before:]
	if len(mails) != 1 || mails[0].Template != "password" || mails[0].To != "ann@client.test" || !mails[0].IssuePassword ||
		mails[0].Ticket != 0 || mails[0].Auto != AutoReplied || mails[0].InReplyTo == "" {
		t.Fatalf("password mail = %+v", mails)
	}
	// Asked again at once: not answered, and no ticket either.
	if out := e.receive(e.mail("ann@client.test", "пароль", "")); out.Action != ActionIgnored {
		t.Errorf("second request within the interval: %+v", out)
	}
	e.now = e.now.Add(requestEvery + time.Minute)
	if out := e.receive(e.mail("ann@client.test", "Новый пароль!", "")); out.Action != ActionRequest {
		t.Errorf("request after the interval: %+v", out)
	}

	out = e.receive(e.mail("ann@client.test", "мои заявки", "покажите"))
	list := e.outbox()[len(e.outbox())-1]
	if out.Action != ActionRequest || list.Template != "ticket-list" || len(list.Data.Tickets) != 1 || list.Data.Tickets[0].Number != 1 {
		t.Errorf("ticket list: %+v, mail %+v", out, list)
	}

	// A sender nobody knows asking for a password writes their first ticket.
	if out := e.receive(e.mail("new@client.test", "password", "")); out.Action != ActionCreated {
		t.Errorf("unregistered sender: %+v", out)
	}
	// Staff are not customers; a reply in a ticket is never a request.
	if out := e.receive(e.mail("alice@acme.test", "tickets", "")); out.Action == ActionRequest {
		t.Errorf("staff mail taken as a request: %+v", out)
	}
	reply := e.mail("ann@client.test", "tickets", "")
	reply.Tag = 1
	if out := e.receive(reply); out.Action == ActionRequest {
		t.Errorf("tagged reply taken as a request: %+v", out)
	}
	if e.ticket(1).Status == StatusClosed {
		t.Error("ticket closed")
	}
}

func TestRequestKind(t *testing.T) {
	for subject, want := range map[string]string{
		"password": "password", " PASSWORD. ": "password", "Новый  пароль": "password", "Tickets": "tickets",
		"Заявки": "tickets", "мої звернення": "tickets", "password reset for CRM does not work": "", "": "",
	} {
		if got := requestKind(subject); got != want {
			t.Errorf("requestKind(%q) = %q, want %q", subject, got, want)
		}
	}
}

// Old sent mail is pruned from the outbox; replies to it still thread, and
// mail still waiting is kept however old.
func TestPruneSent(t *testing.T) {
	e := newDeskEnv(t)
	e.receive(e.mail("ann@client.test", "Printer broken", "It jams."))
	mails := e.outbox()
	if len(mails) != 4 { // ack, welcome, and a notice to each of two staff
		t.Fatalf("outbox = %d", len(mails))
	}
	e.store.Update(func(tx *Tx) error {
		for _, i := range []int{0, 2, 3} {
			tx.MarkSent(mails[i].ID, e.now)
		}
		return nil
	})
	var n int
	e.store.Update(func(tx *Tx) (err error) { n, err = tx.PruneSent(e.now.Add(time.Hour), 100); return err })
	if n != 3 {
		t.Fatalf("pruned %d, want 3", n)
	}
	left := e.outbox()
	if len(left) != 1 || left[0].ID != mails[1].ID || left[0].State != MailPending {
		t.Errorf("left = %+v", left)
	}
	e.store.View(func(tx *Tx) error {
		if _, err := tx.MailByMessageID(mails[0].MessageID); err == nil {
			t.Error("a pruned mail is still found by its Message-ID")
		}
		if num, ok := tx.TicketByMessageID(mails[0].MessageID); !ok || num != 1 {
			t.Error("a reply to a pruned mail no longer threads")
		}
		return nil
	})
	// Nothing younger than the cut goes.
	e.store.Update(func(tx *Tx) (err error) { n, err = tx.PruneSent(e.now.Add(-time.Hour), 100); return err })
	if n != 0 {
		t.Errorf("pruned %d mails younger than the cut", n)
	}
}
