package mailin

import (
	"errors"
	"fmt"
	"mime"
	"runtime"
	"strings"
	"time"

	"maildesk/internal/parallel"
	"maildesk/tickets"
)

// Options configure how mail is taken in. Zero values get defaults.
type Options struct {
	// TagPrefix is the ticket tag's prefix ("#" for "[#123]").
	TagPrefix string
	// MaxFileSize is the largest attachment kept; larger ones are left out
	// and the sender is told. Default 25 MiB.
	MaxFileSize int64
	// MaxMailFiles caps the attachments of one mail together. Default 50 MiB.
	MaxMailFiles int64
	// TrustedAuthServIDs are the authserv-ids of our own receiving servers,
	// whose Authentication-Results are believed (staff authentication).
	TrustedAuthServIDs []string
}

func (o *Options) defaults() {
	if o.TagPrefix == "" {
		o.TagPrefix = "#"
	}
	if o.MaxFileSize == 0 {
		o.MaxFileSize = 25 << 20
	}
	if o.MaxMailFiles == 0 {
		o.MaxMailFiles = 50 << 20
	}
}

// Processor turns raw mails into ticket changes. It knows nothing of IMAP:
// the poller, the importer and tests feed it alike.
type Processor struct {
	store     *tickets.Store
	desk      *tickets.Desk
	raw       *tickets.Blobs
	files     *tickets.Blobs
	tags      *TagMatcher
	opts      Options
	ownLocal  string
	ownDomain string
}

// NewProcessor returns a processor that keeps raw mails in raw and
// attachments in files.
func NewProcessor(store *tickets.Store, desk *tickets.Desk, raw, files *tickets.Blobs, opts Options) *Processor {
	opts.defaults()
	local, domain, _ := strings.Cut(desk.Config().Address, "@")
	return &Processor{store: store, desk: desk, raw: raw, files: files, tags: NewTagMatcher(opts.TagPrefix),
		opts: opts, ownLocal: local, ownDomain: domain}
}

// Store is the processor's store.
func (p *Processor) Store() *tickets.Store { return p.store }

// Item is one mail on its way in.
type Item struct {
	UID    uint32 // 0 when the mail did not come from IMAP
	Raw    []byte
	RawKey string
	In     *tickets.Incoming
	// Problem is why the mail cannot be taken in (a *ParseError); it goes to quarantine.
	Problem error
	// Subject and From are for the log and the quarantine record.
	Subject, From string
	Outcome       tickets.Outcome
}

// Prepare does the work that needs no transaction: it keeps the raw mail,
// parses it and keeps its files. It returns an error only when storing
// fails (a full or read-only disk); a mail that cannot be parsed sets
// it.Problem instead.
func (p *Processor) Prepare(it *Item) error { return p.PrepareAll([]*Item{it}) }

// PrepareAll prepares items as Prepare does, parsing them on every CPU and
// making their raw mails and files durable with one round of fsyncs, which
// is most of the cost of taking a mail in. Items without Raw are skipped.
func (p *Processor) PrepareAll(items []*Item) error {
	msgs := make([]*Message, len(items))
	parallel.For(len(items), runtime.GOMAXPROCS(0), func(i int) {
		it := items[i]
		if it.Raw == nil || it.Problem != nil {
			return
		}
		it.RawKey = tickets.BlobKey(it.Raw)
		// A bug in reading one mail must not take the daemon down with it
		// (this runs on a worker goroutine): the mail goes to quarantine.
		defer func() {
			if r := recover(); r != nil {
				msgs[i], it.In = nil, nil
				it.Problem = &ParseError{Reason: fmt.Sprintf("maildesk failed reading this mail: %v", r)}
			}
		}()
		msg, err := Parse(it.Raw)
		if msg != nil {
			it.Subject, it.From = msg.Subject, msg.From.Email
		}
		if err != nil {
			it.Problem = err
			return
		}
		msgs[i] = msg
		it.In = p.incoming(msg, it.RawKey)
	})
	// Writing a file costs little CPU but waits on the file system's
	// journal, so the mails are written by more goroutines than there are
	// CPUs; one flush then makes them all durable.
	var batch tickets.BlobBatch
	errs := make([]error, len(items))
	parallel.For(len(items), blobWriters, func(i int) {
		it := items[i]
		if it.Raw == nil || it.RawKey == "" {
			return
		}
		if _, err := batch.Put(p.raw, it.Raw); err != nil {
			errs[i] = fmt.Errorf("keep raw mail: %w", err)
			return
		}
		if msgs[i] != nil {
			errs[i] = p.keepFiles(msgs[i], it.In, &batch)
		}
	})
	if err := errors.Join(errs...); err != nil {
		batch.Abort()
		return err
	}
	if err := batch.Commit(); err != nil {
		return fmt.Errorf("keep raw mail and attachments: %w", err)
	}
	return nil
}

