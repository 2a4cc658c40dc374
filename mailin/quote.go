package mailin

import (
	"regexp"
	"strings"
)

// VisibleText returns what the writer of a reply wrote: quoted history,
// the quote header that introduces it, and the signature are removed. It
// handles top-posting (Outlook, Gmail, phones: everything after the quote
// header goes) and bottom or inline posting ("> " quotes with answers in
// between: only the quoted lines go). When stripping would leave nothing,
// the text is returned whole, so an answer is never lost.
func VisibleText(text string) string {
	lines := splitLines(text)
	lines = cutAtQuoteHeader(lines)
	lines = dropQuoted(lines)
	lines = cutSignature(lines)
	out := strings.TrimSpace(strings.Join(lines, "\n"))
	if out == "" {
		return strings.TrimSpace(strings.Join(splitLines(text), "\n"))
	}
	return out
}

func splitLines(text string) []string {
	text = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u00a0", " ", "\u200b", "").Replace(text)
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return lines
}

func isQuoted(line string) bool { return strings.HasPrefix(strings.TrimLeft(line, " "), ">") }

// Quote headers: the line a client writes above the quoted original.
var (
	// "On Tue, 1 Apr 2025, Ann <a@x> wrote:", also split over lines; and the
	// same in other languages: "… пишет:", "… написал(а):", "… пише:",
	// "… написав:", "Am … schrieb …:", "Le … a écrit :", "El … escribió:", "Il … ha scritto:".
	wroteHeader = regexp.MustCompile(`(?is)^.{0,300}?(\bwrote|\bwrites|пишет|писал|написал|написала|написал\(а\)|пише|писав|написав|schrieb|a écrit|escribió|ha scritto|schreef|skrev|kirjoitti|napisał|napisal|escreveu|yazdı|napsal|écrit)\s*:\s*$`)
	// Gmail in Russian and others: "ср, 30 апр. 2025 г. в 15:19, John Doe <john@example.com>:".
	addressColonHeader = regexp.MustCompile(`(?i)^.{0,200}\d.{0,200}<[^<>\s]+@[^<>\s]+>\s*:\s*$`)
	separatorHeader    = regexp.MustCompile(`(?i)^\s*[-_=*]{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|messaggio originale|исходное сообщение|оригинальное сообщение|пересылаемое сообщение|перенаправленное сообщение|вихідне повідомлення|оригінальне повідомлення|пересланий лист|forwarded message|reply message|oorspronkelijk bericht)\s*[-_=*]{0,}\s*$`)
	forwardHeader      = regexp.MustCompile(`(?i)^\s*(begin forwarded message|начало переадресованного сообщения|початок пересланого повідомлення)\s*:\s*$`)
	// An Outlook header block: "From:" then, within a few lines, "Sent:" or
	// "Date:", and "To:" or "Subject:", in the languages our customers use.
	blockFrom = regexp.MustCompile(`(?i)^\s*\*?(from|от|від|von|de|da|van|fra|från|od)\s*\*?\s*:\s*\S`)
	blockSent = regexp.MustCompile(`(?i)^\s*\*?(sent|date|отправлено|дата|надіслано|gesendet|datum|envoyé|enviado|inviato|verzonden|sendt|skickat|wysłano)\s*\*?\s*:`)
	blockTo   = regexp.MustCompile(`(?i)^\s*\*?(to|subject|кому|тема|an|betreff|à|objet|para|asunto|a|oggetto|aan|onderwerp|til|emne|till|ämne|do|temat)\s*\*?\s*:`)
)

// isQuoteHeader reports whether the quote header starts at lines[i], and how
// many lines it spans.
func isQuoteHeader(lines []string, i int) (int, bool) {
	l := strings.TrimSpace(lines[i])
	if l == "" {
		return 0, false
	}
	if separatorHeader.MatchString(l) || forwardHeader.MatchString(l) {
		return 1, true
	}
	// A wrote-line may be wrapped over up to three lines ("On …, Ann\n<a@x> wrote:").
	joined := ""
	for n := 1; n <= 3 && i+n <= len(lines); n++ {
		part := strings.TrimSpace(lines[i+n-1])
		if n > 1 && (part == "" || isQuoted(part)) {
			break
		}
		joined = strings.TrimSpace(joined + " " + part)
		if len(joined) > 400 {
			break
		}
		if wroteHeader.MatchString(joined) && (n > 1 || looksLikeWroteLine(joined)) {
			return n, true
		}
		if addressColonHeader.MatchString(joined) {
			return n, true
		}
	}
	if blockFrom.MatchString(l) {
		sent, to := false, false
		for j := i + 1; j < len(lines) && j <= i+6; j++ {
			s := strings.TrimSpace(lines[j])
			sent = sent || blockSent.MatchString(s)
			to = to || blockTo.MatchString(s)
		}
		if sent && to {
			return 1, true
		}
	}
	return 0, false
}

// looksLikeWroteLine keeps a sentence like "As Ann wrote:" in the middle of a
// text from counting, unless it carries a date, an address or a comma list.
func looksLikeWroteLine(s string) bool {
	return strings.ContainsAny(s, "0123456789@<") || strings.Count(s, ",") >= 1
}

// cutAtQuoteHeader removes a quote header and what it introduces. When the
// history below it is "> " quoted and answers follow it, only the header
// goes (dropQuoted removes the quotes); otherwise everything below goes.
func cutAtQuoteHeader(lines []string) []string {
	for i := range lines {
		n, ok := isQuoteHeader(lines, i)
		if !ok {
			continue
		}
		if i == 0 || strings.TrimSpace(strings.Join(lines[:i], "")) == "" {
			// Nothing above the header: a bottom-post or a forward with no
			// words of its own. Keep what follows the quoted block, if anything.
			if rest := afterQuotedBlock(lines[i+n:]); rest != nil {
				return rest
			}
			continue
		}
		if rest := afterQuotedBlock(lines[i+n:]); rest != nil && len(nonEmpty(rest)) > 0 && startsQuoted(lines[i+n:]) {
			return append(append([]string{}, lines[:i]...), rest...)
		}
		return lines[:i]
	}
	return lines
}

func startsQuoted(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return isQuoted(l)
		}
	}
	return false
}

// afterQuotedBlock returns the lines after a leading "> " block, or nil if
// the lines do not start with one.
func afterQuotedBlock(lines []string) []string {
	if !startsQuoted(lines) {
		return nil
	}
	i := 0
	for i < len(lines) && (isQuoted(lines[i]) || strings.TrimSpace(lines[i]) == "") {
		i++
	}
	return lines[i:]
}

func nonEmpty(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// dropQuoted removes "> " lines. A quote in the middle of an answer is
// history the writer answers inline; the answers themselves stay.
func dropQuoted(lines []string) []string {
	out := lines[:0:0]
	for _, l := range lines {
		if !isQuoted(l) {
			out = append(out, l)
		}
	}
	return out
}

var mobileSignature = regexp.MustCompile(`(?i)^\s*(sent from my|sent from (mail|outlook|yahoo|aol|samsung)|sent via|get outlook for|sent with|отправлено с|отправлено из|отправлено через|послано с|надіслано з|надіслано через|відправлено з|von meinem|envoyé de mon|enviado desde mi|inviato da)\b`)

// cutSignature removes the signature: from the "-- " delimiter (RFC 3676
// §4.3; html2text drops the trailing space) or a phone's "Sent from my…" line.
func cutSignature(lines []string) []string {
	for i, l := range lines {
		if l == "--" || l == "-- " || l == "__" || mobileSignature.MatchString(l) {
			return lines[:i]
		}
	}
	return lines
}
