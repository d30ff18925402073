package mapiprop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrTruncated is wrapped by decode errors caused by input that ends early.
var ErrTruncated = errors.New("mapiprop: truncated input")

// ErrMalformed is wrapped by decode errors caused by input that is complete
// but invalid (unknown type, bad count, nesting too deep, …).
var ErrMalformed = errors.New("mapiprop: malformed input")

// ErrEncode is wrapped by encode errors (a value that does not fit the wire
// format or does not match its tag's type).
var ErrEncode = errors.New("mapiprop: cannot encode")

// maxDepth bounds recursion of restrictions (And/Or/Not/SubObject/…) so a
// hostile buffer cannot exhaust the stack.
const maxDepth = 64

// Format selects wire variants that differ between contexts.
type Format struct {
	// CodePage converts PtypString8 values and other 8-bit strings to and
	// from Go strings. Zero means Windows-1252. See DecodeString8.
	CodePage uint32
	// Wide selects 32-bit counts for binary values and And/Or restriction
	// counts, as used by extended rules (MS-OXCDATA 2.11.1.1, 2.12).
	// ROP buffers use 16-bit counts (the default).
	Wide bool
}

// Reader decodes little-endian wire data from a byte slice. It never reads
// past the slice: the first failure is recorded, every later read returns a
// zero value, and Err reports the failure.
type Reader struct {
	Format
	buf   []byte
	off   int
	err   error
	depth int
}

// NewReader returns a Reader over b (ROP format, code page 1252).
func NewReader(b []byte) *Reader { return &Reader{buf: b} }

// Err returns the first error, or nil.
func (r *Reader) Err() error { return r.err }

// Fail records err if no error was recorded before.
func (r *Reader) Fail(err error) {
	if r.err == nil && err != nil {
		r.err = err
	}
}

// Failf records a formatted ErrMalformed error.
func (r *Reader) Failf(format string, args ...any) {
	r.Fail(fmt.Errorf("%w: %s at offset %d", ErrMalformed, fmt.Sprintf(format, args...), r.off))
}

// Offset is the number of bytes consumed.
func (r *Reader) Offset() int { return r.off }

// Len is the number of unread bytes (0 once an error was recorded).
func (r *Reader) Len() int {
	if r.err != nil {
		return 0
	}
	return len(r.buf) - r.off
}

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.buf)-r.off {
		r.err = fmt.Errorf("%w: need %d bytes at offset %d, %d left", ErrTruncated, n, r.off, len(r.buf)-r.off)
		return nil
	}
	b := r.buf[r.off : r.off+n : r.off+n]
	r.off += n
	return b
}

// U8 reads one byte.
func (r *Reader) U8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Bool reads one byte and reports whether it is non-zero.
func (r *Reader) Bool() bool { return r.U8() != 0 }

// U16 reads a little-endian uint16.
func (r *Reader) U16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}

// U32 reads a little-endian uint32.
func (r *Reader) U32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// U64 reads a little-endian uint64.
func (r *Reader) U64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// I32 reads a little-endian int32.
func (r *Reader) I32() int32 { return int32(r.U32()) }

// I64 reads a little-endian int64.
func (r *Reader) I64() int64 { return int64(r.U64()) }

// Bytes reads n bytes and returns a copy.
func (r *Reader) Bytes(n int) []byte {
	b := r.take(n)
	if b == nil {
		if r.err == nil {
			return []byte{}
		}
		return nil
	}
	return append([]byte{}, b...)
}

// Rest reads and returns a copy of all unread bytes.
func (r *Reader) Rest() []byte { return r.Bytes(r.Len()) }

// GUID reads 16 bytes.
func (r *Reader) GUID() GUID {
	var g GUID
	copy(g[:], r.take(16))
	return g
}

// Sub returns a Reader over the next n bytes, with the same format and
// nesting depth, and advances r past them. A truncated r yields an empty
// sub-reader that has already failed.
func (r *Reader) Sub(n int) *Reader {
	b := r.take(n)
	s := &Reader{Format: r.Format, buf: b, depth: r.depth}
	if b == nil {
		s.err = r.err
		if s.err == nil {
			s.buf = []byte{}
		}
	}
	return s
}

