package mapi

import (
	"bytes"
	"crypto/sha1"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
)

// Autodiscover tells a client, from an e-mail address and credentials,
// who the user is (LegacyDN, display name) and where the MAPI/HTTP
// endpoints are. POX is the Outlook form (MS-OXDSCLI 2.2.3, 2.2.4, with
// the mapiHttp protocol block of 2.2.4.1.1.2.6); the JSON form
// (MS-OXDISCO 2.2.2) only points a client at the POX URL.

// XML namespaces of POX Autodiscover.
const (
	NSRequest         = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	NSResponse        = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	NSOutlookResponse = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)

// maxAutodiscoverBody bounds a POX request; a real one is a few hundred
// bytes.
const maxAutodiscoverBody = 64 << 10

// AutodiscoverRequest is a POX request (MS-OXDSCLI 2.2.3).
type AutodiscoverRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		EMailAddress             string `xml:"EMailAddress"`
		LegacyDN                 string `xml:"LegacyDN"`
		AcceptableResponseSchema string `xml:"AcceptableResponseSchema"`
	} `xml:"Request"`
}

// ParseAutodiscoverRequest decodes a POX request body. Any namespace is
// accepted for the elements; what matters is AcceptableResponseSchema.
func ParseAutodiscoverRequest(b []byte) (*AutodiscoverRequest, error) {
	var req AutodiscoverRequest
	d := xml.NewDecoder(bytes.NewReader(b))
	// Only UTF-8 (and its ASCII subset) is understood; a declared other
	// charset fails decoding rather than being misread.
	d.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return input, nil
		}
		return nil, fmt.Errorf("charset %q not supported", charset)
	}
	if err := d.Decode(&req); err != nil {
		return nil, fmt.Errorf("mapi: autodiscover request: %w", err)
	}
	if req.XMLName.Local != "Autodiscover" {
		return nil, errors.New("mapi: autodiscover request: root element is not Autodiscover")
	}
	req.Request.EMailAddress = strings.TrimSpace(req.Request.EMailAddress)
	req.Request.LegacyDN = strings.TrimSpace(req.Request.LegacyDN)
	req.Request.AcceptableResponseSchema = strings.TrimSpace(req.Request.AcceptableResponseSchema)
	return &req, nil
}

