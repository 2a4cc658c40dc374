// Package templates renders the mails maildesk sends, in English, Russian
// and Ukrainian. Each mail is one file per language, <lang>/<name>.tmpl,
// defining three blocks: "subject" and "text" (text/template) and
// "content", the HTML body placed into layout.tmpl (html/template, which
// escapes everything a customer wrote). Files starting with "_" hold
// partials shared by a language's mails.
//
// The files are embedded in the binary; a folder named in templates.dir can
// replace any of them, file by file, with the same layout.
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"maildesk/tickets"
)

//go:embed layout.tmpl all:en all:ru all:uk
var embedded embed.FS

// Options configure a Set.
type Options struct {
	// Dir, if set, is a folder whose files replace the embedded ones.
	Dir string
	// Fields give the labels of ticket field values.
	Fields *tickets.Fields
	// Location is the time zone dates are written in.
	Location *time.Location
	// TagPrefix is the ticket tag's prefix ("#").
	TagPrefix string
}

// Set is every template in every language, parsed and checked.
type Set struct {
	opts  Options
	names []string
	text  map[string]*texttemplate.Template // by "lang/name"
	html  map[string]*htmltemplate.Template
}

// Data is what a template sees.
type Data struct {
	tickets.MailData
	Lang     string
	Helpdesk Helpdesk
	// To and ToName are the recipient.
	To, ToName string
	// Password is the clear-text password of a welcome or password mail.
	Password string
	// Target is the first-response target of the ticket's priority.
	Target time.Duration
	// AutocloseAfter and ReopenWithin are the lifecycle's durations, for
	// the mails that promise them.
	AutocloseAfter, ReopenWithin time.Duration
}

// Helpdesk describes the helpdesk itself to templates.
type Helpdesk struct {
	Name    string
	Address string
	// PortalURL is the customer page, if there is one.
	PortalURL string
}

// Rendered is a rendered mail.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

// Load parses every template. It fails, naming the file, if a template does
// not parse or is missing in one of the languages.
func Load(opts Options) (*Set, error) {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.TagPrefix == "" {
		opts.TagPrefix = "#"
	}
	if opts.Fields == nil {
		var c tickets.Config
		c.Defaults()
		opts.Fields = &c.Fields
	}
	s := &Set{opts: opts, text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	names, err := fs.Glob(embedded, "en/*.tmpl")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if base := path.Base(n); !strings.HasPrefix(base, "_") {
			s.names = append(s.names, strings.TrimSuffix(base, ".tmpl"))
		}
	}
	layout, err := s.read("layout.tmpl")
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, lang := range tickets.Langs {
		common, err := s.read(lang + "/_common.tmpl")
		if err != nil {
			return nil, err
		}
		for _, name := range s.names {
			if err := s.parse(lang, name, layout, common); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return s, errors.Join(errs...)
}

// Names lists the templates.
func (s *Set) Names() []string { return slices.Clone(s.names) }

// read returns a file from the override folder if it has it, else the embedded one.
func (s *Set) read(name string) (string, error) {
	if s.opts.Dir != "" {
		b, err := os.ReadFile(filepath.Join(s.opts.Dir, filepath.FromSlash(name)))
		if err == nil {
			return string(b), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("templates.dir: %w", err)
		}
	}
	b, err := embedded.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return string(b), nil
}

func (s *Set) parse(lang, name, layout, common string) error {
	file := lang + "/" + name + ".tmpl"
	src, err := s.read(file)
	if err != nil {
		return fmt.Errorf("template %s is missing: %w", file, err)
	}
	funcs := s.funcs(lang)
	tt, err := texttemplate.New(file).Funcs(funcs).Parse(common + src)
	if err != nil {
		return fmt.Errorf("template %s: %w", file, err)
	}
	ht, err := htmltemplate.New(file).Funcs(funcs).Parse(layout + common + src)
	if err != nil {
		return fmt.Errorf("template %s: %w", file, err)
	}
	for _, block := range []string{"text", "content"} {
		if tt.Lookup(block) == nil {
			return fmt.Errorf("template %s: no %q block", file, block)
		}
	}
	s.text[lang+"/"+name], s.html[lang+"/"+name] = tt, ht
	return nil
}

// Render renders template name in lang with data.
func (s *Set) Render(name, lang string, data *Data) (*Rendered, error) {
	key := lang + "/" + name
	tt, ok := s.text[key]
	if !ok {
		return nil, fmt.Errorf("no template %q in language %q", name, lang)
	}
	data.Lang = lang
	var subject, text, html bytes.Buffer
	if tt.Lookup("subject") != nil {
		if err := tt.ExecuteTemplate(&subject, "subject", data); err != nil {
			return nil, fmt.Errorf("render %s subject: %w", key, err)
		}
	} else if data.Ticket != nil {
		fmt.Fprintf(&subject, "%s %s", s.tag(data.Ticket.Number), data.Ticket.Subject)
	}
	if err := tt.ExecuteTemplate(&text, "text", data); err != nil {
		return nil, fmt.Errorf("render %s text: %w", key, err)
	}
	if err := s.html[key].ExecuteTemplate(&html, "layout", data); err != nil {
		return nil, fmt.Errorf("render %s html: %w", key, err)
	}
	return &Rendered{Subject: oneLine(subject.String()), Text: tidyText(text.String()), HTML: html.String()}, nil
}

func (s *Set) tag(n tickets.Number) string { return "[" + s.opts.TagPrefix + n.String() + "]" }

// oneLine makes a header value of s: no line breaks or control characters,
// so that nothing a customer wrote into a subject can add a header.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// tidyText trims trailing spaces and collapses runs of blank lines that
// conditional blocks leave behind.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			if blank++; blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}

func (s *Set) funcs(lang string) map[string]any {
	return map[string]any{
		"status": func(st tickets.Status) string { return st.Label(lang) },
		"field": func(key, value string) string {
			if f := s.opts.Fields.ByKey(key); f != nil {
				return f.Label(value, lang)
			}
			return value
		},
		"fieldname": func(key string) string { return fieldNames[lang][key] },
		"date":      func(t time.Time) string { return formatDate(lang, t, s.opts.Location) },
		"duration":  func(d time.Duration) string { return formatDuration(lang, d) },
		"size":      func(n int64) string { return formatSize(lang, n) },
		"tag":       func(n tickets.Number) string { return s.tag(n) },
		"quote": func(text string) string {
			lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
			for i, l := range lines {
				lines[i] = strings.TrimRight("> "+l, " ")
			}
			return strings.Join(lines, "\n")
		},
		"paragraphs": func(text string) []string {
			var out []string
			for _, p := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
			return out
		},
		"lines": func(text string) []string { return strings.Split(text, "\n") },
		"plural": func(n int, one, few, many string) string {
			if lang == "en" {
				if n == 1 {
					return one
				}
				return many
			}
			return plural(n, one, few, many)
		},
	}
}
