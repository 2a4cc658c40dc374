package mailin

import (
	"slices"
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// authDomains returns the domains the receiving server vouched for in the
// topmost Authentication-Results header whose authserv-id is one of trusted:
// DKIM pass (header.d), SPF pass (smtp.mailfrom's domain) and DMARC pass
// (header.from). Only that header counts (RFC 8601 §5): any below it came
// with the mail and may be forged. With no trusted IDs, nothing is vouched for.
func authDomains(m *Message, trusted []string) []string {
	if len(trusted) == 0 {
		return nil
	}
	for _, v := range m.Header.Values("Authentication-Results") {
		id, results, err := authres.Parse(v)
		if err != nil || !slices.ContainsFunc(trusted, func(t string) bool { return strings.EqualFold(t, id) }) {
			continue
		}
		var out []string
		for _, r := range results {
			switch r := r.(type) {
			case *authres.DKIMResult:
				if r.Value == authres.ResultPass {
					out = append(out, strings.ToLower(r.Domain))
				}
			case *authres.SPFResult:
				if r.Value == authres.ResultPass {
					out = append(out, domainOf(r.From))
				}
			case *authres.DMARCResult:
				if r.Value == authres.ResultPass {
					out = append(out, domainOf(r.From))
				}
			}
		}
		return slices.DeleteFunc(out, func(s string) bool { return s == "" })
	}
	return nil
}

func domainOf(s string) string {
	if _, d, ok := strings.Cut(s, "@"); ok {
		return strings.ToLower(strings.Trim(d, "<> "))
	}
	return strings.ToLower(strings.TrimSpace(s))
}
