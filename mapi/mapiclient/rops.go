package mapiclient

import (
	"context"
	"errors"
	"fmt"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/mapi/rop"
)

// The sequences a real client performs (MAPI.md §12), each in as few
// Execute round trips as Outlook uses. Objects are named by their server
// handles; a Batch maps them to handle-table slots.

// ROPError is a ROP that failed with a non-zero ReturnValue.
type ROPError struct {
	Rop  rop.RopID
	Code mp.ErrorCode
}

func (e *ROPError) Error() string { return fmt.Sprintf("mapiclient: %s: %v", e.Rop, e.Code) }

// Unwrap lets errors.Is match the ErrorCode.
func (e *ROPError) Unwrap() error { return e.Code }

// Check returns a *ROPError when resp failed.
func Check(resp rop.Response) error {
	sr, ok := resp.(rop.StandardResponse)
	if !ok {
		return nil
	}
	if ec := sr.Header().ReturnValue; ec != mp.Success {
		return &ROPError{Rop: resp.RopID(), Code: ec}
	}
	return nil
}

// Batch builds one Execute. In and Out give handle-table slots for input
// objects and for the objects the ROPs create; Add appends ROPs under the
// client's logon id.
type Batch struct {
	c       *Client
	handles []uint32
	reqs    []rop.Request
}

// NewBatch starts an Execute.
func (c *Client) NewBatch() *Batch { return &Batch{c: c} }

// In returns the slot holding server handle h.
func (b *Batch) In(h uint32) uint8 {
	for i, x := range b.handles {
		if x == h && h != rop.EmptyHandle {
			return uint8(i)
		}
	}
	b.handles = append(b.handles, h)
	return uint8(len(b.handles) - 1)
}

// Out returns a new empty slot for an output handle.
func (b *Batch) Out() uint8 {
	b.handles = append(b.handles, rop.EmptyHandle)
	return uint8(len(b.handles) - 1)
}

// Add appends requests, setting their LogonId to the client's.
func (b *Batch) Add(reqs ...rop.Request) {
	for _, r := range reqs {
		r.Header().LogonID = b.c.LogonID()
		b.reqs = append(b.reqs, r)
	}
}

// Run sends the batch. With check set, the first failing ROP is returned
// as a *ROPError (the result is returned too).
func (b *Batch) Run(ctx context.Context, check bool) (*Result, error) {
	if len(b.handles) == 0 {
		b.handles = []uint32{rop.EmptyHandle}
	}
	res, err := b.c.Execute(ctx, b.reqs, b.handles)
	if err != nil || !check {
		return res, err
	}
	for _, resp := range res.Responses {
		if err := Check(resp); err != nil {
			return res, err
		}
		if resp.RopID() == rop.RopBufferTooSmall {
			return res, fmt.Errorf("mapiclient: RopBufferTooSmall")
		}
	}
	if n := countAnswered(b.reqs); len(res.Responses) < n {
		return res, fmt.Errorf("mapiclient: %d responses for %d requests", len(res.Responses), n)
	}
	return res, nil
}

func countAnswered(reqs []rop.Request) int {
	n := 0
	for _, r := range reqs {
		if r.RopID() != rop.RopRelease {
			n++
		}
	}
	return n
}

// LogonID is the logon id the client's ROPs carry.
func (c *Client) LogonID() uint8 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logonID
}

// Logon opens the user's private mailbox (RopLogon, MS-OXCSTOR 2.2.1.1)
// as logon id logonID and returns the logon handle and the response with
// the special folder ids.
func (c *Client) Logon(ctx context.Context, logonID uint8) (uint32, *rop.LogonResponse, error) {
	c.mu.Lock()
	c.logonID = logonID
	c.mu.Unlock()
	b := c.NewBatch()
	out := b.Out()
	b.Add(&rop.LogonRequest{
		RequestHeader: rop.RequestHeader{InputHandleIndex: out}, OutputHandleIndex: out,
		LogonFlags: rop.LogonFlagPrivate,
		OpenFlags:  rop.OpenFlagUsePerMDBReplIDMapping | rop.OpenFlagTakeOwnership | rop.OpenFlagHomeLogon,
		Essdn:      c.opts.UserDN,
	})
	res, err := b.Run(ctx, true)
	if err != nil {
		return 0, nil, err
	}
	return res.Handle(out), res.Responses[0].(*rop.LogonResponse), nil
}