// blobWriters is how many goroutines write a chunk's raw mails and files.
const blobWriters = 16

// Apply takes a prepared mail in within tx: the desk decides, or the mail
// is recorded as quarantined. Either way it is marked processed in tx.
func (p *Processor) Apply(tx *tickets.Tx, it *Item, now time.Time) error {
	if it.Problem != nil {
		return p.quarantine(tx, it, "", 0, it.Problem.Error(), now)
	}
	out, err := p.desk.Receive(tx, it.In, now)
	if err != nil {
		return fmt.Errorf("receive %q: %w", it.In.MessageID, err)
	}
	it.Outcome = out
	return nil
}

// quarantine records it as quarantined in tx.
func (p *Processor) quarantine(tx *tickets.Tx, it *Item, mailbox string, uidValidity uint32, reason string, now time.Time) error {
	q := &tickets.Quarantined{At: now, Mailbox: mailbox, UIDValidity: uidValidity, UID: it.UID, Reason: reason,
		Raw: it.RawKey, From: it.From, Subject: it.Subject}
	key := tickets.MailKey("", it.RawKey)
	if it.In != nil {
		q.MessageID, key = it.In.MessageID, it.In.Key
	}
	if err := tx.Quarantine(q); err != nil {
		return err
	}
	it.Outcome = tickets.Outcome{Action: "quarantined", Detail: reason}
	return tx.MarkProcessed(key, tickets.Processed{At: now, Outcome: "quarantined"})
}

// incoming builds what the desk sees from a parsed mail, all but its files.
func (p *Processor) incoming(m *Message, rawKey string) *tickets.Incoming {
	subj := p.tags.ParseSubject(m.Subject)
	in := &tickets.Incoming{
		Key: tickets.MailKey(m.MessageID, rawKey), MessageID: m.MessageID, From: m.From, Cc: m.Cc,
		Recipients: recipientsOf(m), Subject: m.Subject, Tag: subj.Tag, CleanSubject: subj.Clean,
		SubjectTags: subj.Tags, InReplyTo: m.InReplyTo, References: m.References, Date: m.Date,
		Text: VisibleText(m.Text), FullText: strings.TrimSpace(strings.Join(splitLines(m.Text), "\n")),
		Raw: rawKey, AuthDomains: authDomains(m, p.opts.TrustedAuthServIDs), Limit: p.opts.MaxFileSize,
	}
	in.Auto, in.AutoReason = Classify(m)
	if in.Auto == tickets.AutoBounce {
		in.Bounce = bounceOf(m, p.ownLocal, p.ownDomain)
	}
	in.Forwarded = forwardedOf(m)
	return in
}

// keepFiles stores the mail's attachments within the size limits; the
// others are listed in in.Dropped so the sender can be told.
func (p *Processor) keepFiles(m *Message, in *tickets.Incoming, batch *tickets.BlobBatch) error {
	var total int64
	for _, part := range m.Parts {
		a := tickets.Attachment{
			Name: tickets.SanitizeFilename(fileName(part)), ContentType: part.ContentType,
			Size: int64(len(part.Data)), Inline: part.Inline, ContentID: part.ContentID,
		}
		if a.Size > p.opts.MaxFileSize || total+a.Size > p.opts.MaxMailFiles {
			in.Dropped = append(in.Dropped, a)
			continue
		}
		key, err := batch.Put(p.files, part.Data)
		if err != nil {
			return fmt.Errorf("keep attachment %q: %w", a.Name, err)
		}
		a.SHA256 = key
		total += a.Size
		in.Files = append(in.Files, a)
	}
	return nil
}

// fileName is the part's name, or one made from its type for nameless inline images.
func fileName(part Part) string {
	if part.Filename != "" {
		return part.Filename
	}
	base := "attachment"
	if strings.HasPrefix(part.ContentType, "image/") {
		base = "image"
	}
	if exts, _ := mime.ExtensionsByType(part.ContentType); len(exts) > 0 {
		return base + exts[len(exts)-1]
	}
	return base
}

// forwardedOf finds the original of a forwarded mail: an attached
// message/rfc822, or a forward in the text.
func forwardedOf(m *Message) *tickets.Forwarded {
	for _, e := range m.Embedded {
		if e.From.Email != "" {
			return &tickets.Forwarded{From: e.From, Subject: e.Subject, Text: strings.TrimSpace(e.Text), Date: e.Date}
		}
	}
	if f, ok := ParseForward(m.Text); ok {
		return f
	}
	return nil
}

// IsParseError reports whether err says a mail could not be parsed.
func IsParseError(err error) bool {
	var pe *ParseError
	return errors.As(err, &pe)
}
