package mailin

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// VisibleText returns what the writer of a reply wrote: the quoted or
// forwarded mail below it (with the header that introduces it), quoted
// lines, and the signature are removed. It handles top-posting (Outlook,
// Gmail, phones: everything from the quote header on goes) and bottom or
// inline posting (a quote header followed by "> " quotes with answers in
// between: only the quotes go). A mail that is all quote or forward gives
// "": callers keep the full text beside it, so nothing is lost.
//
// It is measured against the reply corpus in testdata/replies (see
// TestReplyCorpus); the rules below say which fixture decided them.
func VisibleText(text string) string {
	lines := splitLines(text)
	if onlyQuoted(lines) {
		// Quotes with no header, and nothing else: the writer quoted
		// something themselves (a log, an error), and it is the message.
		return strings.Trim(strings.Join(lines, "\n"), "\n")
	}
	lines = cutAtEmbeddedMail(lines)
	lines = dropQuoted(lines)
	lines = cutSignature(lines)
	lines = cutSignOff(lines)
	// Blank lines at the ends go; the first line keeps its indentation (code).
	return strings.TrimRight(strings.TrimLeft(strings.Join(lines, "\n"), "\n"), " \t\n")
}

func splitLines(text string) []string {
	text = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u00a0", " ", "\u200b", "", "\ufeff", "", "\u2007", " ").Replace(text)
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return lines
}

func blank(l string) bool { return strings.TrimSpace(l) == "" }

// onlyQuoted reports text that is all "> " quote, with no mail header inside
// it (an Apple Mail forward is all quote too, with its header inside).
func onlyQuoted(lines []string) bool {
	if !onlyQuotedLines(lines) {
		return false
	}
	inner := unquote(lines)
	for i := range inner {
		if _, _, _, ok := embeddedMail(inner, i); ok {
			return false
		}
	}
	return true
}

// isQuoted reports a quoted line: "> " (mail clients), "| " (some
// webmails), or a "C>"-style attribution quote.
func isQuoted(line string) bool {
	t := strings.TrimLeft(line, " \t")
	return strings.HasPrefix(t, ">") || strings.HasPrefix(t, "|") || (len(t) >= 2 && t[1] == '>' && unicode.IsUpper(rune(t[0])))
}

// cutAtEmbeddedMail finds the first quoted or forwarded mail (by its header:
// a wrote-line, a header block, a separator) and cuts it off with
// everything after, unless "> " quotes follow the header and text follows
// them: then the writer answers below or between the quotes, and only the
// header goes here (the quotes go in dropQuoted).
func cutAtEmbeddedMail(lines []string) []string {
	for i := 0; i < len(lines); i++ {
		start, end, kind, ok := embeddedMail(lines, i)
		forward := kind == embeddedForward
		if !ok {
			continue
		}
		after := lines[end:]
		// A forward is never answered inline: whatever follows its header is
		// the forwarded mail, even an unquoted line in a quoted body.
		if !forward && startsQuoted(after) {
			rest := cutAtEmbeddedMail(afterQuotes(after))
			if len(nonBlank(rest)) > 0 {
				// Bottom or inline posting: the header and the quote under it
				// go, the writer's lines around them stay.
				return append(lines[:start:start], rest...)
			}
		}
		if kind == embeddedWrote && len(nonBlank(lines[:start])) == 0 && !allIndented(after) {
			// A header with nothing above it and plain text below: the
			// client did not mark the quote, and the text is all there is.
			return cutAtEmbeddedMail(after)
		}
		return lines[:start]
	}
	return lines
}

// The kinds of header that introduce an embedded mail.
const (
	embeddedForward = iota + 1 // a separator or "Begin forwarded message:"
	embeddedBlock              // "From: … Sent: … To: …"
	embeddedWrote              // "On …, Ann <a@x> wrote:"
)

// embeddedMail reports whether the header of a quoted or forwarded mail
// starts at line i, where it begins (taking in separators and intro lines
// above it) and ends, and what kind of header it is.
func embeddedMail(lines []string, i int) (start, end, kind int, ok bool) {
	l := strings.TrimSpace(lines[i])
	if l == "" {
		return 0, 0, 0, false
	}
	if separator.MatchString(l) || forwardIntro.MatchString(l) {
		end = i + 1
		if n := headerBlock(lines, skipBlank(lines, end)); n > 0 {
			end = skipBlank(lines, end) + n
		}
		return up(lines, i), end, embeddedForward, true
	}
	if n := headerBlock(lines, i); n > 0 {
		return up(lines, i), i + n, embeddedBlock, true
	}
	if n := wroteLine(lines, i); n > 0 {
		return i, i + n, embeddedWrote, true
	}
	return 0, 0, 0, false
}

