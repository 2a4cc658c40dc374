package tickets

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Desk decides what every mail, command and timer means for the tickets.
// It reads and writes only through a Tx, so that a decision and the mails it
// causes commit together; it never talks to a server.
type Desk struct {
	cfg Config
}

// NewDesk checks cfg, fills its defaults and returns a desk.
func NewDesk(cfg Config) (*Desk, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Desk{cfg: cfg}, nil
}

// Config is the desk's configuration with defaults filled in.
func (d *Desk) Config() *Config { return &d.cfg }

// Action names what the desk did with a mail, for logs and the processed record.
type Action string

const (
	ActionCreated   Action = "created"   // opened a new ticket
	ActionAdded     Action = "added"     // added to an existing ticket
	ActionJoined    Action = "joined"    // a duplicate joined a recent ticket
	ActionReopened  Action = "reopened"  // a reply reopened a closed ticket
	ActionNote      Action = "note"      // kept as an internal note
	ActionCommand   Action = "command"   // staff commands applied
	ActionRefused   Action = "refused"   // staff commands refused, sender told
	ActionRated     Action = "rated"     // a rating was stored
	ActionBounce    Action = "bounce"    // a bounce of our own mail, recorded
	ActionDuplicate Action = "duplicate" // taken in before; nothing done
	ActionIgnored   Action = "ignored"   // nothing to do (loop, stray auto-reply)
	ActionRequest   Action = "request"   // a request by mail (password, ticket list)
)

// Outcome is what Receive did with a mail.
type Outcome struct {
	Ticket Number
	Action Action
	// Detail is a short reason for logs ("auto-reply", "from our own address").
	Detail string
}

// Receive takes in one mail: it decides which ticket it belongs to, changes
// the ticket, and queues the mails the change causes, all in tx. A mail whose
// key was taken in before changes nothing, which makes a redelivery harmless.
func (d *Desk) Receive(tx *Tx, in *Incoming, now time.Time) (Outcome, error) {
	if p, ok := tx.Processed(in.Key); ok {
		return Outcome{Ticket: p.Ticket, Action: ActionDuplicate}, nil
	}
	out, err := d.route(tx, in, now)
	if err != nil {
		return out, err
	}
	return out, tx.MarkProcessed(in.Key, Processed{At: now, Ticket: out.Ticket, Outcome: string(out.Action)})
}

func (d *Desk) route(tx *Tx, in *Incoming, now time.Time) (Outcome, error) {
	in.From.Email = strings.ToLower(in.From.Email)
	if d.isOwnAddress(in.From.Email) {
		return Outcome{Action: ActionIgnored, Detail: "from our own address"}, nil
	}
	if in.Auto == AutoBounce {
		return d.bounce(tx, in, now)
	}
	if _, isStaff := d.cfg.StaffByEmail(in.From.Email); !isStaff {
		if out, ok, err := d.request(tx, in, now); ok || err != nil {
			return out, err
		}
	}
	t, err := d.findTicket(tx, in)
	if err != nil {
		return Outcome{}, err
	}
	if _, isStaff := d.cfg.StaffByEmail(in.From.Email); isStaff && in.Auto == NotAuto {
		return d.staffMail(tx, in, t, now)
	}
	if t != nil && !d.mayWrite(t, in.From.Email) {
		// A stranger who guessed or copied a tag learns nothing and writes
		// nothing into that ticket: the mail is theirs alone.
		t = nil
	}
	if t != nil {
		return d.customerReply(tx, in, t, now)
	}
	return d.newTicket(tx, in, now)
}

// findTicket finds the ticket a mail belongs to: by the tag in its subject,
// else by the Message-IDs it replies to, the most recent first.
func (d *Desk) findTicket(tx *Tx, in *Incoming) (*Ticket, error) {
	if in.Tag != 0 {
		t, err := tx.Ticket(in.Tag)
		if err == nil {
			return t, nil
		}
		if !isNotFound(err) {
			return nil, err
		}
	}
	ids := slices.Clone(in.InReplyTo)
	for i := len(in.References) - 1; i >= 0; i-- {
		ids = append(ids, in.References[i])
	}
	for _, id := range ids {
		if n, ok := tx.TicketByMessageID(id); ok {
			t, err := tx.Ticket(n)
			if err == nil {
				return t, nil
			}
			if !isNotFound(err) {
				return nil, err
			}
		}
	}
	return nil, nil
}

// mayWrite reports whether email may add to t: its customer, a participant
// the customer brought in, or staff.
func (d *Desk) mayWrite(t *Ticket, email string) bool {
	if email == t.Customer || slices.Contains(t.Participants, email) {
		return true
	}
	_, isStaff := d.cfg.StaffByEmail(email)
	return isStaff
}

// isOwnAddress reports whether email is one of maildesk's own addresses:
// mail from them is our own mail coming back, and answering it would loop.
func (d *Desk) isOwnAddress(email string) bool {
	if email == d.cfg.Address || (d.cfg.TeamAddress != "" && email == d.cfg.TeamAddress) {
		return true
	}
	local, domain, _ := strings.Cut(d.cfg.Address, "@")
	return strings.HasPrefix(email, local+"+") && strings.HasSuffix(email, "@"+domain)
}

