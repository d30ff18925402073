package rop

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pochta/pochta/directory"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

// testClient drives a Session the way a MAPI client does: it keeps the
// handle table between Execute calls and decodes responses with the
// codec's client side.
type testClient struct {
	t         testing.TB
	env       *testenv.Env
	srv       *Server
	sess      *Session
	acc       *directory.Account
	handles   []uint32
	maxOut    int
	cols      map[uint32][]mp.Tag // table handle → columns
	recipCols map[uint32][]mp.Tag // message handle → recipient columns
}

const testLogon = 0x0C

func newTestServer(env *testenv.Env) *Server {
	return NewServer(Options{Store: env.Store, Directory: env.Dir, Deliverer: env.Deliverer, Logger: env.Logger, Hostname: "mail.example.com"})
}

func newTestClient(t testing.TB, env *testenv.Env, srv *Server, acc *directory.Account) *testClient {
	t.Helper()
	sess, err := srv.NewSession(context.Background(), acc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.Close)
	c := &testClient{t: t, env: env, srv: srv, sess: sess, acc: acc, maxOut: 0x8000,
		handles: []uint32{EmptyHandle, EmptyHandle, EmptyHandle, EmptyHandle, EmptyHandle, EmptyHandle, EmptyHandle, EmptyHandle},
		cols:    map[uint32][]mp.Tag{}, recipCols: map[uint32][]mp.Tag{}}
	return c
}

// raw runs a ROP list and returns the output payload parsed.
func (c *testClient) raw(rops []byte, handles []uint32, maxOut int) (ROPBuffer, error) {
	payload, err := ROPBuffer{Rops: rops, Handles: handles}.Bytes()
	if err != nil {
		c.t.Fatal(err)
	}
	out, err := c.sess.Execute(context.Background(), payload, maxOut)
	if err != nil {
		return ROPBuffer{}, err
	}
	buf, perr := ParseROPBuffer(out)
	if perr != nil {
		c.t.Fatalf("server output does not parse: %v", perr)
	}
	if len(out) > maxOut {
		c.t.Fatalf("output of %d bytes exceeds MaxRopOut %d", len(out), maxOut)
	}
	return buf, nil
}

// exec runs requests against the client's handle table and returns the
// responses (Release has none).
func (c *testClient) exec(reqs ...Request) []Response {
	c.t.Helper()
	rops, err := MarshalRequests(reqs, 1252)
	if err != nil {
		c.t.Fatal(err)
	}
	before := append([]uint32{}, c.handles...)
	buf, err := c.raw(rops, c.handles, c.maxOut)
	if err != nil {
		c.t.Fatalf("Execute: %v", err)
	}
	if len(buf.Handles) != len(c.handles) {
		c.t.Fatalf("handle table has %d slots, sent %d", len(buf.Handles), len(c.handles))
	}
	resps, err := DecodeResponses(buf.Rops, reqs, ResponseOptions{CodePage: 1252, Columns: func(req Request) []mp.Tag {
		h := before[req.Header().InputHandleIndex]
		if req.RopID() == RopReadRecipients {
			return c.recipCols[h]
		}
		return c.cols[h]
	}})
	if err != nil {
		c.t.Fatalf("decoding responses: %v", err)
	}
	// Notifications ride along with any Execute (MS-OXCNOTIF 3.2.5.2);
	// they answer no request. notify_test.go looks at them.
	resps = slices.DeleteFunc(resps, func(r Response) bool {
		id := r.RopID()
		return id == RopNotify || id == RopPending
	})
	c.handles = buf.Handles
	for i, r := range resps {
		if i >= len(reqs) {
			break
		}
		switch req := reqs[i].(type) {
		case *SetColumnsRequest:
			if sr, ok := r.(*SetColumnsResponse); ok && sr.ReturnValue == 0 {
				c.cols[c.handles[req.InputHandleIndex]] = req.PropertyTags
			}
		case *OpenMessageRequest:
			if or, ok := r.(*OpenMessageResponse); ok && or.ReturnValue == 0 {
				c.recipCols[c.handles[req.OutputHandleIndex]] = or.RecipientColumns
			}
		}
	}
	return resps
}

// one runs a single request and fails the test unless it succeeded.
func (c *testClient) one(req Request) Response {
	c.t.Helper()
	resps := c.exec(req)
	if len(resps) != 1 {
		c.t.Fatalf("%s: %d responses", req.RopID(), len(resps))
	}
	if sr, ok := resps[0].(StandardResponse); ok && sr.Header().ReturnValue != 0 {
		c.t.Fatalf("%s failed: %v", req.RopID(), sr.Header().ReturnValue)
	}
	return resps[0]
}

