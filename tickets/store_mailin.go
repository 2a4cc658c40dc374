package tickets

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// MailboxState is mail-in's position in one IMAP mailbox: the watermark
// (UIDVALIDITY and the last UID taken) and the UIDs whose processing is
// committed but whose \Seen flag or move has not yet reached the server.
type MailboxState struct {
	UIDValidity uint32   `json:"uidvalidity"`
	LastUID     uint32   `json:"last_uid"`
	Unacked     []uint32 `json:"unacked,omitempty"`
	// Quarantined are committed as quarantined but not yet moved to the quarantine mailbox.
	Quarantined []uint32 `json:"quarantined,omitempty"`
	// Failures counts attempts per UID that failed inside maildesk (a panic),
	// so that one poisonous mail is quarantined instead of retried forever.
	Failures map[uint32]int `json:"failures,omitempty"`
}

// MailboxState loads the state of mailbox name; a mailbox never seen has the zero state.
func (tx *Tx) MailboxState(name string) (*MailboxState, error) {
	var st MailboxState
	if _, err := getJSON(tx.bucket(bucketIMAP), []byte(name), &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// PutMailboxState stores the state of mailbox name.
func (tx *Tx) PutMailboxState(name string, st *MailboxState) error {
	return putJSON(tx.bucket(bucketIMAP), []byte(name), st)
}

// Processed records that a mail was taken in, under its dedup key (see MailKey).
type Processed struct {
	At      time.Time `json:"at"`
	Ticket  Number    `json:"ticket,omitempty"`
	Outcome string    `json:"outcome"`
}

// MailKey is the key a mail is deduplicated by: its Message-ID, or the
// SHA-256 of its raw bytes when it has none.
func MailKey(messageID, rawSHA256 string) string {
	if messageID != "" && len(messageID) <= 500 {
		return "id:" + strings.ToLower(messageID)
	}
	return "sha256:" + rawSHA256
}

// Processed reports whether a mail with key was already taken in.
func (tx *Tx) Processed(key string) (*Processed, bool) {
	var p Processed
	ok, err := getJSON(tx.bucket(bucketProcessed), []byte(key), &p)
	if err != nil || !ok {
		return nil, false
	}
	return &p, true
}

// MarkProcessed records that the mail with key was taken in.
func (tx *Tx) MarkProcessed(key string, p Processed) error {
	return putJSON(tx.bucket(bucketProcessed), []byte(key), p)
}

// Quarantined is a mail maildesk could not take in. Its raw bytes stay in the
// blob store and the mail itself is moved to the quarantine mailbox.
type Quarantined struct {
	ID          uint64    `json:"id"`
	At          time.Time `json:"at"`
	Mailbox     string    `json:"mailbox"`
	UIDValidity uint32    `json:"uidvalidity"`
	UID         uint32    `json:"uid"`
	Reason      string    `json:"reason"`
	Raw         string    `json:"raw,omitempty"`
	MessageID   string    `json:"message_id,omitempty"`
	From        string    `json:"from,omitempty"`
	Subject     string    `json:"subject,omitempty"`
}

// Quarantine records q.
func (tx *Tx) Quarantine(q *Quarantined) error {
	id, err := tx.bucket(bucketQuarantine).NextSequence()
	if err != nil {
		return err
	}
	q.ID = id
	return putJSON(tx.bucket(bucketQuarantine), be64(id), q)
}

// QuarantineList lists quarantined mail, newest first.
func (tx *Tx) QuarantineList() ([]Quarantined, error) {
	var out []Quarantined
	c := tx.bucket(bucketQuarantine).Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		var q Quarantined
		if err := json.Unmarshal(v, &q); err != nil {
			return nil, fmt.Errorf("decode quarantine entry %x: %w", k, err)
		}
		out = append(out, q)
	}
	return out, nil
}