// up extends a header upwards over blank lines and the separator or intro
// line clients put above it ("________", "-----Original Message-----",
// "Begin forwarded message:").
func up(lines []string, i int) int {
	start := i
	for j := i - 1; j >= 0 && j >= i-3; j-- {
		l := strings.TrimSpace(lines[j])
		switch {
		case l == "":
			continue
		case ruleLine.MatchString(l) || separator.MatchString(l) || forwardIntro.MatchString(l) || isIntro(l):
			start = j
			continue
		}
		break
	}
	return start
}

// isIntro is a short line ending in a colon, like "Forwarded message:" in a
// language we do not list, when a header block follows it.
func isIntro(l string) bool {
	letters := 0
	for _, r := range l {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	return strings.HasSuffix(l, ":") && letters >= 3 && utf8.RuneCountInString(l) <= 50 && !strings.ContainsAny(l, ".?!+0123456789")
}

func skipBlank(lines []string, i int) int {
	for i < len(lines) && blank(lines[i]) {
		i++
	}
	return i
}

// allIndented reports text quoted by indentation, as Outlook 2019 does.
func allIndented(lines []string) bool {
	n := 0
	for _, l := range lines {
		if blank(l) {
			continue
		}
		if !strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "\t") {
			return false
		}
		n++
	}
	return n > 0
}

func startsQuoted(lines []string) bool {
	i := skipBlank(lines, 0)
	return i < len(lines) && isQuoted(lines[i])
}

// afterQuotes returns what follows the leading run of quoted and blank lines.
func afterQuotes(lines []string) []string {
	i := 0
	for i < len(lines) && (isQuoted(lines[i]) || blank(lines[i])) {
		i++
	}
	return lines[i:]
}

func nonBlank(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !blank(l) {
			out = append(out, l)
		}
	}
	return out
}

var (
	// A separator with words between dashes, in any language:
	// "-----Original Message-----", "---------- Forwarded message ---------",
	// "-------- Перенаправленное сообщение --------", "----- Пересылаемое сообщение ----- От: …",
	// "---- On Wed, … wrote ----".
	separator = regexp.MustCompile(`^[-_=*]{2,}\s*[^-_=*\s][^-_=*]{1,80}?\s*[-_=*]{2,}`)
	// A forward announced by a phrase (Apple Mail, MailMate and others).
	forwardIntro = regexp.MustCompile(`(?i)^(begin forwarded message|forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié|inicio del mensaje reenviado|início da mensagem reencaminhada|inizio messaggio inoltrato|doorgestuurd bericht|videresendt besked|vidarebefordrat meddelande|videresendt melding|välitetty viesti|przekazana wiadomość|přeposlaná zpráva|начало переадресованного сообщения|пересылаемое сообщение|пересланное сообщение|початок пересланого повідомлення|переслане повідомлення)\s*:?\s*$`)
	// A line of delimiter characters only: "--", "____", "====", "***". Long
	// runs of dashes are left alone: they underline tables.
	delimiterLine = regexp.MustCompile(`^(-{2,4}|[_=*~#+•]{2,}|ᐧ)$`)
	// A rule of any length, as clients draw above a quoted header block.
	ruleLine = regexp.MustCompile(`^[-_=*~]{2,}$`)
)

