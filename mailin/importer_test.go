package mailin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"maildesk/internal/memmail"
)

const testMbox = `From ann@client.test Mon Nov  2 09:00:00 2026
From: Ann <ann@client.test>
To: support@example.test
Subject: Printer broken
Message-ID: <imp1@client.test>
Date: Mon, 2 Nov 2026 09:00:00 +0000

It jams.
>From here on it only prints blank pages.

From ann@client.test Mon Nov  2 10:00:00 2026
From: Ann <ann@client.test>
To: support@example.test
Subject: Re: Printer broken
Message-ID: <imp2@client.test>
In-Reply-To: <imp1@client.test>
Date: Mon, 2 Nov 2026 10:00:00 +0000

Still broken.

From bob@client.test Tue Nov  3 09:00:00 2026
From: Bob <bob@client.test>
To: support@example.test
Subject: Invoice
Message-ID: <imp3@client.test>
Date: Tue, 3 Nov 2026 09:00:00 +0000

Where is my invoice?
`

// An mbox of history becomes tickets and threads, and nobody is mailed;
// importing it again changes nothing.
func TestImportMbox(t *testing.T) {
	e := newPollEnv(t, memmail.Options{}, nil)
	res, err := e.proc.Import(context.Background(), MboxReader(strings.NewReader(testMbox)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mails != 3 || res.Outcomes["created"] != 2 || res.Outcomes["added"] != 1 {
		t.Fatalf("import = %+v", res)
	}
	if got := e.outbox(); len(got) != 0 {
		t.Errorf("the import queued %d mails", len(got))
	}
	if r := e.tickets()[0].DueReminders; !r.Overdue {
		t.Error("an imported ticket long past due would remind staff at once")
	}
	tk := e.tickets()
	if len(tk) != 2 || tk[0].Customer != "ann@client.test" || tk[0].Created.Format("2006-01-02") != "2026-11-02" {
		t.Fatalf("tickets = %+v", tk)
	}
	thread := e.thread(1)
	if len(thread) != 2 || !strings.Contains(thread[0].Text, "\nFrom here on") {
		t.Errorf("thread = %+v", thread)
	}
	again, err := e.proc.Import(context.Background(), MboxReader(strings.NewReader(testMbox)), nil)
	if err != nil || again.Outcomes["duplicate"] != 3 {
		t.Errorf("second import = %+v, %v", again, err)
	}
	if _, err := MboxReader(strings.NewReader("Subject: x\n\nnot an mbox\n"))(); err == nil {
		t.Error("a file that is no mbox was read as one")
	}
}

func TestImportMaildir(t *testing.T) {
	e := newPollEnv(t, memmail.Options{}, nil)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "cur"), 0o755)
	os.MkdirAll(filepath.Join(dir, "new"), 0o755)
	mails := strings.Split(testMbox, "\n\nFrom ")
	for i, m := range mails {
		_, body, _ := strings.Cut(m, "\n") // drop the separator line
		name := []string{"cur/1700000001.a:2,S", "cur/1700000002.b:2,S", "new/1700000003.c"}[i]
		os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(body, ">From", "From")), 0o644)
	}
	next, err := MaildirReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.proc.Import(context.Background(), next, nil)
	if err != nil || res.Mails != 3 || len(e.tickets()) != 2 || len(e.thread(1)) != 2 {
		t.Fatalf("import = %+v, %v; tickets %d", res, err, len(e.tickets()))
	}
	if _, err := MaildirReader(t.TempDir()); err == nil {
		t.Error("an empty folder was read as a Maildir")
	}
}
