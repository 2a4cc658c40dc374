// Package memmail is a small mail system inside one process, for `maildesk
// demo`, the tests and the benchmarks: an IMAP server (go-imap's
// imapmemserver) and an SMTP server (go-smtp) that delivers into it, both on
// loopback. SMTP delivery works like a real MDA: it adds Return-Path and
// Delivered-To and files the mail in the recipient's INBOX, with
// "user+tag@domain" going to "user". It records what IMAP clients ask for,
// so tests can assert on the protocol, and either server can be taken down
// and brought back to test outages.
package memmail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configure a System.
type Options struct {
	// Domain is the mail domain of the accounts. Default "example.test".
	Domain string
	// IMAPAddr and SMTPAddr default to 127.0.0.1:0 (a free port).
	IMAPAddr, SMTPAddr string
	// NoIdle leaves IDLE out of the IMAP capabilities, to test polling.
	NoIdle bool
	// NoMove leaves MOVE and UIDPLUS out, like an old IMAP4rev1 server.
	NoMove bool
	// Logger receives server errors; nil discards them.
	Logger *log.Logger
	// AcceptUnknown makes the SMTP server accept mail for addresses without
	// an account (recorded as delivered, filed nowhere), as a relay to the
	// world would: the benchmark mails thousands of customers.
	AcceptUnknown bool
	// OnDelivery, if set, is called with every mail the SMTP server accepted.
	OnDelivery func(Delivery)
}

// System is the running mail system.
type System struct {
	opts Options
	mem  *imapmemserver.Server

	mu        sync.Mutex
	users     map[string]*account // by local part
	imapSrv   *imapserver.Server
	imapAddr  string
	smtpSrv   *smtp.Server
	smtpAddr  string
	commands  []Command
	delivered []Delivery
	// Reject, if set, can refuse a recipient with an SMTP error (4xx or 5xx).
	reject func(from, to string) error
}

type account struct {
	user     *imapmemserver.User
	password string
}

// Command is an IMAP command a client sent, as the server understood it.
type Command struct {
	User string
	Name string // "FETCH", "SEARCH", "STORE", "MOVE", "SELECT", "LOGIN"
	Arg  string // the number set or mailbox
}

// Delivery is a mail the SMTP server accepted.
type Delivery struct {
	From string
	To   []string
	Data []byte
	At   time.Time
}

// Start starts both servers.
func Start(opts Options) (*System, error) {
	if opts.Domain == "" {
		opts.Domain = "example.test"
	}
	if opts.IMAPAddr == "" {
		opts.IMAPAddr = "127.0.0.1:0"
	}
	if opts.SMTPAddr == "" {
		opts.SMTPAddr = "127.0.0.1:0"
	}
	if opts.Logger == nil {
		opts.Logger = log.New(io.Discard, "", 0)
	}
	s := &System{opts: opts, mem: imapmemserver.New(), users: map[string]*account{}}
	if err := s.startIMAP(opts.IMAPAddr); err != nil {
		return nil, err
	}
	if err := s.startSMTP(opts.SMTPAddr); err != nil {
		s.imapSrv.Close()
		return nil, err
	}
	return s, nil
}

// Domain is the accounts' mail domain.
func (s *System) Domain() string { return s.opts.Domain }

// IMAPAddr is the IMAP server's host:port.
func (s *System) IMAPAddr() string { s.mu.Lock(); defer s.mu.Unlock(); return s.imapAddr }

// SMTPAddr is the SMTP server's host:port.
func (s *System) SMTPAddr() string { s.mu.Lock(); defer s.mu.Unlock(); return s.smtpAddr }

// Close stops both servers.
func (s *System) Close() {
	s.StopIMAP()
	s.StopSMTP()
}

// AddUser creates an account with an empty INBOX. name is the local part;
// the IMAP login is the full address.
func (s *System) AddUser(name, password string) error {
	address := name + "@" + s.opts.Domain
	u := imapmemserver.NewUser(address, password)
	if err := u.Create("INBOX", nil); err != nil {
		return err
	}
	s.mem.AddUser(u)
	s.mu.Lock()
	s.users[name] = &account{user: u, password: password}
	s.mu.Unlock()
	return nil
}

// Address is the full address of account name.
func (s *System) Address(name string) string { return name + "@" + s.opts.Domain }

func (s *System) account(address string) (*account, bool) {
	local, domain, ok := strings.Cut(strings.ToLower(address), "@")
	if !ok || domain != s.opts.Domain {
		return nil, false
	}
	local, _, _ = strings.Cut(local, "+")
	s.mu.Lock()
	defer s.mu.Unlock()
	a, found := s.users[local]
	return a, found
}

