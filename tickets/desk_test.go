package tickets

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// deskEnv is a desk over a real store in a temporary folder.
type deskEnv struct {
	t     *testing.T
	store *Store
	desk  *Desk
	now   time.Time
	seq   int
}

func newDeskEnv(t *testing.T, mod ...func(*Config)) *deskEnv {
	t.Helper()
	cfg := Config{
		Name: "ACME Support", Address: "support@acme.test",
		Staff: []Staff{{Email: "alice@acme.test", Name: "Alice Smith"}, {Email: "bob@acme.test", Name: "Bob", Lang: "ru"}},
	}
	for _, m := range mod {
		m(&cfg)
	}
	desk, err := NewDesk(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store, err := Open(filepath.Join(t.TempDir(), "maildesk.db"), StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &deskEnv{t: t, store: store, desk: desk, now: time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)}
}

// mail makes an incoming mail from a person with a unique Message-ID.
func (e *deskEnv) mail(from, subject, text string) *Incoming {
	e.seq++
	id := fmt.Sprintf("m%d@client.test", e.seq)
	return &Incoming{Key: MailKey(id, ""), MessageID: id, From: Address{Email: from, Name: "Name " + from},
		Subject: subject, CleanSubject: subject, Text: text, FullText: text}
}

func (e *deskEnv) receive(in *Incoming) Outcome {
	e.t.Helper()
	var out Outcome
	err := e.store.Update(func(tx *Tx) error {
		var err error
		out, err = e.desk.Receive(tx, in, e.now)
		return err
	})
	if err != nil {
		e.t.Fatalf("Receive(%q): %v", in.Subject, err)
	}
	return out
}

func (e *deskEnv) ticket(n Number) *Ticket {
	e.t.Helper()
	var t *Ticket
	if err := e.store.View(func(tx *Tx) (err error) { t, err = tx.Ticket(n); return err }); err != nil {
		e.t.Fatal(err)
	}
	return t
}

func (e *deskEnv) thread(n Number) []Message {
	e.t.Helper()
	var out []Message
	if err := e.store.View(func(tx *Tx) (err error) { out, err = tx.Thread(n); return err }); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *deskEnv) outbox() []Mail {
	e.t.Helper()
	var out []Mail
	if err := e.store.View(func(tx *Tx) (err error) { out, err = tx.Outbox(); return err }); err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(out) // oldest first
	return out
}

// to keeps the mails addressed to address.
func to(mails []Mail, address string) []Mail {
	var out []Mail
	for _, m := range mails {
		if m.To == address {
			out = append(out, m)
		}
	}
	return out
}

func templatesOf(mails []Mail) []string {
	var out []string
	for _, m := range mails {
		out = append(out, m.Template+"→"+m.To)
	}
	return out
}

func TestNewMailOpensTicketAndRegisters(t *testing.T) {
	e := newDeskEnv(t)
	out := e.receive(e.mail("Ann@Client.test", "Printer broken", "It jams."))
	if out.Action != ActionCreated || out.Ticket != 1 {
		t.Fatalf("outcome = %+v, want created #1", out)
	}
	tk := e.ticket(1)
	if tk.Customer != "ann@client.test" || tk.Status != StatusNew || tk.Subject != "Printer broken" || tk.Priority != "medium" {
		t.Errorf("ticket = %+v", tk)
	}
	if tk.Due.IsZero() {
		t.Error("new ticket has no due time")
	}
	var c *Customer
	e.store.View(func(tx *Tx) (err error) { c, err = tx.Customer("ann@client.test"); return err })
	if c == nil || c.Name != "Name Ann@Client.test" || c.PasswordHash != "" {
		t.Errorf("customer = %+v; want registered, password not yet made", c)
	}
	mails := to(e.outbox(), "ann@client.test")
	if got := templatesOf(mails); !slices.Equal(got, []string{"ack→ann@client.test", "welcome→ann@client.test"}) {
		t.Fatalf("outbox = %v, want ack then welcome", got)
	}
	if got := templatesOf(to(e.outbox(), "alice@acme.test")); !slices.Equal(got, []string{"staff-new→alice@acme.test"}) {
		t.Errorf("staff were told %v, want staff-new", got)
	}
	if !mails[1].IssuePassword || mails[1].Secret != "" || mails[0].Auto != AutoReplied {
		t.Errorf("welcome = %+v, ack auto = %q", mails[1], mails[0].Auto)
	}
	if mails[0].InReplyTo != "m1@client.test" || mails[1].InReplyTo != mails[0].MessageID {
		t.Errorf("threading: ack In-Reply-To %q, welcome In-Reply-To %q", mails[0].InReplyTo, mails[1].InReplyTo)
	}

	// The same customer's next mail is a new ticket without another welcome.
	out = e.receive(e.mail("ann@client.test", "Scanner too", "Also this."))
	if out.Ticket != 2 {
		t.Fatalf("second ticket = %+v", out)
	}
	if got := templatesOf(to(e.outbox(), "ann@client.test")); len(got) != 3 || got[2] != "ack→ann@client.test" {
		t.Errorf("outbox = %v, want one more ack only", got)
	}
}

func TestThreading(t *testing.T) {
	e := newDeskEnv(t)
	e.receive(e.mail("ann@client.test", "Printer broken", "It jams."))
	ack := to(e.outbox(), "ann@client.test")[0]

	// By tag.
	byTag := e.mail("ann@client.test", "Re: [#1] Printer broken", "Still jams.")
	byTag.Tag = 1
	if out := e.receive(byTag); out.Ticket != 1 || out.Action != ActionAdded {
		t.Errorf("tagged reply = %+v", out)
	}
	// By In-Reply-To only: a client that dropped the tag.
	byRef := e.mail("ann@client.test", "Re: Printer", "And now?")
	byRef.InReplyTo = []string{ack.MessageID}
	if out := e.receive(byRef); out.Ticket != 1 || out.Action != ActionAdded {
		t.Errorf("In-Reply-To reply = %+v", out)
	}
	// By an older entry of References.
	byOld := e.mail("ann@client.test", "Re: Printer", "Hello?")
	byOld.References = []string{"m1@client.test", "unknown@elsewhere"}
	if out := e.receive(byOld); out.Ticket != 1 {
		t.Errorf("References reply = %+v", out)
	}
	if n := len(e.thread(1)); n != 4 {
		t.Errorf("thread has %d messages, want 4", n)
	}
	// A tag for a ticket that does not exist opens a new one.
	ghost := e.mail("ann@client.test", "Re: [#99] x", "?")
	ghost.Tag = 99
	if out := e.receive(ghost); out.Action != ActionCreated || out.Ticket != 2 {
		t.Errorf("unknown tag = %+v", out)
	}
}

func TestStrangerCannotWriteIntoTicket(t *testing.T) {
	e := newDeskEnv(t)
	e.receive(e.mail("ann@client.test", "Contract", "Confidential."))
	ack := to(e.outbox(), "ann@client.test")[0]
	stranger := e.mail("mallory@evil.test", "Re: [#1] Contract", "Tell me everything")
	stranger.Tag, stranger.CleanSubject = 1, "Contract"
	stranger.InReplyTo = []string{ack.MessageID}
	out := e.receive(stranger)
	if out.Ticket == 1 || out.Action != ActionCreated {
		t.Fatalf("stranger's mail = %+v, want a new ticket of their own", out)
	}
	if n := len(e.thread(1)); n != 1 {
		t.Errorf("ticket 1 has %d messages after the stranger wrote", n)
	}
	for _, m := range e.outbox() {
		if m.To == "mallory@evil.test" && m.Ticket == 1 {
			t.Errorf("stranger got mail about ticket 1: %+v", m)
		}
	}
	// Someone the customer copied may write.
	e2 := newDeskEnv(t)
	first := e2.mail("ann@client.test", "Contract", "See Carl")
	first.Cc = []Address{{Email: "Carl@Client.test"}, {Email: "support@acme.test"}, {Email: "alice@acme.test"}}
	e2.receive(first)
	if p := e2.ticket(1).Participants; !slices.Equal(p, []string{"carl@client.test"}) {
		t.Errorf("participants = %v", p)
	}
	carl := e2.mail("carl@client.test", "Re: [#1] Contract", "Here")
	carl.Tag = 1
	if out := e2.receive(carl); out.Ticket != 1 {
		t.Errorf("participant's reply = %+v", out)
	}
}

func TestDuplicateAndAutomaticMail(t *testing.T) {
	e := newDeskEnv(t)
	in := e.mail("ann@client.test", "Printer broken", "It jams.")
	e.receive(in)
	again := *in
	if out := e.receive(&again); out.Action != ActionDuplicate || out.Ticket != 1 {
		t.Errorf("redelivered mail = %+v, want duplicate of #1", out)
	}
	if n := len(to(e.outbox(), "ann@client.test")); n != 2 {
		t.Errorf("ann has %d mails after a duplicate, want 2", n)
	}

	own := e.mail("support@acme.test", "loop", "x")
	if out := e.receive(own); out.Action != ActionIgnored {
		t.Errorf("mail from our own address = %+v", out)
	}
	plus := e.mail("support+b.1.x@acme.test", "loop", "x")
	if out := e.receive(plus); out.Action != ActionIgnored {
		t.Errorf("mail from our own plus address = %+v", out)
	}

	ooo := e.mail("ann@client.test", "Automatic reply: [#1] Printer", "I am away.")
	ooo.Tag, ooo.Auto = 1, AutoReply
	if out := e.receive(ooo); out.Action != ActionNote || out.Ticket != 1 {
		t.Errorf("out-of-office on a ticket = %+v, want a note", out)
	}
	if tk := e.ticket(1); tk.Status != StatusNew {
		t.Errorf("out-of-office changed the status to %q", tk.Status)
	}
	stray := e.mail("zed@client.test", "Out of office", "Away")
	stray.Auto = AutoReply
	if out := e.receive(stray); out.Action != ActionIgnored {
		t.Errorf("out-of-office without ticket = %+v, want ignored", out)
	}

	bulk := e.mail("news@list.test", "Newsletter", "Buy")
	bulk.Auto = AutoBulk
	out := e.receive(bulk)
	if out.Action != ActionCreated {
		t.Errorf("bulk mail = %+v, want a ticket", out)
	}
	for _, m := range e.outbox() {
		if m.To == "news@list.test" {
			t.Errorf("automatic mail answered automatically: %+v", m)
		}
	}
}

// Our Message-IDs sort in the order they were made (the indexes grow at
// their end) and still carry 120 random bits, so they cannot be guessed.
func TestMessageIDsSortByTime(t *testing.T) {
	e := newDeskEnv(t)
	var ids []string
	seen := map[string]bool{}
	for i := range 2000 {
		id := e.desk.newMessageID(Number(i % 3))
		if seen[id] {
			t.Fatalf("Message-ID %s made twice", id)
		}
		seen[id] = true
		ids = append(ids, string(idKey(id)))
	}
	// Two made in the same nanosecond may sort either way: compare the times.
	times := make([]string, len(ids))
	for i, id := range ids {
		times[i], _, _ = strings.Cut(id, ".")
	}
	if !slices.IsSorted(times) {
		t.Errorf("Message-IDs do not sort in the order they were made: %v …", ids[:3])
	}
	for _, id := range ids[:3] {
		local, domain, _ := strings.Cut(id, "@")
		parts := strings.Split(local, ".")
		if domain != "acme.test" || len(parts) < 2 || len(parts[1]) != 24 {
			t.Errorf("Message-ID %s: want time.random24[.ticket]@acme.test", id)
		}
	}
}

// The cap counts automatic mail over the last hour, across the boundary of
// the hourly counters, and counters older than that are dropped.
func TestAutoCapAcrossHours(t *testing.T) {
	e := newDeskEnv(t, func(c *Config) { c.AutoCap = 3 })
	start := time.Date(2026, 11, 18, 10, 40, 0, 0, time.UTC)
	allow := func(at time.Time) bool {
		var ok bool
		err := e.store.Update(func(tx *Tx) (err error) {
			ok, err = e.desk.allowAuto(tx, "loop@robot.test", at)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for i, tc := range []struct {
		after time.Duration
		want  bool
	}{
		{0, true}, {10 * time.Minute, true}, {25 * time.Minute, true}, // 10:40, 10:50, 11:05
		{30 * time.Minute, false}, // 11:10: three in the last hour
		{61 * time.Minute, true},  // 11:41: the 10:40 one is over an hour old
		{62 * time.Minute, false}, // 11:42: 10:50, 11:05, 11:41
		{3 * time.Hour, true},     // 13:40: everything before is gone
	} {
		if got := allow(start.Add(tc.after)); got != tc.want {
			t.Errorf("step %d (+%s): allowed = %v, want %v", i, tc.after, got, tc.want)
		}
	}
	e.store.View(func(tx *Tx) error {
		var hours []string
		tx.bucket(bucketAutoSent).ForEachBucket(func(k []byte) error { hours = append(hours, string(k)); return nil })
		if want := []string{"2026111813"}; !slices.Equal(hours, want) {
			t.Errorf("counters kept for hours %v, want %v", hours, want)
		}
		return nil
	})
}

// A store from before the hourly counters loses its old per-address
// counters (caps start afresh) and keeps everything else.
func TestOpenDropsOldAutoCounters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "maildesk.db")
	s, err := Open(path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketAutoSentV1)
		if err != nil {
			return err
		}
		return b.Put([]byte("someone@client.test"), []byte(`["2026-11-18T10:00:00Z"]`))
	})
	if err != nil {
		t.Fatal(err)
	}
	secret := s.Secret()
	s.Close()
	if s, err = Open(path, StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAutoSentV1) != nil {
			t.Error("the old auto_sent bucket is still there")
		}
		if tx.Bucket(bucketAutoSent) == nil {
			t.Error("no auto_sent_hourly bucket")
		}
		return nil
	})
	if !bytes.Equal(s.Secret(), secret) {
		t.Error("the store's secret changed")
	}
}

// The timers drop counters past their hour even when no automatic mail
// goes out to do it.
func TestTickDropsOldAutoCounters(t *testing.T) {
	e := newDeskEnv(t)
	at := time.Date(2026, 11, 18, 10, 40, 0, 0, time.UTC)
	err := e.store.Update(func(tx *Tx) error {
		_, err := e.desk.allowAuto(tx, "someone@client.test", at)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		e.store.View(func(tx *Tx) error {
			return tx.bucket(bucketAutoSent).ForEachBucket(func([]byte) error { n++; return nil })
		})
		return n
	}
	for _, tc := range []struct {
		at   time.Time
		want int
	}{{at.Add(time.Hour), 1}, {at.Add(2 * time.Hour), 0}} {
		if err := e.store.Update(func(tx *Tx) error { _, err := e.desk.Tick(tx, tc.at); return err }); err != nil {
			t.Fatal(err)
		}
		if got := count(); got != tc.want {
			t.Errorf("after a tick at %s: %d hours of counters, want %d", tc.at.Format("15:04"), got, tc.want)
		}
	}
}
