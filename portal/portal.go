// Package portal is the customer's own page (portal.listen, off by
// default): log in with the mailed password, follow one's tickets and
// those of colleagues of the same organisation, read the thread, answer,
// close, and change or reset the password. Staff keep working by mail; the
// portal is for customers only.
//
// It is server-rendered with html/template and works without JavaScript.
// What a customer does here goes through the desk exactly as the same
// thing by mail, with the same mirror mails. Security, as users of a
// password page expect: passwords are checked in constant time against
// argon2id hashes (a dummy hash for unknown addresses, so timing does not
// tell who is registered); sessions are random tokens in an HttpOnly,
// SameSite=Lax cookie, Secure over TLS; every form carries a CSRF token;
// failed logins are limited per address and per IP; a ticket the customer
// may not see is a 404; attachments go out as attachments with nosniff.
package portal

import (
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"maildesk/tickets"
)

// Options configure a portal.
type Options struct {
	Store *tickets.Store
	Desk  *tickets.Desk
	Files *tickets.Blobs
	// Organisations are mail domains whose customers see each other's tickets.
	Organisations []string
	Log           *slog.Logger
	Now           func() time.Time
}

// Server is the portal's HTTP handler.
type Server struct {
	opts     Options
	mux      *http.ServeMux
	dummy    string // a hash to check against for unknown addresses
	mu       sync.Mutex
	sessions map[string]*session
	failures map[string][]time.Time // "email:"+address or "ip:"+ip -> failed logins
	resets   map[string]time.Time   // address -> last "forgot password"
}

type session struct {
	email   string
	csrf    string
	expires time.Time
}

const (
	sessionCookie = "maildesk_session"
	sessionLife   = 12 * time.Hour
	// maxFailures failed logins per address or per IP within failureWindow
	// lock further attempts until the window passes.
	maxFailures   = 5
	failureWindow = 15 * time.Minute
	minPassword   = 12
)

// New returns a portal server.
func New(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: o, mux: http.NewServeMux(), sessions: map[string]*session{}, failures: map[string][]time.Time{},
		resets: map[string]time.Time{}, dummy: tickets.HashPassword(tickets.NewPassword())}
	s.mux.HandleFunc("GET /{$}", s.home)
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.authed(s.logout))
	s.mux.HandleFunc("GET /tickets", s.authed(s.list))
	s.mux.HandleFunc("GET /tickets/{n}", s.authed(s.show))
	s.mux.HandleFunc("POST /tickets/{n}/{action}", s.authed(s.act))
	s.mux.HandleFunc("GET /tickets/{n}/files/{sha}", s.authed(s.file))
	s.mux.HandleFunc("GET /password", s.authed(s.passwordPage))
	s.mux.HandleFunc("POST /password", s.authed(s.changePassword))
	s.mux.HandleFunc("GET /forgot", s.forgotPage)
	s.mux.HandleFunc("POST /forgot", s.forgot)
	s.mux.HandleFunc("GET /lang/{lang}", s.setLang)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'")
	s.mux.ServeHTTP(w, r)
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// secure reports whether the request came over TLS, directly or through
// the team's reverse proxy.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// clientIP is the peer address (the proxy's, behind one: limits then apply
// to everyone behind it together, which errs on the safe side).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// preCSRF is the double-submit token of the forms shown before login.
func (s *Server) preCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie("maildesk_csrf"); err == nil && len(c.Value) > 20 {
		return c.Value
	}
	t := randomToken()
	http.SetCookie(w, &http.Cookie{Name: "maildesk_csrf", Value: t, Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	return t
}

// staleForm refuses a form whose CSRF token does not match.
func staleForm(w http.ResponseWriter) {
	http.Error(w, "Forbidden: the form is out of date; reload the page", http.StatusForbidden)
}

func checkPreCSRF(r *http.Request) bool {
	c, err := r.Cookie("maildesk_csrf")
	return err == nil && c.Value != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) == 1
}

// authed runs h for a logged-in customer, checking the CSRF token of a POST.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.session(r)
		if sess == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		if r.Method == http.MethodPost && subtle.ConstantTimeCompare([]byte(sess.csrf), []byte(r.PostFormValue("csrf"))) != 1 {
			staleForm(w)
			return
		}
		h(w, r, sess)
	}
}

func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[c.Value]
	if sess == nil || s.opts.Now().After(sess.expires) {
		delete(s.sessions, c.Value)
		return nil
	}
	return sess
}

