package mapi

import (
	"errors"
	"fmt"

	mp "github.com/pochta/pochta/internal/mapiprop"
)

// Request and response bodies of the EMSMDB endpoint (MS-OXCMAPIHTTP
// 2.2.4). The server decodes requests and encodes responses; the project's
// client (mapi/mapiclient) does the opposite with the same types, so both
// ends agree by construction and the tests exercise both directions.
//
// Decoding is strict: a body must hold exactly the fields of its type, so
// trailing bytes, a missing string terminator or a size field that points
// past the end is an ErrBody (X-ResponseCode 12, Invalid Request Body).

// ErrBody is wrapped by every body decoding error.
var ErrBody = errors.New("mapi: invalid request body")

// MaxAuxiliaryBuffer is the largest auxiliary buffer accepted from a
// client: the limit of the RPC interface the buffers come from (MS-OXCRPC
// 3.1.4.1: cbAuxIn at most 0x1008).
const MaxAuxiliaryBuffer = 0x1008

// Connect flags (MS-OXCMAPIHTTP 2.2.4.1.1).
const (
	ConnectFlagAdmin uint32 = 0x00000001 // administrator privilege requested
)

// Execute flags (MS-OXCRPC 3.1.4.2, pulFlags).
const (
	ExecuteFlagNoCompression uint32 = 0x00000001
	ExecuteFlagNoXorMagic    uint32 = 0x00000002
	ExecuteFlagChain         uint32 = 0x00000004
)

// ConnectRequest is the Connect request body (MS-OXCMAPIHTTP 2.2.4.1.1).
type ConnectRequest struct {
	UserDN          string // ASCIIZ: the user's LegacyDN
	Flags           uint32
	DefaultCodePage uint32 // for PtypString8 values
	LcidSort        uint32
	LcidString      uint32
	AuxiliaryBuffer []byte
}

// ConnectResponse is the Connect response body: the success layout when
// StatusCode is 0 (MS-OXCMAPIHTTP 2.2.4.1.2), else the failure layout
// (2.2.4.1.3) that carries only StatusCode and the auxiliary buffer.
type ConnectResponse struct {
	StatusCode         uint32
	ErrorCode          mp.ErrorCode // the EcDoConnectEx result
	MaxPollingInterval uint32       // ms
	RetryCount         uint32
	RetryDelay         uint32 // ms
	DNPrefix           string // ASCIIZ
	DisplayName        string // UTF16Z
	AuxiliaryBuffer    []byte
}

// ExecuteRequest is the Execute request body (MS-OXCMAPIHTTP 2.2.4.2.1).
type ExecuteRequest struct {
	Flags           uint32
	RopBuffer       []byte // RPC_HEADER_EXT segments with the ROP input buffer
	MaxRopOut       uint32
	AuxiliaryBuffer []byte
}

// ExecuteResponse is the Execute response body (MS-OXCMAPIHTTP 2.2.4.2.2,
// failure layout 2.2.4.2.3 when StatusCode is not 0).
type ExecuteResponse struct {
	StatusCode      uint32
	ErrorCode       mp.ErrorCode // EcDoRpcExt2 result
	Flags           uint32
	RopBuffer       []byte // RPC_HEADER_EXT + ROP output buffer
	AuxiliaryBuffer []byte
}

// DisconnectRequest is the Disconnect request body (MS-OXCMAPIHTTP
// 2.2.4.3.1).
type DisconnectRequest struct {
	AuxiliaryBuffer []byte
}

// DisconnectResponse is the Disconnect response body (MS-OXCMAPIHTTP
// 2.2.4.3.2, failure 2.2.4.3.3).
type DisconnectResponse struct {
	StatusCode      uint32
	ErrorCode       mp.ErrorCode
	AuxiliaryBuffer []byte
}

// NotificationWaitRequest is the NotificationWait request body
// (MS-OXCMAPIHTTP 2.2.4.4.1). Flags is reserved (0).
type NotificationWaitRequest struct {
	Flags           uint32
	AuxiliaryBuffer []byte
}

// EventPending is the NotificationWait response flag saying that
// notifications are queued for the session (MS-OXCMAPIHTTP 2.2.4.4.2).
const EventPending uint32 = 0x00000001

