package tickets

import "time"

// staffMail handles mail from a staff address.
func (d *Desk) staffMail(tx *Tx, in *Incoming, t *Ticket, now time.Time) (Outcome, error) {
	if t == nil {
		return d.newTicket(tx, in, now)
	}
	m := &Message{
		Kind: KindStaff, From: in.From.Email, FromName: d.cfg.StaffName(in.From.Email), At: now,
		Subject: in.Subject, Text: in.Text, MessageID: in.MessageID, Raw: in.Raw, Files: in.Files,
	}
	if err := tx.AddMessage(t, m); err != nil {
		return Outcome{}, err
	}
	return Outcome{Ticket: t.Number, Action: ActionAdded}, tx.PutTicket(t)
}
