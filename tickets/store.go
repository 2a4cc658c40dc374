package tickets

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"
)

// Bucket names; the layout is described in doc.go.
var (
	bucketMeta        = []byte("meta")
	bucketTickets     = []byte("tickets")
	bucketMessages    = []byte("messages")
	bucketMsgIDs      = []byte("msgids")
	bucketProcessed   = []byte("processed")
	bucketCustomers   = []byte("customers")
	bucketByCustomer  = []byte("by_customer")
	bucketByStatus    = []byte("by_status")
	bucketTimers      = []byte("timers")
	bucketOutbox      = []byte("outbox")
	bucketOutboxDue   = []byte("outbox_due")
	bucketOutboxMsgID = []byte("outbox_msgid")
	bucketIMAP        = []byte("imap")
	bucketQuarantine  = []byte("quarantine")
	bucketAutoSent    = []byte("auto_sent_hourly")
	// bucketAutoSentV1 held one counter per address, never pruned; only
	// the per-hour caps are lost when it is dropped.
	bucketAutoSentV1 = []byte("auto_sent")

	allBuckets = [][]byte{bucketMeta, bucketTickets, bucketMessages, bucketMsgIDs, bucketProcessed,
		bucketCustomers, bucketByCustomer, bucketByStatus, bucketTimers, bucketOutbox, bucketOutboxDue,
		bucketOutboxMsgID, bucketIMAP, bucketQuarantine, bucketAutoSent}
)

const schemaVersion = 1

// ErrLocked means another process (normally a running `maildesk run`) holds the store.
var ErrLocked = errors.New("tickets: store is in use by another process")

// ErrNotFound is returned for a ticket, customer or outbox entry that does not exist.
var ErrNotFound = errors.New("tickets: not found")

// Store is the embedded database: tickets, customers, threads, the outbox and
// mail-in state, in one bbolt file so that one transaction covers them all.
type Store struct {
	db     *bolt.DB
	secret []byte
	kick   chan struct{}
}

// StoreOptions tune Open. The zero value is fine.
type StoreOptions struct {
	// LockTimeout is how long to wait for another process to release the file.
	LockTimeout time.Duration
	// NoSync skips fsync on commit. Only for benchmarks of CPU cost.
	NoSync bool
}

// Open opens or creates the store at path.
func Open(path string, opts StoreOptions) (*Store, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = time.Second
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      opts.LockTimeout,
		NoSync:       opts.NoSync,
		FreelistType: bolt.FreelistMapType,
	})
	if errors.Is(err, bberrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{db: db, kick: make(chan struct{}, 1)}
	if err := db.Update(s.init); err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) init(tx *bolt.Tx) error {
	if tx.Bucket(bucketAutoSentV1) != nil {
		if err := tx.DeleteBucket(bucketAutoSentV1); err != nil {
			return err
		}
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if v := meta.Get([]byte("version")); v != nil && binary.BigEndian.Uint64(v) > schemaVersion {
		return fmt.Errorf("store schema %d is newer than this maildesk (%d)", binary.BigEndian.Uint64(v), schemaVersion)
	}
	if err := meta.Put([]byte("version"), be64(schemaVersion)); err != nil {
		return err
	}
	secret := meta.Get([]byte("secret"))
	if secret == nil {
		secret = make([]byte, 32)
		rand.Read(secret)
		if err := meta.Put([]byte("secret"), secret); err != nil {
			return err
		}
	}
	s.secret = bytes.Clone(secret)
	return nil
}

// Close closes the database file.
func (s *Store) Close() error { return s.db.Close() }

// Path is the database file's path.
func (s *Store) Path() string { return s.db.Path() }

// Secret is a random key created with the store. It signs staff reply
// addresses and bounce return paths, so a backup restores them too.
func (s *Store) Secret() []byte { return s.secret }

// OutboxKick receives a value after a commit that queued mail, so the
// sender can wake up instead of polling.
func (s *Store) OutboxKick() <-chan struct{} { return s.kick }

// Update runs fn in a read-write transaction and commits if fn returns nil.
func (s *Store) Update(fn func(tx *Tx) error) error {
	var queued bool
	err := s.db.Update(func(btx *bolt.Tx) error {
		tx := &Tx{btx: btx, store: s}
		if err := fn(tx); err != nil {
			return err
		}
		queued = tx.queued
		return nil
	})
	if err == nil && queued {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return err
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(tx *Tx) error) error {
	return s.db.View(func(btx *bolt.Tx) error { return fn(&Tx{btx: btx, store: s}) })
}

// Backup writes a consistent copy of the database to path while it is in use.
func (s *Store) Backup(path string) (int64, error) {
	var size int64
	err := s.db.View(func(tx *bolt.Tx) error {
		size = tx.Size()
		return tx.CopyFile(path, 0o600)
	})
	return size, err
}

// Tx is a transaction on the store. Its methods are the only way the rest
// of maildesk reads or writes records, so that indexes stay in step.
type Tx struct {
	btx    *bolt.Tx
	store  *Store
	queued bool
	noMail bool
}

// NoMail makes the rest of the transaction queue no mail: what it changes
// happens silently. For importing history, which must not mail anyone.
func (tx *Tx) NoMail() { tx.noMail = true }

// Secret is the store's signing key (see Store.Secret).
func (tx *Tx) Secret() []byte { return tx.store.secret }

func (tx *Tx) bucket(name []byte) *bolt.Bucket {
	b := tx.btx.Bucket(name)
	if b != nil && appendMostly[string(name)] {
		b.FillPercent = appendFill
	}
	return b
}

// appendMostly are the buckets whose keys grow, so that new entries go to
// their end: tickets and the outbox by sequence number, threads by ticket
// number (replies mostly come to recent tickets), our Message-IDs by time. bbolt splits pages half full by default, which
// suits random keys; for these it only left every page half empty (a store
// with 100,000 tickets had 600 MB of outbox pages for 350 MB of outbox).
var appendMostly = map[string]bool{string(bucketTickets): true, string(bucketMessages): true, string(bucketOutbox): true,
	string(bucketOutboxMsgID): true}

// appendFill leaves room for a ticket or an outbox entry to grow in place.
const appendFill = 0.9

func be64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func be32(v uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, v)
	return b
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	return b.Put(key, data)
}

// getJSON decodes the value at key into v; it reports false when absent.
func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("decode %T %x: %w", v, key, err)
	}
	return true, nil
}

// InUse is the number of bytes the data takes inside the database file
// (pages in use by every bucket), which grows with the data while the file
// itself grows in large steps and never shrinks.
func (s *Store) InUse() (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			st := b.Stats()
			n += int64(st.BranchInuse + st.LeafInuse + st.InlineBucketInuse)
			return nil
		})
	})
	return n, err
}

// Snapshot writes a consistent copy of the whole database to w while the
// store stays in use (a read transaction: writers go on meanwhile).
func (s *Store) Snapshot(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}
