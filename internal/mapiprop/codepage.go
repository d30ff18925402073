package mapiprop

import (
	"fmt"
	"unicode/utf8"
)

// Code pages accepted for PtypString8 and other 8-bit strings.
const (
	CodePageWindows1252 uint32 = 1252
	CodePageUTF8        uint32 = 65001
	CodePageASCII       uint32 = 20127
	CodePageLatin1      uint32 = 28591
	// CodePageMessage (0x0FFF) in RopOpenMessage/RopCreateMessage means "use
	// the logon's code page" (MS-OXCMSG 2.2.3.1.1); it is resolved by the
	// caller, not here.
	CodePageMessage uint32 = 0x0FFF
)

// win1252High maps bytes 0x80-0x9F of Windows-1252. The five bytes Windows
// leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to the C1 control of the
// same value, as MultiByteToWideChar does, so every byte sequence round-trips.
var win1252High = [32]rune{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
}

// SupportedCodePage reports whether DecodeString8/EncodeString8 handle cp.
func SupportedCodePage(cp uint32) bool {
	switch cp {
	case 0, CodePageWindows1252, CodePageUTF8, CodePageASCII, CodePageLatin1:
		return true
	}
	return false
}

// DecodeString8 converts 8-bit text in code page cp (0 = 1252) to a Go
// string. UTF-8 input is kept byte for byte, even when invalid, so it
// round-trips; ASCII bytes above 0x7F are read as Latin-1.
func DecodeString8(b []byte, cp uint32) (string, error) {
	switch cp {
	case 0, CodePageWindows1252:
		return decodeSingleByte(b, true), nil
	case CodePageLatin1, CodePageASCII:
		return decodeSingleByte(b, false), nil
	case CodePageUTF8:
		return string(b), nil
	}
	return "", fmt.Errorf("unsupported code page %d", cp)
}

func decodeSingleByte(b []byte, win bool) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for _, c := range b {
		switch {
		case c < 0x80:
			out = append(out, c)
		case win && c < 0xA0:
			out = utf8.AppendRune(out, win1252High[c-0x80])
		default:
			out = utf8.AppendRune(out, rune(c))
		}
	}
	return string(out)
}

// EncodeString8 converts s to 8-bit text in code page cp (0 = 1252).
// Characters the code page cannot represent become '?'; this is not an error
// because MAPI clients do the same ("best fit").
func EncodeString8(s string, cp uint32) ([]byte, error) {
	switch cp {
	case 0, CodePageWindows1252:
		return encodeSingleByte(s, true, 0xFF), nil
	case CodePageLatin1:
		return encodeSingleByte(s, false, 0xFF), nil
	case CodePageASCII:
		return encodeSingleByte(s, false, 0x7F), nil
	case CodePageUTF8:
		return []byte(s), nil
	}
	return nil, fmt.Errorf("unsupported code page %d", cp)
}

func encodeSingleByte(s string, win bool, max rune) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			// Invalid UTF-8: the byte cannot have come from this code page.
			out = append(out, '?')
			i++
			continue
		}
		i += size
		switch {
		case c < 0x80:
			out = append(out, byte(c))
		case win && c >= 0x80 && c < 0xA0:
			// A C1 control only survives if 1252 leaves that byte undefined.
			if win1252High[c-0x80] == c {
				out = append(out, byte(c))
			} else {
				out = append(out, '?')
			}
		case c <= max && (!win || c >= 0xA0):
			out = append(out, byte(c))
		case win:
			out = append(out, win1252Byte(c))
		default:
			out = append(out, '?')
		}
	}
	return out
}

func win1252Byte(c rune) byte {
	for i, r := range win1252High {
		if r == c {
			return byte(0x80 + i)
		}
	}
	return '?'
}