// RawCString reads bytes up to a NUL terminator and returns them without it.
func (r *Reader) RawCString() []byte {
	if r.err != nil {
		return nil
	}
	rest := r.buf[r.off:]
	for i, c := range rest {
		if c == 0 {
			s := append([]byte{}, rest[:i]...)
			r.off += i + 1
			return s
		}
	}
	r.err = fmt.Errorf("%w: unterminated 8-bit string at offset %d", ErrTruncated, r.off)
	return nil
}

// CString reads a NUL-terminated 8-bit string in the reader's code page.
func (r *Reader) CString() string {
	b := r.RawCString()
	if r.err != nil {
		return ""
	}
	s, err := DecodeString8(b, r.CodePage)
	if err != nil {
		r.Fail(fmt.Errorf("%w: %v", ErrMalformed, err))
		return ""
	}
	return s
}

// ASCIIString reads a NUL-terminated 8-bit string that the protocol defines
// as ASCII (DNs, message classes, address types). Bytes are kept as
// Windows-1252 so the value round-trips exactly.
func (r *Reader) ASCIIString() string {
	b := r.RawCString()
	s, _ := DecodeString8(b, CodePageWindows1252)
	return s
}

// UTF16String reads a NUL-terminated UTF-16LE string. Unpaired surrogates
// become U+FFFD.
func (r *Reader) UTF16String() string {
	if r.err != nil {
		return ""
	}
	rest := r.buf[r.off:]
	for i := 0; i+1 < len(rest); i += 2 {
		if rest[i] == 0 && rest[i+1] == 0 {
			s := decodeUTF16(rest[:i])
			r.off += i + 2
			return s
		}
	}
	r.err = fmt.Errorf("%w: unterminated UTF-16 string at offset %d", ErrTruncated, r.off)
	return ""
}

// UTF16Bytes decodes exactly n bytes of UTF-16LE (no terminator expected;
// a trailing NUL code unit is dropped).
func (r *Reader) UTF16Bytes(n int) string {
	b := r.take(n)
	if b == nil {
		return ""
	}
	if len(b)%2 != 0 {
		r.Failf("odd UTF-16 byte count %d", n)
		return ""
	}
	if len(b) >= 2 && b[len(b)-2] == 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-2]
	}
	return decodeUTF16(b)
}

func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// count reads a 16-bit count, or a 32-bit count in Wide format.
func (r *Reader) count() uint32 {
	if r.Wide {
		return r.U32()
	}
	return uint32(r.U16())
}

// Writer encodes little-endian wire data. The first failure is recorded and
// reported by Err; writes after a failure still append so offsets stay
// meaningful, but the output must not be used.
type Writer struct {
	Format
	buf   []byte
	err   error
	depth int
}

// NewWriter returns an empty Writer (ROP format, code page 1252).
func NewWriter() *Writer { return &Writer{} }

// Bytes returns the encoded bytes.
func (w *Writer) Bytes() []byte { return w.buf }

// Len is the number of bytes written.
func (w *Writer) Len() int { return len(w.buf) }

// Err returns the first error, or nil.
func (w *Writer) Err() error { return w.err }

// Fail records err if no error was recorded before.
func (w *Writer) Fail(err error) {
	if w.err == nil && err != nil {
		w.err = err
	}
}

// Failf records a formatted ErrEncode error.
func (w *Writer) Failf(format string, args ...any) {
	w.Fail(fmt.Errorf("%w: %s", ErrEncode, fmt.Sprintf(format, args...)))
}

// U8 writes one byte.
func (w *Writer) U8(v uint8) { w.buf = append(w.buf, v) }

// Bool writes 0x01 for true and 0x00 for false.
func (w *Writer) Bool(v bool) {
	if v {
		w.U8(1)
	} else {
		w.U8(0)
	}
}

// U16 writes a little-endian uint16.
func (w *Writer) U16(v uint16) { w.buf = binary.LittleEndian.AppendUint16(w.buf, v) }

