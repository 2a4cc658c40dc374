package mailin

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"maildesk/tickets"
)

// sharedCorpus is the team's full fixture collection beside the checkout;
// a plain clone has only the parts copied into testdata.
func sharedCorpus() string {
	if dir := os.Getenv("MAILDESK_CORPUS"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "shared", "corpus")
}

type catalogEntry struct {
	Kind       string   `json:"kind"`
	Categories []string `json:"categories"`
	DSN        bool     `json:"dsn"`
	ARF        bool     `json:"arf"`
}

// TestWholeCorpus runs every message of the shared corpus (about 1,560
// mails from 31 sources) through Parse, VisibleText and Classify, as the
// daemon would, and reports what became of them. It asserts what must hold
// for every mail — no panic, clean UTF-8, one-line subject, a reason for
// every rejection — and that mail the catalog marks as a DSN or a feedback
// report never counts as a person's mail. The catalog's other categories are
// heuristics, so disagreement with them is reported, not failed.
func TestWholeCorpus(t *testing.T) {
	root := sharedCorpus()
	raw, err := os.ReadFile(filepath.Join(root, "catalog.json"))
	if err != nil {
		t.Skipf("shared corpus not present (%v); set MAILDESK_CORPUS to run", err)
	}
	var catalog struct {
		Files map[string]catalogEntry `json:"files"`
	}
	if err := json.Unmarshal(raw, &catalog); err != nil {
		t.Fatalf("catalog.json: %v", err)
	}
	names := make([]string, 0, len(catalog.Files))
	for name, e := range catalog.Files {
		if e.Kind == "message" {
			names = append(names, name)
		}
	}
	sort.Strings(names)

	outcome := map[string]int{}
	rejected := map[string]int{}
	var disagree []string
	for _, name := range names {
		e := catalog.Files[name]
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var m *Message
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("%s: panic: %v", name, v)
				}
			}()
			m, err = Parse(data)
			if err == nil {
				VisibleText(m.Text)
			}
		}()
		if err != nil {
			if !IsParseError(err) {
				t.Errorf("%s: error is not a ParseError: %v", name, err)
			}
			var perr *ParseError
			reason := err.Error()
			if errors.As(err, &perr) {
				reason = perr.Reason
			}
			rejected[reason]++
			outcome["quarantined"]++
			continue
		}
		if m == nil {
			continue
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) || strings.ContainsAny(m.Subject, "\r\n") {
			t.Errorf("%s: unclean text or subject %q", name, m.Subject)
		}
		kind, _ := Classify(m)
		label := string(kind)
		if kind == tickets.NotAuto {
			label = "person"
		}
		outcome[label]++
		if (e.DSN || e.ARF) && kind == tickets.NotAuto {
			t.Errorf("%s: the catalog marks it a DSN or feedback report, classified as a person's mail", name)
		}
		if slices.Contains(e.Categories, "new_request") && kind != tickets.NotAuto {
			disagree = append(disagree, fmt.Sprintf("%s: catalog says new_request, classified %s", name, kind))
		}
	}
	t.Logf("%d messages: %v", len(names), outcome)
	t.Logf("quarantined by reason: %v", rejected)
	t.Logf("%d catalog 'new_request' mails classified automatic (catalog heuristics; see list with -v)", len(disagree))
	if testing.Verbose() {
		for _, d := range disagree {
			t.Log(d)
		}
	}
}
