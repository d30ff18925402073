package oxcmail

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	gmcharset "github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/ianaindex"
)

// codePages maps MIME charset names (lower case) to Windows code page
// identifiers, the values of PidTagInternetCodepage (MS-OXCMAIL 2.1.3.1.4).
var codePages = map[string]uint32{
	"us-ascii":          20127,
	"utf-8":             65001,
	"utf-7":             65000,
	"utf-16":            1200,
	"utf-16le":          1200,
	"utf-16be":          1201,
	"iso-8859-1":        28591,
	"iso-8859-2":        28592,
	"iso-8859-3":        28593,
	"iso-8859-4":        28594,
	"iso-8859-5":        28595,
	"iso-8859-6":        28596,
	"iso-8859-7":        28597,
	"iso-8859-8":        28598,
	"iso-8859-8-i":      38598,
	"iso-8859-9":        28599,
	"iso-8859-10":       28600,
	"iso-8859-13":       28603,
	"iso-8859-14":       28604,
	"iso-8859-15":       28605,
	"iso-8859-16":       28606,
	"windows-874":       874,
	"windows-1250":      1250,
	"windows-1251":      1251,
	"windows-1252":      1252,
	"windows-1253":      1253,
	"windows-1254":      1254,
	"windows-1255":      1255,
	"windows-1256":      1256,
	"windows-1257":      1257,
	"windows-1258":      1258,
	"koi8-r":            20866,
	"koi8-u":            21866,
	"ibm866":            866,
	"macintosh":         10000,
	"shift_jis":         932,
	"euc-jp":            51932,
	"iso-2022-jp":       50220,
	"gb2312":            936,
	"gbk":               936,
	"gb18030":           54936,
	"big5":              950,
	"euc-kr":            51949,
	"ks_c_5601-1987":    949,
	"iso-2022-kr":       50225,
	"tis-620":           874,
	"windows-31j":       932,
	"x-mac-cyrillic":    10007,
	"hz-gb-2312":        52936,
	"cp1252":            1252,
	"cp1251":            1251,
	"cp1250":            1250,
	"cp866":             866,
	"latin1":            28591,
	"iso8859-1":         28591,
	"iso_8859-1":        28591,
	"utf8":              65001,
	"ascii":             20127,
	"ansi_x3.4-1968":    20127,
	"x-sjis":            932,
	"sjis":              932,
	"csiso2022jp":       50220,
	"x-euc-jp":          51932,
	"euc-cn":            936,
	"x-gbk":             936,
	"big5-hkscs":        950,
	"cseuckr":           51949,
	"ks_c_5601-1989":    949,
	"iso-ir-149":        949,
	"unicode-1-1-utf-8": 65001,
}

// charsetNames maps code pages back to the MIME charset a renderer labels
// a body with. UTF-16 and UTF-7 are missing on purpose: bodies in them are
// converted to UTF-8, since they are not safe as MIME text.
var charsetNames = map[uint32]string{
	20127: "us-ascii", 65001: "utf-8",
	28591: "iso-8859-1", 28592: "iso-8859-2", 28593: "iso-8859-3", 28594: "iso-8859-4",
	28595: "iso-8859-5", 28596: "iso-8859-6", 28597: "iso-8859-7", 28598: "iso-8859-8",
	38598: "iso-8859-8-i", 28599: "iso-8859-9", 28600: "iso-8859-10", 28603: "iso-8859-13",
	28604: "iso-8859-14", 28605: "iso-8859-15", 28606: "iso-8859-16",
	874: "windows-874", 1250: "windows-1250", 1251: "windows-1251", 1252: "windows-1252",
	1253: "windows-1253", 1254: "windows-1254", 1255: "windows-1255", 1256: "windows-1256",
	1257: "windows-1257", 1258: "windows-1258",
	20866: "koi8-r", 21866: "koi8-u", 866: "ibm866", 10000: "macintosh", 10007: "x-mac-cyrillic",
	932: "shift_jis", 51932: "euc-jp", 50220: "iso-2022-jp", 50221: "iso-2022-jp", 50222: "iso-2022-jp",
	936: "gbk", 54936: "gb18030", 950: "big5", 51949: "euc-kr", 949: "ks_c_5601-1987",
	50225: "iso-2022-kr", 52936: "hz-gb-2312",
}

// CodePageForCharset returns the Windows code page of a MIME charset name
// (MS-OXCMAIL 2.1.3.1.4; PidTagInternetCodepage). Aliases are resolved
// through the IANA registry.
func CodePageForCharset(label string) (uint32, bool) {
	l := strings.ToLower(strings.Trim(label, " \t\"'"))
	if l == "" {
		return 0, false
	}
	if cp, ok := codePages[l]; ok {
		return cp, true
	}
	if enc, err := ianaindex.MIME.Encoding(l); err == nil && enc != nil {
		if name, err := ianaindex.MIME.Name(enc); err == nil {
			if cp, ok := codePages[strings.ToLower(name)]; ok {
				return cp, true
			}
		}
	}
	return 0, false
}

// CharsetForCodePage returns the MIME charset name for a Windows code
// page, for labelling a body. It reports false for code pages that are
// not usable as MIME text (UTF-16, UTF-7) or unknown.
func CharsetForCodePage(cp uint32) (string, bool) {
	name, ok := charsetNames[cp]
	return name, ok
}

// decodeCharset converts b from the named charset to UTF-8. Unknown
// charsets and us-ascii fall back to UTF-8 when b is valid UTF-8 and to
// Windows-1252 otherwise (what internal/message does), so the result is
// always valid UTF-8.
func decodeCharset(label string, b []byte) string {
	l := strings.ToLower(strings.Trim(label, " \t\"'"))
	switch l {
	case "", "us-ascii", "ascii", "utf-8", "utf8":
		return fallbackUTF8(b)
	}
	r, err := gmcharset.Reader(l, bytes.NewReader(b))
	if err != nil {
		return fallbackUTF8(b)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return fallbackUTF8(b)
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// fallbackUTF8 keeps valid UTF-8 and reads anything else as Windows-1252.
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
