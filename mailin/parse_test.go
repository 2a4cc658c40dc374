package mailin

import (
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// cyrillicMail builds a mail whose subject, sender name, body and file name
// are in one 8-bit charset, the way Outlook Express, The Bat! and KMail
// send them.
func cyrillicMail(t *testing.T, cs string, enc encoding.Encoding, subject, name, body string) []byte {
	t.Helper()
	e := func(s string) []byte {
		b, err := enc.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatalf("encode %q as %s: %v", s, cs, err)
		}
		return b
	}
	var qp strings.Builder
	w := quotedprintable.NewWriter(&qp)
	w.Write(e(body))
	w.Close()
	word := func(s string) string { return fmt.Sprintf("=?%s?B?%s?=", cs, base64.StdEncoding.EncodeToString(e(s))) }
	return []byte(fmt.Sprintf("From: %s <ivan@client.test>\r\nTo: support@acme.test\r\nSubject: %s\r\n"+
		"Message-ID: <%d@client.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=%s\r\n"+
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n%s", word(name), word(subject), len(body), cs, qp.String()))
}

func TestParseCyrillicCharsets(t *testing.T) {
	const subject, name = "Не работает касса — ошибка 1102", "Иван Петров"
	const body = "Здравствуйте!\nПри обмене выдаётся ошибка 1102.\nЁлки-палки, «кавычки»."
	const ukSubject, ukBody = "Не працює каса: ґанок, їжак, єнот", "Добрий день!\nПісля оновлення помилка. Дякую."
	rows := []struct {
		cs            string
		enc           encoding.Encoding
		subject, body string
	}{
		{"windows-1251", charmap.Windows1251, subject, body},
		{"koi8-r", charmap.KOI8R, strings.ReplaceAll(subject, "—", "-"), strings.ReplaceAll(body, "«кавычки»", "\"кавычки\"")},
		{"koi8-u", charmap.KOI8U, ukSubject, ukBody},
		{"iso-8859-5", charmap.ISO8859_5, strings.ReplaceAll(subject, "—", "-"), strings.NewReplacer("«", "\"", "»", "\"").Replace(body)},
		{"cp1251", charmap.Windows1251, subject, body},
	}
	for _, r := range rows {
		t.Run(r.cs, func(t *testing.T) {
			m, err := Parse(cyrillicMail(t, r.cs, r.enc, r.subject, name, r.body))
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != r.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, r.subject)
			}
			if m.From.Name != name || m.From.Email != "ivan@client.test" {
				t.Errorf("From = %+v", m.From)
			}
			if got := strings.TrimSpace(m.Text); got != r.body {
				t.Errorf("Text = %q, want %q", got, r.body)
			}
		})
	}
}

func TestParseUndeclared8Bit(t *testing.T) {
	// A raw koi8-r Subject and body with no charset anywhere (the RT gateway's
	// "russian-subject-no-content-type" case): guessed, never left as junk.
	koi := func(s string) string { b, _ := charmap.KOI8R.NewEncoder().Bytes([]byte(s)); return string(b) }
	cp := func(s string) string { b, _ := charmap.Windows1251.NewEncoder().Bytes([]byte(s)); return string(b) }
	rows := []struct{ raw, subject, text string }{
		{"From: a@b.test\r\nSubject: " + koi("тест тест") + "\r\n\r\n" + koi("привет, это проверка"), "тест тест", "привет, это проверка"},
		{"From: a@b.test\r\nSubject: " + cp("счёт на оплату") + "\r\n\r\n" + cp("оплатите, пожалуйста"), "счёт на оплату", "оплатите, пожалуйста"},
		{"From: a@b.test\r\nSubject: caf\xe9\r\n\r\nna\xefve", "café", "naïve"},
	}
	for i, r := range rows {
		m, err := Parse([]byte(r.raw))
		if err != nil {
			t.Fatalf("#%d: %v", i, err)
		}
		if m.Subject != r.subject || strings.TrimSpace(m.Text) != r.text {
			t.Errorf("#%d Subject, Text = %q, %q; want %q, %q", i, m.Subject, m.Text, r.subject, r.text)
		}
	}
}

func TestParseHTMLOnly(t *testing.T) {
	raw := "From: Ann <ann@client.test>\r\nSubject: =?UTF-8?B?0J/RgNC40LLQtdGC?=\r\nContent-Type: text/html; charset=windows-1251\r\n\r\n" +
		"<html><head><style>p{color:red}</style><script>alert(1)</script></head><body><p>" + cp1251("Добрый день,") +
		"</p><p>" + cp1251("касса <b>не</b> печатает&nbsp;чеки.") + "</p><blockquote>old</blockquote></body></html>"
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !m.FromHTML || m.Subject != "Привет" {
		t.Errorf("FromHTML = %v, Subject = %q", m.FromHTML, m.Subject)
	}
	for _, want := range []string{"Добрый день,", "касса *не* печатает чеки."} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("Text %q lacks %q", m.Text, want)
		}
	}
	if strings.Contains(m.Text, "alert") || strings.Contains(m.Text, "color") || strings.Contains(m.Text, "<") {
		t.Errorf("Text keeps markup, script or style: %q", m.Text)
	}
}

func cp1251(s string) string {
	b, _ := charmap.Windows1251.NewEncoder().Bytes([]byte(s))
	return string(b)
}

