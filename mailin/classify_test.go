package mailin

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"maildesk/tickets"
)

// autoFixtures walks testdata/auto/<dir> and calls fn for each mail.
func autoFixtures(t *testing.T, dir string, fn func(name string, m *Message, err error)) {
	t.Helper()
	root := filepath.Join("testdata/auto", dir)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".md") {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		m, perr := Parse(raw)
		fn(strings.TrimPrefix(p, root+"/"), m, perr)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBouncesAreAutomatic: every bounce, auto-reply and feedback report of
// the sisimai and Fortune collections must open no ticket and get no
// answer: it is a bounce or an auto-reply (or, unreadable, quarantined).
// Their sources say so (testdata/auto/*/SOURCE.md).
func TestBouncesAreAutomatic(t *testing.T) {
	for _, dir := range []string{"bounces-sisimai", "bounces-cfortune"} {
		var n, bounces, replies, quarantined, withID int
		autoFixtures(t, dir, func(name string, m *Message, err error) {
			n++
			if err != nil {
				quarantined++
				return
			}
			kind, reason := Classify(m)
			if strings.HasPrefix(name, "is-not-bounce") {
				if kind != tickets.NotAuto {
					t.Errorf("%s/%s is a person's mail, classified %s (%s)", dir, name, kind, reason)
				}
				n--
				return
			}
			switch kind {
			case tickets.AutoBounce:
				bounces++
				if b := bounceOf(m, "support", "example.test"); b.OriginalMessageID != "" {
					withID++
				}
			case tickets.AutoReply:
				replies++
			default:
				t.Errorf("%s/%s classified %q: it would open a ticket (subject %q, from %q)", dir, name, kind, m.Subject, m.From.Email)
			}
		})
		t.Logf("%s: %d automatic mails: %d bounces (%d name the bounced Message-ID), %d auto-replies, %d quarantined",
			dir, n, bounces, withID, replies, quarantined)
	}
}

func TestClassifyWatchdog(t *testing.T) {
	want := map[string]tickets.AutoKind{
		"vacation-reply.eml":           tickets.AutoReply,
		"address_extraction_test.eml":  tickets.AutoReply,
		"disposition-notification.eml": tickets.AutoReply,
	}
	autoFixtures(t, "misc-watchdogpolska", func(name string, m *Message, err error) {
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		kind, reason := Classify(m)
		if w, ok := want[name]; ok && kind != w {
			t.Errorf("%s: Classify = %q (%s), want %q", name, kind, reason, w)
		}
	})
}

func TestClassifyLists(t *testing.T) {
	autoFixtures(t, "lists-spamassassin", func(name string, m *Message, err error) {
		if err != nil {
			return
		}
		kind, reason := Classify(m)
		if kind == tickets.AutoReply || kind == tickets.AutoBounce {
			t.Errorf("%s: list mail classified %q (%s): it would be dropped", name, kind, reason)
		}
		if m.Header.Get("List-Id") != "" && kind != tickets.AutoBulk {
			t.Errorf("%s: has List-Id but classified %q", name, kind)
		}
	})
}

func TestClassifyHeaders(t *testing.T) {
	rows := []struct {
		headers string
		want    tickets.AutoKind
	}{
		{"", tickets.NotAuto},
		{"Auto-Submitted: no\r\n", tickets.NotAuto},
		{"Auto-Submitted: auto-replied\r\n", tickets.AutoReply},
		{"Auto-Submitted: auto-replied; owner-email=x@y\r\n", tickets.AutoReply},
		{"Auto-Submitted: auto-generated\r\n", tickets.AutoBulk},
		{"Auto-Submitted: auto-notified\r\n", tickets.AutoBulk},
		{"Precedence: bulk\r\n", tickets.AutoBulk},
		{"Precedence: junk\r\n", tickets.AutoBulk},
		{"Precedence: list\r\n", tickets.AutoBulk},
		{"Precedence: auto_reply\r\n", tickets.AutoReply},
		{"List-Id: <users.lists.example>\r\n", tickets.AutoBulk},
		{"List-Unsubscribe: <mailto:u@x>\r\n", tickets.AutoBulk},
		{"X-Autoreply: yes\r\n", tickets.AutoReply},
		{"X-Autorespond: yes\r\n", tickets.AutoReply},
		{"X-Auto-Response-Suppress: All\r\n", tickets.AutoBulk},
		{"X-MS-Exchange-Inbox-Rules-Loop: a@b.c\r\n", tickets.AutoReply},
		{"Return-Path: <>\r\n", tickets.AutoReply},
		{"Return-Path: <MAILER-DAEMON@mx.example>\r\n", tickets.AutoReply},
		{"Return-Path: <ann@client.test>\r\n", tickets.NotAuto},
		{"Subject: Автоматический ответ: Касса\r\n", tickets.AutoReply},
		{"Subject: Out of Office: hello\r\n", tickets.AutoReply},
		{"Subject: Автоответ не работает, помогите\r\n", tickets.NotAuto},
		{"Subject: Undelivered Mail Returned to Sender\r\nReturn-Path: <>\r\n", tickets.AutoBounce},
		{"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n", tickets.AutoBounce},
	}
	for i, r := range rows {
		raw := "From: ann@client.test\r\n" + r.headers
		if !strings.Contains(r.headers, "Subject:") {
			raw += "Subject: hello\r\n"
		}
		m, err := Parse([]byte(raw + "\r\nbody\r\n"))
		if err != nil {
			t.Fatalf("#%d: %v", i, err)
		}
		if got, reason := Classify(m); got != r.want {
			t.Errorf("#%d %q: Classify = %q (%s), want %q", i, r.headers, got, reason, r.want)
		}
	}
}
