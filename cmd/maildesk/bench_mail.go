package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"mime"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// benchMail is one generated mail and what maildesk should make of it.
type benchMail struct {
	From  string
	Raw   []byte
	Reply bool // a reply to an earlier ticket, not a new one
}

// benchGenerator writes the mail a helpdesk of our users receives: new
// requests and replies, Russian, Ukrainian and English, plain text, HTML
// only and both, windows-1251 and UTF-8, some with a screenshot or a PDF.
// The same seed gives the same mails, so runs compare.
type benchGenerator struct {
	rnd      *rand.Rand
	domain   string
	to       string
	start    time.Time
	n        int
	opened   []benchTicket // new-ticket mails so far, in order: the k-th opens ticket k+1
	firstNum int           // number the first generated ticket will get
	noFiles  bool          // no attachments
	// fromFormat makes a customer's address from a number and the domain.
	fromFormat string
}

type benchTicket struct {
	from, name, subject, messageID string
	lang                           string
}

func newBenchGenerator(seed uint64, to string, firstNumber int) *benchGenerator {
	return &benchGenerator{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), domain: "client.test", to: to,
		start: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), firstNum: firstNumber, fromFormat: "c%d@%s"}
}

var benchTexts = map[string]struct{ subjects, bodies, replies []string }{
	"ru": {
		subjects: []string{"Не приходит SMS с кодом", "Ошибка при оплате абонемента", "Как выгрузить отчёт по клиентам?",
			"Виджет расписания не показывает тренеров", "Не могу войти в личный кабинет", "Дублируются записи в CRM"},
		bodies: []string{"Здравствуйте! С утра клиенты жалуются, что код подтверждения не приходит. Проверьте, пожалуйста.",
			"Добрый день. При оплате картой появляется ошибка «Платёж отклонён», хотя деньги списываются.",
			"Подскажите, где в системе найти выгрузку клиентов за прошлый месяц в Excel?",
			"После обновления мобильного приложения расписание пустое. Версия 4.2.1, Android 14."},
		replies: []string{"Спасибо, попробовал — всё равно не работает. Прикладываю скриншот.", "Да, теперь всё в порядке, спасибо!",
			"Уточняю: ошибка возникает только у клиентов с картами Мир."},
	},
	"uk": {
		subjects: []string{"Не надходить SMS з кодом", "Помилка під час оплати абонемента", "Як вивантажити звіт по клієнтах?",
			"Віджет розкладу не показує тренерів"},
		bodies: []string{"Доброго дня! Клієнти скаржаться, що код підтвердження не надходить. Перевірте, будь ласка.",
			"Вітаю. Під час оплати карткою з'являється помилка, хоча гроші списуються.",
			"Підкажіть, де знайти вивантаження клієнтів за минулий місяць?"},
		replies: []string{"Дякую, спробував — усе одно не працює.", "Так, тепер усе гаразд, дякую!"},
	},
	"en": {
		subjects: []string{"SMS code does not arrive", "Payment error on membership renewal", "How do I export the client report?",
			"Schedule widget shows no trainers", "Cannot log in to my account"},
		bodies: []string{"Hello, since this morning our clients say the confirmation code never arrives. Could you check?",
			"Hi. Paying by card fails with 'payment declined', but the money is taken.",
			"Where can I find the export of last month's clients as a spreadsheet?"},
		replies: []string{"Thanks, I tried that and it still fails. Screenshot attached.", "Yes, all good now, thank you!"},
	},
}

var benchNames = map[string][]string{
	"ru": {"Анна Смирнова", "Игорь Петров", "Мария Кузнецова", "Сергей Волков"},
	"uk": {"Олена Коваль", "Тарас Шевчук", "Ірина Бондар"},
	"en": {"Ann Lee", "John Carter", "Maria Gomez"},
}

func (g *benchGenerator) pick(list []string) string { return list[g.rnd.IntN(len(list))] }

