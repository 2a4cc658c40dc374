package tickets

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestFirstLineCommands(t *testing.T) {
	for _, yes := range []string{"yes", "Yes!", "Да", "да, спасибо!", "Так", "так, дякую", "Confirm", "подтверждаю", "Підтверджую.", "yes thanks"} {
		if !isConfirm(yes) {
			t.Errorf("isConfirm(%q) = false", yes)
		}
	}
	for _, no := range []string{"Да, но чеки всё ещё не печатаются", "yes but no", "Не совсем", "not quite", "", "yesterday it broke", "так і не запрацювало"} {
		if isConfirm(no) {
			t.Errorf("isConfirm(%q) = true", no)
		}
	}
	for _, c := range []string{"Close", "закрыть", "Закрыть заявку.", "Закрити", "close it"} {
		if !isClose(c) {
			t.Errorf("isClose(%q) = false", c)
		}
	}
	for _, c := range []string{"Closed captions are broken", "закрыть не получается", "please close the door"} {
		if isClose(c) {
			t.Errorf("isClose(%q) = true", c)
		}
	}
}

func TestParseRating(t *testing.T) {
	rows := []struct {
		in      string
		score   int
		comment string
		ok      bool
	}{
		{"5", 5, "", true},
		{"4/5", 4, "", true},
		{"3 из 5", 3, "", true},
		{"2 з 5\nДовго чекав", 2, "Довго чекав", true},
		{"1 — никто не помог", 1, "никто не помог", true},
		{"5. Спасибо!\nВсё работает.", 5, "Спасибо!\nВсё работает.", true},
		{"6", 0, "", false},
		{"10 out of 10", 0, "", false},
		{"12345", 0, "", false},
		{"Спасибо", 0, "", false},
		{"2026 год", 0, "", false},
	}
	for _, r := range rows {
		score, comment, ok := parseRating(r.in)
		if ok != r.ok || score != r.score || comment != r.comment {
			t.Errorf("parseRating(%q) = %d %q %v; want %d %q %v", r.in, score, comment, ok, r.score, r.comment, r.ok)
		}
	}
}

func TestParseExtension(t *testing.T) {
	rows := map[string]time.Duration{"+48h": 48 * time.Hour, "+2d": 48 * time.Hour, "24": 24 * time.Hour, "+24 часа": 24 * time.Hour,
		"+3 дня": 72 * time.Hour, "+1,5d": 36 * time.Hour, "+12 годин": 12 * time.Hour}
	for in, want := range rows {
		if got, ok := parseExtension(in); !ok || got != want {
			t.Errorf("parseExtension(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"tomorrow", "+0h", "-5h", "+h"} {
		if _, ok := parseExtension(bad); ok {
			t.Errorf("parseExtension(%q) accepted", bad)
		}
	}
}

func TestLeadingCommands(t *testing.T) {
	cmds, rest := leadingCommands("\nStatus: resolved\nприоритет: высокий\nNote\n\nHello,\nStatus: this is text now")
	var keys []string
	for _, c := range cmds {
		keys = append(keys, c.Key+"="+c.Value)
	}
	if !slices.Equal(keys, []string{"status=resolved", "priority=высокий", "note="}) || rest != "Hello,\nStatus: this is text now" {
		t.Errorf("leadingCommands = %v, rest %q", keys, rest)
	}
	if cmds, rest := leadingCommands("Hi there,\nStatus: resolved"); len(cmds) != 0 || rest != "Hi there,\nStatus: resolved" {
		t.Errorf("commands after text were taken: %v", cmds)
	}
	sub := subjectCommands([]string{"status=resolved; priority=high", "Ошибка", "assign=bob"})
	if len(sub) != 3 || sub[0].Key != "status" || sub[1].Value != "high" || sub[2].Key != "assign" {
		t.Errorf("subjectCommands = %+v", sub)
	}
}

func TestNormalizeSubject(t *testing.T) {
	if a, b := normalizeSubject("Касса не работает!"), normalizeSubject("  касса   НЕ работает [Ошибка] "); a != b {
		t.Errorf("%q != %q", a, b)
	}
	if normalizeSubject("[Ошибка]") != "" {
		t.Error("a subject of tags only is not empty")
	}
}

// A backlog of timers is worked off in batches, so no transaction holds
// the store for long.
func TestTickWorksInBatches(t *testing.T) {
	e := newDeskEnv(t)
	for i := range TickBatch + 50 {
		e.receive(e.mail(fmt.Sprintf("c%d@client.test", i), fmt.Sprintf("Problem %d", i), "help"))
	}
	e.now = e.now.Add(30 * 24 * time.Hour)
	var counts []int
	for range 3 {
		e.store.Update(func(tx *Tx) error {
			n, err := e.desk.Tick(tx, e.now)
			counts = append(counts, n)
			return err
		})
	}
	if !slices.Equal(counts, []int{TickBatch, 50, 0}) {
		t.Errorf("ticks did %v, want [%d 50 0]", counts, TickBatch)
	}
}
