package rop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/pochta/pochta/directory"
	mp "github.com/pochta/pochta/internal/mapiprop"
)

// Session is one EMSMDB session context: its logons and server objects.
// Execute runs one ROP buffer at a time.
type Session struct {
	srv      *Server
	acc      *directory.Account
	legacyDN string
	mbox     mailbox
	log      *slog.Logger
	codePage uint32
	storeEID []byte // PidTagStoreEntryId, made once

	mu       sync.Mutex
	closed   bool
	panics   int    // recovered panics, for tests
	execSeq  uint64 // counts Execute calls (tables check freshness once per call)
	objects  map[uint32]*handleEntry
	counters map[uint8]uint32 // next n of each logon id
	logons   map[uint8]uint32 // logon id → its logon object's handle
	notif    *notifier        // notifications (notify.go)
}

// SetCodePage sets the code page of the session's 8-bit strings
// (PtypString8), the DefaultCodePage of Connect; unsupported ones keep
// Windows-1252.
func (s *Session) SetCodePage(cp uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cp != 0 && mp.SupportedCodePage(cp) {
		s.codePage = cp
	}
}

// Account returns the account the session is bound to.
func (s *Session) Account() *directory.Account { return s.acc }

// Close releases every object of the session. Execute fails afterwards.
func (s *Session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.objects {
		if e.parent == nil {
			s.releaseEntry(e)
		}
	}
	s.objects = map[uint32]*handleEntry{}
	s.logons = map[uint8]uint32{}
	s.closed = true
	s.closeNotifications()
}

// maxPayload is the largest ROP output payload one RPC_HEADER_EXT can
// carry (its Size field is 16 bits).
const maxPayload = 0xFFFF

// execState is what the handlers of one Execute share.
type execState struct {
	handles []uint32
	// budget is how many bytes the response being made may take before
	// the output buffer is full; ROPs that can return less (QueryRows,
	// ReadStream) stay within it.
	budget int
}

