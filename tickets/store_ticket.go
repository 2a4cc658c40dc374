package tickets

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Timer kinds in the timers bucket.
const (
	timerDue       byte = 'd' // an open ticket's due time
	timerAutoclose byte = 'a' // when a resolved ticket was resolved
)

// Ticket loads ticket n.
func (tx *Tx) Ticket(n Number) (*Ticket, error) {
	var t Ticket
	ok, err := getJSON(tx.bucket(bucketTickets), be64(uint64(n)), &t)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("ticket %d: %w", n, ErrNotFound)
	}
	return &t, nil
}

// CreateTicket gives t the next number from the persistent sequence and stores it.
func (tx *Tx) CreateTicket(t *Ticket) error {
	seq, err := tx.bucket(bucketTickets).NextSequence()
	if err != nil {
		return fmt.Errorf("ticket sequence: %w", err)
	}
	t.Number = Number(seq)
	if err := tx.bucket(bucketByCustomer).Put(join([]byte(t.Customer), []byte{0}, be64(seq)), nil); err != nil {
		return err
	}
	return tx.PutTicket(t)
}

// PutTicket stores t and brings the status and timer indexes in step with it.
func (tx *Tx) PutTicket(t *Ticket) error {
	key := be64(uint64(t.Number))
	var old Ticket
	had, err := getJSON(tx.bucket(bucketTickets), key, &old)
	if err != nil {
		return err
	}
	if had {
		if err := tx.bucket(bucketByStatus).Delete(statusKey(old.Status, old.Number)); err != nil {
			return err
		}
		for _, k := range timerKeys(&old) {
			if err := tx.bucket(bucketTimers).Delete(k); err != nil {
				return err
			}
		}
	}
	if err := tx.bucket(bucketByStatus).Put(statusKey(t.Status, t.Number), nil); err != nil {
		return err
	}
	for _, k := range timerKeys(t) {
		if err := tx.bucket(bucketTimers).Put(k, nil); err != nil {
			return err
		}
	}
	return putJSON(tx.bucket(bucketTickets), key, t)
}

func statusKey(s Status, n Number) []byte { return join([]byte(s), []byte{0}, be64(uint64(n))) }

func timerKey(kind byte, at time.Time, n Number) []byte {
	return join([]byte{kind}, be64(uint64(at.UnixNano())), be64(uint64(n)))
}

func timerKeys(t *Ticket) [][]byte {
	var keys [][]byte
	// Once both reminders went out, the ticket leaves the due index, so
	// the scheduler's work does not grow with old overdue tickets.
	if t.Open() && !t.Due.IsZero() && !t.DueReminders.Overdue {
		keys = append(keys, timerKey(timerDue, t.Due, t.Number))
	}
	if t.Status == StatusResolved && !t.ResolvedAt.IsZero() {
		keys = append(keys, timerKey(timerAutoclose, t.ResolvedAt, t.Number))
	}
	return keys
}

// timersBefore lists tickets whose timer of the given kind is at or before limit, oldest first.
func (tx *Tx) timersBefore(kind byte, limit time.Time) []Number {
	var out []Number
	c := tx.bucket(bucketTimers).Cursor()
	end := be64(uint64(limit.UnixNano()))
	for k, _ := c.Seek([]byte{kind}); k != nil && k[0] == kind; k, _ = c.Next() {
		if bytes.Compare(k[1:9], end) > 0 {
			break
		}
		out = append(out, Number(binary.BigEndian.Uint64(k[9:17])))
	}
	return out
}

// AddMessage appends m to ticket t's thread: it numbers m, indexes its
// Message-ID for threading and touches t. The caller stores t afterwards.
func (tx *Tx) AddMessage(t *Ticket, m *Message) error {
	t.Messages++
	m.Ticket, m.Seq = t.Number, t.Messages
	if m.At.After(t.Updated) {
		t.Updated = m.At
	}
	if m.MessageID != "" {
		if err := tx.IndexMessageID(m.MessageID, t.Number); err != nil {
			return err
		}
		// Refs thread the customer's own conversation: only mail the
		// customer saw belongs there (theirs, and ours to them, added by
		// queueCustomer), never a staff member's mail to the helpdesk.
		if m.Kind == KindCustomer {
			t.addRef(m.MessageID)
		}
	}
	return putJSON(tx.bucket(bucketMessages), join(be64(uint64(t.Number)), be32(m.Seq)), m)
}

