// Package rop holds the wire codecs of MAPI remote operations
// (MS-OXCROPS): the RPC_HEADER_EXT framing with LZ77 decompression and XOR
// de-obfuscation (MS-OXCRPC 2.2.2.1, 3.1.4.1.1), the ROP buffer with its
// server object handle table, and one Go struct per ROP request and response
// with encoders and decoders in both directions, so the server and a
// project-owned test client share them. This file set (codec_*.go) is pure
// encoding: it imports no storage and keeps no state.
package rop

import (
	"errors"
	"fmt"

	"github.com/pochta/pochta/internal/mapiprop"
)

// Request is a decoded ROP request. The concrete types are the *Request
// structs of this package, each with a RopID.
type Request interface {
	RopID() RopID
	// Header returns the LogonId and InputHandleIndex common to requests.
	Header() *RequestHeader
	// encodeRequest writes everything after RopId and LogonId.
	encodeRequest(w *mapiprop.Writer)
	// decodeRequest reads everything after RopId and LogonId.
	decodeRequest(r *mapiprop.Reader, ctx *RequestContext)
}

// RequestHeader holds the fields every request carries after its RopId.
//
// InputHandleIndex always names the input object. For the ROPs whose third
// header byte is something else the struct has that field too and encodes
// it in its place: RopLogon (OutputHandleIndex; no input object) and
// RopSaveChangesMessage, RopSetMessageReadFlag and RopSaveChangesAttachment
// (ResponseHandleIndex, followed by InputHandleIndex).
type RequestHeader struct {
	LogonID          uint8
	InputHandleIndex uint8
}

// Header returns h itself.
func (h *RequestHeader) Header() *RequestHeader { return h }

// encodeRequest and decodeRequest serve requests whose body is only the
// InputHandleIndex; requests with more fields override them.
func (h *RequestHeader) encodeRequest(w *mapiprop.Writer) { w.U8(h.InputHandleIndex) }
func (h *RequestHeader) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	h.InputHandleIndex = r.U8()
}

// Response is a ROP response. Most concrete types embed ResponseHeader;
// RopNotify, RopPending, RopBackoff and RopBufferTooSmall have their own
// layouts.
type Response interface {
	RopID() RopID
	// encodeResponse writes everything after the RopId byte.
	encodeResponse(w *mapiprop.Writer)
	// decodeResponse reads everything after the RopId byte.
	decodeResponse(r *mapiprop.Reader, ctx *ResponseContext)
}

// StandardResponse is a response with the usual RopId, handle index and
// ReturnValue header.
type StandardResponse interface {
	Response
	Header() *ResponseHeader
}

// ResponseHeader holds the fields after RopId common to most responses.
// HandleIndex echoes the request's InputHandleIndex, or its
// OutputHandleIndex for ROPs that create an object, or its
// ResponseHandleIndex for RopSaveChangesMessage, RopSetMessageReadFlag and
// RopSaveChangesAttachment. When ReturnValue is not 0 the response carries
// only the fields MS-OXCROPS lists for failures (usually none).
type ResponseHeader struct {
	HandleIndex uint8
	ReturnValue mapiprop.ErrorCode
}

// Header returns h itself.
func (h *ResponseHeader) Header() *ResponseHeader { return h }

// put writes the header and reports whether a success body follows.
func (h *ResponseHeader) put(w *mapiprop.Writer) bool {
	w.U8(h.HandleIndex)
	w.U32(uint32(h.ReturnValue))
	return h.ReturnValue == mapiprop.Success
}

// get reads the header and reports whether a success body follows.
func (h *ResponseHeader) get(r *mapiprop.Reader) bool {
	h.HandleIndex = r.U8()
	h.ReturnValue = mapiprop.ErrorCode(r.U32())
	return r.Err() == nil && h.ReturnValue == mapiprop.Success
}

// encodeResponse and decodeResponse serve header-only responses; responses
// with a body override them.
func (h *ResponseHeader) encodeResponse(w *mapiprop.Writer) { h.put(w) }
func (h *ResponseHeader) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	h.get(r)
}

