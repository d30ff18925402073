package message

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// previewRunes is how much of the body Preview keeps.
const previewRunes = 256

// TextPart returns the first text/plain part that is the message body (not
// an attachment, not inside an attached message), or nil.
func TextPart(p *Parsed) *Part { return bodyPart(p, "plain") }

// HTMLPart returns the first text/html body part, or nil.
func HTMLPart(p *Parsed) *Part { return bodyPart(p, "html") }

func bodyPart(p *Parsed, subtype string) *Part {
	if p == nil || p.Root == nil {
		return nil
	}
	var found *Part
	var visit func(part, parent *Part, depth int)
	visit = func(part, parent *Part, depth int) {
		if found != nil || depth > 2*MaxDepth+2 {
			return
		}
		if part.IsMultipart() {
			for _, c := range part.Parts {
				visit(c, part, depth+1)
			}
			return
		}
		if part.MediaType == "text" && part.MediaSubtype == subtype && !isAttachment(part, parent) {
			found = part
		}
	}
	visit(p.Root, nil, 0)
	return found
}

// TextBody returns the plain-text body of the message decoded to UTF-8, or
// "" when it has none.
func TextBody(raw []byte, p *Parsed) string {
	if part := TextPart(p); part != nil {
		return DecodeText(raw, part)
	}
	return ""
}

// HTMLBody returns the HTML body of the message decoded to UTF-8, or "".
// The charset is the part's; a <meta charset> inside the HTML is not read.
func HTMLBody(raw []byte, p *Parsed) string {
	if part := HTMLPart(p); part != nil {
		return DecodeText(raw, part)
	}
	return ""
}

// DecodeText returns the body of a text part with transfer encoding and
// charset (via go-message/charset) undone. Unknown charsets fall back to
// UTF-8 when valid and Windows-1252 otherwise; the result is valid UTF-8.
func DecodeText(raw []byte, part *Part) string {
	b, _ := io.ReadAll(DecodeBody(raw, part))
	return toUTF8(part.Params["charset"], b)
}

// TextReader is DecodeText as a stream, for large bodies.
func TextReader(raw []byte, part *Part) io.Reader {
	return charsetReader(part.Params["charset"], DecodeBody(raw, part))
}

// preview returns the start of the best text body: text/plain, else the
// text of the HTML body, white space collapsed. Only a bounded prefix of
// the body is decoded, so a huge body costs no more than a small one.
func preview(raw []byte, p *Parsed) string {
	if part := TextPart(p); part != nil {
		s := decodePrefix(raw, part, 16<<10)
		if s = collapse(s, previewRunes); s != "" {
			return s
		}
	}
	if part := HTMLPart(p); part != nil {
		return collapse(htmlText(decodePrefix(raw, part, 128<<10)), previewRunes)
	}
	return ""
}

// decodePrefix decodes at most limit bytes of a text part to UTF-8. A
// UTF-8 sequence cut at the limit is dropped so the prefix does not look
// like invalid UTF-8 (which would send it to the Windows-1252 fallback).
func decodePrefix(raw []byte, part *Part, limit int64) string {
	b, _ := io.ReadAll(io.LimitReader(DecodeBody(raw, part), limit))
	if int64(len(b)) == limit {
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	return toUTF8(part.Params["charset"], b)
}

// collapse replaces runs of white space (and control characters) with one
// space, trims, and keeps at most n runes.
func collapse(s string, n int) string {
	var sb strings.Builder
	space := false
	count := 0
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u200b' || r == '\ufeff' {
			space = sb.Len() > 0
			continue
		}
		if space {
			if count+1 >= n {
				break
			}
			sb.WriteByte(' ')
			count++
			space = false
		}
		sb.WriteRune(r)
		count++
		if count >= n {
			break
		}
	}
	return sb.String()
}

// htmlText extracts the visible text of an HTML document for the preview:
// no script, style, head or title content; block elements separate words.
func htmlText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var sb strings.Builder
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return sb.String()
		case html.TextToken:
			if skip == 0 {
				sb.Write(z.Text())
			}
		case html.StartTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title":
				skip++
			}
			sb.WriteByte(' ')
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title":
				if skip > 0 {
					skip--
				}
			}
			sb.WriteByte(' ')
		case html.SelfClosingTagToken:
			sb.WriteByte(' ')
		}
		if sb.Len() > 64<<10 {
			return sb.String()
		}
	}
}
