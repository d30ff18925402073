package rop

import "github.com/pochta/pochta/internal/mapiprop"

// Transport ROPs (MS-OXCROPS 2.2.7; semantics in MS-OXOMSG).

// Submit flags (MS-OXOMSG 2.2.3.1.1).
const (
	SubmitFlagNone         uint8 = 0x00
	SubmitFlagPreProcess   uint8 = 0x01
	SubmitFlagNeedsSpooler uint8 = 0x02
)

// SubmitMessageRequest (MS-OXCROPS 2.2.7.1.1).
type SubmitMessageRequest struct {
	RequestHeader
	SubmitFlags uint8
}

func (*SubmitMessageRequest) RopID() RopID { return RopSubmitMessage }
func (x *SubmitMessageRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.SubmitFlags)
}
func (x *SubmitMessageRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.SubmitFlags = r.U8()
}

// SubmitMessageResponse (MS-OXCROPS 2.2.7.1.2).
type SubmitMessageResponse struct{ ResponseHeader }

func (*SubmitMessageResponse) RopID() RopID { return RopSubmitMessage }

// AbortSubmitRequest (MS-OXCROPS 2.2.7.2.1).
type AbortSubmitRequest struct {
	RequestHeader
	FolderID  ID
	MessageID ID
}

func (*AbortSubmitRequest) RopID() RopID { return RopAbortSubmit }
func (x *AbortSubmitRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U64(uint64(x.FolderID))
	w.U64(uint64(x.MessageID))
}
func (x *AbortSubmitRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.FolderID = ID(r.U64())
	x.MessageID = ID(r.U64())
}

// AbortSubmitResponse (MS-OXCROPS 2.2.7.2.2).
type AbortSubmitResponse struct{ ResponseHeader }

func (*AbortSubmitResponse) RopID() RopID { return RopAbortSubmit }

// GetAddressTypesRequest (MS-OXCROPS 2.2.7.3.1).
type GetAddressTypesRequest struct{ RequestHeader }

func (*GetAddressTypesRequest) RopID() RopID { return RopGetAddressTypes }

// GetAddressTypesResponse (MS-OXCROPS 2.2.7.3.2).
type GetAddressTypesResponse struct {
	ResponseHeader
	AddressTypes []string
}

func (*GetAddressTypesResponse) RopID() RopID { return RopGetAddressTypes }
func (x *GetAddressTypesResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U16Len(len(x.AddressTypes), "address type count")
		at := w.Len()
		w.U16(0)
		for _, s := range x.AddressTypes {
			w.ASCIIString(s)
		}
		n := w.Len() - at - 2
		if n > 0xFFFF {
			w.Failf("address types of %d bytes", n)
		}
		w.PatchU16(at, uint16(n))
	}
}
func (x *GetAddressTypesResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		n := int(r.U16())
		s := r.Sub(int(r.U16()))
		if n > s.Len() {
			r.Failf("%d address types in %d bytes", n, s.Len())
			return
		}
		x.AddressTypes = make([]string, 0, n)
		for i := 0; i < n && s.Err() == nil; i++ {
			x.AddressTypes = append(x.AddressTypes, s.ASCIIString())
		}
		r.Fail(s.Err())
	}
}

// SetSpoolerRequest (MS-OXCROPS 2.2.7.4.1).
type SetSpoolerRequest struct{ RequestHeader }

func (*SetSpoolerRequest) RopID() RopID { return RopSetSpooler }

// SetSpoolerResponse (MS-OXCROPS 2.2.7.4.2).
type SetSpoolerResponse struct{ ResponseHeader }

func (*SetSpoolerResponse) RopID() RopID { return RopSetSpooler }

// Spooler lock states (MS-OXOMSG 2.2.5.3.1).
const (
	LockStateLocked   uint8 = 0x00
	LockStateUnlocked uint8 = 0x01
	LockStateFinished uint8 = 0x02
)

// SpoolerLockMessageRequest (MS-OXCROPS 2.2.7.5.1).
type SpoolerLockMessageRequest struct {
	RequestHeader
	MessageID ID
	LockState uint8
}

func (*SpoolerLockMessageRequest) RopID() RopID { return RopSpoolerLockMessage }
func (x *SpoolerLockMessageRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U64(uint64(x.MessageID))
	w.U8(x.LockState)
}
func (x *SpoolerLockMessageRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.MessageID = ID(r.U64())
	x.LockState = r.U8()
}