// IndexMessageID records that a mail with Message-ID id belongs to ticket n,
// so that a reply naming it in In-Reply-To or References threads there.
func (tx *Tx) IndexMessageID(id string, n Number) error {
	if id == "" || len(id) > 512 {
		return nil // bbolt keys are capped; such IDs are junk anyway
	}
	return tx.bucket(bucketMsgIDs).Put(idKey(id), be64(uint64(n)))
}

// idKey is the lookup key of a Message-ID. IDs are compared without case:
// some systems change it in transit, and a false match needs two IDs that
// differ only in case, which random IDs never do.
func idKey(id string) []byte { return []byte(strings.ToLower(id)) }

// TicketByMessageID finds the ticket a Message-ID belongs to.
func (tx *Tx) TicketByMessageID(id string) (Number, bool) {
	if id == "" || len(id) > 512 {
		return 0, false
	}
	v := tx.bucket(bucketMsgIDs).Get(idKey(id))
	if v == nil {
		return 0, false
	}
	return Number(binary.BigEndian.Uint64(v)), true
}

// Thread returns all messages of ticket n in order.
func (tx *Tx) Thread(n Number) ([]Message, error) {
	var out []Message
	prefix := be64(uint64(n))
	c := tx.bucket(bucketMessages).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var m Message
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, fmt.Errorf("decode message %x: %w", k, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Filter selects tickets for ListTickets. Zero fields match everything.
type Filter struct {
	// Status is a status, or "open" for every status but closed.
	Status   string
	Assignee string
	Priority string
	Customer string
	// Text matches, case-insensitively, the subject, the customer and every message text.
	Text  string
	Limit int
}

// ListTickets returns the tickets matching f, newest first.
func (tx *Tx) ListTickets(f Filter) ([]Ticket, error) {
	var numbers []Number
	switch {
	case f.Status == "open":
		for _, s := range Statuses {
			if s != StatusClosed {
				numbers = append(numbers, tx.byStatus(s)...)
			}
		}
	case f.Status != "":
		numbers = tx.byStatus(Status(f.Status))
	case f.Customer != "":
		numbers = tx.ticketsOfCustomer(strings.ToLower(f.Customer))
	default:
		c := tx.bucket(bucketTickets).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			numbers = append(numbers, Number(binary.BigEndian.Uint64(k)))
		}
	}
	slices.SortFunc(numbers, func(a, b Number) int { return int(int64(b) - int64(a)) })
	var out []Ticket
	for _, n := range numbers {
		t, err := tx.Ticket(n)
		if err != nil {
			return nil, err
		}
		ok, err := tx.matches(t, f)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		out = append(out, *t)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

func (tx *Tx) matches(t *Ticket, f Filter) (bool, error) {
	switch {
	case f.Assignee != "" && !strings.EqualFold(t.Assignee, f.Assignee):
		return false, nil
	case f.Priority != "" && !strings.EqualFold(t.Priority, f.Priority):
		return false, nil
	case f.Customer != "" && !strings.EqualFold(t.Customer, f.Customer):
		return false, nil
	case f.Text == "":
		return true, nil
	}
	needle := strings.ToLower(f.Text)
	for _, s := range []string{t.Subject, t.Customer, t.CustomerName} {
		if strings.Contains(strings.ToLower(s), needle) {
			return true, nil
		}
	}
	thread, err := tx.Thread(t.Number)
	if err != nil {
		return false, err
	}
	for _, m := range thread {
		if strings.Contains(strings.ToLower(m.Text), needle) {
			return true, nil
		}
	}
	return false, nil
}

func (tx *Tx) byStatus(s Status) []Number {
	var out []Number
	prefix := append([]byte(s), 0)
	c := tx.bucket(bucketByStatus).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, Number(binary.BigEndian.Uint64(k[len(prefix):])))
	}
	return out
}

// ticketsOfCustomer lists the numbers of a customer's tickets, oldest first.
func (tx *Tx) ticketsOfCustomer(email string) []Number {
	var out []Number
	prefix := append([]byte(email), 0)
	c := tx.bucket(bucketByCustomer).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, Number(binary.BigEndian.Uint64(k[len(prefix):])))
	}
	return out
}

// CountByStatus counts tickets per status from the index, without loading them.
func (tx *Tx) CountByStatus() map[Status]int {
	counts := make(map[Status]int)
	for _, s := range Statuses {
		counts[s] = len(tx.byStatus(s))
	}
	return counts
}

// StatusCounts counts the tickets in each status, from the status index.
func (tx *Tx) StatusCounts() map[Status]int {
	out := map[Status]int{}
	c := tx.bucket(bucketByStatus).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if i := bytes.IndexByte(k, 0); i > 0 {
			out[Status(k[:i])]++
		}
	}
	return out
}
