package message

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
)

// DecodeBody returns the body of p with its Content-Transfer-Encoding
// (RFC 2045 §6) undone: what IMAP BINARY (RFC 3516) and MAPI attachment
// data need. Decoding is lenient: base64 ignores characters outside its
// alphabet and tolerates missing or inner padding, quoted-printable keeps
// malformed escapes literally. 7bit, 8bit, binary and unknown encodings
// return the raw body. The reader reads raw in place; nothing is copied up
// front, so it is cheap for a 50 MB attachment.
func DecodeBody(raw []byte, p *Part) io.Reader {
	body := p.body(raw)
	switch p.transferEncoding() {
	case "base64":
		return &base64Reader{src: body}
	case "quoted-printable":
		return &qpReader{src: body}
	}
	return bytes.NewReader(body)
}

// body returns raw[BodyStart:End], clamped to raw so that a Part from a
// database row that does not match raw cannot make us panic.
func (p *Part) body(raw []byte) []byte {
	return clampSlice(raw, p.BodyStart, p.End)
}

// HeaderBytes returns the raw header section of p, including the empty line
// that ends it (RFC 3501 BODY[HEADER] / BODY[n.MIME]).
func (p *Part) HeaderBytes(raw []byte) []byte {
	return clampSlice(raw, p.HeaderStart, p.BodyStart)
}

// BodyBytes returns the raw, still transfer-encoded body of p.
func (p *Part) BodyBytes(raw []byte) []byte { return p.body(raw) }

func clampSlice(raw []byte, start, end int64) []byte {
	n := int64(len(raw))
	start = min(max(start, 0), n)
	end = min(max(end, start), n)
	return raw[start:end]
}

func (p *Part) transferEncoding() string {
	return strings.ToLower(strings.Trim(p.Encoding, " \t\""))
}

// base64 alphabet value, or 0xff for bytes outside it.
var base64Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// base64Reader decodes base64 leniently: bytes outside the alphabet are
// skipped and '=' ends the current quantum (some mailers pad every line).
type base64Reader struct {
	src   []byte
	quant [4]byte
	nq    int
	out   [3]byte
	nout  int // buffered decoded bytes in out[3-nout:]
}

func (r *base64Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.nout > 0 {
			c := copy(p[n:], r.out[3-r.nout:])
			r.nout -= c
			n += c
			continue
		}
		if r.nq == 0 {
			if c := r.fastLine(p[n:]); c > 0 {
				n += c
				continue
			}
		}
		if len(r.src) == 0 {
			r.flushPartial()
			if r.nout == 0 {
				break
			}
			continue
		}
		c := r.src[0]
		r.src = r.src[1:]
		if c == '=' {
			r.flushPartial()
			continue
		}
		v := base64Value[c]
		if v == 0xff {
			continue
		}
		r.quant[r.nq] = v
		r.nq++
		if r.nq == 4 {
			q := r.quant
			r.out = [3]byte{q[0]<<2 | q[1]>>4, q[1]<<4 | q[2]>>2, q[2]<<6 | q[3]}
			r.nout, r.nq = 3, 0
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// fastLine decodes the next line of src straight into p with the standard
// decoder when it is a clean line of whole quanta (the common case) and
// fits; otherwise it returns 0 and the byte-wise path handles the line.
func (r *base64Reader) fastLine(p []byte) int {
	i := bytes.IndexByte(r.src, '\n')
	if i < 0 {
		i = len(r.src)
	}
	line := bytes.TrimRight(r.src[:i], "\r")
	if len(line) == 0 || len(line)%4 != 0 || len(p) < len(line)/4*3 {
		return 0
	}
	n, err := base64.StdEncoding.Decode(p, line)
	if err != nil {
		return 0
	}
	r.src = r.src[min(i+1, len(r.src)):]
	return n
}

// flushPartial emits the bytes of an incomplete quantum (2 or 3 sextets).
func (r *base64Reader) flushPartial() {
	q := r.quant
	switch r.nq {
	case 2:
		r.out[2] = q[0]<<2 | q[1]>>4
		r.nout = 1
	case 3:
		r.out[1] = q[0]<<2 | q[1]>>4
		r.out[2] = q[1]<<4 | q[2]>>2
		r.nout = 2
	}
	r.nq = 0
}

func decodeBase64Lenient(b []byte) []byte {
	out, _ := io.ReadAll(&base64Reader{src: b})
	return out
}

// qpReader decodes quoted-printable (RFC 2045 §6.7) line by line: trailing
// white space is dropped, "=" at the end of a line is a soft break, "=XX" is
// a byte, and any other "=" is kept as it is.
type qpReader struct {
	src []byte
	buf []byte // decoded, not yet returned
}

func (r *qpReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if len(r.src) == 0 {
			return 0, io.EOF
		}
		r.decodeLine()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *qpReader) decodeLine() {
	next := lineEnd(r.src, 0)
	line := r.src[:next]
	r.src = r.src[next:]
	eol := line[len(trimEOL(line)):]
	line = bytes.TrimRight(trimEOL(line), " \t")
	out := r.buf[:0]
	soft := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		if i == len(line)-1 {
			soft = true
			break
		}
		if i+2 < len(line) {
			hi, ok1 := unhex(line[i+1])
			lo, ok2 := unhex(line[i+2])
			if ok1 && ok2 {
				out = append(out, hi<<4|lo)
				i += 2
				continue
			}
		}
		out = append(out, c)
	}
	if !soft {
		out = append(out, eol...)
	}
	r.buf = out
}
