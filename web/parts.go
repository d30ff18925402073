package web

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/internal/message"
)

// maxPathDepth bounds a part path: the parser never nests deeper.
const maxPathDepth = 2*message.MaxDepth + 4

// parsePartPath reads an IMAP-style section number ("2", "1.3") naming a
// part; ok is false for anything else.
func parsePartPath(s string) ([]int, bool) {
	if s == "" || len(s) > 8*maxPathDepth {
		return nil, false
	}
	fields := strings.Split(s, ".")
	if len(fields) > maxPathDepth {
		return nil, false
	}
	out := make([]int, len(fields))
	for i, f := range fields {
		if f == "" || len(f) > 5 || f[0] == '0' || strings.Trim(f, "0123456789") != "" {
			return nil, false
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > message.MaxParts {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// contentType is the media type a part is served with: its own when it is
// well-formed, with the charset for text; application/octet-stream else.
func contentType(p *message.Part) string {
	t := p.ContentType()
	if mt, _, err := mime.ParseMediaType(t); err != nil || mt != t || !strings.Contains(t, "/") {
		return "application/octet-stream"
	}
	if p.MediaType == "text" {
		if cs := p.Params["charset"]; cs != "" {
			if v := mime.FormatMediaType(t, map[string]string{"charset": cs}); v != "" {
				return v
			}
		}
	}
	return t
}

// setDownloadHeaders makes the browser save the response under name and
// never render or sniff it.
func setDownloadHeaders(c echo.Context, ctype, name string) {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, ctype)
	disp := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	if disp == "" {
		disp = "attachment"
	}
	h.Set(echo.HeaderContentDisposition, disp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// downloadPart serves one part of a message, transfer encoding undone, as
// a download.
func (s *Server) downloadPart(c echo.Context) error {
	l, err := s.messageParam(c)
	if err != nil {
		return err
	}
	path, ok := parsePartPath(c.Param("part"))
	if !ok {
		return errNotFound
	}
	part := l.p.PartByPath(path)
	if part == nil || part.IsMultipart() {
		return errNotFound
	}
	ctx := c.Request().Context()
	buf, cp, _, err := s.readPart(ctx, l.m, part, 0)
	if err != nil {
		return err
	}
	ctype := contentType(part)
	if part.IsMessage() {
		ctype = "message/rfc822"
	}
	setDownloadHeaders(c, ctype, safeFileName(attachmentName(part, path)))
	return c.Stream(http.StatusOK, ctype, message.DecodeBody(buf, cp))
}

// downloadRaw serves the whole message as it is stored, as a .eml file.
func (s *Server) downloadRaw(c echo.Context) error {
	l, err := s.messageParam(c)
	if err != nil {
		return err
	}
	r, err := s.opts.Store.OpenBlob(c.Request().Context(), l.m.BlobHash)
	if err != nil {
		return err
	}
	name := safeFileName(l.m.Subject)
	if name == "" {
		name = fmt.Sprintf("message-%d", l.m.ID)
	}
	setDownloadHeaders(c, "message/rfc822", name+".eml")
	c.Response().Header().Set(echo.HeaderContentLength, strconv.FormatInt(r.Size(), 10))
	return c.Stream(http.StatusOK, "message/rfc822", r)
}
