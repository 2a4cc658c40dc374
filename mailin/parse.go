package mailin

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/jaytaylor/html2text"

	"maildesk/tickets"
)

// Registering go-message's charsets is what makes windows-1251, koi8-r,
// koi8-u and iso-8859-5 bodies decode; charset.Reader is also what the IMAP
// client would need for envelopes. Importing it by name (not blank) keeps
// that dependency visible.
var _ = charset.Reader

// Limits on what one mail may make the parser do. A mail over them is still
// taken in; the excess is left out and a warning recorded.
const (
	maxParts = 1000
	maxDepth = 16
	// maxHeaderBytes is above go-message's 1 MiB default so that a mail with
	// a huge header (a 1 MB Received chain) is still taken in.
	maxHeaderBytes = 4 << 20
)

// Message is a parsed mail: the facts mail-in needs, decoded to UTF-8.
type Message struct {
	Header      mail.Header
	From        tickets.Address
	ReplyTo     []tickets.Address
	To, Cc      []tickets.Address
	DeliveredTo []string // Delivered-To, X-Original-To, Envelope-To
	ReturnPath  string   // "" also for the null return path "<>"
	HasReturn   bool     // a Return-Path header is present
	NullReturn  bool     // and it is the null return path "<>"
	Subject     string
	MessageID   string // canonical: no brackets, no spaces, lower-case
	InReplyTo   []string
	References  []string
	Date        time.Time
	// Text is the body as text: text/plain if the mail has one, else its HTML
	// turned into text. Quotes are still in it.
	Text string
	// FromHTML is true when Text was made from HTML.
	FromHTML bool
	Parts    []Part
	// Report holds a delivery status notification (multipart/report).
	Report *Report
	// Embedded are mails attached as message/rfc822 (forwards, bounced originals).
	Embedded []*Message
	// Warnings say what could not be read exactly (unknown charset, truncated part).
	Warnings []string
}

// Part is a file in a mail: an attachment or an inline image.
type Part struct {
	Filename    string // as the sender named it, decoded; not yet sanitised
	ContentType string
	ContentID   string
	Inline      bool
	Data        []byte
}

// ParseError says why a mail could not be taken in at all; such a mail goes to quarantine.
type ParseError struct {
	Reason string
	Err    error
}

