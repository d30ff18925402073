package oxcmail

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Compressed RTF (MS-OXRTFCP).
const (
	rtfCompressed   = 0x75465A4C // "LZFu"
	rtfUncompressed = 0x414C454D // "MELA"
	// maxRTF bounds the decompressed size we accept.
	maxRTF = 64 << 20
)

// rtfDictionary is the initial dictionary of the RTF compression
// (MS-OXRTFCP 2.1.2.1), 207 bytes.
const rtfDictionary = "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"

// ErrBadRTF reports a PidTagRtfCompressed value that is not compressed RTF.
var ErrBadRTF = errors.New("oxcmail: malformed compressed RTF")

// DecompressRTF decompresses a PidTagRtfCompressed value (MS-OXRTFCP
// 3.1.1.1.2). The CRC is not checked: a wrong one costs nothing here, and
// clients disagree on it for uncompressed content.
func DecompressRTF(b []byte) ([]byte, error) {
	if len(b) < 16 {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadRTF, len(b))
	}
	compSize := binary.LittleEndian.Uint32(b[0:])
	rawSize := binary.LittleEndian.Uint32(b[4:])
	compType := binary.LittleEndian.Uint32(b[8:])
	data := b[16:]
	if uint64(compSize) >= 12 && uint64(compSize)-12 < uint64(len(data)) {
		data = data[:compSize-12]
	}
	switch compType {
	case rtfUncompressed:
		if uint64(rawSize) < uint64(len(data)) {
			data = data[:rawSize]
		}
		return bytes.Clone(data), nil
	case rtfCompressed:
	default:
		return nil, fmt.Errorf("%w: type 0x%08X", ErrBadRTF, compType)
	}
	var dict [4096]byte
	copy(dict[:], rtfDictionary)
	wpos := len(rtfDictionary)
	out := make([]byte, 0, min(int(rawSize), maxRTF, len(data)*8))
	for i := 0; i < len(data); {
		control := data[i]
		i++
		for bit := 0; bit < 8; bit++ {
			if i >= len(data) {
				return out, nil
			}
			if control&(1<<bit) == 0 {
				c := data[i]
				i++
				out = append(out, c)
				dict[wpos] = c
				wpos = (wpos + 1) % 4096
			} else {
				if i+1 >= len(data) {
					return out, nil
				}
				ref := int(data[i])<<8 | int(data[i+1])
				i += 2
				offset, length := ref>>4, ref&0x0F+2
				if offset == wpos {
					return out, nil // end marker
				}
				for k := 0; k < length; k++ {
					c := dict[(offset+k)%4096]
					out = append(out, c)
					dict[wpos] = c
					wpos = (wpos + 1) % 4096
				}
			}
			if len(out) > maxRTF {
				return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadRTF, maxRTF)
			}
		}
	}
	return out, nil
}

// CompressRTF wraps RTF in the uncompressed PidTagRtfCompressed form
// (MS-OXRTFCP 2.1.3.1, COMPTYPE "MELA"), which every reader accepts.
func CompressRTF(rtf []byte) []byte {
	out := make([]byte, 16, 16+len(rtf))
	binary.LittleEndian.PutUint32(out[0:], uint32(len(rtf)+12))
	binary.LittleEndian.PutUint32(out[4:], uint32(len(rtf)))
	binary.LittleEndian.PutUint32(out[8:], rtfUncompressed)
	return append(out, rtf...)
}

// RTFToHTML de-encapsulates HTML from RTF made by \fromhtml1 (MS-OXRTFEX
// 2.1.3): the contents of \*\htmltag destinations and the text outside
// \htmlrtf regions. ok is false when the RTF does not encapsulate HTML.
func RTFToHTML(rtf []byte) (html string, ok bool) {
	if !bytes.Contains(rtf[:min(len(rtf), 8192)], []byte(`\fromhtml`)) {
		return "", false
	}
	return rtfExtract(rtf, true), true
}

// RTFToText returns the text of an RTF document (paragraphs as lines),
// for a message whose only body is RTF (or \fromtext encapsulated text).
func RTFToText(rtf []byte) string {
	return strings.TrimRight(rtfExtract(rtf, false), "\r\n")
}

// rtfState is the group-scoped state of the RTF reader.
type rtfState struct {
	skip    bool // inside a destination whose text is not content
	htmltag bool // inside \*\htmltag
	htmlrtf bool // inside \htmlrtf … \htmlrtf0 (RTF-only content)
	uc      int  // bytes to skip after \uN (\ucN)
}

// rtfSkipDestinations are destinations whose text is not document text.
var rtfSkipDestinations = map[string]bool{
	"fonttbl": true, "colortbl": true, "stylesheet": true, "info": true, "pict": true,
	"object": true, "header": true, "footer": true, "headerl": true, "headerr": true,
	"headerf": true, "footerl": true, "footerr": true, "footerf": true, "listtable": true,
	"listoverridetable": true, "revtbl": true, "rsidtbl": true, "generator": true,
	"xmlnstbl": true, "filetbl": true, "themedata": true, "colorschememapping": true,
	"latentstyles": true, "datastore": true, "pgdsctbl": true, "fldinst": true,
}

