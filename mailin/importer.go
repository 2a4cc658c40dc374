package mailin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"maildesk/tickets"
)

// Importing history from another system: mails from an mbox file or a
// Maildir go through the same parsing and desk as mail from IMAP, so
// they open tickets and thread into them, but the transactions queue no
// mail, so nobody is written to. A mail taken in before (by Message-ID, or
// hash) is skipped, so an import can be run again after an interruption.

// ImportResult counts what an import did.
type ImportResult struct {
	Mails       int            `json:"mails"`
	Outcomes    map[string]int `json:"outcomes"`
	Quarantined int            `json:"quarantined"`
}

// importBatch mails are taken in per transaction.
const importBatch = 200

// Import takes in every mail next yields (nil at the end), dated by its
// Date header where it has one. progress, if set, is called after each batch.
func (p *Processor) Import(ctx context.Context, next func() ([]byte, error), progress func(ImportResult)) (ImportResult, error) {
	res := ImportResult{Outcomes: map[string]int{}}
	for done := false; !done; {
		var items []*Item
		for len(items) < importBatch {
			raw, err := next()
			if err != nil {
				return res, err
			}
			if raw == nil {
				done = true
				break
			}
			items = append(items, &Item{Raw: raw})
		}
		if len(items) == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := p.PrepareAll(items); err != nil {
			return res, err
		}
		err := p.store.Update(func(tx *tickets.Tx) error {
			tx.NoMail()
			for _, it := range items {
				now := time.Now()
				if it.In != nil && !it.In.Date.IsZero() && it.In.Date.Before(now) {
					now = it.In.Date
				}
				if it.Problem != nil {
					if err := p.quarantine(tx, it, "import", 0, it.Problem.Error(), now); err != nil {
						return err
					}
					continue
				}
				if err := p.Apply(tx, it, now); err != nil {
					return err
				}
				if err := quietHistory(tx, it.Outcome.Ticket); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		for _, it := range items {
			res.Mails++
			if it.Problem != nil {
				res.Quarantined++
			} else {
				res.Outcomes[string(it.Outcome.Action)]++
			}
		}
		if progress != nil {
			progress(res)
		}
	}
	return res, nil
}

// quietHistory marks the due reminders of an imported ticket whose due
// time has passed as sent: history must not wake staff with hundreds of
// "overdue" mails the moment maildesk runs.
func quietHistory(tx *tickets.Tx, n tickets.Number) error {
	if n == 0 {
		return nil
	}
	t, err := tx.Ticket(n)
	if err != nil {
		return err
	}
	if t.Due.IsZero() || t.Due.After(time.Now()) || t.DueReminders.Overdue {
		return nil
	}
	t.DueReminders.Near, t.DueReminders.Overdue = true, true
	return tx.PutTicket(t)
}

// mboxFrom is the separator line of an mbox ("From sender date").
var mboxFrom = regexp.MustCompile(`^From \S*`)

// escapedFrom is an mboxrd-quoted "From " line in a body: ">From", ">>From".
var escapedFrom = regexp.MustCompile(`^>+From `)

// MboxReader returns the mails of an mbox (mboxo or mboxrd) one by one.
func MboxReader(r io.Reader) func() ([]byte, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	started, ended := false, false
	return func() ([]byte, error) {
		var mail bytes.Buffer
		for !ended {
			line, err := br.ReadBytes('\n')
			switch {
			case len(line) == 0:
			case mboxFrom.Match(line) && (!started || prevBlank(mail.Bytes())):
				if started && mail.Len() > 0 {
					return mail.Bytes(), nil // this separator starts the next mail
				}
				started = true
			case !started:
				return nil, errors.New("not an mbox: the file does not start with a \"From \" line")
			case escapedFrom.Match(line):
				mail.Write(line[1:])
			default:
				mail.Write(line)
			}
			if err == io.EOF {
				ended = true
				break
			}
			if err != nil {
				return nil, err
			}
		}
		if mail.Len() == 0 {
			return nil, nil
		}
		return mail.Bytes(), nil
	}
}

// prevBlank reports whether the text so far ends with an empty line, as a
// mail does before the next separator.
func prevBlank(b []byte) bool {
	return len(b) == 0 || bytes.HasSuffix(b, []byte("\n\n")) || bytes.HasSuffix(b, []byte("\n\r\n"))
}

// MaildirReader returns the mails of a Maildir (cur and new, oldest first
// by file name, which starts with the delivery time) one by one.
func MaildirReader(dir string) (func() ([]byte, error), error) {
	var files []string
	for _, sub := range []string{"cur", "new"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(dir, sub, e.Name()))
			}
		}
	}
	if files == nil {
		return nil, fmt.Errorf("%s: no mail in cur/ or new/ (is it a Maildir?)", dir)
	}
	sort.Slice(files, func(i, j int) bool { return filepath.Base(files[i]) < filepath.Base(files[j]) })
	i := 0
	return func() ([]byte, error) {
		if i == len(files) {
			return nil, nil
		}
		i++
		return os.ReadFile(files[i-1])
	}, nil
}