// limited reports whether key had maxFailures failed logins within the window.
func (s *Server) limited(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	recent := s.failures[key][:0]
	for _, t := range s.failures[key] {
		if now.Sub(t) < failureWindow {
			recent = append(recent, t)
		}
	}
	s.failures[key] = recent
	return len(recent) >= maxFailures
}

func (s *Server) fail(now time.Time, keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		s.failures[k] = append(s.failures[k], now)
	}
	s.sweep(now)
}

// sweepAt is the size at which the in-memory maps are swept: otherwise
// failed logins with made-up addresses would grow them without end.
const sweepAt = 10000

// sweep drops what has expired once a map grows large. s.mu is held.
func (s *Server) sweep(now time.Time) {
	if len(s.failures) > sweepAt {
		for k, ts := range s.failures {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= failureWindow {
				delete(s.failures, k)
			}
		}
	}
	if len(s.resets) > sweepAt {
		for k, t := range s.resets {
			if now.Sub(t) >= failureWindow {
				delete(s.resets, k)
			}
		}
	}
	if len(s.sessions) > sweepAt {
		for k, sess := range s.sessions {
			if now.After(sess.expires) {
				delete(s.sessions, k)
			}
		}
	}
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if s.session(r) != nil {
		http.Redirect(w, r, "/tickets", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "login", pageData{CSRF: s.preCSRF(w, r)})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !checkPreCSRF(r) {
		staleForm(w)
		return
	}
	now := s.opts.Now()
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	password := tickets.Password(r.PostFormValue("password"))
	ipKey, emailKey := "ip:"+clientIP(r), "email:"+email
	data := pageData{CSRF: s.preCSRF(w, r), Email: email}
	if s.limited(ipKey, now) || s.limited(emailKey, now) {
		data.Error = "tooMany"
		w.WriteHeader(http.StatusTooManyRequests)
		s.render(w, r, "login", data)
		return
	}
	hash := s.dummy
	var c *tickets.Customer
	s.opts.Store.View(func(tx *tickets.Tx) (err error) { c, err = tx.Customer(email); return err })
	if c != nil && c.PasswordHash != "" {
		hash = c.PasswordHash
	}
	// Always one argon2id check: the time does not tell who is registered.
	ok := tickets.CheckPassword(hash, password) && c != nil && c.PasswordHash != ""
	if !ok {
		s.fail(now, ipKey, emailKey)
		s.opts.Log.Info("portal login failed", "ip", clientIP(r))
		data.Error = "badLogin"
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, r, "login", data)
		return
	}
	token := randomToken()
	s.mu.Lock()
	s.sessions[token] = &session{email: c.Email, csrf: randomToken(), expires: now.Add(sessionLife)}
	s.sweep(now)
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(sessionLife.Seconds())})
	http.Redirect(w, r, "/tickets", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *session) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// organisation is the configured organisation domain of email, or "".
func (s *Server) organisation(email string) string {
	_, domain, _ := strings.Cut(email, "@")
	for _, org := range s.opts.Organisations {
		if domain != "" && strings.EqualFold(org, domain) {
			return strings.ToLower(org)
		}
	}
	return ""
}

// colleagues reports whether a and b belong to one configured organisation.
func (s *Server) colleagues(a, b string) bool {
	org := s.organisation(a)
	return org != "" && org == s.organisation(b)
}

// access is what email may do with t: see it, and write to it.
func (s *Server) access(email string, t *tickets.Ticket) (see, write bool) {
	if t.Customer == email {
		return true, true
	}
	for _, p := range t.Participants {
		if strings.EqualFold(p, email) {
			return true, true
		}
	}
	return s.colleagues(email, t.Customer), false
}

