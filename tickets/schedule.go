package tickets

import (
	"fmt"
	"time"
)

// TickBatch is the most tickets one Tick changes: a backlog of timers (a
// restart after a long stop, an import) is worked off in transactions
// short enough that mail-in never waits long for the store.
const TickBatch = 200

// Tick does what time alone decides, as of now: it closes resolved tickets
// nobody confirmed within lifecycle.autoclose_after, and reminds staff of
// tickets near or past their due time, once each. It reads only the timer
// index, so its cost does not grow with the number of tickets. It changes
// at most TickBatch tickets and returns how many; call it again while it
// returns TickBatch. It also drops automatic-mail counters past their hour.
func (d *Desk) Tick(tx *Tx, now time.Time) (int, error) {
	if err := tx.dropAutoCounters(now); err != nil {
		return 0, err
	}
	done := 0
	for _, n := range tx.timersBefore(timerAutoclose, now.Add(-d.cfg.Lifecycle.AutocloseAfter)) {
		if done == TickBatch {
			return done, nil
		}
		t, err := tx.Ticket(n)
		if err != nil {
			return done, err
		}
		if err := d.autoclose(tx, t, now); err != nil {
			return done, fmt.Errorf("autoclose #%d: %w", n, err)
		}
		done++
	}
	for _, n := range tx.timersBefore(timerDue, now.Add(d.cfg.Lifecycle.RemindBefore)) {
		if done == TickBatch {
			return done, nil
		}
		t, err := tx.Ticket(n)
		if err != nil {
			return done, err
		}
		sent, err := d.remind(tx, t, now)
		if err != nil {
			return done, fmt.Errorf("reminder for #%d: %w", n, err)
		}
		if sent {
			done++
		}
	}
	return done, nil
}

func (d *Desk) autoclose(tx *Tx, t *Ticket, now time.Time) error {
	next, err := Transition(t.Status, EventAutoclose, "")
	if err != nil {
		return err
	}
	d.setStatus(t, next, now)
	note := &Message{Kind: KindSystem, From: d.cfg.Address, FromName: d.cfg.Name, At: now,
		Text: "Closed: the customer did not answer the confirmation request.", Flags: []string{"autoclose"}}
	if err := tx.AddMessage(t, note); err != nil {
		return err
	}
	if err := d.mirrorStatus(tx, t, StatusResolved, "autoclose", MailData{}, now); err != nil {
		return err
	}
	data := MailData{Reason: "autoclosed"}
	if err := d.notifyStaff(tx, t, d.staffTargets(t, false), "", d.cfg.Name, "staff-update", data, nil, now); err != nil {
		return err
	}
	return tx.PutTicket(t)
}

// remind sends the "due soon" or the "overdue" reminder for t if it is
// time and it has not gone out for this due time yet.
func (d *Desk) remind(tx *Tx, t *Ticket, now time.Time) (bool, error) {
	if !t.Open() || t.Due.IsZero() {
		return false, nil
	}
	overdue := !now.Before(t.Due)
	switch {
	case overdue && !t.DueReminders.Overdue:
		t.DueReminders.Overdue, t.DueReminders.Near = true, true
		if t.FirstResponse.IsZero() {
			t.Breached = true
		}
	case !overdue && !t.DueReminders.Near:
		t.DueReminders.Near = true
	default:
		return false, nil
	}
	if err := d.notifyStaff(tx, t, d.staffTargets(t, false), "", d.cfg.Name, "staff-due", MailData{Overdue: overdue}, nil, now); err != nil {
		return false, err
	}
	return true, tx.PutTicket(t)
}
