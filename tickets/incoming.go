package tickets

import "time"

// Address is a mailbox with its display name.
type Address struct {
	Email string `json:"email"` // lower-case
	Name  string `json:"name,omitempty"`
}

// AutoKind says what kind of automatic mail a mail is (RFC 3834).
type AutoKind string

const (
	// NotAuto is mail a person wrote.
	NotAuto AutoKind = ""
	// AutoReply is an out-of-office or other automatic answer to a mail. It
	// never opens a ticket; on a ticket it is kept as a note.
	AutoReply AutoKind = "auto-reply"
	// AutoBulk is list, bulk or machine-generated mail. It may open a ticket,
	// but maildesk never answers it automatically.
	AutoBulk AutoKind = "bulk"
	// AutoBounce is a delivery status notification. It never opens a ticket.
	AutoBounce AutoKind = "bounce"
)

// Bounce is what a delivery status notification (RFC 3464) says about a mail we sent.
type Bounce struct {
	// OriginalMessageID is the Message-ID of the mail that bounced, if the DSN quotes it.
	OriginalMessageID string `json:"original_message_id,omitempty"`
	// ReturnToken is the part after "+" of the address the bounce was sent
	// to, when maildesk sent with a VERP return path.
	ReturnToken string `json:"return_token,omitempty"`
	Recipient   string `json:"recipient,omitempty"`
	Status      string `json:"status,omitempty"` // e.g. "5.1.1"
	Reason      string `json:"reason,omitempty"`
	// Temporary is true for a delay warning, not a failure.
	Temporary bool `json:"temporary,omitempty"`
}

// Incoming is a mail as the desk sees it: mail-in has parsed and classified
// it, stored its raw bytes and files, and found the tag in its subject. The
// desk decides what it means.
type Incoming struct {
	// Key is the dedup key (MailKey).
	Key       string
	MessageID string
	From      Address
	// Recipients are every address the mail was sent or delivered to (To,
	// Cc, Delivered-To, X-Original-To), for the staff reply address check.
	Recipients []string
	// Cc are the people the sender copied, who become participants.
	Cc []Address
	// Subject is the decoded subject line as sent.
	Subject string
	// Tag is the ticket number found in the subject's tag, 0 if none.
	Tag Number
	// CleanSubject is the subject without tags and reply or forward prefixes.
	CleanSubject string
	// SubjectTags are the other bracketed words of the subject, brackets
	// removed: "Ошибка", "status=resolved".
	SubjectTags []string
	InReplyTo   []string
	References  []string
	Date        time.Time
	// Text is what the sender wrote: quoted history and signature removed.
	Text string
	// FullText is the whole text of the mail, for notes and forwarded mail.
	FullText string
	Files    []Attachment
	// Dropped are files kept out for being over a size limit; Limit is that limit.
	Dropped []Attachment
	Limit   int64
	Auto    AutoKind
	// AutoReason names the header that made the mail automatic, for the log.
	AutoReason string
	Bounce     *Bounce
	// AuthDomains are the domains the receiving server vouched for: DKIM pass
	// (header.d) or SPF pass (smtp.mailfrom) in a trusted Authentication-Results.
	AuthDomains []string
	// Raw is the blob key of the raw mail.
	Raw string
	// Forwarded is the original of a forwarded mail, when the mail is one.
	Forwarded *Forwarded
}

// Forwarded is a mail found inside another (message/rfc822 or a forward
// block), used when staff forward a customer's mail to open a ticket.
type Forwarded struct {
	From    Address
	Subject string
	Text    string
	Date    time.Time
}
