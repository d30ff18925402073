package rop

import "github.com/pochta/pochta/internal/mapiprop"

// Stream ROPs (MS-OXCROPS 2.2.9; semantics in MS-OXCPRPT).

// OpenStream mode flags (MS-OXCPRPT 2.2.14.1).
const (
	StreamReadOnly   uint8 = 0x00
	StreamReadWrite  uint8 = 0x01
	StreamCreate     uint8 = 0x02
	StreamBestAccess uint8 = 0x03
)

// Seek origins of RopSeekStream (MS-OXCPRPT 2.2.18.1).
const (
	SeekBeginning uint8 = 0x00
	SeekCurrent   uint8 = 0x01
	SeekEnd       uint8 = 0x02
)

// ReadStreamMaxSentinel in ByteCount means MaximumByteCount follows
// (MS-OXCROPS 2.2.9.2.1).
const ReadStreamMaxSentinel uint16 = 0xBABE

// OpenStreamRequest (MS-OXCROPS 2.2.9.1.1).
type OpenStreamRequest struct {
	RequestHeader
	OutputHandleIndex uint8
	PropertyTag       Tag
	OpenModeFlags     uint8
}

func (*OpenStreamRequest) RopID() RopID                 { return RopOpenStream }
func (x *OpenStreamRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *OpenStreamRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
	w.U32(uint32(x.PropertyTag))
	w.U8(x.OpenModeFlags)
}
func (x *OpenStreamRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
	x.PropertyTag = Tag(r.U32())
	x.OpenModeFlags = r.U8()
}

// StreamSizeResponse is the body of RopOpenStream and RopGetStreamSize.
type StreamSizeResponse struct {
	ResponseHeader
	StreamSize uint32
}

func (x *StreamSizeResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U32(x.StreamSize)
	}
}
func (x *StreamSizeResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.StreamSize = r.U32()
	}
}

// OpenStreamResponse (MS-OXCROPS 2.2.9.1.2).
type OpenStreamResponse struct{ StreamSizeResponse }

func (*OpenStreamResponse) RopID() RopID { return RopOpenStream }

// ReadStreamRequest (MS-OXCROPS 2.2.9.2.1). MaximumByteCount is on the wire
// only when ByteCount is ReadStreamMaxSentinel.
type ReadStreamRequest struct {
	RequestHeader
	ByteCount        uint16
	MaximumByteCount uint32
}

func (*ReadStreamRequest) RopID() RopID { return RopReadStream }
func (x *ReadStreamRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U16(x.ByteCount)
	if x.ByteCount == ReadStreamMaxSentinel {
		w.U32(x.MaximumByteCount)
	}
}
func (x *ReadStreamRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.ByteCount = r.U16()
	if x.ByteCount == ReadStreamMaxSentinel {
		x.MaximumByteCount = r.U32()
	}
}

// Limit is the number of bytes the client asked for.
func (x *ReadStreamRequest) Limit() uint32 {
	if x.ByteCount == ReadStreamMaxSentinel {
		return x.MaximumByteCount
	}
	return uint32(x.ByteCount)
}

// ReadStreamResponse (MS-OXCROPS 2.2.9.2.2): DataSize and Data are on the
// wire whatever the ReturnValue.
type ReadStreamResponse struct {
	ResponseHeader
	Data []byte
}

func (*ReadStreamResponse) RopID() RopID { return RopReadStream }
func (x *ReadStreamResponse) encodeResponse(w *mapiprop.Writer) {
	x.put(w)
	putSized(w, x.Data, "stream data")
}
func (x *ReadStreamResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	x.get(r)
	x.Data = getSized(r)
}

// WriteStreamRequest (MS-OXCROPS 2.2.9.3.1).
type WriteStreamRequest struct {
	RequestHeader
	Data []byte
}

func (*WriteStreamRequest) RopID() RopID { return RopWriteStream }
func (x *WriteStreamRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	putSized(w, x.Data, "stream data")
}
func (x *WriteStreamRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Data = getSized(r)
}

// WrittenSizeResponse is the body of RopWriteStream and
// RopWriteAndCommitStream: WrittenSize is on the wire whatever the
// ReturnValue.
type WrittenSizeResponse struct {
	ResponseHeader
	WrittenSize uint16
}

