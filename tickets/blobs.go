package tickets

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Blobs is a content-addressed file store for raw mails and attachments,
// kept outside the bbolt file so the database stays small. A blob's path is
// derived from the SHA-256 of its content only, never from a name a sender
// chose, so no file name can escape the folder; identical files are kept once.
type Blobs struct {
	dir string
}

// OpenBlobs opens (creating if needed) the blob folder dir.
func OpenBlobs(dir string) (*Blobs, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("blob folder: %w", err)
	}
	return &Blobs{dir: dir}, nil
}

// Dir is the blob folder.
func (b *Blobs) Dir() string { return b.dir }

var errBadBlobKey = errors.New("tickets: malformed blob key")

func (b *Blobs) path(key string) (string, error) {
	if len(key) != 64 {
		return "", errBadBlobKey
	}
	if _, err := hex.DecodeString(key); err != nil {
		return "", errBadBlobKey
	}
	return filepath.Join(b.dir, key[:2], key), nil
}

// BlobKey is the key data is stored under.
func BlobKey(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Put stores data durably (written, fsynced and renamed into place) and
// returns its key. Storing the same content again costs a stat.
func (b *Blobs) Put(data []byte) (string, error) {
	var batch BlobBatch
	key, err := batch.Put(b, data)
	if err != nil {
		return "", err
	}
	return key, batch.Commit()
}

// BlobBatch stores many blobs with one round of fsyncs: each Put writes a
// temporary file; Commit fsyncs them all at once (the file system commits
// its journal for the lot instead of once per file), then renames them into
// place and syncs their folders. A blob is visible under its key only once
// it is durable, so a crash before Commit leaves nothing but temporary files
// and a retried Put writes the blob again. Not safe for concurrent use.
type BlobBatch struct {
	pending []pendingBlob
}

type pendingBlob struct {
	tmp, path string
	f         *os.File
}

// Put writes data as a blob of b to be made durable by Commit, and returns its key.
func (batch *BlobBatch) Put(b *Blobs, data []byte) (string, error) {
	key := BlobKey(data)
	p, _ := b.path(key)
	if _, err := os.Stat(p); err == nil {
		return key, nil
	}
	for _, q := range batch.pending {
		if q.path == p {
			return key, nil
		}
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("blob %s: %w", key, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("blob %s: %w", key, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("blob %s: %w", key, err)
	}
	batch.pending = append(batch.pending, pendingBlob{tmp: f.Name(), path: p, f: f})
	return key, nil
}

// Commit makes every blob of the batch durable and visible, and empties it.
// On error no blob of the batch is left half-written under its key.
func (batch *BlobBatch) Commit() error {
	pending := batch.pending
	batch.pending = nil
	if len(pending) == 0 {
		return nil
	}
	files := make([]*os.File, len(pending))
	for i, q := range pending {
		files[i] = q.f
	}
	err := syncFiles(files)
	for _, q := range pending {
		if cerr := q.f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		for _, q := range pending {
			os.Remove(q.tmp)
		}
		return fmt.Errorf("blob sync: %w", err)
	}
	dirs := map[string]bool{}
	for _, q := range pending {
		if err := os.Rename(q.tmp, q.path); err != nil {
			return fmt.Errorf("blob %s: %w", filepath.Base(q.path), err)
		}
		dirs[filepath.Dir(q.path)] = true
	}
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	return syncDirs(list)
}

// Abort removes the batch's temporary files.
func (batch *BlobBatch) Abort() {
	for _, q := range batch.pending {
		q.f.Close()
		os.Remove(q.tmp)
	}
	batch.pending = nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Open opens the blob with key for reading.
func (b *Blobs) Open(key string) (*os.File, error) {
	p, err := b.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", key, ErrNotFound)
	}
	return f, err
}

// Read returns the content of the blob with key.
func (b *Blobs) Read(key string) ([]byte, error) {
	f, err := b.Open(key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// maxFilenameBytes keeps names well under every file system's 255-byte limit
// and every mail client's patience.
const maxFilenameBytes = 180

// SanitizeFilename turns a name from a mail into one safe to show and to
// offer for download: no folders ("../../etc/passwd" → "passwd"), no
// control or reserved characters, no leading dots, at most 180 bytes with
// the extension kept. An empty result becomes "attachment".
func SanitizeFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || (unicode.IsSpace(r) && !unicode.IsControl(r)):
			return ' '
		case unicode.IsControl(r), r == utf8.RuneError:
			return -1
		case strings.ContainsRune(`<>:"|?*`, r):
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ". ")
	name = strings.TrimRight(name, ". ")
	if len(name) > maxFilenameBytes {
		ext := filepath.Ext(name)
		if len(ext) > 20 || !utf8.ValidString(ext) {
			ext = ""
		}
		base := name[:maxFilenameBytes-len(ext)]
		for !utf8.ValidString(base) {
			base = base[:len(base)-1]
		}
		name = base + ext
	}
	if name == "" {
		return "attachment"
	}
	return name
}
