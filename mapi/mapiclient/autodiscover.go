package mapiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/pochta/pochta/mapi"
)

// AutodiscoverResult is what a POX Autodiscover told about the user.
type AutodiscoverResult struct {
	DisplayName  string
	LegacyDN     string
	SMTPAddress  string
	DeploymentID string
	// MailStoreURL and AddressBookURL are the ExternalUrl of the mapiHttp
	// block, falling back to InternalUrl.
	MailStoreURL   string
	AddressBookURL string
	// Raw is the whole decoded response.
	Raw *mapi.AutodiscoverResponse
}

// AutodiscoverError is an Error element in a POX answer.
type AutodiscoverError struct {
	Code    int
	Message string
}

func (e *AutodiscoverError) Error() string {
	return fmt.Sprintf("mapiclient: autodiscover error %d: %s", e.Code, e.Message)
}

// Autodiscover posts a POX request for email to url (e.g.
// https://mail.example.com/autodiscover/autodiscover.xml) with Basic
// credentials, as Outlook does with X-MapiHttpCapability: 1 (MS-OXDSCLI
// 3.1.5), and returns the user and endpoint settings.
func Autodiscover(ctx context.Context, hc *http.Client, url, email, user, password string) (*AutodiscoverResult, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	var body bytes.Buffer
	body.WriteString(xml.Header)
	fmt.Fprintf(&body, `<Autodiscover xmlns="%s"><Request><EMailAddress>`, mapi.NSRequest)
	_ = xml.EscapeText(&body, []byte(email))
	fmt.Fprintf(&body, `</EMailAddress><AcceptableResponseSchema>%s</AcceptableResponseSchema></Request></Autodiscover>`, mapi.NSOutlookResponse)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &body)
	if err != nil {
		return nil, fmt.Errorf("mapiclient: autodiscover: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("X-MapiHttpCapability", "1")
	req.Header.Set("X-AnchorMailbox", email)
	req.SetBasicAuth(user, password)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mapiclient: autodiscover: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("mapiclient: autodiscover: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &ResponseError{HTTPStatus: resp.StatusCode, Detail: truncate(strings.TrimSpace(string(raw)))}
	}
	var ad mapi.AutodiscoverResponse
	if err := xml.Unmarshal(raw, &ad); err != nil {
		return nil, fmt.Errorf("mapiclient: autodiscover response: %w", err)
	}
	if e := ad.Response.Error; e != nil {
		return nil, &AutodiscoverError{Code: e.ErrorCode, Message: e.Message}
	}
	if ad.Response.User == nil {
		return nil, fmt.Errorf("mapiclient: autodiscover response without User")
	}
	res := &AutodiscoverResult{
		DisplayName: ad.Response.User.DisplayName, LegacyDN: ad.Response.User.LegacyDN,
		SMTPAddress: ad.Response.User.AutoDiscoverSMTPAddress, DeploymentID: ad.Response.User.DeploymentID,
		Raw: &ad,
	}
	p := ad.MapiHTTPProtocol()
	if p == nil || p.MailStore == nil || p.AddressBook == nil {
		return nil, fmt.Errorf("mapiclient: autodiscover response without a mapiHttp MailStore and AddressBook")
	}
	res.MailStoreURL = firstNonEmpty(p.MailStore.ExternalURL, p.MailStore.InternalURL)
	res.AddressBookURL = firstNonEmpty(p.AddressBook.ExternalURL, p.AddressBook.InternalURL)
	return res, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// AutodiscoverJSON asks the JSON Autodiscover at base (scheme://host) for
// the URL of protocol for email (MS-OXDISCO 2.2.2).
func AutodiscoverJSON(ctx context.Context, hc *http.Client, base, email, protocol string) (*mapi.AutodiscoverJSONResponse, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	u := strings.TrimSuffix(base, "/") + mapi.AutodiscoverJSON + "/v1.0/" + url.PathEscape(email) + "?Protocol=" + url.QueryEscape(protocol)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("mapiclient: autodiscover.json: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mapiclient: autodiscover.json: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("mapiclient: autodiscover.json: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e mapi.AutodiscoverJSONError
		_ = json.Unmarshal(raw, &e)
		return nil, &ResponseError{HTTPStatus: resp.StatusCode, Detail: e.ErrorCode + ": " + e.ErrorMessage}
	}
	var out mapi.AutodiscoverJSONResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("mapiclient: autodiscover.json: %w", err)
	}
	return &out, nil
}
