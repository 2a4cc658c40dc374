package tickets

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS flushes the whole file system f is on (syncfs(2)).
func syncFS(f *os.File) error {
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return &os.PathError{Op: "syncfs", Path: f.Name(), Err: err}
	}
	return nil
}