// Execute runs one ROP buffer: in is the payload of the request's
// RPC_HEADER_EXT (already de-obfuscated and decompressed by the
// transport): RopSize, the ROP requests, the handle table. It returns the
// response payload (RopSize, responses, handle table) of at most
// maxRopOut bytes (RopBufferTooSmall otherwise). ROPs run in order, each
// with its own ReturnValue (MS-OXCROPS 3.2.5.1).
//
// A non-nil error is a mapiprop.ErrorCode for the Execute response's
// ErrorCode: ecRpcFormat when the buffer cannot be parsed, ecBufferTooSmall
// when not even RopBufferTooSmall fits, ecError for an internal failure or
// a closed session. It never panics on hostile input.
func (s *Session) Execute(ctx context.Context, in []byte, maxRopOut int) (out []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			s.panics++
			s.log.Error("panic in ROP processing", "panic", p, "stack", string(debug.Stack()))
			if m := s.srv.opts.Metrics; m != nil {
				m.Panics.WithLabelValues("mapi").Inc()
			}
			out, err = nil, mp.ErrCallFailed
		}
	}()
	if s.closed {
		return nil, mp.ErrCallFailed
	}
	s.execSeq++
	buf, perr := ParseROPBuffer(in)
	if perr != nil {
		s.log.Debug("unparseable ROP buffer", "err", perr)
		return nil, mp.ErrRPCFormat
	}
	list, derr := DecodeRequests(buf.Rops, &RequestContext{CodePage: s.codePage})
	var decodeErr *DecodeError
	if errors.As(derr, &decodeErr) {
		// MS-OXCRPC 3.1.4.2: a malformed ROP fails the whole call, before
		// anything in it ran.
		s.log.Debug("malformed ROP", "err", derr)
		return nil, mp.ErrRPCFormat
	}
	limit := min(maxRopOut, maxPayload)
	handles := slices.Clone(buf.Handles)
	tableSize := 4 * len(handles)
	if 2+tableSize > limit {
		return nil, mp.ErrBufferTooSmall
	}
	rops := make([]byte, 0, 512)
	complete := true
	for i, req := range list.Requests {
		before := slices.Clone(handles)
		st := &execState{handles: handles, budget: limit - 2 - tableSize - len(rops)}
		resp := s.dispatch(ctx, req, st)
		if resp == nil {
			continue // RopRelease has no response
		}
		enc, eerr := s.encode(resp)
		if eerr != nil {
			// A response the codec refuses is our bug, not the client's:
			// answer that ROP with ecError and carry on.
			s.log.Error("encoding ROP response", "rop", req.RopID(), "err", eerr)
			s.undo(handles, before)
			er, _ := ErrorResponse(req, mp.ErrCallFailed)
			if enc, eerr = s.encode(er); eerr != nil {
				return nil, mp.ErrCallFailed
			}
		}
		// A handler that could not fit even part of its answer (a single
		// table row) says ecBufferTooSmall: that too asks for more room.
		tooSmall := false
		if sr, ok := resp.(StandardResponse); ok && sr.Header().ReturnValue == mp.ErrBufferTooSmall {
			tooSmall = true
			enc = make([]byte, limit) // room needed: more than there is
		}
		if !tooSmall && 2+len(rops)+len(enc)+tableSize <= limit {
			rops = append(rops, enc...)
			continue
		}
		// MS-OXCROPS 3.2.5.2: stop, undo what this ROP made, and tell the
		// client which ROPs are left and how much room they need.
		s.undo(handles, before)
		// The remainder runs to the end of the list, so it includes an
		// unknown ROP that stopped decoding.
		rest := list.Remainder(i)
		need := min(2+len(rops)+len(enc)+tableSize+HeaderExtSize, 0xFFFF)
		bts, _ := s.encode(&BufferTooSmallResponse{SizeNeeded: uint16(need), RequestBuffers: rest})
		if i == 0 && req.RopID() == RopGetPropertiesAll || 2+len(rops)+len(bts)+tableSize > limit {
			// MS-OXCPRPT 3.2.5.2: a first RopGetPropertiesAll that does not
			// fit fails the call; so does a buffer too small for the notice.
			return nil, mp.ErrBufferTooSmall
		}
		rops = append(rops, bts...)
		complete = false
		break
	}
	var unknown *UnknownRopError
	if complete && errors.As(derr, &unknown) {
		// MS-OXCROPS 3.2.5.1: the length of an unknown ROP is unknown, so
		// it is answered with ecNotSupported and nothing after it runs.
		s.log.Warn("unsupported ROP", "rop", unknown.RopID, "offset", unknown.Offset)
		w := mp.NewWriter()
		w.U8(uint8(unknown.RopID))
		w.U8(unknown.HandleIndex)
		w.U32(uint32(mp.ErrNotSupported))
		if 2+len(rops)+w.Len()+tableSize <= limit {
			rops = append(rops, w.Bytes()...)
		}
	}
	if complete && unknown == nil {
		// MS-OXCNOTIF 3.2.5.2: queued events ride after the responses
		// (after an unknown ROP's answer nothing can be parsed: they wait).
		rops = s.appendNotifications(ctx, rops, limit-2-tableSize-len(rops))
	}
	payload, berr := ROPBuffer{Rops: rops, Handles: handles}.Bytes()
	if berr != nil {
		return nil, mp.ErrBufferTooSmall
	}
	return payload, nil
}

// undo restores the handle table as it was before a ROP and releases the
// objects that ROP put into it.
func (s *Session) undo(handles, before []uint32) {
	for i := range handles {
		if handles[i] != before[i] {
			if !slices.Contains(before, handles[i]) {
				s.release(handles[i])
			}
			handles[i] = before[i]
		}
	}
}

func (s *Session) encode(resp Response) ([]byte, error) {
	w := mp.NewWriter()
	w.CodePage = s.codePage
	EncodeResponse(w, resp)
	if err := w.Err(); err != nil {
		return nil, err
	}
	return w.Bytes(), nil
}

// ecOf maps a handler error to the ReturnValue a client understands.
func ecOf(err error) mp.ErrorCode {
	if err == nil {
		return mp.Success
	}
	var ec mp.ErrorCode
	if errors.As(err, &ec) {
		return ec
	}
	return storeError(err)
}

// fail returns the failure response of req for err.
func fail(req Request, err error) Response {
	resp, e := ErrorResponse(req, ecOf(err))
	if e != nil {
		return nil
	}
	return resp
}