// ec runs a single request and returns its ReturnValue.
func (c *testClient) ec(req Request) mp.ErrorCode {
	c.t.Helper()
	resps := c.exec(req)
	if len(resps) != 1 {
		c.t.Fatalf("%s: %d responses", req.RopID(), len(resps))
	}
	return resps[0].(StandardResponse).Header().ReturnValue
}

func hdr(in uint8) RequestHeader { return RequestHeader{LogonID: testLogon, InputHandleIndex: in} }

// logon opens the mailbox into slot 0.
func (c *testClient) logon() *LogonResponse {
	c.t.Helper()
	return c.one(&LogonRequest{RequestHeader: RequestHeader{LogonID: testLogon}, OutputHandleIndex: 0, LogonFlags: LogonFlagPrivate,
		OpenFlags: OpenFlagHomeLogon | OpenFlagTakeOwnership | OpenFlagUsePerMDBReplIDMapping, Essdn: DefaultLegacyDN(c.acc)}).(*LogonResponse)
}

func (c *testClient) openFolder(in, out uint8, role string) {
	c.t.Helper()
	c.one(&OpenFolderRequest{RequestHeader: hdr(in), OutputHandleIndex: out, FolderID: roleFID(role)})
}

// rows opens nothing: it sets columns on the table in slot and reads up
// to n rows.
func (c *testClient) rows(slot uint8, cols []mp.Tag, n uint16) []mp.PropertyRow {
	c.t.Helper()
	c.one(&SetColumnsRequest{RequestHeader: hdr(slot), PropertyTags: cols})
	return c.one(&QueryRowsRequest{RequestHeader: hdr(slot), ForwardRead: true, RowCount: n}).(*QueryRowsResponse).Rows
}

// value returns a row's value for tag, errors included.
func value(row mp.PropertyRow, tag mp.Tag) (mp.Value, bool) {
	for _, v := range row.Values {
		if v.Tag.ID() == tag.ID() {
			return v, true
		}
	}
	return mp.Value{}, false
}

func str(t testing.TB, row mp.PropertyRow, tag mp.Tag) string {
	t.Helper()
	v, ok := row.Get(tag.ID())
	if !ok {
		t.Fatalf("row has no %s: %v", tag, row.Values)
	}
	s, ok := v.Data.(string)
	if !ok {
		t.Fatalf("%s is %T", tag, v.Data)
	}
	return s
}

func i32(t testing.TB, row mp.PropertyRow, tag mp.Tag) int32 {
	t.Helper()
	v, ok := row.Get(tag.ID())
	if !ok {
		t.Fatalf("row has no %s: %v", tag, row.Values)
	}
	return v.Data.(int32)
}

// folderByRole is a store lookup for assertions.
func folderByRole(t testing.TB, env *testenv.Env, acc int64, role string) *storage.Folder {
	t.Helper()
	f, err := env.Store.FolderByRole(context.Background(), acc, role)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// messagesIn lists a folder's normal messages.
func messagesIn(t testing.TB, env *testenv.Env, acc int64, role string) []storage.Message {
	t.Helper()
	ms, err := env.Store.ListMessages(context.Background(), acc, folderByRole(t, env, acc, role).ID, storage.ListQuery{Sort: storage.SortUID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// mimeMessage builds a delivered message: a text body of bodyLen bytes
// and one attachment.
func mimeMessage(subject string, bodyLen int, attachment string) []byte {
	body := strings.Repeat("line of body text\r\n", bodyLen/19+1)[:bodyLen]
	var b strings.Builder
	fmt.Fprintf(&b, "From: Zed Sender <zed@outside.example>\r\nTo: Alice <alice@example.com>\r\nCc: bob@example.com\r\nSubject: %s\r\nDate: Mon, 02 Jan 2026 10:00:00 +0000\r\nMessage-ID: <%s@outside.example>\r\nMIME-Version: 1.0\r\n",
		subject, strings.ReplaceAll(subject, " ", "."))
	if attachment == "" {
		fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", body)
		return []byte(b.String())
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(body)
	b.WriteString("\r\n--b1\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\n\r\n")
	b.WriteString(attachment)
	b.WriteString("\r\n--b1--\r\n")
	return []byte(b.String())
}
