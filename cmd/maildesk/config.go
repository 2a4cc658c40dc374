package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"maildesk/tickets"
)

// Config is the config file, as written by the admin. viper lives only in
// this file; the packages get their own option structs built from it.
type Config struct {
	Helpdesk  HelpdeskConfig  `mapstructure:"helpdesk"`
	IMAP      IMAPConfig      `mapstructure:"imap"`
	SMTP      SMTPConfig      `mapstructure:"smtp"`
	Store     StoreConfig     `mapstructure:"store"`
	Templates TemplatesConfig `mapstructure:"templates"`
	Limits    LimitsConfig    `mapstructure:"limits"`
	Lifecycle LifecycleConfig `mapstructure:"lifecycle"`
	Hours     HoursConfig     `mapstructure:"hours"`
	Fields    FieldsConfig    `mapstructure:"fields"`
	Log       LogConfig       `mapstructure:"log"`
	HTTP      HTTPConfig      `mapstructure:"http"`
	Portal    PortalConfig    `mapstructure:"portal"`

	path string
}

type HelpdeskConfig struct {
	Name       string        `mapstructure:"name"`
	Address    string        `mapstructure:"address"`
	SubjectTag string        `mapstructure:"subject_tag"`
	Language   string        `mapstructure:"language"`
	Staff      []StaffConfig `mapstructure:"staff"`
	// TeamAddress gets new-ticket notifications instead of each staff member.
	TeamAddress string `mapstructure:"team_address"`
	// TrustFrom believes a staff From without authentication: closed networks only.
	TrustFrom bool `mapstructure:"trust_from"`
	// TrustedAuthServIDs are our receiving servers' authserv-ids in Authentication-Results.
	TrustedAuthServIDs []string `mapstructure:"trusted_authserv_ids"`
	// AutoReplyLimit caps automatic mails to one address per hour.
	AutoReplyLimit int `mapstructure:"auto_reply_limit"`
}

// HTTPConfig is the optional listener for monitoring: /healthz and /metrics.
type HTTPConfig struct {
	Listen string `mapstructure:"listen"` // host:port; empty for none
}

// PortalConfig is the customers' own page, off unless Listen is set.
type PortalConfig struct {
	Listen string `mapstructure:"listen"` // host:port, e.g. 127.0.0.1:8080 behind a reverse proxy
	// URL is where customers reach it (mails link to it).
	URL string `mapstructure:"url"`
	// Organisations are mail domains whose customers see each other's tickets.
	Organisations []string `mapstructure:"organisations"`
}

type StaffConfig struct {
	Email    string `mapstructure:"email"`
	Name     string `mapstructure:"name"`
	Language string `mapstructure:"language"`
}

type IMAPConfig struct {
	Host              string        `mapstructure:"host"`
	Port              int           `mapstructure:"port"`
	Security          string        `mapstructure:"security"`
	Username          string        `mapstructure:"username"`
	Password          string        `mapstructure:"password"`
	PasswordFile      string        `mapstructure:"password_file"`
	PasswordCommand   string        `mapstructure:"password_command"`
	TLSCAFile         string        `mapstructure:"tls_ca_file"`
	Mailbox           string        `mapstructure:"mailbox"`
	ProcessedMailbox  string        `mapstructure:"processed_mailbox"`
	QuarantineMailbox string        `mapstructure:"quarantine_mailbox"`
	PollInterval      time.Duration `mapstructure:"poll_interval"`
	IdleRefresh       time.Duration `mapstructure:"idle_refresh"`
	MaxMessageSize    ByteSize      `mapstructure:"max_message_size"`
	OAuth2            OAuth2Config  `mapstructure:"oauth2"`
}

