package templates

import (
	"fmt"
	"strings"
	"time"
)

// fieldNames name the ticket fields in running text.
var fieldNames = map[string]map[string]string{
	"en": {"type": "type", "priority": "priority", "service": "service"},
	"ru": {"type": "Тип", "priority": "Приоритет", "service": "Сервис"},
	"uk": {"type": "Тип", "priority": "Пріоритет", "service": "Сервіс"},
}

var (
	monthsEn = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	// Genitive, as dates are written: "2 января".
	monthsRu = []string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}
	monthsUk = []string{"січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня", "жовтня", "листопада", "грудня"}
	daysEn   = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	daysRu   = []string{"вс", "пн", "вт", "ср", "чт", "пт", "сб"}
	daysUk   = []string{"нд", "пн", "вт", "ср", "чт", "пт", "сб"}
)

// formatDate writes t in loc the way people write dates in lang, in a form
// that reads right after "by" / «до»: "24 November 2026, 15:00 (Tue, MSK)",
// "24 ноября 2026, 15:00 (вт, MSK)".
func formatDate(lang string, t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(loc)
	zone, _ := t.Zone()
	months, days := monthsEn, daysEn
	switch lang {
	case "ru":
		months, days = monthsRu, daysRu
	case "uk":
		months, days = monthsUk, daysUk
	}
	return fmt.Sprintf("%d %s %d, %s (%s, %s)", t.Day(), months[t.Month()-1], t.Year(), t.Format("15:04"), days[t.Weekday()], zone)
}

// plural picks the Russian or Ukrainian plural form for n: one (1, 21),
// few (2–4, 22–24), many (5–20, 25…).
func plural(n int, one, few, many string) string {
	n10, n100 := n%10, n%100
	switch {
	case n10 == 1 && n100 != 11:
		return one
	case n10 >= 2 && n10 <= 4 && (n100 < 12 || n100 > 14):
		return few
	default:
		return many
	}
}

// formatDuration writes a response target: "4 hours", "2 дня", "24 години".
// Whole days are written as days only when the duration is over a day.
func formatDuration(lang string, d time.Duration) string {
	hours := int(d.Round(time.Hour) / time.Hour)
	if hours == 0 {
		mins := int(d.Round(time.Minute) / time.Minute)
		switch lang {
		case "ru":
			return fmt.Sprintf("%d %s", mins, plural(mins, "минута", "минуты", "минут"))
		case "uk":
			return fmt.Sprintf("%d %s", mins, plural(mins, "хвилина", "хвилини", "хвилин"))
		}
		return fmt.Sprintf("%d %s", mins, pluralEn(mins, "minute"))
	}
	if hours > 24 && hours%24 == 0 {
		days := hours / 24
		switch lang {
		case "ru":
			return fmt.Sprintf("%d %s", days, plural(days, "день", "дня", "дней"))
		case "uk":
			return fmt.Sprintf("%d %s", days, plural(days, "день", "дні", "днів"))
		}
		return fmt.Sprintf("%d %s", days, pluralEn(days, "day"))
	}
	switch lang {
	case "ru":
		return fmt.Sprintf("%d %s", hours, plural(hours, "час", "часа", "часов"))
	case "uk":
		return fmt.Sprintf("%d %s", hours, plural(hours, "година", "години", "годин"))
	}
	return fmt.Sprintf("%d %s", hours, pluralEn(hours, "hour"))
}

func pluralEn(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// formatSize writes a file size: "512 B", "1.5 MB" ("1,5 МБ" in ru and uk).
func formatSize(lang string, n int64) string {
	units := map[string][]string{"en": {"B", "KB", "MB", "GB"}, "ru": {"Б", "КБ", "МБ", "ГБ"}, "uk": {"Б", "КБ", "МБ", "ГБ"}}[lang]
	if units == nil {
		units = []string{"B", "KB", "MB", "GB"}
	}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	s := fmt.Sprintf("%.0f %s", f, units[i])
	if i > 0 && f < 10 {
		s = fmt.Sprintf("%.1f %s", f, units[i])
	}
	if lang == "ru" || lang == "uk" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}
