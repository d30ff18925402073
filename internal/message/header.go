package message

import (
	"bytes"
	"strings"
)

// HeaderField is one field of a header section as it appears in the raw
// message. It is what IMAP BODY[HEADER.FIELDS (...)] and the MAPI transport
// headers need: the exact bytes, plus a convenient unfolded value.
type HeaderField struct {
	Key   string // as written, without trailing white space
	Value string // unfolded (CR and LF removed), leading and trailing white space trimmed, not decoded
	Raw   []byte // the whole field: "Key: value" with continuation lines and the final line end
}

// ReadHeader splits a raw header section (e.g. raw[p.HeaderStart:p.BodyStart])
// into fields. It never fails: lines that are neither a field nor a
// continuation are skipped, and the scan stops at the first empty line.
func ReadHeader(header []byte) []HeaderField {
	var fields []HeaderField
	start := -1 // offset of the field being read, -1 after a malformed line
	for pos := 0; pos < len(header); {
		next := lineEnd(header, pos)
		line := trimEOL(header[pos:next])
		switch {
		case len(line) == 0:
			next = len(header) // end of the header section
		case isWSP(line[0]):
			if start >= 0 {
				fields[len(fields)-1].Raw = header[start:next]
			}
		default:
			start = -1
			if key, ok := fieldKey(line); ok {
				fields = append(fields, HeaderField{Key: key, Raw: header[pos:next]})
				start = pos
			}
		}
		pos = next
	}
	for i := range fields {
		fields[i].Value = fieldValue(fields[i].Raw)
	}
	return fields
}

// lineEnd returns the offset just after the '\n' that ends the line
// starting at pos, or len(b) when the last line has no line end.
func lineEnd(b []byte, pos int) int {
	if i := bytes.IndexByte(b[pos:], '\n'); i >= 0 {
		return pos + i + 1
	}
	return len(b)
}

// trimEOL strips one trailing "\n" or "\r\n" (and a lone trailing "\r").
func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

// fieldKey reports whether line starts a header field (RFC 5322 §2.2:
// printable US-ASCII except colon, then a colon). White space between the
// name and the colon is tolerated because it occurs in the wild.
func fieldKey(line []byte) (string, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", false
	}
	key := bytes.TrimRight(line[:i], " \t")
	if len(key) == 0 {
		return "", false
	}
	for _, c := range key {
		if c < 33 || c > 126 {
			return "", false
		}
	}
	return string(key), true
}

// fieldValue returns the unfolded value of a raw field: everything after the
// first colon with CR and LF removed and surrounding white space trimmed.
func fieldValue(raw []byte) string {
	i := bytes.IndexByte(raw, ':')
	if i < 0 {
		return ""
	}
	v := raw[i+1:]
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return string(bytes.Trim(v, " \t"))
	}
	var sb strings.Builder
	sb.Grow(len(v))
	for _, c := range v {
		if c != '\r' && c != '\n' {
			sb.WriteByte(c)
		}
	}
	return strings.Trim(sb.String(), " \t")
}

// header is the parsed header of one entity, used while parsing.
type header []HeaderField

// get returns the value of the first field named key (case-insensitive) and
// whether it exists.
func (h header) get(key string) (string, bool) {
	for i := range h {
		if strings.EqualFold(h[i].Key, key) {
			return h[i].Value, true
		}
	}
	return "", false
}

func (h header) value(key string) string {
	v, _ := h.get(key)
	return v
}