// Append files raw in mailbox of account name, as an APPEND would.
func (s *System) Append(name, mailbox string, raw []byte, flags ...imap.Flag) error {
	s.mu.Lock()
	a := s.users[name]
	s.mu.Unlock()
	if a == nil {
		return fmt.Errorf("memmail: no account %q", name)
	}
	_, err := a.user.Append(mailbox, bytes.NewReader(raw), &imap.AppendOptions{Flags: flags, Time: time.Now()})
	return err
}

// Deliver files raw in the INBOX of the account of address to, with the
// trace headers an MDA adds.
func (s *System) Deliver(from, to string, raw []byte) error {
	a, ok := s.account(to)
	if !ok {
		return fmt.Errorf("memmail: no mailbox for %q", to)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Return-Path: <%s>\r\nDelivered-To: %s\r\n", from, strings.ToLower(to))
	b.Write(raw)
	_, err := a.user.Append("INBOX", bytes.NewReader(b.Bytes()), &imap.AppendOptions{Time: time.Now()})
	return err
}

// RecreateMailbox deletes and creates mailbox again, empty and with a new
// UIDVALIDITY, as a server does after a restore or a rebuild.
func (s *System) RecreateMailbox(name, mailbox string) error {
	s.mu.Lock()
	a := s.users[name]
	s.mu.Unlock()
	if a == nil {
		return fmt.Errorf("memmail: no account %q", name)
	}
	if err := a.user.Delete(mailbox); err != nil {
		return err
	}
	return a.user.Create(mailbox, nil)
}

// Commands returns the IMAP commands received so far and forgets them.
func (s *System) Commands() []Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.commands
	s.commands = nil
	return out
}

func (s *System) record(user, name, arg string) {
	s.mu.Lock()
	s.commands = append(s.commands, Command{User: user, Name: name, Arg: arg})
	if len(s.commands) > 100000 {
		s.commands = s.commands[len(s.commands)-50000:]
	}
	s.mu.Unlock()
}

// Delivered returns the mails the SMTP server accepted so far.
func (s *System) Delivered() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.delivered...)
}

// SetReject installs fn to refuse recipients; nil accepts all known ones.
func (s *System) SetReject(fn func(from, to string) error) {
	s.mu.Lock()
	s.reject = fn
	s.mu.Unlock()
}

// Mailbox reads every mail in mailbox of account name over IMAP, as a mail
// client would, without changing flags.
func (s *System) Mailbox(name, mailbox string) ([][]byte, error) {
	s.mu.Lock()
	a := s.users[name]
	s.mu.Unlock()
	if a == nil {
		return nil, fmt.Errorf("memmail: no account %q", name)
	}
	c, err := imapclient.DialInsecure(s.IMAPAddr(), nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Login(s.Address(name), a.password).Wait(); err != nil {
		return nil, err
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil || sel.NumMessages == 0 {
		return nil, err
	}
	var set imap.SeqSet
	set.AddRange(1, sel.NumMessages)
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(set, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.FindBodySection(section))
	}
	return out, nil
}

// Flags returns the flags of every mail in mailbox of account name, by UID.
func (s *System) Flags(name, mailbox string) (map[imap.UID][]imap.Flag, error) {
	s.mu.Lock()
	a := s.users[name]
	s.mu.Unlock()
	if a == nil {
		return nil, fmt.Errorf("memmail: no account %q", name)
	}
	c, err := imapclient.DialInsecure(s.IMAPAddr(), nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Login(s.Address(name), a.password).Wait(); err != nil {
		return nil, err
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil || sel.NumMessages == 0 {
		return map[imap.UID][]imap.Flag{}, err
	}
	var set imap.SeqSet
	set.AddRange(1, sel.NumMessages)
	msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		return nil, err
	}
	out := map[imap.UID][]imap.Flag{}
	for _, m := range msgs {
		out[m.UID] = m.Flags
	}
	return out, nil
}

// --- IMAP ---

func (s *System) caps() imap.CapSet {
	caps := imap.CapSet{imap.CapIMAP4rev1: {}}
	if !s.opts.NoIdle && !s.opts.NoMove {
		caps[imap.CapIMAP4rev2] = struct{}{}
	}
	if !s.opts.NoIdle {
		caps[imap.CapIdle] = struct{}{}
	}
	if !s.opts.NoMove {
		caps[imap.CapMove] = struct{}{}
		caps[imap.CapUIDPlus] = struct{}{}
	}
	return caps
}

func (s *System) startIMAP(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("memmail imap: %w", err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &session{SessionIMAP4rev2: s.mem.NewSession().(imapserver.SessionIMAP4rev2), sys: s}, nil, nil
		},
		Caps:         s.caps(),
		InsecureAuth: true,
		Logger:       s.opts.Logger,
	})
	s.mu.Lock()
	s.imapSrv, s.imapAddr = srv, ln.Addr().String()
	s.mu.Unlock()
	go srv.Serve(ln)
	return nil
}

