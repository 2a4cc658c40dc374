package tickets

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Report sums up the tickets opened in a period.
type Report struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Now counts all tickets by their current status.
	Now map[Status]int `json:"now"`
	// The rest is about tickets opened in the period.
	Opened         int `json:"opened"`
	Closed         int `json:"closed"`
	FirstResponses int `json:"first_responses"`
	// MedianFirstResponse is the median time from opening to the first staff answer.
	MedianFirstResponse time.Duration `json:"median_first_response"`
	// Breaches are tickets whose due time passed before the first answer.
	Breaches      int     `json:"breaches"`
	Ratings       int     `json:"ratings"`
	AverageRating float64 `json:"average_rating"`
	LowRatings    int     `json:"low_ratings"` // 1 or 2
}

// Report sums up tickets opened between since and until. Tickets are
// numbered in the order they were opened, so it reads from the newest back
// and stops at the first one older than since.
func (tx *Tx) Report(since, until time.Time) (*Report, error) {
	r := &Report{Since: since, Until: until, Now: tx.CountByStatus()}
	var responses []time.Duration
	var ratingSum int
	c := tx.bucket(bucketTickets).Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		var t Ticket
		if err := json.Unmarshal(v, &t); err != nil {
			return nil, fmt.Errorf("decode ticket %x: %w", k, err)
		}
		if t.Created.Before(since) {
			break
		}
		if t.Created.After(until) {
			continue
		}
		r.Opened++
		if t.Status == StatusClosed {
			r.Closed++
		}
		if !t.FirstResponse.IsZero() {
			responses = append(responses, t.FirstResponse.Sub(t.Created))
		}
		if t.Breached {
			r.Breaches++
		}
		if t.Rating != nil {
			r.Ratings++
			ratingSum += t.Rating.Score
			if t.Rating.Score <= 2 {
				r.LowRatings++
			}
		}
	}
	r.FirstResponses = len(responses)
	if len(responses) > 0 {
		slices.Sort(responses)
		r.MedianFirstResponse = responses[len(responses)/2]
		if len(responses)%2 == 0 {
			r.MedianFirstResponse = (responses[len(responses)/2-1] + responses[len(responses)/2]) / 2
		}
	}
	if r.Ratings > 0 {
		r.AverageRating = float64(ratingSum) / float64(r.Ratings)
	}
	return r, nil
}
