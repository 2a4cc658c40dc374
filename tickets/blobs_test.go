package tickets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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

// A crash between a blob's rename and the flush can leave a file under the
// key that is cut short; the next Put of that content must not trust it.
func TestBlobBatchRewritesDamagedBlob(t *testing.T) {
	b, err := OpenBlobs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("the whole mail, as the server had it")
	key, err := b.Put(data)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(b.Dir(), key[:2], key)
	for _, damaged := range [][]byte{data[:10], {}, []byte("the whole mail, as the server had iT")} {
		if err := os.WriteFile(path, damaged, 0o640); err != nil {
			t.Fatal(err)
		}
		if again, err := b.Put(data); err != nil || again != key {
			t.Fatalf("Put over a damaged blob: %s, %v", again, err)
		}
		if got, err := b.Read(key); err != nil || string(got) != string(data) {
			t.Fatalf("after Put over %q: %q, %v", damaged, got, err)
		}
	}
	// An intact copy is kept as it is.
	before, _ := os.Stat(path)
	if _, err := b.Put(data); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(path); !os.SameFile(before, after) {
		t.Error("an intact blob was written again")
	}
}

// Mail-in writes a chunk's blobs from many goroutines into two folders
// (raw mails and attachments) and commits them together.
func TestBlobBatchConcurrentPuts(t *testing.T) {
	raw, err := OpenBlobs(filepath.Join(t.TempDir(), "raw"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := OpenBlobs(filepath.Join(t.TempDir(), "files"))
	if err != nil {
		t.Fatal(err)
	}
	var batch BlobBatch
	keys := make([]string, 200)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, content := raw, fmt.Sprintf("mail %d", i%150) // 50 repeats
			if i%2 == 1 {
				b = files
			}
			k, err := batch.Put(b, []byte(content))
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	if err := batch.Commit(); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		b := raw
		if i%2 == 1 {
			b = files
		}
		if got, err := b.Read(k); err != nil || string(got) != fmt.Sprintf("mail %d", i%150) {
			t.Errorf("blob %d: %q, %v", i, got, err)
		}
	}
	for _, b := range []*Blobs{raw, files} {
		if tmp, _ := filepath.Glob(filepath.Join(b.Dir(), "*", ".tmp-*")); len(tmp) != 0 {
			t.Errorf("temporary files left: %v", tmp)
		}
	}
}
