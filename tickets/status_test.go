package tickets

import (
	"errors"
	"testing"
)

// TestTransition covers every event from every status: each row is either
// the status it leads to or a refusal.
func TestTransition(t *testing.T) {
	const refused Status = "REFUSED"
	type row struct {
		from   Status
		ev     Event
		target Status
		want   Status
	}
	rows := []row{
		// A customer reply wakes up a ticket that waited for them or was thought solved.
		{StatusNew, EventCustomerReply, "", StatusNew},
		{StatusInProgress, EventCustomerReply, "", StatusInProgress},
		{StatusWaiting, EventCustomerReply, "", StatusInProgress},
		{StatusResolved, EventCustomerReply, "", StatusInProgress}, // "Не совсем"
		{StatusClosed, EventCustomerReply, "", refused},            // the desk reopens or links instead

		{StatusNew, EventCustomerConfirm, "", refused},
		{StatusInProgress, EventCustomerConfirm, "", refused},
		{StatusWaiting, EventCustomerConfirm, "", refused},
		{StatusResolved, EventCustomerConfirm, "", StatusClosed}, // "Да"
		{StatusClosed, EventCustomerConfirm, "", refused},

		{StatusNew, EventCustomerClose, "", StatusClosed},
		{StatusInProgress, EventCustomerClose, "", StatusClosed},
		{StatusWaiting, EventCustomerClose, "", StatusClosed},
		{StatusResolved, EventCustomerClose, "", StatusClosed},
		{StatusClosed, EventCustomerClose, "", refused},

		{StatusNew, EventReopen, "", refused},
		{StatusInProgress, EventReopen, "", refused},
		{StatusWaiting, EventReopen, "", refused},
		{StatusResolved, EventReopen, "", refused},
		{StatusClosed, EventReopen, "", StatusInProgress},

		// The first staff answer starts the work; later ones change nothing.
		{StatusNew, EventStaffReply, "", StatusInProgress},
		{StatusInProgress, EventStaffReply, "", StatusInProgress},
		{StatusWaiting, EventStaffReply, "", StatusWaiting},
		{StatusResolved, EventStaffReply, "", StatusResolved},
		{StatusClosed, EventStaffReply, "", StatusClosed},

		{StatusResolved, EventAutoclose, "", StatusClosed},
		{StatusNew, EventAutoclose, "", refused},
		{StatusInProgress, EventAutoclose, "", refused},
		{StatusWaiting, EventAutoclose, "", refused},
		{StatusClosed, EventAutoclose, "", refused},

		{"bogus", EventCustomerReply, "", refused},
		{StatusNew, "bogus", "", refused},
	}
	// Staff may set any status but "new" from any status, including the one it has.
	for _, from := range Statuses {
		for _, target := range Statuses {
			want := target
			if target == StatusNew {
				want = refused
			}
			rows = append(rows, row{from, EventStaffSet, target, want})
		}
		rows = append(rows, row{from, EventStaffSet, "done", refused})
	}
	for i, r := range rows {
		got, err := Transition(r.from, r.ev, r.target)
		var te *TransitionError
		switch {
		case r.want == refused && !errors.As(err, &te):
			t.Errorf("#%d Transition(%q, %q, %q) = %q, %v; want a refusal", i, r.from, r.ev, r.target, got, err)
		case r.want == refused && got != r.from:
			t.Errorf("#%d refused Transition(%q, %q, %q) changed the status to %q", i, r.from, r.ev, r.target, got)
		case r.want != refused && (err != nil || got != r.want):
			t.Errorf("#%d Transition(%q, %q, %q) = %q, %v; want %q", i, r.from, r.ev, r.target, got, err, r.want)
		}
	}
}