// RequestContext carries what request decoding needs beyond the bytes.
type RequestContext struct {
	// CodePage decodes 8-bit strings (0 means 1252).
	CodePage uint32
	// PublicLogon reports whether the logon with the given LogonId is a
	// public-folder logon (RopLogon without the Private flag). Only then
	// does RopSetMessageReadFlag carry ClientData (MS-OXCROPS 2.2.6.11.1).
	// Nil means every logon is private.
	PublicLogon func(logonID uint8) bool
}

func (c *RequestContext) public(logonID uint8) bool {
	return c != nil && c.PublicLogon != nil && c.PublicLogon(logonID)
}

// ResponseContext carries what response decoding needs beyond the bytes.
type ResponseContext struct {
	// Request is the request the response answers.
	Request Request
	// Columns is the column set the rows of the response are laid out in:
	// the table's columns for RopQueryRows, RopFindRow and RopExpandRow,
	// the message's recipient columns for RopReadRecipients.
	Columns []mapiprop.Tag
	// CodePage decodes 8-bit strings (0 means 1252).
	CodePage uint32
}

// UnknownRopError reports a RopId this codec cannot parse. The request's
// length is unknown, so decoding stops there; the handler answers that ROP
// with ecNotSupported (ErrorCode) and processes nothing after it
// (MS-OXCROPS 3.2.5.1).
type UnknownRopError struct {
	RopID       RopID
	LogonID     uint8
	HandleIndex uint8
	Offset      int // of the RopId in the ROP list
}

func (e *UnknownRopError) Error() string {
	return fmt.Sprintf("rop: unsupported ROP %s at offset %d", e.RopID, e.Offset)
}

// ErrorCode is the ReturnValue to answer the ROP with.
func (e *UnknownRopError) ErrorCode() mapiprop.ErrorCode { return mapiprop.ErrNotSupported }