type SMTPConfig struct {
	Host            string        `mapstructure:"host"`
	Port            int           `mapstructure:"port"`
	Security        string        `mapstructure:"security"`
	Username        string        `mapstructure:"username"`
	Password        string        `mapstructure:"password"`
	PasswordFile    string        `mapstructure:"password_file"`
	PasswordCommand string        `mapstructure:"password_command"`
	TLSCAFile       string        `mapstructure:"tls_ca_file"`
	HELO            string        `mapstructure:"helo"`
	RetryFor        time.Duration `mapstructure:"retry_for"`
	// VERP sends with support+b.<id>.<mac>@domain as return path, so bounces
	// name the mail they are for. Needs plus-addressing on the mailbox.
	VERP   bool         `mapstructure:"verp"`
	OAuth2 OAuth2Config `mapstructure:"oauth2"`
}

// OAuth2Config gets an access token for XOAUTH2 (Gmail, Microsoft 365):
// from a command, or from a refresh token at the provider's token URL.
type OAuth2Config struct {
	// TokenCommand prints an access token, as mail clients like aerc and
	// mbsync do; it runs before every connection.
	TokenCommand string `mapstructure:"token_command"`
	// Mechanism is xoauth2 (the default; Gmail, Microsoft 365) or
	// oauthbearer (RFC 7628).
	Mechanism string `mapstructure:"mechanism"`
	// The refresh-token flow (golang.org/x/oauth2): the app's client ID and
	// secret, the provider's token URL, and a refresh token got once with
	// the provider's consent screen. A refresh token the provider rotates is
	// written back to RefreshTokenFile.
	ClientID         string   `mapstructure:"client_id"`
	ClientSecret     string   `mapstructure:"client_secret"`
	ClientSecretFile string   `mapstructure:"client_secret_file"`
	TokenURL         string   `mapstructure:"token_url"`
	RefreshToken     string   `mapstructure:"refresh_token"`
	RefreshTokenFile string   `mapstructure:"refresh_token_file"`
	Scopes           []string `mapstructure:"scopes"`
}

func (o OAuth2Config) oauthBearer() bool { return strings.EqualFold(o.Mechanism, "oauthbearer") }

func (o OAuth2Config) enabled() bool {
	return o.TokenCommand != "" || o.RefreshToken != "" || o.RefreshTokenFile != ""
}

// check names what is missing or contradictory under key (imap.oauth2, smtp.oauth2).
func (o OAuth2Config) check(key string, bad func(key, format string, args ...any)) {
	refresh := o.RefreshToken != "" || o.RefreshTokenFile != ""
	if m := strings.ToLower(o.Mechanism); m != "" && m != "xoauth2" && m != "oauthbearer" {
		bad(key+".mechanism", "%q is not xoauth2 or oauthbearer", o.Mechanism)
	}
	switch {
	case o.TokenCommand != "" && refresh:
		bad(key+".token_command", "give either a token_command or a refresh token, not both")
	case refresh && o.ClientID == "":
		bad(key+".client_id", "required with a refresh token")
	case refresh && o.TokenURL == "":
		bad(key+".token_url", "required with a refresh token (Google: https://oauth2.googleapis.com/token, Microsoft: https://login.microsoftonline.com/common/oauth2/v2.0/token)")
	}
	for k, f := range map[string]string{".refresh_token_file": o.RefreshTokenFile, ".client_secret_file": o.ClientSecretFile} {
		if f != "" {
			if _, err := os.Stat(f); err != nil {
				bad(key+k, "%v", err)
			}
		}
	}
}

type StoreConfig struct {
	Path        string `mapstructure:"path"`
	Attachments string `mapstructure:"attachments"`
	Raw         string `mapstructure:"raw"`
	Socket      string `mapstructure:"socket"`
	// KeepSent is how long a sent mail's copy stays in the outbox (its
	// Message-ID stays with the ticket for threading). Default 90 days.
	KeepSent time.Duration `mapstructure:"keep_sent"`
}

type TemplatesConfig struct {
	Dir string `mapstructure:"dir"`
}

type LimitsConfig struct {
	MaxFileSize ByteSize `mapstructure:"max_file_size"`
	MaxMailSize ByteSize `mapstructure:"max_mail_size"`
	// NotifyAttach: customer files up to this size in total go with staff notifications.
	NotifyAttach ByteSize `mapstructure:"notify_attach"`
	// Memory is the soft limit of the daemon's Go memory (GOMEMLIMIT, which
	// wins when set). Default 96 MiB.
	Memory ByteSize `mapstructure:"memory"`
}