// newMessageID makes a Message-ID under the helpdesk's domain. The random
// part makes it unguessable: knowing it lets a reply thread into a ticket.
// It starts with the time, in an alphabet that sorts as it counts, so that
// the store's Message-ID indexes grow at their end: random keys spread
// every commit's writes over the whole of a big index.
func (d *Desk) newMessageID(n Number) string {
	var b [8 + 15]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixNano()))
	rand.Read(b[8:])
	enc := base32.HexEncoding.WithPadding(base32.NoPadding)
	id := strings.ToLower(enc.EncodeToString(b[:8]) + "." + enc.EncodeToString(b[8:]))
	if n == 0 {
		return fmt.Sprintf("%s@%s", id, d.cfg.Domain())
	}
	return fmt.Sprintf("%s.%d@%s", id, n, d.cfg.Domain())
}

// view is ticket t as mails show it, with the assignee's name resolved.
func (d *Desk) view(t *Ticket) *TicketView {
	v := &TicketView{
		Number: t.Number, Subject: t.Subject, Status: t.Status, Priority: t.Priority, Type: t.Type,
		Service: t.Service, Customer: t.Customer, CustomerName: t.CustomerName, Created: t.Created,
		Updated: t.Updated, Due: t.Due,
	}
	if t.Assignee != "" {
		v.Assignee, v.AssigneeEmail = d.cfg.StaffName(t.Assignee), t.Assignee
	}
	return v
}

// queueCustomer queues a mail to t's customer, threaded into the customer's
// conversation. A mail sent in answer to the customer's mail (auto
// AutoReplied) counts towards the per-address cap; over the cap it is not
// queued and queueCustomer returns nil. Mail that staff or a timer caused
// is never capped: it cannot be part of a loop.
func (d *Desk) queueCustomer(tx *Tx, t *Ticket, template, auto string, data MailData, now time.Time) (*Mail, error) {
	if auto == AutoReplied {
		ok, err := d.allowAuto(tx, t.Customer, now)
		if err != nil || !ok {
			return nil, err
		}
	}
	data.Ticket = d.view(t)
	m := &Mail{
		Ticket: t.Number, Template: template, Lang: t.Lang, To: t.Customer, ToName: t.CustomerName,
		Subject: t.Subject, MessageID: d.newMessageID(t.Number), InReplyTo: t.lastRef(),
		References: slices.Clone(t.Refs), Date: now, Auto: auto, Data: data,
	}
	if err := tx.Enqueue(m); err != nil {
		return nil, err
	}
	t.addRef(m.MessageID)
	return m, nil
}

// allowAuto enforces the cap on automatic mail per address and hour, which
// stops a loop with an autoresponder whatever headers it sends.
//
// The times an address was sent automatic mail are kept in one nested
// bucket per clock hour (UTC); the last hour's sends are all in this
// hour's bucket or the one before, and older buckets are dropped whole. So
// the counters take the room of two hours of mail, not one entry for every
// address ever answered, and a mail writes to a small tree instead of to a
// random page of a big one.
func (d *Desk) allowAuto(tx *Tx, email string, now time.Time) (bool, error) {
	if err := tx.dropAutoCounters(now); err != nil {
		return false, err
	}
	hours := tx.bucket(bucketAutoSent)
	this := autoHour(now)
	sentIn := func(hour []byte) []time.Time {
		var sent []time.Time
		if b := hours.Bucket(hour); b != nil {
			if v := b.Get([]byte(email)); v != nil && json.Unmarshal(v, &sent) != nil {
				return nil // a damaged counter only resets the cap
			}
		}
		return sent
	}
	thisHour := sentIn(this)
	recent := 0
	for _, at := range append(sentIn(autoHour(now.Add(-time.Hour))), thisHour...) {
		if now.Sub(at) < time.Hour {
			recent++
		}
	}
	if recent >= d.cfg.AutoCap {
		return false, nil
	}
	b, err := hours.CreateBucketIfNotExists(this)
	if err != nil {
		return false, fmt.Errorf("automatic mail counters: %w", err)
	}
	return true, putJSON(b, []byte(email), append(thisHour, now))
}

// dropAutoCounters drops the automatic mail counters of the hours before
// the last one (Tick does it too, so that mail-in seldom has to).
func (tx *Tx) dropAutoCounters(now time.Time) error {
	hours := tx.bucket(bucketAutoSent)
	last := autoHour(now.Add(-time.Hour))
	c := hours.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k, last) < 0; k, _ = c.First() {
		if err := hours.DeleteBucket(k); err != nil {
			return fmt.Errorf("drop automatic mail counters of %s: %w", k, err)
		}
	}
	return nil
}

// autoHour names the nested bucket of the automatic mail counters for t.
func autoHour(t time.Time) []byte { return []byte(t.UTC().Format("2006010215")) }

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
