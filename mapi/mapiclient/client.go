// Package mapiclient is a MAPI over HTTP client written from the
// specifications (MS-OXCMAPIHTTP, MS-OXDSCLI, MS-OXCRPC, MS-OXCROPS), for
// Pochta's tests and tools. It reuses the server's wire codecs (package
// mapi for the request and response bodies, mapi/rop for RPC_HEADER_EXT
// and the ROPs), does Autodiscover, keeps the session context cookies,
// parses the response framing (PROCESSING, PENDING, DONE and the
// additional headers), and offers the ROP sequences a real client runs:
// logon, folders, hierarchy and contents tables, messages with their
// properties, streams and attachments, composing and submitting.
//
// A Client is one EMSMDB session context; it is safe for concurrent use,
// but requests on one context are sent one at a time, as the protocol
// requires (a second concurrent request would be refused with
// X-ResponseCode 15).
package mapiclient

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"

	"github.com/pochta/pochta/mapi"
)

// Options configure a Client.
type Options struct {
	// MailStoreURL is the EMSMDB endpoint, e.g. the MailStore URL of an
	// Autodiscover answer. Required.
	MailStoreURL string
	// User and Password are the Basic credentials.
	User, Password string
	// UserDN is the user's LegacyDN, sent in Connect and RopLogon.
	// Required for Connect.
	UserDN string
	// HTTPClient sends the requests; nil uses http.DefaultClient. The
	// client keeps the session cookies itself, so a cookie jar is not
	// needed (and is not consulted).
	HTTPClient *http.Client
	// ClientApplication is sent as X-ClientApplication. Default
	// "Outlook/16.0.10000.0": servers gate behaviour on the Outlook build.
	ClientApplication string
	// CodePage is the DefaultCodePage of Connect and the code page of
	// 8-bit strings in ROP buffers. Default 1252.
	CodePage uint32
	// MaxRopOut is the MaxRopOut of Execute requests. Default 0x40000.
	MaxRopOut uint32
	// Obfuscate sends ROP input XOR-obfuscated (RPC_HEADER_EXT XorMagic),
	// as some clients do.
	Obfuscate bool
}

// Client is one MAPI/HTTP session context on the EMSMDB endpoint.
type Client struct {
	opts Options
	hc   *http.Client

	// reqMu serialises the requests of the context (Connect, Execute,
	// Disconnect); PING and NotificationWait do not take it.
	reqMu sync.Mutex

	mu         sync.Mutex
	cookies    map[string]string // the context's cookies, by name
	requestSeq uint64
	requestID  string // {GUID} of X-RequestId
	clientInfo string // {GUID}:counter of X-ClientInfo
	logonID    uint8
	columns    map[uint32][]mapiTag // table handle → columns set by SetColumns
	recipCols  map[uint32][]mapiTag // message handle → recipient columns
}

// New makes a Client; Connect creates its session context.
func New(opts Options) (*Client, error) {
	if opts.MailStoreURL == "" {
		return nil, errors.New("mapiclient: MailStoreURL is required")
	}
	if opts.ClientApplication == "" {
		opts.ClientApplication = "Outlook/16.0.10000.0"
	}
	if opts.CodePage == 0 {
		opts.CodePage = 1252
	}
	if opts.MaxRopOut == 0 {
		opts.MaxRopOut = 0x40000
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{
		opts: opts, hc: hc,
		cookies:    map[string]string{},
		requestID:  guidString(),
		clientInfo: guidString() + ":1",
		columns:    map[uint32][]mapiTag{},
		recipCols:  map[uint32][]mapiTag{},
	}, nil
}

func guidString() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("{%X-%X-%X-%X-%X}", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Cookies returns a copy of the session context's cookies (name → value).
func (c *Client) Cookies() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.cookies))
	for k, v := range c.cookies {
		out[k] = v
	}
	return out
}

// SetCookies replaces the session context's cookies, e.g. to replay old
// ones in a test.
func (c *Client) SetCookies(cookies map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cookies = make(map[string]string, len(cookies))
	for k, v := range cookies {
		c.cookies[k] = v
	}
}

// Frame is a response body taken apart (MS-OXCMAPIHTTP 2.2.7): the
// meta-tags seen, the additional headers after DONE, and the body.
type Frame struct {
	Processing bool
	Pending    int // PENDING keep-alives
	Done       bool
	Headers    http.Header // additional headers (X-ElapsedTime, X-StartTime, …)
	Body       []byte
}

// ErrFraming is wrapped by ParseFrame errors.
var ErrFraming = errors.New("mapiclient: bad response framing")

// maxMetaLine bounds a meta-tag or additional-header line.
const maxMetaLine = 4096

