package mailin

import (
	"regexp"
	"strings"

	"maildesk/tickets"
)

// Subject is what a subject line says to the helpdesk.
type Subject struct {
	// Tag is the ticket number of the first (outermost) ticket tag, 0 if none.
	Tag tickets.Number
	// Clean is the subject without ticket tags and reply or forward prefixes.
	// Other bracketed words stay: only the desk knows which it understands.
	Clean string
	// Tags are the bracketed words at the start and end of Clean: "Ошибка", "status=resolved".
	Tags []string
}

// TagMatcher finds ticket tags such as "[#123]" or "[ACME #123]".
type TagMatcher struct {
	re *regexp.Regexp
}

// NewTagMatcher builds a matcher for the configured prefix ("#", "ACME #").
// Spacing and case inside the brackets are free, and html2text's bold
// marks around a tag ("*[#42]*") do not hide it.
func NewTagMatcher(prefix string) *TagMatcher {
	var b strings.Builder
	for _, f := range strings.Fields(prefix) {
		if b.Len() > 0 {
			b.WriteString(`\s*`)
		}
		b.WriteString(regexp.QuoteMeta(f))
	}
	return &TagMatcher{re: regexp.MustCompile(`(?i)\[\s*` + b.String() + `\s*(\d{1,12})\s*\]`)}
}

// Format writes the tag of ticket n with the configured prefix.
func Format(prefix string, n tickets.Number) string { return "[" + prefix + n.String() + "]" }

// replyPrefix matches one reply or forward prefix as clients write them in
// many languages: Re, Fwd, AW, WG, SV, VS, Antw, Ответ, Отв, Пересл, Відп…,
// with counters ("Re[2]:", "Re(3):") and full-width colons.
var replyPrefix = regexp.MustCompile(`(?i)^\s*(re|fwd?|aw|wg|sv|vs|antw|ant|odp|tr|rif|r|ответ|отв|пересл|переслать|пересылка|fw|відповідь|відп|від|пересл\.|переслано)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*`)

// ParseSubject reads subject with the tag matcher m.
func (m *TagMatcher) ParseSubject(subject string) Subject {
	var s Subject
	if loc := m.re.FindStringSubmatch(subject); loc != nil {
		s.Tag, _ = tickets.ParseNumber(loc[1])
	}
	clean := m.re.ReplaceAllString(subject, " ")
	clean = strings.Join(strings.Fields(clean), " ")
	// Prefixes can sit before and after tags ("Re: [#1] Fwd: x"); strip until none is left.
	for {
		stripped := replyPrefix.ReplaceAllString(clean, "")
		stripped = strings.TrimLeft(stripped, "*: ")
		if stripped == clean {
			break
		}
		clean = stripped
	}
	s.Clean = strings.TrimSpace(clean)
	s.Tags = bracketTags(s.Clean)
	return s
}

var (
	leadingTag  = regexp.MustCompile(`^\s*\[([^\[\]]{1,64})\]`)
	trailingTag = regexp.MustCompile(`\[([^\[\]]{1,64})\]\s*$`)
)

// bracketTags lists the bracketed words at the start and the end of s.
func bracketTags(s string) []string {
	var tags []string
	rest := s
	for {
		m := leadingTag.FindStringSubmatchIndex(rest)
		if m == nil {
			break
		}
		tags = append(tags, strings.TrimSpace(rest[m[2]:m[3]]))
		rest = rest[m[1]:]
	}
	var tail []string
	for {
		m := trailingTag.FindStringSubmatchIndex(rest)
		if m == nil {
			break
		}
		tail = append([]string{strings.TrimSpace(rest[m[2]:m[3]])}, tail...)
		rest = rest[:m[0]]
	}
	return append(tags, tail...)
}
