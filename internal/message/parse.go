package message

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Limits that keep hostile input cheap. Beyond them the message still
// parses; the excess is treated as opaque bytes and a warning is recorded.
const (
	// MaxDepth is the deepest nesting of multipart and message/rfc822 parts
	// that is parsed; deeper entities are leaves.
	MaxDepth = 50
	// MaxParts caps the number of parts in one message tree.
	MaxParts = 10000
	// maxWarnings caps Parsed.Warnings.
	maxWarnings = 32
)

// Parsed is the result of parsing one message once at ingest. It holds
// offsets into the raw message, never copies of it, and it is stored with
// Marshal so that FETCH, TOP, MAPI and the webmail never parse again.
type Parsed struct {
	Root     *Part
	Envelope Envelope // of the top-level message

	// Promoted columns (the store sorts and lists on these).
	Subject            string    // decoded (RFC 2047, charsets) UTF-8
	FromName, FromAddr string    // first From mailbox; name decoded
	ToDisplay          string    // decoded display names of To recipients, "; "-joined like PidTagDisplayTo
	CcDisplay          string    // same for Cc
	SentAt             time.Time // Date header in UTC, zero if missing or invalid
	MessageID          string    // without angle brackets
	InReplyTo          string    // first message id of In-Reply-To, without angle brackets
	References         []string  // message ids of References, without angle brackets
	HasAttachments     bool      // at least one non-inline attachment (see AttachmentParts)
	Importance         int       // 0 low, 1 normal, 2 high
	Preview            string    // start of the best text body, UTF-8, white space collapsed
	Warnings           []string  // what was malformed; empty for clean mail
}

// Part is one MIME entity: the whole message, a body part of a multipart, or
// the message embedded in a message/rfc822 part.
type Part struct {
	// Offsets into the raw message; End is exclusive. The header is
	// raw[HeaderStart:BodyStart], including the empty line that ends it.
	// The line end before a multipart delimiter belongs to the delimiter
	// (RFC 2046 §5.1.1), so it is not part of the body.
	HeaderStart, BodyStart, End int64

	MediaType, MediaSubtype string            // lower-case; default text/plain (message/rfc822 in multipart/digest)
	Params                  map[string]string // Content-Type parameters: lower-case keys, RFC 2231 decoded to UTF-8, RFC 2047 words left as they are
	ContentID               string            // raw, with angle brackets
	Description             string            // raw
	Encoding                string            // Content-Transfer-Encoding as written (trimmed), "" if absent
	Disposition             string            // lower-case, "" if absent
	Location                string            // Content-Location, raw
	MD5                     string            // Content-MD5, raw
	DispositionParams       map[string]string // like Params
	Language                []string          // Content-Language tags
	Lines                   int64             // body lines (LF count) for text/* and message/rfc822
	Size                    int64             // body size in bytes (End-BodyStart)
	Parts                   []*Part           // children of a multipart; for message/rfc822 exactly one: the embedded message's root
	Envelope                *Envelope         // for message/rfc822 parts: the embedded message's envelope
}

// IsMultipart reports whether p is a multipart entity.
func (p *Part) IsMultipart() bool { return p.MediaType == "multipart" }

// IsMessage reports whether p encapsulates a message whose structure is
// exposed (message/rfc822 and message/global, RFC 3501 §6.4.5, RFC 6532).
func (p *Part) IsMessage() bool {
	return p.MediaType == "message" && (p.MediaSubtype == "rfc822" || p.MediaSubtype == "global")
}

// ContentType returns "type/subtype".
func (p *Part) ContentType() string { return p.MediaType + "/" + p.MediaSubtype }

// Parse parses a raw RFC 5322 message with MIME (RFC 2045-2049). It never
// fails and never panics: malformed mail is parsed as well as possible and
// what was wrong is listed in Warnings. Parse keeps no reference to raw.
func Parse(raw []byte) *Parsed {
	ps := &parser{raw: raw}
	ent := ps.parseEntity(0, nil, 0, false)
	root := ent.part
	env := buildEnvelope(ent.header)
	p := &Parsed{
		Root:     root,
		Envelope: env,
	}
	ps.promote(p, ent.header)
	p.Preview = preview(raw, p)
	p.Warnings = ps.warnings
	if len(p.References) == 0 {
		p.References = nil
	}
	normalize(root)
	return p
}

