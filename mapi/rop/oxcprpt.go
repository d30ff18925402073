package rop

import (
	"context"
	"sort"
	"time"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
)

// Property, named-property and stream ROPs (MS-OXCPRPT).

// errStreamSeek is StreamSeekError (MS-OXCPRPT 3.2.5.20).
const errStreamSeek mp.ErrorCode = 0x80030019

// maxStreamSize bounds what one stream holds in memory.
const maxStreamSize = 64 << 20

func propsOf(ctx context.Context, s *Session, in *handleEntry, full bool) (propObject, oxcmail.Props, error) {
	obj, ok := propObjectOf(in)
	if !ok {
		return nil, oxcmail.Props{}, mp.ErrNotSupported
	}
	p, err := obj.getProps(ctx, s, full)
	return obj, p, err
}

func wantsRTF(tags []mp.Tag) bool {
	for _, t := range tags {
		if t.ID() == mp.PidTagRtfCompressed.ID() {
			return true
		}
	}
	return false
}

// shrinkRow turns the largest values of a row into ecMAPIOOM until the
// row fits (MS-OXCPRPT 3.2.5.1: the client then opens streams).
func shrinkRow(tags []mp.Tag, vals []mp.Value, budget int) mp.PropertyRow {
	for {
		row := mp.NewPropertyRow(tags, vals)
		w := mp.NewWriter()
		w.PropertyRow(tags, row)
		if w.Len() <= budget || w.Err() != nil {
			return row
		}
		big, size := -1, 0x100
		for i, v := range vals {
			if v.IsError() {
				continue
			}
			if n := approxSize(v); n > size {
				big, size = i, n
			}
		}
		if big < 0 {
			return row
		}
		vals[big] = mp.ErrorValue(tags[big], mp.ErrMAPIOOM)
	}
}

// ropGetPropertiesSpecific (MS-OXCPRPT 3.2.5.1).
func (s *Session) ropGetPropertiesSpecific(ctx context.Context, x *GetPropertiesSpecificRequest, in *handleEntry, st *execState) (Response, error) {
	_, p, err := propsOf(ctx, s, in, wantsRTF(x.PropertyTags))
	if err != nil {
		return nil, err
	}
	limit := int(x.PropertySizeLimit)
	if limit == 0 {
		limit = defaultSizeLimit
	}
	opts := getOptions{unicode: x.WantUnicode != 0, limit: limit}
	vals := make([]mp.Value, len(x.PropertyTags))
	for i, t := range x.PropertyTags {
		if a, ok := in.obj.(*attachObj); ok && t.ID() == mp.PidTagAttachDataBinary.ID() && !p.Has(t) {
			vals[i] = attachDataValue(a, t, limit)
			continue
		}
		vals[i] = outValue(t, p, opts)
	}
	resp := newResp[*GetPropertiesSpecificResponse](x)
	resp.PropertyTags = x.PropertyTags
	resp.Row = shrinkRow(x.PropertyTags, vals, st.budget-7)
	return resp, nil
}

// attachDataValue reads an attachment's data only when it is small enough
// to answer inline.
func attachDataValue(a *attachObj, t mp.Tag, limit int) mp.Value {
	if a.att.Embedded != nil || a.att.Part == nil {
		return mp.ErrorValue(t, mp.ErrNotFound)
	}
	if a.att.Part.Size > int64(limit)*2 {
		return mp.ErrorValue(t, mp.ErrMAPIOOM)
	}
	data := a.data()
	if len(data)+2 > limit {
		return mp.ErrorValue(t, mp.ErrMAPIOOM)
	}
	return mp.BinaryValue(t, data)
}

