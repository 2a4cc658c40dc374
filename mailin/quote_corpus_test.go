package mailin

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The reply fixtures in testdata/replies come from five reply parsers'
// test suites and Discourse's trimmer (see each SOURCE.md). Each states
// what a reply's visible text is; TestReplyCorpus measures how often
// VisibleText agrees.

// expectation is one fixture's expected visible text, in the fields the
// corpus uses.
type expectation struct {
	Visible    *string  `json:"visible"`
	StartsWith string   `json:"visible_starts_with"`
	Contains   strList  `json:"visible_contains"`
	Hidden     strList  `json:"hidden_contains"`
	WholeText  bool     `json:"visible_is_whole_text"`
	Note       string   `json:"note"`
	Message    *string  `json:"message"`   // forwards-crisp: the text typed above the forward
	Forwarded  *bool    `json:"forwarded"` // forwards-crisp
	Groups     []string `json:"-"`
}

// strList reads a string or a list of strings.
type strList []string

func (s *strList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*s = many
	return err
}

// normalize compares texts as the corpus says: trailing white space on
// each line and blank lines at both ends do not count.
func normalize(s string) string {
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\u00a0", " "), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

// check returns "" if got satisfies e, else what is wrong.
func (e *expectation) check(got string) string {
	g := normalize(got)
	switch {
	case e.Visible != nil && g != normalize(*e.Visible):
		return fmt.Sprintf("visible text differs:\n--- got\n%s\n--- want\n%s", g, normalize(*e.Visible))
	case e.Message != nil && g != normalize(*e.Message):
		return fmt.Sprintf("text above the forward differs:\n--- got\n%s\n--- want\n%s", g, normalize(*e.Message))
	case e.StartsWith != "" && !strings.HasPrefix(g, normalize(e.StartsWith)):
		return fmt.Sprintf("does not start with %q:\n%s", e.StartsWith, g)
	}
	for _, c := range e.Contains {
		if !strings.Contains(g, normalize(c)) {
			return fmt.Sprintf("lacks %q:\n%s", c, g)
		}
	}
	for _, h := range e.Hidden {
		if strings.Contains(g, normalize(h)) {
			return fmt.Sprintf("shows %q:\n%s", h, g)
		}
	}
	return ""
}

func (e *expectation) asserts() bool {
	return e.Visible != nil || e.StartsWith != "" || len(e.Contains) > 0 || len(e.Hidden) > 0 || e.Message != nil
}

// replyCases collects every fixture with an expectation: path → expectation.
func replyCases(t *testing.T) map[string]*expectation {
	t.Helper()
	root := "testdata/replies"
	cases := map[string]*expectation{}
	for _, dir := range []string{"replies-github", "replies-zapier", "replies-willdurand", "replies-alfonsrv"} {
		var doc struct {
			Fixtures map[string]*expectation `json:"fixtures"`
		}
		readJSON(t, filepath.Join(root, dir, "expected.json"), &doc)
		for path, e := range doc.Fixtures {
			if e.asserts() {
				cases[path] = e
			}
		}
	}
	var crisp map[string]string
	readJSON(t, filepath.Join(root, "replies-crisp", "expected-visible.json"), &crisp)
	for name, visible := range crisp {
		path := "replies-crisp/" + name
		if _, ok := cases[path]; !ok { // a stated expectation of the original suite wins over the peer's answer
			v := visible
			cases[path] = &expectation{Visible: &v}
		}
	}
	trimmed, _ := filepath.Glob(filepath.Join(root, "replies-discourse-trimmer", "trimmed", "*.txt"))
	for _, f := range trimmed {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v := string(b)
		cases["replies-discourse-trimmer/emails/"+filepath.Base(f)] = &expectation{Visible: &v}
	}
	var fwd struct {
		Fixtures map[string][]*expectation `json:"fixtures"`
	}
	readJSON(t, filepath.Join(root, "forwards-crisp", "expected.json"), &fwd)
	for name, list := range fwd.Fixtures {
		if len(list) == 0 || list[0].Forwarded == nil || !*list[0].Forwarded {
			continue
		}
		e := list[0]
		if e.Message == nil {
			empty := ""
			e.Message = &empty
		}
		cases["forwards-crisp/"+name] = e
	}
	return cases
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// disagreements are the fixtures where the corpus's sources contradict one
// another and we side with the other one, on purpose. Each names the rule
// and the fixture that asserts our side.
var disagreements = map[string]string{
	"replies-alfonsrv/email_pl_1_1.txt":                           "a header block at the very top is a forward (forwards-crisp/new_outlook_2019_*, outlook_2013_en want nothing kept)",
	"replies-crisp/email_1.txt":                                   "a one-line '-Name' is a signature (replies-github/email_1_1 and replies-willdurand/email_1 hide '-Abhishek Kona')",
	"replies-crisp/email_3.txt":                                   "as email_1: '-Abhishek Kona' is a signature",
	"replies-crisp/email_2_1.txt":                                 "an Outlook '*From:* *Sent:*' block under a rule is a quote (replies-github/email_2_1 wants only 'Outlook with a reply')",
	"replies-crisp/email_custom_quote_header.txt":                 "the Hungarian 'keltezéssel, … írta:' line is a quote header; the peer missed it",
	"replies-crisp/email_not_a_signature.txt":                     "'Sincerely,' with a name below is a sign-off, as 'Regards,' is (replies-crisp/email_with_regards)",
	"replies-crisp/email_one_is_not_on.txt":                       "the expectation is the second fragment of github's parser, not the visible text",
	"replies-crisp/email_thread.txt":                              "'On Nov 21, 2014,\nat 10:18,\nJohn Doe <…> wrote:' is a quote header wrapped over three lines; the peer kept it",
	"replies-crisp/email_tricky_17_forward_header.txt":            "a forward is cut at its header (all of forwards-crisp)",
	"replies-discourse-trimmer/emails/email_headers_5.txt":        "'Best regards,\n\n//Jef' is a sign-off (replies-crisp/email_with_regards, replies-alfonsrv/email_danish_*)",
	"replies-discourse-trimmer/emails/embedded_email_15.txt":      "'/ Greetings' is a one-line signature (replies-alfonsrv/email_swedish_2 hides '/John')",
	"replies-discourse-trimmer/emails/embedded_email_19.txt":      "'—Ryan' is a one-line signature, as '/John'",
	"replies-discourse-trimmer/emails/embedded_email_swedish.txt": "'Best regards\n\nSome One' is a sign-off",
	"replies-discourse-trimmer/emails/embedded_email_7.txt":       "quoted lines under a quote header go (replies-crisp/email_tricky_18_inline_reply, replies-github/email_1_2)",
	"replies-discourse-trimmer/emails/embedded_email_16.txt":      "quoted lines above an answer go (replies-crisp/email_tricky_19_quote_without_header)",
	"replies-discourse-trimmer/emails/embedded_email_17.txt":      "quoted lines under the second quote header go, as in embedded_email_7",
	"replies-discourse-trimmer/emails/quote_and_text.txt":         "quoted lines above an answer go (replies-crisp/email_tricky_19_quote_without_header)",
	"replies-discourse-trimmer/emails/forwarded_message.txt":      "a forward with nothing typed above it has no visible text (forwards-crisp: message null); the helpdesk keeps the full text beside it",
}

// TestReplyCorpus runs VisibleText on every reply fixture with an expected
// text and reports how many it gets right, per source and in all. The
// target is 95%. Misses must be listed in disagreements, with the reason.
func TestReplyCorpus(t *testing.T) {
	cases := replyCases(t)
	type tally struct{ ok, all int }
	bySource := map[string]*tally{}
	var failures []string
	total := tally{}
	for path, e := range cases {
		raw, err := os.ReadFile(filepath.Join("testdata/replies", path))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		src := strings.SplitN(path, "/", 2)[0]
		if bySource[src] == nil {
			bySource[src] = &tally{}
		}
		bySource[src].all++
		total.all++
		problem := e.check(VisibleText(string(raw)))
		_, deliberate := disagreements[path]
		switch {
		case problem != "" && !deliberate:
			failures = append(failures, path+": "+problem)
			continue
		case problem != "":
			continue
		case deliberate:
			t.Errorf("%s now matches: take it out of disagreements", path)
		}
		bySource[src].ok++
		total.ok++
	}
	var sources []string
	for s := range bySource {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	for _, s := range sources {
		t.Logf("%-28s %3d/%3d", s, bySource[s].ok, bySource[s].all)
	}
	rate := float64(total.ok) / float64(total.all)
	t.Logf("%-28s %3d/%3d = %.1f%% (%d deliberate disagreements, listed with reasons)", "all", total.ok, total.all, 100*rate, len(disagreements))
	sort.Strings(failures)
	for _, f := range failures {
		t.Error("unexpected miss " + f)
	}
	if rate < 0.95 {
		t.Errorf("reply text matches %.1f%% of the corpus, the target is 95%%", 100*rate)
	}
}
