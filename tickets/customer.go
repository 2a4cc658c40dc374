package tickets

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Customer is a person who wrote to the helpdesk. A customer is registered on
// their first mail and gets a password for the customer page by mail.
type Customer struct {
	Email   string    `json:"email"` // canonical: lower-case
	Name    string    `json:"name,omitempty"`
	Lang    string    `json:"lang"`
	Created time.Time `json:"created"`
	// PasswordHash is an argon2id hash in PHC string form; empty until the
	// welcome mail is sent (see doc.go, "Passwords").
	PasswordHash string    `json:"password_hash,omitempty"`
	PasswordSet  time.Time `json:"password_set,omitzero"`
	// Requests holds when each kind of request by mail was last answered.
	Requests map[string]time.Time `json:"requests,omitempty"`
}

// Customer loads the customer with address email.
func (tx *Tx) Customer(email string) (*Customer, error) {
	var c Customer
	ok, err := getJSON(tx.bucket(bucketCustomers), []byte(strings.ToLower(email)), &c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("customer %q: %w", email, ErrNotFound)
	}
	return &c, nil
}

// PutCustomer stores c.
func (tx *Tx) PutCustomer(c *Customer) error {
	c.Email = strings.ToLower(c.Email)
	return putJSON(tx.bucket(bucketCustomers), []byte(c.Email), c)
}

// Customers lists every customer, ordered by address.
func (tx *Tx) Customers() ([]Customer, error) {
	var out []Customer
	err := tx.bucket(bucketCustomers).ForEach(func(k, v []byte) error {
		var c Customer
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode customer %q: %w", k, err)
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// CustomerTickets lists the numbers of a customer's tickets, oldest first.
func (tx *Tx) CustomerTickets(email string) []Number {
	return tx.ticketsOfCustomer(strings.ToLower(email))
}

// Password is a secret in clear text. It redacts itself in logs and prints, so
// that a slog call or a %v cannot leak it by accident.
type Password string

func (Password) LogValue() slog.Value { return slog.StringValue("[redacted]") }
func (Password) String() string       { return "[redacted]" }

// Reveal returns the clear text, for the one mail that carries it.
func (p Password) Reveal() string { return string(p) }

// passwordAlphabet leaves out characters people confuse when they type a
// password from a mail (0/O, 1/l/I).
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// PasswordLength gives 16 × log2(56) ≈ 93 bits of entropy.
const PasswordLength = 16

// NewPassword returns a random password from crypto/rand.
func NewPassword() Password {
	out := make([]byte, 0, PasswordLength)
	buf := make([]byte, 32)
	// Rejection sampling keeps every letter equally likely.
	limit := byte(256 - 256%len(passwordAlphabet))
	for len(out) < PasswordLength {
		rand.Read(buf)
		for _, b := range buf {
			if b < limit && len(out) < PasswordLength {
				out = append(out, passwordAlphabet[int(b)%len(passwordAlphabet)])
			}
		}
	}
	return Password(out)
}

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
// Our mailed passwords carry 93 bits and need no more; a password a customer
// picks on the portal gets the same cost, which keeps a login near 30 ms.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in PHC form: $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func HashPassword(p Password) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(p), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

var errBadHash = errors.New("tickets: malformed password hash")

// CheckPassword reports whether p matches hash, comparing in constant time.
// It reads the parameters from the hash, so older hashes keep working when
// the defaults change.
func CheckPassword(hash string, p Password) bool {
	ok, err := checkPassword(hash, p)
	return err == nil && ok
}

func checkPassword(hash string, p Password) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	var mem, iter uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iter, &threads); err != nil {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || mem > 1<<20 || iter > 16 || threads == 0 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(p), salt, iter, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// DummyCheck costs the same as a real CheckPassword. Call it when there is no
// account to check against, so timing does not tell which addresses exist.
func DummyCheck(p Password) {
	salt := make([]byte, 16)
	argon2.IDKey([]byte(p), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
}

// SetMailPassword gives the customer of outbox entry id a new password: the
// hash goes on the customer, the clear text into the entry until it is sent.
// Both change in one transaction, so the mail always carries the password
// that works. hash must be HashPassword(p); it is computed outside the
// transaction because it is slow on purpose.
func (tx *Tx) SetMailPassword(id uint64, p Password, hash string, now time.Time) error {
	m, err := tx.Mail(id)
	if err != nil {
		return err
	}
	c, err := tx.Customer(m.To)
	if err != nil {
		return err
	}
	c.PasswordHash, c.PasswordSet = hash, now
	if err := tx.PutCustomer(c); err != nil {
		return err
	}
	m.Secret = p
	return tx.PutMail(m)
}

// SetCustomerPassword stores a new password hash for customer email (the
// customer chose it on the portal).
func (tx *Tx) SetCustomerPassword(email, hash string, now time.Time) error {
	c, err := tx.Customer(email)
	if err != nil {
		return err
	}
	c.PasswordHash, c.PasswordSet = hash, now
	return tx.PutCustomer(c)
}

// CustomersOfDomain lists the addresses of the customers at domain, from
// the keys alone (the portal's colleagues).
func (tx *Tx) CustomersOfDomain(domain string) []string {
	var out []string
	suffix := []byte("@" + strings.ToLower(domain))
	tx.bucket(bucketCustomers).ForEach(func(k, _ []byte) error {
		if bytes.HasSuffix(k, suffix) {
			out = append(out, string(k))
		}
		return nil
	})
	return out
}
