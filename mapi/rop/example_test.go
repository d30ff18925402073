package rop_test

import (
	"errors"
	"fmt"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/mapi/rop"
)

// The server side of one Execute: unframe the ROP buffer, decode the
// requests, answer each, and frame the output.
func Example_server() {
	// What a client sends: RopOpenFolder on the logon handle, then a ROP
	// this codec does not know (0x70), framed in an RPC_HEADER_EXT.
	open := &rop.OpenFolderRequest{RequestHeader: rop.RequestHeader{LogonID: 0x0C, InputHandleIndex: 0},
		OutputHandleIndex: 1, FolderID: mp.MakeID(1, 0x0D)}
	rops, _ := rop.MarshalRequests([]rop.Request{open}, 0)
	rops = append(rops, 0x70, 0x0C, 0x01)
	payload, _ := rop.ROPBuffer{Rops: rops, Handles: []uint32{0x0C000000, rop.EmptyHandle}}.Bytes()
	in, _ := rop.BuildExtendedBuffer(payload)

	segs, err := rop.ParseExtendedBuffer(in)
	if err != nil {
		fmt.Println("ecRpcFormat:", err)
		return
	}
	buf, _ := rop.ParseROPBuffer(segs[0].Payload)
	list, err := rop.DecodeRequests(buf.Rops, &rop.RequestContext{})
	var out []rop.Response
	for _, req := range list.Requests {
		switch req := req.(type) {
		case *rop.OpenFolderRequest:
			resp, _ := rop.NewResponse(req)
			out = append(out, resp) // success: HasRules 0, not ghosted
			buf.Handles[req.OutputHandleIndex] = 0x0C000001
		}
	}
	var unknown *rop.UnknownRopError
	if errors.As(err, &unknown) {
		// Answer the unknown ROP with ecNotSupported and stop there.
		fmt.Println("unsupported:", unknown.RopID, unknown.ErrorCode())
	}
	outRops, _ := rop.MarshalResponses(out, 0)
	outPayload, _ := rop.ROPBuffer{Rops: outRops, Handles: buf.Handles}.Bytes()
	framed, _ := rop.BuildExtendedBuffer(outPayload)
	fmt.Printf("% x\n", framed)
	// Output:
	// unsupported: RopSynchronizationConfigure ecNotSupported (0x80040102)
	// 00 00 04 00 12 00 12 00 0a 00 02 01 00 00 00 00 00 00 00 00 00 0c 01 00 00 0c
}

// The client side: decode the server's answer against the requests sent.
// The QueryRows rows are laid out over the columns of the RopSetColumns
// earlier in the same list.
func Example_client() {
	cols := []mp.Tag{mp.PidTagSubject, mp.PidTagMessageSize}
	reqs := []rop.Request{
		&rop.SetColumnsRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: 1}, PropertyTags: cols},
		&rop.QueryRowsRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: 1}, ForwardRead: true, RowCount: 10},
	}
	// What the server answered.
	answer, _ := rop.MarshalResponses([]rop.Response{
		&rop.SetColumnsResponse{TableStatusResponse: rop.TableStatusResponse{ResponseHeader: rop.ResponseHeader{HandleIndex: 1}}},
		&rop.QueryRowsResponse{ResponseHeader: rop.ResponseHeader{HandleIndex: 1}, Origin: rop.BookmarkEnd, Columns: cols,
			Rows: []mp.PropertyRow{mp.NewPropertyRow(cols, []mp.Value{mp.StringValue(mp.PidTagSubject, "Hello"), mp.Int32Value(mp.PidTagMessageSize, 1234)})}},
	}, 0)

	resps, err := rop.DecodeResponses(answer, reqs, rop.ResponseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, row := range resps[1].(*rop.QueryRowsResponse).Rows {
		subject, _ := row.Get(mp.PidTagSubject.ID())
		size, _ := row.Get(mp.PidTagMessageSize.ID())
		fmt.Println(subject.Data, size.Data)
	}
	// Output:
	// Hello 1234
}
