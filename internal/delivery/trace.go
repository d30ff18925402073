package delivery

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/pochta/pochta/internal/message"
)

// Received describes one hop for the Received: trace field (RFC 5321
// §4.4, with-protocol names from RFC 3848).
type Received struct {
	// Helo is the name the client gave in EHLO/HELO ("" for local submission).
	Helo string
	// RemoteIP is the client's address ("" for local submission).
	RemoteIP string
	// By is this server's host name.
	By string
	// With is the protocol: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTPS…,
	// or "local" for sendmail.
	With string
	// ID identifies the session or message in our logs.
	ID string
	// For is the single envelope recipient; left out when there are several
	// (listing them would disclose Bcc recipients).
	For string
	// TLS is "TLS1.3 TLS_AES_128_GCM_SHA256" or "" without TLS.
	TLS string
	// AuthUser is the authenticated login, "" when unauthenticated.
	AuthUser string
	// LocalUser is the Unix user for local submission (sendmail).
	LocalUser string
	Date      time.Time
}

// Header returns the whole Received: field with its CRLF, folded.
func (r Received) Header() string {
	var b strings.Builder
	b.WriteString("Received:")
	if r.Helo != "" || r.RemoteIP != "" {
		b.WriteString(" from ")
		helo := headerToken(r.Helo)
		if helo == "" {
			helo = "unknown"
		}
		b.WriteString(helo)
		if r.RemoteIP != "" {
			fmt.Fprintf(&b, " ([%s])", headerToken(r.RemoteIP))
		}
	}
	if r.LocalUser != "" {
		fmt.Fprintf(&b, " (from local user %s)", headerToken(r.LocalUser))
	}
	fmt.Fprintf(&b, "\r\n\tby %s (Pochta)", headerToken(r.By))
	if r.With != "" {
		fmt.Fprintf(&b, " with %s", headerToken(r.With))
	}
	if r.TLS != "" {
		fmt.Fprintf(&b, "\r\n\t(%s)", commentText(r.TLS))
	}
	if r.AuthUser != "" {
		fmt.Fprintf(&b, "\r\n\t(authenticated as %s)", commentText(r.AuthUser))
	}
	if r.ID != "" {
		fmt.Fprintf(&b, "\r\n\tid %s", headerToken(r.ID))
	}
	if r.For != "" && !strings.ContainsAny(r.For, "<>\r\n") {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", headerToken(r.For))
	}
	d := r.Date
	if d.IsZero() {
		d = time.Now()
	}
	fmt.Fprintf(&b, ";\r\n\t%s\r\n", d.Format(time.RFC1123Z))
	return b.String()
}

// ReturnPathHeader is the Return-Path: field final delivery adds (RFC 5321
// §4.4); "<>" for the null sender.
func ReturnPathHeader(sender string) string {
	if strings.ContainsAny(sender, "<>\r\n") {
		sender = ""
	}
	return "Return-Path: <" + sender + ">\r\n"
}

// headerToken keeps what may appear in a Received clause unquoted: letters,
// digits and the punctuation of host names, addresses and IP literals.
// Anything else (controls, spaces, parentheses, non-ASCII) becomes '?', so
// a client's HELO cannot forge header fields or clauses.
func headerToken(s string) string {
	if len(s) > 255 {
		s = s[:255]
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case strings.ContainsRune(".-_:@+=[]", r):
			return r
		}
		return '?'
	}, s)
}

// commentText is text safe inside a header comment: printable ASCII without
// parentheses or backslashes.
func commentText(s string) string {
	if len(s) > 255 {
		s = s[:255]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f || r == '(' || r == ')' || r == '\\' {
			return '?'
		}
		return r
	}, s)
}

// NewID returns a random identifier for sessions and queue log lines.
func NewID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// NewMessageID returns a fresh Message-ID value (without angle brackets).
func NewMessageID(hostname string) string {
	h := headerToken(hostname)
	if h == "" || strings.ContainsAny(h, "?@[]") {
		h = "localhost"
	}
	return NewID() + "@" + h
}

// HeaderEnd returns the offset just after the empty line that ends the
// header section of raw (len(raw) when there is none) — the body starts
// there.
func HeaderEnd(raw []byte) int {
	end, _ := headerEnd(raw)
	return end
}

// headerEnd is HeaderEnd that also tells whether the empty line was there.
func headerEnd(raw []byte) (int, bool) {
	for pos := 0; pos < len(raw); {
		next := bytes.IndexByte(raw[pos:], '\n')
		if next < 0 {
			return len(raw), false
		}
		line := raw[pos : pos+next]
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return pos + next + 1, true
		}
		pos += next + 1
	}
	return len(raw), false
}

// Header returns the header fields of raw.
func Header(raw []byte) []message.HeaderField {
	return message.ReadHeader(raw[:HeaderEnd(raw)])
}

// HasField tells whether fields contain key (case-insensitive).
func HasField(fields []message.HeaderField, key string) bool {
	for _, f := range fields {
		if strings.EqualFold(f.Key, key) {
			return true
		}
	}
	return false
}

// MissingOriginHeaders returns the Message-ID: and Date: fields (with CRLF)
// a submitted message lacks, for the submission server to add in front of
// it (RFC 6409 §8.2, §8.3). It returns "" when both are present.
func MissingOriginHeaders(fields []message.HeaderField, hostname string, now time.Time) string {
	var b strings.Builder
	if !HasField(fields, "Message-ID") {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", NewMessageID(hostname))
	}
	if !HasField(fields, "Date") {
		fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	}
	return b.String()
}

// StripReturnPath removes Return-Path: fields at the very top of raw: the
// copy stored for local recipients carries one, but a relay must not send
// it on (RFC 5321 §4.4: only final delivery adds it).
func StripReturnPath(raw []byte) []byte {
	for {
		if len(raw) < len("Return-Path:") || !strings.EqualFold(string(raw[:len("Return-Path:")]), "Return-Path:") {
			return raw
		}
		// Skip the field and its continuation lines.
		pos := 0
		for {
			i := bytes.IndexByte(raw[pos:], '\n')
			if i < 0 {
				return raw[len(raw):]
			}
			pos += i + 1
			if pos >= len(raw) || (raw[pos] != ' ' && raw[pos] != '\t') {
				break
			}
		}
		raw = raw[pos:]
	}
}
