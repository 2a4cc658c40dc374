package mailin

import (
	"regexp"
	"strings"

	"maildesk/tickets"
)

// Classify tells automatic mail from mail a person wrote (RFC 3834 and the
// vendor headers that predate it). Answering automatic mail automatically
// is how helpdesk mail loops begin, so every signal counts; reason names the
// one that decided, for the log.
func Classify(m *Message) (kind tickets.AutoKind, reason string) {
	h := &m.Header
	get := func(k string) string { return strings.ToLower(strings.TrimSpace(h.Get(k))) }
	ct, ctParams, _ := h.ContentType()

	// Bounces first: they are also "automatic", but they need matching to the mail that bounced.
	switch {
	case ct == "multipart/report" && strings.EqualFold(ctParams["report-type"], "delivery-status"):
		return tickets.AutoBounce, "multipart/report delivery-status"
	case m.Report != nil && len(m.Report.Recipients) > 0:
		return tickets.AutoBounce, "delivery-status part"
	case (isDaemon(m.From.Email) || isNoReply(m.From.Email)) && bounceSubject.MatchString(m.Subject):
		return tickets.AutoBounce, "bounce from " + m.From.Email
	case m.NullReturn && bounceSubject.MatchString(m.Subject):
		return tickets.AutoBounce, "bounce with a null return path"
	}

	switch {
	case ct == "multipart/report" && strings.EqualFold(ctParams["report-type"], "feedback-report"),
		h.Get("Feedback-Type") != "" || h.Get("X-HmXmrOriginalRecipient") != "" || complaintSubject.MatchString(m.Subject):
		// Abuse reports (ARF, Hotmail's complaints) are about mail, not from a customer.
		return tickets.AutoReply, "feedback report"
	case h.Get("X-Amz-Sns-Message-Id") != "":
		return tickets.AutoReply, "Amazon SNS notification"
	case systemNotice.MatchString(m.Subject) && h.Get("X-MLServer") != "":
		return tickets.AutoReply, "mailing list server notice"
	}

	switch v := get("Auto-Submitted"); {
	case v != "" && v != "no" && strings.HasPrefix(v, "auto-replied"):
		return tickets.AutoReply, "Auto-Submitted: " + v
	case v != "" && v != "no":
		return tickets.AutoBulk, "Auto-Submitted: " + v
	}
	switch {
	case ct == "multipart/report":
		// Read receipts (disposition-notification) and other reports answer a mail.
		return tickets.AutoReply, "multipart/report " + ctParams["report-type"]
	case h.Get("X-Autoreply") != "" || h.Get("X-Autorespond") != "" || h.Get("X-Autoresponder") != "":
		return tickets.AutoReply, "X-Autoreply"
	case h.Get("X-MS-Exchange-Inbox-Rules-Loop") != "" || get("X-MS-Exchange-Generated-Message-Source") == "mailbox rules agent":
		return tickets.AutoReply, "Exchange inbox rule"
	case get("Precedence") == "auto_reply":
		return tickets.AutoReply, "Precedence: auto_reply"
	case autoReplySubject.MatchString(m.Subject):
		return tickets.AutoReply, "out-of-office subject"
	case isDaemon(m.From.Email):
		return tickets.AutoReply, "from " + m.From.Email
	case m.NullReturn || isDaemon(m.ReturnPath):
		return tickets.AutoReply, "null or daemon return path"
	}
	switch p := get("Precedence"); p {
	case "bulk", "junk", "list":
		return tickets.AutoBulk, "Precedence: " + p
	}
	switch {
	case h.Get("List-Id") != "":
		return tickets.AutoBulk, "List-Id"
	case h.Get("List-Unsubscribe") != "":
		return tickets.AutoBulk, "List-Unsubscribe"
	case h.Get("X-Auto-Response-Suppress") != "":
		return tickets.AutoBulk, "X-Auto-Response-Suppress"
	case h.Get("Feedback-Type") != "" || h.Get("X-Loop") != "":
		return tickets.AutoBulk, "Feedback-Type or X-Loop"
	}
	return tickets.NotAuto, ""
}

