package smtp

import (
	"strings"
	"unicode/utf8"

	"github.com/pochta/pochta/internal/delivery"
)

// addrClass is what the relay policy needs to know about an envelope
// address as go-smtp hands it over (source route already dropped, quotes
// of a quoted local part already removed).
type addrClass struct {
	local, domain string
	// ok is false for something that is not local@domain at all.
	ok bool
	// literal: the domain is an address literal ([192.0.2.1]).
	literal bool
	// routed: the local part carries a route of its own: the percent hack
	// (user%other@us), a bang path (other!user@us), an "@" that was inside
	// quotes ("user@other"@us), or anything else outside a dot-atom. Such
	// addresses have been used to make servers relay (RFC 5321 §3.6.1,
	// RFC 2505 §2.6); only authenticated users may use them.
	routed bool
}

// classifyAddress splits and classifies an envelope address.
func classifyAddress(addr string) addrClass {
	local, domain, ok := delivery.SplitAddress(addr)
	if !ok || len(addr) > 320 || !utf8.ValidString(addr) {
		return addrClass{}
	}
	c := addrClass{local: local, domain: domain, ok: true, literal: delivery.IsAddressLiteral(domain)}
	if !c.literal && !validDomain(domain) {
		return addrClass{}
	}
	c.routed = !isDotAtom(local)
	return c
}

// isDotAtom reports whether s is an RFC 5322 dot-atom without the routing
// characters "%" and "!" (RFC 6531 allows UTF-8 in atoms).
func isDotAtom(s string) bool {
	if s == "" || len(s) > 64 || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r >= 0x80:
		case strings.ContainsRune("#$&'*+-/=?^_`{|}~.", r):
		default:
			return false // "%", "!", "@", quotes, spaces, specials, controls
		}
	}
	return true
}

// validDomain accepts a DNS name (UTF-8 labels allowed for SMTPUTF8).
func validDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r >= 0x80) {
				return false
			}
		}
	}
	return true
}

// validSender accepts a reverse-path mailbox: local@domain with any local
// part go-smtp could parse (we do not route by it) and a usable domain.
func validSender(addr string) bool {
	c := classifyAddress(addr)
	if !c.ok {
		return false
	}
	for _, r := range c.local {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