func (e *ParseError) Error() string {
	if e.Err != nil {
		return "parse: " + e.Reason + ": " + e.Err.Error()
	}
	return "parse: " + e.Reason
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads a raw mail. It is lenient the way mail in the wild needs: it
// repairs broken header lines, guesses undeclared 8-bit charsets, and keeps
// what it can of a truncated multipart. It fails only when no header can be
// read or no sender address can be found.
func Parse(raw []byte) (msg *Message, err error) {
	defer func() {
		// go-message and html2text run on hostile input; a bug in either must
		// cost one mail (quarantine), never the daemon.
		if r := recover(); r != nil {
			msg, err = nil, &ParseError{Reason: fmt.Sprintf("parser panic: %v", r)}
		}
	}()
	return parse(raw, 0)
}

func parse(raw []byte, depth int) (*Message, error) {
	raw = stripMboxFrom(trimLeadingBlankLines(raw))
	e, err := readEntity(raw)
	if e == nil {
		repaired := repairHeader(raw)
		e, err = readEntity(repaired)
		if e == nil {
			return nil, &ParseError{Reason: "unreadable header", Err: err}
		}
	}
	m := &Message{Header: mail.Header{Header: e.Header}}
	if err != nil {
		m.warn("%v", err)
	}
	m.readHeader()
	p := &walker{msg: m, depth: depth}
	res := p.walk(e, 0)
	m.Text, m.FromHTML = res.text()
	if m.From.Email == "" && m.fromMailSystem() {
		// "From: MAILER-DAEMON" with no domain: a bounce needs matching, not an answer.
		m.From = tickets.Address{Email: "mailer-daemon", Name: displayName(headerText(&m.Header, "From"))}
	}
	if m.From.Email == "" {
		return m, &ParseError{Reason: "no sender address (From, Sender, Reply-To and Return-Path are empty or unreadable)"}
	}
	return m, nil
}

// fromMailSystem reports a mail written by a mail system: a daemon's name
// in From, a null return path, or a delivery report.
func (m *Message) fromMailSystem() bool {
	from := strings.ToLower(m.Header.Get("From"))
	return strings.Contains(from, "mailer-daemon") || strings.Contains(from, "postmaster") ||
		strings.Contains(from, "mail delivery") || m.NullReturn || m.Report != nil
}

func (m *Message) warn(format string, args ...any) {
	if len(m.Warnings) < 50 {
		m.Warnings = append(m.Warnings, fmt.Sprintf(format, args...))
	}
}

// readEntity parses the header; an unknown charset or encoding is not fatal.
func readEntity(raw []byte) (*message.Entity, error) {
	e, err := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
	if err != nil && e == nil {
		return nil, err
	}
	return e, err
}

// trimLeadingBlankLines drops blank lines before the header: with them the
// header would read as empty and the whole mail as body.
func trimLeadingBlankLines(raw []byte) []byte {
	for {
		i := bytes.IndexByte(raw, '\n')
		if i < 0 || len(bytes.TrimSpace(raw[:i])) != 0 {
			return raw
		}
		raw = raw[i+1:]
	}
}

// stripMboxFrom drops an mbox "From " separator line, which is not a header.
func stripMboxFrom(raw []byte) []byte {
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			return raw[i+1:]
		}
	}
	return raw
}

var headerName = regexp.MustCompile(`^[!-9;-~]+:`)

// repairHeader fixes the two header faults go-message refuses: a first line
// that starts with white space, and a line without a colon (a folded line
// that lost its indentation). Such a line is joined to the one before.
func repairHeader(raw []byte) []byte {
	end := bytes.Index(raw, []byte("\n\n"))
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 && (end < 0 || i < end) {
		end = i
	}
	if end < 0 {
		end = len(raw)
	}
	head, body := raw[:end], raw[end:]
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Buffer(make([]byte, 64*1024), maxHeaderBytes)
	first := true
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case first:
			line = strings.TrimLeft(line, " \t")
			if line == "" {
				continue
			}
			first = false
		case line == "":
			continue
		case line[0] == ' ' || line[0] == '\t' || headerName.MatchString(line):
		default:
			line = " " + line
		}
		out.WriteString(line)
		out.WriteString("\r\n")
	}
	if first {
		// Nothing header-like at all: read the whole mail as a body.
		return append([]byte("X-Maildesk-Repaired: no header\r\n\r\n"), raw...)
	}
	out.Write(body)
	return out.Bytes()
}

// readHeader fills the header facts of m.
func (m *Message) readHeader() {
	h := &m.Header
	m.Subject = headerText(h, "Subject")
	m.From = firstAddress(h, "From")
	m.ReplyTo = addresses(h, "Reply-To")
	m.To = addresses(h, "To")
	m.Cc = addresses(h, "Cc")
	for _, k := range []string{"Delivered-To", "X-Original-To", "Envelope-To"} {
		for _, v := range h.Values(k) {
			if a := lenientAddress(v); a != "" {
				m.DeliveredTo = append(m.DeliveredTo, a)
			}
		}
	}
	if rp := h.Values("Return-Path"); len(rp) > 0 {
		m.HasReturn = true
		m.ReturnPath = lenientAddress(rp[0])
		m.NullReturn = strings.TrimSpace(rp[0]) == "<>" || strings.TrimSpace(rp[0]) == ""
	}
	if m.From.Email == "" {
		// Mail without a usable From still has someone to answer.
		for _, k := range []string{"Sender", "Reply-To"} {
			if a := firstAddress(h, k); a.Email != "" {
				m.From = a
				break
			}
		}
		if m.From.Email == "" && m.ReturnPath != "" {
			m.From = tickets.Address{Email: m.ReturnPath}
		}
	}
	ids := msgIDs(h.Get("Message-Id"))
	if len(ids) > 0 {
		m.MessageID = ids[0]
	}
	m.InReplyTo = msgIDs(h.Get("In-Reply-To"))
	m.References = msgIDs(strings.Join(h.Values("References"), " "))
	if d, err := h.Date(); err == nil {
		m.Date = d
	}
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// headerText decodes a header field's RFC 2047 words and guesses the
// charset of raw 8-bit bytes, so the result is always valid UTF-8.
func headerText(h *mail.Header, key string) string {
	v := h.Get(key)
	if v == "" {
		return ""
	}
	dec, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		dec = v
	}
	return cleanLine(toUTF8([]byte(dec)))
}

