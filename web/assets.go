package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// The application: hand-written HTML, CSS and JavaScript modules, no
// build step.
//
//go:embed static
var staticFS embed.FS

// appCSP is the application's Content-Security-Policy: its own scripts,
// styles and connections only, frames only from itself (the message
// documents), never framed by another site.
const appCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

type asset struct {
	data  []byte
	ctype string
	etag  string
}

type assetSet struct {
	files map[string]*asset // by path below static/
}

func loadAssets() (*assetSet, error) {
	set := &assetSet{files: map[string]*asset{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		ctype := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".html":
			ctype = "text/html; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		sum := sha256.Sum256(data)
		set.files[strings.TrimPrefix(p, "static/")] = &asset{data: data, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: loading embedded assets: %w", err)
	}
	if set.files["index.html"] == nil {
		return nil, fmt.Errorf("web: embedded assets lack index.html")
	}
	return set, nil
}

func setAppHeaders(h http.Header) {
	h.Set("Content-Security-Policy", appCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	h.Set("X-DNS-Prefetch-Control", "off")
}

// serveAsset answers with an embedded file; the browser revalidates it
// every time (ETag), so a new binary's assets are picked up at once.
func serveAsset(c echo.Context, a *asset) error {
	h := c.Response().Header()
	setAppHeaders(h)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	if match := c.Request().Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, a.ctype, a.data)
}

// index serves the application's page.
func (s *Server) index(c echo.Context) error { return serveAsset(c, s.assets.files["index.html"]) }

func (s *Server) redirectIndex(c echo.Context) error { return c.Redirect(http.StatusFound, "/") }

// asset serves a file of the application.
func (s *Server) asset(c echo.Context) error {
	name := path.Clean("/" + c.Param("*"))[1:]
	a := s.assets.files[name]
	if a == nil || name == "index.html" {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	return serveAsset(c, a)
}