// list shows the customer's tickets and their colleagues', read through
// the customer index: a page view costs the tickets shown, not the store.
func (s *Server) list(w http.ResponseWriter, r *http.Request, sess *session) {
	var mine, theirs []tickets.Ticket
	err := s.opts.Store.View(func(tx *tickets.Tx) error {
		load := func(email string, into *[]tickets.Ticket) error {
			for _, n := range tx.CustomerTickets(email) {
				t, err := tx.Ticket(n)
				if err != nil {
					return err
				}
				*into = append(*into, *t)
			}
			return nil
		}
		if err := load(sess.email, &mine); err != nil {
			return err
		}
		if org := s.organisation(sess.email); org != "" {
			for _, colleague := range tx.CustomersOfDomain(org) {
				if colleague == sess.email {
					continue
				}
				if err := load(colleague, &theirs); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		s.serverError(w, err)
		return
	}
	newestFirst := func(a, b tickets.Ticket) int { return cmp.Compare(b.Number, a.Number) }
	slices.SortFunc(mine, newestFirst)
	slices.SortFunc(theirs, newestFirst)
	s.render(w, r, "list", pageData{Session: sess, Mine: mine, Colleagues: theirs})
}

// ticketFor loads ticket n if sess may see it; otherwise it answers 404
// (not 403: a number that is not yours does not exist for you).
func (s *Server) ticketFor(w http.ResponseWriter, r *http.Request, sess *session) (*tickets.Ticket, []tickets.Message, bool, bool) {
	n, err := strconv.ParseUint(r.PathValue("n"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return nil, nil, false, false
	}
	var t *tickets.Ticket
	var thread []tickets.Message
	err = s.opts.Store.View(func(tx *tickets.Tx) (err error) {
		if t, err = tx.Ticket(tickets.Number(n)); err != nil {
			return err
		}
		thread, err = tx.Thread(t.Number)
		return err
	})
	if err != nil {
		if !errors.Is(err, tickets.ErrNotFound) {
			s.serverError(w, err)
		} else {
			http.NotFound(w, r)
		}
		return nil, nil, false, false
	}
	see, write := s.access(sess.email, t)
	if !see {
		http.NotFound(w, r)
		return nil, nil, false, false
	}
	// The customer sees what was said to and by them, never notes or
	// maildesk's own records.
	var public []tickets.Message
	for _, m := range thread {
		if m.Kind == tickets.KindCustomer || m.Kind == tickets.KindStaff {
			public = append(public, m)
		}
	}
	return t, public, write, true
}

func (s *Server) show(w http.ResponseWriter, r *http.Request, sess *session) {
	t, thread, write, ok := s.ticketFor(w, r, sess)
	if !ok {
		return
	}
	var msgs []shownMessage
	for _, m := range thread {
		sm := shownMessage{Message: m, Author: m.FromName}
		if m.Kind == tickets.KindStaff {
			sm.Author = m.FromName // a name only: staff addresses stay inside
			sm.Staff = true
		} else if sm.Author == "" {
			sm.Author = m.From
		}
		msgs = append(msgs, sm)
	}
	d := pageData{Session: sess, Ticket: t, Messages: msgs, CanWrite: write}
	if r.URL.Query().Get("done") != "" {
		d.Notice = "done"
	}
	s.render(w, r, "ticket", d)
}

// act does what a ticket page's forms ask, as the same mail would.
func (s *Server) act(w http.ResponseWriter, r *http.Request, sess *session) {
	t, _, write, ok := s.ticketFor(w, r, sess)
	if !ok {
		return
	}
	if !write {
		http.Error(w, "Forbidden: you can read this ticket, not answer it", http.StatusForbidden)
		return
	}
	msg := strings.TrimSpace(r.PostFormValue("text"))
	// The buttons write what the customer would write by mail, in their
	// language, so the thread reads the same either way.
	lang := "en"
	s.opts.Store.View(func(tx *tickets.Tx) error {
		if c, err := tx.Customer(sess.email); err == nil {
			lang = c.Lang
		}
		return nil
	})
	switch r.PathValue("action") {
	case "reply":
		if msg == "" {
			http.Redirect(w, r, fmt.Sprintf("/tickets/%d", t.Number), http.StatusSeeOther)
			return
		}
	case "close":
		msg = strings.TrimSpace(text(lang, "cmdClose") + "\n\n" + msg)
	case "reopen":
		// Any answer to a closed ticket reopens it (within
		// lifecycle.reopen_within; later it opens a linked one).
		if msg == "" {
			msg = text(lang, "cmdReopen")
		}
	case "confirm":
		msg = strings.TrimSpace(text(lang, "cmdYes") + "\n\n" + msg)
	case "notquite":
		if msg == "" {
			msg = text(lang, "cmdNotQuite")
		}
	case "rate":
		score, err := strconv.Atoi(r.PostFormValue("score"))
		if err != nil || score < 1 || score > 5 {
			http.Error(w, "Bad request: a rating is 1 to 5", http.StatusBadRequest)
			return
		}
		msg = strings.TrimSpace(fmt.Sprintf("%d %s", score, msg))
	default:
		http.NotFound(w, r)
		return
	}
	if err := s.receive(sess, t, msg); err != nil {
		s.serverError(w, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/tickets/%d?done=%s", t.Number, r.PathValue("action")), http.StatusSeeOther)
}

// receive hands the desk a portal answer as if it had come by mail.
func (s *Server) receive(sess *session, t *tickets.Ticket, text string) error {
	id := randomToken() + "@portal"
	in := &tickets.Incoming{
		Key: tickets.MailKey(id, ""), MessageID: id, From: tickets.Address{Email: sess.email},
		Subject: fmt.Sprintf("Re: [#%d] %s", t.Number, t.Subject), CleanSubject: t.Subject, Tag: t.Number,
		Text: text, FullText: text, Date: s.opts.Now(),
	}
	return s.opts.Store.Update(func(tx *tickets.Tx) error {
		if c, err := tx.Customer(sess.email); err == nil {
			in.From.Name = c.Name
		}
		_, err := s.opts.Desk.Receive(tx, in, s.opts.Now())
		return err
	})
}

func (s *Server) file(w http.ResponseWriter, r *http.Request, sess *session) {
	_, thread, _, ok := s.ticketFor(w, r, sess)
	if !ok {
		return
	}
	sha := r.PathValue("sha")
	for _, m := range thread {
		for _, f := range m.Files {
			if f.SHA256 != sha {
				continue
			}
			data, err := s.opts.Files.Read(sha)
			if err != nil {
				s.serverError(w, err)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", mimeAttachment(f.Name))
			w.Write(data)
			return
		}
	}
	http.NotFound(w, r)
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, r, "password", pageData{Session: sess})
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, sess *session) {
	current := tickets.Password(r.PostFormValue("current"))
	fresh := r.PostFormValue("new")
	data := pageData{Session: sess}
	var c *tickets.Customer
	s.opts.Store.View(func(tx *tickets.Tx) (err error) { c, err = tx.Customer(sess.email); return err })
	switch {
	case c == nil || !tickets.CheckPassword(c.PasswordHash, current):
		data.Error = "badCurrent"
	case len([]rune(fresh)) < minPassword:
		data.Error = "tooShort"
	case fresh != r.PostFormValue("again"):
		data.Error = "mismatch"
	}
	if data.Error != "" {
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, "password", data)
		return
	}
	hash := tickets.HashPassword(tickets.Password(fresh))
	if err := s.opts.Store.Update(func(tx *tickets.Tx) error { return tx.SetCustomerPassword(sess.email, hash, s.opts.Now()) }); err != nil {
		s.serverError(w, err)
		return
	}
	data.Notice = "passwordChanged"
	s.render(w, r, "password", data)
}

func (s *Server) forgotPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "forgot", pageData{CSRF: s.preCSRF(w, r)})
}

// forgot mails a new password to a registered address. The answer is the
// same whether or not the address is registered.
func (s *Server) forgot(w http.ResponseWriter, r *http.Request) {
	if !checkPreCSRF(r) {
		staleForm(w)
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	now := s.opts.Now()
	s.mu.Lock()
	last := s.resets[email]
	recent := !last.IsZero() && now.Sub(last) < failureWindow
	if !recent {
		s.resets[email] = now
	}
	s.sweep(now)
	s.mu.Unlock()
	if !recent && !s.limited("ip:"+clientIP(r), now) {
		s.fail(now, "ip:"+clientIP(r)) // resets count against the IP like failed logins
		err := s.opts.Store.Update(func(tx *tickets.Tx) error {
			_, err := s.opts.Desk.ResetPassword(tx, email, now)
			if errors.Is(err, tickets.ErrNotFound) {
				return nil
			}
			return err
		})
		if err != nil {
			s.serverError(w, err)
			return
		}
	}
	s.render(w, r, "forgot", pageData{CSRF: s.preCSRF(w, r), Notice: "resetSent"})
}

func (s *Server) serverError(w http.ResponseWriter, err error) {
	s.opts.Log.Error("portal", "err", err)
	http.Error(w, "Something went wrong on our side; please try again later.", http.StatusInternalServerError)
}

// setLang remembers the language the customer chose on the page.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if _, ok := texts[lang]; !ok {
		http.NotFound(w, r)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "maildesk_lang", Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	back := "/"
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && strings.HasPrefix(ref.Path, "/") {
		back = ref.Path // only back to a page of ours
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