// isDaemon reports whether addr is a mail system's own address.
func isDaemon(addr string) bool {
	local, _, _ := strings.Cut(strings.ToLower(addr), "@")
	switch local {
	case "mailer-daemon", "postmaster", "post_master", "post-master", "mail-daemon", "mailerdaemon", "noreply-dmarc-support":
		return true
	}
	return false
}

// isNoReply reports an address that says it reads no answers.
func isNoReply(addr string) bool {
	local, _, _ := strings.Cut(strings.ToLower(addr), "@")
	return local == "no-reply" || local == "noreply" || local == "donotreply" || local == "do-not-reply"
}

var (
	bounceSubject    = regexp.MustCompile(`(?i)(undeliver|undelivered|delivery (status notification|failure|has failed|failed)|mail delivery|returned mail|failure notice|could not be delivered|non-?delivery|delivery report|warning: message|nondeliverable|mail error|недоставлен|не доставлен|не удалось доставить|не вдалося доставити|ошибка доставки|помилка доставки|メールエラー|配信エラー|送信エラー)`)
	complaintSubject = regexp.MustCompile(`(?i)^\s*complaint about message from`)
	systemNotice     = regexp.MustCompile(`(?i)(loop alert|loop detected|duplicated message-id)`)
	// Only at the start and with a colon: a customer may well write "autoreply doesn't work".
	autoReplySubject = regexp.MustCompile(`(?i)^\s*(automatic reply|auto[- ]?reply|autoresponse|auto[- ]?response|out of (the )?office|abwesenheitsnotiz|automatische antwort|réponse automatique|respuesta automática|автоматический ответ|автоответ|автоответчик|вне офиса|автоматична відповідь|автовідповідь|поза офісом)[^:]{0,40}:`)
)

// bounceOf reads what a bounce says about the mail that bounced.
func bounceOf(m *Message, ownLocal, ownDomain string) *tickets.Bounce {
	b := &tickets.Bounce{}
	if r := m.Report; r != nil {
		b.OriginalMessageID = r.OriginalMessageID
		for _, rc := range r.Recipients {
			if b.Recipient == "" || rc.Action == "failed" {
				b.Recipient = rc.FinalRecipient
				if b.Recipient == "" {
					b.Recipient = rc.OriginalRecipient
				}
				b.Status, b.Reason = rc.Status, rc.Diagnostic
				b.Temporary = rc.Action == "delayed" || strings.HasPrefix(rc.Status, "4")
			}
		}
	}
	if b.OriginalMessageID == "" {
		for _, e := range m.Embedded {
			if e.MessageID != "" {
				b.OriginalMessageID = e.MessageID
				break
			}
		}
	}
	if b.OriginalMessageID == "" {
		// Bounces without a report often quote the original's headers in the text.
		if mm := quotedMessageID.FindStringSubmatch(m.Text); mm != nil {
			b.OriginalMessageID = CanonicalMessageID(mm[1])
		}
	}
	if b.OriginalMessageID == "" && len(m.InReplyTo) > 0 {
		b.OriginalMessageID = m.InReplyTo[0]
	}
	if b.Reason == "" {
		b.Reason = firstLines(m.Text, 3)
	}
	// A VERP return path: the bounce came to support+<token>@domain.
	prefix := ownLocal + "+"
	for _, a := range recipientsOf(m) {
		local, domain, _ := strings.Cut(a, "@")
		if domain == ownDomain && strings.HasPrefix(local, prefix) {
			b.ReturnToken = local[len(prefix):]
			break
		}
	}
	return b
}

var quotedMessageID = regexp.MustCompile(`(?im)^\s*>?\s*Message-ID:\s*(<[^<>\s]+>)`)

func firstLines(s string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
			if len(out) == n {
				break
			}
		}
	}
	return strings.Join(out, " ")
}

// recipientsOf lists the addresses a mail was sent or delivered to.
func recipientsOf(m *Message) []string {
	out := append([]string(nil), m.DeliveredTo...)
	for _, a := range m.To {
		out = append(out, a.Email)
	}
	for _, a := range m.Cc {
		out = append(out, a.Email)
	}
	return out
}
