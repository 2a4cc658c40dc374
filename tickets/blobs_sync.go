package tickets

import (
	"errors"
	"os"
	"sync"
)

// syncFiles makes the contents of files durable. Many files at once go
// through syncFS where the system has it: one flush of the file system
// instead of a journal commit per file, which on a virtual disk was most of
// the cost of taking a mail in.
func syncFiles(files []*os.File) error {
	if len(files) > 1 {
		if err := syncFS(files[0]); err != errNoSyncFS {
			return err
		}
	}
	errs := make([]error, len(files))
	parallel(len(files), func(i int) { errs[i] = files[i].Sync() })
	return errors.Join(errs...)
}

// syncDirs makes the entries of the folders durable (the renames into them).
func syncDirs(dirs []string) error {
	if len(dirs) > 1 {
		d, err := os.Open(dirs[0])
		if err != nil {
			return err
		}
		err = syncFS(d)
		d.Close()
		if err != errNoSyncFS {
			return err
		}
	}
	errs := make([]error, len(dirs))
	parallel(len(dirs), func(i int) { errs[i] = syncDir(dirs[i]) })
	return errors.Join(errs...)
}

var errNoSyncFS = errors.New("syncfs not available")

// parallel runs fn(0..n-1) on up to 32 goroutines: concurrent fsyncs share
// the file system's journal commits.
func parallel(n int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, 32) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
