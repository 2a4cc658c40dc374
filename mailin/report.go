package mailin

import (
	"bufio"
	"bytes"
	"strings"

	"github.com/emersion/go-message"
)

// Report is a delivery status notification (RFC 3464): the per-recipient
// results of a message/delivery-status part, and the Message-ID of the
// original mail from the returned message or headers.
type Report struct {
	Recipients        []DSNRecipient
	OriginalMessageID string
}

// DSNRecipient is one per-recipient block of a delivery status (RFC 3464 §2.3).
type DSNRecipient struct {
	FinalRecipient    string
	OriginalRecipient string
	Action            string // failed, delayed, delivered, relayed, expanded
	Status            string // e.g. 5.1.1
	Diagnostic        string
}

func (p *walker) deliveryStatus(e *message.Entity) {
	body, err := readBody(e.Body)
	if err != nil {
		p.msg.warn("delivery-status: %v", err)
	}
	if p.msg.Report == nil {
		p.msg.Report = &Report{}
	}
	blocks := fieldBlocks(body)
	// The first block is about the whole message; the others, one recipient each.
	for i, b := range blocks {
		if i == 0 && b["final-recipient"] == "" {
			continue
		}
		p.msg.Report.Recipients = append(p.msg.Report.Recipients, DSNRecipient{
			FinalRecipient:    typedAddress(b["final-recipient"]),
			OriginalRecipient: typedAddress(b["original-recipient"]),
			Action:            strings.ToLower(b["action"]),
			Status:            b["status"],
			Diagnostic:        stripType(b["diagnostic-code"]),
		})
	}
}

// rfc822Headers reads the returned header block of a report (text/rfc822-headers).
func (p *walker) rfc822Headers(body []byte) {
	for _, b := range fieldBlocks(body) {
		if ids := msgIDs(b["message-id"]); len(ids) > 0 {
			if p.msg.Report == nil {
				p.msg.Report = &Report{}
			}
			p.msg.Report.OriginalMessageID = ids[0]
			return
		}
	}
}

// fieldBlocks splits "Name: value" lines into blank-line separated blocks
// with lower-case names, joining folded lines. It is lenient: DSNs from real
// MTAs miss blank lines, repeat fields and indent oddly.
func fieldBlocks(body []byte) []map[string]string {
	var blocks []map[string]string
	cur := map[string]string{}
	last := ""
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			if len(cur) > 0 {
				blocks = append(blocks, cur)
				cur, last = map[string]string{}, ""
			}
		case (line[0] == ' ' || line[0] == '\t') && last != "":
			cur[last] += " " + strings.TrimSpace(line)
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			k = strings.ToLower(strings.TrimSpace(k))
			if _, dup := cur[k]; dup && k == "final-recipient" {
				// A new recipient block without the blank line before it.
				blocks = append(blocks, cur)
				cur = map[string]string{}
			}
			cur[k], last = strings.TrimSpace(v), k
		}
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}
	return blocks
}

// typedAddress reads "rfc822; user@example.com".
func typedAddress(v string) string {
	return strings.ToLower(strings.Trim(stripType(v), "<> "))
}

func stripType(v string) string {
	if _, rest, ok := strings.Cut(v, ";"); ok {
		return strings.TrimSpace(rest)
	}
	return strings.TrimSpace(v)
}