// StopIMAP closes the IMAP server and every connection; mail is kept.
func (s *System) StopIMAP() {
	s.mu.Lock()
	srv := s.imapSrv
	s.imapSrv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// StartIMAP starts the IMAP server again on the same address.
func (s *System) StartIMAP() error { return s.startIMAP(s.IMAPAddr()) }

// session records the commands tests assert on.
type session struct {
	imapserver.SessionIMAP4rev2
	sys  *System
	user string
}

func (r *session) Login(username, password string) error {
	r.user = username
	r.sys.record(username, "LOGIN", "")
	return r.SessionIMAP4rev2.Login(username, password)
}

func (r *session) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	r.sys.record(r.user, "SELECT", mailbox)
	return r.SessionIMAP4rev2.Select(mailbox, options)
}

func (r *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	r.sys.record(r.user, "FETCH", numSet.String())
	return r.SessionIMAP4rev2.Fetch(w, numSet, options)
}

func (r *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	r.sys.record(r.user, "SEARCH", "")
	return r.SessionIMAP4rev2.Search(kind, criteria, options)
}

func (r *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	r.sys.record(r.user, "STORE", numSet.String())
	return r.SessionIMAP4rev2.Store(w, numSet, flags, options)
}

// Idle also announces mail that arrived between the client's last command and
// IDLE: imapmemserver's own IDLE waits only for updates after it starts, so
// such mail would stay unannounced (Dovecot sends it at once). A flush right
// at the start, and every 100 ms while the inner IDLE runs, closes that gap.
func (r *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	done := make(chan error, 1)
	go func() { done <- r.SessionIMAP4rev2.Idle(w, stop) }()
	if err := r.SessionIMAP4rev2.Poll(w, true); err != nil {
		<-done
		return err
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if err := r.SessionIMAP4rev2.Poll(w, true); err != nil {
				<-done
				return err
			}
		}
	}
}

func (r *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	r.sys.record(r.user, "MOVE", numSet.String()+" "+dest)
	return r.SessionIMAP4rev2.Move(w, numSet, dest)
}

// --- SMTP ---

func (s *System) startSMTP(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("memmail smtp: %w", err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{sys: s}, nil }))
	srv.Domain = "mail." + s.opts.Domain
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	srv.MaxMessageBytes = 64 << 20
	srv.ErrorLog = s.opts.Logger
	s.mu.Lock()
	s.smtpSrv, s.smtpAddr = srv, ln.Addr().String()
	s.mu.Unlock()
	go srv.Serve(ln)
	return nil
}

// StopSMTP closes the SMTP server, as an outage would.
func (s *System) StopSMTP() {
	s.mu.Lock()
	srv := s.smtpSrv
	s.smtpSrv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// StartSMTP starts the SMTP server again on the same address.
func (s *System) StartSMTP() error { return s.startSMTP(s.SMTPAddr()) }

type smtpSession struct {
	sys  *System
	from string
	to   []string
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		a, ok := ss.sys.account(username)
		if !ok {
			a, ok = ss.sys.account(username + "@" + ss.sys.opts.Domain)
		}
		if !ok || a.password != password {
			return smtp.ErrAuthFailed
		}
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.sys.mu.Lock()
	reject := ss.sys.reject
	ss.sys.mu.Unlock()
	if reject != nil {
		if err := reject(ss.from, to); err != nil {
			return err
		}
	}
	if _, ok := ss.sys.account(to); !ok && !ss.sys.opts.AcceptUnknown {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user: " + to}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	var errs []error
	for _, to := range ss.to {
		if _, ok := ss.sys.account(to); ok {
			errs = append(errs, ss.sys.Deliver(ss.from, to, data))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: err.Error()}
	}
	d := Delivery{From: ss.from, To: ss.to, Data: data, At: time.Now()}
	ss.sys.mu.Lock()
	ss.sys.delivered = append(ss.sys.delivered, d)
	ss.sys.mu.Unlock()
	if ss.sys.opts.OnDelivery != nil {
		ss.sys.opts.OnDelivery(d)
	}
	return nil
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }
