package tickets

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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

// Put stores data durably and returns its key. Storing the same content
// again costs a read of the stored copy.
func (b *Blobs) Put(data []byte) (string, error) {
	var batch BlobBatch
	key, err := batch.Put(b, data)
	if err != nil {
		batch.Abort()
		return "", err
	}
	return key, batch.Commit()
}

// BlobBatch stores many blobs with one flush of the file system: each Put
// writes a temporary file; Commit renames them all into place and makes
// files and names durable at once (one journal commit for the lot instead
// of one per file). A file under a blob's key may so be there before it is
// durable, or cut short by a crash; nothing refers to it until the commit
// that follows Commit, and Put trusts a file it finds under a key only if
// its content has that key (else writes it again). Put may be called from
// many goroutines at once; Commit and Abort only after every Put returned.
type BlobBatch struct {
	mu       sync.Mutex
	pending  []pendingBlob
	found    []string        // blobs stored before, to be synced with the batch where there is no syncfs
	reserved map[string]bool // paths being written or pending
	roots    map[string]bool // the blob folders written to
}

type pendingBlob struct {
	tmp, path string
	f         *os.File
}

// Put writes data as a blob of b to be made durable by Commit, and returns its key.
func (batch *BlobBatch) Put(b *Blobs, data []byte) (string, error) {
	key := BlobKey(data)
	p, _ := b.path(key)
	// The same content twice in one batch (a file sent to several tickets)
	// is written once.
	batch.mu.Lock()
	if batch.reserved[p] {
		batch.mu.Unlock()
		return key, nil
	}
	if batch.reserved == nil {
		batch.reserved, batch.roots = map[string]bool{}, map[string]bool{}
	}
	batch.reserved[p], batch.roots[b.dir] = true, true
	batch.mu.Unlock()
	if holds(p, key) {
		batch.mu.Lock()
		batch.found = append(batch.found, p)
		batch.mu.Unlock()
		return key, nil
	}
	f, err := writeTemp(filepath.Dir(p), data)
	batch.mu.Lock()
	defer batch.mu.Unlock()
	if err != nil {
		delete(batch.reserved, p)
		return "", fmt.Errorf("blob %s: %w", key, err)
	}
	batch.pending = append(batch.pending, pendingBlob{tmp: f.Name(), path: p, f: f})
	return key, nil
}

// holds reports whether the file at path has the content of key. Only a
// repeated file or a retry after a crash gets here, so reading it is cheap
// against writing it again.
func holds(path, key string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	return hex.EncodeToString(h.Sum(nil)) == key
}

// writeTemp writes data into a new temporary file in dir, left open for the sync.
func writeTemp(dir string, data []byte) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// Commit makes every blob of the batch durable under its key, and empties
// the batch. After an error, a blob of the batch may or may not be there.
func (batch *BlobBatch) Commit() error {
	pending, found, roots := batch.pending, batch.found, batch.roots
	batch.pending, batch.found, batch.reserved, batch.roots = nil, nil, nil, nil
	if len(pending) == 0 && len(found) == 0 {
		return nil
	}
	var err error
	for _, q := range pending {
		if err == nil {
			if rerr := os.Rename(q.tmp, q.path); rerr != nil {
				err = fmt.Errorf("blob %s: %w", filepath.Base(q.path), rerr)
			}
		}
		if err != nil {
			os.Remove(q.tmp)
		}
	}
	if err == nil {
		if serr := syncBlobs(roots, pending, found); serr != nil {
			err = fmt.Errorf("blob sync: %w", serr)
		}
	}
	for _, q := range pending {
		// A write error some file systems report only at close.
		if cerr := q.f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("blob %s: %w", filepath.Base(q.path), cerr)
		}
	}
	return err
}

// syncBlobs makes the renamed files and the blobs found in place durable,
// with their names: with syncfs(2) of each file system the blob folders
// are on where there is one, else with an fsync of every file and folder.
func syncBlobs(roots map[string]bool, pending []pendingBlob, found []string) error {
	if err := syncFS(slices.Collect(maps.Keys(roots))); err != errNoSyncFS {
		return err
	}
	var files []*os.File
	dirs := map[string]bool{}
	for _, q := range pending {
		files = append(files, q.f)
		dirs[filepath.Dir(q.path)] = true
	}
	for _, p := range found {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		files = append(files, f)
		dirs[filepath.Dir(p)] = true
	}
	return syncEach(files, slices.Collect(maps.Keys(dirs)))
}

// Abort removes the batch's temporary files.
func (batch *BlobBatch) Abort() {
	for _, q := range batch.pending {
		q.f.Close()
		os.Remove(q.tmp)
	}
	batch.pending, batch.found, batch.reserved, batch.roots = nil, nil, nil, nil
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
