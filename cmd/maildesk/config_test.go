package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "maildesk.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const minimalConfig = `
helpdesk: {address: support@acme.test}
imap: {host: imap.acme.test}
smtp: {host: smtp.acme.test}
`

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := loadConfig("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dc, err := cfg.deskConfig()
	if err != nil {
		t.Fatal(err)
	}
	if dc.Lifecycle.AutocloseAfter != 7*24*time.Hour || len(dc.Staff) != 2 || len(dc.Fields.Service.Values) != 6 {
		t.Errorf("example config read wrong: %+v", dc.Lifecycle)
	}
	if dc.Hours.Location.String() != "Europe/Moscow" || dc.Hours.Start != 9*time.Hour {
		t.Errorf("hours = %+v", dc.Hours)
	}
}

func TestConfigDefaultsAndEnv(t *testing.T) {
	path := writeConfig(t, minimalConfig)
	t.Setenv("MAILDESK_IMAP_PASSWORD", "from-env")
	t.Setenv("MAILDESK_SMTP_PORT", "2525")
	t.Setenv("MAILDESK_LIFECYCLE_AUTOCLOSE_AFTER", "3d")
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IMAP.Password != "from-env" || cfg.SMTP.Port != 2525 || cfg.Lifecycle.AutocloseAfter != 72*time.Hour {
		t.Errorf("env overrides lost: password %q port %d autoclose %v", cfg.IMAP.Password, cfg.SMTP.Port, cfg.Lifecycle.AutocloseAfter)
	}
	if cfg.IMAP.Port != 993 || cfg.IMAP.Username != "support@acme.test" || cfg.Store.Socket != "maildesk.sock" {
		t.Errorf("defaults: port %d user %q socket %q", cfg.IMAP.Port, cfg.IMAP.Username, cfg.Store.Socket)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	rows := []struct{ body, key string }{
		{`imap: {host: x}` + "\nsmtp: {host: y}", "helpdesk.address"},
		{strings.Replace(minimalConfig, "imap: {host: imap.acme.test}", "imap: {host: imap.acme.test, hots: x}", 1), "hots"},
		{minimalConfig + "lifecycle: {autoclose_after: soon}", "lifecycle.autoclose_after"},
		{minimalConfig + "limits: {max_file_size: huge}", "limits.max_file_size"},
		{minimalConfig + "limits: {memory: 4MB}", "limits.memory"},
		{strings.Replace(minimalConfig, "imap: {host: imap.acme.test}", "imap: {host: imap.acme.test, security: ssl}", 1), "imap.security"},
		{strings.Replace(minimalConfig, "smtp: {host: smtp.acme.test}", "smtp: {host: smtp.acme.test, port: 70000}", 1), "smtp.port"},
		{strings.Replace(minimalConfig, "{address: support@acme.test}", "{address: support@acme.test, staff: [{email: not-an-address}]}", 1), "helpdesk.staff[0].email"},
		{strings.Replace(minimalConfig, "{address: support@acme.test}", "{address: support@acme.test, language: de}", 1), "helpdesk.language"},
		{minimalConfig + "hours: {timezone: Mars/Olympus}", "hours.timezone"},
		{minimalConfig + "hours: {start: '21:00', end: '09:00'}", "hours.end"},
		{minimalConfig + "lifecycle: {targets: {huge: 1h}}", "lifecycle.targets"},
		{minimalConfig + "lifecycle: {targets: {urgent: 1h}}", "lifecycle.targets"},
		{minimalConfig + "fields: {priority: {default: huge}}", "fields.priority.default"},
		{minimalConfig + "log: {level: loud}", "log.level"},
	}
	for _, r := range rows {
		_, err := loadConfig(writeConfig(t, r.body))
		if err == nil || !strings.Contains(err.Error(), r.key) {
			t.Errorf("config %q: error %v does not name %q", r.body, err, r.key)
		}
	}
	if _, err := loadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: %v", err)
	}
}

func TestParseSizeAndDuration(t *testing.T) {
	for in, want := range map[string]ByteSize{"25MB": 25 << 20, "512 KiB": 512 << 10, "1048576": 1 << 20, "1.5g": 3 << 29} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "90s": 90 * time.Second, "1.5d": 36 * time.Hour} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseSize("-5MB"); err == nil {
		t.Error("negative size accepted")
	}
}
