package main

import (
	"strings"
	"testing"
	"time"

	"maildesk/tickets"
)

// Issue 5: the lifecycle our users' support policies describe (../shared/seeds).

// openRussian has anna open a ticket in Russian; it returns alice's notice.
func (f *flow) openRussian(subject, body string) *received {
	f.t.Helper()
	f.send(msg{from: f.addr("anna"), name: "Анна", subject: subject, body: body})
	f.waitInbox("anna", 2)
	return f.waitInbox("alice", 1)[0]
}

// command sends a command-only staff reply to a notice.
func (f *flow) command(notice *received, body string) {
	f.send(msg{from: f.addr("alice"), name: "Alice", to: notice.ReplyTo, subject: "Re: " + notice.Subject,
		body: body, inReplyTo: notice.MessageID})
	f.settle()
}

// customerReply has anna answer her latest mail from the helpdesk.
func (f *flow) customerReply(body string) {
	in := f.inbox("anna")
	f.reply(f.addr("anna"), "Анна", in[len(in)-1], body)
	f.settle()
}

func TestConfirmAndNotQuite(t *testing.T) {
	f := newFlow(t, nil)
	notice := f.openRussian("Касса не печатает чеки", "Ошибка 1102.")
	f.command(notice, "Status: resolved")
	asked := f.waitInbox("anna", 3)[2]
	if !strings.Contains(asked.Subject, "Решена ли ваша проблема?") || !strings.Contains(asked.Text, "Не совсем") {
		t.Fatalf("confirmation request %q:\n%s", asked.Subject, asked.Text)
	}

	// "Не совсем": back to work, the customer hears so and the team too.
	f.customerReply("Не совсем: чеки печатаются, но без QR-кода.")
	if tk := f.ticket(1); tk.Status != tickets.StatusInProgress || tk.Due.IsZero() {
		t.Errorf("after 'not quite': %q, due %v", tk.Status, tk.Due)
	}
	if back := f.waitInbox("anna", 4)[3]; !strings.Contains(back.Text, "В работе") {
		t.Errorf("customer not told the ticket is back at work:\n%s", back.Text)
	}
	if told := f.waitInbox("alice", 2)[1]; !strings.Contains(told.Text, "not quite solved") || !strings.Contains(told.Text, "без QR-кода") {
		t.Errorf("staff notice:\n%s", told.Text)
	}

	// "Да": closed, and asked for a rating.
	f.command(notice, "Status: resolved")
	f.waitInbox("anna", 5)
	f.customerReply("Да, спасибо!")
	tk := f.ticket(1)
	if tk.Status != tickets.StatusClosed || !tk.RatingAsked {
		t.Fatalf("after 'yes': %+v", tk)
	}
	closed := f.waitInbox("anna", 6)[5]
	if !strings.Contains(closed.Text, "Спасибо за подтверждение") || !strings.Contains(closed.Text, "от 1 (плохо) до 5 (отлично)") {
		t.Errorf("closing mail:\n%s", closed.Text)
	}
	if told := f.waitInbox("alice", 3)[2]; !strings.Contains(told.Text, "confirmed the problem is solved") {
		t.Errorf("staff notice:\n%s", told.Text)
	}
}

func TestRating(t *testing.T) {
	f := newFlow(t, nil)
	notice := f.openRussian("Касса", "Не работает.")
	f.command(notice, "Close")
	f.waitInbox("anna", 3)
	f.customerReply("2\nДолго ждала ответа.")
	tk := f.ticket(1)
	if tk.Rating == nil || tk.Rating.Score != 2 || tk.Rating.Comment != "Долго ждала ответа." || tk.Status != tickets.StatusClosed {
		t.Fatalf("rating = %+v, status %q", tk.Rating, tk.Status)
	}
	if thanks := f.waitInbox("anna", 4)[3]; !strings.Contains(thanks.Text, "2 из 5") {
		t.Errorf("thanks:\n%s", thanks.Text)
	}
	// A low rating reaches every staff member.
	for _, who := range []string{"alice", "bob"} {
		got := f.waitInbox(who, 2)[1]
		if !strings.Contains(got.Subject, "Low rating (2/5)") || !strings.Contains(got.Text, "Долго ждала") {
			t.Errorf("%s's low-rating notice %q:\n%s", who, got.Subject, got.Text)
		}
	}
	// Stored once: the next reply is a normal reply, which reopens the ticket.
	f.customerReply("5")
	if tk := f.ticket(1); tk.Rating.Score != 2 || tk.Status != tickets.StatusInProgress {
		t.Errorf("second rating: score %d, status %q", tk.Rating.Score, tk.Status)
	}
}

