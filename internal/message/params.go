package message

import (
	"sort"
	"strconv"
	"strings"
)

// parseContentType parses a Content-Type value (RFC 2045 §5.1) leniently:
// comments, missing semicolons, unquoted values with spaces and duplicate
// parameters are tolerated. ok is false when no "type/subtype" can be found.
func parseContentType(v string) (typ, sub string, params map[string]string, ok bool) {
	s := &lexer{s: v}
	s.skipCFWS()
	typ = strings.ToLower(s.token())
	s.skipCFWS()
	if typ == "" || !s.consume('/') {
		return "", "", parseParams(s), false
	}
	s.skipCFWS()
	sub = strings.ToLower(s.token())
	params = parseParams(s)
	if sub == "" {
		return "", "", params, false
	}
	return typ, sub, params, true
}

// parseDisposition parses a Content-Disposition value (RFC 2183).
func parseDisposition(v string) (disp string, params map[string]string) {
	s := &lexer{s: v}
	s.skipCFWS()
	disp = strings.ToLower(s.token())
	return disp, parseParams(s)
}

// lexer walks a structured header value.
type lexer struct {
	s   string
	pos int
}

func (l *lexer) end() bool { return l.pos >= len(l.s) }

func (l *lexer) peek() byte {
	if l.end() {
		return 0
	}
	return l.s[l.pos]
}

func (l *lexer) consume(c byte) bool {
	if !l.end() && l.s[l.pos] == c {
		l.pos++
		return true
	}
	return false
}

// skipCFWS skips white space and (nested) comments.
func (l *lexer) skipCFWS() {
	for !l.end() {
		switch c := l.s[l.pos]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.pos++
		case c == '(':
			l.comment()
		default:
			return
		}
	}
}