// U32 writes a little-endian uint32.
func (w *Writer) U32(v uint32) { w.buf = binary.LittleEndian.AppendUint32(w.buf, v) }

// U64 writes a little-endian uint64.
func (w *Writer) U64(v uint64) { w.buf = binary.LittleEndian.AppendUint64(w.buf, v) }

// I32 writes a little-endian int32.
func (w *Writer) I32(v int32) { w.U32(uint32(v)) }

// I64 writes a little-endian int64.
func (w *Writer) I64(v int64) { w.U64(uint64(v)) }

// Raw appends b unchanged.
func (w *Writer) Raw(b []byte) { w.buf = append(w.buf, b...) }

// GUID writes 16 bytes.
func (w *Writer) GUID(g GUID) { w.buf = append(w.buf, g[:]...) }

// PatchU16 overwrites the uint16 at off (used to back-fill sizes).
func (w *Writer) PatchU16(off int, v uint16) {
	if off < 0 || off+2 > len(w.buf) {
		w.Failf("patch offset %d out of range", off)
		return
	}
	binary.LittleEndian.PutUint16(w.buf[off:], v)
}

// U16Len writes n as a 16-bit length, failing if it does not fit.
func (w *Writer) U16Len(n int, what string) {
	if n > 0xFFFF {
		w.Failf("%s length %d exceeds 65535", what, n)
	}
	w.U16(uint16(n))
}

// count writes a 16-bit count, or a 32-bit count in Wide format.
func (w *Writer) count(n int, what string) {
	if w.Wide {
		if uint64(n) > 0xFFFFFFFF {
			w.Failf("%s count %d too large", what, n)
		}
		w.U32(uint32(n))
		return
	}
	w.U16Len(n, what)
}

// CString writes s as a NUL-terminated 8-bit string in the writer's code
// page. A NUL inside s ends the string early, since the wire format cannot
// carry it.
func (w *Writer) CString(s string) {
	b, err := EncodeString8(s, w.CodePage)
	if err != nil {
		w.Fail(fmt.Errorf("%w: %v", ErrEncode, err))
	}
	w.rawCString(b)
}

// ASCIIString writes a NUL-terminated 8-bit string that the protocol defines
// as ASCII, using Windows-1252 for anything beyond (the inverse of
// Reader.ASCIIString).
func (w *Writer) ASCIIString(s string) {
	b, _ := EncodeString8(s, CodePageWindows1252)
	w.rawCString(b)
}

func (w *Writer) rawCString(b []byte) {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	w.Raw(b)
	w.U8(0)
}

// UTF16String writes s as NUL-terminated UTF-16LE. A NUL inside s ends the
// string early.
func (w *Writer) UTF16String(s string) {
	w.buf = appendUTF16(w.buf, s)
	w.U16(0)
}

func appendUTF16(buf []byte, s string) []byte {
	for _, c := range s {
		if c == 0 {
			break
		}
		if c == utf8.RuneError {
			c = '\uFFFD'
		}
		if c >= 0x10000 {
			r1, r2 := utf16.EncodeRune(c)
			buf = binary.LittleEndian.AppendUint16(buf, uint16(r1))
			buf = binary.LittleEndian.AppendUint16(buf, uint16(r2))
			continue
		}
		buf = binary.LittleEndian.AppendUint16(buf, uint16(c))
	}
	return buf
}

// UTF16Len is the number of bytes s takes as UTF-16LE, without terminator.
func UTF16Len(s string) int { return len(appendUTF16(nil, s)) }

// EncodeUTF16 returns s as UTF-16LE bytes without a terminator (the form
// used by string property streams, MS-OXCPRPT 2.2.14).
func EncodeUTF16(s string) []byte { return appendUTF16(nil, s) }

// DecodeUTF16 decodes UTF-16LE bytes (an odd trailing byte is ignored; a
// trailing NUL code unit is dropped).
func DecodeUTF16(b []byte) string {
	b = b[:len(b)&^1]
	if len(b) >= 2 && b[len(b)-2] == 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-2]
	}
	return decodeUTF16(b)
}
