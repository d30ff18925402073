package mapiclient

import (
	"context"
	"encoding/binary"
	"fmt"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/mapi"
	"github.com/pochta/pochta/mapi/rop"
)

type mapiTag = mp.Tag

// Connect creates the session context (MS-OXCMAPIHTTP 2.2.4.1). With the
// cookies of an earlier context it reconnects: the server drops that one
// (3.2.5.6). A non-zero ErrorCode is returned as the error (a
// mapiprop.ErrorCode) together with the response.
func (c *Client) Connect(ctx context.Context) (*mapi.ConnectResponse, error) {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	body, err := (&mapi.ConnectRequest{
		UserDN: c.opts.UserDN, DefaultCodePage: c.opts.CodePage, LcidSort: 1033, LcidString: 1033,
	}).MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("mapiclient: Connect: %w", err)
	}
	out, err := c.call(ctx, mapi.RequestConnect, body)
	if err != nil {
		return nil, err
	}
	var resp mapi.ConnectResponse
	if err := resp.UnmarshalBinary(out); err != nil {
		return nil, fmt.Errorf("mapiclient: Connect: %w", err)
	}
	if resp.StatusCode != 0 {
		return &resp, fmt.Errorf("mapiclient: Connect: StatusCode %d", resp.StatusCode)
	}
	if resp.ErrorCode != mp.Success {
		return &resp, resp.ErrorCode
	}
	c.mu.Lock()
	c.columns = map[uint32][]mp.Tag{}
	c.recipCols = map[uint32][]mp.Tag{}
	c.mu.Unlock()
	return &resp, nil
}

// Disconnect destroys the session context (MS-OXCMAPIHTTP 2.2.4.3).
func (c *Client) Disconnect(ctx context.Context) error {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	body, _ := (&mapi.DisconnectRequest{}).MarshalBinary()
	out, err := c.call(ctx, mapi.RequestDisconnect, body)
	if err != nil {
		return err
	}
	var resp mapi.DisconnectResponse
	if err := resp.UnmarshalBinary(out); err != nil {
		return fmt.Errorf("mapiclient: Disconnect: %w", err)
	}
	if resp.StatusCode != 0 {
		return fmt.Errorf("mapiclient: Disconnect: StatusCode %d", resp.StatusCode)
	}
	if resp.ErrorCode != mp.Success {
		return resp.ErrorCode
	}
	return nil
}

// Ping sends PING (MS-OXCMAPIHTTP 2.2.6), which keeps the context alive.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.call(ctx, mapi.RequestPing, nil)
	return err
}

// NotificationWait waits for notifications on the context (MS-OXCMAPIHTTP
// 2.2.4.4) and reports whether some are pending. It may run while another
// request of the context runs.
func (c *Client) NotificationWait(ctx context.Context) (pending bool, err error) {
	body, _ := (&mapi.NotificationWaitRequest{}).MarshalBinary()
	out, err := c.call(ctx, mapi.RequestNotificationWait, body)
	if err != nil {
		return false, err
	}
	var resp mapi.NotificationWaitResponse
	if err := resp.UnmarshalBinary(out); err != nil {
		return false, fmt.Errorf("mapiclient: NotificationWait: %w", err)
	}
	if resp.StatusCode != 0 {
		return false, fmt.Errorf("mapiclient: NotificationWait: StatusCode %d", resp.StatusCode)
	}
	if resp.ErrorCode != mp.Success {
		return false, resp.ErrorCode
	}
	return resp.EventPending&mapi.EventPending != 0, nil
}

// Result is the answer to one Execute: the ROP responses in order (none
// for RopRelease) and the server object handle table.
type Result struct {
	Responses []rop.Response
	Handles   []uint32
}

// Handle returns the table entry at slot.
func (r *Result) Handle(slot uint8) uint32 {
	if int(slot) >= len(r.Handles) {
		return rop.EmptyHandle
	}
	return r.Handles[slot]
}

// EncodeROPInput frames requests and a handle table as the RopBuffer of
// an Execute request: RPC_HEADER_EXT (flagged Last, XOR-obfuscated when
// obfuscate is set), RopSize, the ROPs, the handle table.
func EncodeROPInput(reqs []rop.Request, handles []uint32, codePage uint32, obfuscate bool) ([]byte, error) {
	list, err := rop.MarshalRequests(reqs, codePage)
	if err != nil {
		return nil, err
	}
	payload, err := rop.ROPBuffer{Rops: list, Handles: handles}.Bytes()
	if err != nil {
		return nil, err
	}
	framed, err := rop.BuildExtendedBuffer(payload)
	if err != nil {
		return nil, err
	}
	if obfuscate {
		flags := binary.LittleEndian.Uint16(framed[2:])
		binary.LittleEndian.PutUint16(framed[2:], flags|rop.HeaderFlagXorMagic)
		for i := rop.HeaderExtSize; i < len(framed); i++ {
			framed[i] ^= 0xA5
		}
	}
	return framed, nil
}