// cleanLine removes line breaks and control characters, which have no place
// in a header value and could be used to inject headers into our own mail.
func cleanLine(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\r' || r == '\n':
			return ' '
		case r < ' ' || r == 0x7f:
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func addresses(h *mail.Header, key string) []tickets.Address {
	var out []tickets.Address
	list, err := h.AddressList(key)
	if err == nil {
		for _, a := range list {
			out = append(out, tickets.Address{Email: strings.ToLower(a.Address), Name: cleanLine(toUTF8([]byte(a.Name)))})
		}
		return out
	}
	// Fall back to every address-looking token.
	for _, e := range addrPattern.FindAllString(headerText(h, key), -1) {
		out = append(out, tickets.Address{Email: strings.ToLower(e)})
	}
	return out
}

func firstAddress(h *mail.Header, key string) tickets.Address {
	list := addresses(h, key)
	for _, a := range list {
		if validEmail(a.Email) {
			if a.Name == "" {
				a.Name = displayName(headerText(h, key))
			}
			return a
		}
	}
	return tickets.Address{}
}

var addrPattern = regexp.MustCompile(`[^\s<>"(),;:@\[\]]+@[^\s<>"(),;:@\[\]]+\.[^\s<>"(),;:@\[\]]+`)

func lenientAddress(v string) string {
	return strings.ToLower(addrPattern.FindString(v))
}

func validEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(e, " <>\r\n")
}

// displayName takes "Name <addr>" apart when the address parser gave up.
func displayName(v string) string {
	if i := strings.IndexByte(v, '<'); i > 0 {
		return strings.Trim(strings.TrimSpace(v[:i]), `"`)
	}
	return ""
}

var msgIDPattern = regexp.MustCompile(`<([^<>]+)>`)

