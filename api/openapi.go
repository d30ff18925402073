package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument describes every route of the API (OpenAPI 3.0). It is
// written by hand next to the handlers; tests fail when a route is missing
// from it or a live response does not match it.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the API's OpenAPI 3 document (JSON).
func OpenAPIDocument() []byte { return append([]byte(nil), openAPIDocument...) }

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
