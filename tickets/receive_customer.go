package tickets

import (
	"errors"
	"slices"
	"strings"
	"time"
)

// newTicket opens a ticket for a mail that belongs to none, registering its
// sender if they are new.
func (d *Desk) newTicket(tx *Tx, in *Incoming, now time.Time) (Outcome, error) {
	if in.Auto == AutoReply || in.Auto == AutoBounce {
		// An automatic answer that belongs to no ticket: opening one, or
		// answering it, is how helpdesk mail loops start.
		return Outcome{Action: ActionIgnored, Detail: string(in.Auto) + " without a ticket"}, nil
	}
	cust, registered, err := d.ensureCustomer(tx, in.From, in.Subject+"\n"+in.FullText, now)
	if err != nil {
		return Outcome{}, err
	}
	t := &Ticket{
		Subject: in.CleanSubject, Status: StatusNew, Customer: cust.Email, CustomerName: cust.Name,
		Priority: d.cfg.Fields.Priority.Default, Type: d.cfg.Fields.Type.Default, Service: d.cfg.Fields.Service.Default,
		Lang: cust.Lang, Created: now, Updated: now, Participants: d.participants(in),
	}
	t.Due = d.cfg.Hours.Add(now, d.cfg.Lifecycle.Targets[t.Priority])
	if err := tx.CreateTicket(t); err != nil {
		return Outcome{}, err
	}
	// A first mail is kept whole: what looks like quoted history in it is
	// usually the problem itself (a forwarded error, an earlier exchange).
	if err := tx.AddMessage(t, d.customerMessage(in, in.FullText, now)); err != nil {
		return Outcome{}, err
	}
	if in.Auto == NotAuto {
		data := MailData{Dropped: in.Dropped, Limit: in.Limit}
		if _, err := d.queueCustomer(tx, t, "ack", AutoReplied, data, now); err != nil {
			return Outcome{}, err
		}
		if registered {
			if err := d.queueWelcome(tx, t, now); err != nil {
				return Outcome{}, err
			}
		}
	}
	return Outcome{Ticket: t.Number, Action: ActionCreated, Detail: string(in.Auto)}, tx.PutTicket(t)
}

// customerReply adds a mail from the customer (or a participant) to t.
func (d *Desk) customerReply(tx *Tx, in *Incoming, t *Ticket, now time.Time) (Outcome, error) {
	if in.Auto == AutoReply {
		return d.autoReplyNote(tx, in, t, now)
	}
	if err := tx.AddMessage(t, d.customerMessage(in, in.Text, now)); err != nil {
		return Outcome{}, err
	}
	if next, err := Transition(t.Status, EventCustomerReply, ""); err == nil {
		t.Status = next
	}
	return Outcome{Ticket: t.Number, Action: ActionAdded}, tx.PutTicket(t)
}

// autoReplyNote keeps an out-of-office answer as a note: staff may want to
// know the customer is away, but it changes nothing and answers nothing.
func (d *Desk) autoReplyNote(tx *Tx, in *Incoming, t *Ticket, now time.Time) (Outcome, error) {
	m := d.customerMessage(in, in.Text, now)
	m.Kind = KindNote
	m.Flags = append(m.Flags, "auto-reply")
	if err := tx.AddMessage(t, m); err != nil {
		return Outcome{}, err
	}
	return Outcome{Ticket: t.Number, Action: ActionNote, Detail: "auto-reply"}, tx.PutTicket(t)
}

func (d *Desk) customerMessage(in *Incoming, text string, now time.Time) *Message {
	return &Message{
		Kind: KindCustomer, From: in.From.Email, FromName: in.From.Name, At: now, Subject: in.Subject,
		Text: text, MessageID: in.MessageID, Raw: in.Raw, Files: in.Files,
	}
}

// participants are the people a new ticket's customer copied: they may
// write into the ticket too. Our own and staff addresses are left out.
func (d *Desk) participants(in *Incoming) []string {
	var out []string
	for _, a := range in.Cc {
		e := strings.ToLower(a.Email)
		if _, staff := d.cfg.StaffByEmail(e); staff || d.isOwnAddress(e) || e == in.From.Email || slices.Contains(out, e) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// ensureCustomer returns the customer for from, registering them if new.
// A new customer's language is detected from their first mail.
func (d *Desk) ensureCustomer(tx *Tx, from Address, text string, now time.Time) (*Customer, bool, error) {
	c, err := tx.Customer(from.Email)
	if err == nil {
		if c.Name == "" && from.Name != "" {
			c.Name = from.Name
			return c, false, tx.PutCustomer(c)
		}
		return c, false, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	c = &Customer{Email: from.Email, Name: from.Name, Lang: DetectLang(text, d.cfg.DefaultLang), Created: now}
	return c, true, tx.PutCustomer(c)
}

// queueWelcome queues the welcome mail that carries a new customer's password.
// The password itself is made when the mail is sent (see doc.go, "Passwords").
func (d *Desk) queueWelcome(tx *Tx, t *Ticket, now time.Time) error {
	m, err := d.queueCustomer(tx, t, "welcome", AutoReplied, MailData{}, now)
	if m == nil || err != nil {
		return err
	}
	m.IssuePassword = true
	return tx.PutMail(m)
}