// parser holds the state of one Parse call.
type parser struct {
	raw      []byte
	warnings []string
	nparts   int
}

func (ps *parser) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for _, w := range ps.warnings {
		if w == msg {
			return
		}
	}
	if len(ps.warnings) < maxWarnings {
		ps.warnings = append(ps.warnings, msg)
	}
}

// stop tells where an entity ended: at the end of raw, or at a delimiter
// line of one of the enclosing multiparts.
type stop struct {
	end     int  // end of the entity's body (before the delimiter's line end)
	level   int  // index in the boundary stack of the delimiter found; -1 at the end of raw
	close   bool // the delimiter is a close delimiter ("--boundary--")
	lineEnd int  // offset after the delimiter line
}

// entity is a parsed part plus its header and where it stopped.
type entity struct {
	part   *Part
	header header
	stop   stop
}

// parseEntity parses the entity that starts at start. stack holds the
// delimiters ("--" + boundary) of all enclosing multiparts, outermost first;
// a line matching any of them ends the entity (RFC 2046 §5.1.2: a boundary
// of an enclosing multipart must not occur inside a part).
func (ps *parser) parseEntity(start int, stack [][]byte, depth int, inDigest bool) entity {
	ps.nparts++
	p := &Part{HeaderStart: int64(start)}
	bodyStart, hst, hstopped := ps.scanHeader(start, stack)
	hdr := header(ReadHeader(ps.raw[start:bodyStart]))
	p.BodyStart = int64(bodyStart)
	ps.fillContentFields(p, hdr, inDigest)

	var st stop
	switch {
	case hstopped:
		// A delimiter came before an empty line ended the header.
		st = hst
	case p.IsMultipart() && depth >= MaxDepth:
		ps.warn("nesting deeper than %d levels: inner parts not parsed", MaxDepth)
		st = ps.scanToDelimiter(bodyStart, stack)
	case p.IsMultipart():
		st = ps.parseMultipart(p, bodyStart, stack, depth)
	case p.IsMessage() && depth >= MaxDepth:
		ps.warn("nesting deeper than %d levels: inner parts not parsed", MaxDepth)
		st = ps.scanToDelimiter(bodyStart, stack)
	case p.IsMessage() && !identityEncoding(p.transferEncoding()):
		// RFC 2046 §5.2.1 forbids encoding message/rfc822; offsets into an
		// encoded body would be meaningless, so the part stays opaque.
		ps.warn("%s part with %s transfer encoding left unparsed", p.ContentType(), p.Encoding)
		st = ps.scanToDelimiter(bodyStart, stack)
	case p.IsMessage():
		sub := ps.parseEntity(bodyStart, stack, depth+1, false)
		env := buildEnvelope(sub.header)
		p.Envelope = &env
		p.Parts = []*Part{sub.part}
		st = sub.stop
	default:
		st = ps.scanToDelimiter(bodyStart, stack)
	}
	p.End = int64(max(st.end, bodyStart))
	p.Size = p.End - p.BodyStart
	if p.MediaType == "text" || p.IsMessage() {
		p.Lines = int64(bytes.Count(ps.raw[p.BodyStart:p.End], []byte{'\n'}))
	}
	return entity{part: p, header: hdr, stop: st}
}

func identityEncoding(enc string) bool {
	switch enc {
	case "", "7bit", "8bit", "binary":
		return true
	}
	return false
}

