// Package mailin takes mail from an IMAP mailbox into the tickets store.
//
// The Poller (poller.go) owns the IMAP connection: it fetches mail above a
// UIDVALIDITY + last-UID watermark, waits for more with IDLE (or polls),
// reconnects with backoff, and acknowledges mail (\Seen, MOVE) only after
// the store committed it. The Processor (ingest.go) turns raw bytes into a
// tickets.Incoming: Parse (parse.go) decodes MIME, charsets and HTML,
// ParseSubject (subject.go) finds the ticket tag, Classify (classify.go)
// tells automatic mail from people's, VisibleText (quote.go) cuts quoted
// history and signatures. The desk in package tickets decides the rest.
//
// # Standards followed, and where we are lenient
//
//   - RFC 5322 / 2045–2049 (MIME), RFC 2047 encoded words, RFC 2231 file
//     names (also in charsets go-message declines), RFC 3676 format=flowed.
//   - RFC 3834 (Auto-Submitted) and the vendor headers before it
//     (Precedence, X-Autoreply, X-Auto-Response-Suppress, List-Id).
//   - RFC 3464 delivery status notifications, RFC 8601 Authentication-Results
//     (only the topmost header from a trusted authserv-id counts).
//   - RFC 9051 / 3501 IMAP via go-imap v2: UID FETCH with BODY.PEEK, MOVE
//     only where MOVE or UIDPLUS makes it safe, IDLE (RFC 2177).
//
// Leniencies, each because real mail needs it: header lines without a colon
// are joined to the line before; an mbox "From " line is dropped; raw 8-bit
// headers and bodies without a charset are guessed (windows-1251, koi8-r,
// then windows-1252); Message-IDs are read from any <…> token, with inner
// white space removed; a multipart without its final boundary keeps the
// parts read so far. A mail is refused (quarantined) only when it has no
// readable header or no sender address at all.
package mailin
