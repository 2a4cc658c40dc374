package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maildesk/tickets"
)

// A backup taken while mail keeps coming in restores into a store where
// every ticket is whole: each message's raw mail and attachment is there.
func TestBackupUnderLoadRestores(t *testing.T) {
	f := newFlow(t, nil)
	var stop atomic.Bool
	sent := make(chan int)
	go func() {
		n := 0
		for ; !stop.Load(); n++ {
			f.send(msg{from: f.addr("anna"), subject: fmt.Sprintf("Problem %d", n), body: "It fails.",
				attach: map[string][]byte{fmt.Sprintf("log-%d.txt", n): []byte(strings.Repeat("line\n", 100+n))}})
		}
		sent <- n
	}()
	waitUntil(t, "some tickets", func() bool { return len(f.ticketList()) >= 5 })

	path := filepath.Join(t.TempDir(), "backup.tar.gz")
	res, err := writeBackup(context.Background(), f.app, path)
	stop.Store(true)
	n := <-sent
	if err != nil {
		t.Fatal(err)
	}
	if res.Files == 0 || res.StoreSize == 0 {
		t.Fatalf("backup = %+v", res)
	}

	dir := t.TempDir()
	cfg := &Config{Store: StoreConfig{Path: filepath.Join(dir, "maildesk.db")}}
	cfg.defaults()
	if _, err := restoreBackup(path, cfg, false); err != nil {
		t.Fatal(err)
	}
	if _, err := restoreBackup(path, cfg, false); err == nil {
		t.Error("restore over an existing store without --force succeeded")
	}
	store, err := tickets.Open(cfg.Store.Path, tickets.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	raw, _ := tickets.OpenBlobs(cfg.Store.Raw)
	files, _ := tickets.OpenBlobs(cfg.Store.Attachments)
	var count int
	store.View(func(tx *tickets.Tx) error {
		list, _ := tx.ListTickets(tickets.Filter{})
		count = len(list)
		for _, tk := range list {
			thread, _ := tx.Thread(tk.Number)
			for _, m := range thread {
				if m.Raw != "" {
					if _, err := raw.Read(m.Raw); err != nil {
						t.Errorf("#%d message %d: raw mail missing after restore: %v", tk.Number, m.Seq, err)
					}
				}
				for _, a := range m.Files {
					if _, err := files.Read(a.SHA256); err != nil {
						t.Errorf("#%d: attachment %s missing after restore: %v", tk.Number, a.Name, err)
					}
				}
			}
		}
		return nil
	})
	if count < 5 {
		t.Errorf("restored %d tickets", count)
	}
	t.Logf("%d mails sent during the test; the backup holds %d tickets, %d files", n, count, res.Files)

	// A crafted archive cannot write outside the store.
	if _, err := blobPath(dir, "../../etc/passwd"); err == nil {
		t.Error("blobPath accepted a path out of the folder")
	}
	os.Remove(cfg.Store.Path)
}

func (f *flow) ticketList() []tickets.Ticket {
	var list []tickets.Ticket
	f.app.store.View(func(tx *tickets.Tx) (err error) { list, err = tx.ListTickets(tickets.Filter{}); return err })
	return list
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Long operations report progress through the control socket, line by
// line, before their result: an import of 450 mails says so three times.
func TestProgressThroughSocket(t *testing.T) {
	f := newFlow(t, nil)
	var mbox strings.Builder
	for i := range 450 {
		fmt.Fprintf(&mbox, "From c%d@old.test Mon Nov  2 09:00:00 2026\nFrom: c%d@old.test\nSubject: Old %d\nMessage-ID: <old%d@old.test>\nDate: Mon, 2 Nov 2026 09:00:00 +0000\n\nHistory %d.\n\n", i, i, i, i, i)
	}
	path := filepath.Join(t.TempDir(), "old.mbox")
	os.WriteFile(path, []byte(mbox.String()), 0o600)

	var lines []string
	ctx := withProgress(context.Background(), func(s string) { lines = append(lines, s) })
	r := &remote{socket: f.app.cfg.Store.Socket}
	var res struct {
		Mails int `json:"mails"`
	}
	if err := r.Call(ctx, "import", importArgs{Mbox: path}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Mails != 450 || len(lines) != 3 || lines[2] != "450 mails taken in, 0 quarantined" {
		t.Errorf("result %+v, progress %q", res, lines)
	}
	// An error still arrives, in the last line.
	if err := r.Call(ctx, "import", importArgs{Mbox: "/nonexistent.mbox"}, &res); err == nil || !strings.Contains(err.Error(), "nonexistent") {
		t.Errorf("error through the stream: %v", err)
	}
}
