package oxcmail

import (
	"strings"

	"golang.org/x/net/html"
)

// maxHTMLText bounds the plain text made from an HTML body.
const maxHTMLText = 4 << 20

// HTMLToText renders an HTML body as plain text for PidTagBody when a
// message has no text/plain part (MS-OXCMAIL 2.2.3.3.1: the body is then
// generated from the HTML). Script, style and head content is dropped;
// block elements and <br> end lines; white space collapses outside <pre>;
// links keep their target in angle brackets when it differs from the text.
func HTMLToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var sb strings.Builder
	skip, pre := 0, 0
	space := false // a collapsed blank is pending
	var hrefs []string
	var linkText []int // sb.Len() where each open <a> began
	newline := func(n int) {
		space = false
		// Count trailing newlines already written.
		str := sb.String()
		have := len(str) - len(strings.TrimRight(str, "\n"))
		if sb.Len() == 0 {
			return
		}
		for ; have < n; have++ {
			sb.WriteByte('\n')
		}
	}
	for sb.Len() < maxHTMLText {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.TrimSpace(sb.String())
		case html.TextToken:
			if skip > 0 {
				continue
			}
			text := string(z.Text())
			if pre > 0 {
				sb.WriteString(text)
				continue
			}
			for _, r := range text {
				if isHTMLSpace(r) {
					space = true
					continue
				}
				if space && !endsWithNewline(&sb) && !endsWithSpace(&sb) {
					sb.WriteByte(' ')
				}
				space = false
				sb.WriteRune(r)
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			end := tt == html.EndTagToken
			switch tag {
			case "script", "style", "head", "title", "template":
				if tt == html.StartTagToken {
					skip++
				} else if end && skip > 0 {
					skip--
				}
				continue
			}
			if skip > 0 {
				continue
			}
			switch tag {
			case "br":
				newline(1)
			case "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "hr", "section", "article", "header", "footer":
				newline(2)
				if tag == "hr" && !end {
					sb.WriteString("----------")
					newline(2)
				}
			case "pre":
				newline(2)
				if end {
					pre = max(pre-1, 0)
				} else {
					pre++
				}
			case "tr", "li", "dt", "dd":
				newline(1)
				if tag == "li" && !end {
					sb.WriteString("* ")
				}
			case "td", "th":
				if !end && !endsWithNewline(&sb) && sb.Len() > 0 {
					sb.WriteByte('\t')
				}
			case "img":
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "alt" && len(v) > 0 {
						sb.WriteString("[" + string(v) + "]")
					}
				}
			case "a":
				if end {
					if n := len(hrefs); n > 0 {
						href, start := hrefs[n-1], linkText[n-1]
						hrefs, linkText = hrefs[:n-1], linkText[:n-1]
						text := ""
						if start <= sb.Len() {
							text = sb.String()[start:]
						}
						if href != "" && strings.TrimSpace(text) != href && !strings.HasPrefix(href, "#") &&
							!strings.HasPrefix(strings.ToLower(href), "javascript:") {
							sb.WriteString(" <" + href + ">")
						}
					}
				} else if tt == html.StartTagToken {
					href := ""
					for hasAttr {
						var k, v []byte
						k, v, hasAttr = z.TagAttr()
						if string(k) == "href" {
							href = strings.TrimSpace(string(v))
						}
					}
					if strings.HasPrefix(strings.ToLower(href), "mailto:") {
						href = href[len("mailto:"):]
					}
					hrefs = append(hrefs, href)
					linkText = append(linkText, sb.Len())
				}
			}
		}
	}
	return strings.TrimSpace(sb.String())
}

func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0'
}

func endsWithNewline(sb *strings.Builder) bool {
	s := sb.String()
	return s == "" || s[len(s)-1] == '\n'
}

func endsWithSpace(sb *strings.Builder) bool {
	s := sb.String()
	return s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t')
}
