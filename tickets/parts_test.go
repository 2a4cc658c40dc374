package tickets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestBusinessHoursAdd(t *testing.T) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	weekdays := [7]bool{time.Monday: true, time.Tuesday: true, time.Wednesday: true, time.Thursday: true, time.Friday: true}
	h := BusinessHours{Location: moscow, Days: weekdays, Start: 9 * time.Hour, End: 21 * time.Hour}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, moscow)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	// 2026-11-20 is a Friday.
	rows := []struct {
		from string
		d    time.Duration
		want string
	}{
		{"2026-11-18 10:00", 4 * time.Hour, "2026-11-18 14:00"},  // inside the day
		{"2026-11-18 19:00", 4 * time.Hour, "2026-11-19 11:00"},  // over the evening
		{"2026-11-18 06:30", 1 * time.Hour, "2026-11-18 10:00"},  // before opening
		{"2026-11-18 23:00", 1 * time.Hour, "2026-11-19 10:00"},  // after closing
		{"2026-11-20 20:00", 8 * time.Hour, "2026-11-23 16:00"},  // over a weekend
		{"2026-11-21 12:00", 24 * time.Hour, "2026-11-24 21:00"}, // written on Saturday: two working days
		{"2026-11-18 21:00", 12 * time.Hour, "2026-11-19 21:00"}, // exactly at closing
	}
	for i, r := range rows {
		got := h.Add(at(r.from), r.d)
		if !got.Equal(at(r.want)) {
			t.Errorf("#%d Add(%s, %v) = %s, want %s", i, r.from, r.d, got.In(moscow).Format("2006-01-02 15:04 Mon"), r.want)
		}
	}
	if got := (BusinessHours{}).Add(at("2026-11-21 12:00"), 4*time.Hour); !got.Equal(at("2026-11-21 16:00")) {
		t.Errorf("round-the-clock Add = %s", got)
	}
	if h.Working(at("2026-11-21 12:00")) || !h.Working(at("2026-11-20 12:00")) {
		t.Error("Working is wrong about Saturday or Friday noon")
	}
}

func TestPasswords(t *testing.T) {
	seen := map[Password]bool{}
	for range 50 {
		p := NewPassword()
		if len(p) != PasswordLength || strings.ContainsAny(string(p), "0O1lI") || seen[p] {
			t.Fatalf("NewPassword() = %q: wrong length, confusable letter or repeated", string(p))
		}
		seen[p] = true
	}
	p := NewPassword()
	hash := HashPassword(p)
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(hash, string(p)) {
		t.Fatalf("HashPassword = %q", hash)
	}
	if !CheckPassword(hash, p) {
		t.Error("CheckPassword refuses the right password")
	}
	if CheckPassword(hash, p+"x") || CheckPassword(hash, "") || CheckPassword("$argon2id$garbage", p) || CheckPassword("", p) {
		t.Error("CheckPassword accepts a wrong password or a broken hash")
	}
	var buf bytes.Buffer
	buf.WriteString(p.String())
	if strings.Contains(buf.String(), string(p)) {
		t.Error("Password.String reveals the password")
	}
}

func TestSanitizeFilename(t *testing.T) {
	rows := map[string]string{
		"report.pdf":                      "report.pdf",
		"../../etc/passwd":                "passwd",
		`..\..\windows\system.ini`:        "system.ini",
		"/absolute/path.txt":              "path.txt",
		"..":                              "attachment",
		"":                                "attachment",
		".hidden":                         "hidden",
		"a\x00b\r\nc.txt":                 "abc.txt",
		"con<>:\"|?*.txt":                 "con_______.txt",
		"Счёт №5 за услуги.xlsx":          "Счёт №5 за услуги.xlsx",
		"bad\xffutf8.doc":                 "badutf8.doc",
		"trailing dots...":                "trailing dots",
		"tab\tname.txt":                   "tab name.txt",
		"ok name (1).png":                 "ok name (1).png",
		"\u202eexe.txt":                   "\u202eexe.txt", // shown as is; never used as a path
		"dir/sub/":                        "attachment",
		strings.Repeat("я", 200) + ".pdf": strings.Repeat("я", 88) + ".pdf",
	}
	for in, want := range rows {
		got := SanitizeFilename(in)
		if got != want {
			t.Errorf("SanitizeFilename(%q) = %q, want %q", in, got, want)
		}
		if !utf8.ValidString(got) || strings.ContainsAny(got, `/\`) || len(got) > maxFilenameBytes {
			t.Errorf("SanitizeFilename(%q) = %q is unsafe", in, got)
		}
	}
}

func TestBlobs(t *testing.T) {
	dir := t.TempDir()
	b, err := OpenBlobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := b.Put([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.Put([]byte("hello"))
	if err != nil || again != key {
		t.Fatalf("Put twice = %q, %v; want %q", again, err, key)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	if len(files) != 1 {
		t.Errorf("identical content stored %d times", len(files))
	}
	if data, err := b.Read(key); err != nil || string(data) != "hello" {
		t.Errorf("Read = %q, %v", data, err)
	}
	for _, bad := range []string{"../../etc/passwd", "", strings.Repeat("z", 64), key[:10]} {
		if _, err := b.Open(bad); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
	if _, err := b.Open(strings.Repeat("a", 64)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(missing) = %v, want ErrNotFound", err)
	}
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	if os.Geteuid() != 0 {
		if _, err := b.Put([]byte("other")); err == nil {
			t.Error("Put into a read-only folder succeeded")
		}
	}
}

func TestDetectLang(t *testing.T) {
	rows := []struct{ text, want string }{
		{"Здравствуйте, не работает касса", "ru"},
		{"Добрий день! Не працює касса, допоможіть", "uk"},
		{"Hello, the printer is broken.\n-- \nИван Петров", "en"},
		{"", "en"},
		{"Ґанок", "uk"},
	}
	for _, r := range rows {
		if got := DetectLang(r.text, "en"); got != r.want {
			t.Errorf("DetectLang(%q) = %q, want %q", r.text, got, r.want)
		}
	}
}

func TestFieldCanonical(t *testing.T) {
	var c Config
	c.Address = "support@example.com"
	c.Defaults()
	rows := []struct {
		field *Field
		in    string
		want  string
	}{
		{&c.Fields.Priority, "High", "high"},
		{&c.Fields.Priority, "Высокий", "high"},
		{&c.Fields.Priority, "високий", "high"},
		{&c.Fields.Priority, "БЛОКЕР", "blocker"},
		{&c.Fields.Type, "Ошибка", "error"},
		{&c.Fields.Type, "Помилка", "error"},
		{&c.Fields.Type, "feature request", "feature-request"},
		{&c.Fields.Type, "Feature_Request", "feature-request"},
		{&c.Fields.Type, "вопрос", "question"},
		{&c.Fields.Priority, "огромный", ""},
	}
	for _, r := range rows {
		got, _ := r.field.Canonical(r.in)
		if got != r.want {
			t.Errorf("%s.Canonical(%q) = %q, want %q", r.field.Key, r.in, got, r.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("default config invalid: %v", err)
	}
}
