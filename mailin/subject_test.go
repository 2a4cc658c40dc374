package mailin

import (
	"slices"
	"testing"

	"maildesk/tickets"
)

func TestParseSubject(t *testing.T) {
	hash := NewTagMatcher("#")
	acme := NewTagMatcher("ACME #")
	rows := []struct {
		m     *TagMatcher
		in    string
		tag   tickets.Number
		clean string
		tags  []string
	}{
		{hash, "Printer broken", 0, "Printer broken", nil},
		{hash, "[#123] Printer broken", 123, "Printer broken", nil},
		{hash, "Re: [#123] Printer broken", 123, "Printer broken", nil},
		{hash, "RE: Fwd: AW: Ответ: Re[2]: [#7] x", 7, "x", nil},
		{hash, "Re: [ # 42 ] spaced", 42, "spaced", nil},
		{hash, "Printer broken [#5]", 5, "Printer broken", nil},
		{hash, "Re: [#12] Fwd: [#45] old", 12, "old", nil},
		{hash, "Відп: Пересл.: [#9] Каса", 9, "Каса", nil},
		{hash, "Отв: [#9] Касса", 9, "Касса", nil},
		{hash, "*[#42]* bold", 42, "bold", nil},
		{hash, "[Ошибка] [Высокий] Не работает касса", 0, "[Ошибка] [Высокий] Не работает касса", []string{"Ошибка", "Высокий"}},
		{hash, "Re: [#3] Касса [status=resolved] [priority=high]", 3, "Касса [status=resolved] [priority=high]", []string{"status=resolved", "priority=high"}},
		{hash, "Error in [Reports] module", 0, "Error in [Reports] module", nil},
		{hash, "[#12345678901234] too long", 0, "[#12345678901234] too long", []string{"#12345678901234"}},
		{hash, "[#0] zero", 0, "zero", nil},
		{hash, "[ACME #5] other prefix", 0, "[ACME #5] other prefix", []string{"ACME #5"}},
		{acme, "Re: [ACME #5] Invoice", 5, "Invoice", nil},
		{acme, "Re: [acme  #5] Invoice", 5, "Invoice", nil},
		{acme, "[#5] plain hash is not ours", 0, "[#5] plain hash is not ours", []string{"#5"}},
		{hash, "Research results", 0, "Research results", nil},
		{hash, "", 0, "", nil},
	}
	for i, r := range rows {
		got := r.m.ParseSubject(r.in)
		if got.Tag != r.tag || got.Clean != r.clean || !slices.Equal(got.Tags, r.tags) {
			t.Errorf("#%d ParseSubject(%q) = %d %q %q; want %d %q %q", i, r.in, got.Tag, got.Clean, got.Tags, r.tag, r.clean, r.tags)
		}
	}
}