// Release frees server objects (RopRelease has no response).
func (c *Client) Release(ctx context.Context, handles ...uint32) error {
	if len(handles) == 0 {
		return nil
	}
	b := c.NewBatch()
	for _, h := range handles {
		b.Add(&rop.ReleaseRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: b.In(h)}})
	}
	_, err := b.Run(ctx, true)
	return err
}

// OpenFolder opens folder fid under parent (the logon or a folder) and
// returns its handle.
func (c *Client) OpenFolder(ctx context.Context, parent uint32, fid mp.ID) (uint32, error) {
	b := c.NewBatch()
	in, out := b.In(parent), b.Out()
	b.Add(&rop.OpenFolderRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: out, FolderID: fid})
	res, err := b.Run(ctx, true)
	if err != nil {
		return 0, err
	}
	return res.Handle(out), nil
}

// TableQuery describes a table read: its columns, optional sort and
// restriction, and how many rows to fetch.
type TableQuery struct {
	Columns  []mp.Tag
	Sort     *mp.SortOrderSet
	Restrict mp.Restriction
	MaxRows  uint16
}

// Table is what a table read returned.
type Table struct {
	RowCount uint32 // RowCount of the Get*Table response (before restriction)
	Rows     []mp.PropertyRow
	Origin   uint8 // of the last QueryRows
}

// addQuery appends SetColumns, SortTable, Restrict and QueryRows on slot.
func addQuery(b *Batch, slot uint8, q TableQuery) {
	h := rop.RequestHeader{InputHandleIndex: slot}
	b.Add(&rop.SetColumnsRequest{RequestHeader: h, PropertyTags: q.Columns})
	if q.Sort != nil {
		b.Add(&rop.SortTableRequest{RequestHeader: h, SortOrderSet: *q.Sort})
	}
	if q.Restrict != nil {
		b.Add(&rop.RestrictRequest{RequestHeader: h, Restriction: q.Restrict})
	}
	max := q.MaxRows
	if max == 0 {
		max = 0xFFFF
	}
	b.Add(&rop.QueryRowsRequest{RequestHeader: h, ForwardRead: true, RowCount: max})
}

// readTable runs a batch whose last ROPs are addQuery's, then releases
// the table.
func (c *Client) readTable(ctx context.Context, b *Batch, tableSlot uint8) (*Table, error) {
	b.Add(&rop.ReleaseRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tableSlot}})
	res, err := b.Run(ctx, true)
	if err != nil {
		return nil, err
	}
	t := &Table{}
	for _, resp := range res.Responses {
		switch x := resp.(type) {
		case *rop.GetHierarchyTableResponse:
			t.RowCount = x.RowCount
		case *rop.GetContentsTableResponse:
			t.RowCount = x.RowCount
		case *rop.QueryRowsResponse:
			t.Rows = append(t.Rows, x.Rows...)
			t.Origin = x.Origin
		}
	}
	return t, nil
}

// HierarchyTable reads the subfolders of folder (RopGetHierarchyTable with
// flags, then the query), in one Execute.
func (c *Client) HierarchyTable(ctx context.Context, folder uint32, flags uint8, q TableQuery) (*Table, error) {
	b := c.NewBatch()
	in, out := b.In(folder), b.Out()
	b.Add(&rop.GetHierarchyTableRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: out, TableFlags: flags})
	addQuery(b, out, q)
	return c.readTable(ctx, b, out)
}

// ContentsTable reads the messages of folder (RopGetContentsTable with
// flags, then the query), in one Execute.
func (c *Client) ContentsTable(ctx context.Context, folder uint32, flags uint8, q TableQuery) (*Table, error) {
	b := c.NewBatch()
	in, out := b.In(folder), b.Out()
	b.Add(&rop.GetContentsTableRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: out, TableFlags: flags})
	addQuery(b, out, q)
	return c.readTable(ctx, b, out)
}

// OpenMessage opens message mid of folder fid through parent (the logon
// or the folder).
func (c *Client) OpenMessage(ctx context.Context, parent uint32, fid, mid mp.ID, mode uint8) (uint32, *rop.OpenMessageResponse, error) {
	b := c.NewBatch()
	in, out := b.In(parent), b.Out()
	b.Add(&rop.OpenMessageRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: out,
		CodePageID: 0x0FFF, FolderID: fid, MessageID: mid, OpenModeFlags: mode})
	res, err := b.Run(ctx, true)
	if err != nil {
		return 0, nil, err
	}
	return res.Handle(out), res.Responses[0].(*rop.OpenMessageResponse), nil
}

