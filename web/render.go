package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/pochta/pochta/internal/message"
)

// Inline images are embedded into the HTML document as data: URIs, so the
// sandboxed frame needs no cookie and its CSP allows no URL but data:.
// These bound what one document embeds.
const (
	maxInlineImageBytes = 5 << 20
	maxInlineTotalBytes = 15 << 20
)

// blockedImage stands in for a remote image until the reader allows them.
const blockedImage = "data:image/svg+xml;base64," +
	"PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIzMiIgaGVpZ2h0PSIzMiIgdmlld0JveD0iMCAwIDMyIDMyIj48cmVjdCB3aWR0aD0iMzIiIGhlaWdodD0iMzIiIGZpbGw9IiNlZWUiLz48cGF0aCBkPSJNOCAyMmw2LTggNSA2IDMtNCA0IDZ6IiBmaWxsPSIjYmJiIi8+PGNpcmNsZSBjeD0iMjEiIGN5PSIxMSIgcj0iMiIgZmlsbD0iI2JiYiIvPjwvc3ZnPg=="

// inlineImageTypes are served as data: URIs; anything else (SVG among
// them) is an attachment only.
var inlineImageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/bmp": true}

// safeStyles are the CSS properties kept in style attributes, each value
// checked by bluemonday's handler for that property. Nothing that takes a
// URL (background, background-image, list-style-image, content, …) and
// nothing that positions content over the page is allowed.
var safeStyles = []string{
	"color", "background-color",
	"font-family", "font-size", "font-style", "font-weight", "font-variant",
	"text-align", "text-decoration", "text-indent", "text-transform", "line-height", "letter-spacing", "word-spacing",
	"vertical-align", "white-space", "word-break", "word-wrap", "direction",
	"margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
	"padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
	"border", "border-top", "border-right", "border-bottom", "border-left",
	"border-color", "border-style", "border-width", "border-collapse", "border-spacing", "border-radius",
	"border-top-color", "border-right-color", "border-bottom-color", "border-left-color",
	"border-top-style", "border-right-style", "border-bottom-style", "border-left-style",
	"border-top-width", "border-right-width", "border-bottom-width", "border-left-width",
	"width", "height", "max-width", "min-width", "max-height", "min-height",
	"display", "float", "clear", "table-layout", "list-style-type", "text-overflow", "overflow-wrap",
}

var (
	reColor  = regexp.MustCompile(`^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,30})$`)
	reNumber = regexp.MustCompile(`^[0-9]{1,4}%?$`)
	reAlign  = regexp.MustCompile(`(?i)^(left|right|center|justify|top|middle|bottom|baseline)$`)
	reFace   = regexp.MustCompile(`^[\w ,'"-]{1,200}$`)
)

// newPolicy is the sanitiser for message HTML: bluemonday's policy for
// user content, with the presentational markup mail uses (tables, fonts,
// inline styles checked per property), cid: and data: images (rewritten
// afterwards), and no relative URLs.
func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowRelativeURLs(false)
	p.AllowURLSchemes("mailto", "http", "https", "cid")
	p.AllowDataURIImages()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowElements("div", "span", "font", "center", "u", "s", "strike", "small", "big", "tt", "hr", "br", "p", "pre", "blockquote", "address")
	p.AllowAttrs("color").Matching(reColor).OnElements("font")
	p.AllowAttrs("face").Matching(reFace).OnElements("font")
	p.AllowAttrs("size").Matching(regexp.MustCompile(`^[-+]?[1-7]$`)).OnElements("font")
	p.AllowAttrs("bgcolor").Matching(reColor).OnElements("table", "tr", "td", "th", "tbody", "thead")
	p.AllowAttrs("align").Matching(reAlign).OnElements("p", "div", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "caption")
	p.AllowAttrs("valign").Matching(reAlign).OnElements("td", "th", "tr")
	p.AllowAttrs("border", "cellpadding", "cellspacing").Matching(reNumber).OnElements("table")
	p.AllowAttrs("width", "height").Matching(reNumber).OnElements("img", "table", "td", "th", "hr")
	p.AllowStyles(safeStyles...).Globally()
	return p
}

// renderedHTML is a message's HTML body made safe to show.
type renderedHTML struct {
	body    string // sanitised body content
	blocked int    // remote images replaced by the placeholder
	text    string // the body's text, for replies and search
}

