// Package tickets is maildesk's domain: tickets, customers, the status state
// machine and the store they live in. It knows nothing of IMAP or SMTP; mail
// reaches it as an Incoming (from mailin) and leaves it as outbox entries
// (for mailout), so every rule here is tested with plain values.
//
// # One transaction per decision
//
// A Desk decides what a mail, a command or a timer means, and writes the
// decision through a Tx: the ticket change, the thread entry, the mails it
// causes (the transactional outbox), and the processed record that makes a
// second delivery of the same mail harmless. mailin adds the IMAP watermark
// to the same transaction. So a change is never committed without its
// notification, and a mail is never taken in twice.
//
// # Store layout (bbolt)
//
//	meta          "version" → schema; "secret" → 32 random bytes (signs staff
//	              reply addresses and bounce return paths)
//	tickets       be64(number) → Ticket (JSON); the bucket sequence numbers tickets
//	messages      be64(number) be32(seq) → Message: the thread, in order
//	msgids        Message-ID → be64(number): every mail of a ticket, ours
//	              and theirs, for threading replies without a tag
//	processed     "id:<Message-ID>" or "sha256:<hex>" → Processed
//	customers     address → Customer
//	by_customer   address 0x00 be64(number) → ∅
//	by_status     status 0x00 be64(number) → ∅ (tickets list --status is an index scan)
//	timers        kind be64(unix nanos) be64(number) → ∅: 'd' due time, 'a' resolved at
//	outbox        be64(id) → Mail; outbox_due: be64(next attempt) be64(id) → ∅
//	              (pending only); outbox_msgid: Message-ID → be64(id) for bounces
//	imap          mailbox name → MailboxState (UIDVALIDITY, last UID, unacknowledged UIDs)
//	quarantine    be64(id) → Quarantined
//	auto_sent_hourly  UTC hour "2006010215" → {address → automatic mails that hour}
//	              (the per-address cap; hours before the last are dropped)
//
// Raw mails and attachments live outside the database in Blobs, named by
// the SHA-256 of their content.
//
// # Passwords
//
// A new customer's password is made when the welcome mail is sent, not when
// the customer is registered: the sender creates it, stores its argon2id
// hash on the customer and the clear text in that one outbox entry (in one
// transaction), sends, and clears the clear text when it marks the mail
// sent or failed. A retry after a crash sends the same password with the
// same Message-ID. The clear text thus exists only while its mail waits for
// the SMTP server, and the slow hash stays off the mail-in path. It is
// never logged: Password redacts itself.
package tickets
