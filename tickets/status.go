package tickets

import "fmt"

// Status is where a ticket stands in its lifecycle. The five statuses are the
// ones our users' support policies share (../shared/seeds): Новая, В работе,
// Требуется информация / Вопросы клиенту, Ожидает подтверждения, Выполнена / Закрыта.
type Status string

const (
	StatusNew        Status = "new"
	StatusInProgress Status = "in-progress"
	StatusWaiting    Status = "waiting-customer"
	StatusResolved   Status = "resolved"
	StatusClosed     Status = "closed"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusNew, StatusInProgress, StatusWaiting, StatusResolved, StatusClosed}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool {
	for _, x := range Statuses {
		if s == x {
			return true
		}
	}
	return false
}

// statusLabels are the statuses as our users' support policies name them.
var statusLabels = map[string]map[Status]string{
	"en": {StatusNew: "New", StatusInProgress: "In progress", StatusWaiting: "Information required",
		StatusResolved: "Awaiting your confirmation", StatusClosed: "Closed"},
	"ru": {StatusNew: "Новая", StatusInProgress: "В работе", StatusWaiting: "Требуется информация",
		StatusResolved: "Ожидает подтверждения", StatusClosed: "Закрыта"},
	"uk": {StatusNew: "Нова", StatusInProgress: "В роботі", StatusWaiting: "Потрібна інформація",
		StatusResolved: "Очікує підтвердження", StatusClosed: "Закрита"},
}

// Label is the status's name in lang, as customers read it.
func (s Status) Label(lang string) string {
	if l, ok := statusLabels[lang][s]; ok {
		return l
	}
	return string(s)
}

// Event is something that may move a ticket to another status.
type Event string

const (
	// EventCustomerReply: the customer wrote on the ticket. On a resolved
	// ticket it is the seeds' "Не совсем" (not quite) and reopens the work.
	EventCustomerReply Event = "customer-reply"
	// EventCustomerConfirm: the customer said "yes, solved" to a resolved ticket.
	EventCustomerConfirm Event = "customer-confirm"
	// EventCustomerClose: the customer closed the ticket themselves.
	EventCustomerClose Event = "customer-close"
	// EventReopen: the customer wrote on a closed ticket within the reopen window.
	EventReopen Event = "reopen"
	// EventStaffReply: a public staff answer. The first one starts the work.
	EventStaffReply Event = "staff-reply"
	// EventStaffSet: a staff Status command; the target comes with it.
	EventStaffSet Event = "staff-set"
	// EventAutoclose: a resolved ticket waited lifecycle.autoclose_after for an answer.
	EventAutoclose Event = "autoclose"
)

// TransitionError is a refused transition: the event makes no sense in the
// ticket's current status. Callers decide what a refusal means for the mail in
// hand (a refused confirm is just a reply; a refused staff command is an error
// reply to the staff member).
type TransitionError struct {
	From   Status
	Event  Event
	Target Status
}

func (e *TransitionError) Error() string {
	if e.Event == EventStaffSet {
		return fmt.Sprintf("tickets: cannot set status %q on a %q ticket", e.Target, e.From)
	}
	return fmt.Sprintf("tickets: %s not possible on a %q ticket", e.Event, e.From)
}

// Transition decides the status that event ev moves a ticket from status from
// to. target is only read for EventStaffSet. An unchanged status is not an
// error: a staff member setting the status a ticket already has changes nothing.
func Transition(from Status, ev Event, target Status) (Status, error) {
	refuse := func() (Status, error) { return from, &TransitionError{From: from, Event: ev, Target: target} }
	switch ev {
	case EventCustomerReply:
		switch from {
		case StatusNew, StatusInProgress:
			return from, nil
		case StatusWaiting, StatusResolved:
			return StatusInProgress, nil
		}
	case EventCustomerConfirm:
		if from == StatusResolved {
			return StatusClosed, nil
		}
	case EventCustomerClose:
		if from != StatusClosed && from.Valid() {
			return StatusClosed, nil
		}
	case EventReopen:
		if from == StatusClosed {
			return StatusInProgress, nil
		}
	case EventStaffReply:
		switch from {
		case StatusNew:
			return StatusInProgress, nil
		case StatusInProgress, StatusWaiting, StatusResolved, StatusClosed:
			return from, nil
		}
	case EventStaffSet:
		// A ticket is new only until someone works on it; it never goes back.
		if target.Valid() && target != StatusNew && from.Valid() {
			return target, nil
		}
	case EventAutoclose:
		if from == StatusResolved {
			return StatusClosed, nil
		}
	}
	return refuse()
}