// parseMultipart reads the parts of multipart p whose body starts at
// bodyStart, and returns where p itself ends (after its epilogue).
func (ps *parser) parseMultipart(p *Part, bodyStart int, stack [][]byte, depth int) stop {
	boundary := p.Params["boundary"]
	if boundary == "" {
		guess, ok := ps.guessBoundary(bodyStart, stack)
		if !ok {
			ps.warn("multipart/%s without boundary parameter", p.MediaSubtype)
			return ps.scanToDelimiter(bodyStart, stack)
		}
		ps.warn("multipart/%s without boundary parameter: guessed %q", p.MediaSubtype, guess)
		boundary = guess
	}
	own := len(stack)
	inner := append(stack[:own:own], []byte("--"+boundary))
	st := ps.scanToDelimiter(bodyStart, inner) // preamble
	if st.level != own && p.Params["boundary"] != "" {
		// The declared boundary never occurs; a mailer may have
		// mangled the parameter. Try the first delimiter-looking line.
		if guess, ok := ps.guessBoundary(bodyStart, stack); ok && guess != boundary {
			ps.warn("multipart boundary %q not found: guessed %q", boundary, guess)
			inner[own] = []byte("--" + guess)
			st = ps.scanToDelimiter(bodyStart, inner)
		}
	}
	digest := p.MediaSubtype == "digest"
	for st.level == own && !st.close {
		if ps.nparts >= MaxParts {
			ps.warn("more than %d parts: the rest is not parsed", MaxParts)
			st = ps.scanToDelimiter(st.lineEnd, stack)
			return st
		}
		child := ps.parseEntity(st.lineEnd, inner, depth+1, digest)
		p.Parts = append(p.Parts, child.part)
		st = child.stop
	}
	if len(p.Parts) == 0 {
		ps.warn("multipart/%s has no parts", p.MediaSubtype)
	}
	if st.level != own {
		ps.warn("multipart/%s: missing close delimiter", p.MediaSubtype)
		return st
	}
	// Epilogue: runs to the next delimiter of an enclosing multipart.
	return ps.scanToDelimiter(st.lineEnd, stack)
}

// guessBoundary returns the boundary of the first line in the body that
// looks like a delimiter ("--something") and is not an enclosing one.
func (ps *parser) guessBoundary(from int, stack [][]byte) (string, bool) {
	raw := ps.raw
	for pos := from; pos < len(raw); {
		if bytes.HasPrefix(raw[pos:], []byte("--")) {
			if lvl, _, _ := ps.matchDelimiter(pos, stack); lvl >= 0 {
				return "", false
			}
			line := bytes.TrimRight(trimEOL(raw[pos:lineEnd(raw, pos)]), " \t")
			b := string(line[2:])
			b = strings.TrimSuffix(b, "--")
			if b != "" && len(b) <= 200 && !strings.ContainsAny(b, " \t") {
				return b, true
			}
		}
		i := bytes.Index(raw[pos:], []byte("\n--"))
		if i < 0 {
			break
		}
		pos += i + 1
	}
	return "", false
}

// scanToDelimiter finds the first line at or after from (which is at the
// start of a line) that is a delimiter in stack.
func (ps *parser) scanToDelimiter(from int, stack [][]byte) stop {
	raw := ps.raw
	if len(stack) == 0 {
		return stop{end: len(raw), level: -1, lineEnd: len(raw)}
	}
	pos := from
	for {
		if lvl, closing, le := ps.matchDelimiter(pos, stack); lvl >= 0 {
			return stop{end: eolBefore(raw, pos, from), level: lvl, close: closing, lineEnd: le}
		}
		i := bytes.Index(raw[pos:], []byte("\n--"))
		if i < 0 {
			return stop{end: len(raw), level: -1, lineEnd: len(raw)}
		}
		pos += i + 1
	}
}

// matchDelimiter reports whether the line at pos is a delimiter of stack
// (innermost first). A delimiter is "--" boundary, then optional white space
// and the line end; a close delimiter has "--" after the boundary, and any
// junk after that is tolerated. Returns the level, whether it closes, and
// the offset after the line.
func (ps *parser) matchDelimiter(pos int, stack [][]byte) (int, bool, int) {
	rest := ps.raw[pos:]
	if len(rest) < 2 || rest[0] != '-' || rest[1] != '-' {
		return -1, false, 0
	}
	for lvl := len(stack) - 1; lvl >= 0; lvl-- {
		d := stack[lvl]
		if !bytes.HasPrefix(rest, d) {
			continue
		}
		after := rest[len(d):]
		if bytes.HasPrefix(after, []byte("--")) {
			return lvl, true, lineEnd(ps.raw, pos)
		}
		if len(after) == 0 || after[0] == '\r' || after[0] == '\n' || isWSP(after[0]) {
			// Text after white space is tolerated: some mailers
			// reuse the boundary with a suffix after a space.
			return lvl, false, lineEnd(ps.raw, pos)
		}
	}
	return -1, false, 0
}

// eolBefore returns the start of the line end that precedes pos, if it lies
// at or after floor; else pos.
func eolBefore(raw []byte, pos, floor int) int {
	if pos > floor && raw[pos-1] == '\n' {
		pos--
		if pos > floor && raw[pos-1] == '\r' {
			pos--
		}
	}
	return pos
}

