package mailin

import (
	"os"
	"testing"
)

// TestVisibleTextCyrillic covers the reply formats of the mail clients our
// customers use, which the public corpus barely has (see
// ../shared/corpus/INDEX.md, "Gaps"): Gmail, Yandex, Mail.ru, Thunderbird
// and Outlook in Russian and Ukrainian, and Russian phone signatures.
func TestVisibleTextCyrillic(t *testing.T) {
	rows := []struct{ name, in, want string }{
		{"gmail ru", "Модель Атол 30Ф.\n\nчт, 20 нояб. 2026 г. в 10:15, Demo Support <support@demo.test>:\n\n> Подскажите модель кассы.\n", "Модель Атол 30Ф."},
		{"gmail uk", "Модель Атол 30Ф.\n\nчт, 20 лист. 2026 р. о 10:15 Олена <o@client.ua> пише:\n> Яка модель каси?\n", "Модель Атол 30Ф."},
		{"yandex", "Да, работает.\n\n20.11.2026, 10:15, \"Demo Support\" <support@demo.test>:\n> Решена ли ваша проблема?", "Да, работает."},
		{"mail.ru", "Не совсем.\n\n\nЧетверг, 20 ноября 2026, 10:15 +03:00 от Demo Support <support@demo.test>:\n\n> Решена ли ваша проблема?", "Не совсем."},
		{"thunderbird ru", "Спасибо!\n\n20.11.2026 10:15, Demo Support пишет:\n> Проблема решена.", "Спасибо!"},
		{"outlook ru block", "Прикладываю лог.\n\nОт: Demo Support <support@demo.test>\nОтправлено: 20 ноября 2026 г. 10:15\nКому: Анна <anna@client.ru>\nТема: Re: [#12] Касса\n\nДобрый день, пришлите лог.", "Прикладываю лог."},
		{"outlook uk block", "Надсилаю лог.\n\nВід: Demo Support <support@demo.test>\nНадіслано: 20 листопада 2026 р. 10:15\nКому: Олена <o@client.ua>\nТема: Re: [#12] Каса\n\nНадішліть лог.", "Надсилаю лог."},
		{"iphone ru", "Касса заработала\n\nОтправлено с iPhone\n\n> Перезагрузите кассу", "Касса заработала"},
		{"iphone uk", "Каса запрацювала\n\nНадіслано з iPhone", "Каса запрацювала"},
		{"sign-off ru", "Проблема осталась.\n\nС уважением,\nАнна Иванова\nООО «Ромашка»", "Проблема осталась."},
		{"sign-off uk", "Проблема залишилася.\n\nЗ повагою,\nОлена", "Проблема залишилася."},
		{"thanks stays", "Спасибо,\nвсё работает!", "Спасибо,\nвсё работает!"},
		{"bottom post ru", "20.11.2026 10:15, Demo Support пишет:\n> Какая версия программы?\n\nВерсия 6.3.0.1693", "Версия 6.3.0.1693"},
		{"forward ru", "Пересылаю ошибку.\n\n-------- Пересылаемое сообщение --------\nОт: Бухгалтерия <buh@client.ru>\nТема: Ошибка 1С\n\nНе выгружаются документы.", "Пересылаю ошибку."},
		{"contact details stay", "Прошу перезвонить.\n\nИмя: Анна\nТелефон: +7 999 123-45-67\nEmail: anna@client.ru", "Прошу перезвонить.\n\nИмя: Анна\nТелефон: +7 999 123-45-67\nEmail: anna@client.ru"},
		{"log line stays", "Ошибка при обмене:\n2026-11-20 10:15 ERROR exchange failed: 1102\nПомогите.", "Ошибка при обмене:\n2026-11-20 10:15 ERROR exchange failed: 1102\nПомогите."},
		{"as wrote in text", "Как писал Иван: касса не печатает.", "Как писал Иван: касса не печатает."},
		{"only a quote stays", "> Ошибка 1102: нет связи с ОФД", "> Ошибка 1102: нет связи с ОФД"},
	}
	for _, r := range rows {
		if got := VisibleText(r.in); got != r.want {
			t.Errorf("%s: VisibleText = %q, want %q", r.name, got, r.want)
		}
	}
}

// BenchmarkVisibleText measures the stripper on the corpus's 767 kB quote.
func BenchmarkVisibleText(b *testing.B) {
	raw := mustRead(b, "testdata/replies/replies-github/email_long_quote.txt")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		VisibleText(raw)
	}
}

func mustRead(b *testing.B, path string) string {
	data, err := readFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
