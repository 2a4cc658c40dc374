package mailin

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParse: whatever bytes arrive, Parse does not panic and returns either
// a Message with valid UTF-8 text and a one-line subject, or a ParseError.
// Seeded with every corpus fixture in testdata.
func FuzzParse(f *testing.F) {
	filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".md") && !strings.HasSuffix(p, ".json") {
			if b, err := os.ReadFile(p); err == nil && len(b) < 256<<10 {
				f.Add(b)
			}
		}
		return nil
	})
	f.Add([]byte("From: a@b.test\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if fuzzing() {
			// A mail must not stall the queue: slow input is a bug too. Only
			// while fuzzing: under -race on a busy machine the clock says
			// nothing about the code (speed is for benchmarks).
			start := time.Now()
			defer func() {
				if d := time.Since(start); d > 2*time.Second {
					t.Fatalf("%d bytes took %v", len(raw), d)
				}
			}()
		}
		m, err := Parse(raw)
		if err != nil {
			if !IsParseError(err) {
				t.Fatalf("error %v is not a ParseError", err)
			}
			return
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) || strings.ContainsAny(m.Subject, "\r\n") {
			t.Fatalf("unclean result: subject %q", m.Subject)
		}
		if m.From.Email == "" {
			t.Fatal("a message without a sender was accepted")
		}
		VisibleText(m.Text)
		Classify(m)
	})
}

// FuzzSubject: any subject yields a tag-free clean subject and no panic.
func FuzzSubject(f *testing.F) {
	for _, s := range []string{"Re: [#12] x", "[Ошибка] [Высокий] y", "RE: Fwd: [ACME #3] z [status=resolved]", "[[[#1]]]", "Re[2]: Отв:"} {
		f.Add(s)
	}
	m := NewTagMatcher("#")
	f.Fuzz(func(t *testing.T, subject string) {
		s := m.ParseSubject(subject)
		if s.Tag != 0 && m.re.MatchString(s.Clean) {
			t.Fatalf("clean subject %q still has a tag", s.Clean)
		}
	})
}

// FuzzVisibleText: stripping never panics and never returns more than it got.
func FuzzVisibleText(f *testing.F) {
	for _, s := range []string{"Hi\n\nOn Mon, 1 Jan 2024, A <a@b> wrote:\n> old", "-----Original Message-----\nFrom: x", "> a\nb\n> c", "--\nsig"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if got := VisibleText(text); len(got) > len(text)+1 {
			t.Fatalf("VisibleText grew the text: %d > %d", len(got), len(text))
		}
	})
}

// fuzzing reports whether the test binary runs with -test.fuzz.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}
