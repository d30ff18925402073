package imap

import (
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/pochta/pochta/internal/message"
)

// Body sections (RFC 9051 §6.4.5) are served from the stored bytes and the
// part tree stored at ingest: a section is a byte range of the message,
// sometimes filtered to some header fields; nothing is parsed again.

// span is a section of the raw message: raw[start:end], and when filter is
// set only the header fields listed in fields (or all others, with not).
type span struct {
	start, end int64
	filter     bool
	fields     []string
	not        bool
}

// bodySpan maps BODY[section] onto the stored message of size bytes.
// A section that names no part is empty (start == end).
func bodySpan(p *message.Parsed, size int64, sec *imap.FetchItemBodySection) span {
	clamp := func(sp span) span {
		sp.start = min(max(sp.start, 0), size)
		sp.end = min(max(sp.end, sp.start), size)
		return sp
	}
	withFields := func(sp span) span {
		if len(sec.HeaderFields) > 0 {
			sp.filter, sp.fields = true, sec.HeaderFields
		} else if len(sec.HeaderFieldsNot) > 0 {
			sp.filter, sp.fields, sp.not = true, sec.HeaderFieldsNot, true
		}
		return sp
	}
	var root *message.Part
	if p != nil {
		root = p.Root
	}
	if len(sec.Part) == 0 {
		switch {
		case sec.Specifier == imap.PartSpecifierNone:
			return span{0, size, false, nil, false}
		case root == nil:
			return span{}
		case sec.Specifier == imap.PartSpecifierHeader:
			return clamp(withFields(span{start: root.HeaderStart, end: root.BodyStart}))
		case sec.Specifier == imap.PartSpecifierText:
			return clamp(span{start: root.BodyStart, end: root.End})
		}
		return span{} // MIME needs a part number
	}
	if root == nil {
		return span{}
	}
	part := p.PartByPath(sec.Part)
	if part == nil {
		return span{}
	}
	switch sec.Specifier {
	case imap.PartSpecifierNone:
		return clamp(span{start: part.BodyStart, end: part.End})
	case imap.PartSpecifierMIME:
		return clamp(span{start: part.HeaderStart, end: part.BodyStart})
	}
	// HEADER and TEXT of a part address the message inside a
	// message/rfc822 part; other parts have neither.
	inner := part.Embedded()
	if inner == nil {
		return span{}
	}
	if sec.Specifier == imap.PartSpecifierHeader {
		return clamp(withFields(span{start: inner.HeaderStart, end: inner.BodyStart}))
	}
	return clamp(span{start: inner.BodyStart, end: inner.End})
}

// filterHeader keeps (or, with not, drops) the fields named in fields of a
// raw header section, and ends the result with the empty line, as
// BODY[HEADER.FIELDS (...)] returns it (RFC 9051 §6.4.5).
func filterHeader(hdr []byte, fields []string, not bool) []byte {
	var out bytes.Buffer
	for _, f := range message.ReadHeader(hdr) {
		named := false
		for _, name := range fields {
			if strings.EqualFold(f.Key, name) {
				named = true
				break
			}
		}
		if named != not {
			out.Write(f.Raw)
			if !bytes.HasSuffix(f.Raw, []byte("\n")) {
				out.WriteString("\r\n")
			}
		}
	}
	out.WriteString("\r\n")
	return out.Bytes()
}

// partial applies <offset.count> to a section of n bytes and returns the
// range to send (RFC 9051 §6.4.5: an offset past the end gives nothing).
func partial(n int64, p *imap.SectionPartial) (off, count int64) {
	if p == nil {
		return 0, n
	}
	if p.Offset < 0 || p.Offset >= n {
		return min(max(p.Offset, 0), n), 0
	}
	return p.Offset, min(max(p.Size, 0), n-p.Offset)
}

// binaryPart resolves BINARY[part] (RFC 3516): the whole message for an
// empty part, else the part whose body is decoded. ok is false when the
// part does not exist.
func binaryPart(p *message.Parsed, path []int) (part *message.Part, whole, ok bool) {
	if len(path) == 0 {
		return nil, true, true
	}
	if p == nil || p.Root == nil {
		return nil, false, false
	}
	part = p.PartByPath(path)
	return part, false, part != nil
}

// knownEncoding reports whether this server can undo a transfer encoding
// (RFC 2045 §6); BINARY answers NO [UNKNOWN-CTE] for others (RFC 3516 §4.2).
func knownEncoding(enc string) bool {
	switch strings.ToLower(strings.Trim(enc, " \t\"")) {
	case "", "7bit", "8bit", "binary", "base64", "quoted-printable":
		return true
	}
	return false
}

// decodePart returns the decoded body of part, given the raw bytes of its
// body (raw[part.BodyStart:part.End]). A multipart is returned as it is:
// it has no transfer encoding of its own to undo (RFC 2045 §6.4).
func decodePart(part *message.Part, body []byte) []byte {
	if part.IsMultipart() {
		return body
	}
	shifted := *part
	shifted.HeaderStart, shifted.BodyStart, shifted.End = 0, 0, int64(len(body))
	out, _ := io.ReadAll(message.DecodeBody(body, &shifted))
	return out
}