// NotificationWaitResponse is the NotificationWait response body
// (MS-OXCMAPIHTTP 2.2.4.4.2, failure 2.2.4.4.3).
type NotificationWaitResponse struct {
	StatusCode      uint32
	ErrorCode       mp.ErrorCode
	EventPending    uint32
	AuxiliaryBuffer []byte
}

// putBlob writes a u32 size and the bytes.
func putBlob(w *mp.Writer, b []byte) {
	w.U32(uint32(len(b)))
	w.Raw(b)
}

// getBlob reads a u32 size and that many bytes, refusing sizes over max.
func getBlob(r *mp.Reader, max int, what string) []byte {
	n := r.U32()
	if r.Err() != nil {
		return nil
	}
	if int64(n) > int64(max) {
		r.Failf("%s of %d bytes exceeds %d", what, n, max)
		return nil
	}
	return r.Bytes(int(n))
}

// finish turns a reader's state into the decoding result: its error, or
// trailing bytes.
func finish(r *mp.Reader, what string) error {
	if err := r.Err(); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBody, what, err)
	}
	if r.Len() != 0 {
		return fmt.Errorf("%w: %s: %d bytes after the last field", ErrBody, what, r.Len())
	}
	return nil
}

// MarshalBinary encodes the request.
func (x *ConnectRequest) MarshalBinary() ([]byte, error) {
	w := mp.NewWriter()
	w.ASCIIString(x.UserDN)
	w.U32(x.Flags)
	w.U32(x.DefaultCodePage)
	w.U32(x.LcidSort)
	w.U32(x.LcidString)
	putBlob(w, x.AuxiliaryBuffer)
	return w.Bytes(), w.Err()
}

// UnmarshalBinary decodes the request.
func (x *ConnectRequest) UnmarshalBinary(b []byte) error {
	r := mp.NewReader(b)
	*x = ConnectRequest{
		UserDN:          r.ASCIIString(),
		Flags:           r.U32(),
		DefaultCodePage: r.U32(),
		LcidSort:        r.U32(),
		LcidString:      r.U32(),
	}
	x.AuxiliaryBuffer = getBlob(r, MaxAuxiliaryBuffer, "auxiliary buffer")
	return finish(r, "Connect request")
}

// MarshalBinary encodes the response in the layout its StatusCode selects.
func (x *ConnectResponse) MarshalBinary() ([]byte, error) {
	w := mp.NewWriter()
	w.U32(x.StatusCode)
	if x.StatusCode == 0 {
		w.U32(uint32(x.ErrorCode))
		w.U32(x.MaxPollingInterval)
		w.U32(x.RetryCount)
		w.U32(x.RetryDelay)
		w.ASCIIString(x.DNPrefix)
		w.UTF16String(x.DisplayName)
	}
	putBlob(w, x.AuxiliaryBuffer)
	return w.Bytes(), w.Err()
}

// UnmarshalBinary decodes the response.
func (x *ConnectResponse) UnmarshalBinary(b []byte) error {
	r := mp.NewReader(b)
	*x = ConnectResponse{StatusCode: r.U32()}
	if x.StatusCode == 0 {
		x.ErrorCode = mp.ErrorCode(r.U32())
		x.MaxPollingInterval = r.U32()
		x.RetryCount = r.U32()
		x.RetryDelay = r.U32()
		x.DNPrefix = r.ASCIIString()
		x.DisplayName = r.UTF16String()
	}
	x.AuxiliaryBuffer = getBlob(r, len(b), "auxiliary buffer")
	return finish(r, "Connect response")
}

// MarshalBinary encodes the request.
func (x *ExecuteRequest) MarshalBinary() ([]byte, error) {
	w := mp.NewWriter()
	w.U32(x.Flags)
	putBlob(w, x.RopBuffer)
	w.U32(x.MaxRopOut)
	putBlob(w, x.AuxiliaryBuffer)
	return w.Bytes(), w.Err()
}

// UnmarshalBinary decodes the request.
func (x *ExecuteRequest) UnmarshalBinary(b []byte) error {
	r := mp.NewReader(b)
	*x = ExecuteRequest{Flags: r.U32()}
	x.RopBuffer = getBlob(r, len(b), "ROP buffer")
	x.MaxRopOut = r.U32()
	x.AuxiliaryBuffer = getBlob(r, MaxAuxiliaryBuffer, "auxiliary buffer")
	return finish(r, "Execute request")
}

