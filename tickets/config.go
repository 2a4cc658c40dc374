package tickets

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Config is what the desk needs to decide. cmd/maildesk fills it from the
// config file; every zero value has a sensible default (see Defaults).
type Config struct {
	// Name is the helpdesk's name, shown in From lines ("Alice via ACME Support").
	Name string
	// Address is the support address customers write to.
	Address string
	// TagPrefix is what stands before the number in the subject tag:
	// "#" gives "[#123]", "ACME #" gives "[ACME #123]".
	TagPrefix string
	// DefaultLang is the language for customers whose mail does not tell.
	DefaultLang string
	Staff       []Staff
	// TeamAddress, if set, gets new-ticket notifications instead of every staff member.
	TeamAddress string
	// TrustFrom accepts a staff From header without authentication.
	// Only for closed networks where nobody can forge mail.
	TrustFrom bool
	// AutoCap is how many automatic mails one address gets per hour at most.
	AutoCap int
	// NotifyAttachLimit: customer attachments up to this size are attached to
	// staff notifications; bigger ones are listed with their size.
	NotifyAttachLimit int64

	Fields    Fields
	Lifecycle Lifecycle
	Hours     BusinessHours
}

// Staff is a member of the support team.
type Staff struct {
	Email string
	Name  string
	Lang  string
}

// Lifecycle holds the durations of the ticket lifecycle.
type Lifecycle struct {
	AutocloseAfter  time.Duration // a resolved ticket closes itself after this
	ReopenWithin    time.Duration // a reply to a closed ticket reopens it within this
	DuplicateWindow time.Duration // a same-subject mail joins a recent ticket within this
	RemindBefore    time.Duration // "due soon" reminder this long before the due time
	MaxExtension    time.Duration // the most one Due: +N command may add
	// Targets is the first-response target per priority, in business hours.
	Targets map[string]time.Duration
}

// Defaults fills every unset field of c.
func (c *Config) Defaults() {
	if c.TagPrefix == "" {
		c.TagPrefix = "#"
	}
	if c.DefaultLang == "" {
		c.DefaultLang = "en"
	}
	if c.Name == "" {
		c.Name = "Helpdesk"
	}
	if c.AutoCap == 0 {
		c.AutoCap = 5
	}
	if c.NotifyAttachLimit == 0 {
		c.NotifyAttachLimit = 5 << 20
	}
	c.Address = strings.ToLower(c.Address)
	c.TeamAddress = strings.ToLower(c.TeamAddress)
	for i := range c.Staff {
		c.Staff[i].Email = strings.ToLower(c.Staff[i].Email)
		if c.Staff[i].Lang == "" {
			c.Staff[i].Lang = c.DefaultLang
		}
		if c.Staff[i].Name == "" {
			c.Staff[i].Name = c.Staff[i].Email
		}
	}
	l := &c.Lifecycle
	setDefault(&l.AutocloseAfter, 7*24*time.Hour)
	setDefault(&l.ReopenWithin, 14*24*time.Hour)
	setDefault(&l.DuplicateWindow, 24*time.Hour)
	setDefault(&l.RemindBefore, time.Hour)
	setDefault(&l.MaxExtension, 72*time.Hour)
	if l.Targets == nil {
		l.Targets = map[string]time.Duration{}
	}
	for p, d := range defaultTargets {
		if _, ok := l.Targets[p]; !ok {
			l.Targets[p] = d
		}
	}
	c.Fields.defaults()
}

var defaultTargets = map[string]time.Duration{"blocker": 4 * time.Hour, "high": 8 * time.Hour, "medium": 24 * time.Hour}

func setDefault(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// Langs are the languages maildesk writes to people in.
var Langs = []string{"en", "ru", "uk"}

// Validate reports the first problem with c, naming the config key.
func (c *Config) Validate() error {
	var errs []error
	if _, err := mail.ParseAddress(c.Address); err != nil || !strings.Contains(c.Address, "@") {
		errs = append(errs, fmt.Errorf("helpdesk.address: %q is not an e-mail address", c.Address))
	}
	if !validLang(c.DefaultLang) {
		errs = append(errs, fmt.Errorf("helpdesk.language: %q is not one of %s", c.DefaultLang, strings.Join(Langs, ", ")))
	}
	if strings.ContainsAny(c.TagPrefix, "[]\r\n") || strings.ContainsAny(c.TagPrefix, "0123456789") {
		errs = append(errs, fmt.Errorf("helpdesk.subject_tag: %q may not contain brackets, digits or line breaks", c.TagPrefix))
	}
	seen := map[string]bool{}
	for i, s := range c.Staff {
		if _, err := mail.ParseAddress(s.Email); err != nil {
			errs = append(errs, fmt.Errorf("helpdesk.staff[%d].email: %q is not an e-mail address", i, s.Email))
		}
		if s.Email == c.Address {
			errs = append(errs, fmt.Errorf("helpdesk.staff[%d].email: the support address cannot be staff", i))
		}
		if seen[s.Email] {
			errs = append(errs, fmt.Errorf("helpdesk.staff[%d].email: %q is listed twice", i, s.Email))
		}
		seen[s.Email] = true
		if !validLang(s.Lang) {
			errs = append(errs, fmt.Errorf("helpdesk.staff[%d].language: %q is not one of %s", i, s.Lang, strings.Join(Langs, ", ")))
		}
	}
	if c.TeamAddress != "" {
		if _, err := mail.ParseAddress(c.TeamAddress); err != nil {
			errs = append(errs, fmt.Errorf("helpdesk.team_address: %q is not an e-mail address", c.TeamAddress))
		}
	}
	for p := range c.Lifecycle.Targets {
		switch name, ok := c.Fields.Priority.Canonical(p); {
		case !ok:
			errs = append(errs, fmt.Errorf("lifecycle.targets: %q is not a priority (%s)", p, strings.Join(c.Fields.Priority.Names(), ", ")))
		case name != p:
			errs = append(errs, fmt.Errorf("lifecycle.targets: write the priority's name %q, not %q", name, p))
		}
	}
	if err := c.Fields.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Hours.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func validLang(l string) bool {
	for _, x := range Langs {
		if l == x {
			return true
		}
	}
	return false
}

// Domain is the domain of the support address, used for Message-IDs.
func (c *Config) Domain() string {
	_, d, _ := strings.Cut(c.Address, "@")
	return d
}

// StaffByEmail finds a staff member by address.
func (c *Config) StaffByEmail(email string) (Staff, bool) {
	email = strings.ToLower(email)
	for _, s := range c.Staff {
		if s.Email == email {
			return s, true
		}
	}
	return Staff{}, false
}

// StaffByName finds a staff member by name, address or the address's local
// part, case-insensitively ("alice", "Alice Smith", "alice@example.com").
func (c *Config) StaffByName(who string) (Staff, bool) {
	who = strings.TrimSpace(who)
	for _, s := range c.Staff {
		local, _, _ := strings.Cut(s.Email, "@")
		if strings.EqualFold(who, s.Email) || strings.EqualFold(who, s.Name) || strings.EqualFold(who, local) {
			return s, true
		}
	}
	return Staff{}, false
}

// StaffName is the name a staff address is shown under.
func (c *Config) StaffName(email string) string {
	if s, ok := c.StaffByEmail(email); ok {
		return s.Name
	}
	return email
}