// DecodeError reports a known ROP whose bytes are truncated or invalid.
// MS-OXCRPC 3.1.4.2 has the server fail the whole call with ecRpcFormat in
// that case (ErrorCode).
type DecodeError struct {
	RopID  RopID
	Offset int // of the RopId in the ROP list
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("rop: decoding %s at offset %d: %v", e.RopID, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// ErrorCode is the status to fail the Execute call with.
func (e *DecodeError) ErrorCode() mapiprop.ErrorCode { return mapiprop.ErrRPCFormat }

// ErrNoResponse is returned when asked for the response of a ROP that has
// none (RopRelease).
var ErrNoResponse = errors.New("rop: ROP has no response")

// hasResponse reports whether the server answers the ROP at all.
func hasResponse(id RopID) bool { return id != RopRelease }

// responseIDOnWire is the RopId a response carries. RopGetMessageStatus is
// answered with RopId 0x20 (MS-OXCROPS 2.2.6.9.2).
func responseIDOnWire(id RopID) RopID {
	if id == RopGetMessageStatus {
		return RopSetMessageStatus
	}
	return id
}

// responseHandleIndexer is implemented by requests whose response echoes an
// index other than InputHandleIndex.
type responseHandleIndexer interface {
	responseHandleIndex() uint8
}

// NewResponse returns an empty success response of the type matching req,
// with HandleIndex set as the spec requires. It returns ErrNoResponse for
// RopRelease.
func NewResponse(req Request) (StandardResponse, error) {
	if !hasResponse(req.RopID()) {
		return nil, ErrNoResponse
	}
	resp := newResponse(req.RopID())
	sr, ok := resp.(StandardResponse)
	if !ok {
		return nil, fmt.Errorf("rop: %s has no standard response", req.RopID())
	}
	idx := req.Header().InputHandleIndex
	if ri, ok := req.(responseHandleIndexer); ok {
		idx = ri.responseHandleIndex()
	}
	sr.Header().HandleIndex = idx
	return sr, nil
}

// ErrorResponse returns the failure response for req with ReturnValue ec.
// Encoding it writes only the fields the spec keeps on failure.
func ErrorResponse(req Request, ec mapiprop.ErrorCode) (StandardResponse, error) {
	resp, err := NewResponse(req)
	if err != nil {
		return nil, err
	}
	resp.Header().ReturnValue = ec
	return resp, nil
}

// EncodeRequest appends the wire form of req to w.
func EncodeRequest(w *mapiprop.Writer, req Request) {
	w.U8(uint8(req.RopID()))
	w.U8(req.Header().LogonID)
	req.encodeRequest(w)
}

// EncodeResponse appends the wire form of resp to w.
func EncodeResponse(w *mapiprop.Writer, resp Response) {
	w.U8(uint8(responseIDOnWire(resp.RopID())))
	resp.encodeResponse(w)
}

// MarshalRequests encodes requests into a ROP list (without RopSize and
// handle table; see ROPBuffer).
func MarshalRequests(reqs []Request, codePage uint32) ([]byte, error) {
	w := mapiprop.NewWriter()
	w.CodePage = codePage
	for _, req := range reqs {
		EncodeRequest(w, req)
		if err := w.Err(); err != nil {
			return nil, fmt.Errorf("rop: encoding %s: %w", req.RopID(), err)
		}
	}
	return w.Bytes(), nil
}

// MarshalResponses encodes responses into a ROP list.
func MarshalResponses(resps []Response, codePage uint32) ([]byte, error) {
	w := mapiprop.NewWriter()
	w.CodePage = codePage
	for _, resp := range resps {
		EncodeResponse(w, resp)
		if err := w.Err(); err != nil {
			return nil, fmt.Errorf("rop: encoding %s response: %w", resp.RopID(), err)
		}
	}
	return w.Bytes(), nil
}

// DecodeRequest decodes the request at the start of b and returns it with
// the number of bytes it took. An unknown RopId yields *UnknownRopError,
// malformed bytes *DecodeError.
func DecodeRequest(b []byte, ctx *RequestContext) (Request, int, error) {
	if ctx == nil {
		ctx = &RequestContext{}
	}
	r := mapiprop.NewReader(b)
	r.CodePage = ctx.CodePage
	id := RopID(r.U8())
	logonID := r.U8()
	if r.Err() != nil {
		return nil, 0, &DecodeError{RopID: id, Err: r.Err()}
	}
	req := newRequest(id)
	if req == nil {
		var hi uint8
		if len(b) > 2 {
			hi = b[2]
		}
		return nil, 0, &UnknownRopError{RopID: id, LogonID: logonID, HandleIndex: hi}
	}
	req.Header().LogonID = logonID
	req.decodeRequest(r, ctx)
	if err := r.Err(); err != nil {
		return nil, 0, &DecodeError{RopID: id, Err: err}
	}
	return req, r.Offset(), nil
}

// RequestList is a decoded ROP list.
type RequestList struct {
	Requests []Request
	// Offsets[i] is where Requests[i] starts in Raw.
	Offsets []int
	// Raw is the ROP list that was decoded.
	Raw []byte
}

// Remainder returns the raw bytes of Requests[i:], the RequestBuffers field
// of a RopBufferTooSmall response (MS-OXCROPS 2.2.15.1).
func (l *RequestList) Remainder(i int) []byte {
	if i >= len(l.Offsets) {
		return nil
	}
	return append([]byte{}, l.Raw[l.Offsets[i]:]...)
}

// DecodeRequests decodes a ROP list. On error it returns the requests
// decoded before the failing one together with the error (an
// *UnknownRopError or *DecodeError whose Offset locates the failing ROP),
// so the handler can process those and answer the failing one.
func DecodeRequests(ropList []byte, ctx *RequestContext) (*RequestList, error) {
	l := &RequestList{Raw: ropList}
	for off := 0; off < len(ropList); {
		req, n, err := DecodeRequest(ropList[off:], ctx)
		if err != nil {
			var ue *UnknownRopError
			var de *DecodeError
			switch {
			case errors.As(err, &ue):
				ue.Offset = off
			case errors.As(err, &de):
				de.Offset = off
			}
			return l, err
		}
		l.Requests = append(l.Requests, req)
		l.Offsets = append(l.Offsets, off)
		off += n
	}
	return l, nil
}

// ResponseOptions configures DecodeResponses.
type ResponseOptions struct {
	// CodePage decodes 8-bit strings (0 means 1252).
	CodePage uint32
	// Columns returns the column set for a request whose response rows
	// need one (RopQueryRows, RopFindRow, RopExpandRow: the table columns;
	// RopReadRecipients: the recipient columns of the message). A
	// RopSetColumns earlier in the same request list on the same handle
	// index is used without asking.
	Columns func(req Request) []mapiprop.Tag
}

// needsColumns reports whether the response of id is laid out over a
// column set from an earlier ROP.
func needsColumns(id RopID) bool {
	switch id {
	case RopQueryRows, RopFindRow, RopExpandRow, RopReadRecipients:
		return true
	}
	return false
}

// DecodeResponses decodes a ROP output list against the requests that
// produced it. RopRelease has no response; RopNotify, RopPending and
// RopBackoff may appear between or after the answers; RopBufferTooSmall
// ends the list (MS-OXCROPS 3.1.5).
func DecodeResponses(ropList []byte, reqs []Request, opts ResponseOptions) ([]Response, error) {
	r := mapiprop.NewReader(ropList)
	r.CodePage = opts.CodePage
	// Column sets established earlier in the same list, by handle index:
	// table columns from RopSetColumns, recipient columns from the
	// responses that open a message.
	columns := map[uint8][]mapiprop.Tag{}
	recipColumns := map[uint8][]mapiprop.Tag{}
	var out []Response
	next := 0
	for r.Len() > 0 {
		off := r.Offset()
		id := RopID(r.U8())
		var resp Response
		ctx := &ResponseContext{CodePage: opts.CodePage}
		switch id {
		case RopNotify:
			resp = &NotifyResponse{}
		case RopPending:
			resp = &PendingResponse{}
		case RopBackoff:
			resp = &BackoffResponse{}
		case RopBufferTooSmall:
			resp = &BufferTooSmallResponse{}
		default:
			for next < len(reqs) && !hasResponse(reqs[next].RopID()) {
				next++
			}
			if next >= len(reqs) {
				return out, fmt.Errorf("rop: response %s at offset %d has no request", id, off)
			}
			req := reqs[next]
			next++
			if want := responseIDOnWire(req.RopID()); id != want {
				return out, fmt.Errorf("rop: response %s at offset %d answers request %s", id, off, req.RopID())
			}
			ctx.Request = req
			if needsColumns(req.RopID()) {
				known := columns
				if req.RopID() == RopReadRecipients {
					known = recipColumns
				}
				if cols, ok := known[req.Header().InputHandleIndex]; ok {
					ctx.Columns = cols
				} else if opts.Columns != nil {
					ctx.Columns = opts.Columns(req)
				}
			}
			resp = newResponse(req.RopID())
		}
		resp.decodeResponse(r, ctx)
		if err := r.Err(); err != nil {
			return out, &DecodeError{RopID: id, Offset: off, Err: err}
		}
		switch x := resp.(type) {
		case *SetColumnsResponse:
			if x.ReturnValue == mapiprop.Success {
				columns[ctx.Request.Header().InputHandleIndex] = ctx.Request.(*SetColumnsRequest).PropertyTags
			}
		case *OpenMessageResponse:
			if x.ReturnValue == mapiprop.Success {
				recipColumns[ctx.Request.(*OpenMessageRequest).OutputHandleIndex] = x.RecipientColumns
			}
		case *OpenEmbeddedMessageResponse:
			if x.ReturnValue == mapiprop.Success {
				recipColumns[ctx.Request.(*OpenEmbeddedMessageRequest).OutputHandleIndex] = x.RecipientColumns
			}
		case *ReloadCachedInformationResponse:
			if x.ReturnValue == mapiprop.Success {
				recipColumns[ctx.Request.Header().InputHandleIndex] = x.RecipientColumns
			}
		}
		out = append(out, resp)
		if id == RopBufferTooSmall {
			break
		}
	}
	return out, nil
}