// ropGetPropertiesAll (MS-OXCPRPT 3.2.5.2).
func (s *Session) ropGetPropertiesAll(ctx context.Context, x *GetPropertiesAllRequest, in *handleEntry, st *execState) (Response, error) {
	_, p, err := propsOf(ctx, s, in, false)
	if err != nil {
		return nil, err
	}
	limit := int(x.PropertySizeLimit)
	if limit == 0 {
		limit = defaultSizeLimit
	}
	opts := getOptions{unicode: x.WantUnicode != 0, limit: limit}
	resp := newResp[*GetPropertiesAllResponse](x)
	used := 9
	for _, v := range p.Values() {
		t := v.Tag
		if t.Type() == mp.PtypObject || !t.Type().Known() {
			continue
		}
		out := outValue(t.WithType(mp.PtypUnspecified), p, opts)
		if out.IsError() {
			out.Tag = t.WithType(mp.PtypErrorCode)
		}
		n := 4 + approxSize(out)
		if used+n > st.budget && !out.IsError() {
			out = mp.ErrorValue(t, mp.ErrMAPIOOM)
			n = 8
		}
		used += n
		resp.Properties = append(resp.Properties, out)
	}
	return resp, nil
}

// ropGetPropertiesList (MS-OXCPRPT 3.2.5.3).
func (s *Session) ropGetPropertiesList(ctx context.Context, x *GetPropertiesListRequest, in *handleEntry) (Response, error) {
	_, p, err := propsOf(ctx, s, in, false)
	if err != nil {
		return nil, err
	}
	resp := newResp[*GetPropertiesListResponse](x)
	for _, t := range p.Tags() {
		if t.Type() != mp.PtypObject {
			resp.PropertyTags = append(resp.PropertyTags, t)
		}
	}
	return resp, nil
}

// ropSetProperties answers RopSetProperties and RopSetPropertiesNoReplicate
// (MS-OXCPRPT 3.2.5.4, 3.2.5.5): there is no replication to skip.
func (s *Session) ropSetProperties(ctx context.Context, req Request, in *handleEntry, vals []mp.Value) (Response, error) {
	obj, ok := propObjectOf(in)
	if !ok {
		return nil, mp.ErrNotSupported
	}
	problems, err := obj.setProps(ctx, s, vals)
	if err != nil {
		return nil, err
	}
	resp, err := NewResponse(req)
	if err != nil {
		return nil, err
	}
	switch r := resp.(type) {
	case *SetPropertiesResponse:
		r.Problems = problems
	case *SetPropertiesNoReplicateResponse:
		r.Problems = problems
	}
	return resp, nil
}

// ropDeleteProperties answers RopDeleteProperties and its NoReplicate form
// (MS-OXCPRPT 3.2.5.6, 3.2.5.7).
func (s *Session) ropDeleteProperties(ctx context.Context, req Request, in *handleEntry, tags []mp.Tag) (Response, error) {
	obj, ok := propObjectOf(in)
	if !ok {
		return nil, mp.ErrNotSupported
	}
	problems, err := obj.deleteProps(ctx, s, tags)
	if err != nil {
		return nil, err
	}
	resp, err := NewResponse(req)
	if err != nil {
		return nil, err
	}
	switch r := resp.(type) {
	case *DeletePropertiesResponse:
		r.Problems = problems
	case *DeletePropertiesNoReplicateResponse:
		r.Problems = problems
	}
	return resp, nil
}

// sameKind tells whether two objects can copy properties to each other.
func sameKind(a, b any) bool {
	switch a.(type) {
	case *messageObj:
		_, ok := b.(*messageObj)
		return ok
	case *attachObj:
		_, ok := b.(*attachObj)
		return ok
	case *folderObj:
		_, ok := b.(*folderObj)
		return ok
	case *logonObj:
		_, ok := b.(*logonObj)
		return ok
	}
	return false
}

// copyable reports properties worth copying between objects: not the ids
// and keys an object computes for itself.
func copyable(t mp.Tag) bool {
	return t.Type() != mp.PtypObject && !computedMessageTag(t.ID()) && !folderComputed(t) && !storeComputed(t) &&
		t.ID() != mp.PidTagAttachNumber.ID()
}

