//go:build !linux

package tickets

import "os"

func syncFS(*os.File) error { return errNoSyncFS }
