package oxcmail

import (
	"bytes"
	"encoding/base64"
	"mime"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"
)

// maxLine is where header fields are folded (RFC 5322 §2.1.1 recommends
// 78 characters).
const maxLine = 76

// headerWriter writes header fields with CRLF line ends, folded at blanks.
type headerWriter struct {
	buf *bytes.Buffer
}

// field writes "name: value", folding at spaces so no line is longer than
// maxLine where a space allows it. value must already be safe: no CR, LF
// or other control characters (see safeHeader).
func (h headerWriter) field(name, value string) {
	h.buf.WriteString(name + ":")
	col := len(name) + 1
	for i, w := range strings.Split(value, " ") {
		if i > 0 && w != "" && col+1+len(w) > maxLine {
			h.buf.WriteString("\r\n")
			col = 0
		}
		h.buf.WriteByte(' ')
		h.buf.WriteString(w)
		col += 1 + len(w)
	}
	h.buf.WriteString("\r\n")
}

// params writes "name: first; p1; p2", folding between parameters.
func (h headerWriter) params(name, first string, params []string) {
	h.buf.WriteString(name + ": " + first)
	col := len(name) + 2 + len(first)
	for _, p := range params {
		if col+2+len(p) > maxLine {
			h.buf.WriteString(";\r\n ")
			col = 1
		} else {
			h.buf.WriteString("; ")
			col += 2
		}
		h.buf.WriteString(p)
		col += len(p)
	}
	h.buf.WriteString("\r\n")
}

// safeHeader turns a string into something that can stand in a header
// field: control characters (CR and LF above all: header injection) become
// spaces, runs of blanks collapse, and the ends are trimmed.
func safeHeader(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var sb strings.Builder
	space := false
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == ' ' || r == '\u2028' || r == '\u2029' || r == '\u0085' {
			space = true
			continue
		}
		if space && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		space = false
		sb.WriteRune(r)
	}
	return sb.String()
}

// encodeText encodes an unstructured header value (Subject, Thread-Topic)
// per RFC 2047 when it is not plain printable ASCII, or when it could be
// mistaken for encoded-words or has a word too long to fold.
func encodeText(s string) string {
	s = safeHeader(s)
	if !needsEncoding(s) {
		return s
	}
	return encodeWords(s)
}

func needsEncoding(s string) bool {
	if strings.Contains(s, "=?") {
		return true
	}
	for _, w := range strings.Split(s, " ") {
		if len(w) > 70 {
			return true
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return true
		}
	}
	return false
}

// encodeWords encodes s as UTF-8 encoded-words of at most 75 characters
// each (RFC 2047 §2), Q when mostly ASCII and B otherwise. Words never
// split a character (RFC 2047 §5).
func encodeWords(s string) string {
	ascii := 0
	for i := 0; i < len(s); i++ {
		if s[i] < 0x80 {
			ascii++
		}
	}
	if ascii*3 >= len(s)*2 {
		return mime.QEncoding.Encode("utf-8", s)
	}
	return mime.BEncoding.Encode("utf-8", s)
}

// isPhraseChar reports RFC 5322 atext plus the blank a phrase may contain.
func isPhraseChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// formatAddress renders "Name <addr>" (RFC 5322 §3.4) with the name as
// atoms, a quoted string, or encoded-words when it is not ASCII.
func formatAddress(mb Mailbox) string {
	name := safeHeader(mb.Name)
	if name == "" || strings.EqualFold(name, mb.Address) {
		return "<" + mb.Address + ">"
	}
	return formatPhrase(name) + " <" + mb.Address + ">"
}

func formatPhrase(name string) string {
	plain := !strings.Contains(name, "=?")
	quotable := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 {
			plain, quotable = false, false
			break
		}
		if !isPhraseChar(c) {
			plain = false
		}
	}
	for _, w := range strings.Split(name, " ") {
		if len(w) > 70 {
			plain, quotable = false, false
		}
	}
	switch {
	case plain:
		return name
	case quotable && !strings.Contains(name, "=?"):
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		return `"` + r.Replace(name) + `"`
	}
	// B, not Q: a Q-encoded word may keep ',' or '"' literally, which
	// would split the address list or end a quoted string (RFC 2047 §5).
	return mime.BEncoding.Encode("utf-8", name)
}