// comment consumes a comment starting at '(' and returns its text.
func (l *lexer) comment() string {
	depth := 0
	var sb strings.Builder
	for !l.end() {
		c := l.s[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
			if depth > 1 {
				sb.WriteByte(c)
			}
		case ')':
			depth--
			if depth == 0 {
				return sb.String()
			}
			sb.WriteByte(c)
		case '\\':
			if !l.end() {
				sb.WriteByte(l.s[l.pos])
				l.pos++
			}
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// isTSpecial reports RFC 2045 tspecials; 8-bit bytes count as token
// characters because such values occur in the wild.
func isTSpecial(c byte) bool {
	return strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0
}

func isTokenChar(c byte) bool {
	return c > ' ' && c != 0x7f && !isTSpecial(c)
}

func (l *lexer) token() string {
	start := l.pos
	for !l.end() && isTokenChar(l.s[l.pos]) {
		l.pos++
	}
	return l.s[start:l.pos]
}

// quoted consumes a quoted-string starting at '"' and returns its content
// with quoting removed. An unterminated string runs to the end.
func (l *lexer) quoted() string {
	l.pos++ // opening quote
	var sb strings.Builder
	for !l.end() {
		c := l.s[l.pos]
		l.pos++
		switch c {
		case '"':
			return sb.String()
		case '\\':
			if !l.end() {
				sb.WriteByte(l.s[l.pos])
				l.pos++
			}
		case '\r', '\n':
			// folding inside a quoted string: drop the line break
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

type rawParam struct{ key, value string }

// parseParams reads "; key=value" pairs until the end of the value and
// assembles them (RFC 2231 continuations and charsets included).
func parseParams(l *lexer) map[string]string {
	var raw []rawParam
	for !l.end() {
		l.skipCFWS()
		if l.consume(';') || l.consume(',') {
			continue
		}
		if l.end() {
			break
		}
		key := strings.ToLower(l.token())
		if key == "" {
			l.skipJunk()
			continue
		}
		l.skipCFWS()
		if !l.consume('=') {
			l.skipJunk()
			continue
		}
		l.skipCFWS()
		var value string
		if l.peek() == '"' {
			value = l.quoted()
		} else {
			value = l.unquotedValue()
		}
		raw = append(raw, rawParam{key, value})
	}
	return assembleParams(raw)
}

// skipJunk advances to the next parameter separator.
func (l *lexer) skipJunk() {
	for !l.end() && l.s[l.pos] != ';' {
		if l.s[l.pos] == '"' {
			l.quoted()
			continue
		}
		l.pos++
	}
}

// unquotedValue reads a value that should have been a token. Spaces are
// allowed inside it (a common mistake, e.g. an unquoted boundary with a
// space) unless what follows looks like the next "key=" with a missing
// semicolon.
func (l *lexer) unquotedValue() string {
	var sb strings.Builder
	for {
		start := l.pos
		for !l.end() {
			c := l.s[l.pos]
			if c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(' || c == '"' {
				break
			}
			l.pos++
		}
		sb.WriteString(l.s[start:l.pos])
		save := l.pos
		l.skipWSP()
		if l.end() || l.peek() == ';' || l.peek() == '(' || l.peek() == '"' || l.looksLikeParam() {
			l.pos = save
			return sb.String()
		}
		sb.WriteString(l.s[save:l.pos])
	}
}

func (l *lexer) skipWSP() {
	for !l.end() {
		switch l.s[l.pos] {
		case ' ', '\t', '\r', '\n':
			l.pos++
		default:
			return
		}
	}
}

func (l *lexer) looksLikeParam() bool {
	save := l.pos
	defer func() { l.pos = save }()
	if l.token() == "" {
		return false
	}
	l.skipWSP()
	return l.peek() == '='
}

type section struct {
	n        int
	extended bool
	value    string
}

// assembleParams joins RFC 2231 sections ("name*0*", "name*1", "name*")
// and decodes their charset to UTF-8. A 2231 value takes precedence over a
// plain parameter of the same name; among plain duplicates the first wins.
func assembleParams(raw []rawParam) map[string]string {
	if len(raw) == 0 {
		return nil
	}
	params := make(map[string]string, len(raw))
	var sections map[string][]section
	for _, p := range raw {
		base, rest, star := strings.Cut(p.key, "*")
		if !star {
			if _, dup := params[p.key]; !dup {
				params[p.key] = p.value
			}
			continue
		}
		if base == "" {
			continue
		}
		sec := section{value: p.value}
		switch {
		case rest == "":
			sec.extended = true
		default:
			digits := strings.TrimSuffix(rest, "*")
			sec.extended = len(digits) != len(rest)
			n, err := strconv.Atoi(digits)
			if err != nil || n < 0 || n > 1000 {
				continue
			}
			sec.n = n
		}
		if sections == nil {
			sections = make(map[string][]section)
		}
		sections[base] = append(sections[base], sec)
	}
	for base, secs := range sections {
		sort.SliceStable(secs, func(i, j int) bool { return secs[i].n < secs[j].n })
		var (
			buf     []byte
			charset string
			seen    = -1
		)
		for i, sec := range secs {
			if sec.n == seen {
				continue // duplicate section number: keep the first
			}
			seen = sec.n
			v := sec.value
			if sec.extended {
				if i == 0 {
					// RFC 2231 §4: charset'language'value on the first section.
					if cs, rest, ok := strings.Cut(v, "'"); ok {
						if _, val, ok := strings.Cut(rest, "'"); ok {
							charset, v = cs, val
						}
					}
				}
				buf = append(buf, percentDecode(v)...)
			} else {
				buf = append(buf, v...)
			}
		}
		params[base] = toUTF8(charset, buf)
	}
	if len(params) == 0 {
		return nil
	}
	return params
}

func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if hi, ok := unhex(s[i+1]); ok {
				if lo, ok := unhex(s[i+2]); ok {
					out = append(out, hi<<4|lo)
					i += 2
					continue
				}
			}
		}
		out = append(out, s[i])
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
