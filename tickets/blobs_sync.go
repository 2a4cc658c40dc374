package tickets

import (
	"errors"
	"os"

	"maildesk/internal/parallel"
)

var errNoSyncFS = errors.New("syncfs not available")

// syncEach makes files and the entries of dirs durable where there is no
// syncfs: concurrent fsyncs share the file system's journal commits.
func syncEach(files []*os.File, dirs []string) error {
	errs := make([]error, len(files)+len(dirs))
	parallel.For(len(errs), fsyncWorkers, func(i int) {
		if i < len(files) {
			errs[i] = files[i].Sync()
		} else {
			errs[i] = syncDir(dirs[i-len(files)])
		}
	})
	return errors.Join(errs...)
}

// fsyncWorkers fsync at once where there is no syncfs.
const fsyncWorkers = 32
