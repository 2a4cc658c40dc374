package tickets

import (
	"strings"
	"time"
)

// Requests by mail (issue: customers may ask by mail). A registered customer
// who writes a new mail whose whole subject is "password" gets a fresh
// password at the registered address; "tickets" gets the list of their open
// tickets. Both answer only the registered address itself, so a forged From
// sends the answer to its real owner and tells the forger nothing; both are
// rate-limited, so nobody can flood a customer through us.

// requestSubjects maps each spelling of a request to its kind.
var requestSubjects = map[string]string{
	"password": "password", "new password": "password", "reset password": "password", "forgot password": "password",
	"пароль": "password", "новый пароль": "password", "новий пароль": "password", "забыл пароль": "password", "забув пароль": "password",
	"tickets": "tickets", "my tickets": "tickets", "заявки": "tickets", "мои заявки": "tickets", "мої заявки": "tickets",
	"обращения": "tickets", "мои обращения": "tickets", "звернення": "tickets", "мої звернення": "tickets",
}

// requestEvery is how often each kind of request is answered per customer.
const requestEvery = 15 * time.Minute

// requestKind returns the request a subject makes, or "".
func requestKind(subject string) string {
	s := strings.ToLower(strings.Trim(strings.TrimSpace(subject), ".!?:;\"'«»"))
	return requestSubjects[strings.Join(strings.Fields(s), " ")]
}

// request answers a request by mail from the registered customer c. It
// returns ok false when the mail is no request and goes its usual way.
func (d *Desk) request(tx *Tx, in *Incoming, now time.Time) (Outcome, bool, error) {
	if in.Tag != 0 || in.Auto != NotAuto || len(in.InReplyTo) > 0 {
		return Outcome{}, false, nil
	}
	kind := requestKind(in.CleanSubject)
	if kind == "" {
		return Outcome{}, false, nil
	}
	c, err := tx.Customer(in.From.Email)
	if isNotFound(err) {
		return Outcome{}, false, nil // a new sender: this is their first request, a ticket
	}
	if err != nil {
		return Outcome{}, false, err
	}
	if last := c.Requests[kind]; !last.IsZero() && now.Sub(last) < requestEvery {
		return Outcome{Action: ActionIgnored, Detail: kind + " request within " + requestEvery.String() + " of the last"}, true, nil
	}
	if ok, err := d.allowAuto(tx, c.Email, now); err != nil || !ok {
		return Outcome{Action: ActionIgnored, Detail: kind + " request over the automatic mail cap"}, true, err
	}
	if c.Requests == nil {
		c.Requests = map[string]time.Time{}
	}
	c.Requests[kind] = now
	if err := tx.PutCustomer(c); err != nil {
		return Outcome{}, false, err
	}
	var m *Mail
	switch kind {
	case "password":
		m = d.passwordMail(c, AutoReplied, now)
	case "tickets":
		m = d.customerMail(c, "ticket-list", AutoReplied, now)
		// Through the customer's index: the status index would visit every open ticket.
		list, err := tx.ListTickets(Filter{Customer: c.Email})
		if err != nil {
			return Outcome{}, false, err
		}
		for i := range list {
			if list[i].Open() {
				m.Data.Tickets = append(m.Data.Tickets, *d.view(&list[i]))
			}
		}
	}
	m.InReplyTo = in.MessageID
	if in.MessageID != "" {
		m.References = []string{in.MessageID}
	}
	if err := tx.Enqueue(m); err != nil {
		return Outcome{}, false, err
	}
	return Outcome{Action: ActionRequest, Detail: kind}, true, nil
}
