package tickets

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// VERPToken is the return-path token for outbox entry id, "b.<id>.<mac>":
// a bounce sent to support+<token>@domain names the mail it is for, and the
// MAC (with the store's secret) keeps anyone from pointing one at another.
func VERPToken(secret []byte, id uint64) string {
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "bounce:%d", id)
	return fmt.Sprintf("b.%d.%s", id, hex.EncodeToString(mac.Sum(nil))[:12])
}

// verpID reads the outbox ID from a VERP token, if its MAC is right.
func verpID(secret []byte, token string) (uint64, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != "b" {
		return 0, false
	}
	id, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil || !hmac.Equal([]byte(VERPToken(secret, id)), []byte(token)) {
		return 0, false
	}
	return id, true
}

// bounce records a delivery report about a mail we sent: it is matched to
// its outbox entry by the VERP return path or by the Message-ID the report
// quotes, and recorded on the ticket; staff are told. A bounce never opens
// a ticket, and one that matches nothing of ours is dropped.
func (d *Desk) bounce(tx *Tx, in *Incoming, now time.Time) (Outcome, error) {
	b := in.Bounce
	if b == nil {
		return Outcome{Action: ActionIgnored, Detail: "bounce without a report"}, nil
	}
	var m *Mail
	if id, ok := verpID(tx.Secret(), b.ReturnToken); ok {
		m, _ = tx.Mail(id)
	}
	if m == nil && b.OriginalMessageID != "" {
		m, _ = tx.MailByMessageID(b.OriginalMessageID)
	}
	if m == nil {
		return Outcome{Action: ActionIgnored, Detail: "bounce of no mail of ours"}, nil
	}
	reason := strings.TrimSpace(strings.Join([]string{b.Status, b.Reason}, " "))
	if reason == "" {
		reason = "the receiving server returned the mail"
	}
	if b.Temporary {
		// A "still trying" warning: worth a line on the ticket, not an alarm.
		if m.Ticket == 0 {
			return Outcome{Action: ActionBounce, Detail: "delayed"}, nil
		}
		t, err := tx.Ticket(m.Ticket)
		if err != nil {
			return Outcome{}, err
		}
		note := &Message{Kind: KindSystem, From: d.cfg.Address, FromName: d.cfg.Name, At: now,
			Text: fmt.Sprintf("Delivery delayed: the %q mail to %s: %s", m.Template, m.To, reason), Flags: []string{"delivery-delayed"}}
		if err := tx.AddMessage(t, note); err != nil {
			return Outcome{}, err
		}
		return Outcome{Ticket: t.Number, Action: ActionBounce, Detail: "delayed"}, tx.PutTicket(t)
	}
	m.Bounced = reason
	if err := tx.PutMail(m); err != nil {
		return Outcome{}, err
	}
	return Outcome{Ticket: m.Ticket, Action: ActionBounce, Detail: reason}, d.recordDeliveryFailure(tx, m, reason, now)
}