// Header block labels, in the languages of the corpus and of our customers.
var (
	fromLabels = setOf("from", "von", "de", "da", "van", "fra", "från", "od", "от", "від", "kimden", "lähettäjä", "feladó",
		"afzender", "saatja", "avsändare", "expéditeur", "remitente", "mittente", "message du", "sender", "absender", "odesílatel",
		"šalje", "expeditorul", "expeditor", "de la", "nadawca", "gönderen", "送信元", "від кого", "от кого", "відправник", "отправитель",
		"差出人", "寄件者", "发件人", "보낸 사람", "보낸사람")
	otherLabels = setOf("subject", "тема", "betreff", "objet", "oggetto", "asunto", "assunto", "temat", "onderwerp", "emne",
		"ämne", "aihe", "tárgy", "konu", "předmět", "predmet", "subiect", "subiectul", "teema", "sujet",
		"sent", "date", "дата", "отправлено", "надіслано", "gesendet", "datum", "envoyé", "envoyé le", "enviado", "enviada",
		"inviato", "verzonden", "sendt", "skickat", "wysłano", "odesláno", "lähetetty", "elküldve", "gönderildi", "trimis",
		"data", "fecha", "päivämäärä", "dato", "gönderilme", "tarih", "dátum", "dată", "primatelj", "kome", "destinatarul", "naslov", "prima", "adresat", "trimis", "送信先",
		"to", "кому", "an", "à", "a", "para", "aan", "til", "till", "do", "vastaanottaja", "címzett", "kime", "komu", "către",
		"cc", "копия", "копія", "kopie", "copie", "copie à", "kopi", "kopia", "kopio", "másolat", "bilgi", "copia",
		"件名", "主题", "主旨", "收件人", "日付", "宛先", "送信日時")
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

var labelLine = regexp.MustCompile(`^\s*\*?\s*([\p{L}][\p{L} ]{0,24}?)\s*\*?\s*[:：]\s*\*?\s*(.*)$`)

// label returns the lower-case label of a "Label: value" line.
func label(line string) (string, bool) {
	m := labelLine.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	return strings.ToLower(strings.TrimSpace(m[1])), true
}

// headerBlock reports the length of the quoted mail's header block at line
// i ("From: … Sent: … To: … Subject: …" as Outlook writes it, Thunderbird's
// "Subject: … Date: … From: …", in any of many languages): consecutive
// "Label: value" lines starting with a header we know and holding a sender
// label and one other, so that a customer's "Name: / Phone: / Email:"
// details never count. A value folded onto the next line continues it.
func headerBlock(lines []string, i int) int {
	if i >= len(lines) {
		return 0
	}
	hasFrom, hasOther, n := false, false, 0
	for j := i; j < len(lines) && j < i+12; j++ {
		l := strings.TrimSpace(lines[j])
		if l == "" {
			break
		}
		lab, ok := label(l)
		switch {
		case ok && fromLabels[lab]:
			hasFrom = true
		case ok && otherLabels[lab]:
			hasOther = true
		case n > 0 && (hasFrom || hasOther):
			// A header we do not know ("发送时间: …"), or a folded value
			// ("Subject: Some subject that\nspans over 2 lines").
		default:
			if n == 0 {
				return 0
			}
			j = len(lines)
			continue
		}
		n++
		if n == 1 && !hasFrom && !hasOther {
			return 0 // the block starts with a header we know
		}
	}
	if hasFrom && hasOther && n >= 2 {
		return n
	}
	return 0
}

var (
	angleAddrEnd = regexp.MustCompile(`<\s*[^<>\s]*@[^<>\s]*\s*>\s*[:：]?\s*$`)
	gmailStamp   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{1,2}:\d{2} GMT[+-]\d{2}:\d{2} \p{L}[\p{L} .'-]{0,60}( <[^<>\s]+@[^<>\s]+>)?\s*:?$`)
	leadingOn    = regexp.MustCompile(`(?i)^(on|am|le|el|il|op|em|den|dnia|w dniu|в|у|on behalf)\s`)
)

// wroteLine reports the length (in lines) of a "wrote" line at i: "On …,
// Ann <a@x> wrote:" and its translations, also wrapped over lines
// ("…Ann <\na@x>:"), decorated ("---- On … wrote ----"), or Gmail's
// localized "ср, 30 апр. 2025 г. в 15:19, Ann <a@x>:". A date or an address
// is required, so that "As Ann wrote:" in a sentence is text.
func wroteLine(lines []string, i int) int {
	joined := ""
	limit := 4
	if l := strings.TrimSpace(lines[i]); leadingOn.MatchString(l) && hasDigits(l) {
		// "On Thu, 31 Mar 2016 at 11:16 Some One\n\n<\nmailto:…\n> wrote:";
		// without a date, "On this line is the issue" is text.
		limit = 7
	}
	first := strings.TrimSpace(lines[i])
	// Only a line that could start a header is joined with the next:
	// "Hi," above "On … wrote:" is the writer's.
	canStart := hasDigits(first) || strings.ContainsAny(first, "@<") || leadingOn.MatchString(first)
	for n := 1; n <= limit && i+n <= len(lines); n++ {
		if n > 1 && !canStart {
			break
		}
		part := strings.TrimSpace(lines[i+n-1])
		if n > 1 && isQuoted(lines[i+n-1]) && !strings.HasPrefix(part, ">:") && !strings.HasPrefix(part, "> wrote") {
			break
		}
		if part == "" {
			if limit == 4 {
				break
			}
			continue
		}
		if finishedSentence(joined) {
			break // a finished sentence is text, not the start of a header
		}
		joined = strings.TrimSpace(joined + " " + part)
		if utf8.RuneCountInString(joined) > 400 {
			break
		}
		if isWrote(joined) {
			return n
		}
	}
	// Gmail's old attribution: "2016-03-03 17:21 GMT+01:00 Some One" (a
	// pasted log line has no "GMT+hh:mm" followed by a name).
	if gmailStamp.MatchString(first) {
		return 1
	}
	// "2013/7/20 sam via Discourse Meta <info@discourse.org>", no colon,
	// with the quote right below it.
	if strings.HasSuffix(first, ">") && angleAddrEnd.MatchString(first) && hasDigits(first) {
		if next := skipBlank(lines, i+1); next < len(lines) && isQuoted(lines[next]) {
			return 1
		}
	}
	return 0
}

// finishedSentence reports text ending like a sentence: a word of four or
// more letters and a full stop ("…rendering."), not a date ("Fr., 28.").
func finishedSentence(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || !strings.ContainsAny(s[len(s)-1:], ".!?") {
		return false
	}
	word := []rune(strings.TrimRight(s, ".!?"))
	letters := 0
	for k := len(word) - 1; k >= 0 && unicode.IsLetter(word[k]); k-- {
		letters++
	}
	return letters >= 4
}

// wroteKeywords are "wrote" in the languages of our customers and of the
// mail clients in the corpus, lower-cased; a leading space means the word
// must start there ("\bwrote", so that "rewrote" is not one). Longer forms
// come before their prefixes. Plain string search: a (?i) regexp of these
// was the hot spot on long lines of CJK text.
var wroteKeywords = []string{
	" wrote", " writes", "schrieb", "geschrieben", "a écrit", "escribió", "ha escrito", "ha scritto", "scrisse",
	"schreef", "geschreven", " skrev", "kirjoitti", "napisał(a)", "napisała", "napisał", "pisze",
	"napsal(a)", "napsal", "napísal", "escreveu", "yazdı", "írta",
	"пишет", "писал", "написал(а)", "написала", "написал", "пише", "писав", "написав", "писала", "写道", "書きました",
}

// wroteKeywordEnd returns the end of the first "wrote" keyword in lower, or -1.
func wroteKeywordEnd(lower string) int {
	best, end := -1, -1
	for _, k := range wroteKeywords {
		word := strings.TrimPrefix(k, " ")
		from := 0
		for {
			i := strings.Index(lower[from:], word)
			if i < 0 {
				break
			}
			i += from
			if word == k || i == 0 || !isWordByte(lower[i-1]) {
				if best < 0 || i < best || i == best && i+len(word) > end {
					best, end = i, i+len(word)
				}
				break
			}
			from = i + len(word)
		}
	}
	return end
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

func isWrote(s string) bool {
	s = strings.TrimSpace(strings.Trim(s, "-= "))
	// A date, a time or an address is the evidence (a time has digits too).
	if !strings.Contains(s, "@") && !strings.ContainsAny(s, "0123456789") {
		return false
	}
	if strings.HasSuffix(strings.TrimRight(s, " "), ":") && angleAddrEnd.MatchString(s) {
		return true
	}
	lower := strings.ToLower(s)
	end := wroteKeywordEnd(lower)
	if end < 0 {
		return false
	}
	tail := strings.TrimSpace(lower[end:])
	// The keyword ends the line ("wrote:", "wrote"), or a name and address
	// follow it ("schreef Ann <a@x>:").
	return tail == "" || tail == ":" || tail == "：" || strings.HasPrefix(tail, "(") && strings.HasSuffix(tail, ":") ||
		(strings.HasSuffix(tail, ":") && utf8.RuneCountInString(tail) < 120)
}

// dropQuoted removes quoted lines and the blank lines around them, so
// answers between quotes close up. A quote in the middle of an answer is
// history the writer answers inline; the answers themselves stay.
func dropQuoted(lines []string) []string {
	var out []string
	for i := 0; i < len(lines); i++ {
		if !isQuoted(lines[i]) {
			out = append(out, lines[i])
			continue
		}
		for len(out) > 0 && blank(out[len(out)-1]) {
			out = out[:len(out)-1]
		}
		for i+1 < len(lines) && (isQuoted(lines[i+1]) || blank(lines[i+1])) {
			i++
		}
	}
	return out
}

var mobileSignature = regexp.MustCompile(`(?i)^[(<\s]*(` +
	`(sent|envoyé|enviado|inviato|verzonden|gesendet|wysłane|odesláno|skickat|sendt|lähetetty|отправлено|надіслано|відправлено|послано)\s+(from|with|via|using|on|by|depuis|à partir de|de|desde|da|met|von|mit|с|из|з|через|через|z|ze|från|fra|frå|från)\b` +
	`|(von meinem|from my|get outlook|download outlook|diese nachricht wurde von|envoyé depuis|envoyé de mon|enviado desde|inviato da|отправлено с|надіслано з|從我的|发自我的)` +
	`|sent by \w+` +
	`)`)

// cutSignature cuts from a signature delimiter ("-- ", RFC 3676 §4.3, or any
// line of delimiter characters only) or a phone's "Sent from my…" line. A
// "Sent from…" line that goes on into a sentence is text.
func cutSignature(lines []string) []string {
	code := false
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "```") {
			code = !code // in a fenced code block, "####" is code
		}
		if code {
			continue
		}
		if i > 0 && delimiterLine.MatchString(t) {
			return lines[:i]
		}
		if mobileSignature.MatchString(t) && utf8.RuneCountInString(t) <= 120 && !strings.Contains(t, ", ") {
			return lines[:i]
		}
	}
	return lines
}

var (
	// Closing salutations. Thanks ("Спасибо,\nАнна") is left out on
	// purpose: it is as often the message as a signature.
	signOff = regexp.MustCompile(`(?i)^(best|best wishes|kind regards|best regards|warm regards|warmest regards|regards|cheers|br|sincerely|yours|yours truly|respectfully|` +
		`с уважением|с наилучшими пожеланиями|всего доброго|всего хорошего|с благодарностью|` +
		`з повагою|з найкращими побажаннями|` +
		`mit freundlichen grüßen|freundliche grüße|mfg|viele grüße|liebe grüße|lg|beste grüße|gruß|grüße|` +
		`cordialement|bien cordialement|salutations|bien à vous|` +
		`saludos|un saludo|atentamente|cordiali saluti|saluti|` +
		`met vriendelijke groet|vriendelijke groeten|groeten|groetjes|` +
		`med venlig hilsen|venlig hilsen|hilsen|kh|mvh|med vennlig hilsen|vennlig hilsen|med vänliga hälsningar|vänliga hälsningar|hälsningar|` +
		`terveisin|ystävällisin terveisin|pozdrawiam|z poważaniem|z powazaniem|pozdrowienia|s pozdravem|üdvözlettel)[\s,.!]*$`)
	// A one-line signature: "-Abhishek Kona", "/John", "— Анна".
	dashName = regexp.MustCompile(`^[-/–—~]\s*\p{Lu}[\p{L}'.-]*(\s+\p{L}[\p{L}'.-]*){0,3}$`)
)

// cutSignOff removes a closing salutation with the name below it
// ("Regards,\nJohn Doe\nCEO @ Acme", "С уважением,\nАнна") and a one-line
// "-Name" signature at the end. A salutation alone, with no name after
// it, is kept: "Thank you!" can be the message.
func cutSignOff(lines []string) []string {
	idx := []int{}
	for i, l := range lines {
		if !blank(l) {
			idx = append(idx, i)
		}
	}
	if len(idx) < 2 {
		return lines
	}
	if last := strings.TrimSpace(lines[idx[len(idx)-1]]); dashName.MatchString(last) {
		return cutSignOff(lines[:idx[len(idx)-1]])
	}
	tail := idx[max(1, len(idx)-6):]
	for k, i := range tail {
		if !signOff.MatchString(strings.TrimSpace(lines[i])) {
			continue
		}
		after := tail[k+1:]
		if len(after) == 0 || len(after) > 4 || !looksLikeName(lines[after[0]]) {
			continue
		}
		short := true
		for _, j := range after {
			short = short && utf8.RuneCountInString(strings.TrimSpace(lines[j])) <= 60
		}
		if short {
			return lines[:i]
		}
	}
	return lines
}

// looksLikeName: a few words, not a sentence.
func looksLikeName(l string) bool {
	t := strings.TrimSpace(l)
	words := strings.Fields(t)
	return len(words) >= 1 && len(words) <= 4 && !strings.ContainsAny(t[len(t)-1:], ".?!:;,")
}

func hasDigits(s string) bool { return strings.ContainsAny(s, "0123456789") }
