//go:build !linux

package tickets

func syncFS([]string) error { return errNoSyncFS }
