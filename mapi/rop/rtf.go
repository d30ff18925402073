package rop

import (
	"fmt"
	"strings"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
)

// bodyRTF makes PidTagRtfCompressed for a client that asks for it: the
// HTML body encapsulated (MS-OXRTFEX 2.1.3, \fromhtml1) or the text body
// as plain RTF, compressed (MS-OXRTFCP). Nil when there is no body.
func bodyRTF(p oxcmail.Props) []byte {
	if html := p.Binary(mp.PidTagHtml); len(html) > 0 {
		return oxcmail.CompressRTF([]byte(encapsulateHTML(string(html))))
	}
	if text := p.String(mp.PidTagBody); text != "" {
		return oxcmail.CompressRTF([]byte(plainRTF(text)))
	}
	return nil
}

const rtfHeader = `{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss\fcharset0 Arial;}}`

// plainRTF renders text as RTF paragraphs.
func plainRTF(text string) string {
	var b strings.Builder
	b.WriteString(rtfHeader)
	b.WriteString(`\uc1\pard\f0\fs20 `)
	text = strings.ReplaceAll(text, "\r\n", "\n")
	for _, c := range text {
		switch {
		case c == '\n':
			b.WriteString("\\par\n")
		default:
			rtfChar(&b, c)
		}
	}
	b.WriteString("}")
	return b.String()
}

// encapsulateHTML wraps HTML so that de-encapsulation gives it back: the
// whole document in one \*\htmltag group, line breaks as \par.
func encapsulateHTML(html string) string {
	var b strings.Builder
	b.WriteString(`{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0\fswiss\fcharset0 Arial;}}\uc1 {\*\htmltag64 `)
	html = strings.ReplaceAll(html, "\r\n", "\n")
	for _, c := range html {
		if c == '\n' {
			b.WriteString("\\par\n")
			continue
		}
		rtfChar(&b, c)
	}
	b.WriteString("}}")
	return b.String()
}

// rtfChar writes one character, escaped.
func rtfChar(b *strings.Builder, c rune) {
	switch {
	case c == '\\' || c == '{' || c == '}':
		b.WriteByte('\\')
		b.WriteRune(c)
	case c == '\t':
		b.WriteString(`\tab `)
	case c < 0x20:
	case c < 0x80:
		b.WriteRune(c)
	case c < 0x10000:
		fmt.Fprintf(b, "\\u%d?", int16(c))
	default:
		// Outside the BMP: a surrogate pair, each as \uN.
		c -= 0x10000
		fmt.Fprintf(b, "\\u%d?\\u%d?", int16(0xD800+(c>>10)), int16(0xDC00+(c&0x3FF)))
	}
}