// AutodiscoverResponse is a POX response (MS-OXDSCLI 2.2.4).
type AutodiscoverResponse struct {
	XMLName  xml.Name                    `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response AutodiscoverOutlookResponse `xml:"Response"`
}

// AutodiscoverOutlookResponse is the Response element: settings, or an
// error. Its XMLName carries the namespace (the outlook 2006a schema for
// settings).
type AutodiscoverOutlookResponse struct {
	XMLName xml.Name
	User    *AutodiscoverUser    `xml:"User"`
	Account *AutodiscoverAccount `xml:"Account"`
	Error   *AutodiscoverError   `xml:"Error"`
}

// AutodiscoverUser is the User element (MS-OXDSCLI 2.2.4.1.1.1).
type AutodiscoverUser struct {
	DisplayName             string `xml:"DisplayName"`
	LegacyDN                string `xml:"LegacyDN"`
	AutoDiscoverSMTPAddress string `xml:"AutoDiscoverSMTPAddress"`
	DeploymentID            string `xml:"DeploymentId"`
}

// AutodiscoverAccount is the Account element (MS-OXDSCLI 2.2.4.1.1.2).
type AutodiscoverAccount struct {
	AccountType     string                 `xml:"AccountType"`
	Action          string                 `xml:"Action"`
	MicrosoftOnline string                 `xml:"MicrosoftOnline"`
	Protocols       []AutodiscoverProtocol `xml:"Protocol"`
}

// AutodiscoverProtocol is a Protocol element. The mapiHttp block names
// its type in the Type attribute and carries MailStore and AddressBook
// (MS-OXDSCLI 2.2.4.1.1.2.6); older blocks use a Type element.
type AutodiscoverProtocol struct {
	TypeAttr    string                `xml:"Type,attr,omitempty"`
	Version     string                `xml:"Version,attr,omitempty"`
	Type        string                `xml:"Type,omitempty"`
	Server      string                `xml:"Server,omitempty"`
	MailStore   *AutodiscoverEndpoint `xml:"MailStore"`
	AddressBook *AutodiscoverEndpoint `xml:"AddressBook"`
}

// AutodiscoverEndpoint is a MailStore or AddressBook element. Both URLs
// are always filled: ruler reads AddressBook/ExternalUrl only.
type AutodiscoverEndpoint struct {
	InternalURL string `xml:"InternalUrl"`
	ExternalURL string `xml:"ExternalUrl"`
}

// AutodiscoverError is the Error element of a failed request.
type AutodiscoverError struct {
	Time      string `xml:"Time,attr,omitempty"`
	ID        string `xml:"Id,attr,omitempty"`
	ErrorCode int    `xml:"ErrorCode"`
	Message   string `xml:"Message"`
	DebugData string `xml:"DebugData"`
}

// Autodiscover error codes (MS-OXDSCLI 2.2.4.2.1.1; MS-ASCMD 2.2.3.64).
const (
	AutodiscoverErrNotFound        = 500 // the e-mail address is not the user's
	AutodiscoverErrInvalidRequest  = 600
	AutodiscoverErrNoSchemaHandler = 601 // AcceptableResponseSchema not served
)

// MapiHTTPProtocol returns the mapiHttp Protocol block of a response, or
// nil.
func (r *AutodiscoverResponse) MapiHTTPProtocol() *AutodiscoverProtocol {
	if r.Response.Account == nil {
		return nil
	}
	for i := range r.Response.Account.Protocols {
		if p := &r.Response.Account.Protocols[i]; strings.EqualFold(p.TypeAttr, "mapiHttp") {
			return p
		}
	}
	return nil
}

// autodiscoverPOX answers POST (and, for clients that probe with it, GET)
// /autodiscover/autodiscover.xml for the authenticated user.
func (s *Server) autodiscoverPOX(c echo.Context) error {
	acc := accountOf(c)
	r := c.Request()
	address := acc.Address
	if r.Method == http.MethodPost {
		body, err := readBody(r, maxAutodiscoverBody)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return c.String(http.StatusRequestEntityTooLarge, "autodiscover request too large\n")
			}
			return err
		}
		req, err := ParseAutodiscoverRequest(body)
		if err != nil {
			return s.poxError(c, "", AutodiscoverErrInvalidRequest, "Invalid Request", err.Error())
		}
		schema := req.Request.AcceptableResponseSchema
		if schema != "" && !strings.EqualFold(schema, NSOutlookResponse) {
			// Only the Outlook schema is served (no mobilesync/EAS).
			return s.poxError(c, schema, AutodiscoverErrNoSchemaHandler,
				"The requested schema version is not supported", "")
		}
		switch {
		case req.Request.EMailAddress != "":
			own, err := s.ownsAddress(c, acc, req.Request.EMailAddress)
			if err != nil {
				return err
			}
			if !own {
				// Not one of the user's addresses: delegate access is not
				// offered, and other users' settings are not disclosed.
				return s.poxError(c, NSOutlookResponse, AutodiscoverErrNotFound,
					"The e-mail address cannot be found.", "")
			}
			address = req.Request.EMailAddress
		case req.Request.LegacyDN != "":
			if id, ok := ParseLegacyDN(req.Request.LegacyDN); !ok || id != acc.ID {
				return s.poxError(c, NSOutlookResponse, AutodiscoverErrNotFound,
					"The e-mail address cannot be found.", "")
			}
		default:
			return s.poxError(c, "", AutodiscoverErrInvalidRequest, "Invalid Request", "no EMailAddress")
		}
	}
	base, err := s.baseURL(r)
	if err != nil {
		return c.String(http.StatusBadRequest, err.Error()+"\n")
	}
	mbx, err := s.mailboxID(c, acc)
	if err != nil {
		return err
	}
	resp := s.poxSettings(acc, address, base, mbx)
	return writeXML(c, resp)
}

// poxSettings builds the settings answer (MAPI.md §2.3 skeleton).
func (s *Server) poxSettings(acc *directory.Account, address, base, mailboxID string) *AutodiscoverResponse {
	// '@' stays as is, as in Exchange's URLs; it is valid in a query.
	q := "?MailboxId=" + strings.ReplaceAll(url.QueryEscape(mailboxID), "%40", "@")
	store := base + EMSMDBPath + q
	book := base + NSPIPath + q
	return &AutodiscoverResponse{Response: AutodiscoverOutlookResponse{
		XMLName: xml.Name{Space: NSOutlookResponse, Local: "Response"},
		User: &AutodiscoverUser{
			DisplayName:             displayName(acc),
			LegacyDN:                LegacyDN(acc),
			AutoDiscoverSMTPAddress: acc.Address,
			DeploymentID:            s.opts.DeploymentID,
		},
		Account: &AutodiscoverAccount{
			AccountType: "email", Action: "settings", MicrosoftOnline: "False",
			Protocols: []AutodiscoverProtocol{{
				TypeAttr: "mapiHttp", Version: "1",
				MailStore:   &AutodiscoverEndpoint{InternalURL: store, ExternalURL: store},
				AddressBook: &AutodiscoverEndpoint{InternalURL: book, ExternalURL: book},
			}},
		},
	}}
}

// ownsAddress reports whether address is one of acc's addresses.
func (s *Server) ownsAddress(c echo.Context, acc *directory.Account, address string) (bool, error) {
	want := directory.NormalizeAddress(address)
	if want == acc.Address {
		return true, nil
	}
	addrs, err := s.opts.Directory.Addresses(c.Request().Context(), acc.ID)
	if err != nil {
		if errors.Is(err, directory.ErrUnavailable) {
			return false, echo.NewHTTPError(http.StatusServiceUnavailable, "directory temporarily unavailable")
		}
		return false, fmt.Errorf("mapi: addresses of account %d: %w", acc.ID, err)
	}
	for _, a := range addrs {
		if directory.NormalizeAddress(a) == want {
			return true, nil
		}
	}
	return false, nil
}

// mailboxID is the MailboxId of the endpoint URLs: the mailbox GUID at
// the user's domain, as Exchange makes it. Clients treat it as opaque.
func (s *Server) mailboxID(c echo.Context, acc *directory.Account) (string, error) {
	ctx := c.Request().Context()
	if err := s.opts.Store.EnsureMailbox(ctx, acc.ID); err != nil {
		return "", fmt.Errorf("mapi: mailbox of account %d: %w", acc.ID, err)
	}
	mb, err := s.opts.Store.Mailbox(ctx, acc.ID)
	if err != nil {
		return "", fmt.Errorf("mapi: mailbox of account %d: %w", acc.ID, err)
	}
	return strings.ToLower(mb.GUID) + "@" + acc.Domain(), nil
}

// poxError answers an Autodiscover error (HTTP 200 with an Error element,
// as Exchange does). namespace is the Response element's, "" for the
// base schema.
func (s *Server) poxError(c echo.Context, namespace string, code int, message, debug string) error {
	if namespace == "" {
		namespace = NSResponse
	}
	return writeXML(c, &AutodiscoverResponse{Response: AutodiscoverOutlookResponse{
		XMLName: xml.Name{Space: namespace, Local: "Response"},
		Error: &AutodiscoverError{
			Time: s.now().UTC().Format("15:04:05.0000000"), ID: strconv.FormatUint(uint64(s.now().UnixNano()&0x7fffffff), 10),
			ErrorCode: code, Message: message, DebugData: debug,
		},
	}})
}

func writeXML(c echo.Context, v any) error {
	out, err := xml.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("mapi: encoding autodiscover response: %w", err)
	}
	b := append([]byte(xml.Header), out...)
	return c.Blob(http.StatusOK, "text/xml; charset=utf-8", b)
}

// baseURL is the scheme and authority of the endpoint URLs: the configured
// external URL, else the request's own (so a development server on
// 127.0.0.1:8443 answers with https://127.0.0.1:8443).
func (s *Server) baseURL(r *http.Request) (string, error) {
	if s.opts.ExternalURL != "" {
		return s.opts.ExternalURL, nil
	}
	host := r.Host
	if !validHost(host) {
		return "", fmt.Errorf("invalid Host header %q", host)
	}
	return s.opts.Transport.Scheme(r) + "://" + strings.ToLower(host), nil
}

// validHost accepts a host name, IPv4 address or bracketed IPv6 address
// with an optional port: what may go into a URL unescaped.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune(".-:[]_", c):
		default:
			return false
		}
	}
	return true
}

// parseBaseURL checks a configured external URL and returns it as
// scheme://host[:port], without path or trailing slash.
func parseBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !validHost(u.Host) {
		return "", fmt.Errorf("%q is not an http(s)://host[:port] URL", raw)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// deploymentID derives a stable GUID from the host name, so the
// Autodiscover DeploymentId does not change between restarts.
func deploymentID(hostname string) string {
	h := sha1.Sum([]byte("pochta-deployment:" + strings.ToLower(hostname)))
	h[6] = h[6]&0x0f | 0x50 // version 5 (name based, SHA-1)
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// AutodiscoverJSONResponse is the answer of the JSON Autodiscover
// (MS-OXDISCO 2.2.2.2).
type AutodiscoverJSONResponse struct {
	Protocol string `json:"Protocol"`
	URL      string `json:"Url"`
}

// AutodiscoverJSONError is its error form.
type AutodiscoverJSONError struct {
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

// autodiscoverJSON answers GET /autodiscover/autodiscover.json/v1.0/{address}
// (or ?Email=) with the URL of the service named by Protocol. Only
// AutodiscoverV1, the POX endpoint, is served. It is anonymous, and the
// answer is the same for every address, so it reveals nothing about
// which users exist.
func (s *Server) autodiscoverJSON(c echo.Context) error {
	r := c.Request()
	address, err := url.PathUnescape(c.Param("address"))
	if err != nil {
		address = ""
	}
	if address == "" {
		address = queryValue(r, "Email")
	}
	protocol := queryValue(r, "Protocol")
	if address == "" || !strings.Contains(address, "@") {
		return c.JSON(http.StatusBadRequest, AutodiscoverJSONError{
			ErrorCode: "InvalidUser", ErrorMessage: "An e-mail address is required.",
		})
	}
	if !strings.EqualFold(protocol, "AutodiscoverV1") {
		return c.JSON(http.StatusBadRequest, AutodiscoverJSONError{
			ErrorCode:    "InvalidProtocol",
			ErrorMessage: fmt.Sprintf("The given protocol value '%s' is invalid. Supported values are 'AutodiscoverV1'.", protocol),
		})
	}
	base, err := s.baseURL(r)
	if err != nil {
		return c.String(http.StatusBadRequest, err.Error()+"\n")
	}
	if s.opts.ExternalURL == "" && !s.opts.Transport.CredentialsAllowed(r) {
		// The POX endpoint takes credentials, so it is reached over TLS.
		base = "https://" + strings.TrimPrefix(base, "http://")
	}
	return c.JSON(http.StatusOK, AutodiscoverJSONResponse{Protocol: "AutodiscoverV1", URL: base + AutodiscoverPath})
}

// queryValue reads a query parameter without regard to the case of its
// name (clients send Protocol= and protocol=).
func queryValue(r *http.Request, name string) string {
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
	}
	return ""
}