// paramValue renders one MIME parameter (RFC 2045 §5.1), as a token, a
// quoted string, or RFC 2231 extended notation (with continuations when
// long) for non-ASCII or long values.
func paramValue(key, value string) []string {
	value = strings.ToValidUTF8(value, "\uFFFD")
	ascii := true
	for i := 0; i < len(value); i++ {
		if value[i] >= 0x80 || value[i] < 0x20 || value[i] == 0x7f {
			ascii = false
			break
		}
	}
	if ascii && len(key)+len(value) < 60 {
		if value != "" && isToken(value) {
			return []string{key + "=" + value}
		}
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		return []string{key + `="` + r.Replace(value) + `"`}
	}
	// RFC 2231 §4: charset''percent-encoded, split into pieces that keep
	// %XX escapes whole (§3).
	var enc strings.Builder
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c > 0x20 && c < 0x7f && isAttrChar(c) {
			enc.WriteByte(c)
		} else {
			enc.WriteString("%" + strings.ToUpper(hexByte(c)))
		}
	}
	e := enc.String()
	const chunk = 56
	if len(e) <= chunk {
		return []string{key + "*=utf-8''" + e}
	}
	var out []string
	for n := 0; e != ""; n++ {
		cut := min(chunk, len(e))
		// Do not split a %XX escape.
		if i := strings.LastIndexByte(e[:cut], '%'); i >= 0 && i > cut-3 && cut < len(e) {
			cut = i
		}
		piece := e[:cut]
		e = e[cut:]
		if n == 0 {
			piece = "utf-8''" + piece
		}
		out = append(out, key+"*"+itoa(n)+"*="+piece)
	}
	return out
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// isAttrChar is RFC 2231 attribute-char: token characters except '*',
// '\” and '%'.
func isAttrChar(c byte) bool {
	return isToken(string(c)) && c != '*' && c != '\'' && c != '%'
}

func hexByte(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// canonicalLines converts line ends to CRLF (RFC 2045 §2.10 canonical
// form): lone LF and lone CR become CRLF.
func canonicalLines(b []byte) []byte {
	if !bytes.ContainsAny(b, "\r\n") {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/32)
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\r':
			out = append(out, '\r', '\n')
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, b[i])
		}
	}
	return out
}

// textEncoding picks the transfer encoding of a text body in canonical
// form: 7bit when it is ASCII without control characters and its lines are
// short, quoted-printable otherwise (RFC 2045 §6).
func textEncoding(b []byte) string {
	lineLen := 0
	for _, c := range b {
		switch {
		case c == '\n':
			lineLen = 0
			continue
		case c == '\r':
			continue
		case c >= 0x80 || c == 0 || c < 0x20 && c != '\t' || c == 0x7f:
			return "quoted-printable"
		}
		lineLen++
		if lineLen > 998 {
			return "quoted-printable"
		}
	}
	return "7bit"
}

// encodeQP encodes a text body in canonical form as quoted-printable with
// CRLF hard line breaks.
func encodeQP(b []byte) []byte {
	var out bytes.Buffer
	w := quotedprintable.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// encodeBase64 encodes binary data in lines of 76 characters.
func encodeBase64(b []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(b)
	out := make([]byte, 0, len(enc)+len(enc)/76*2+2)
	for len(enc) > 76 {
		out = append(out, enc[:76]...)
		out = append(out, '\r', '\n')
		enc = enc[76:]
	}
	out = append(out, enc...)
	return out
}

// validMediaType reports whether s is "type/subtype" made of tokens.
func validMediaType(s string) bool {
	typ, sub, ok := strings.Cut(s, "/")
	return ok && typ != "" && sub != "" && isToken(typ) && isToken(sub) && utf8.ValidString(s)
}
