package tickets

import (
	"crypto/subtle"
	"fmt"
	"strings"
	"time"
)

// staffMail handles mail from a staff address: commands and a public
// answer on a ticket, an internal note, or a ticket opened on a customer's
// behalf. A From header proves nothing, so the mail must be authenticated
// first (see authenticate); otherwise it changes nothing.
func (d *Desk) staffMail(tx *Tx, in *Incoming, t *Ticket, now time.Time) (Outcome, error) {
	staff, _ := d.cfg.StaffByEmail(in.From.Email)
	if ok, reason := d.authenticate(tx, in, staff); !ok {
		return d.unverifiedStaff(tx, in, t, staff, reason, now)
	}
	cmds, body := leadingCommands(in.Text)
	cmds = append(cmds, subjectCommands(in.SubjectTags)...)
	if t != nil && body == "" && len(cmds) == 0 {
		// No new words and no commands (a quote sent by mistake, a forward
		// with nothing typed): kept inside, nothing goes out.
		m := &Message{Kind: KindNote, From: staff.Email, FromName: staff.Name, At: now, Subject: in.Subject,
			Text: in.FullText, MessageID: in.MessageID, Raw: in.Raw, Files: in.Files, Flags: []string{"no-new-text"}}
		if err := tx.AddMessage(t, m); err != nil {
			return Outcome{}, err
		}
		return Outcome{Ticket: t.Number, Action: ActionNote, Detail: "no new text"}, tx.PutTicket(t)
	}
	ch, errs, help := d.resolveCommands(cmds, staff, t)
	if t != nil && ch.customer != nil {
		errs = append(errs, "\"Customer:\" opens a new ticket; this mail is about an existing one")
	}
	if t == nil && ch.customer == nil && in.Forwarded == nil {
		errs = append(errs, fmt.Sprintf("no ticket: the subject has no %s tag and the mail answers no ticket's mail; to open a ticket for a customer, forward their mail or start with a line \"Customer: Name <address>\"", "["+d.cfg.TagPrefix+"N]"))
	}
	if len(errs) > 0 {
		return d.refuse(tx, in, t, staff, errs, help, now)
	}
	if t == nil {
		return d.openForCustomer(tx, in, staff, ch, body, now)
	}
	return d.applyStaff(tx, in, t, staff, ch, body, now)
}

// authenticate decides whether a mail with a staff From really comes from
// that staff member: (a) our receiving server vouched for the sender's
// domain (DKIM, SPF or DMARC pass, aligned with the staff address's domain);
// (b) it was sent to the member's own reply address, whose signed token only
// their notifications carry; or (c) helpdesk.trust_from says to believe it.
func (d *Desk) authenticate(tx *Tx, in *Incoming, s Staff) (bool, string) {
	if d.cfg.TrustFrom {
		return true, ""
	}
	want := d.replyAddress(tx, s.Email)
	for _, r := range in.Recipients {
		if subtle.ConstantTimeCompare([]byte(strings.ToLower(r)), []byte(want)) == 1 {
			return true, ""
		}
	}
	_, domain, _ := strings.Cut(s.Email, "@")
	for _, a := range in.AuthDomains {
		if aligned(domain, a) {
			return true, ""
		}
	}
	return false, fmt.Sprintf("no DKIM or SPF pass for %s from a trusted server, and not sent to the staff member's reply address", domain)
}

// aligned is DMARC's relaxed alignment, approximately: the same domain, or
// one a subdomain of the other.
func aligned(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	return a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a)
}

// unverifiedStaff keeps a staff-looking mail that could not be verified as
// a flagged note and tells staff; it changes nothing and nothing reaches
// the customer.
func (d *Desk) unverifiedStaff(tx *Tx, in *Incoming, t *Ticket, s Staff, reason string, now time.Time) (Outcome, error) {
	data := MailData{AuthorEmail: s.Email, Reason: reason, Text: in.FullText}
	if t == nil {
		return Outcome{Action: ActionIgnored, Detail: "unverified staff mail"},
			d.notifyStaff(tx, nil, d.cfg.Staff, "", d.cfg.Name, "staff-unauth", data, nil, now)
	}
	m := &Message{Kind: KindNote, From: in.From.Email, FromName: in.From.Name, At: now, Subject: in.Subject,
		Text: in.FullText, Raw: in.Raw, Files: in.Files, Flags: []string{"unauthenticated"}}
	if err := tx.AddMessage(t, m); err != nil {
		return Outcome{}, err
	}
	if err := d.notifyStaff(tx, t, d.cfg.Staff, "", d.cfg.Name, "staff-unauth", data, nil, now); err != nil {
		return Outcome{}, err
	}
	return Outcome{Ticket: t.Number, Action: ActionNote, Detail: "unverified staff mail"}, tx.PutTicket(t)
}