type LifecycleConfig struct {
	AutocloseAfter  time.Duration            `mapstructure:"autoclose_after"`
	ReopenWithin    time.Duration            `mapstructure:"reopen_within"`
	DuplicateWindow time.Duration            `mapstructure:"duplicate_window"`
	RemindBefore    time.Duration            `mapstructure:"remind_before"`
	MaxExtension    time.Duration            `mapstructure:"max_extension"`
	Targets         map[string]time.Duration `mapstructure:"targets"`
}

type HoursConfig struct {
	Timezone string   `mapstructure:"timezone"`
	Days     []string `mapstructure:"days"`
	Start    string   `mapstructure:"start"`
	End      string   `mapstructure:"end"`
}

type FieldsConfig struct {
	Type     FieldConfig `mapstructure:"type"`
	Priority FieldConfig `mapstructure:"priority"`
	Service  FieldConfig `mapstructure:"service"`
}

// FieldConfig replaces a field's built-in values when Values is set.
type FieldConfig struct {
	Default string             `mapstructure:"default"`
	Values  []FieldValueConfig `mapstructure:"values"`
}

type FieldValueConfig struct {
	Name    string            `mapstructure:"name"`
	Labels  map[string]string `mapstructure:"labels"`
	Aliases []string          `mapstructure:"aliases"`
}

type LogConfig struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

// ByteSize is a size in bytes, written as 1048576, "25MB" or "1.5 GiB".
type ByteSize int64

// loadConfig reads path (YAML) with MAILDESK_* environment overrides,
// refusing unknown keys, and checks it.
func loadConfig(path string) (*Config, error) {
	// ExperimentalBindStruct makes env overrides reach keys the file leaves out.
	v := viper.NewWithOptions(viper.ExperimentalBindStruct())
	v.SetConfigType("yaml")
	v.SetEnvPrefix("MAILDESK")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("config file %s does not exist (see config.example.yaml)", path)
			}
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	var cfg Config
	err := v.UnmarshalExact(&cfg, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(durationHook, sizeHook,
		mapstructure.StringToSliceHookFunc(","))))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.path = path
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config %s:\n%w", path, err)
	}
	return &cfg, nil
}

// parseDuration reads Go durations ("90s", "72h") and days or weeks ("7d", "2w").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	for unit, d := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, unit); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err != nil {
				return 0, fmt.Errorf("%q is not a duration", s)
			}
			return time.Duration(f * float64(d)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use 30s, 10m, 24h, 7d)", s)
	}
	return d, nil
}

func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(time.Duration(0)) || from.Kind() != reflect.String {
		return data, nil
	}
	return parseDuration(data.(string))
}

var sizeUnits = []struct {
	suffix string
	mult   float64
}{{"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10}, {"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}, {"b", 1}}

func parseSize(s string) (ByteSize, error) {
	t := strings.ToLower(strings.ReplaceAll(s, " ", ""))
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(t, u.suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err != nil || f < 0 {
				return 0, fmt.Errorf("%q is not a size (use 25MB, 512KB, 1048576)", s)
			}
			return ByteSize(f * u.mult), nil
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (use 25MB, 512KB, 1048576)", s)
	}
	return ByteSize(n), nil
}

func sizeHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(ByteSize(0)) || from.Kind() != reflect.String {
		return data, nil
	}
	return parseSize(data.(string))
}

// defaultMemoryLimit keeps the daemon small by default. Most of its memory
// is garbage that waits for the collector (a welcome mail's argon2id hash
// alone takes 19 MiB for a moment): with the limit, the collector runs
// sooner instead of letting the heap grow. It is soft: a mail that needs
// more still goes through, at the cost of collector time.
const defaultMemoryLimit = 96 << 20

