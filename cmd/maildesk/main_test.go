package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"maildesk/internal/memmail"
	"maildesk/tickets"
)

// TestMain lets the test binary act as maildesk itself: with
// MAILDESK_RUN_MAIN=1 it runs main, so tests can start, kill and restart
// the real program without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("MAILDESK_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// maildesk starts the program with args as a child process.
func maildesk(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MAILDESK_RUN_MAIN=1")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("maildesk %s output:\n%s", strings.Join(args, " "), log.String())
		}
	})
	return cmd
}

// maildeskWatched starts the program like maildesk, and closes the returned
// channel when its output first contains line.
func maildeskWatched(t *testing.T, line string, args ...string) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MAILDESK_RUN_MAIN=1")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	seen := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), line) {
				once = true
				close(seen)
			}
		}
		r.Close()
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, seen
}

// testMailSystem is an in-process mail system with the demo accounts, and
// a config file for maildesk pointing at it.
func testMailSystem(t *testing.T) (*memmail.System, string, string) {
	t.Helper()
	sys, err := memmail.Start(memmail.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	for _, u := range []string{"support", "alice"} {
		sys.AddUser(u, "pw")
	}
	for i := range 30 {
		sys.AddUser(fmt.Sprintf("c%d", i), "pw")
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`helpdesk:
  address: %s
  staff: [{email: %s, name: Alice}]
  auto_reply_limit: 1000
imap: {host: 127.0.0.1, port: %s, security: none, password: pw, processed_mailbox: Processed, poll_interval: 1s}
smtp: {host: 127.0.0.1, port: %s, security: none}
store: {path: %s}
log: {format: json}
`, sys.Address("support"), sys.Address("alice"), port(sys.IMAPAddr()), port(sys.SMTPAddr()), filepath.Join(dir, "maildesk.db"))
	path := filepath.Join(dir, "maildesk.yaml")
	os.WriteFile(path, []byte(cfg), 0o600)
	return sys, path, dir
}

func port(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

// TestKillDuringBatch kills maildesk with SIGKILL at random moments while it
// works through a backlog, restarts it, and checks that every mail became
// exactly one ticket with one queued acknowledgement, and that no mail was
// acknowledged on the server without being committed.
func TestKillDuringBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the real program many times")
	}
	sys, cfg, dir := testMailSystem(t)
	const n = 400
	for i := range n {
		raw := fmt.Sprintf("From: c%d@example.test\r\nTo: support@example.test\r\nSubject: Problem %d\r\nMessage-ID: <m%d@client.test>\r\n\r\nPlease help with %d.\r\n", i%30, i, i, i)
		sys.Append("support", "INBOX", []byte(raw))
	}
	// Kill at random moments: half the time shortly after the program says
	// it took mail in (so the kill lands mid-batch however fast the machine
	// is), half the time at a random moment after start. Each kill records
	// how far the work had got.
	kills, midBatch := 0, 0
	var progress []int
	for i := 0; i < 20 && (midBatch < 3 || kills < 8) && (len(progress) == 0 || progress[len(progress)-1] < n); i++ {
		cmd, took := maildeskWatched(t, "mail taken in", "run", "--config", cfg)
		if i%2 == 0 {
			select {
			case <-took:
			case <-time.After(5 * time.Second):
			}
			time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		} else {
			time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		kills++
		done := countTickets(t, dir)
		progress = append(progress, done)
		if done > 0 && done < n {
			midBatch++
		}
	}
	t.Logf("tickets at each kill: %v", progress)
	if midBatch == 0 {
		t.Fatalf("no kill landed in the middle of the batch: %v", progress)
	}
	cmd := maildesk(t, "run", "--config", cfg)
	deadline := time.Now().Add(60 * time.Second)
	for {
		done, _ := sys.Mailbox("support", "Processed")
		inbox, _ := sys.Mailbox("support", "INBOX")
		if len(done) == n && len(inbox) == 0 && pendingOutbox(t, cfg) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: %d processed, %d still in INBOX, %d mails pending", len(done), len(inbox), pendingOutbox(t, cfg))
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("maildesk did not stop cleanly on SIGTERM: %v", err)
	}

	store, err := tickets.Open(filepath.Join(dir, "maildesk.db"), tickets.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var list []tickets.Ticket
	var outbox []tickets.Mail
	store.View(func(tx *tickets.Tx) error {
		list, _ = tx.ListTickets(tickets.Filter{})
		outbox, _ = tx.Outbox()
		return nil
	})
	subjects := map[string]int{}
	for _, tk := range list {
		subjects[tk.Subject]++
	}
	acks, welcomes := 0, 0
	for _, m := range outbox {
		switch m.Template {
		case "ack":
			acks++
		case "welcome":
			welcomes++
		}
	}
	if len(list) != n || len(subjects) != n || acks != n || welcomes != 30 {
		t.Errorf("after %d kills: %d tickets (%d distinct), %d acks, %d welcome mails; want %d, %d, %d, 30",
			kills, len(list), len(subjects), acks, welcomes, n, n, n)
	}
	// Every queued mail reached the server; one sent twice per kill at most.
	seen := map[string]int{}
	for _, d := range sys.Delivered() {
		if i := bytes.Index(d.Data, []byte("Message-ID: <")); i >= 0 {
			id := d.Data[i+13:]
			seen[string(id[:bytes.IndexByte(id, '>')])]++
		}
	}
	twice := 0
	for _, c := range seen {
		twice += c - 1
	}
	if len(seen) != len(outbox) || twice > kills {
		t.Errorf("%d distinct mails delivered of %d queued, %d duplicates after %d kills", len(seen), len(outbox), twice, kills)
	}
	flags, _ := sys.Flags("support", "Processed")
	for uid, f := range flags {
		if !containsFlag(f, imap.FlagSeen) {
			t.Errorf("processed mail %d is not \\Seen", uid)
		}
	}
	t.Logf("%d kills; %d tickets; %d deliveries, %d of them repeats", kills, len(list), len(sys.Delivered()), twice)
}

func countTickets(t *testing.T, dir string) int {
	store, err := tickets.Open(filepath.Join(dir, "maildesk.db"), tickets.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	n := 0
	store.View(func(tx *tickets.Tx) error {
		for _, c := range tx.CountByStatus() {
			n += c
		}
		return nil
	})
	return n
}

func containsFlag(flags []imap.Flag, f imap.Flag) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}

// pendingOutbox asks the running maildesk how much mail waits.
func pendingOutbox(t *testing.T, cfg string) int {
	cmd := exec.Command(os.Args[0], "outbox", "list", "--json", "--config", cfg)
	cmd.Env = append(os.Environ(), "MAILDESK_RUN_MAIN=1")
	out, err := cmd.Output()
	if err != nil {
		return -1
	}
	return strings.Count(string(out), `"state": "pending"`)
}

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := runDemo(t.Context(), &out, 0, 0, t.TempDir(), true); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{`"Re: [#1] Не печатает чеки`, "Ваш доступ к службе поддержки Demo Support", "IMAP  127.0.0.1",
		`"[#1] Не печатает чеки"`, "модель кассы", "Требуется информация"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCLITicketsWithoutDaemon(t *testing.T) {
	sys, cfg, _ := testMailSystem(t)
	sys.Append("support", "INBOX", []byte("From: Ann <c1@example.test>\r\nSubject: Printer\r\nMessage-ID: <p1@x>\r\n\r\nIt jams.\r\n"))
	cmd := maildesk(t, "run", "--once", "--config", cfg)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run --once: %v", err)
	}
	run := func(args ...string) string {
		c := exec.Command(os.Args[0], append(args, "--config", cfg)...)
		c.Env = append(os.Environ(), "MAILDESK_RUN_MAIN=1")
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("maildesk %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	list := run("tickets", "list", "--status", "new")
	if !strings.Contains(list, "Printer") || !strings.Contains(list, "NUMBER") {
		t.Errorf("tickets list:\n%s", list)
	}
	show := run("tickets", "show", "1", "--json")
	for _, field := range []string{`"number": 1`, `"subject": "Printer"`, `"status": "new"`, `"customer": "c1@example.test"`, `"assignee": ""`,
		`"priority": "medium"`, `"type": "question"`, `"created"`, `"updated"`, `"messages": [`, `"from": "c1@example.test"`, `"kind": "customer"`, `"at"`, `"text": "It jams."`} {
		if !strings.Contains(show, field) {
			t.Errorf("tickets show --json lacks %s:\n%s", field, show)
		}
	}
	if raw := run("tickets", "show", "1", "--raw"); !strings.Contains(raw, "Message-ID: <p1@x>") {
		t.Errorf("--raw lacks the original:\n%s", raw)
	}
	// The run above is a real clock; the ticket counts as opened today.
	if rep := run("report", "--since", "7d"); !strings.Contains(rep, "Opened:") || !strings.Contains(rep, "new 1") {
		t.Errorf("report:\n%s", rep)
	}
	if staff := run("staff"); !strings.Contains(staff, "support+") || !strings.Contains(staff, "alice@example.test") {
		t.Errorf("staff:\n%s", staff)
	}

	// The admin works the ticket from the shell, as staff would by mail.
	if out := run("tickets", "status", "1", "in-progress"); !strings.Contains(out, "status new → in-progress") {
		t.Errorf("tickets status: %s", out)
	}
	run("tickets", "assign", "#1", "alice", "--as", "Alice")
	run("tickets", "note", "1", "Called the customer; it is the paper tray.")
	c := exec.Command(os.Args[0], "tickets", "status", "1", "sleeping", "--config", cfg)
	c.Env = append(os.Environ(), "MAILDESK_RUN_MAIN=1")
	if out, err := c.CombinedOutput(); err == nil || !strings.Contains(string(out), "in-progress") {
		t.Errorf("a wrong status must fail and list the valid ones: %v %s", err, out)
	}
	show = run("tickets", "show", "1", "--json")
	for _, field := range []string{`"status": "in-progress"`, `"assignee": "alice@example.test"`, `"kind": "note"`, `paper tray`} {
		if !strings.Contains(show, field) {
			t.Errorf("after the admin's changes, tickets show lacks %s:\n%s", field, show)
		}
	}
	outbox := run("outbox", "list", "--json")
	if !strings.Contains(outbox, `"template": "status"`) || !strings.Contains(outbox, `"template": "assignee"`) || strings.Contains(outbox, "paper tray") {
		t.Errorf("the customer must hear of status and assignee, never of the note:\n%s", outbox)
	}

	if list := run("customers", "list"); !strings.Contains(list, "c1@example.test") || !strings.Contains(list, "Ann") {
		t.Errorf("customers list:\n%s", list)
	}
	if show := run("customers", "show", "c1@example.test", "--json"); !strings.Contains(show, `"tickets": [`) || strings.Contains(show, "argon2") {
		t.Errorf("customers show:\n%s", show)
	}
	run("customers", "reset-password", "c1@example.test")
	if outbox := run("outbox", "list", "--json"); !strings.Contains(outbox, `"template": "password"`) {
		t.Errorf("no password mail queued:\n%s", outbox)
	}
}

func TestConfigCheck(t *testing.T) {
	_, cfg, _ := testMailSystem(t)
	run := func(extraEnv ...string) (string, error) {
		c := exec.Command(os.Args[0], "config", "check", "--config", cfg)
		c.Env = append(append(os.Environ(), "MAILDESK_RUN_MAIN=1"), extraEnv...)
		out, err := c.CombinedOutput()
		return string(out), err
	}
	out, err := run()
	t.Logf("config check said:\n%s", out)
	if err != nil || !strings.Contains(out, "logged in as support@example.test") || !strings.Contains(out, "smtp 127.0.0.1") {
		t.Errorf("config check: %v\n%s", err, out)
	}
	out, err = run("MAILDESK_IMAP_PASSWORD=wrong")
	if err == nil || !strings.Contains(out, "imap: login as") {
		t.Errorf("config check with a wrong password: %v\n%s", err, out)
	}
}

// SIGTERM in the middle of a backlog: maildesk finishes the chunk in hand,
// exits cleanly, and a restart takes the rest; every mail becomes exactly
// one ticket and every ticket exactly one acknowledgement.
func TestSIGTERMDuringBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real program")
	}
	sys, cfg, dir := testMailSystem(t)
	const n = 300
	for i := range n {
		// Ten customers with mailboxes: a welcome per new customer costs an argon2 hash.
		raw := fmt.Sprintf("From: c%d@example.test\r\nTo: support@example.test\r\nSubject: Question %d\r\nMessage-ID: <term%d@client.test>\r\n\r\nHow do I %d?\r\n", i%10, i, i, i)
		sys.Append("support", "INBOX", []byte(raw))
	}
	cmd, took := maildeskWatched(t, "mail taken in", "run", "--config", cfg)
	select {
	case <-took:
	case <-time.After(30 * time.Second):
		t.Fatal("no mail taken in")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("maildesk did not stop cleanly on SIGTERM: %v", err)
	}
	stoppedAt := countTickets(t, dir)
	if stoppedAt == 0 || stoppedAt == n {
		t.Logf("SIGTERM landed at %d of %d tickets (not mid-backlog; the test still checks the restart)", stoppedAt, n)
	}
	cmd = maildesk(t, "run", "--config", cfg)
	deadline := time.Now().Add(60 * time.Second)
	for {
		done, _ := sys.Mailbox("support", "Processed")
		if len(done) == n && pendingOutbox(t, cfg) == 0 {
			break
		}
		if time.Now().After(deadline) {
			c := exec.Command(os.Args[0], "outbox", "list", "--config", cfg)
			c.Env = append(os.Environ(), "MAILDESK_RUN_MAIN=1")
			out, _ := c.CombinedOutput()
			t.Fatalf("after the restart: %d of %d mails processed, %d mails pending:\n%s", len(done), n, pendingOutbox(t, cfg), out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	store, err := tickets.Open(filepath.Join(dir, "maildesk.db"), tickets.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var list []tickets.Ticket
	acks := map[tickets.Number]int{}
	store.View(func(tx *tickets.Tx) error {
		list, _ = tx.ListTickets(tickets.Filter{})
		outbox, _ := tx.Outbox()
		for _, m := range outbox {
			if m.Template == "ack" {
				acks[m.Ticket]++
			}
			if strings.Contains(m.LastError, "canceled") {
				t.Errorf("outbox %d: the shutdown counted as a failed attempt (%s)", m.ID, m.LastError)
			}
		}
		return nil
	})
	if len(list) != n || len(acks) != n {
		t.Fatalf("%d tickets, %d acknowledged, want %d each", len(list), len(acks), n)
	}
	for num, c := range acks {
		if c != 1 {
			t.Errorf("ticket %s has %d acknowledgements", num, c)
		}
	}
	t.Logf("SIGTERM at %d of %d tickets; after the restart %d tickets, %d acknowledgements", stoppedAt, n, len(list), len(acks))
}
