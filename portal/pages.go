package portal

import (
	"embed"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"strings"
	"time"

	"maildesk/tickets"
)

//go:embed pages/*.html
var pageFiles embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"priority": func(d pageData, v string) string { return d.fields.Priority.Label(v, d.Lang) },
	"t":        func(d pageData, key string) string { return text(d.Lang, key) },
	"status":   func(d pageData, s tickets.Status) string { return s.Label(d.Lang) },
	"date":     func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") },
	"size":     size,
	"rows":     func(d pageData, list []tickets.Ticket) rowsData { return rowsData{D: d, List: list} },
	"scores":   func() []int { return []int{1, 2, 3, 4, 5} },
}).ParseFS(pageFiles, "pages/*.html"))

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// pageData is what every page gets.
type pageData struct {
	Lang       string
	Session    *session
	CSRF       string
	Email      string
	Error      string
	Notice     string
	Mine       []tickets.Ticket
	Colleagues []tickets.Ticket
	Ticket     *tickets.Ticket
	Messages   []shownMessage
	CanWrite   bool
	fields     *tickets.Fields // for the labels of field values
}

type rowsData struct {
	D    pageData
	List []tickets.Ticket
}

type shownMessage struct {
	tickets.Message
	Author string
	Staff  bool
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, page string, d pageData) {
	if d.Session != nil {
		d.CSRF = d.Session.csrf
		d.Lang = "en"
		s.opts.Store.View(func(tx *tickets.Tx) error {
			if c, err := tx.Customer(d.Session.email); err == nil {
				d.Lang = c.Lang
			}
			return nil
		})
	} else {
		d.Lang = acceptLanguage(r.Header.Get("Accept-Language"))
	}
	if c, err := r.Cookie("maildesk_lang"); err == nil {
		if _, ok := texts[c.Value]; ok {
			d.Lang = c.Value // chosen on the page
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	d.fields = &s.opts.Desk.Config().Fields
	if err := pages.ExecuteTemplate(w, page+".html", d); err != nil {
		s.opts.Log.Error("portal page", "page", page, "err", err)
	}
}

// acceptLanguage picks ru, uk or en from an Accept-Language header.
func acceptLanguage(h string) string {
	for _, part := range strings.Split(h, ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "uk"):
			return "uk"
		case strings.HasPrefix(tag, "ru"):
			return "ru"
		case strings.HasPrefix(tag, "en"):
			return "en"
		}
	}
	return "en"
}

// mimeAttachment is a Content-Disposition that makes the browser save the
// file under its (sanitized) name instead of showing it.
func mimeAttachment(name string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return "attachment"
}