// GetProps reads properties of obj (RopGetPropertiesSpecific, Unicode
// strings). A value too big for the buffer comes back as an error value
// (0x8007000E): read it with ReadStream.
func (c *Client) GetProps(ctx context.Context, obj uint32, tags ...mp.Tag) (mp.PropertyRow, error) {
	b := c.NewBatch()
	b.Add(&rop.GetPropertiesSpecificRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: b.In(obj)}, WantUnicode: 1, PropertyTags: tags})
	res, err := b.Run(ctx, true)
	if err != nil {
		return mp.PropertyRow{}, err
	}
	return res.Responses[0].(*rop.GetPropertiesSpecificResponse).Row, nil
}

// GetAllProps reads every property of obj (RopGetPropertiesAll).
func (c *Client) GetAllProps(ctx context.Context, obj uint32) ([]mp.Value, error) {
	b := c.NewBatch()
	b.Add(&rop.GetPropertiesAllRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: b.In(obj)}, WantUnicode: 1})
	res, err := b.Run(ctx, true)
	if err != nil {
		return nil, err
	}
	return res.Responses[0].(*rop.GetPropertiesAllResponse).Properties, nil
}

// SetProps sets properties of obj (RopSetProperties) and returns the
// per-property problems.
func (c *Client) SetProps(ctx context.Context, obj uint32, vals ...mp.Value) ([]mp.PropertyProblem, error) {
	b := c.NewBatch()
	b.Add(&rop.SetPropertiesRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: b.In(obj)}, Properties: vals})
	res, err := b.Run(ctx, true)
	if err != nil {
		return nil, err
	}
	return res.Responses[0].(*rop.SetPropertiesResponse).Problems, nil
}

// readChunk is how much one RopReadStream asks for: what fits a buffer
// with room for the headers.
const readChunk = 0x7000

// ReadStream reads property tag of obj through a stream (RopOpenStream,
// RopReadStream until the end, RopRelease), the way clients read bodies
// and attachments too big for GetPropertiesSpecific.
func (c *Client) ReadStream(ctx context.Context, obj uint32, tag mp.Tag) ([]byte, error) {
	b := c.NewBatch()
	in, out := b.In(obj), b.Out()
	b.Add(&rop.OpenStreamRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: out, PropertyTag: tag, OpenModeFlags: rop.StreamReadOnly})
	b.Add(&rop.ReadStreamRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: out}, ByteCount: readChunk})
	res, err := b.Run(ctx, true)
	if err != nil {
		return nil, err
	}
	stream := res.Handle(out)
	defer c.Release(context.WithoutCancel(ctx), stream)
	size := res.Responses[0].(*rop.OpenStreamResponse).StreamSize
	data := res.Responses[1].(*rop.ReadStreamResponse).Data
	for uint32(len(data)) < size {
		b := c.NewBatch()
		b.Add(&rop.ReadStreamRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: b.In(stream)}, ByteCount: readChunk})
		res, err := b.Run(ctx, true)
		if err != nil {
			return nil, err
		}
		chunk := res.Responses[0].(*rop.ReadStreamResponse).Data
		if len(chunk) == 0 {
			return nil, fmt.Errorf("mapiclient: stream of %d bytes ended after %d", size, len(data))
		}
		data = append(data, chunk...)
	}
	return data, nil
}

// AttachmentTable reads the attachment table of a message.
func (c *Client) AttachmentTable(ctx context.Context, msg uint32, q TableQuery) (*Table, error) {
	b := c.NewBatch()
	in, out := b.In(msg), b.Out()
	b.Add(&rop.GetAttachmentTableRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: out, TableFlags: rop.TableFlagUseUnicode})
	addQuery(b, out, q)
	return c.readTable(ctx, b, out)
}

// OpenAttachment opens attachment num of msg read-only.
func (c *Client) OpenAttachment(ctx context.Context, msg uint32, num uint32) (uint32, error) {
	b := c.NewBatch()
	in, out := b.In(msg), b.Out()
	b.Add(&rop.OpenAttachmentRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: out, AttachmentID: num})
	res, err := b.Run(ctx, true)
	if err != nil {
		return 0, err
	}
	return res.Handle(out), nil
}