func TestAutoclose(t *testing.T) {
	f := newFlow(t, nil)
	notice := f.openRussian("Отчёт", "Не строится отчёт.")
	f.command(notice, "Status: resolved")
	f.waitInbox("anna", 3)
	f.advance(6 * 24 * time.Hour)
	if tk := f.ticket(1); tk.Status != tickets.StatusResolved {
		t.Fatalf("closed after 6 days: %q", tk.Status)
	}
	f.advance(24*time.Hour + time.Minute)
	f.settle()
	if tk := f.ticket(1); tk.Status != tickets.StatusClosed || !tk.RatingAsked {
		t.Fatalf("not closed after 7 days: %+v", tk)
	}
	if got := f.waitInbox("anna", 4)[3]; !strings.Contains(got.Text, "не получили ответа") {
		t.Errorf("autoclose notice:\n%s", got.Text)
	}
	if got := f.waitInbox("alice", 2)[1]; !strings.Contains(got.Text, "closed itself") {
		t.Errorf("staff notice:\n%s", got.Text)
	}
	f.advance(time.Hour)
	f.quiet("anna", 4) // closed once only
}

func TestReopenWithinAndAfterWindow(t *testing.T) {
	f := newFlow(t, nil)
	notice := f.openRussian("Сканер", "Сканер не видит штрихкоды.")
	f.command(notice, "Close")
	f.waitInbox("anna", 3)

	f.advance(13 * 24 * time.Hour)
	f.customerReply("Снова не работает.")
	if tk := f.ticket(1); tk.Status != tickets.StatusInProgress || tk.Due.IsZero() {
		t.Fatalf("reply within 14 days: %+v", tk)
	}
	if got := f.waitInbox("anna", 4)[3]; !strings.Contains(got.Text, "открыта снова") {
		t.Errorf("reopen notice:\n%s", got.Text)
	}
	if got := f.waitInbox("alice", 2)[1]; !strings.Contains(got.Text, "it is reopened") {
		t.Errorf("staff reopen notice:\n%s", got.Text)
	}

	f.command(notice, "Close")
	f.waitInbox("anna", 5)
	f.advance(15 * 24 * time.Hour)
	f.customerReply("И опять!")
	if tk := f.ticket(1); tk.Status != tickets.StatusClosed {
		t.Errorf("old ticket reopened after the window: %q", tk.Status)
	}
	tk2 := f.ticket(2)
	if tk2.LinkedTo != 1 || tk2.Customer != f.addr("anna") || tk2.Subject != "Сканер" {
		t.Fatalf("new ticket = %+v", tk2)
	}
	if got := f.waitInbox("anna", 6)[5]; !strings.Contains(got.Subject, "[#2]") || !strings.Contains(got.Text, "прежняя заявка [#1]") {
		t.Errorf("ack of the linked ticket %q:\n%s", got.Subject, got.Text)
	}
	if got := f.waitInbox("alice", 3)[2]; !strings.Contains(got.Text, "continues the closed ticket [#1]") {
		t.Errorf("staff notice:\n%s", got.Text)
	}
	th := f.thread(1)
	if last := th[len(th)-1]; !strings.Contains(last.Text, "continued in #2") {
		t.Errorf("old ticket lacks the link: %q", last.Text)
	}
}

func TestDuplicateJoins(t *testing.T) {
	f := newFlow(t, nil)
	f.openRussian("Касса не работает", "Совсем.")
	f.advance(2 * time.Hour)
	// The same question again, as a new mail (no tag, no In-Reply-To): the seeds ask customers not to, some do.
	f.send(msg{from: f.addr("anna"), name: "Анна", subject: "касса НЕ работает!", body: "Пишу ещё раз, это срочно."})
	joined := f.waitInbox("anna", 3)[2]
	if !strings.Contains(joined.Subject, "[#1]") || !strings.Contains(joined.Text, "добавили его туда") {
		t.Errorf("joined notice %q:\n%s", joined.Subject, joined.Text)
	}
	if n := len(f.thread(1)); n != 2 {
		t.Errorf("ticket 1 has %d messages, want 2", n)
	}
	if got := f.waitInbox("alice", 2)[1]; !strings.Contains(got.Text, "same subject") {
		t.Errorf("staff notice:\n%s", got.Text)
	}
	// A day later the same subject is a new ticket.
	f.advance(25 * time.Hour)
	f.send(msg{from: f.addr("anna"), name: "Анна", subject: "Касса не работает", body: "Опять."})
	f.waitInbox("anna", 4)
	if tk := f.ticket(2); tk.Subject != "Касса не работает" {
		t.Errorf("ticket 2 = %+v", tk)
	}
}

func TestFieldsFromCustomerMail(t *testing.T) {
	f := newFlow(t, func(c *Config) {
		c.Fields.Service.Values = []FieldValueConfig{{Name: "crm", Labels: map[string]string{"ru": "Система (CRM)"}, Aliases: []string{"CRM"}},
			{Name: "chat", Labels: map[string]string{"ru": "Чат"}}}
	})
	f.send(msg{from: f.addr("anna"), name: "Анна", subject: "[Ошибка] [Высокий] Не работает касса",
		body: "Сервис: чат\nТип: вопрос\n\nЗдравствуйте! Касса зависает."})
	ack := f.waitInbox("anna", 2)[0]
	tk := f.ticket(1)
	if tk.Priority != "high" || tk.Type != "question" || tk.Service != "chat" || tk.Subject != "Не работает касса" {
		t.Errorf("fields: %+v", tk)
	}
	if th := f.thread(1); th[0].Text != "Здравствуйте! Касса зависает." {
		t.Errorf("first message keeps the field lines: %q", th[0].Text)
	}
	if !strings.Contains(ack.Text, "Приоритет:    Высокий") || !strings.Contains(ack.Text, "Сервис:       Чат") {
		t.Errorf("ack does not show the fields:\n%s", ack.Text)
	}
	// An unknown value falls back to the default, and the acknowledgement says so.
	f.send(msg{from: f.addr("olena"), name: "Олена", subject: "Звіт", body: "Пріоритет: величезний\n\nНе формується звіт."})
	ack = f.waitInbox("olena", 2)[0]
	if tk := f.ticket(2); tk.Priority != "medium" {
		t.Errorf("unknown priority: %q", tk.Priority)
	}
	if !strings.Contains(ack.Text, "«величезний»") || !strings.Contains(ack.Text, "«Середній»") {
		t.Errorf("ack does not explain the fallback:\n%s", ack.Text)
	}
}

