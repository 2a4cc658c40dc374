package tickets

import (
	"strconv"
	"time"
)

// Number is a ticket's number, taken from a persistent sequence. Numbers are
// shown to people ("[#42]"), so they are small and dense; knowing one grants
// nothing (see Desk's participant check).
type Number uint64

func (n Number) String() string { return strconv.FormatUint(uint64(n), 10) }

// ParseNumber reads "42" or "#42".
func ParseNumber(s string) (Number, bool) {
	if len(s) > 0 && s[0] == '#' {
		s = s[1:]
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, false
	}
	return Number(n), true
}

// Ticket is one customer request and the state of its handling.
type Ticket struct {
	Number       Number    `json:"number"`
	Subject      string    `json:"subject"`
	Status       Status    `json:"status"`
	Customer     string    `json:"customer"` // canonical e-mail address
	CustomerName string    `json:"customer_name,omitempty"`
	Assignee     string    `json:"assignee"` // staff e-mail address; empty if nobody
	Priority     string    `json:"priority"`
	Type         string    `json:"type"`
	Service      string    `json:"service,omitempty"`
	Lang         string    `json:"lang"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`

	// Due is when support promised to answer; zero while the ticket waits
	// for the customer or is resolved or closed.
	Due time.Time `json:"due,omitzero"`
	// FirstResponse is when staff first answered publicly.
	FirstResponse time.Time `json:"first_response,omitzero"`
	// Breached is set when the first response came after Due, or Due passed.
	Breached   bool      `json:"breached,omitempty"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
	// DueReminders records which due-time reminders went out, so each is sent once.
	DueReminders DueReminders `json:"due_reminders,omitzero"`
	// DueExtended is set when staff moved the due time (Due: +48h); an
	// answer then does not clear it.
	DueExtended bool `json:"due_extended,omitempty"`

	// Participants are further addresses allowed to write into the ticket
	// (people the customer copied); the customer and staff always may.
	Participants []string `json:"participants,omitempty"`

	// Refs are the Message-IDs used to thread outgoing mail: the first message
	// of the ticket followed by the most recent ones (capped at maxRefs).
	Refs []string `json:"refs,omitempty"`

	// LinkedTo is the earlier, closed ticket this one continues.
	LinkedTo Number `json:"linked_to,omitempty"`

	Rating      *Rating `json:"rating,omitempty"`
	RatingAsked bool    `json:"rating_asked,omitempty"`

	// Messages counts the messages in the thread; the next gets Messages+1.
	Messages uint32 `json:"messages"`
}

// DueReminders are the due-time reminders already sent for the current due time.
type DueReminders struct {
	Near    bool `json:"near,omitempty"`
	Overdue bool `json:"overdue,omitempty"`
}

// Rating is the customer's satisfaction score, given once after closing.
type Rating struct {
	Score   int       `json:"score"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// Open reports whether the ticket still needs work.
func (t *Ticket) Open() bool { return t.Status != StatusClosed }

// maxRefs caps References in outgoing mail: enough for every mail client to
// thread, small enough to keep headers short (RFC 5322 §3.6.4 allows trimming).
const maxRefs = 10

// addRef remembers a Message-ID of the thread, keeping the first one.
func (t *Ticket) addRef(id string) {
	if id == "" {
		return
	}
	for _, r := range t.Refs {
		if r == id {
			return
		}
	}
	t.Refs = append(t.Refs, id)
	if len(t.Refs) > maxRefs {
		t.Refs = append(t.Refs[:1], t.Refs[len(t.Refs)-maxRefs+1:]...)
	}
}

// lastRef is the newest Message-ID of the thread, for In-Reply-To.
func (t *Ticket) lastRef() string {
	if len(t.Refs) == 0 {
		return ""
	}
	return t.Refs[len(t.Refs)-1]
}

// Kind says who wrote a message of a thread and who may read it.
type Kind string

const (
	KindCustomer Kind = "customer" // from the customer or a participant
	KindStaff    Kind = "staff"    // a public staff answer, mailed to the customer
	KindNote     Kind = "note"     // internal; never shown or mailed to the customer
	KindSystem   Kind = "system"   // recorded by maildesk itself (delivery failures, links)
)

// Message is one entry of a ticket's thread.
type Message struct {
	Ticket    Number       `json:"ticket"`
	Seq       uint32       `json:"seq"`
	Kind      Kind         `json:"kind"`
	From      string       `json:"from"`
	FromName  string       `json:"from_name,omitempty"`
	At        time.Time    `json:"at"`
	Subject   string       `json:"subject,omitempty"`
	Text      string       `json:"text"`
	MessageID string       `json:"message_id,omitempty"`
	Raw       string       `json:"raw,omitempty"` // blob key of the raw mail, if it came by mail
	Files     []Attachment `json:"attachments,omitempty"`
	// Flags mark what a reader should know: "unauthenticated", "auto-reply",
	// "delivery-failed", "commands", "via-portal".
	Flags []string `json:"flags,omitempty"`
}

// HasFlag reports whether the message carries flag f.
func (m *Message) HasFlag(f string) bool {
	for _, x := range m.Flags {
		if x == f {
			return true
		}
	}
	return false
}

// Attachment is a file kept in the blob store under the SHA-256 of its content.
// Name is sanitised and only ever used for display and for mailing it on.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Inline      bool   `json:"inline,omitempty"`
	ContentID   string `json:"content_id,omitempty"`
}