// renderHTML sanitises the message's HTML body. allowRemote keeps remote
// image URLs (the reader asked for them).
func (s *Server) renderHTML(ctx context.Context, l *loaded, allowRemote bool) (*renderedHTML, error) {
	part := message.HTMLPart(l.p)
	if part == nil {
		return &renderedHTML{}, nil
	}
	src, _, err := s.decodeTextPart(ctx, l.m, part, maxHTMLBytes)
	if err != nil {
		return nil, err
	}
	inline := func(cid string) (string, bool) { return s.inlineImage(ctx, l, cid) }
	body, blocked := sanitizeHTML(s.policy, src, allowRemote, inline)
	return &renderedHTML{body: body, blocked: blocked, text: htmlToText(src)}, nil
}

// inlineImage returns the data: URI of the image part whose Content-ID is
// cid, if it is a raster image within the size limits.
func (s *Server) inlineImage(ctx context.Context, l *loaded, cid string) (string, bool) {
	var found *message.Part
	l.p.Root.Walk(func(_ []int, p *message.Part) bool {
		if found == nil && strings.Trim(strings.TrimSpace(p.ContentID), "<>") == cid && !p.IsMultipart() {
			found = p
		}
		return found == nil
	})
	if found == nil || !inlineImageTypes[found.ContentType()] || found.Size > maxInlineImageBytes*4/3+4096 {
		return "", false
	}
	buf, cp, truncated, err := s.readPart(ctx, l.m, found, maxInlineImageBytes*4/3+4096)
	if err != nil || truncated {
		return "", false
	}
	data, err := io.ReadAll(io.LimitReader(message.DecodeBody(buf, cp), maxInlineImageBytes+1))
	if err != nil || len(data) > maxInlineImageBytes {
		return "", false
	}
	return "data:" + found.ContentType() + ";base64," + base64.StdEncoding.EncodeToString(data), true
}

// sanitizeHTML makes message HTML safe: bluemonday's policy first, then
// image sources rewritten (cid: to the embedded image, remote ones to the
// placeholder unless allowRemote). It returns the body markup and how
// many remote images it blocked. inline resolves a Content-ID (nil: none).
func sanitizeHTML(policy *bluemonday.Policy, src string, allowRemote bool, inline func(cid string) (string, bool)) (string, int) {
	clean := policy.Sanitize(src)
	ctxNode := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(clean), ctxNode)
	if err != nil {
		return html.EscapeString(htmlToText(src)), 0
	}
	blocked := 0
	embedded := 0
	var walk func(n *html.Node, depth int)
	walk = func(n *html.Node, depth int) {
		if depth > 512 {
			n.FirstChild, n.LastChild = nil, nil
			return
		}
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Img:
				blocked += fixImage(n, allowRemote, inline, &embedded)
			case atom.A:
				fixLink(n)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, depth+1)
		}
	}
	var out bytes.Buffer
	for _, n := range nodes {
		walk(n, 0)
		if err := html.Render(&out, n); err != nil {
			return html.EscapeString(htmlToText(src)), 0
		}
	}
	return out.String(), blocked
}

func getAttr(n *html.Node, key string) (string, int) {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, i
		}
	}
	return "", -1
}

func setAttr(n *html.Node, key, val string) {
	if _, i := getAttr(n, key); i >= 0 {
		n.Attr[i].Val = val
		return
	}
	n.Attr = append(n.Attr, html.Attribute{Key: key, Val: val})
}

func removeAttr(n *html.Node, key string) {
	if _, i := getAttr(n, key); i >= 0 {
		n.Attr = append(n.Attr[:i], n.Attr[i+1:]...)
	}
}

// fixImage rewrites one img element's source and reports whether it
// blocked a remote image.
func fixImage(n *html.Node, allowRemote bool, inline func(string) (string, bool), embedded *int) int {
	src, i := getAttr(n, "src")
	if i < 0 {
		return 0
	}
	lower := strings.ToLower(strings.TrimSpace(src))
	switch {
	case strings.HasPrefix(lower, "data:"):
		// bluemonday lets base64 images through, SVG among them: keep
		// only raster ones.
		for t := range inlineImageTypes {
			if strings.HasPrefix(lower, "data:"+t+";base64,") {
				return 0
			}
		}
		n.Attr[i].Val = blockedImage
		return 0
	case strings.HasPrefix(lower, "cid:"):
		cid, err := url.PathUnescape(strings.TrimSpace(src)[4:])
		if err != nil {
			cid = strings.TrimSpace(src)[4:]
		}
		if inline != nil && *embedded < maxInlineTotalBytes {
			if uri, ok := inline(cid); ok && *embedded+len(uri) <= maxInlineTotalBytes*4/3 {
				*embedded += len(uri)
				n.Attr[i].Val = uri
				return 0
			}
		}
		n.Attr[i].Val = blockedImage
		return 0
	case (strings.HasPrefix(lower, "http:") || strings.HasPrefix(lower, "https:")) && allowRemote:
		return 0
	case strings.HasPrefix(lower, "http:") || strings.HasPrefix(lower, "https:") || strings.HasPrefix(lower, "//"):
		n.Attr[i].Val = blockedImage
		setAttr(n, "data-blocked", "remote")
		if alt, _ := getAttr(n, "alt"); alt == "" {
			setAttr(n, "alt", "[remote image blocked]")
		}
		return 1
	default:
		removeAttr(n, "src")
		return 0
	}
}