// newResp returns the success response of req as type T.
func newResp[T StandardResponse](req Request) T {
	resp, err := NewResponse(req)
	if err != nil {
		panic(fmt.Sprintf("rop: no response for %s: %v", req.RopID(), err))
	}
	return resp.(T)
}

// dispatch runs one ROP and returns its response (nil for RopRelease).
func (s *Session) dispatch(ctx context.Context, req Request, st *execState) Response {
	if r, ok := req.(*ReleaseRequest); ok {
		// MS-OXCROPS 2.2.15.3: no response; unknown handles are ignored.
		if int(r.InputHandleIndex) < len(st.handles) {
			if e := s.objects[st.handles[r.InputHandleIndex]]; e != nil && e.logonID == r.LogonID {
				s.releaseEntry(e)
			}
		}
		return nil
	}
	if r, ok := req.(*LogonRequest); ok {
		return s.ropLogon(ctx, r, st)
	}
	in, ec := s.lookup(st.handles, req.Header().InputHandleIndex, req.Header().LogonID)
	if ec != mp.Success {
		return fail(req, ec)
	}
	resp, err := s.handle(ctx, req, in, st)
	if err != nil {
		var ec mp.ErrorCode
		if !errors.As(err, &ec) {
			s.log.Warn("ROP failed", "rop", req.RopID(), "err", err)
		}
		return fail(req, err)
	}
	return resp
}

