package mailin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"maildesk/tickets"
)

// IMAPOptions configure the poller's connection and mailboxes.
type IMAPOptions struct {
	Addr      string // host:port
	Security  string // "tls", "starttls" or "none"
	TLSConfig *tls.Config
	Username  string
	Password  string
	// SASL, when set, authenticates with it (OAuth2) instead of LOGIN; it is
	// called for every connection so a fresh token can be fetched.
	SASL func(ctx context.Context) (sasl.Client, error)
	// Mailbox is where customers' mail arrives. Default INBOX.
	Mailbox string
	// ProcessedMailbox, if set, receives processed mail (MOVE after commit).
	ProcessedMailbox string
	// QuarantineMailbox receives mail that cannot be taken in. Default "Quarantine".
	QuarantineMailbox string
	// PollInterval is how often to look for mail when the server has no IDLE. Default 1 min.
	PollInterval time.Duration
	// IdleRefresh ends IDLE this often to look for mail a lost EXISTS hid and
	// to notice a dead connection. Default 10 min.
	IdleRefresh time.Duration
	// MaxMessageSize: bigger mail is not fetched but quarantined. Default 64 MiB.
	MaxMessageSize int64
	// ChunkSize is how many mails are fetched and committed together. Default 100.
	ChunkSize int
	// MaxChunkBytes ends a chunk early once its mails add up to this many
	// bytes (a chunk holds at least one mail). Default 32 MiB.
	MaxChunkBytes int64
	// Debug receives the raw protocol, passwords included: tests only.
	Debug io.Writer
}

func (o *IMAPOptions) defaults() {
	if o.Mailbox == "" {
		o.Mailbox = "INBOX"
	}
	if o.QuarantineMailbox == "" {
		o.QuarantineMailbox = "Quarantine"
	}
	if o.PollInterval == 0 {
		o.PollInterval = time.Minute
	}
	if o.IdleRefresh == 0 {
		o.IdleRefresh = 10 * time.Minute
	}
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = 64 << 20
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = 100
	}
	if o.MaxChunkBytes == 0 {
		o.MaxChunkBytes = 32 << 20
	}
}

// Poller takes mail from one IMAP mailbox into the store, exactly once:
//
//  1. It fetches UIDs above the watermark (UIDVALIDITY + last UID) with
//     BODY.PEEK, so nothing is marked \Seen before it is safe.
//  2. For each chunk it commits, in one bbolt transaction, every mail's
//     ticket change and queued mail, the processed records (Message-ID or
//     hash), the new watermark, and the list of UIDs still to acknowledge.
//  3. Only then does it flag the mails \Seen and move them (to the
//     processed or the quarantine mailbox), and record that in the store
//     (with the next chunk's commit, or alone after the last chunk).
//
// While a chunk goes through 2 and 3, the next one is fetched and parsed,
// and its files written; it is committed only after. A crash before 2
// refetches the chunk; after 2, the unacknowledged list is worked off at
// the next connect, asking the server which of those UIDs are still
// there; a mail seen twice (UIDVALIDITY change, a copy) is recognised by
// its processed record. Nothing is lost and nothing is answered twice.
type Poller struct {
	opts      IMAPOptions
	proc      *Processor
	log       *slog.Logger
	now       func() time.Time
	connected atomic.Bool
	stats     PollerStats
}

// PollerStats count what the poller did since it started, for /metrics.
type PollerStats struct {
	Taken, Quarantined atomic.Int64
	// StoreErrors counts the times the store refused mail (each ends the
	// session; the mail stays on the server).
	StoreErrors atomic.Int64
	// ProcessNanos sums, over the mails taken in, the time from the start
	// of their fetch to their commit (a mail waits for its chunk).
	ProcessNanos atomic.Int64
	// LastTaken is the Unix time of the last mail taken in.
	LastTaken atomic.Int64
	// StoreFailing is set when the store refuses mail and cleared at the
	// next commit that succeeds.
	StoreFailing atomic.Bool
}

