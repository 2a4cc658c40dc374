package portal

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"maildesk/tickets"
)

type env struct {
	t     *testing.T
	store *tickets.Store
	desk  *tickets.Desk
	srv   *httptest.Server
	files *tickets.Blobs
	now   time.Time
	seq   int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	desk, err := tickets.NewDesk(tickets.Config{Name: "ACME Support", Address: "support@acme.test",
		Staff: []tickets.Staff{{Email: "alice@acme.test", Name: "Alice Smith"}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := tickets.Open(filepath.Join(dir, "maildesk.db"), tickets.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	files, _ := tickets.OpenBlobs(filepath.Join(dir, "files"))
	e := &env{t: t, store: store, desk: desk, files: files, now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	p := New(Options{Store: store, Desk: desk, Files: files, Organisations: []string{"bigcorp.test"}, Now: func() time.Time { return e.now }})
	e.srv = httptest.NewServer(p)
	t.Cleanup(e.srv.Close)
	return e
}

// customer registers email with password and opens a ticket with subject.
func (e *env) customer(email, password, subject string, files ...tickets.Attachment) tickets.Number {
	e.t.Helper()
	e.seq++
	id := fmt.Sprintf("m%d@client.test", e.seq)
	var out tickets.Outcome
	err := e.store.Update(func(tx *tickets.Tx) (err error) {
		in := &tickets.Incoming{Key: tickets.MailKey(id, ""), MessageID: id, From: tickets.Address{Email: email, Name: "Name " + email},
			Subject: subject, CleanSubject: subject, Text: "Help with " + subject, FullText: "Help with " + subject, Files: files}
		if out, err = e.desk.Receive(tx, in, e.now); err != nil {
			return err
		}
		return tx.SetCustomerPassword(email, tickets.HashPassword(tickets.Password(password)), e.now)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Ticket
}

// browser is a client with its own cookies, as one person's browser.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar}}
}

func (b *browser) get(path string) (int, string) {
	b.e.t.Helper()
	resp, err := b.c.Get(b.e.srv.URL + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// post submits a form found on page from, with its CSRF token.
func (b *browser) post(from, path string, form url.Values) (int, string) {
	b.e.t.Helper()
	_, page := b.get(from)
	if m := csrfField.FindStringSubmatch(page); m != nil && form.Get("csrf") == "" {
		form.Set("csrf", m[1])
	}
	resp, err := b.c.PostForm(b.e.srv.URL+path, form)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) login(email, password string) (int, string) {
	return b.post("/login", "/login", url.Values{"email": {email}, "password": {password}})
}

func TestLoginListAndTicket(t *testing.T) {
	e := newEnv(t)
	mine := e.customer("ann@client.test", "ann-password-1", "Printer <b>broken</b>")
	other := e.customer("bob@other.test", "bob-password-1", "Bob's secret")
	b := e.browser()
	if code, _ := b.get("/tickets"); code != 200 { // redirected to the login page
		t.Fatalf("anonymous /tickets = %d", code)
	}
	if code, body := b.login("ann@client.test", "wrong-password"); code != 401 || !strings.Contains(body, "The e-mail or the password is wrong.") {
		t.Fatalf("wrong password: %d", code)
	}
	// An unknown address gets the very same answer: no user enumeration.
	if code, body := b.login("nobody@client.test", "wrong-password"); code != 401 || !strings.Contains(body, "The e-mail or the password is wrong.") {
		t.Fatalf("unknown address: %d", code)
	}
	if code, body := b.login("Ann@Client.test", "ann-password-1"); code != 200 || !strings.Contains(body, "Printer &lt;b&gt;broken&lt;/b&gt;") {
		t.Fatalf("login: %d\n%s", code, body)
	}
	if _, body := b.get("/tickets"); strings.Contains(body, "Bob") {
		t.Error("another customer's ticket is listed")
	}
	if code, body := b.get(fmt.Sprintf("/tickets/%d", mine)); code != 200 || !strings.Contains(body, "Help with Printer") {
		t.Errorf("own ticket: %d", code)
	}
	for _, path := range []string{fmt.Sprintf("/tickets/%d", other), "/tickets/999", "/tickets/x"} {
		if code, _ := b.get(path); code != 404 {
			t.Errorf("GET %s = %d, want 404", path, code)
		}
	}
	if code, _ := b.post(fmt.Sprintf("/tickets/%d", mine), fmt.Sprintf("/tickets/%d/reply", other), url.Values{"text": {"let me in"}}); code != 404 {
		t.Errorf("reply to another's ticket = %d, want 404", code)
	}
}

func TestReplyCloseAndCSRF(t *testing.T) {
	e := newEnv(t)
	n := e.customer("ann@client.test", "ann-password-1", "Printer broken")
	b := e.browser()
	b.login("ann@client.test", "ann-password-1")
	page := fmt.Sprintf("/tickets/%d", n)

	// A form without the session's token changes nothing.
	resp, _ := b.c.PostForm(e.srv.URL+page+"/reply", url.Values{"text": {"forged"}, "csrf": {"wrong"}})
	if resp.StatusCode != 403 {
		t.Errorf("reply without a CSRF token = %d", resp.StatusCode)
	}
	if code, body := b.post(page, page+"/reply", url.Values{"text": {"Still jams on page 2."}}); code != 200 || !strings.Contains(body, "Still jams on page 2.") {
		t.Fatalf("reply: %d", code)
	}
	var thread []tickets.Message
	var outbox []tickets.Mail
	e.store.View(func(tx *tickets.Tx) error {
		thread, _ = tx.Thread(n)
		outbox, _ = tx.Outbox()
		return nil
	})
	if len(thread) != 2 || thread[1].Kind != tickets.KindCustomer || thread[1].From != "ann@client.test" {
		t.Errorf("thread after the portal reply: %+v", thread)
	}
	told := false
	for _, m := range outbox {
		told = told || (m.Template == "staff-update" && m.To == "alice@acme.test")
	}
	if !told {
		t.Error("staff were not told of the portal reply, as they are of a mail reply")
	}
	b.post(page, page+"/close", url.Values{})
	var tk *tickets.Ticket
	e.store.View(func(tx *tickets.Tx) (err error) { tk, err = tx.Ticket(n); return err })
	if tk.Status != tickets.StatusClosed {
		t.Errorf("status after close = %s", tk.Status)
	}
}

func TestColleaguesReadOnly(t *testing.T) {
	e := newEnv(t)
	n := e.customer("ann@bigcorp.test", "ann-password-1", "Office printer")
	e.customer("carl@bigcorp.test", "carl-password-1", "Carl's laptop")
	stranger := e.customer("eve@elsewhere.test", "eve-password-1", "Eve's")
	b := e.browser()
	b.login("carl@bigcorp.test", "carl-password-1")
	_, list := b.get("/tickets")
	if !strings.Contains(list, "Tickets of my colleagues") || !strings.Contains(list, "Office printer") || strings.Contains(list, "Eve") {
		t.Errorf("colleague list:\n%s", list)
	}
	page := fmt.Sprintf("/tickets/%d", n)
	if code, body := b.get(page); code != 200 || !strings.Contains(body, "you can read it, not answer it") || strings.Contains(body, "/reply") {
		t.Errorf("colleague's ticket: %d", code)
	}
	if code, _ := b.post(page, page+"/reply", url.Values{"text": {"me too"}}); code != 403 {
		t.Errorf("reply to a colleague's ticket = %d, want 403", code)
	}
	if code, _ := b.get(fmt.Sprintf("/tickets/%d", stranger)); code != 404 {
		t.Errorf("stranger's ticket = %d", code)
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t)
	e.customer("ann@client.test", "ann-password-1", "x")
	b := e.browser()
	for range maxFailures {
		b.login("ann@client.test", "guess")
	}
	if code, body := b.login("ann@client.test", "ann-password-1"); code != 429 || !strings.Contains(body, "Too many attempts") {
		t.Errorf("right password after %d failures = %d", maxFailures, code)
	}
	e.now = e.now.Add(failureWindow + time.Minute)
	if code, _ := b.login("ann@client.test", "ann-password-1"); code != 200 {
		t.Errorf("after the window = %d", code)
	}
}

func TestPasswordChangeAndForgot(t *testing.T) {
	e := newEnv(t)
	e.customer("ann@client.test", "ann-password-1", "x")
	b := e.browser()
	b.login("ann@client.test", "ann-password-1")
	if code, body := b.post("/password", "/password", url.Values{"current": {"ann-password-1"}, "new": {"short"}, "again": {"short"}}); code != 400 || !strings.Contains(body, "too short") {
		t.Errorf("short password: %d", code)
	}
	if code, body := b.post("/password", "/password", url.Values{"current": {"ann-password-1"}, "new": {"a-much-longer-one"}, "again": {"a-much-longer-one"}}); code != 200 || !strings.Contains(body, "Your password is changed.") {
		t.Errorf("change: %d", code)
	}
	fresh := e.browser()
	if code, _ := fresh.login("ann@client.test", "a-much-longer-one"); code != 200 {
		t.Errorf("login with the new password = %d", code)
	}
	// Forgot: the same answer for a registered and an unknown address;
	// only the registered one gets mail.
	anon := e.browser()
	_, known := anon.post("/forgot", "/forgot", url.Values{"email": {"ann@client.test"}})
	_, unknown := anon.post("/forgot", "/forgot", url.Values{"email": {"nobody@client.test"}})
	if !strings.Contains(known, "If the address is registered") || strings.ReplaceAll(known, "ann@client.test", "") != strings.ReplaceAll(unknown, "nobody@client.test", "") {
		t.Error("forgot-password answers differ between a registered and an unknown address")
	}
	var mails []tickets.Mail
	e.store.View(func(tx *tickets.Tx) (err error) { mails, err = tx.Outbox(); return err })
	n := 0
	for _, m := range mails {
		if m.Template == "password" {
			n++
			if m.To != "ann@client.test" {
				t.Errorf("password mail to %s", m.To)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d password mails, want 1", n)
	}
}

func TestAttachmentDownloadAndCookies(t *testing.T) {
	e := newEnv(t)
	data := []byte("<html><script>alert(1)</script></html>")
	key, err := e.files.Put(data)
	if err != nil {
		t.Fatal(err)
	}
	n := e.customer("ann@client.test", "ann-password-1", "with a file",
		tickets.Attachment{Name: "report.html", ContentType: "text/html", Size: int64(len(data)), SHA256: key})
	b := e.browser()

	// The login response sets the session cookie HttpOnly and SameSite=Lax,
	// Secure when the request came over TLS (here through a proxy).
	_, page := b.get("/login")
	form := url.Values{"email": {"ann@client.test"}, "password": {"ann-password-1"}, "csrf": {csrfField.FindStringSubmatch(page)[1]}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	u, _ := url.Parse(e.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	resp, err := (&http.Transport{}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := ""
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, sessionCookie+"=") {
			cookie = c
		}
	}
	for _, flag := range []string{"HttpOnly", "SameSite=Lax", "Secure"} {
		if !strings.Contains(cookie, flag) {
			t.Errorf("session cookie %q lacks %s", cookie, flag)
		}
	}

	b.login("ann@client.test", "ann-password-1")
	resp, err = b.c.Get(e.srv.URL + fmt.Sprintf("/tickets/%d/files/%s", n, key))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != string(data) || resp.Header.Get("Content-Disposition") != `attachment; filename=report.html` ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("download: %d %v", resp.StatusCode, resp.Header)
	}
	if code, _ := b.get(fmt.Sprintf("/tickets/%d/files/%s", n, strings.Repeat("a", 64))); code != 404 {
		t.Errorf("a file not on the ticket = %d, want 404", code)
	}
	other := e.customer("bob@other.test", "bob-password-1", "Bob's")
	if code, _ := b.get(fmt.Sprintf("/tickets/%d/files/%s", other, key)); code != 404 {
		t.Errorf("the file through another's ticket = %d, want 404", code)
	}
}

// "Is your problem solved?" and the rating, answered on the page, work as
// the same answers by mail.
func TestConfirmAndRate(t *testing.T) {
	e := newEnv(t)
	n := e.customer("ann@client.test", "ann-password-1", "Printer broken")
	e.store.Update(func(tx *tickets.Tx) error {
		_, err := e.desk.Command(tx, n, "alice", []string{"Status: resolved"}, "Replaced the roller.", e.now)
		return err
	})
	b := e.browser()
	b.login("ann@client.test", "ann-password-1")
	page := fmt.Sprintf("/tickets/%d", n)
	if _, body := b.get(page); !strings.Contains(body, "Is your problem solved?") || !strings.Contains(body, "Alice Smith") || strings.Contains(body, "alice@acme.test") {
		t.Fatalf("resolved ticket page:\n%s", body)
	}
	b.post(page, page+"/confirm", url.Values{})
	status := func() *tickets.Ticket {
		var tk *tickets.Ticket
		e.store.View(func(tx *tickets.Tx) (err error) { tk, err = tx.Ticket(n); return err })
		return tk
	}
	if tk := status(); tk.Status != tickets.StatusClosed || !tk.RatingAsked {
		t.Fatalf("after confirming: %s, rating asked %v", tk.Status, tk.RatingAsked)
	}
	if _, body := b.get(page); !strings.Contains(body, "Rate our answer") {
		t.Fatal("no rating form on a closed ticket")
	}
	if code, _ := b.post(page, page+"/rate", url.Values{"score": {"7"}}); code != 400 {
		t.Errorf("rating 7 = %d", code)
	}
	b.post(page, page+"/rate", url.Values{"score": {"5"}, "text": {"Quick and kind."}})
	if tk := status(); tk.Rating == nil || tk.Rating.Score != 5 || tk.Rating.Comment != "Quick and kind." {
		t.Errorf("rating = %+v", tk.Rating)
	}
}

func TestLanguageAndReopen(t *testing.T) {
	e := newEnv(t)
	n := e.customer("ann@client.test", "ann-password-1", "Printer broken")
	b := e.browser()
	req, _ := http.NewRequest("GET", e.srv.URL+"/login", nil)
	req.Header.Set("Accept-Language", "uk-UA,uk;q=0.9,en;q=0.5")
	resp, _ := b.c.Do(req)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Забули пароль?") {
		t.Error("the login page is not in the browser's language (uk)")
	}
	b.login("ann@client.test", "ann-password-1")
	if _, body := b.get("/tickets"); !strings.Contains(body, "My tickets") { // the customer's language: en
		t.Error("the list is not in the customer's language")
	}
	if _, body := b.get("/lang/ru"); !strings.Contains(body, "Мои заявки") || !strings.Contains(body, "Средний") {
		t.Error("the switch to Russian did not take (words or field labels)")
	}
	if code, _ := b.get("/lang/xx"); code != 404 {
		t.Errorf("/lang/xx = %d", code)
	}
	page := fmt.Sprintf("/tickets/%d", n)
	b.post(page, page+"/close", url.Values{})
	if _, body := b.get(page); !strings.Contains(body, "Открыть заявку снова") {
		t.Fatal("no reopen button on a closed ticket")
	}
	b.post(page, page+"/reopen", url.Values{})
	var tk *tickets.Ticket
	e.store.View(func(tx *tickets.Tx) (err error) { tk, err = tx.Ticket(n); return err })
	if tk.Status != tickets.StatusInProgress {
		t.Errorf("after reopening: %s", tk.Status)
	}
}

// Failed logins with ever new addresses do not grow the server's memory
// without end: expired entries are swept.
func TestFailuresAreSwept(t *testing.T) {
	e := newEnv(t)
	p := New(Options{Store: e.store, Desk: e.desk, Now: func() time.Time { return e.now }})
	for i := range sweepAt + 10 {
		p.fail(e.now, fmt.Sprintf("email:x%d@client.test", i))
	}
	e.now = e.now.Add(failureWindow)
	p.fail(e.now, "email:last@client.test")
	if n := len(p.failures); n != 1 {
		t.Errorf("%d failure records after the window, want 1", n)
	}
}