// ropCopyProperties copies the listed properties (MS-OXCPRPT 3.2.5.10).
func (s *Session) ropCopyProperties(ctx context.Context, x *CopyPropertiesRequest, in *handleEntry, st *execState) (Response, error) {
	src, sp, err := propsOf(ctx, s, in, false)
	if err != nil {
		return nil, err
	}
	dstEntry, ec := s.lookup(st.handles, x.DestHandleIndex, x.LogonID)
	var dst propObject
	if ec == mp.Success {
		dst, _ = propObjectOf(dstEntry)
	}
	if dst == nil {
		resp := newResp[*CopyPropertiesResponse](x)
		resp.ReturnValue, resp.DestHandleIndex = mp.ErrDstNullObject, uint32(x.DestHandleIndex)
		return resp, nil
	}
	if !sameKind(in.obj, dstEntry.obj) {
		return nil, mp.ErrInvalidParam
	}
	var dp oxcmail.Props
	if x.CopyFlags&CopyFlagNoOverwrite != 0 {
		if dp, err = dst.getProps(ctx, s, false); err != nil {
			return nil, err
		}
	}
	var vals []mp.Value
	var idx []int
	var problems []mp.PropertyProblem
	var moved []mp.Tag
	for i, t := range x.PropertyTags {
		v, ok := sp.Get(t.WithType(mp.PtypUnspecified))
		if !ok || !copyable(t) {
			problems = append(problems, problem(i, t, mp.ErrNotFound))
			continue
		}
		if x.CopyFlags&CopyFlagNoOverwrite != 0 && dp.Has(t) {
			continue
		}
		vals = append(vals, v)
		idx = append(idx, i)
		moved = append(moved, v.Tag)
	}
	ps, err := dst.setProps(ctx, s, vals)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		p.Index = uint16(idx[p.Index])
		problems = append(problems, p)
	}
	if x.CopyFlags&CopyFlagMove != 0 && len(moved) > 0 {
		if _, err := src.deleteProps(ctx, s, moved); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Index < problems[j].Index })
	resp := newResp[*CopyPropertiesResponse](x)
	resp.Problems = problems
	return resp, nil
}

// ropCopyTo copies every property but the excluded ones, and for messages
// with WantSubObjects the recipients and attachments (MS-OXCPRPT 3.2.5.11).
func (s *Session) ropCopyTo(ctx context.Context, x *CopyToRequest, in *handleEntry, st *execState) (Response, error) {
	src, sp, err := propsOf(ctx, s, in, false)
	if err != nil {
		return nil, err
	}
	dstEntry, ec := s.lookup(st.handles, x.DestHandleIndex, x.LogonID)
	var dst propObject
	if ec == mp.Success {
		dst, _ = propObjectOf(dstEntry)
	}
	if dst == nil {
		resp := newResp[*CopyToResponse](x)
		resp.ReturnValue, resp.DestHandleIndex = mp.ErrDstNullObject, uint32(x.DestHandleIndex)
		return resp, nil
	}
	if !sameKind(in.obj, dstEntry.obj) || in == dstEntry {
		return nil, mp.ErrInvalidParam
	}
	excluded := map[uint16]bool{}
	for _, t := range x.ExcludedTags {
		excluded[t.ID()] = true
	}
	var dp oxcmail.Props
	if x.CopyFlags&CopyFlagNoOverwrite != 0 {
		if dp, err = dst.getProps(ctx, s, false); err != nil {
			return nil, err
		}
	}
	var vals []mp.Value
	for _, v := range sp.Values() {
		if excluded[v.Tag.ID()] || !copyable(v.Tag) || !storable(v) {
			continue
		}
		if x.CopyFlags&CopyFlagNoOverwrite != 0 && dp.Has(v.Tag) {
			continue
		}
		vals = append(vals, v)
	}
	problems, err := dst.setProps(ctx, s, vals)
	if err != nil {
		return nil, err
	}
	if sm, ok := in.obj.(*messageObj); ok && x.WantSubObjects {
		dm := dstEntry.obj.(*messageObj)
		c := cloneMessage(sm.content)
		if !excluded[mp.PidTagMessageRecipients.ID()] {
			dm.content.Recipients = c.Recipients
		}
		if !excluded[mp.PidTagMessageAttachments.ID()] {
			dm.content.Attachments = c.Attachments
			dm.nextAttach = nextAttachNum(dm.content)
		}
		dm.contentChanged = true
	}
	if sa, ok := in.obj.(*attachObj); ok {
		da := dstEntry.obj.(*attachObj)
		if sa.att.Embedded != nil && x.WantSubObjects {
			da.att.Embedded = cloneMessage(sa.att.Embedded)
		}
		if sa.att.Part != nil && !da.att.Props.Has(mp.PidTagAttachDataBinary) && !excluded[mp.PidTagAttachDataBinary.ID()] {
			da.att.Props.Set(mp.BinaryValue(mp.PidTagAttachDataBinary, sa.data()))
		}
	}
	if x.CopyFlags&CopyFlagMove != 0 {
		var tags []mp.Tag
		for _, v := range vals {
			tags = append(tags, v.Tag)
		}
		if _, err := src.deleteProps(ctx, s, tags); err != nil {
			return nil, err
		}
	}
	resp := newResp[*CopyToResponse](x)
	resp.Problems = problems
	return resp, nil
}

