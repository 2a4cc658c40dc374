package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden CLI output in testdata/cli")

// TestCLIGolden pins what the admin sees: a fixed history is imported (its
// times come from the mails' Date headers), then each command's output is
// compared with testdata/cli/<name>.txt. go test ./cmd/maildesk -run
// TestCLIGolden -update rewrites them; read the diff.
func TestCLIGolden(t *testing.T) {
	_, cfg, _ := testMailSystem(t)
	mbox, _ := filepath.Abs("testdata/cli/history.mbox")
	run := func(args ...string) string {
		c := exec.Command(os.Args[0], append(args, "--config", cfg)...)
		c.Env = append(os.Environ(), "MAILDESK_RUN_MAIN=1", "TZ=UTC")
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("maildesk %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("import", "--mbox", mbox); out != "4 mails: added 1, created 2, quarantined 1\n" {
		t.Errorf("import: %q", out)
	}
	// The quarantine shows when it happened (now), so it is checked, not pinned.
	if q := run("quarantine", "list"); !regexp.MustCompile(`(?m)^1 .* no sender at all +parse: no sender address`).MatchString(q) {
		t.Errorf("quarantine list:\n%s", q)
	}
	for name, args := range map[string][]string{
		"tickets-list":     {"tickets", "list"},
		"tickets-list-new": {"tickets", "list", "--status", "new", "--priority", "high"},
		"tickets-show":     {"tickets", "show", "1"},
		"customers-list":   {"customers", "list"},
		"customers-show":   {"customers", "show", "anna@client.test"},
		"outbox-list":      {"outbox", "list"},
	} {
		got := run(args...)
		path := filepath.Join("testdata/cli", name+".txt")
		if *updateGolden {
			os.WriteFile(path, []byte(got), 0o644)
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("maildesk %v differs from %s:\n--- got\n%s\n--- want\n%s", args, path, got, want)
		}
	}
}
