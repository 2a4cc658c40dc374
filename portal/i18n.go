package portal

// texts are the portal's words in the languages of our customers.
var texts = map[string]map[string]string{
	"en": {
		"title": "Support", "login": "Log in", "email": "E-mail", "password": "Password", "logout": "Log out",
		"forgot": "Forgot your password?", "forgotHelp": "Enter the address you write to us from; we will mail a new password to it.",
		"send": "Send", "resetSent": "If the address is registered with us, a new password is on its way to it.",
		"badLogin": "The e-mail or the password is wrong.", "tooMany": "Too many attempts. Please wait a quarter of an hour and try again.",
		"myTickets": "My tickets", "colleagues": "Tickets of my colleagues", "none": "No tickets yet. Write to us by e-mail to open one.",
		"number": "No.", "subject": "Subject", "status": "Status", "priority": "Priority", "updated": "Last update",
		"back": "All tickets", "reply": "Reply", "send reply": "Send the reply", "close": "Close the ticket",
		"solved": "Yes, it is solved", "notQuite": "Not quite", "rate": "Rate our answer", "rateSend": "Send the rating",
		"readOnly": "This is a colleague's ticket: you can read it, not answer it.", "you": "you",
		"changePassword": "Change password", "current": "Current password", "new": "New password (at least 12 characters)",
		"again": "New password again", "save": "Save", "badCurrent": "The current password is wrong.",
		"tooShort": "The new password is too short: at least 12 characters.", "mismatch": "The two new passwords differ.",
		"passwordChanged": "Your password is changed.", "done": "Done. We have your message.", "isSolved": "Is your problem solved?",
		"support": "Support", "reopen": "Reopen the ticket",
		"cmdClose": "Close", "cmdYes": "Yes", "cmdNotQuite": "Not quite.", "cmdReopen": "Reopen, please: the problem is back.",
	},
	"ru": {
		"title": "Поддержка", "login": "Войти", "email": "Эл. почта", "password": "Пароль", "logout": "Выйти",
		"forgot": "Забыли пароль?", "forgotHelp": "Укажите адрес, с которого вы нам пишете, — мы отправим на него новый пароль.",
		"send": "Отправить", "resetSent": "Если адрес у нас зарегистрирован, новый пароль уже отправлен на него.",
		"badLogin": "Неверный адрес или пароль.", "tooMany": "Слишком много попыток. Подождите четверть часа и попробуйте снова.",
		"myTickets": "Мои заявки", "colleagues": "Заявки моих коллег", "none": "Заявок пока нет. Напишите нам письмо, чтобы создать заявку.",
		"number": "№", "subject": "Тема", "status": "Статус", "priority": "Приоритет", "updated": "Обновлена",
		"back": "Все заявки", "reply": "Ответить", "send reply": "Отправить ответ", "close": "Закрыть заявку",
		"solved": "Да, проблема решена", "notQuite": "Не совсем", "rate": "Оцените наш ответ", "rateSend": "Отправить оценку",
		"readOnly": "Это заявка вашего коллеги: её можно читать, но не отвечать в ней.", "you": "вы",
		"changePassword": "Сменить пароль", "current": "Текущий пароль", "new": "Новый пароль (не короче 12 символов)",
		"again": "Новый пароль ещё раз", "save": "Сохранить", "badCurrent": "Текущий пароль неверен.",
		"tooShort": "Новый пароль слишком короткий: нужно не меньше 12 символов.", "mismatch": "Новые пароли не совпадают.",
		"passwordChanged": "Пароль изменён.", "done": "Готово. Ваше сообщение получено.", "isSolved": "Ваша проблема решена?",
		"support": "Поддержка", "reopen": "Открыть заявку снова",
		"cmdClose": "Закрыть", "cmdYes": "Да", "cmdNotQuite": "Не совсем.", "cmdReopen": "Откройте, пожалуйста, заявку снова: проблема вернулась.",
	},
	"uk": {
		"title": "Підтримка", "login": "Увійти", "email": "Ел. пошта", "password": "Пароль", "logout": "Вийти",
		"forgot": "Забули пароль?", "forgotHelp": "Вкажіть адресу, з якої ви нам пишете, — ми надішлемо на неї новий пароль.",
		"send": "Надіслати", "resetSent": "Якщо адресу у нас зареєстровано, новий пароль уже надіслано на неї.",
		"badLogin": "Неправильна адреса або пароль.", "tooMany": "Забагато спроб. Зачекайте чверть години й спробуйте знову.",
		"myTickets": "Мої звернення", "colleagues": "Звернення моїх колег", "none": "Звернень поки немає. Напишіть нам листа, щоб створити звернення.",
		"number": "№", "subject": "Тема", "status": "Статус", "priority": "Пріоритет", "updated": "Оновлено",
		"back": "Усі звернення", "reply": "Відповісти", "send reply": "Надіслати відповідь", "close": "Закрити звернення",
		"solved": "Так, проблему вирішено", "notQuite": "Не зовсім", "rate": "Оцініть нашу відповідь", "rateSend": "Надіслати оцінку",
		"readOnly": "Це звернення вашого колеги: його можна читати, але не відповідати в ньому.", "you": "ви",
		"changePassword": "Змінити пароль", "current": "Поточний пароль", "new": "Новий пароль (щонайменше 12 символів)",
		"again": "Новий пароль ще раз", "save": "Зберегти", "badCurrent": "Поточний пароль неправильний.",
		"tooShort": "Новий пароль закороткий: потрібно щонайменше 12 символів.", "mismatch": "Нові паролі не збігаються.",
		"passwordChanged": "Пароль змінено.", "done": "Готово. Ваше повідомлення отримано.", "isSolved": "Вашу проблему вирішено?",
		"support": "Підтримка", "reopen": "Відкрити звернення знову",
		"cmdClose": "Закрити", "cmdYes": "Так", "cmdNotQuite": "Не зовсім.", "cmdReopen": "Відкрийте, будь ласка, звернення знову: проблема повернулася.",
	},
}

func text(lang, key string) string {
	if s, ok := texts[lang][key]; ok {
		return s
	}
	return texts["en"][key]
}
