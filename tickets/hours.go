package tickets

import (
	"errors"
	"time"
)

// BusinessHours is when support works, for counting response targets in
// working time (the seeds: 09:00–21:00 Moscow time). The zero value means
// round the clock, every day.
type BusinessHours struct {
	Location *time.Location
	// Days marks working days, indexed by time.Weekday.
	Days [7]bool
	// Start and End are offsets from midnight; End after Start.
	Start, End time.Duration
}

// Always reports whether every hour is a working hour.
func (h BusinessHours) Always() bool { return h.Days == [7]bool{} }

func (h BusinessHours) validate() error {
	if h.Always() {
		return nil
	}
	if h.Start < 0 || h.End > 24*time.Hour || h.End <= h.Start {
		return errors.New("hours: end must be after start, both within the day")
	}
	return nil
}

func (h BusinessHours) loc() *time.Location {
	if h.Location == nil {
		return time.UTC
	}
	return h.Location
}

// window returns the working window [start, end) of the day that t is in, or ok=false on a day off.
func (h BusinessHours) window(t time.Time) (start, end time.Time, ok bool) {
	y, m, d := t.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, h.loc())
	if !h.Days[midnight.Weekday()] {
		return time.Time{}, time.Time{}, false
	}
	// Build the wall-clock times each day so a daylight-saving change moves nothing.
	at := func(off time.Duration) time.Time {
		return time.Date(y, m, d, int(off/time.Hour), int(off%time.Hour/time.Minute), 0, 0, h.loc())
	}
	return at(h.Start), at(h.End), true
}

// Add returns the moment when d of working time has passed after t.
func (h BusinessHours) Add(t time.Time, d time.Duration) time.Time {
	if h.Always() || d <= 0 {
		return t.Add(d)
	}
	t = t.In(h.loc())
	// A week has at least one working day, so this ends; the bound guards a bad config.
	for i := 0; i < 3660; i++ {
		start, end, ok := h.window(t)
		switch {
		case !ok || !t.Before(end):
			y, m, dd := t.Date()
			t = time.Date(y, m, dd+1, 0, 0, 0, 0, h.loc())
			continue
		case t.Before(start):
			t = start
		}
		if left := end.Sub(t); d <= left {
			return t.Add(d)
		} else {
			d -= left
			t = end
		}
	}
	return t.Add(d)
}

// Working reports whether t falls in working time.
func (h BusinessHours) Working(t time.Time) bool {
	if h.Always() {
		return true
	}
	start, end, ok := h.window(t.In(h.loc()))
	return ok && !t.Before(start) && t.Before(end)
}