// ParseFrame reads a response body: PROCESSING, PENDING lines, DONE, the
// additional headers up to an empty line, then the body (at most maxBody
// bytes).
func ParseFrame(r io.Reader, maxBody int64) (*Frame, error) {
	br := bufio.NewReaderSize(r, maxMetaLine)
	f := &Frame{Headers: http.Header{}}
	readLine := func() (string, error) {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return "", fmt.Errorf("%w: line longer than %d bytes", ErrFraming, maxMetaLine)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", fmt.Errorf("%w: %v", ErrFraming, err)
		}
		s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
		return s, nil
	}
	for !f.Done {
		line, err := readLine()
		if err != nil {
			return nil, err
		}
		switch line {
		case mapi.MetaProcessing:
			if f.Processing || f.Pending > 0 {
				return nil, fmt.Errorf("%w: PROCESSING out of place", ErrFraming)
			}
			f.Processing = true
		case mapi.MetaPending:
			if !f.Processing {
				return nil, fmt.Errorf("%w: PENDING before PROCESSING", ErrFraming)
			}
			f.Pending++
		case mapi.MetaDone:
			if !f.Processing {
				return nil, fmt.Errorf("%w: DONE before PROCESSING", ErrFraming)
			}
			f.Done = true
		default:
			return nil, fmt.Errorf("%w: unexpected meta-tag %q", ErrFraming, truncate(line))
		}
	}
	for {
		line, err := readLine()
		if err != nil {
			return nil, err
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("%w: malformed additional header %q", ErrFraming, truncate(line))
		}
		if len(f.Headers) > 64 {
			return nil, fmt.Errorf("%w: too many additional headers", ErrFraming)
		}
		f.Headers.Add(textproto.CanonicalMIMEHeaderKey(name), strings.TrimSpace(value))
	}
	body, err := io.ReadAll(io.LimitReader(br, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: body: %v", ErrFraming, err)
	}
	if int64(len(body)) > maxBody {
		return nil, fmt.Errorf("%w: body over %d bytes", ErrFraming, maxBody)
	}
	f.Body = body
	return f, nil
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// Response is one MAPI/HTTP response.
type Response struct {
	HTTPStatus int
	// Code is the X-ResponseCode header; Frame.Headers may repeat it.
	Code   mapi.ResponseCode
	Header http.Header
	Frame  *Frame // nil unless HTTPStatus is 200
}

// ResponseError is a request refused at the transport: a non-zero
// X-ResponseCode, or an HTTP status other than 200.
type ResponseError struct {
	HTTPStatus int
	Code       mapi.ResponseCode
	Detail     string
}

func (e *ResponseError) Error() string {
	if e.HTTPStatus != http.StatusOK {
		return fmt.Sprintf("mapiclient: HTTP %d: %s", e.HTTPStatus, e.Detail)
	}
	return fmt.Sprintf("mapiclient: X-ResponseCode %d (%s): %s", e.Code, e.Code, e.Detail)
}

// maxResponseBody bounds what the client reads.
const maxResponseBody = 16 << 20

// Do sends one request of requestType with body to the EMSMDB endpoint and
// returns the response, whatever its X-ResponseCode; cookies set by the
// server replace the client's. Only transport failures are errors.
func (c *Client) Do(ctx context.Context, requestType string, body []byte) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.MailStoreURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("mapiclient: %w", err)
	}
	c.mu.Lock()
	c.requestSeq++
	req.Header.Set(mapi.HeaderRequestType, requestType)
	req.Header.Set(mapi.HeaderRequestID, c.requestID+":"+strconv.FormatUint(c.requestSeq, 10))
	req.Header.Set(mapi.HeaderClientInfo, c.clientInfo)
	req.Header.Set(mapi.HeaderClientApplication, c.opts.ClientApplication)
	req.Header.Set("Content-Type", mapi.ContentType)
	for name, value := range c.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	c.mu.Unlock()
	if c.opts.User != "" {
		req.SetBasicAuth(c.opts.User, c.opts.Password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mapiclient: %s: %w", requestType, err)
	}
	defer resp.Body.Close()
	out := &Response{HTTPStatus: resp.StatusCode, Header: resp.Header}
	if v := resp.Header.Get(mapi.HeaderResponseCode); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("mapiclient: %s: X-ResponseCode %q", requestType, v)
		}
		out.Code = mapi.ResponseCode(n)
	}
	c.takeCookies(resp)
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return out, nil
	}
	if resp.Header.Get(mapi.HeaderResponseCode) == "" {
		return nil, fmt.Errorf("mapiclient: %s: response without X-ResponseCode", requestType)
	}
	f, err := ParseFrame(resp.Body, maxResponseBody)
	if err != nil {
		return nil, fmt.Errorf("mapiclient: %s: %w", requestType, err)
	}
	out.Frame = f
	// A failure after the headers went out is reported after DONE.
	if v := f.Headers.Get(mapi.HeaderResponseCode); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n != 0 {
			out.Code = mapi.ResponseCode(n)
		}
	}
	return out, nil
}

// takeCookies applies the response's Set-Cookie headers to the context's
// cookies (a MaxAge < 0 or empty cookie deletes one).
func (c *Client) takeCookies(resp *http.Response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
			continue
		}
		c.cookies[ck.Name] = ck.Value
	}
}

// call sends a request and returns its body, or a *ResponseError.
func (c *Client) call(ctx context.Context, requestType string, body []byte) ([]byte, error) {
	resp, err := c.Do(ctx, requestType, body)
	if err != nil {
		return nil, err
	}
	if resp.HTTPStatus != http.StatusOK || resp.Code != mapi.CodeSuccess {
		detail := ""
		if resp.Frame != nil {
			detail = truncate(string(resp.Frame.Body))
		}
		return nil, &ResponseError{HTTPStatus: resp.HTTPStatus, Code: resp.Code, Detail: detail}
	}
	return resp.Frame.Body, nil
}

// IsCode reports whether err is a *ResponseError with X-ResponseCode code.
func IsCode(err error, code mapi.ResponseCode) bool {
	var re *ResponseError
	return errors.As(err, &re) && re.HTTPStatus == http.StatusOK && re.Code == code
}
