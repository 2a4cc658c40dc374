package tickets

import (
	"errors"
	"os"

	"maildesk/internal/parallel"
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
	parallel.For(len(files), fsyncWorkers, func(i int) { errs[i] = files[i].Sync() })
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
	parallel.For(len(dirs), fsyncWorkers, func(i int) { errs[i] = syncDir(dirs[i]) })
	return errors.Join(errs...)
}

var errNoSyncFS = errors.New("syncfs not available")

// fsyncWorkers fsync at once where there is no syncfs: concurrent fsyncs
// share the file system's journal commits.
const fsyncWorkers = 32