// next returns the next mail: about 60% new tickets, the rest replies to
// earlier ones from the same customer.
func (g *benchGenerator) next() benchMail {
	g.n++
	at := g.start.Add(time.Duration(g.n) * 37 * time.Second)
	if len(g.opened) == 0 || g.rnd.Float64() < 0.6 {
		lang := []string{"ru", "ru", "uk", "en"}[g.rnd.IntN(4)]
		t := benchTicket{
			from:    fmt.Sprintf(g.fromFormat, len(g.opened), g.domain),
			subject: fmt.Sprintf("%s (%d)", g.pick(benchTexts[lang].subjects), 10000+g.n),
			name:    g.pick(benchNames[lang]),
			lang:    lang,
		}
		t.messageID = fmt.Sprintf("%d.%x@%s", g.n, g.rnd.Uint32(), g.domain)
		g.opened = append(g.opened, t)
		body := g.pick(benchTexts[lang].bodies) + "\n\n" + t.name
		return benchMail{From: t.from, Raw: g.render(t, t.subject, t.messageID, "", body, at)}
	}
	k := g.rnd.IntN(len(g.opened))
	t := g.opened[k]
	subject := fmt.Sprintf("Re: [#%d] %s", g.firstNum+k, t.subject)
	id := fmt.Sprintf("%d.%x@%s", g.n, g.rnd.Uint32(), g.domain)
	body := g.pick(benchTexts[t.lang].replies) + "\n\n" + benchQuote(t.lang, at) +
		"> " + strings.ReplaceAll(g.pick(benchTexts[t.lang].bodies), "\n", "\n> ")
	return benchMail{From: t.from, Raw: g.render(t, subject, id, t.messageID, body, at), Reply: true}
}

func benchQuote(lang string, at time.Time) string {
	switch lang {
	case "ru":
		return at.Format("02.01.2006 15:04") + ", Служба поддержки пишет:\n"
	case "uk":
		return at.Format("02.01.2006 15:04") + ", Служба підтримки пише:\n"
	}
	return "On " + at.Format("Mon, 2 Jan 2006 at 15:04") + ", Support wrote:\n"
}

// render writes the mail in one of the shapes mail clients send.
func (g *benchGenerator) render(t benchTicket, subject, id, inReplyTo, body string, at time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n",
		mime.BEncoding.Encode("utf-8", t.name), t.from, g.to, mime.BEncoding.Encode("utf-8", subject), at.Format(time.RFC1123Z), id)
	if inReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", inReplyTo, inReplyTo)
	}
	attach := g.rnd.Float64() < 0.1 && !g.noFiles
	shape := g.rnd.Float64()
	boundary := fmt.Sprintf("b%x", g.rnd.Uint64())
	if attach {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n--%s\r\n", boundary, boundary)
	}
	switch {
	case shape < 0.5 && t.lang != "en" && g.rnd.IntN(2) == 0:
		// Every letter of the Russian and Ukrainian texts (і, ї, є, ґ too) is in windows-1251.
		enc, _ := charmap.Windows1251.NewEncoder().String(body)
		b.WriteString("Content-Type: text/plain; charset=windows-1251\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(strings.ReplaceAll(enc, "\n", "\r\n") + "\r\n")
	case shape < 0.5:
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(strings.ReplaceAll(body, "\n", "\r\n") + "\r\n")
	case shape < 0.7:
		b.WriteString("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		b.WriteString(benchBase64([]byte(benchHTML(body))))
	default:
		alt := fmt.Sprintf("a%x", g.rnd.Uint64())
		fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=%q\r\n\r\n--%s\r\n", alt, alt)
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(strings.ReplaceAll(body, "\n", "\r\n") + "\r\n")
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n", alt)
		b.WriteString(benchBase64([]byte(benchHTML(body))))
		fmt.Fprintf(&b, "--%s--\r\n", alt)
	}
	if attach {
		size := 20<<10 + g.rnd.IntN(180<<10)
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(g.rnd.Uint32())
		}
		file, ct := "скриншот.png", "image/png"
		if g.rnd.IntN(2) == 0 {
			file, ct = "invoice-2026-11.pdf", "application/pdf"
		}
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s\r\nContent-Disposition: %s\r\nContent-Transfer-Encoding: base64\r\n\r\n",
			boundary, ct, mime.FormatMediaType("attachment", map[string]string{"filename": file}))
		b.WriteString(benchBase64(data))
		fmt.Fprintf(&b, "--%s--\r\n", boundary)
	}
	return b.Bytes()
}

func benchHTML(body string) string {
	var b strings.Builder
	b.WriteString("<html><body><div dir=\"ltr\">")
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "> ") {
			b.WriteString("<blockquote>" + line[2:] + "</blockquote>")
			continue
		}
		b.WriteString("<p>" + line + "</p>")
	}
	b.WriteString("</div></body></html>")
	return b.String()
}

func benchBase64(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s + "\r\n")
	return b.String()
}