func (x *WrittenSizeResponse) encodeResponse(w *mapiprop.Writer) {
	x.put(w)
	w.U16(x.WrittenSize)
}
func (x *WrittenSizeResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	x.get(r)
	x.WrittenSize = r.U16()
}

// WriteStreamResponse (MS-OXCROPS 2.2.9.3.2).
type WriteStreamResponse struct{ WrittenSizeResponse }

func (*WriteStreamResponse) RopID() RopID { return RopWriteStream }

// CommitStreamRequest (MS-OXCROPS 2.2.9.4.1).
type CommitStreamRequest struct{ RequestHeader }

func (*CommitStreamRequest) RopID() RopID { return RopCommitStream }

// CommitStreamResponse (MS-OXCROPS 2.2.9.4.2).
type CommitStreamResponse struct{ ResponseHeader }

func (*CommitStreamResponse) RopID() RopID { return RopCommitStream }

// GetStreamSizeRequest (MS-OXCROPS 2.2.9.5.1).
type GetStreamSizeRequest struct{ RequestHeader }

func (*GetStreamSizeRequest) RopID() RopID { return RopGetStreamSize }

// GetStreamSizeResponse (MS-OXCROPS 2.2.9.5.2).
type GetStreamSizeResponse struct{ StreamSizeResponse }

func (*GetStreamSizeResponse) RopID() RopID { return RopGetStreamSize }

// SetStreamSizeRequest (MS-OXCROPS 2.2.9.6.1).
type SetStreamSizeRequest struct {
	RequestHeader
	StreamSize uint64
}

func (*SetStreamSizeRequest) RopID() RopID { return RopSetStreamSize }
func (x *SetStreamSizeRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U64(x.StreamSize)
}
func (x *SetStreamSizeRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.StreamSize = r.U64()
}

// SetStreamSizeResponse (MS-OXCROPS 2.2.9.6.2).
type SetStreamSizeResponse struct{ ResponseHeader }

func (*SetStreamSizeResponse) RopID() RopID { return RopSetStreamSize }

// SeekStreamRequest (MS-OXCROPS 2.2.9.7.1).
type SeekStreamRequest struct {
	RequestHeader
	Origin uint8
	Offset int64
}

func (*SeekStreamRequest) RopID() RopID { return RopSeekStream }
func (x *SeekStreamRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.Origin)
	w.I64(x.Offset)
}
func (x *SeekStreamRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Origin = r.U8()
	x.Offset = r.I64()
}

// SeekStreamResponse (MS-OXCROPS 2.2.9.7.2).
type SeekStreamResponse struct {
	ResponseHeader
	NewPosition uint64
}

func (*SeekStreamResponse) RopID() RopID { return RopSeekStream }
func (x *SeekStreamResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U64(x.NewPosition)
	}
}
func (x *SeekStreamResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.NewPosition = r.U64()
	}
}

// CopyToStreamRequest (MS-OXCROPS 2.2.9.8.1); InputHandleIndex is the
// source stream.
type CopyToStreamRequest struct {
	RequestHeader
	DestHandleIndex uint8
	ByteCount       uint64
}

func (*CopyToStreamRequest) RopID() RopID { return RopCopyToStream }
func (x *CopyToStreamRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.DestHandleIndex)
	w.U64(x.ByteCount)
}
func (x *CopyToStreamRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.DestHandleIndex = r.U8()
	x.ByteCount = r.U64()
}

// CopyToStreamResponse (MS-OXCROPS 2.2.9.8.2-3): the byte counts are on the
// wire whatever the ReturnValue, preceded by the 32-bit DestHandleIndex on
// ecDstNullObject.
type CopyToStreamResponse struct {
	ResponseHeader
	DestHandleIndex  uint32
	ReadByteCount    uint64
	WrittenByteCount uint64
}

func (*CopyToStreamResponse) RopID() RopID { return RopCopyToStream }
func (x *CopyToStreamResponse) encodeResponse(w *mapiprop.Writer) {
	x.put(w)
	if x.ReturnValue == mapiprop.ErrDstNullObject {
		w.U32(x.DestHandleIndex)
	}
	w.U64(x.ReadByteCount)
	w.U64(x.WrittenByteCount)
}
func (x *CopyToStreamResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	x.get(r)
	if x.ReturnValue == mapiprop.ErrDstNullObject {
		x.DestHandleIndex = r.U32()
	}
	x.ReadByteCount = r.U64()
	x.WrittenByteCount = r.U64()
}