// Stats are the poller's counters.
func (p *Poller) Stats() *PollerStats { return &p.stats }

// NewPoller returns a poller feeding proc. now may be nil for time.Now.
func NewPoller(proc *Processor, opts IMAPOptions, log *slog.Logger, now func() time.Time) *Poller {
	opts.defaults()
	if now == nil {
		now = time.Now
	}
	return &Poller{opts: opts, proc: proc, log: log.With("mailbox", opts.Mailbox), now: now}
}

// Connected reports whether the poller holds a logged-in connection.
func (p *Poller) Connected() bool { return p.connected.Load() }

// maxFailures is how often maildesk may fail inside on one mail before
// quarantining it instead of trying again.
const maxFailures = 3

// shutdownGrace is how long a cancelled poller may finish the chunk in hand
// before its connection is closed under it.
const shutdownGrace = 15 * time.Second

// StoreError means the store refused a write (disk full, read-only file).
// The poller leaves the mail on the server and tries again later.
type StoreError struct{ Err error }

func (e *StoreError) Error() string { return "store: " + e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// Run takes mail until ctx is cancelled, reconnecting with backoff.
func (p *Poller) Run(ctx context.Context) error {
	delay := time.Second
	for {
		start := time.Now()
		err := p.session(ctx, false)
		if ctx.Err() != nil {
			return nil
		}
		var se *StoreError
		if errors.As(err, &se) {
			p.stats.StoreErrors.Add(1)
			p.stats.StoreFailing.Store(true)
			p.log.Error("cannot write to the store; mail stays on the server until it can", "err", err)
		} else {
			p.log.Warn("imap session ended", "err", err)
		}
		if time.Since(start) > time.Minute {
			delay = time.Second
		}
		wait := delay/2 + rand.N(delay/2+1)
		p.log.Info("reconnecting", "in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		delay = min(delay*2, 5*time.Minute)
	}
}

// Once connects, takes every waiting mail and returns (maildesk run --once).
func (p *Poller) Once(ctx context.Context) error { return p.session(ctx, true) }

func (p *Poller) session(ctx context.Context, once bool) error {
	kick := make(chan struct{}, 1)
	c, err := p.connect(ctx, kick)
	if err != nil {
		return err
	}
	defer c.Close()
	// On shutdown, let the chunk in hand finish; then unblock any stuck read.
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(shutdownGrace, func() { c.Close() }) })
	defer stop()
	p.connected.Store(true)
	defer p.connected.Store(false)

	caps := c.Caps()
	if len(caps) == 0 {
		return errors.New("server did not tell its capabilities")
	}
	// Without MOVE or UIDPLUS, moving falls back to a plain EXPUNGE that would
	// also remove mail a person flagged \Deleted: then we only flag \Seen.
	canMove := caps.Has(imap.CapMove) || caps.Has(imap.CapUIDPlus) || caps.Has(imap.CapIMAP4rev2)
	for _, mbox := range []string{p.opts.QuarantineMailbox, p.opts.ProcessedMailbox} {
		if err := ensureMailbox(c, mbox); err != nil {
			return err
		}
	}
	sel, err := c.Select(p.opts.Mailbox, nil).Wait()
	if err != nil {
		return fmt.Errorf("select %q: %w", p.opts.Mailbox, err)
	}
	state, rescan, err := p.loadState(sel.UIDValidity)
	if err != nil {
		return err
	}
	p.log.Info("imap connected", "uidvalidity", sel.UIDValidity, "messages", sel.NumMessages, "last_uid", state.LastUID, "idle", caps.Has(imap.CapIdle))
	if err := p.ack(c, state, canMove, true); err != nil {
		return err
	}
	for {
		if err := p.drain(ctx, c, state, rescan, canMove); err != nil {
			return err
		}
		rescan = false
		if once || ctx.Err() != nil {
			return nil
		}
		if err := p.wait(ctx, c, caps.Has(imap.CapIdle), kick); err != nil {
			return err
		}
	}
}