// ropGetPropertyIdsFromNames maps names to ids, creating them when asked
// (MS-OXCPRPT 3.2.5.8); unmapped names get 0 and ecWarnWithErrors.
func (s *Session) ropGetPropertyIdsFromNames(ctx context.Context, x *GetPropertyIdsFromNamesRequest, in *handleEntry) (Response, error) {
	ids, err := s.srv.namedIDs(ctx, s.mbox.accountID, x.PropertyNames, x.Flags&GetPropertyIdsCreate != 0)
	if err != nil {
		return nil, err
	}
	resp := newResp[*GetPropertyIdsFromNamesResponse](x)
	resp.PropertyIDs = ids
	for _, id := range ids {
		if id == 0 {
			resp.ReturnValue = mp.ErrWarnWithErrors
			break
		}
	}
	return resp, nil
}

// ropGetNamesFromPropertyIds (MS-OXCPRPT 3.2.5.9): an id without a name
// answers a name of kind 0xFF.
func (s *Session) ropGetNamesFromPropertyIds(ctx context.Context, x *GetNamesFromPropertyIdsRequest, in *handleEntry) (Response, error) {
	names, ok, err := s.srv.namesOf(ctx, s.mbox.accountID, x.PropertyIDs)
	if err != nil {
		return nil, err
	}
	resp := newResp[*GetNamesFromPropertyIdsResponse](x)
	for i, n := range names {
		if !ok[i] {
			n = mp.PropertyName{Kind: mp.KindNone}
		}
		resp.PropertyNames = append(resp.PropertyNames, n)
	}
	return resp, nil
}

// ropQueryNamedProperties lists the mailbox's named properties
// (MS-OXCPRPT 3.2.5.12).
func (s *Session) ropQueryNamedProperties(ctx context.Context, x *QueryNamedPropertiesRequest, in *handleEntry) (Response, error) {
	guid := ""
	if x.PropertyGUID != nil {
		guid = guidString(*x.PropertyGUID)
	}
	entries, err := s.srv.store.NamedProps(ctx, s.mbox.accountID, guid)
	if err != nil {
		return nil, err
	}
	resp := newResp[*QueryNamedPropertiesResponse](x)
	for _, e := range entries {
		if x.QueryFlags&QueryNamedNoStrings != 0 && !e.Name.IsLID || x.QueryFlags&QueryNamedNoIDs != 0 && e.Name.IsLID {
			continue
		}
		n, ok := fromStorageName(e.Name)
		if !ok {
			continue
		}
		resp.PropertyIDs = append(resp.PropertyIDs, e.ID)
		resp.PropertyNames = append(resp.PropertyNames, n)
	}
	return resp, nil
}

// --- streams ---