// MarshalBinary encodes the response in the layout its StatusCode selects.
func (x *ExecuteResponse) MarshalBinary() ([]byte, error) {
	w := mp.NewWriter()
	w.U32(x.StatusCode)
	if x.StatusCode == 0 {
		w.U32(uint32(x.ErrorCode))
		w.U32(x.Flags)
		putBlob(w, x.RopBuffer)
	}
	putBlob(w, x.AuxiliaryBuffer)
	return w.Bytes(), w.Err()
}

// UnmarshalBinary decodes the response.
func (x *ExecuteResponse) UnmarshalBinary(b []byte) error {
	r := mp.NewReader(b)
	*x = ExecuteResponse{StatusCode: r.U32()}
	if x.StatusCode == 0 {
		x.ErrorCode = mp.ErrorCode(r.U32())
		x.Flags = r.U32()
		x.RopBuffer = getBlob(r, len(b), "ROP buffer")
	}
	x.AuxiliaryBuffer = getBlob(r, len(b), "auxiliary buffer")
	return finish(r, "Execute response")
}

// MarshalBinary encodes the request.
func (x *DisconnectRequest) MarshalBinary() ([]byte, error) {
	w := mp.NewWriter()
	putBlob(w, x.AuxiliaryBuffer)
	return w.Bytes(), w.Err()
}

// UnmarshalBinary decodes the request.
func (x *DisconnectRequest) UnmarshalBinary(b []byte) error {
	r := mp.NewReader(b)
	*x = DisconnectRequest{AuxiliaryBuffer: getBlob(r, MaxAuxiliaryBuffer, "auxiliary buffer")}
	return finish(r, "Disconnect request")
}

// MarshalBinary encodes the response in the layout its StatusCode selects.
func (x *DisconnectResponse) MarshalBinary() ([]byte, error) {
	w := mp.NewWriter()
	w.U32(x.StatusCode)
	if x.StatusCode == 0 {
		w.U32(uint32(x.ErrorCode))
	}
	putBlob(w, x.AuxiliaryBuffer)
	return w.Bytes(), w.Err()
}

// UnmarshalBinary decodes the response.
func (x *DisconnectResponse) UnmarshalBinary(b []byte) error {
	r := mp.NewReader(b)
	*x = DisconnectResponse{StatusCode: r.U32()}
	if x.StatusCode == 0 {
		x.ErrorCode = mp.ErrorCode(r.U32())
	}
	x.AuxiliaryBuffer = getBlob(r, len(b), "auxiliary buffer")
	return finish(r, "Disconnect response")
}

// MarshalBinary encodes the request.
func (x *NotificationWaitRequest) MarshalBinary() ([]byte, error) {
	w := mp.NewWriter()
	w.U32(x.Flags)
	putBlob(w, x.AuxiliaryBuffer)
	return w.Bytes(), w.Err()
}

// UnmarshalBinary decodes the request.
func (x *NotificationWaitRequest) UnmarshalBinary(b []byte) error {
	r := mp.NewReader(b)
	*x = NotificationWaitRequest{Flags: r.U32()}
	x.AuxiliaryBuffer = getBlob(r, MaxAuxiliaryBuffer, "auxiliary buffer")
	return finish(r, "NotificationWait request")
}

// MarshalBinary encodes the response in the layout its StatusCode selects.
func (x *NotificationWaitResponse) MarshalBinary() ([]byte, error) {
	w := mp.NewWriter()
	w.U32(x.StatusCode)
	if x.StatusCode == 0 {
		w.U32(uint32(x.ErrorCode))
		w.U32(x.EventPending)
	}
	putBlob(w, x.AuxiliaryBuffer)
	return w.Bytes(), w.Err()
}

// UnmarshalBinary decodes the response.
func (x *NotificationWaitResponse) UnmarshalBinary(b []byte) error {
	r := mp.NewReader(b)
	*x = NotificationWaitResponse{StatusCode: r.U32()}
	if x.StatusCode == 0 {
		x.ErrorCode = mp.ErrorCode(r.U32())
		x.EventPending = r.U32()
	}
	x.AuxiliaryBuffer = getBlob(r, len(b), "auxiliary buffer")
	return finish(r, "NotificationWait response")
}