// scanHeader finds the end of the header section that starts at start.
// It returns the body start. The header normally ends with an empty line.
// Without one, it ends at the first line that is not a header field (that
// line starts the body) or at a delimiter of stack, in which case stopped is
// true and the body is empty.
func (ps *parser) scanHeader(start int, stack [][]byte) (bodyStart int, st stop, stopped bool) {
	raw := ps.raw
	firstBad := -1
	for pos := start; pos < len(raw); {
		next := lineEnd(raw, pos)
		line := trimEOL(raw[pos:next])
		if len(line) == 0 {
			if firstBad >= 0 {
				ps.warn("malformed header line ignored")
			}
			return next, stop{}, false
		}
		if len(stack) > 0 && line[0] == '-' {
			if lvl, closing, le := ps.matchDelimiter(pos, stack); lvl >= 0 {
				end := eolBefore(raw, pos, start)
				bodyStart := end
				if firstBad >= 0 {
					bodyStart = firstBad
				}
				if end > start {
					ps.warn("header not terminated by an empty line")
				}
				return bodyStart, stop{end: end, level: lvl, close: closing, lineEnd: le}, true
			}
		}
		if firstBad < 0 && !isWSP(line[0]) {
			if _, ok := fieldKey(line); !ok {
				if pos == start && !bytes.HasPrefix(line, []byte("From ")) {
					// Not a header at all: the entity has an empty header.
					ps.warn("entity without header")
					return start, stop{}, false
				}
				firstBad = pos
			}
		}
		pos = next
	}
	if firstBad >= 0 {
		ps.warn("header not terminated by an empty line")
		return firstBad, stop{}, false
	}
	if start < len(raw) {
		ps.warn("header not terminated by an empty line")
	}
	return len(raw), stop{}, false
}

// fillContentFields sets the MIME fields of p from its header (RFC 2045,
// RFC 2183, RFC 3066, RFC 2557, RFC 1864).
func (ps *parser) fillContentFields(p *Part, hdr header, inDigest bool) {
	ct, ok := hdr.get("Content-Type")
	if ok && strings.TrimSpace(ct) != "" {
		typ, sub, params, valid := parseContentType(ct)
		if valid {
			p.MediaType, p.MediaSubtype, p.Params = typ, sub, params
		} else {
			// RFC 2045 §5.2: an invalid Content-Type means text/plain.
			ps.warn("invalid Content-Type %q", truncate(ct, 80))
			p.MediaType, p.MediaSubtype = "text", "plain"
			p.Params = params
		}
	} else if inDigest {
		p.MediaType, p.MediaSubtype = "message", "rfc822" // RFC 2046 §5.1.5
	} else {
		p.MediaType, p.MediaSubtype = "text", "plain"
	}
	p.ContentID = hdr.value("Content-Id")
	p.Description = hdr.value("Content-Description")
	p.Encoding = hdr.value("Content-Transfer-Encoding")
	p.Location = hdr.value("Content-Location")
	p.MD5 = hdr.value("Content-Md5")
	if v := hdr.value("Content-Disposition"); v != "" {
		p.Disposition, p.DispositionParams = parseDisposition(v)
	}
	if v := hdr.value("Content-Language"); v != "" {
		for _, tag := range strings.Split(v, ",") {
			if tag = strings.TrimSpace(tag); tag != "" {
				p.Language = append(p.Language, tag)
			}
		}
	}
	if enc := p.transferEncoding(); enc != "" {
		switch enc {
		case "7bit", "8bit", "binary", "base64", "quoted-printable":
		default:
			ps.warn("unknown Content-Transfer-Encoding %q", truncate(p.Encoding, 40))
		}
	}
	if cs := p.Params["charset"]; cs != "" && p.MediaType == "text" {
		if _, known := convertCharset(cs, nil); !known {
			ps.warn("unknown charset %q", truncate(cs, 40))
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// normalize turns empty maps and slices into nil so that a Parsed compares
// equal to its Marshal/Unmarshal round trip.
func normalize(p *Part) {
	if p == nil {
		return
	}
	if len(p.Params) == 0 {
		p.Params = nil
	}
	if len(p.DispositionParams) == 0 {
		p.DispositionParams = nil
	}
	if len(p.Language) == 0 {
		p.Language = nil
	}
	if len(p.Parts) == 0 {
		p.Parts = nil
	}
	if p.Envelope != nil {
		p.Envelope.normalize()
	}
	for _, c := range p.Parts {
		normalize(c)
	}
}
