// Package parallel runs the iterations of a loop on several goroutines.
package parallel

import (
	"sync"
	"sync/atomic"
)

// For runs fn(0), …, fn(n-1) on up to workers goroutines and returns when
// all have returned. With one worker (or one item) it runs them in order on
// the caller's goroutine.
func For(n, workers int, fn func(i int)) {
	workers = min(n, workers)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}
