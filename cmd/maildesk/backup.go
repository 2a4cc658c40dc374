package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"maildesk/tickets"
)

// A backup is one .tar.gz: maildesk.db, a consistent snapshot of the store
// taken in a read transaction while maildesk runs, then raw/ and
// attachments/, the content-addressed files. Files are durable before the
// transaction that refers to them commits and are never changed, so every
// file the snapshot refers to is there; files added after it are harmless.

const (
	backupDB    = "maildesk.db"
	backupRaw   = "raw/"
	backupFiles = "attachments/"
)

type backupArgs struct {
	Path string `json:"path"`
}

type backupResult struct {
	Path      string  `json:"path"`
	StoreSize int64   `json:"store_bytes"`
	Files     int     `json:"files"`
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
}

func apiBackup(ctx context.Context, x *api, raw json.RawMessage) (any, error) {
	var args backupArgs
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(args.Path) {
		return nil, fmt.Errorf("backup path %q is not absolute", args.Path)
	}
	return writeBackup(ctx, x.a, args.Path)
}

func writeBackup(ctx context.Context, a *app, path string) (*backupResult, error) {
	start := time.Now()
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp)
	defer f.Close()
	res := &backupResult{Path: path}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)

	// The snapshot goes through a temporary file: tar needs its size first.
	snap, err := os.CreateTemp(filepath.Dir(path), ".maildesk-snapshot-*")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(snap.Name())
	defer snap.Close()
	if res.StoreSize, err = a.store.Snapshot(snap); err != nil {
		return nil, fmt.Errorf("backup: snapshot: %w", err)
	}
	if _, err := snap.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if err := addToTar(tw, backupDB, snap, res.StoreSize); err != nil {
		return nil, err
	}
	progress := progressOf(ctx)
	progress(fmt.Sprintf("store %.1f MB written", float64(res.StoreSize)/(1<<20)))
	for prefix, dir := range map[string]string{backupRaw: a.raw.Dir(), backupFiles: a.files.Dir()} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			bf, err := os.Open(p)
			if err != nil {
				return err
			}
			defer bf.Close()
			info, err := bf.Stat()
			if err != nil {
				return err
			}
			res.Files++
			res.Bytes += info.Size()
			if res.Files%500 == 0 {
				progress(fmt.Sprintf("store %.1f MB, %d files (%.1f MB)", float64(res.StoreSize)/(1<<20), res.Files, float64(res.Bytes)/(1<<20)))
			}
			return addToTar(tw, prefix+filepath.ToSlash(rel), bf, info.Size())
		})
		if err != nil {
			return nil, fmt.Errorf("backup %s: %w", dir, err)
		}
	}
	for _, c := range []io.Closer{tw, gz} {
		if err := c.Close(); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

func addToTar(tw *tar.Writer, name string, r io.Reader, size int64) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: time.Now(), Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("backup %s: %w", name, err)
	}
	if _, err := io.CopyN(tw, r, size); err != nil {
		return fmt.Errorf("backup %s: %w", name, err)
	}
	return nil
}

// restoreBackup unpacks a backup into the store paths of cfg. It accepts
// only the names a backup has (no path from the archive touches the file
// system unchecked) and writes the database last, under a temporary name.
func restoreBackup(path string, cfg *Config, force bool) (*backupResult, error) {
	if fi, err := os.Stat(cfg.Store.Path); err == nil && fi.Size() > 0 && !force {
		return nil, fmt.Errorf("%s exists: restore replaces it only with --force", cfg.Store.Path)
	}
	// A running maildesk holds the store's lock: never restore under it.
	if st, err := tickets.Open(cfg.Store.Path, tickets.StoreOptions{LockTimeout: 500 * time.Millisecond}); err != nil {
		if errors.Is(err, tickets.ErrLocked) {
			return nil, fmt.Errorf("%w: stop maildesk run before restoring", err)
		}
	} else {
		st.Close()
	}
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s is not a maildesk backup: %w", path, err)
	}
	tr := tar.NewReader(gz)
	res := &backupResult{Path: path}
	dbTmp := cfg.Store.Path + ".restoring"
	defer os.Remove(dbTmp)
	haveDB := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		var dest string
		switch {
		case h.Name == backupDB:
			dest, haveDB = dbTmp, true
		case strings.HasPrefix(h.Name, backupRaw):
			dest, err = blobPath(cfg.Store.Raw, strings.TrimPrefix(h.Name, backupRaw))
		case strings.HasPrefix(h.Name, backupFiles):
			dest, err = blobPath(cfg.Store.Attachments, strings.TrimPrefix(h.Name, backupFiles))
		default:
			err = fmt.Errorf("unexpected entry %q", h.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err := writeFile(dest, tr); err != nil {
			return nil, err
		}
		if dest == dbTmp {
			res.StoreSize = h.Size
		} else {
			res.Files++
			res.Bytes += h.Size
		}
	}
	if !haveDB {
		return nil, fmt.Errorf("%s holds no %s", path, backupDB)
	}
	if err := os.Rename(dbTmp, cfg.Store.Path); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// blobPath checks that rel is "xx/<64 hex>" with xx its first two digits.
func blobPath(dir, rel string) (string, error) {
	sub, key, ok := strings.Cut(rel, "/")
	if _, err := hex.DecodeString(key); !ok || err != nil || len(key) != 64 || sub != key[:2] {
		return "", fmt.Errorf("unexpected entry %q", rel)
	}
	return filepath.Join(dir, sub, key), nil
}

func writeFile(dest string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("restore %s: %w", dest, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func backupCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the store and every kept mail and file, while maildesk runs",
		Long: `backup writes FILE (a .tar.gz) with a snapshot of the database taken while maildesk runs,
the raw mails and the attachments. Restore it with "maildesk restore FILE" into a stopped
instance.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			var res backupResult
			ctx, done := terminalProgress(cmd.Context())
			cmd.SetContext(ctx)
			err = callCLI(cmd, g, "backup", backupArgs{Path: path}, &res)
			done()
			if err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup written to %s: store %.1f MB, %d files (%.1f MB), in %.1f s\n",
				res.Path, float64(res.StoreSize)/(1<<20), res.Files, float64(res.Bytes)/(1<<20), res.Seconds)
			return nil
		},
	}
	cmd.Flags().BoolVar(&g.jsonOut, "json", false, "print JSON")
	return cmd
}

func restoreCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore a backup into a stopped maildesk (the paths of the config's store section)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			res, err := restoreBackup(args[0], cfg, force)
			if err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %s into %s: store %.1f MB, %d files, in %.1f s\n",
				args[0], cfg.Store.Path, float64(res.StoreSize)/(1<<20), res.Files, res.Seconds)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing store")
	cmd.Flags().BoolVar(&g.jsonOut, "json", false, "print JSON")
	return cmd
}