func TestParseAttachmentsAndAlternatives(t *testing.T) {
	raw := strings.ReplaceAll(`From: "Ann" <ann@client.test>
Subject: screenshot
Message-ID: < Abc@Client.Test >
In-Reply-To: <one@x.test> junk <two@x.test>
References: <r1@x.test>
 <r2@x.test>
Content-Type: multipart/mixed; boundary=OUT

--OUT
Content-Type: multipart/alternative; boundary=ALT

--ALT
Content-Type: text/plain; charset=utf-8; format=flowed

This line is soft 
wrapped.
> quoted
--ALT
Content-Type: multipart/related; boundary=REL

--REL
Content-Type: text/html; charset=utf-8

<p>HTML version <img src="cid:img1"></p>
--REL
Content-Type: image/png
Content-ID: <img1>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--REL--
--ALT--
--OUT
Content-Type: application/pdf; name="=?UTF-8?Q?=D0=A1=D1=87=D1=91=D1=82.pdf?="
Content-Disposition: attachment; filename*=windows-1251''%D1%F7%B8%F2%202.pdf
Content-Transfer-Encoding: base64

JVBERi0=
--OUT
Content-Type: text/plain; name="../../etc/passwd"
Content-Disposition: attachment; filename="../../etc/passwd"

root:x:0:0
--OUT--
`, "\n", "\r\n")
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(m.Text); got != "This line is soft wrapped.\n> quoted" {
		t.Errorf("Text = %q (plain alternative, unflowed)", got)
	}
	if m.MessageID != "Abc@Client.Test" || strings.Join(m.InReplyTo, ",") != "one@x.test,two@x.test" || strings.Join(m.References, ",") != "r1@x.test,r2@x.test" {
		t.Errorf("ids = %q %q %q", m.MessageID, m.InReplyTo, m.References)
	}
	var names []string
	for _, p := range m.Parts {
		names = append(names, fmt.Sprintf("%s|%s|%v|%d", p.Filename, p.ContentType, p.Inline, len(p.Data)))
	}
	want := []string{"|image/png|true|8", "Счёт 2.pdf|application/pdf|false|5", "../../etc/passwd|text/plain|false|10"}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("parts =\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseBroken(t *testing.T) {
	rows := map[string]struct {
		raw      string
		wantErr  bool
		wantText string
	}{
		"mbox From line":       {"From ann@x Mon Jan 1 00:00:00 2024\nFrom: ann@client.test\nSubject: x\n\nbody", false, "body"},
		"unindented fold":      {"From: ann@client.test\nSubject: first\nsecond half\n\nbody", false, "body"},
		"leading space":        {" From: ann@client.test\nSubject: x\n\nbody", false, "body"},
		"no sender":            {"Subject: x\n\nbody", true, ""},
		"from only in sender":  {"Sender: bob@client.test\nSubject: x\n\nbody", false, "body"},
		"garbage from":         {"From: MAILER-DAEMON <>\nReturn-Path: <bounce@mta.test>\nSubject: x\n\nbody", false, "body"},
		"unterminated":         {"From: a@b.test\nContent-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: text/plain\n\npart one\n--X\nContent-Type: text/plain\n\npart two", false, "part one\npart two"},
		"no boundary":          {"From: a@b.test\nContent-Type: multipart/mixed\n\nbody", false, ""},
		"bad base64":           {"From: a@b.test\nContent-Transfer-Encoding: base64\n\n!!!notbase64", false, ""},
		"unknown charset":      {"From: a@b.test\nContent-Type: text/plain; charset=x-fantasy\n\nplain ascii", false, "plain ascii"},
		"unknown encoding":     {"From: a@b.test\nContent-Transfer-Encoding: x-uuencode\n\nhello", false, "hello"},
		"NUL bytes":            {"From: a@b.test\nSubject: a\x00b\n\nte\x00xt", false, "text"},
		"not a mail at all":    {"\x00\x01\x02 binary junk", true, ""},
		"header only":          {"From: a@b.test", false, ""},
		"CRLF in encoded subj": {"From: a@b.test\nSubject: =?UTF-8?Q?hi=0D=0ABcc:_x@evil.test?=\n\nx", false, "x"},
	}
	for name, r := range rows {
		t.Run(name, func(t *testing.T) {
			m, err := Parse([]byte(r.raw))
			if (err != nil) != r.wantErr {
				t.Fatalf("Parse error = %v, want error %v", err, r.wantErr)
			}
			if err != nil {
				if !IsParseError(err) {
					t.Errorf("error %v is not a ParseError", err)
				}
				return
			}
			if got := strings.TrimSpace(m.Text); r.wantText != "" && got != r.wantText {
				t.Errorf("Text = %q, want %q", got, r.wantText)
			}
			if strings.ContainsAny(m.Subject, "\r\n\x00") || !utf8.ValidString(m.Subject) || !utf8.ValidString(m.Text) {
				t.Errorf("Subject %q or Text %q not clean UTF-8", m.Subject, m.Text)
			}
		})
	}
}

// TestParseCorpus reads the fixtures kept in testdata (copied from
// ../shared/corpus, see testdata/corpus/SOURCE.md): each parses or fails
// with a reason, and all text is valid UTF-8.
func TestParseCorpus(t *testing.T) {
	var files []string
	filepath.WalkDir("testdata/corpus", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if len(files) == 0 {
		t.Fatal("no corpus fixtures in testdata/corpus")
	}
	var parsed, refused int
	for _, f := range files {
		if strings.HasSuffix(f, ".md") || strings.HasSuffix(f, ".json") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(raw)
		if err != nil {
			if !IsParseError(err) {
				t.Errorf("%s: %v is not a ParseError", f, err)
			}
			refused++
			continue
		}
		parsed++
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) || !utf8.ValidString(m.From.Name) {
			t.Errorf("%s: invalid UTF-8 in subject %q or text", f, m.Subject)
		}
	}
	t.Logf("corpus: %d parsed, %d refused with a reason", parsed, refused)
}