func (c *Config) defaults() {
	set := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	set(&c.Helpdesk.SubjectTag, "#")
	set(&c.Helpdesk.Language, "en")
	set(&c.Helpdesk.Name, "Helpdesk")
	set(&c.IMAP.Security, "tls")
	set(&c.IMAP.Mailbox, "INBOX")
	set(&c.IMAP.QuarantineMailbox, "Quarantine")
	set(&c.SMTP.Security, "starttls")
	set(&c.Store.Path, "maildesk.db")
	base := strings.TrimSuffix(c.Store.Path, filepath.Ext(c.Store.Path))
	set(&c.Store.Attachments, base+"-files")
	set(&c.Store.Raw, base+"-raw")
	set(&c.Store.Socket, base+".sock")
	set(&c.Log.Level, "info")
	if c.IMAP.Port == 0 {
		c.IMAP.Port = map[string]int{"tls": 993, "starttls": 143, "none": 143}[c.IMAP.Security]
	}
	if c.SMTP.Port == 0 {
		c.SMTP.Port = map[string]int{"tls": 465, "starttls": 587, "none": 25}[c.SMTP.Security]
	}
	if c.IMAP.PollInterval == 0 {
		c.IMAP.PollInterval = time.Minute
	}
	if c.SMTP.RetryFor == 0 {
		c.SMTP.RetryFor = 72 * time.Hour
	}
	if c.Limits.Memory == 0 {
		c.Limits.Memory = defaultMemoryLimit
	}
	if c.Store.KeepSent == 0 {
		c.Store.KeepSent = 90 * 24 * time.Hour
	}
	if c.IMAP.Username == "" {
		c.IMAP.Username = c.Helpdesk.Address
	}
}