// msgIDs extracts Message-IDs leniently: every <…> token (with any inner
// white space removed, since some clients fold inside an ID), or bare
// tokens with an "@" when there are no brackets.
func msgIDs(v string) []string {
	var out []string
	matches := msgIDPattern.FindAllStringSubmatch(v, -1)
	if len(matches) == 0 {
		for _, f := range strings.Fields(v) {
			if strings.Contains(f, "@") {
				matches = append(matches, []string{f, f})
			}
		}
	}
	for _, mm := range matches {
		if id := CanonicalMessageID(mm[1]); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// CanonicalMessageID is the form Message-IDs are kept in: without
// brackets and white space, otherwise as the sender wrote it, because mail
// clients compare the IDs in In-Reply-To and References exactly. (The
// store looks them up case-insensitively.)
func CanonicalMessageID(id string) string {
	id = strings.Trim(strings.TrimSpace(id), "<>")
	id = strings.Join(strings.Fields(id), "")
	if !utf8.ValidString(id) || len(id) > 500 {
		return ""
	}
	return id
}

// walker collects the text and the files of a MIME tree.
type walker struct {
	msg   *Message
	parts int
	depth int // message/rfc822 nesting of the message being walked
}

// texts are the text candidates found under one entity.
type texts struct {
	plain, html []string
}

// text picks the body text, with "\n" line ends.
func (t texts) text() (string, bool) {
	nl := strings.NewReplacer("\r\n", "\n", "\r", "\n")
	if len(t.plain) > 0 {
		return nl.Replace(strings.Join(t.plain, "\n")), false
	}
	if len(t.html) > 0 {
		return nl.Replace(htmlToText(strings.Join(t.html, "\n"))), true
	}
	return "", false
}

func (p *walker) walk(e *message.Entity, level int) texts {
	mt, params, err := e.Header.ContentType()
	if err != nil || mt == "" {
		mt, params = "text/plain", map[string]string{}
	}
	mt = strings.ToLower(mt)
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		return p.walkMultipart(e, mt, level)
	case (mt == "message/rfc822" || mt == "message/global") && p.depth < maxDepth:
		p.embedded(e)
		return texts{}
	case mt == "message/delivery-status" || mt == "message/global-delivery-status":
		p.deliveryStatus(e)
		return texts{}
	}
	body, err := readBody(e.Body)
	if err != nil {
		p.msg.warn("%s part: %v", mt, err)
	}
	disp, dparams, _ := e.Header.ContentDisposition()
	disp = strings.ToLower(disp)
	name := partFilename(e, params, dparams)
	isText := mt == "text/plain" || mt == "text/html"
	if isText && disp != "attachment" && (name == "" || disp == "inline") {
		s := toUTF8(body)
		if mt == "text/html" {
			return texts{html: []string{s}}
		}
		if strings.EqualFold(params["format"], "flowed") {
			s = unflow(s, strings.EqualFold(params["delsp"], "yes"))
		}
		return texts{plain: []string{s}}
	}
	if mt == "text/rfc822-headers" {
		p.rfc822Headers(body)
	}
	p.msg.Parts = append(p.msg.Parts, Part{
		Filename: name, ContentType: mt, Inline: disp == "inline" || (disp == "" && e.Header.Get("Content-Id") != ""),
		ContentID: strings.Trim(e.Header.Get("Content-Id"), "<> "), Data: body,
	})
	return texts{}
}

func (p *walker) walkMultipart(e *message.Entity, mt string, level int) texts {
	if level >= maxDepth {
		p.msg.warn("multipart nested deeper than %d levels: rest left out", maxDepth)
		return texts{}
	}
	mr := e.MultipartReader()
	var children []texts
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && part == nil {
			// A missing final boundary makes NextPart fail forever: stop here
			// and keep what was read.
			p.msg.warn("%s: %v", mt, err)
			break
		}
		if err != nil {
			p.msg.warn("%s part: %v", mt, err)
		}
		if p.parts++; p.parts > maxParts {
			p.msg.warn("more than %d MIME parts: rest left out", maxParts)
			break
		}
		children = append(children, p.walk(part, level+1))
	}
	if mt == "multipart/alternative" {
		// Alternatives say the same thing; prefer plain text, the most faithful to what was typed.
		for _, c := range children {
			if len(c.plain) > 0 {
				return texts{plain: c.plain}
			}
		}
		for i := len(children) - 1; i >= 0; i-- {
			if len(children[i].html) > 0 {
				return texts{html: children[i].html}
			}
		}
		return texts{}
	}
	var all texts
	for _, c := range children {
		all.plain = append(all.plain, c.plain...)
		all.html = append(all.html, c.html...)
	}
	return all
}

// embedded parses an attached mail and keeps it both as a file and as a Message.
func (p *walker) embedded(e *message.Entity) {
	body, err := readBody(e.Body)
	if err != nil {
		p.msg.warn("message/rfc822 part: %v", err)
	}
	if inner, err := parse(body, p.depth+1); inner != nil {
		if err != nil {
			inner.warn("%v", err)
		}
		p.msg.Embedded = append(p.msg.Embedded, inner)
		p.parts += len(inner.Parts)
	}
	name := partFilename(e, nil, nil)
	if name == "" {
		name = "message.eml"
	}
	p.msg.Parts = append(p.msg.Parts, Part{Filename: name, ContentType: "message/rfc822", Data: body})
}

