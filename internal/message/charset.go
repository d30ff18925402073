package message

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	gmcharset "github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// toUTF8 converts b from the named charset to UTF-8. Bytes in a missing,
// US-ASCII or unknown charset are kept when they are valid UTF-8 and read as
// Windows-1252 (the superset of Latin-1 that mailers mean when they say
// Latin-1) otherwise, so the result is always valid UTF-8.
func toUTF8(label string, b []byte) string {
	s, _ := convertCharset(label, b)
	return s
}

// convertCharset is toUTF8 that also reports whether the charset was known.
func convertCharset(label string, b []byte) (string, bool) {
	switch normalizeCharset(label) {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "unicode-1-1-utf-8":
		return fallbackUTF8(b), true
	}
	r, err := gmcharset.Reader(normalizeCharset(label), bytes.NewReader(b))
	if err != nil {
		return fallbackUTF8(b), false
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return fallbackUTF8(b), false
	}
	return strings.ToValidUTF8(string(out), "\uFFFD"), true
}

func normalizeCharset(label string) string {
	return strings.ToLower(strings.Trim(label, " \t\"'"))
}

// fallbackUTF8 keeps valid UTF-8 and decodes anything else as Windows-1252.
func fallbackUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// charsetReader returns a reader that converts r from the named charset to
// UTF-8, for streaming large bodies. Unknown charsets fall back as in toUTF8,
// which needs the whole input; callers bound r.
func charsetReader(label string, r io.Reader) io.Reader {
	switch normalizeCharset(label) {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "unicode-1-1-utf-8":
	default:
		if cr, err := gmcharset.Reader(normalizeCharset(label), r); err == nil {
			return cr
		}
	}
	b, _ := io.ReadAll(r)
	return strings.NewReader(fallbackUTF8(b))
}

// DecodeHeaderText decodes RFC 2047 encoded-words in an unstructured header
// value (Subject, a display name) to UTF-8. Adjacent encoded-words in the
// same charset are joined before conversion, so multi-byte characters split
// across words survive. Raw 8-bit text is kept if it is UTF-8 and read as
// Windows-1252 otherwise. Unknown charsets fall back the same way.
func DecodeHeaderText(s string) string {
	if !strings.Contains(s, "=?") {
		return fallbackUTF8([]byte(s))
	}
	var (
		out            strings.Builder
		pendingCharset string
		pending        []byte
		active         bool
	)
	lastEnd := strings.LastIndex(s, "?=")
	flush := func() {
		if active {
			out.WriteString(toUTF8(pendingCharset, pending))
			pending, active = pending[:0], false
		}
	}
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "=?")
		if j < 0 {
			flush()
			out.WriteString(fallbackUTF8([]byte(s[i:])))
			break
		}
		cs, decoded, n, ok := parseEncodedWord(s[i+j:])
		if !ok && i+j+2 > lastEnd {
			// No encoded-word can end after here; stop looking, or a
			// long run of "=?" would cost quadratic time.
			flush()
			out.WriteString(fallbackUTF8([]byte(s[i:])))
			break
		}
		if !ok {
			flush()
			out.WriteString(fallbackUTF8([]byte(s[i : i+j+2])))
			i += j + 2
			continue
		}
		// RFC 2047 §6.2: white space between adjacent encoded-words is ignored.
		if between := s[i : i+j]; !active || strings.Trim(between, " \t\r\n") != "" {
			flush()
			out.WriteString(fallbackUTF8([]byte(between)))
		}
		if active && !strings.EqualFold(pendingCharset, cs) {
			flush()
		}
		pendingCharset, active = cs, true
		pending = append(pending, decoded...)
		i += j + n
	}
	flush()
	return out.String()
}

// parseEncodedWord parses "=?charset[*lang]?B|Q?text?=" at the start of w
// (RFC 2047 §2, RFC 2231 §5) and returns the charset, the decoded bytes and
// the length consumed.
func parseEncodedWord(w string) (charset string, decoded []byte, n int, ok bool) {
	rest := w[2:]
	k := strings.IndexByte(rest, '?')
	if k <= 0 || k > 64 || strings.ContainsAny(rest[:k], " \t\r\n=") {
		return "", nil, 0, false
	}
	charset, _, _ = strings.Cut(rest[:k], "*")
	rest = rest[k+1:]
	if len(rest) < 2 || rest[1] != '?' {
		return "", nil, 0, false
	}
	enc := rest[0] | 0x20
	if enc != 'b' && enc != 'q' {
		return "", nil, 0, false
	}
	rest = rest[2:]
	e := strings.Index(rest, "?=")
	if e < 0 {
		return "", nil, 0, false
	}
	text := rest[:e]
	n = 2 + k + 1 + 2 + e + 2
	if enc == 'b' {
		return charset, decodeBase64Lenient([]byte(text)), n, true
	}
	return charset, decodeQWord(text), n, true
}

// decodeQWord decodes RFC 2047 "Q" encoding: '_' is a space, =XX a byte;
// malformed escapes are kept literally.
func decodeQWord(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '_':
			out = append(out, ' ')
		case '=':
			if i+2 < len(s) {
				hi, ok1 := unhex(s[i+1])
				lo, ok2 := unhex(s[i+2])
				if ok1 && ok2 {
					out = append(out, hi<<4|lo)
					i += 2
					continue
				}
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return out
}
