package tickets

import (
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	e := newDeskEnv(t)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 10, 0, 0, 0, time.UTC) }
	rows := []Ticket{
		{Created: day(1), Status: StatusClosed, FirstResponse: day(1).Add(9 * time.Hour), Rating: &Rating{Score: 5}},   // before the period
		{Created: day(10), Status: StatusClosed, FirstResponse: day(10).Add(1 * time.Hour), Rating: &Rating{Score: 5}}, // in it from here on
		{Created: day(11), Status: StatusClosed, FirstResponse: day(11).Add(3 * time.Hour), Rating: &Rating{Score: 1}},
		{Created: day(12), Status: StatusInProgress, FirstResponse: day(12).Add(30 * time.Hour), Breached: true},
		{Created: day(13), Status: StatusNew, Breached: true},
		{Created: day(14), Status: StatusWaiting, FirstResponse: day(14).Add(2 * time.Hour)},
	}
	e.store.Update(func(tx *Tx) error {
		for i := range rows {
			rows[i].Customer, rows[i].Subject = "a@b.test", "x"
			if err := tx.CreateTicket(&rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
	var r *Report
	e.store.View(func(tx *Tx) (err error) { r, err = tx.Report(day(5), day(20)); return err })
	want := Report{Opened: 5, Closed: 2, FirstResponses: 4, MedianFirstResponse: 150 * time.Minute, Breaches: 2, Ratings: 2, AverageRating: 3, LowRatings: 1}
	if r.Opened != want.Opened || r.Closed != want.Closed || r.FirstResponses != want.FirstResponses ||
		r.MedianFirstResponse != want.MedianFirstResponse || r.Breaches != want.Breaches || r.Ratings != want.Ratings ||
		r.AverageRating != want.AverageRating || r.LowRatings != want.LowRatings {
		t.Errorf("Report = %+v\nwant     %+v", *r, want)
	}
	if r.Now[StatusClosed] != 3 || r.Now[StatusNew] != 1 {
		t.Errorf("Now = %v", r.Now)
	}
}
