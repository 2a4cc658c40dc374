package mailin

import (
	"regexp"
	"sort"
	"strings"

	"maildesk/tickets"
)

// ParseForward finds a mail forwarded inline in text (Gmail's
// "---------- Forwarded message ---------", Outlook's header block, Apple
// Mail's "Begin forwarded message:", their translations) and returns its
// sender, subject and body. Staff forward a customer's mail to open a
// ticket for them; this is how the customer is found.
func ParseForward(text string) (*tickets.Forwarded, bool) {
	lines := splitLines(text)
	if f, ok := findForward(lines); ok {
		return f, true
	}
	// Apple Mail, MailMate and others quote the forward, with or without
	// the writer's own words above it.
	return findForward(unquote(lines))
}

func findForward(lines []string) (*tickets.Forwarded, bool) {
	for i := range lines {
		_, end, kind, ok := embeddedMail(lines, i)
		if !ok {
			continue
		}
		if kind == embeddedWrote {
			// "… "John Doe" <john@x> написал:" with the original below.
			f := &tickets.Forwarded{From: addressIn(strings.Join(lines[i:end], " "))}
			f.Text = bodyAfter(lines[end:])
			return f, f.From.Email != ""
		}
		block := i
		if kind == embeddedForward {
			block = skipBlank(lines, i+1)
			if n := headerBlock(lines, block); n == 0 {
				// Yahoo writes the whole header on the separator line.
				return inlineHeader(lines[i], lines[i+1:])
			}
		}
		n := headerBlock(lines, block)
		f := &tickets.Forwarded{}
		for _, l := range lines[block : block+n] {
			m := labelLine.FindStringSubmatch(l)
			if m == nil {
				continue // a folded value
			}
			lab, value := strings.ToLower(strings.TrimSpace(m[1])), strings.TrimSpace(m[2])
			switch {
			case fromLabels[lab] && f.From.Email == "":
				f.From = addressIn(value)
			case subjectLabels[lab] && f.Subject == "":
				f.Subject = value
			}
		}
		f.Text = bodyAfter(lines[block+n:])
		return f, f.From.Email != ""
	}
	return nil, false
}

var subjectLabels = setOf("subject", "тема", "betreff", "objet", "oggetto", "asunto", "assunto", "temat", "onderwerp",
	"emne", "ämne", "aihe", "tárgy", "konu", "předmět", "predmet", "subiect", "subiectul", "teema", "sujet", "naslov",
	"件名", "主题", "主旨")

// addressIn reads the first address in a header value: "John <a@x>",
// "John [mailto:a@x]", "a@x", ""John" <a@x>".
func addressIn(v string) tickets.Address {
	email := addrPattern.FindString(strings.ReplaceAll(v, "mailto:", " "))
	if email == "" {
		return tickets.Address{}
	}
	name := v
	if i := strings.IndexAny(v, "<["); i >= 0 {
		name = v[:i]
	} else {
		name = ""
	}
	name = strings.Trim(strings.TrimSpace(name), `"'`)
	return tickets.Address{Email: strings.ToLower(strings.Trim(email, "<>[]")), Name: name}
}

// inlineLabel finds the headers Yahoo runs together on its separator line
// ("----- Přeposlaná zpráva ----- Od: John <a@x>Komu: …SEČPředmět: …"):
// any header label we know, glued to the text before it or not; two-letter
// labels only after a space, to keep "Od:" from matching inside words.
var inlineLabel = func() *regexp.Regexp {
	var long, short []string
	for _, set := range []map[string]bool{fromLabels, otherLabels} {
		for l := range set {
			if len([]rune(l)) >= 3 {
				long = append(long, regexp.QuoteMeta(l))
			} else {
				short = append(short, regexp.QuoteMeta(l))
			}
		}
	}
	// Longest first, so "Copie à" wins over "à".
	sort.Slice(long, func(i, j int) bool { return len(long[i]) > len(long[j]) })
	return regexp.MustCompile(`(?i)(?:(` + strings.Join(long, "|") + `)|(?:^|[\s>])(` + strings.Join(short, "|") + `))\s*:`)
}()

func inlineHeader(sep string, rest []string) (*tickets.Forwarded, bool) {
	f := &tickets.Forwarded{}
	locs := inlineLabel.FindAllStringSubmatchIndex(sep, -1)
	for k, loc := range locs {
		end := len(sep)
		if k+1 < len(locs) {
			end = locs[k+1][0]
		}
		lab := ""
		switch {
		case loc[2] >= 0:
			lab = sep[loc[2]:loc[3]]
		case loc[4] >= 0:
			lab = sep[loc[4]:loc[5]]
		}
		lab = strings.ToLower(lab)
		value := strings.TrimSpace(sep[loc[1]:end])
		switch {
		case fromLabels[lab] && f.From.Email == "":
			f.From = addressIn(value)
		case subjectLabels[lab]:
			f.Subject = value
		}
	}
	f.Text = bodyAfter(rest)
	return f, f.From.Email != ""
}

// bodyAfter is the forwarded body: the lines after its header, without
// the quoting or indentation the client added.
func bodyAfter(lines []string) string {
	lines = lines[skipBlank(lines, 0):]
	if onlyQuotedLines(lines) {
		lines = unquote(lines)
	} else if allIndented(lines) {
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(strings.TrimPrefix(l, "    "), "\t")
		}
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// onlyQuotedLines reports whether every non-blank line is quoted.
func onlyQuotedLines(lines []string) bool {
	n := 0
	for _, l := range lines {
		if blank(l) {
			continue
		}
		if !isQuoted(l) {
			return false
		}
		n++
	}
	return n > 0
}

// unquote removes one level of "> " quoting.
func unquote(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		t := strings.TrimLeft(l, " ")
		if strings.HasPrefix(t, ">") {
			t = strings.TrimPrefix(t[1:], " ")
		}
		out[i] = t
	}
	return out
}