// RegionRequest is the body of RopLockRegionStream and
// RopUnlockRegionStream.
type RegionRequest struct {
	RequestHeader
	RegionOffset uint64
	RegionSize   uint64
	LockFlags    uint32
}

func (x *RegionRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U64(x.RegionOffset)
	w.U64(x.RegionSize)
	w.U32(x.LockFlags)
}
func (x *RegionRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.RegionOffset = r.U64()
	x.RegionSize = r.U64()
	x.LockFlags = r.U32()
}

// LockRegionStreamRequest (MS-OXCROPS 2.2.9.9.1).
type LockRegionStreamRequest struct{ RegionRequest }

func (*LockRegionStreamRequest) RopID() RopID { return RopLockRegionStream }

// LockRegionStreamResponse (MS-OXCROPS 2.2.9.9.2).
type LockRegionStreamResponse struct{ ResponseHeader }

func (*LockRegionStreamResponse) RopID() RopID { return RopLockRegionStream }

// UnlockRegionStreamRequest (MS-OXCROPS 2.2.9.10.1).
type UnlockRegionStreamRequest struct{ RegionRequest }

func (*UnlockRegionStreamRequest) RopID() RopID { return RopUnlockRegionStream }

// UnlockRegionStreamResponse (MS-OXCROPS 2.2.9.10.2).
type UnlockRegionStreamResponse struct{ ResponseHeader }

func (*UnlockRegionStreamResponse) RopID() RopID { return RopUnlockRegionStream }

// WriteAndCommitStreamRequest (MS-OXCROPS 2.2.9.11.1).
type WriteAndCommitStreamRequest struct {
	RequestHeader
	Data []byte
}

func (*WriteAndCommitStreamRequest) RopID() RopID { return RopWriteAndCommitStream }
func (x *WriteAndCommitStreamRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	putSized(w, x.Data, "stream data")
}
func (x *WriteAndCommitStreamRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Data = getSized(r)
}

// WriteAndCommitStreamResponse (MS-OXCROPS 2.2.9.11.2).
type WriteAndCommitStreamResponse struct{ WrittenSizeResponse }

func (*WriteAndCommitStreamResponse) RopID() RopID { return RopWriteAndCommitStream }

// CloneStreamRequest (MS-OXCROPS 2.2.9.12.1).
type CloneStreamRequest struct {
	RequestHeader
	OutputHandleIndex uint8
}

func (*CloneStreamRequest) RopID() RopID                 { return RopCloneStream }
func (x *CloneStreamRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *CloneStreamRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
}
func (x *CloneStreamRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
}

// CloneStreamResponse (MS-OXCROPS 2.2.9.12.2).
type CloneStreamResponse struct{ ResponseHeader }

func (*CloneStreamResponse) RopID() RopID { return RopCloneStream }

// WriteStreamExtendedRequest (MS-OXCROPS 2.2.9.4.1).
type WriteStreamExtendedRequest struct {
	RequestHeader
	Data []byte
}

func (*WriteStreamExtendedRequest) RopID() RopID { return RopWriteStreamExtended }
func (x *WriteStreamExtendedRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	putSized(w, x.Data, "stream data")
}
func (x *WriteStreamExtendedRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Data = getSized(r)
}

// WriteStreamExtendedResponse (MS-OXCROPS 2.2.9.4.2): a 32-bit WrittenSize,
// on the wire whatever the ReturnValue.
type WriteStreamExtendedResponse struct {
	ResponseHeader
	WrittenSize uint32
}

func (*WriteStreamExtendedResponse) RopID() RopID { return RopWriteStreamExtended }
func (x *WriteStreamExtendedResponse) encodeResponse(w *mapiprop.Writer) {
	x.put(w)
	w.U32(x.WrittenSize)
}
func (x *WriteStreamExtendedResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	x.get(r)
	x.WrittenSize = r.U32()
}