// Execute sends ROP requests with a handle table (MS-OXCMAPIHTTP 2.2.4.2)
// and decodes the responses. A non-zero Execute ErrorCode is returned as
// a mapiprop.ErrorCode; per-ROP failures are in each response's
// ReturnValue.
func (c *Client) Execute(ctx context.Context, reqs []rop.Request, handles []uint32) (*Result, error) {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	in, err := EncodeROPInput(reqs, handles, c.opts.CodePage, c.opts.Obfuscate)
	if err != nil {
		return nil, fmt.Errorf("mapiclient: Execute: %w", err)
	}
	body, err := (&mapi.ExecuteRequest{
		Flags:     mapi.ExecuteFlagNoCompression | mapi.ExecuteFlagNoXorMagic,
		RopBuffer: in, MaxRopOut: c.opts.MaxRopOut,
	}).MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("mapiclient: Execute: %w", err)
	}
	out, err := c.call(ctx, mapi.RequestExecute, body)
	if err != nil {
		return nil, err
	}
	var resp mapi.ExecuteResponse
	if err := resp.UnmarshalBinary(out); err != nil {
		return nil, fmt.Errorf("mapiclient: Execute: %w", err)
	}
	if resp.StatusCode != 0 {
		return nil, fmt.Errorf("mapiclient: Execute: StatusCode %d", resp.StatusCode)
	}
	if resp.ErrorCode != mp.Success {
		return nil, resp.ErrorCode
	}
	segs, err := rop.ParseExtendedBuffer(resp.RopBuffer)
	if err != nil {
		return nil, fmt.Errorf("mapiclient: Execute output: %w", err)
	}
	res := &Result{}
	for i, seg := range segs {
		buf, err := rop.ParseROPBuffer(seg.Payload)
		if err != nil {
			return nil, fmt.Errorf("mapiclient: Execute output: %w", err)
		}
		if i == 0 && len(buf.Handles) != len(handles) {
			return nil, fmt.Errorf("mapiclient: Execute output: %d handles for %d sent", len(buf.Handles), len(handles))
		}
		resps, err := rop.DecodeResponses(buf.Rops, reqs, rop.ResponseOptions{
			CodePage: c.opts.CodePage,
			Columns:  func(req rop.Request) []mp.Tag { return c.columnsFor(req, handles) },
		})
		if err != nil {
			return nil, fmt.Errorf("mapiclient: Execute output: %w", err)
		}
		res.Responses = append(res.Responses, resps...)
		res.Handles = buf.Handles
	}
	c.learnColumns(reqs, res)
	return res, nil
}

// columnsFor supplies the column set of a table (or the recipient columns
// of a message) set up by an earlier Execute.
func (c *Client) columnsFor(req rop.Request, handles []uint32) []mp.Tag {
	idx := req.Header().InputHandleIndex
	if int(idx) >= len(handles) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if req.RopID() == rop.RopReadRecipients {
		return c.recipCols[handles[idx]]
	}
	return c.columns[handles[idx]]
}

// learnColumns remembers column sets by server handle for later Executes.
func (c *Client) learnColumns(reqs []rop.Request, res *Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ri := 0
	for _, resp := range res.Responses {
		switch resp.RopID() {
		case rop.RopNotify, rop.RopPending, rop.RopBackoff:
			continue
		case rop.RopBufferTooSmall:
			return
		}
		for ri < len(reqs) && reqs[ri].RopID() == rop.RopRelease {
			ri++
		}
		if ri >= len(reqs) {
			return
		}
		req := reqs[ri]
		ri++
		switch x := resp.(type) {
		case *rop.SetColumnsResponse:
			if x.ReturnValue == mp.Success {
				c.columns[res.Handle(req.Header().InputHandleIndex)] = req.(*rop.SetColumnsRequest).PropertyTags
			}
		case *rop.OpenMessageResponse:
			if x.ReturnValue == mp.Success {
				c.recipCols[res.Handle(req.(*rop.OpenMessageRequest).OutputHandleIndex)] = x.RecipientColumns
			}
		}
	}
}