// readBody reads a part body; a transfer-encoding error keeps what was decoded.
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(r)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return b, fmt.Errorf("truncated: %w", err)
	}
	return b, err
}

// partFilename reads the file name: Content-Disposition filename (RFC 2231 or
// 2047), else Content-Type name. An RFC 2231 name in a non-UTF-8 charset is
// decoded here, since mime.ParseMediaType gives up on it.
func partFilename(e *message.Entity, ctParams, dParams map[string]string) string {
	if v := dParams["filename"]; v != "" {
		return decodeFilename(v)
	}
	if name := rfc2231Name(e.Header.Get("Content-Disposition")); name != "" {
		return name
	}
	if v := ctParams["name"]; v != "" {
		return decodeFilename(v)
	}
	return rfc2231Name(e.Header.Get("Content-Type"))
}

func decodeFilename(v string) string {
	if dec, err := wordDecoder.DecodeHeader(v); err == nil {
		v = dec
	}
	return toUTF8([]byte(v))
}

var rfc2231Pattern = regexp.MustCompile(`(?i)(?:file)?name\*(?:0\*?)?=\s*([A-Za-z0-9_.:-]+)'[^']*'([^;\s]+)`)

// rfc2231Name decodes filename*=charset”%xx… for the charsets go-message declines.
func rfc2231Name(header string) string {
	m := rfc2231Pattern.FindStringSubmatch(header)
	if m == nil {
		return ""
	}
	raw, err := percentDecode(m[2])
	if err != nil {
		return ""
	}
	if r, err := charset.Reader(m[1], bytes.NewReader(raw)); err == nil {
		if dec, err := io.ReadAll(r); err == nil {
			return toUTF8(dec)
		}
	}
	return toUTF8(raw)
}

func percentDecode(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			b, err := hex.DecodeString(s[i+1 : i+3])
			if err != nil {
				return nil, err
			}
			out = append(out, b[0])
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out, nil
}

// htmlToText turns an HTML body into text; html2text is given untrusted HTML,
// so a panic in it (its table code has known ones) costs only the text.
func htmlToText(h string) (text string) {
	defer func() {
		if recover() != nil {
			text = stripTags(h)
		}
	}()
	t, err := html2text.FromString(h, html2text.Options{})
	if err != nil {
		return stripTags(h)
	}
	return strings.ReplaceAll(t, "\u00a0", " ")
}

var tagPattern = regexp.MustCompile(`(?s)<[^>]*>`)

func stripTags(h string) string { return strings.TrimSpace(tagPattern.ReplaceAllString(h, " ")) }

// unflow joins the soft line breaks of format=flowed text (RFC 3676 §4.2):
// a line ending in a space continues on the next line of the same quote depth.
func unflow(s string, delsp bool) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var out []string
	var cur strings.Builder
	curDepth, open := 0, false
	for _, line := range lines {
		depth := 0
		for depth < len(line) && line[depth] == '>' {
			depth++
		}
		content := strings.TrimPrefix(line[depth:], " ") // space-stuffing
		if open && depth != curDepth {
			out = append(out, cur.String())
			cur.Reset()
			open = false
		}
		if !open {
			cur.WriteString(strings.Repeat(">", depth))
			if depth > 0 {
				cur.WriteByte(' ')
			}
			curDepth = depth
		}
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if flowed && delsp {
			content = content[:len(content)-1]
		}
		cur.WriteString(content)
		open = flowed
		if !flowed {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if open {
		out = append(out, cur.String())
	}
	return strings.Join(out, "\n")
}