// refuse answers a staff mail whose commands cannot all be applied:
// nothing changes, and the sender learns why and what is valid.
func (d *Desk) refuse(tx *Tx, in *Incoming, t *Ticket, s Staff, errs, help []string, now time.Time) (Outcome, error) {
	data := MailData{Errors: errs, Help: help, Text: in.Text}
	if err := d.notifyStaff(tx, t, []Staff{s}, "", d.cfg.Name, "staff-error", data, nil, now); err != nil {
		return Outcome{}, err
	}
	out := Outcome{Action: ActionRefused, Detail: strings.Join(errs, "; ")}
	if t != nil {
		out.Ticket = t.Number
	}
	return out, nil
}

// applyStaff applies a verified staff mail to t, all of it or (if a command
// cannot apply) none of it, and mirrors every change the customer must hear of.
func (d *Desk) applyStaff(tx *Tx, in *Incoming, t *Ticket, s Staff, ch changes, body string, now time.Time) (Outcome, error) {
	old := *t
	public := body != "" && !ch.note
	var log []string
	for _, key := range []string{"priority", "type", "service"} {
		v, ok := ch.fields[key]
		if !ok {
			continue
		}
		p := map[string]*string{"priority": &t.Priority, "type": &t.Type, "service": &t.Service}[key]
		if *p != v {
			log = append(log, fmt.Sprintf("%s %s → %s", key, dash(*p), v))
			*p = v
		}
	}
	if t.Priority != old.Priority && t.FirstResponse.IsZero() && !t.DueExtended && t.Open() {
		// A new priority before the first answer brings a new target.
		t.Due = d.cfg.Hours.Add(t.Created, d.cfg.Lifecycle.Targets[t.Priority])
		t.DueReminders = DueReminders{}
	}
	if ch.assign != nil && ch.assign.Email != t.Assignee {
		log = append(log, fmt.Sprintf("assignee %s → %s", dash(t.Assignee), dash(ch.assign.Email)))
		t.Assignee = ch.assign.Email
	} else if public && t.Assignee == "" {
		// Whoever answers first takes the ticket.
		t.Assignee = s.Email
	}
	switch {
	case ch.status != "":
		d.setStatus(t, ch.status, now)
	case public:
		next, err := Transition(t.Status, EventStaffReply, "")
		if err != nil {
			return Outcome{}, err
		}
		d.setStatus(t, next, now)
	}
	if t.Status != old.Status {
		log = append(log, fmt.Sprintf("status %s → %s", old.Status, t.Status))
	}
	if public {
		d.answered(t, now)
	}
	if ch.extend > 0 && t.Open() {
		base := t.Due
		if base.IsZero() || base.Before(now) {
			base = now
		}
		t.Due, t.DueExtended, t.DueReminders = base.Add(ch.extend), true, DueReminders{}
		log = append(log, "due "+t.Due.Format(time.RFC3339))
	}
	if err := d.recordStaffMail(tx, in, t, s, ch, body, public, log, now); err != nil {
		return Outcome{}, err
	}
	if err := d.mirrorStaffMail(tx, in, t, &old, s, ch, body, public, now); err != nil {
		return Outcome{}, err
	}
	action := ActionCommand
	switch {
	case public:
		action = ActionAdded
	case ch.note:
		action = ActionNote
	}
	return Outcome{Ticket: t.Number, Action: action, Detail: strings.Join(log, ", ")}, tx.PutTicket(t)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// recordStaffMail adds the staff mail to the thread: the public answer, the
// internal note, and what the commands changed.
func (d *Desk) recordStaffMail(tx *Tx, in *Incoming, t *Ticket, s Staff, ch changes, body string, public bool, log []string, now time.Time) error {
	switch {
	case public:
		m := &Message{Kind: KindStaff, From: s.Email, FromName: s.Name, At: now, Subject: in.Subject, Text: body,
			MessageID: in.MessageID, Raw: in.Raw, Files: in.Files}
		if err := tx.AddMessage(t, m); err != nil {
			return err
		}
	case ch.note:
		text := body
		if text == "" {
			text = in.FullText
		}
		m := &Message{Kind: KindNote, From: s.Email, FromName: s.Name, At: now, Subject: in.Subject, Text: text,
			MessageID: in.MessageID, Raw: in.Raw, Files: in.Files}
		if err := tx.AddMessage(t, m); err != nil {
			return err
		}
	}
	if len(log) == 0 {
		return nil
	}
	return tx.AddMessage(t, &Message{Kind: KindSystem, From: s.Email, FromName: s.Name, At: now,
		Text: s.Name + ": " + strings.Join(log, ", "), Flags: []string{"commands"}})
}

// mirrorStaffMail sends the customer what they must hear of a staff mail:
// the answer (with any status or assignee change in it), or, for commands
// alone, the status, assignee or due notice. Internal notes go to the other
// staff only.
func (d *Desk) mirrorStaffMail(tx *Tx, in *Incoming, t, old *Ticket, s Staff, ch changes, body string, public bool, now time.Time) error {
	var newAssignee string
	if t.Assignee != old.Assignee {
		newAssignee = d.cfg.StaffName(t.Assignee) // a name; the address stays inside
	}
	if public {
		data := MailData{Text: body, Author: s.Name, NewAssignee: newAssignee}
		if t.Status != old.Status {
			data.OldStatus, data.NewStatus = old.Status, t.Status
			if t.Status == StatusClosed {
				t.RatingAsked = true
			}
		}
		m, err := d.queueCustomer(tx, t, "reply", "", data, now)
		if err != nil {
			return err
		}
		m.FromName, m.Files = d.via(s.Name), in.Files
		if err := tx.PutMail(m); err != nil {
			return err
		}
	} else {
		switch {
		case t.Status != old.Status:
			if err := d.mirrorStatus(tx, t, old.Status, "", MailData{NewAssignee: newAssignee}, now); err != nil {
				return err
			}
		case t.Assignee != old.Assignee:
			if _, err := d.queueCustomer(tx, t, "assignee", AutoGenerated, MailData{NewAssignee: newAssignee}, now); err != nil {
				return err
			}
		}
	}
	if ch.extend > 0 && t.Open() {
		if _, err := d.queueCustomer(tx, t, "due", AutoGenerated, MailData{}, now); err != nil {
			return err
		}
	}
	if ch.note {
		text := body
		if text == "" {
			text = in.FullText
		}
		return d.notifyStaff(tx, t, d.cfg.Staff, s.Email, d.via(s.Name), "staff-note", MailData{Text: text, Author: s.Name}, in.Files, now)
	}
	return nil
}

// openForCustomer opens a ticket a staff member started for a customer:
// by forwarding the customer's mail, or with "Customer: Name <address>".
func (d *Desk) openForCustomer(tx *Tx, in *Incoming, s Staff, ch changes, body string, now time.Time) (Outcome, error) {
	o := opening{subject: in.CleanSubject, text: body, files: in.Files, in: in, by: &s}
	if ch.customer != nil {
		o.customer = *ch.customer
	} else {
		o.customer, o.text = in.Forwarded.From, in.Forwarded.Text
		if f := strings.TrimSpace(in.Forwarded.Subject); f != "" {
			o.subject = f
		}
	}
	if _, isStaff := d.cfg.StaffByEmail(o.customer.Email); isStaff || d.isOwnAddress(o.customer.Email) {
		return d.refuse(tx, in, nil, s, []string{fmt.Sprintf("%s is not a customer", o.customer.Email)}, nil, now)
	}
	t, err := d.open(tx, o, now)
	if err != nil {
		return Outcome{}, err
	}
	if ch.customer == nil && body != "" {
		// What the staff member wrote above the forwarded mail stays inside.
		if err := tx.AddMessage(t, &Message{Kind: KindNote, From: s.Email, FromName: s.Name, At: now, Text: body}); err != nil {
			return Outcome{}, err
		}
	}
	applied, err := tx.Ticket(t.Number)
	if err != nil {
		return Outcome{}, err
	}
	ch.customer = nil
	if _, err := d.applyStaff(tx, &Incoming{Subject: in.Subject}, applied, s, ch, "", now); err != nil {
		return Outcome{}, err
	}
	return Outcome{Ticket: t.Number, Action: ActionCreated, Detail: "opened by " + s.Email}, nil
}
