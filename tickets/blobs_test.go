package tickets

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A batch makes its blobs visible only at Commit, keeps identical content
// once, and leaves nothing behind when aborted.
func TestBlobBatch(t *testing.T) {
	b, err := OpenBlobs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var batch BlobBatch
	k1, err := batch.Put(b, []byte("first"))
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := batch.Put(b, []byte("second"))
	if again, _ := batch.Put(b, []byte("first")); again != k1 || len(batch.pending) != 2 {
		t.Fatalf("same content twice in a batch: key %s, %d pending", again, len(batch.pending))
	}
	if _, err := b.Read(k1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("blob visible before Commit: %v", err)
	}
	if err := batch.Commit(); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{k1: "first", k2: "second"} {
		if got, err := b.Read(key); err != nil || string(got) != want {
			t.Errorf("Read(%s) = %q, %v", key, got, err)
		}
	}

	var aborted BlobBatch
	k3, _ := aborted.Put(b, []byte("never"))
	aborted.Abort()
	if _, err := b.Read(k3); !errors.Is(err, ErrNotFound) {
		t.Errorf("aborted blob readable: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(b.Dir(), "*", ".tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	if _, err := os.Stat(filepath.Join(b.Dir(), k3[:2], k3)); !os.IsNotExist(err) {
		t.Errorf("aborted blob on disk: %v", err)
	}
}