// CreateMessage creates a message in folder fid through parent (the logon
// or the folder) and returns its handle.
func (c *Client) CreateMessage(ctx context.Context, parent uint32, fid mp.ID, associated bool) (uint32, error) {
	b := c.NewBatch()
	in, out := b.In(parent), b.Out()
	b.Add(&rop.CreateMessageRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: out,
		CodePageID: 0x0FFF, FolderID: fid, AssociatedFlag: associated})
	res, err := b.Run(ctx, true)
	if err != nil {
		return 0, err
	}
	return res.Handle(out), nil
}

// Recipient is one recipient for ModifyRecipients.
type Recipient struct {
	Type        uint8 // 1 To, 2 Cc, 3 Bcc (MS-OXCMSG 2.2.3.5.1)
	DisplayName string
	Address     string // SMTP
}

// Recipient types (PidTagRecipientType).
const (
	RecipientTo  uint8 = 1
	RecipientCc  uint8 = 2
	RecipientBcc uint8 = 3
)

// ModifyRecipients replaces the recipients of msg with SMTP recipients
// (RecipientRow type SMTP with display name and address, MS-OXCDATA
// 2.8.3.2), rows numbered from 0.
func (c *Client) ModifyRecipients(ctx context.Context, msg uint32, recips ...Recipient) error {
	cols := []mp.Tag{mp.PidTagRecipientDisplayName, mp.PidTagSmtpAddress}
	req := &rop.ModifyRecipientsRequest{RecipientColumns: cols}
	for i, r := range recips {
		row := &mp.RecipientRow{
			Flags:        mp.RecipientTypeSMTP | mp.RecipientFlagEmail | mp.RecipientFlagDisplay | mp.RecipientFlagTransmit | mp.RecipientFlagUnicode,
			EmailAddress: r.Address, DisplayName: r.DisplayName, TransmittableDisplayName: r.DisplayName,
			ColumnCount: uint16(len(cols)),
			Properties: mp.NewPropertyRow(cols, []mp.Value{
				mp.StringValue(mp.PidTagRecipientDisplayName, r.DisplayName),
				mp.StringValue(mp.PidTagSmtpAddress, r.Address),
			}),
		}
		req.Rows = append(req.Rows, rop.ModifyRecipientRow{RowID: uint32(i), RecipientType: r.Type, Row: row})
	}
	b := c.NewBatch()
	req.InputHandleIndex = b.In(msg)
	b.Add(req)
	_, err := b.Run(ctx, true)
	return err
}

// SaveMessage saves msg (RopSaveChangesMessage, keeping it open
// read-write) and returns its message id.
func (c *Client) SaveMessage(ctx context.Context, msg uint32) (mp.ID, error) {
	b := c.NewBatch()
	slot := b.In(msg)
	b.Add(&rop.SaveChangesMessageRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: slot}, ResponseHandleIndex: slot, SaveFlags: rop.SaveKeepOpenReadWrite})
	res, err := b.Run(ctx, true)
	if err != nil {
		return 0, err
	}
	return res.Responses[0].(*rop.SaveChangesMessageResponse).MessageID, nil
}

// SubmitMessage submits msg for delivery (RopSubmitMessage; the message
// need not have been saved).
func (c *Client) SubmitMessage(ctx context.Context, msg uint32) error {
	b := c.NewBatch()
	b.Add(&rop.SubmitMessageRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: b.In(msg)}})
	_, err := b.Run(ctx, true)
	return err
}

// SetReadFlags sets or (with rop.ReadFlagClearReadFlag) clears the read
// flag of messages of folder (RopSetReadFlags).
func (c *Client) SetReadFlags(ctx context.Context, folder uint32, flags uint8, mids ...mp.ID) error {
	b := c.NewBatch()
	b.Add(&rop.SetReadFlagsRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: b.In(folder)}, ReadFlags: flags, MessageIDs: mids})
	res, err := b.Run(ctx, true)
	if err != nil {
		return err
	}
	if res.Responses[0].(*rop.SetReadFlagsResponse).PartialCompletion {
		return errors.New("mapiclient: SetReadFlags completed partially")
	}
	return nil
}