// rtfExtract walks an RTF document and returns its content: in HTML mode
// the encapsulated HTML, otherwise the plain text.
func rtfExtract(rtf []byte, htmlMode bool) string {
	var out strings.Builder
	var pending []byte // \'hh bytes not yet decoded
	codePage := uint32(1252)
	flush := func() {
		if len(pending) == 0 {
			return
		}
		cs, ok := CharsetForCodePage(codePage)
		if !ok {
			cs = "windows-1252"
		}
		out.WriteString(decodeCharset(cs, pending))
		pending = pending[:0]
	}
	st := rtfState{uc: 1}
	var stack []rtfState
	skipFallback := 0 // fallback bytes still to skip after \u
	destNext := false // "\*" seen: the next control word names an optional destination
	groupStart := false
	emitting := func() bool {
		if st.skip {
			return false
		}
		if htmlMode {
			return st.htmltag || !st.htmlrtf
		}
		return true
	}
	emitByte := func(c byte) {
		if skipFallback > 0 {
			skipFallback--
			return
		}
		if !emitting() {
			return
		}
		if c < 0x80 {
			flush()
			out.WriteByte(c)
			return
		}
		pending = append(pending, c)
	}
	emitString := func(s string) {
		if !emitting() {
			return
		}
		flush()
		out.WriteString(s)
	}
	for i := 0; i < len(rtf) && out.Len() < maxRTF; {
		c := rtf[i]
		switch c {
		case '{':
			i++
			if len(stack) < 1024 {
				stack = append(stack, st)
			}
			groupStart = true
			destNext = false
			continue
		case '}':
			i++
			flush()
			if n := len(stack); n > 0 {
				st = stack[n-1]
				stack = stack[:n-1]
			}
			groupStart, destNext = false, false
			continue
		case '\r', '\n':
			i++
			continue
		case '\\':
		default:
			i++
			groupStart = false
			emitByte(c)
			continue
		}
		// A control word or symbol.
		i++
		if i >= len(rtf) {
			break
		}
		c = rtf[i]
		if !isLetter(c) {
			i++
			wasStart := groupStart
			groupStart = false
			switch c {
			case '\'':
				if i+1 < len(rtf) {
					hi, ok1 := unhexRTF(rtf[i])
					lo, ok2 := unhexRTF(rtf[i+1])
					if ok1 && ok2 {
						emitByte(hi<<4 | lo)
					}
					i += 2
				}
			case '*':
				destNext = true
				groupStart = wasStart
			case '\\', '{', '}':
				emitByte(c)
			case '~':
				emitString("\u00a0")
			case '_':
				emitString("-")
			case '\r', '\n':
				emitString("\r\n")
			case '-':
			default:
				emitByte(c)
			}
			continue
		}
		start := i
		for i < len(rtf) && isLetter(rtf[i]) && i-start < 32 {
			i++
		}
		word := string(rtf[start:i])
		param, hasParam := 0, false
		neg := false
		if i < len(rtf) && rtf[i] == '-' {
			neg = true
			i++
		}
		digits := 0
		for i < len(rtf) && rtf[i] >= '0' && rtf[i] <= '9' && digits < 10 {
			param = param*10 + int(rtf[i]-'0')
			hasParam = true
			digits++
			i++
		}
		if neg {
			param = -param
		}
		if i < len(rtf) && rtf[i] == ' ' {
			i++
		}
		wasStart, wasDest := groupStart, destNext
		groupStart, destNext = false, false
		if wasStart {
			switch {
			case word == "htmltag" && wasDest:
				st.htmltag = true
				continue
			case rtfSkipDestinations[word] || wasDest:
				st.skip = true
				continue
			}
		}
		switch word {
		case "ansicpg":
			if hasParam && param > 0 {
				flush()
				codePage = uint32(param)
			}
		case "htmlrtf":
			st.htmlrtf = !hasParam || param != 0
		case "uc":
			if hasParam && param >= 0 && param < 16 {
				st.uc = param
			}
		case "u":
			if hasParam {
				r := rune(param)
				if r < 0 {
					r += 65536
				}
				if emitting() {
					if utf8.ValidRune(r) {
						emitString(string(r))
					} else if r >= 0xD800 && r < 0xDC00 {
						emitString(string(utf8.RuneError))
					}
				}
				skipFallback = st.uc
			}
		case "par", "line":
			emitString("\r\n")
		case "tab":
			emitString("\t")
		case "emdash":
			emitString("\u2014")
		case "endash":
			emitString("\u2013")
		case "lquote":
			emitString("\u2018")
		case "rquote":
			emitString("\u2019")
		case "ldblquote":
			emitString("\u201c")
		case "rdblquote":
			emitString("\u201d")
		case "bullet":
			emitString("\u2022")
		case "bin":
			if hasParam && param > 0 {
				i = min(len(rtf), i+param)
			}
		}
	}
	flush()
	return out.String()
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func unhexRTF(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
