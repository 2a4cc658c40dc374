package mailin

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"maildesk/internal/memmail"
	"maildesk/tickets"
)

// hostileMails are mails built to break a parser. None may crash mail-in,
// stall it, or be lost: each becomes a ticket or goes to quarantine.
func hostileMails() map[string]string {
	var parts strings.Builder
	parts.WriteString("From: many@client.test\r\nSubject: 10000 parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
	for i := range 10000 {
		fmt.Fprintf(&parts, "--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i)
	}
	parts.WriteString("--b--\r\n")

	var nested strings.Builder
	nested.WriteString("From: deep@client.test\r\nSubject: nested\r\n")
	for range 200 {
		nested.WriteString("Content-Type: message/rfc822\r\n\r\nFrom: inner@client.test\r\nSubject: inner\r\n")
	}
	nested.WriteString("\r\nbottom\r\n")

	hugeHeader := "From: big@client.test\r\nSubject: big header\r\nX-Junk: " + strings.Repeat("a", 1<<20) + "\r\n\r\nbody\r\n"
	manyHeaders := "From: hdrs@client.test\r\nSubject: many headers\r\n" + strings.Repeat("X-A: b\r\n", 60000) + "\r\nbody\r\n"

	return map[string]string{
		"10000 parts":     parts.String(),
		"nested rfc822":   nested.String(),
		"1 MB header":     hugeHeader,
		"many headers":    manyHeaders,
		"NUL bytes":       "From: nul@client.test\r\nSubject: a\x00b\r\n\r\nte\x00xt\x00\r\n",
		"no headers":      "just text, no header at all\r\n",
		"garbage":         "\xff\xfe\x00\x01 binary junk \x9c\x8a",
		"no message-id":   "From: noid@client.test\r\nSubject: no id\r\n\r\nsame every time\r\n",
		"no end boundary": "From: cut@client.test\r\nSubject: cut\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nfirst part only",
		"bad base64":      "From: b64@client.test\r\nSubject: b64\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@@not base64@@@@\r\n",
		"header only":     "From: ho@client.test\r\nSubject: header only",
	}
}

func TestHostileMailNeverStopsMailIn(t *testing.T) {
	e := newPollEnv(t, memmail.Options{}, nil)
	mails := hostileMails()
	for _, raw := range mails {
		e.sys.Append("support", "INBOX", []byte(raw))
	}
	// The same mail without a Message-ID again: recognised by its hash.
	e.sys.Append("support", "INBOX", []byte(mails["no message-id"]))
	e.sys.Append("support", "INBOX", []byte(plainMail("after@client.test", "After the storm", "still here")))
	stop := e.run()
	defer stop()
	start := time.Now()
	e.waitFor("every mail taken in or quarantined", func() bool {
		inbox, _ := e.sys.Flags("support", "INBOX")
		q, _ := e.sys.Mailbox("support", "Quarantine")
		seen := 0
		for _, f := range inbox {
			if containsSeen(f) {
				seen++
			}
		}
		return seen+len(q) == len(mails)+2
	})
	t.Logf("%d hostile mails handled in %v", len(mails)+2, time.Since(start).Round(time.Millisecond))
	var list []tickets.Ticket
	var quarantined []tickets.Quarantined
	e.store.View(func(tx *tickets.Tx) error {
		list, _ = tx.ListTickets(tickets.Filter{})
		quarantined, _ = tx.QuarantineList()
		return nil
	})
	subjects := map[string]int{}
	for _, tk := range list {
		subjects[tk.Subject]++
	}
	if subjects["After the storm"] != 1 || subjects["no id"] != 1 {
		t.Errorf("tickets by subject: %v", subjects)
	}
	if len(list)+len(quarantined) != len(mails)+1 {
		t.Errorf("%d tickets + %d quarantined for %d distinct mails", len(list), len(quarantined), len(mails)+1)
	}
	for _, q := range quarantined {
		t.Logf("quarantined: %q: %s", q.Subject, q.Reason)
	}
}

func containsSeen(flags []imap.Flag) bool {
	for _, f := range flags {
		if f == "\\Seen" {
			return true
		}
	}
	return false
}

// BenchmarkParseHostile: the worst inputs stay fast.
func BenchmarkParseHostile(b *testing.B) {
	for name, raw := range hostileMails() {
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				Parse([]byte(raw))
			}
		})
	}
}