// streamObj is an opened property stream (MS-OXCPRPT 3.2.5.13 ff.). It
// holds the value in memory; writes reach the object on commit or release.
type streamObj struct {
	s        *Session
	owner    propObject
	tag      mp.Tag
	data     []byte
	pos      int64
	writable bool
	dirty    bool
}

// streamBytes returns a property's stream form: UTF-16LE without the
// terminator for PtypString, 8-bit for PtypString8, the bytes of binaries.
func streamBytes(v mp.Value, t mp.Tag, cp uint32) ([]byte, bool) {
	switch d := v.Data.(type) {
	case string:
		if t.Type() == mp.PtypString8 {
			b, err := mp.EncodeString8(d, cp)
			return b, err == nil
		}
		return mp.EncodeUTF16(d), true
	case []byte:
		return d, true
	}
	return nil, false
}

// valueOfStream is the inverse of streamBytes.
func valueOfStream(t mp.Tag, b []byte, cp uint32) mp.Value {
	switch t.Type() {
	case mp.PtypString:
		if len(b)%2 == 1 {
			b = b[:len(b)-1]
		}
		s := mp.DecodeUTF16(b)
		for len(s) > 0 && s[len(s)-1] == 0 {
			s = s[:len(s)-1]
		}
		return mp.StringValue(t, s)
	case mp.PtypString8:
		s, _ := mp.DecodeString8(b, cp)
		return mp.StringValue(t, s)
	}
	return mp.BinaryValue(t, append([]byte{}, b...))
}

func (st *streamObj) commit(ctx context.Context) error {
	if !st.dirty {
		return nil
	}
	v := valueOfStream(st.tag, st.data, st.s.codePage)
	if a, ok := st.owner.(*attachObj); ok && st.tag.ID() == mp.PidTagAttachDataBinary.ID() {
		a.att.Part = nil
	}
	problems, err := st.owner.setProps(ctx, st.s, []mp.Value{v})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return problems[0].Err
	}
	st.dirty = false
	return nil
}

