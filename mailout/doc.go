// Package mailout delivers the transactional outbox over SMTP.
//
// Mail is queued by package tickets in the same bbolt transaction as the
// change it reports; nothing here decides what to send. The Sender
// (sender.go) wakes when an entry falls due or the store says mail was
// queued, renders each entry with the Composer (compose.go), and sends a
// batch over one connection with go-mail.
//
// # Delivery guarantees
//
//   - Nothing is lost: an entry leaves the queue only when the SMTP server
//     accepted it (marked sent) or refused it for good (marked failed, the
//     failure recorded on the ticket and staff told).
//   - Temporary failures (connection refused, timeouts, 4xx, a connection
//     dropped mid-DATA) are retried with exponential backoff (1 minute
//     doubling to 1 hour, ±20% jitter) for smtp.retry_for (3 days, like an
//     MTA). The attempt count and next attempt are in the store, so retries
//     survive restarts.
//   - Permanent failures are 5xx replies and mails that cannot be built.
//   - Sent twice at most once per crash: each mail is marked sent in its own
//     transaction right after the server accepts it, so a crash between
//     "accepted" and "marked" can resend only the mail in hand. It goes out
//     with the same Message-ID (and Date), so receiving clients see one mail.
//
// # Headers (RFC 5322, RFC 3834)
//
// From is the support address (staff answers as "Name via Helpdesk");
// Reply-To the support address, or a staff member's signed reply address on
// staff notifications; Message-ID under the helpdesk's domain; In-Reply-To
// and References chain the customer's own conversation; Auto-Submitted on
// automatic mail (auto-replied when a mail caused it, auto-generated when a
// timer did) together with X-Auto-Response-Suppress: All for Exchange.
// Every header value made from user input is reduced to one line first.
package mailout