// handle routes a ROP with a valid input object to its handler.
func (s *Session) handle(ctx context.Context, req Request, in *handleEntry, st *execState) (Response, error) {
	switch x := req.(type) {
	// MS-OXCSTOR
	case *GetReceiveFolderRequest:
		return s.ropGetReceiveFolder(ctx, x, in)
	case *SetReceiveFolderRequest:
		return s.ropSetReceiveFolder(ctx, x, in)
	case *GetReceiveFolderTableRequest:
		return s.ropGetReceiveFolderTable(ctx, x, in)
	case *GetStoreStateRequest:
		return s.ropGetStoreState(ctx, x, in)
	case *LongTermIdFromIdRequest:
		return s.ropLongTermIdFromId(ctx, x, in)
	case *IdFromLongTermIdRequest:
		return s.ropIdFromLongTermId(ctx, x, in)
	case *GetPerUserLongTermIdsRequest:
		return s.ropGetPerUserLongTermIds(ctx, x, in)
	// MS-OXCFOLD
	case *OpenFolderRequest:
		return s.ropOpenFolder(ctx, x, in, st)
	case *CreateFolderRequest:
		return s.ropCreateFolder(ctx, x, in, st)
	case *DeleteFolderRequest:
		return s.ropDeleteFolder(ctx, x, in)
	case *EmptyFolderRequest:
		return s.ropEmptyFolder(ctx, x, in, x.WantDeleteAssociated)
	case *HardDeleteMessagesAndSubfoldersRequest:
		return s.ropEmptyFolder(ctx, x, in, x.WantDeleteAssociated)
	case *MoveCopyMessagesRequest:
		return s.ropMoveCopyMessages(ctx, x, in, st)
	case *MoveFolderRequest:
		return s.ropMoveFolder(ctx, x, in, st)
	case *CopyFolderRequest:
		return s.ropCopyFolder(ctx, x, in, st)
	case *GetHierarchyTableRequest:
		return s.ropGetHierarchyTable(ctx, x, in, st)
	case *GetContentsTableRequest:
		return s.ropGetContentsTable(ctx, x, in, st)
	case *DeleteMessagesRequest:
		return s.ropDeleteMessages(ctx, x, in, x.MessageIDs)
	case *HardDeleteMessagesRequest:
		return s.ropDeleteMessages(ctx, x, in, x.MessageIDs)
	case *SetReadFlagsRequest:
		return s.ropSetReadFlags(ctx, x, in)
	// MS-OXCTABL
	case *SetColumnsRequest:
		return s.ropSetColumns(ctx, x, in)
	case *SortTableRequest:
		return s.ropSortTable(ctx, x, in)
	case *RestrictRequest:
		return s.ropRestrict(ctx, x, in)
	case *QueryRowsRequest:
		return s.ropQueryRows(ctx, x, in, st)
	case *QueryPositionRequest:
		return s.ropQueryPosition(ctx, x, in)
	case *SeekRowRequest:
		return s.ropSeekRow(ctx, x, in)
	case *SeekRowBookmarkRequest:
		return s.ropSeekRowBookmark(ctx, x, in)
	case *SeekRowFractionalRequest:
		return s.ropSeekRowFractional(ctx, x, in)
	case *CreateBookmarkRequest:
		return s.ropCreateBookmark(ctx, x, in)
	case *FreeBookmarkRequest:
		return s.ropFreeBookmark(ctx, x, in)
	case *FindRowRequest:
		return s.ropFindRow(ctx, x, in, st)
	case *QueryColumnsAllRequest:
		return s.ropQueryColumnsAll(ctx, x, in)
	case *GetStatusRequest:
		return s.ropTableStatus(x, in)
	case *AbortRequest:
		return s.ropTableStatus(x, in)
	case *ResetTableRequest:
		return s.ropResetTable(ctx, x, in)
	case *ExpandRowRequest:
		return s.ropExpandRow(ctx, x, in, st)
	case *CollapseRowRequest:
		return s.ropCollapseRow(ctx, x, in)
	case *GetCollapseStateRequest:
		return s.ropGetCollapseState(ctx, x, in)
	case *SetCollapseStateRequest:
		return s.ropSetCollapseState(ctx, x, in)
	// MS-OXCMSG
	case *OpenMessageRequest:
		return s.ropOpenMessage(ctx, x, in, st)
	case *CreateMessageRequest:
		return s.ropCreateMessage(ctx, x, in, st)
	case *SaveChangesMessageRequest:
		return s.ropSaveChangesMessage(ctx, x, in)
	case *SetMessageReadFlagRequest:
		return s.ropSetMessageReadFlag(ctx, x, in)
	case *ReadRecipientsRequest:
		return s.ropReadRecipients(ctx, x, in, st)
	case *ModifyRecipientsRequest:
		return s.ropModifyRecipients(ctx, x, in)
	case *RemoveAllRecipientsRequest:
		return s.ropRemoveAllRecipients(ctx, x, in)
	case *GetMessageStatusRequest:
		return s.ropGetMessageStatus(ctx, x, in)
	case *SetMessageStatusRequest:
		return s.ropSetMessageStatus(ctx, x, in)
	case *ReloadCachedInformationRequest:
		return s.ropReloadCachedInformation(ctx, x, in, st)
	case *GetAttachmentTableRequest:
		return s.ropGetAttachmentTable(ctx, x, in, st)
	case *OpenAttachmentRequest:
		return s.ropOpenAttachment(ctx, x, in, st)
	case *CreateAttachmentRequest:
		return s.ropCreateAttachment(ctx, x, in, st)
	case *SaveChangesAttachmentRequest:
		return s.ropSaveChangesAttachment(ctx, x, in)
	case *DeleteAttachmentRequest:
		return s.ropDeleteAttachment(ctx, x, in)
	case *OpenEmbeddedMessageRequest:
		return s.ropOpenEmbeddedMessage(ctx, x, in, st)
	case *GetValidAttachmentsRequest:
		return s.ropGetValidAttachments(ctx, x, in)
	// MS-OXCPRPT
	case *GetPropertiesSpecificRequest:
		return s.ropGetPropertiesSpecific(ctx, x, in, st)
	case *GetPropertiesAllRequest:
		return s.ropGetPropertiesAll(ctx, x, in, st)
	case *GetPropertiesListRequest:
		return s.ropGetPropertiesList(ctx, x, in)
	case *SetPropertiesRequest:
		return s.ropSetProperties(ctx, x, in, x.Properties)
	case *SetPropertiesNoReplicateRequest:
		return s.ropSetProperties(ctx, x, in, x.Properties)
	case *DeletePropertiesRequest:
		return s.ropDeleteProperties(ctx, x, in, x.PropertyTags)
	case *DeletePropertiesNoReplicateRequest:
		return s.ropDeleteProperties(ctx, x, in, x.PropertyTags)
	case *CopyPropertiesRequest:
		return s.ropCopyProperties(ctx, x, in, st)
	case *CopyToRequest:
		return s.ropCopyTo(ctx, x, in, st)
	case *GetPropertyIdsFromNamesRequest:
		return s.ropGetPropertyIdsFromNames(ctx, x, in)
	case *GetNamesFromPropertyIdsRequest:
		return s.ropGetNamesFromPropertyIds(ctx, x, in)
	case *QueryNamedPropertiesRequest:
		return s.ropQueryNamedProperties(ctx, x, in)
	case *OpenStreamRequest:
		return s.ropOpenStream(ctx, x, in, st)
	case *ReadStreamRequest:
		return s.ropReadStream(ctx, x, in, st)
	case *WriteStreamRequest:
		return s.ropWriteStream(ctx, x, in, x.Data, false)
	case *WriteAndCommitStreamRequest:
		return s.ropWriteStream(ctx, x, in, x.Data, true)
	case *WriteStreamExtendedRequest:
		return s.ropWriteStreamExtended(ctx, x, in)
	case *CommitStreamRequest:
		return s.ropCommitStream(ctx, x, in)
	case *GetStreamSizeRequest:
		return s.ropGetStreamSize(ctx, x, in)
	case *SetStreamSizeRequest:
		return s.ropSetStreamSize(ctx, x, in)
	case *SeekStreamRequest:
		return s.ropSeekStream(ctx, x, in)
	case *CopyToStreamRequest:
		return s.ropCopyToStream(ctx, x, in, st)
	case *CloneStreamRequest:
		return s.ropCloneStream(ctx, x, in, st)
	case *LockRegionStreamRequest, *UnlockRegionStreamRequest:
		if _, ok := in.obj.(*streamObj); !ok {
			return nil, mp.ErrNotSupported
		}
		return NewResponse(req) // MS-OXCPRPT 3.2.5.16: locking is optional
	// MS-OXOMSG
	case *SubmitMessageRequest:
		return s.ropSubmitMessage(ctx, x, in)
	case *TransportSendRequest:
		return s.ropTransportSend(ctx, x, in)
	case *AbortSubmitRequest:
		return s.ropAbortSubmit(ctx, x, in)
	case *SpoolerLockMessageRequest:
		return s.ropSpoolerLockMessage(ctx, x, in)
	case *SetSpoolerRequest:
		return s.ropSetSpooler(ctx, x, in)
	case *GetAddressTypesRequest:
		return s.ropGetAddressTypes(ctx, x, in)
	case *GetTransportFolderRequest:
		return s.ropGetTransportFolder(ctx, x, in)
	case *OptionsDataRequest:
		return s.ropOptionsData(ctx, x, in)
	// MS-OXORULE, MS-OXCPERM
	case *GetRulesTableRequest:
		return s.ropGetRulesTable(ctx, x, in, st)
	case *ModifyRulesRequest:
		return s.ropModifyRules(ctx, x, in)
	case *GetPermissionsTableRequest:
		return s.ropGetPermissionsTable(ctx, x, in, st)
	case *ModifyPermissionsRequest:
		return s.ropModifyPermissions(ctx, x, in)
	// MS-OXCNOTIF: the subscription object; its events are made in
	// notify_emit.go and ride on later Execute responses.
	case *RegisterNotificationRequest:
		return s.ropRegisterNotification(ctx, x, in, st)
	}
	// Known layout, no handler (search folders, fast transfer, ICS, public
	// folders, per-user information): MS-OXCROPS lets the ROP fail alone.
	return nil, mp.ErrNotSupported
}

// setOutput stores a new object's handle in the output slot; the slot is
// checked before the object is made.
func (st *execState) outputOK(idx uint8) error {
	if int(idx) >= len(st.handles) {
		return mp.ErrInvalidObject
	}
	return nil
}

// open makes a child object of parent and puts its handle in the output slot.
func (s *Session) open(st *execState, idx uint8, parent *handleEntry, obj any) error {
	if err := st.outputOK(idx); err != nil {
		return err
	}
	e, err := s.newHandle(parent.logonID, parent, obj)
	if err != nil {
		return err
	}
	st.handles[idx] = e.handle
	return nil
}
