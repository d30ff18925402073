package message

import "strings"

// ParseAddressList parses an address-list header value (RFC 5322 §3.4)
// leniently and never fails: what cannot be understood is skipped. Groups
// ("name: a@b, c@d;") become a GroupStart marker, the members and a GroupEnd
// marker, as in IMAP ENVELOPE. Display names keep RFC 2047 encoded-words;
// a trailing comment serves as the name when there is no phrase (the old
// "addr (Name)" form).
func ParseAddressList(v string) []Address {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	l := &lexer{s: v}
	var out []Address
	inGroup := false
	for !l.end() {
		l.skipWSP()
		switch l.peek() {
		case ',':
			l.pos++
			continue
		case ';':
			l.pos++
			if inGroup {
				out = append(out, Address{GroupEnd: true})
				inGroup = false
			}
			continue
		}
		words, comment := l.phrase()
		switch l.peek() {
		case ':':
			l.pos++
			if inGroup {
				// Nested groups are not allowed; read the name as junk.
				continue
			}
			out = append(out, Address{Name: strings.Join(words, " "), GroupStart: true})
			inGroup = true
		case '<':
			l.pos++
			mailbox, host := l.angleAddr()
			name := strings.Join(words, " ")
			if name == "" {
				name = comment
			}
			if mailbox != "" || host != "" {
				out = append(out, Address{Name: name, Mailbox: mailbox, Host: host})
			}
		case '@':
			l.pos++
			// addr-spec without angle brackets. Words before the last
			// are a display name someone forgot to bracket.
			host, c2 := l.domain()
			if c2 != "" {
				comment = c2
			}
			local := ""
			var name string
			if n := len(words); n > 0 {
				local = words[n-1]
				name = strings.Join(words[:n-1], " ")
			}
			if name == "" {
				name = comment
			}
			if local != "" || host != "" {
				out = append(out, Address{Name: name, Mailbox: local, Host: host})
			}
		default:
			// A bare word (e.g. "undisclosed-recipients") or junk.
			if len(words) > 0 {
				out = append(out, Address{Name: comment, Mailbox: strings.Join(words, " ")})
			}
			if !l.end() && l.peek() != ',' && l.peek() != ';' {
				l.pos++ // skip a stray special such as '>'
			}
		}
	}
	if inGroup {
		out = append(out, Address{GroupEnd: true})
	}
	return out
}

// phrase reads words (atoms with dots, quoted strings) up to one of
// , ; : < @ and returns them with quotes removed, plus the last comment.
func (l *lexer) phrase() (words []string, comment string) {
	for !l.end() {
		switch c := l.s[l.pos]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.pos++
		case c == '(':
			comment = strings.TrimSpace(l.comment())
		case c == '"':
			words = append(words, l.quoted())
		case c == ',' || c == ';' || c == ':' || c == '<' || c == '@' || c == '>':
			return words, comment
		default:
			start := l.pos
			for !l.end() && isAtomChar(l.s[l.pos]) {
				l.pos++
			}
			if l.pos == start {
				l.pos++ // a special we do not use, e.g. '[' or ')'
				continue
			}
			words = append(words, l.s[start:l.pos])
		}
	}
	return words, comment
}

// isAtomChar reports atext plus '.' (obs-phrase allows dots in names);
// 8-bit bytes are accepted (RFC 6532 and plain junk alike).
func isAtomChar(c byte) bool {
	if c >= 0x80 {
		return true
	}
	if c <= ' ' || c == 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>[]:;@\,"`, rune(c))
}

// angleAddr reads the inside of "<...>" after '<', skipping an obsolete
// source route ("@a,@b:"), and returns local part and domain.
func (l *lexer) angleAddr() (mailbox, host string) {
	l.skipCFWS()
	if l.peek() == '@' {
		// RFC 5322 §4.4 obs-route.
		for !l.end() && l.peek() != ':' && l.peek() != '>' {
			l.pos++
		}
		l.consume(':')
	}
	var local strings.Builder
	for !l.end() {
		l.skipCFWS()
		c := l.peek()
		switch {
		case c == '>':
			l.pos++
			return local.String(), ""
		case c == '@':
			l.pos++
			host, _ = l.domain()
			l.skipCFWS()
			// Skip anything up to the closing bracket.
			for !l.end() && l.peek() != '>' && l.peek() != ',' {
				l.pos++
			}
			l.consume('>')
			return local.String(), host
		case c == '"':
			local.WriteString(l.quoted())
		case c == ',' || c == ';':
			// Unterminated angle address.
			return local.String(), ""
		default:
			start := l.pos
			for !l.end() && isAtomChar(l.s[l.pos]) {
				l.pos++
			}
			if l.pos == start {
				l.pos++
				continue
			}
			local.WriteString(l.s[start:l.pos])
		}
	}
	return local.String(), ""
}

// domain reads a dot-atom or a domain literal ("[1.2.3.4]") after '@' and
// any trailing comment.
func (l *lexer) domain() (host, comment string) {
	var sb strings.Builder
	for !l.end() {
		c := l.s[l.pos]
		switch {
		case c == '(':
			comment = strings.TrimSpace(l.comment())
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.pos++
		case c == '[':
			start := l.pos
			if j := strings.IndexByte(l.s[l.pos:], ']'); j >= 0 {
				l.pos += j + 1
			} else {
				l.pos = len(l.s)
			}
			sb.WriteString(l.s[start:l.pos])
		case isAtomChar(c):
			if sb.Len() > 0 && !strings.HasSuffix(sb.String(), ".") && c != '.' {
				// A second word after white space: not part of the domain.
				return sb.String(), comment
			}
			start := l.pos
			for !l.end() && isAtomChar(l.s[l.pos]) {
				l.pos++
			}
			sb.WriteString(l.s[start:l.pos])
		default:
			return sb.String(), comment
		}
	}
	return sb.String(), comment
}