// SpoolerLockMessageResponse (MS-OXCROPS 2.2.7.5.2).
type SpoolerLockMessageResponse struct{ ResponseHeader }

func (*SpoolerLockMessageResponse) RopID() RopID { return RopSpoolerLockMessage }

// TransportSendRequest (MS-OXCROPS 2.2.7.6.1).
type TransportSendRequest struct{ RequestHeader }

func (*TransportSendRequest) RopID() RopID { return RopTransportSend }

// TransportSendResponse (MS-OXCROPS 2.2.7.6.2); Properties nil means
// NoPropertiesReturned.
type TransportSendResponse struct {
	ResponseHeader
	Properties []mapiprop.Value
}

func (*TransportSendResponse) RopID() RopID { return RopTransportSend }
func (x *TransportSendResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		if x.Properties == nil {
			w.U8(1)
			return
		}
		w.U8(0)
		w.TaggedValues(x.Properties)
	}
}
func (x *TransportSendResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) && !r.Bool() {
		x.Properties = r.TaggedValues()
		if x.Properties == nil && r.Err() == nil {
			x.Properties = []mapiprop.Value{}
		}
	}
}

// TransportNewMailRequest (MS-OXCROPS 2.2.7.7.1).
type TransportNewMailRequest struct {
	RequestHeader
	MessageID    ID
	FolderID     ID
	MessageClass string
	MessageFlags uint32
}

func (*TransportNewMailRequest) RopID() RopID { return RopTransportNewMail }
func (x *TransportNewMailRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U64(uint64(x.MessageID))
	w.U64(uint64(x.FolderID))
	w.ASCIIString(x.MessageClass)
	w.U32(x.MessageFlags)
}
func (x *TransportNewMailRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.MessageID = ID(r.U64())
	x.FolderID = ID(r.U64())
	x.MessageClass = r.ASCIIString()
	x.MessageFlags = r.U32()
}

// TransportNewMailResponse (MS-OXCROPS 2.2.7.7.2).
type TransportNewMailResponse struct{ ResponseHeader }

func (*TransportNewMailResponse) RopID() RopID { return RopTransportNewMail }

// GetTransportFolderRequest (MS-OXCROPS 2.2.7.8.1).
type GetTransportFolderRequest struct{ RequestHeader }

func (*GetTransportFolderRequest) RopID() RopID { return RopGetTransportFolder }

// GetTransportFolderResponse (MS-OXCROPS 2.2.7.8.2).
type GetTransportFolderResponse struct {
	ResponseHeader
	FolderID ID
}

func (*GetTransportFolderResponse) RopID() RopID { return RopGetTransportFolder }
func (x *GetTransportFolderResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U64(uint64(x.FolderID))
	}
}
func (x *GetTransportFolderResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.FolderID = ID(r.U64())
	}
}

// OptionsDataRequest (MS-OXCROPS 2.2.7.9.1).
type OptionsDataRequest struct {
	RequestHeader
	AddressType string
	WantWin32   bool
}

func (*OptionsDataRequest) RopID() RopID { return RopOptionsData }
func (x *OptionsDataRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.ASCIIString(x.AddressType)
	w.Bool(x.WantWin32)
}
func (x *OptionsDataRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.AddressType = r.ASCIIString()
	x.WantWin32 = r.Bool()
}

// OptionsDataResponse (MS-OXCROPS 2.2.7.9.2); HelpFileName is on the wire
// only when HelpFile is not empty.
type OptionsDataResponse struct {
	ResponseHeader
	Reserved     uint8
	OptionsInfo  []byte
	HelpFile     []byte
	HelpFileName string
}

func (*OptionsDataResponse) RopID() RopID { return RopOptionsData }
func (x *OptionsDataResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U8(x.Reserved)
		putSized(w, x.OptionsInfo, "options info")
		putSized(w, x.HelpFile, "help file")
		if len(x.HelpFile) > 0 {
			w.ASCIIString(x.HelpFileName)
		}
	}
}
func (x *OptionsDataResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.Reserved = r.U8()
		x.OptionsInfo = getSized(r)
		x.HelpFile = getSized(r)
		if len(x.HelpFile) > 0 {
			x.HelpFileName = r.ASCIIString()
		}
	}
}
