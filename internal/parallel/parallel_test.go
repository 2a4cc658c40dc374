package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForRunsEachOnce(t *testing.T) {
	for _, c := range []struct{ n, workers int }{{0, 4}, {1, 4}, {7, 1}, {100, 3}, {5, 32}} {
		var seen [100]atomic.Int32
		For(c.n, c.workers, func(i int) { seen[i].Add(1) })
		for i := range c.n {
			if seen[i].Load() != 1 {
				t.Errorf("n=%d workers=%d: fn(%d) ran %d times", c.n, c.workers, i, seen[i].Load())
			}
		}
	}
}
