package tickets

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// syncFS flushes each file system the folders dirs are on, once (syncfs(2)).
func syncFS(dirs []string) error {
	done := map[uint64]bool{}
	for _, dir := range dirs {
		d, err := os.Open(dir)
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(int(d.Fd()), &st); err != nil {
			d.Close()
			return &os.PathError{Op: "stat", Path: dir, Err: err}
		}
		if !done[uint64(st.Dev)] {
			done[uint64(st.Dev)] = true
			if err := unix.Syncfs(int(d.Fd())); err != nil {
				d.Close()
				return &os.PathError{Op: "syncfs", Path: dir, Err: err}
			}
		}
		d.Close()
	}
	return nil
}