// released commits what a released stream still holds (MS-OXCPRPT
// 3.2.5.14: release commits like RopCommitStream).
func (st *streamObj) released() {
	if !st.dirty {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.commit(ctx); err != nil {
		st.s.log.Warn("committing a released stream", "tag", st.tag, "err", err)
	}
}

func streamOf(e *handleEntry) (*streamObj, error) {
	st, ok := e.obj.(*streamObj)
	if !ok {
		return nil, mp.ErrNotSupported
	}
	return st, nil
}

// writableObject tells whether the object accepts changes.
func writableObject(obj propObject) bool {
	switch o := obj.(type) {
	case *messageObj:
		return o.writable && !o.submitted
	case *attachObj:
		return o.writable
	}
	return true
}

// ropOpenStream (MS-OXCPRPT 3.2.5.13).
func (s *Session) ropOpenStream(ctx context.Context, x *OpenStreamRequest, in *handleEntry, st *execState) (Response, error) {
	obj, ok := propObjectOf(in)
	if !ok {
		return nil, mp.ErrNotSupported
	}
	if err := st.outputOK(x.OutputHandleIndex); err != nil {
		return nil, err
	}
	switch x.PropertyTag.Type() {
	case mp.PtypBinary, mp.PtypString, mp.PtypString8:
	case mp.PtypObject:
		return nil, mp.ErrNotSupported // embedded messages open with RopOpenEmbeddedMessage
	default:
		return nil, mp.ErrNotSupported
	}
	var writable bool
	switch x.OpenModeFlags {
	case StreamReadOnly:
	case StreamReadWrite, StreamCreate:
		if !writableObject(obj) {
			return nil, mp.ErrAccessDenied
		}
		writable = true
	case StreamBestAccess:
		writable = writableObject(obj)
	default:
		return nil, mp.ErrInvalidParam
	}
	var data []byte
	if x.OpenModeFlags != StreamCreate {
		p, err := obj.getProps(ctx, s, x.PropertyTag.ID() == mp.PidTagRtfCompressed.ID())
		if err != nil {
			return nil, err
		}
		v, found := p.Get(x.PropertyTag)
		if found {
			data, found = streamBytes(v, x.PropertyTag, s.codePage)
		} else if a, ok := obj.(*attachObj); ok && x.PropertyTag.ID() == mp.PidTagAttachDataBinary.ID() && a.att.Part != nil {
			data, found = a.data(), true
		}
		if !found {
			return nil, mp.ErrNotFound
		}
		data = append([]byte{}, data...)
	}
	if len(data) > maxStreamSize {
		return nil, mp.ErrTooBig
	}
	sobj := &streamObj{s: s, owner: obj, tag: x.PropertyTag, data: data, writable: writable}
	if x.OpenModeFlags == StreamCreate {
		sobj.dirty = true // creating empties the property
	}
	if err := s.open(st, x.OutputHandleIndex, in, sobj); err != nil {
		return nil, err
	}
	resp := newResp[*OpenStreamResponse](x)
	resp.StreamSize = uint32(len(data))
	return resp, nil
}

// ropReadStream (MS-OXCPRPT 3.2.5.14): fewer bytes at the end or when the
// output buffer is full.
func (s *Session) ropReadStream(ctx context.Context, x *ReadStreamRequest, in *handleEntry, st *execState) (Response, error) {
	so, err := streamOf(in)
	if err != nil {
		return nil, err
	}
	n := int64(x.Limit())
	n = min(n, int64(st.budget-8), 0xFFFF)
	if rem := int64(len(so.data)) - so.pos; n > rem {
		n = rem
	}
	resp := newResp[*ReadStreamResponse](x)
	if n > 0 {
		resp.Data = so.data[so.pos : so.pos+n]
		so.pos += n
	}
	return resp, nil
}

func (so *streamObj) write(b []byte) (int, error) {
	if !so.writable {
		return 0, mp.ErrAccessDenied
	}
	end := so.pos + int64(len(b))
	if end > maxStreamSize {
		return 0, mp.ErrTooBig
	}
	if end > int64(len(so.data)) {
		so.data = append(so.data, make([]byte, end-int64(len(so.data)))...)
	}
	copy(so.data[so.pos:], b)
	so.pos = end
	so.dirty = true
	return len(b), nil
}

// ropWriteStream answers RopWriteStream and RopWriteAndCommitStream
// (MS-OXCPRPT 3.2.5.15, 3.2.5.21).
func (s *Session) ropWriteStream(ctx context.Context, req Request, in *handleEntry, data []byte, commit bool) (Response, error) {
	so, err := streamOf(in)
	if err != nil {
		return nil, err
	}
	n, err := so.write(data)
	if err != nil {
		return nil, err
	}
	if commit {
		if err := so.commit(ctx); err != nil {
			return nil, err
		}
	}
	resp, err := NewResponse(req)
	if err != nil {
		return nil, err
	}
	switch r := resp.(type) {
	case *WriteStreamResponse:
		r.WrittenSize = uint16(n)
	case *WriteAndCommitStreamResponse:
		r.WrittenSize = uint16(n)
	}
	return resp, nil
}

// ropWriteStreamExtended (MS-OXCPRPT 3.2.5.22).
func (s *Session) ropWriteStreamExtended(ctx context.Context, x *WriteStreamExtendedRequest, in *handleEntry) (Response, error) {
	so, err := streamOf(in)
	if err != nil {
		return nil, err
	}
	n, err := so.write(x.Data)
	if err != nil {
		return nil, err
	}
	resp := newResp[*WriteStreamExtendedResponse](x)
	resp.WrittenSize = uint32(n)
	return resp, nil
}

// ropCommitStream (MS-OXCPRPT 3.2.5.16).
func (s *Session) ropCommitStream(ctx context.Context, x *CommitStreamRequest, in *handleEntry) (Response, error) {
	so, err := streamOf(in)
	if err != nil {
		return nil, err
	}
	if err := so.commit(ctx); err != nil {
		return nil, err
	}
	return newResp[*CommitStreamResponse](x), nil
}

// ropGetStreamSize (MS-OXCPRPT 3.2.5.17).
func (s *Session) ropGetStreamSize(ctx context.Context, x *GetStreamSizeRequest, in *handleEntry) (Response, error) {
	so, err := streamOf(in)
	if err != nil {
		return nil, err
	}
	resp := newResp[*GetStreamSizeResponse](x)
	resp.StreamSize = uint32(len(so.data))
	return resp, nil
}

// ropSetStreamSize (MS-OXCPRPT 3.2.5.18).
func (s *Session) ropSetStreamSize(ctx context.Context, x *SetStreamSizeRequest, in *handleEntry) (Response, error) {
	so, err := streamOf(in)
	if err != nil {
		return nil, err
	}
	if !so.writable {
		return nil, mp.ErrAccessDenied
	}
	if x.StreamSize > maxStreamSize {
		return nil, mp.ErrTooBig
	}
	n := int(x.StreamSize)
	if n < len(so.data) {
		so.data = so.data[:n]
	} else {
		so.data = append(so.data, make([]byte, n-len(so.data))...)
	}
	so.dirty = true
	return newResp[*SetStreamSizeResponse](x), nil
}

// ropSeekStream (MS-OXCPRPT 3.2.5.19).
func (s *Session) ropSeekStream(ctx context.Context, x *SeekStreamRequest, in *handleEntry) (Response, error) {
	so, err := streamOf(in)
	if err != nil {
		return nil, err
	}
	var base int64
	switch x.Origin {
	case SeekBeginning:
	case SeekCurrent:
		base = so.pos
	case SeekEnd:
		base = int64(len(so.data))
	default:
		return nil, mp.ErrInvalidParam
	}
	pos := base + x.Offset
	if (x.Offset > 0 && pos < base) || pos < 0 || pos > maxStreamSize {
		return nil, errStreamSeek
	}
	so.pos = pos
	resp := newResp[*SeekStreamResponse](x)
	resp.NewPosition = uint64(pos)
	return resp, nil
}

// ropCopyToStream copies bytes from the stream to another (MS-OXCPRPT
// 3.2.5.20).
func (s *Session) ropCopyToStream(ctx context.Context, x *CopyToStreamRequest, in *handleEntry, st *execState) (Response, error) {
	src, err := streamOf(in)
	if err != nil {
		return nil, err
	}
	dstEntry, ec := s.lookup(st.handles, x.DestHandleIndex, x.LogonID)
	var dst *streamObj
	if ec == mp.Success {
		dst, _ = dstEntry.obj.(*streamObj)
	}
	resp := newResp[*CopyToStreamResponse](x)
	if dst == nil {
		resp.ReturnValue, resp.DestHandleIndex = mp.ErrDstNullObject, uint32(x.DestHandleIndex)
		return resp, nil
	}
	n := min(x.ByteCount, uint64(int64(len(src.data))-min(src.pos, int64(len(src.data)))))
	chunk := append([]byte{}, src.data[src.pos:src.pos+int64(n)]...)
	w, err := dst.write(chunk)
	if err != nil {
		return nil, err
	}
	src.pos += int64(n)
	resp.ReadByteCount, resp.WrittenByteCount = n, uint64(w)
	return resp, nil
}

// ropCloneStream opens a second stream over the same value with its own
// position (MS-OXCPRPT 3.2.5.23).
func (s *Session) ropCloneStream(ctx context.Context, x *CloneStreamRequest, in *handleEntry, st *execState) (Response, error) {
	so, err := streamOf(in)
	if err != nil {
		return nil, err
	}
	c := &streamObj{s: s, owner: so.owner, tag: so.tag, data: append([]byte{}, so.data...), pos: so.pos}
	if err := s.open(st, x.OutputHandleIndex, in, c); err != nil {
		return nil, err
	}
	return newResp[*CloneStreamResponse](x), nil
}