// TestDueRemindersInWorkingHours: a high-priority ticket written on Friday
// evening is due 8 working hours later, on Monday; staff are reminded an
// hour before and when it is overdue, once each.
func TestDueRemindersInWorkingHours(t *testing.T) {
	moscow, _ := time.LoadLocation("Europe/Moscow")
	friday := time.Date(2026, 11, 20, 20, 0, 0, 0, moscow) // one working hour left
	f := newFlowAt(t, friday, func(c *Config) {
		c.Hours = HoursConfig{Timezone: "Europe/Moscow", Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "21:00"}
	})
	f.send(msg{from: f.addr("anna"), name: "Анна", subject: "[Высокий] Касса", body: "Срочно."})
	ack := f.waitInbox("anna", 2)[0]
	wantDue := time.Date(2026, 11, 23, 16, 0, 0, 0, moscow) // 1h Friday + 7h Monday from 09:00
	if tk := f.ticket(1); !tk.Due.Equal(wantDue) {
		t.Fatalf("due %s, want %s", tk.Due.In(moscow), wantDue)
	}
	if !strings.Contains(ack.Text, "в течение 8 часов рабочего времени, до 23 ноября 2026, 16:00 (пн, MSK)") {
		t.Errorf("ack does not promise the due time:\n%s", ack.Text)
	}
	f.waitInbox("alice", 1)
	f.advance(wantDue.Sub(friday) - 2*time.Hour) // Monday 14:00
	f.quiet("alice", 1)
	f.advance(time.Hour + time.Minute) // 15:01: due within the hour
	if got := f.waitInbox("alice", 2)[1]; !strings.Contains(got.Subject, "Due soon") {
		t.Errorf("first reminder %q", got.Subject)
	}
	f.advance(30 * time.Minute)
	f.quiet("alice", 2)
	f.advance(30 * time.Minute) // 16:01
	if got := f.waitInbox("alice", 3)[2]; !strings.Contains(got.Subject, "OVERDUE") {
		t.Errorf("second reminder %q", got.Subject)
	}
	f.advance(24 * time.Hour)
	f.quiet("alice", 3)
	if tk := f.ticket(1); !tk.Breached {
		t.Error("an overdue ticket is not counted as breached")
	}
}

// TestDueOutsideWorkingHours: written on Saturday, the clock starts on Monday at 09:00.
func TestDueOutsideWorkingHours(t *testing.T) {
	moscow, _ := time.LoadLocation("Europe/Moscow")
	f := newFlowAt(t, time.Date(2026, 11, 28, 12, 0, 0, 0, moscow), func(c *Config) {
		c.Hours = HoursConfig{Timezone: "Europe/Moscow", Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "21:00"}
	})
	f.send(msg{from: f.addr("olena"), name: "Олена", subject: "[Високий] Звіт", body: "Допоможіть."})
	f.waitInbox("olena", 2)
	if tk := f.ticket(1); !tk.Due.Equal(time.Date(2026, 11, 30, 17, 0, 0, 0, moscow)) {
		t.Errorf("due of a Saturday ticket: %s", tk.Due.In(moscow))
	}
	f.advance(24 * time.Hour) // Sunday: nothing is due soon yet
	f.quiet("alice", 1)
}

func TestDueExtensionTellsCustomer(t *testing.T) {
	f := newFlow(t, nil)
	notice := f.openRussian("Интеграция с 1С", "Не выгружаются документы.")
	f.command(notice, "Due: +100h")
	if got := f.waitInbox("alice", 2)[1]; !strings.Contains(got.Text, "at most +72h") {
		t.Errorf("an extension over the cap was not refused:\n%s", got.Text)
	}
	f.quiet("anna", 2)
	before := f.ticket(1).Due
	f.command(notice, "Due: +48h")
	tk := f.ticket(1)
	if !tk.Due.Equal(before.Add(48*time.Hour)) || !tk.DueExtended {
		t.Errorf("due %s, want %s", tk.Due, before.Add(48*time.Hour))
	}
	if got := f.waitInbox("anna", 3)[2]; !strings.Contains(got.Text, "требует больше времени") {
		t.Errorf("customer not told the new time:\n%s", got.Text)
	}
}