func (p *Poller) connect(ctx context.Context, kick chan struct{}) (*imapclient.Client, error) {
	opts := &imapclient.Options{
		TLSConfig:   p.opts.TLSConfig,
		DebugWriter: p.opts.Debug,
		// The client has no read deadline while it waits (in IDLE above all):
		// keep-alive probes notice a peer that vanished within about two minutes.
		Dialer: &net.Dialer{Timeout: 30 * time.Second, KeepAliveConfig: net.KeepAliveConfig{
			Enable: true, Idle: time.Minute, Interval: 15 * time.Second, Count: 4}},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			// Runs on the client's reader goroutine: never call the client
			// from here, only wake the loop.
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case kick <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	var c *imapclient.Client
	var err error
	switch p.opts.Security {
	case "tls":
		c, err = imapclient.DialTLS(p.opts.Addr, opts)
	case "starttls":
		c, err = imapclient.DialStartTLS(p.opts.Addr, opts)
	default:
		c, err = imapclient.DialInsecure(p.opts.Addr, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", p.opts.Addr, err)
	}
	if err := p.login(ctx, c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (p *Poller) login(ctx context.Context, c *imapclient.Client) error {
	if p.opts.SASL != nil {
		client, err := p.opts.SASL(ctx)
		if err != nil {
			return fmt.Errorf("imap token: %w", err)
		}
		if err := c.Authenticate(client); err != nil {
			return fmt.Errorf("imap authenticate as %q: %w", p.opts.Username, err)
		}
		return nil
	}
	if err := c.Login(p.opts.Username, p.opts.Password).Wait(); err != nil {
		return fmt.Errorf("imap login as %q: %w", p.opts.Username, err)
	}
	return nil
}

// ensureMailbox creates mailbox name unless it exists.
func ensureMailbox(c *imapclient.Client, name string) error {
	if name == "" {
		return nil
	}
	err := c.Create(name, nil).Wait()
	var ie *imap.Error
	if err == nil || (errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists) {
		return nil
	}
	// Servers without RFC 5530 codes say "exists" in words only: ask instead.
	if _, serr := c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait(); serr == nil {
		return nil
	}
	return fmt.Errorf("create mailbox %q: %w", name, err)
}

// loadState reads the watermark; a changed UIDVALIDITY voids the stored
// UIDs and starts a rescan, in which dedup by Message-ID keeps old mail from
// being taken in again.
func (p *Poller) loadState(uidValidity uint32) (*tickets.MailboxState, bool, error) {
	var state *tickets.MailboxState
	rescan := false
	err := p.proc.store.Update(func(tx *tickets.Tx) error {
		var err error
		if state, err = tx.MailboxState(p.opts.Mailbox); err != nil {
			return err
		}
		if state.UIDValidity == uidValidity {
			return nil
		}
		if state.UIDValidity != 0 {
			p.log.Warn("UIDVALIDITY changed: rescanning the mailbox, skipping mail taken in before",
				"old", state.UIDValidity, "new", uidValidity)
			rescan = true
		}
		state = &tickets.MailboxState{UIDValidity: uidValidity}
		return tx.PutMailboxState(p.opts.Mailbox, state)
	})
	if err != nil {
		return nil, false, &StoreError{err}
	}
	return state, rescan, nil
}

type newMail struct {
	uid  imap.UID
	size int64
}

// drain takes every mail above the watermark.
func (p *Poller) drain(ctx context.Context, c *imapclient.Client, state *tickets.MailboxState, rescan, canMove bool) error {
	for ctx.Err() == nil {
		pending, err := listNew(c, imap.UID(state.LastUID))
		if err != nil || len(pending) == 0 {
			return err
		}
		top := pending[len(pending)-1].uid
		if rescan {
			if pending, err = p.skipKnown(c, state, pending); err != nil {
				return err
			}
		}
		if err := p.takeAll(ctx, c, state, pending, canMove); err != nil {
			return err
		}
		if rescan && state.LastUID < uint32(top) {
			if err := p.saveState(func(st *tickets.MailboxState) { st.LastUID = uint32(top) }, state); err != nil {
				return err
			}
		}
		rescan = false
	}
	return nil
}

// listNew asks for the UIDs and sizes above last. The UID FETCH costs the
// same whatever the mailbox holds below last. "last+1:*" always includes the
// highest message even if its UID is lower, so the answer is filtered.
func listNew(c *imapclient.Client, last imap.UID) ([]newMail, error) {
	var set imap.UIDSet
	set.AddRange(last+1, 0)
	msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("list new mail: %w", err)
	}
	var out []newMail
	for _, m := range msgs {
		if m.UID > last {
			out = append(out, newMail{uid: m.UID, size: m.RFC822Size})
		}
	}
	slices.SortFunc(out, func(a, b newMail) int { return int(a.uid) - int(b.uid) })
	return out, nil
}

// skipKnown is the rescan after a UIDVALIDITY change: it reads only the
// Message-ID of each mail and leaves out mail already taken in (they are
// only acknowledged), so a big mailbox is not fetched whole.
func (p *Poller) skipKnown(c *imapclient.Client, state *tickets.MailboxState, pending []newMail) ([]newMail, error) {
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-Id"}, Peek: true}
	var unknown []newMail
	var known []uint32
	for chunk := range slices.Chunk(pending, 500) {
		var set imap.UIDSet
		for _, m := range chunk {
			set.AddNum(m.uid)
		}
		msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return nil, fmt.Errorf("rescan: %w", err)
		}
		ids := map[imap.UID]string{}
		for _, m := range msgs {
			if h := m.FindBodySection(section); h != nil {
				if list := msgIDs(string(h)); len(list) > 0 {
					ids[m.UID] = list[0]
				}
			}
		}
		err = p.proc.store.View(func(tx *tickets.Tx) error {
			for _, m := range chunk {
				if id := ids[m.uid]; id != "" {
					if _, done := tx.Processed(tickets.MailKey(id, "")); done {
						known = append(known, uint32(m.uid))
						continue
					}
				}
				unknown = append(unknown, m)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	p.log.Info("rescan", "known", len(known), "new", len(unknown))
	return unknown, p.saveState(func(st *tickets.MailboxState) { st.Unacked = append(st.Unacked, known...) }, state)
}

// takeAll takes pending in chunk by chunk. While one chunk is committed
// and acknowledged, the next is already being parsed and written to disk:
// the two wait on different things (bbolt's fsync and the IMAP server, the
// CPU and the file system). Every IMAP command stays on this goroutine, one
// at a time, and a chunk is committed only after it is prepared, so a
// chunk's files are durable before the commit that refers to them, as
// without the overlap. On shutdown the chunk in hand is committed and the
// one being prepared is left for the next start.
func (p *Poller) takeAll(ctx context.Context, c *imapclient.Client, state *tickets.MailboxState, pending []newMail, canMove bool) error {
	chunks := chunksOf(pending, p.opts.ChunkSize, p.opts.MaxChunkBytes)
	if len(chunks) == 0 {
		return nil
	}
	cur, err := p.fetch(c, chunks[0])
	if err != nil {
		return err
	}
	if err := p.prepare(cur); err != nil {
		return err
	}
	for i := range chunks {
		var next *chunk
		var prepared chan error
		if i+1 < len(chunks) && ctx.Err() == nil {
			if next, err = p.fetch(c, chunks[i+1]); err != nil {
				return err
			}
			prepared = make(chan error, 1)
			go func() { prepared <- p.prepare(next) }()
		}
		err := p.commitChunk(state, cur)
		if err == nil {
			// The record that the chunk was acknowledged rides with the
			// next chunk's commit; the last one is recorded on its own.
			err = p.ack(c, state, canMove, next == nil || ctx.Err() != nil)
		}
		if prepared != nil {
			if perr := <-prepared; err == nil {
				err = perr
			}
		}
		if err != nil || next == nil || ctx.Err() != nil {
			return err
		}
		cur = next
	}
	return nil
}

// chunk is a batch of mails on their way in, with when its fetch began.
type chunk struct {
	items []*Item
	start time.Time
}

// chunksOf splits pending into chunks of at most n mails and, unless one
// mail is bigger, maxBytes: two chunks are in memory at a time.
func chunksOf(pending []newMail, n int, maxBytes int64) [][]newMail {
	var out [][]newMail
	var size int64
	for i, m := range pending {
		last := len(out) - 1
		if i == 0 || len(out[last]) >= n || (size+m.size > maxBytes && len(out[last]) > 0) {
			out = append(out, nil)
			last, size = last+1, 0
		}
		out[last] = append(out[last], m)
		size += m.size
	}
	return out
}

// fetch reads the chunk's mails; one over the size limit is marked for the
// quarantine without being fetched.
func (p *Poller) fetch(c *imapclient.Client, pending []newMail) (*chunk, error) {
	ch := &chunk{items: make([]*Item, 0, len(pending)), start: time.Now()}
	var set imap.UIDSet
	for _, m := range pending {
		it := &Item{UID: uint32(m.uid)}
		if m.size > p.opts.MaxMessageSize {
			it.Problem = fmt.Errorf("mail of %d bytes is over imap.max_message_size (%d); it stays in the quarantine mailbox", m.size, p.opts.MaxMessageSize)
		} else {
			set.AddNum(m.uid)
		}
		ch.items = append(ch.items, it)
	}
	bodies, err := p.fetchBodies(c, set)
	if err != nil {
		return nil, err
	}
	for _, it := range ch.items {
		if it.Problem == nil {
			it.Raw = bodies[imap.UID(it.UID)] // nil: expunged by someone since we listed it
		}
	}
	return ch, nil
}

// prepare parses the chunk and makes its raw mails and files durable.
func (p *Poller) prepare(ch *chunk) error {
	if err := p.proc.PrepareAll(ch.items); err != nil {
		return &StoreError{err}
	}
	return nil
}

// commitChunk commits a prepared chunk.
func (p *Poller) commitChunk(state *tickets.MailboxState, ch *chunk) error {
	if err := p.commit(state, ch.items); err != nil {
		return err
	}
	p.stats.StoreFailing.Store(false)
	taken := 0
	for _, it := range ch.items {
		if it.Raw != nil || it.Problem != nil {
			taken++ // as logItems counts them
		}
	}
	p.stats.ProcessNanos.Add(int64(time.Since(ch.start)) * int64(taken))
	return nil
}

// fetchBodies reads the full mails of set. The literal is read at once, as
// the client discards it at the next item, and the fetch is finished before
// any other command (a STORE inside the loop deadlocks the client).
func (p *Poller) fetchBodies(c *imapclient.Client, set imap.UIDSet) (map[imap.UID][]byte, error) {
	out := map[imap.UID][]byte{}
	if len(set) == 0 {
		return out, nil
	}
	cmd := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var uid imap.UID
		var body []byte
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				if it.Literal != nil {
					b, err := io.ReadAll(io.LimitReader(it.Literal, p.opts.MaxMessageSize+1))
					if err != nil {
						cmd.Close()
						return nil, fmt.Errorf("fetch uid %d: %w", uid, err)
					}
					body = b
				}
			}
		}
		if uid != 0 && body != nil {
			out[uid] = body
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	return out, nil
}

// panicError is a panic inside maildesk while taking one mail in.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// commit takes items in with one transaction. If that fails because
// maildesk panicked on some mail, each is retried alone to find the culprit,
// which is quarantined after maxFailures attempts; a store failure stops
// everything with the mail left on the server.
func (p *Poller) commit(state *tickets.MailboxState, items []*Item) error {
	err := p.apply(state, items)
	var pe *panicError
	if err == nil || !errors.As(err, &pe) {
		p.logItems(items, err)
		return err
	}
	for _, it := range items {
		err := p.apply(state, []*Item{it})
		if err == nil {
			p.logItems([]*Item{it}, nil)
			continue
		}
		if !errors.As(err, &pe) {
			return err
		}
		failures := state.Failures[it.UID] + 1
		p.log.Error("maildesk failed on a mail", "uid", it.UID, "attempt", failures, "err", err, "stack", string(pe.stack))
		if failures < maxFailures {
			if serr := p.saveState(func(st *tickets.MailboxState) {
				if st.Failures == nil {
					st.Failures = map[uint32]int{}
				}
				st.Failures[it.UID] = failures
			}, state); serr != nil {
				return serr
			}
			return err
		}
		it.In, it.Problem = nil, fmt.Errorf("maildesk failed on this mail %d times (%v); it needs a developer", failures, pe.value)
		if err := p.apply(state, []*Item{it}); err != nil {
			return err
		}
		p.logItems([]*Item{it}, nil)
	}
	return nil
}

// apply commits items and the watermark after them in one transaction.
func (p *Poller) apply(state *tickets.MailboxState, items []*Item) error {
	next := cloneState(state)
	now := p.now()
	err := p.proc.store.Update(func(tx *tickets.Tx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = &panicError{value: r, stack: debug.Stack()}
			}
		}()
		for _, it := range items {
			switch {
			case it.Problem != nil:
				if err := p.proc.quarantine(tx, it, p.opts.Mailbox, state.UIDValidity, it.Problem.Error(), now); err != nil {
					return err
				}
				next.Quarantined = append(next.Quarantined, it.UID)
			case it.Raw != nil:
				if err := p.proc.Apply(tx, it, now); err != nil {
					return err
				}
				next.Unacked = append(next.Unacked, it.UID)
			}
			next.LastUID = max(next.LastUID, it.UID)
			delete(next.Failures, it.UID)
		}
		return tx.PutMailboxState(p.opts.Mailbox, next)
	})
	if err == nil {
		*state = *next
		return nil
	}
	var pe *panicError
	if errors.As(err, &pe) {
		return err
	}
	return &StoreError{err}
}

func (p *Poller) logItems(items []*Item, err error) {
	for _, it := range items {
		if it.Raw == nil && it.Problem == nil {
			continue
		}
		attrs := []any{"uid", it.UID, "from", it.From}
		if it.In != nil {
			attrs = append(attrs, "message_id", it.In.MessageID)
		}
		switch {
		case err != nil:
			p.log.Warn("mail not taken in", append(attrs, "err", err)...)
		case it.Problem != nil:
			p.stats.Quarantined.Add(1)
			p.log.Warn("mail quarantined", append(attrs, "reason", it.Problem.Error())...)
		default:
			p.stats.Taken.Add(1)
			p.stats.LastTaken.Store(p.now().Unix())
			p.log.Info("mail taken in", append(attrs, "ticket", uint64(it.Outcome.Ticket), "outcome", it.Outcome.Action, "detail", it.Outcome.Detail)...)
		}
	}
}

func cloneState(st *tickets.MailboxState) *tickets.MailboxState {
	c := *st
	c.Unacked = slices.Clone(st.Unacked)
	c.Quarantined = slices.Clone(st.Quarantined)
	c.Failures = make(map[uint32]int, len(st.Failures))
	for k, v := range st.Failures {
		c.Failures[k] = v
	}
	return &c
}

// saveState changes the stored state with fn and, once committed, state.
func (p *Poller) saveState(fn func(*tickets.MailboxState), state *tickets.MailboxState) error {
	next := cloneState(state)
	fn(next)
	err := p.proc.store.Update(func(tx *tickets.Tx) error { return tx.PutMailboxState(p.opts.Mailbox, next) })
	if err != nil {
		return &StoreError{err}
	}
	*state = *next
	return nil
}

// ack flags committed mail \Seen and moves it where it belongs, then
// records that it did: in the store if record is set, else only in state,
// for the next commit to carry. Without that record a restart asks the
// server again which of the mails are still there. Only ever called with
// no other command running.
// After a crash between a MOVE and its record, some UIDs are already gone:
// only the ones still in the mailbox are touched, as a MOVE of nothing is
// answered oddly by some servers (an empty COPYUID the client cannot parse).
func (p *Poller) ack(c *imapclient.Client, state *tickets.MailboxState, canMove, record bool) error {
	if len(state.Unacked) == 0 && len(state.Quarantined) == 0 {
		return nil
	}
	present, err := presentUIDs(c, append(slices.Clone(state.Unacked), state.Quarantined...))
	if err != nil {
		return err
	}
	if done := present.filter(state.Unacked); len(done) > 0 {
		set := uidSet(done)
		if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
			return fmt.Errorf("flag processed mail: %w", err)
		}
		if p.opts.ProcessedMailbox != "" && canMove {
			if _, err := c.Move(set, p.opts.ProcessedMailbox).Wait(); err != nil {
				return fmt.Errorf("move to %q: %w", p.opts.ProcessedMailbox, err)
			}
		}
	}
	if bad := present.filter(state.Quarantined); len(bad) > 0 && canMove {
		if _, err := c.Move(uidSet(bad), p.opts.QuarantineMailbox).Wait(); err != nil {
			return fmt.Errorf("move to %q: %w", p.opts.QuarantineMailbox, err)
		}
	}
	if !record {
		state.Unacked, state.Quarantined = nil, nil
		return nil
	}
	return p.saveState(func(st *tickets.MailboxState) { st.Unacked, st.Quarantined = nil, nil }, state)
}

type uidPresence map[uint32]bool

func (u uidPresence) filter(uids []uint32) []uint32 {
	var out []uint32
	for _, x := range uids {
		if u[x] {
			out = append(out, x)
		}
	}
	return out
}

// presentUIDs asks which of uids are still in the selected mailbox.
func presentUIDs(c *imapclient.Client, uids []uint32) (uidPresence, error) {
	out := uidPresence{}
	if len(uids) == 0 {
		return out, nil
	}
	msgs, err := c.Fetch(uidSet(uids), &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("check unacknowledged mail: %w", err)
	}
	for _, m := range msgs {
		out[uint32(m.UID)] = true
	}
	return out, nil
}

func uidSet(uids []uint32) imap.UIDSet {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return set
}

// wait returns when new mail may have arrived: an EXISTS during IDLE, the
// refresh timer, or the poll interval when the server has no IDLE.
func (p *Poller) wait(ctx context.Context, c *imapclient.Client, canIdle bool, kick <-chan struct{}) error {
	select {
	case <-kick: // mail arrived while we were busy
		return nil
	default:
	}
	if !canIdle {
		select {
		case <-ctx.Done():
			return nil
		case <-c.Closed():
			return errors.New("connection closed")
		case <-kick:
		case <-time.After(p.opts.PollInterval):
		}
		return withTimeout(c, func() error { return c.Noop().Wait() })
	}
	idle, err := c.Idle()
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	select {
	case <-kick:
	case <-ctx.Done():
	case <-c.Closed():
	case <-time.After(p.opts.IdleRefresh):
	}
	return withTimeout(c, func() error {
		if err := idle.Close(); err != nil {
			return fmt.Errorf("end idle: %w", err)
		}
		return idle.Wait()
	})
}

// withTimeout runs fn, closing the connection if the server does not answer
// within a minute: the client itself does not time out a missing answer.
func withTimeout(c *imapclient.Client, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		c.Close()
		return errors.New("server did not answer within a minute")
	}
}