// validate checks every key and names the ones that are wrong, before
// anything connects.
func (c *Config) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, fmt.Errorf(key+": "+format, args...)) }
	if c.Helpdesk.Address == "" {
		bad("helpdesk.address", "required: the support address customers write to")
	}
	if c.IMAP.Host == "" {
		bad("imap.host", "required")
	}
	if c.SMTP.Host == "" {
		bad("smtp.host", "required")
	}
	for key, sec := range map[string]string{"imap.security": c.IMAP.Security, "smtp.security": c.SMTP.Security} {
		if sec != "none" && sec != "starttls" && sec != "tls" {
			bad(key, "%q is not one of none, starttls, tls", sec)
		}
	}
	for key, port := range map[string]int{"imap.port": c.IMAP.Port, "smtp.port": c.SMTP.Port} {
		if port < 1 || port > 65535 {
			bad(key, "%d is not a port (1–65535)", port)
		}
	}
	if c.IMAP.PollInterval < time.Second {
		bad("imap.poll_interval", "%s is too short (at least 1s)", c.IMAP.PollInterval)
	}
	if c.Portal.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Portal.Listen); err != nil || port == "" {
			bad("portal.listen", "%q is not host:port (e.g. 127.0.0.1:8080)", c.Portal.Listen)
		}
	}
	if c.Portal.URL != "" && !strings.HasPrefix(c.Portal.URL, "https://") && !strings.HasPrefix(c.Portal.URL, "http://") {
		bad("portal.url", "%q is not an http(s) URL", c.Portal.URL)
	}
	if c.HTTP.Listen != "" {
		if _, port, err := net.SplitHostPort(c.HTTP.Listen); err != nil || port == "" {
			bad("http.listen", "%q is not host:port (e.g. 127.0.0.1:9180)", c.HTTP.Listen)
		}
	}
	if c.Limits.Memory < 32<<20 {
		bad("limits.memory", "%d bytes is too little (at least 32MiB; a welcome mail's password hash alone takes 19MiB)", c.Limits.Memory)
	}
	if c.Log.Format != "" && c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	if _, err := logLevel(c.Log.Level); err != nil {
		bad("log.level", "%v", err)
	}
	for key, f := range map[string]string{"imap.tls_ca_file": c.IMAP.TLSCAFile, "smtp.tls_ca_file": c.SMTP.TLSCAFile,
		"imap.password_file": c.IMAP.PasswordFile, "smtp.password_file": c.SMTP.PasswordFile} {
		if f != "" {
			if _, err := os.Stat(f); err != nil {
				bad(key, "%v", err)
			}
		}
	}
	c.IMAP.OAuth2.check("imap.oauth2", bad)
	c.SMTP.OAuth2.check("smtp.oauth2", bad)
	if _, err := c.hours(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if _, err := c.deskConfig(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func (c *Config) hours() (tickets.BusinessHours, error) {
	var h tickets.BusinessHours
	loc := time.UTC
	if c.Hours.Timezone != "" {
		var err error
		if loc, err = time.LoadLocation(c.Hours.Timezone); err != nil {
			return h, fmt.Errorf("hours.timezone: %q is not a time zone (e.g. Europe/Moscow)", c.Hours.Timezone)
		}
	}
	h.Location = loc
	if len(c.Hours.Days) == 0 && c.Hours.Start == "" && c.Hours.End == "" {
		return h, nil // round the clock
	}
	days := c.Hours.Days
	if len(days) == 0 {
		days = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	for _, d := range days {
		wd, ok := weekdays[strings.ToLower(strings.TrimSpace(d))[:min(3, len(strings.TrimSpace(d)))]]
		if !ok {
			return h, fmt.Errorf("hours.days: %q is not a weekday (mon, tue, …)", d)
		}
		h.Days[wd] = true
	}
	var err error
	if h.Start, err = clock(c.Hours.Start, "00:00"); err != nil {
		return h, fmt.Errorf("hours.start: %w", err)
	}
	if h.End, err = clock(c.Hours.End, "24:00"); err != nil {
		return h, fmt.Errorf("hours.end: %w", err)
	}
	if h.End <= h.Start {
		return h, fmt.Errorf("hours.end: %s is not after hours.start %s", c.Hours.End, c.Hours.Start)
	}
	return h, nil
}

func clock(s, def string) (time.Duration, error) {
	if s == "" {
		s = def
	}
	var hh, mm int
	if _, err := fmt.Sscanf(s, "%d:%d", &hh, &mm); err != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm > 0) {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM)", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// deskConfig is the tickets.Config this file describes.
func (c *Config) deskConfig() (tickets.Config, error) {
	hours, err := c.hours()
	if err != nil {
		return tickets.Config{}, err
	}
	dc := tickets.Config{
		Name: c.Helpdesk.Name, Address: c.Helpdesk.Address, TagPrefix: c.Helpdesk.SubjectTag,
		DefaultLang: c.Helpdesk.Language, TeamAddress: c.Helpdesk.TeamAddress, TrustFrom: c.Helpdesk.TrustFrom,
		AutoCap: c.Helpdesk.AutoReplyLimit, NotifyAttachLimit: int64(c.Limits.NotifyAttach), Hours: hours,
		Lifecycle: tickets.Lifecycle{
			AutocloseAfter: c.Lifecycle.AutocloseAfter, ReopenWithin: c.Lifecycle.ReopenWithin,
			DuplicateWindow: c.Lifecycle.DuplicateWindow, RemindBefore: c.Lifecycle.RemindBefore,
			MaxExtension: c.Lifecycle.MaxExtension, Targets: c.Lifecycle.Targets,
		},
		Fields: tickets.Fields{
			Type:     tickets.Field{Values: fieldValues(c.Fields.Type.Values), Default: c.Fields.Type.Default},
			Priority: tickets.Field{Values: fieldValues(c.Fields.Priority.Values), Default: c.Fields.Priority.Default},
			Service:  tickets.Field{Values: fieldValues(c.Fields.Service.Values), Default: c.Fields.Service.Default},
		},
	}
	for _, s := range c.Helpdesk.Staff {
		dc.Staff = append(dc.Staff, tickets.Staff{Email: s.Email, Name: s.Name, Lang: s.Language})
	}
	desk, err := tickets.NewDesk(dc)
	if err != nil {
		return tickets.Config{}, err
	}
	return *desk.Config(), nil
}

func fieldValues(in []FieldValueConfig) []tickets.FieldValue {
	var out []tickets.FieldValue
	for _, v := range in {
		out = append(out, tickets.FieldValue{Name: v.Name, Labels: v.Labels, Aliases: v.Aliases})
	}
	return out
}