// fixLink keeps only web and mail links, opening in a new browsing
// context without a referrer or an opener.
func fixLink(n *html.Node) {
	href, i := getAttr(n, "href")
	if i < 0 {
		return
	}
	lower := strings.ToLower(strings.TrimSpace(href))
	if !strings.HasPrefix(lower, "http:") && !strings.HasPrefix(lower, "https:") && !strings.HasPrefix(lower, "mailto:") {
		removeAttr(n, "href")
		return
	}
	setAttr(n, "target", "_blank")
	setAttr(n, "rel", "noopener noreferrer nofollow")
}

// bodyCSP is the Content-Security-Policy of a message document: no script,
// no connection, no form, no plugin, images only from data: (and the web
// when allowed), inline styles only; the sandbox also applies when the
// document is opened on its own.
func bodyCSP(allowRemote bool) string {
	img := "data:"
	if allowRemote {
		img = "data: https: http:"
	}
	return "default-src 'none'; img-src " + img + "; style-src 'unsafe-inline'; font-src data:; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'self'; " +
		"sandbox allow-popups allow-popups-to-escape-sandbox"
}

const bodyStyle = `html{color-scheme:light}body{margin:0;padding:16px;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff;overflow-wrap:break-word}` +
	`img{max-width:100%;height:auto}img[data-blocked]{width:32px;height:32px;vertical-align:middle}table{max-width:100%}pre{white-space:pre-wrap}blockquote{margin:0 0 0 .8em;padding-left:.8em;border-left:3px solid #d0d7de;color:#57606a}`

// messageBody serves the sanitised HTML of a message as a document of its
// own, for the reading pane's sandboxed iframe.
func (s *Server) messageBody(c echo.Context) error {
	l, err := s.messageParam(c)
	if err != nil {
		return err
	}
	allowRemote := c.QueryParam("remote") == "1"
	doc, err := s.renderHTML(c.Request().Context(), l, allowRemote)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", bodyCSP(allowRemote))
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	// Chrome resolves the host names of links ahead of a click: a sender
	// would learn from its DNS server that the message was opened.
	h.Set("X-DNS-Prefetch-Control", "off")
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><base target="_blank"><style>`)
	b.WriteString(bodyStyle)
	b.WriteString(`</style></head><body>`)
	b.WriteString(doc.body)
	b.WriteString(`</body></html>`)
	return c.HTMLBlob(http.StatusOK, []byte(b.String()))
}

// htmlToText returns the readable text of an HTML document, with line
// breaks where blocks end, for quoting in replies and for search.
func htmlToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var b strings.Builder
	skip := 0
	space := false // white space seen since the last word
	atLineStart := func() bool {
		s := b.String()
		return s == "" || strings.HasSuffix(s, "\n") || strings.HasSuffix(s, "\t")
	}
	newline := func(n int) {
		s := b.String()
		have := len(s) - len(strings.TrimRight(s, "\n"))
		for ; have < n && b.Len() > 0; have++ {
			b.WriteByte('\n')
		}
		space = false
	}
	for b.Len() < maxTextBytes {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.TrimSpace(b.String())
		case html.TextToken:
			if skip > 0 {
				continue
			}
			text := string(z.Text())
			words := strings.Fields(text)
			if len(words) == 0 {
				space = space || text != ""
				continue
			}
			if (space || unicode.IsSpace(rune(text[0]))) && !atLineStart() {
				b.WriteByte(' ')
			}
			b.WriteString(strings.Join(words, " "))
			r, _ := utf8.DecodeLastRuneInString(text)
			space = unicode.IsSpace(r)
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch a := atom.Lookup(name); a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Noscript:
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case atom.Br:
				b.WriteByte('\n')
				space = false
			case atom.P, atom.Div, atom.Table, atom.Blockquote, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Ul, atom.Ol, atom.Pre, atom.Hr:
				newline(2)
			case atom.Li, atom.Tr, atom.Dt, atom.Dd:
				newline(1)
			case atom.Td, atom.Th:
				if tt == html.EndTagToken {
					b.WriteByte('\t')
					space = false
				}
			}
		}
	}
	return strings.TrimSpace(b.String())
}
