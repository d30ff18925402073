package rop

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pochta/pochta/internal/mapiprop"
)

// golden is one vector under testdata/golden: "key: value" lines, with
// "hex:" and "requests:" taking the hex lines that follow.
type golden struct {
	name   string
	fields map[string]string
	hex    []byte
	reqHex []byte
}

func loadGolden(t testing.TB) []golden {
	t.Helper()
	paths, err := filepath.Glob("testdata/golden/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden vectors: %v", err)
	}
	var out []golden
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		g := golden{name: filepath.Base(p), fields: map[string]string{}}
		var cur *[]byte
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if k, v, ok := strings.Cut(line, ":"); ok && !isHex(k) {
				switch k {
				case "hex":
					cur = &g.hex
				case "requests":
					cur = &g.reqHex
				default:
					g.fields[k] = strings.TrimSpace(v)
					cur = nil
				}
				continue
			}
			if cur == nil {
				t.Fatalf("%s: stray line %q", p, line)
			}
			b, err := hex.DecodeString(strings.ReplaceAll(line, " ", ""))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			*cur = append(*cur, b...)
		}
		f.Close()
		out = append(out, g)
	}
	return out
}

func isHex(s string) bool {
	_, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	return err == nil && s != ""
}

// executeRequest splits an Execute request body (MS-OXCMAPIHTTP 2.2.4.2.1)
// into its fields; it is test scaffolding, the HTTP layer owns this format.
type executeRequest struct {
	flags, maxRopOut uint32
	ropBuffer, aux   []byte
}

func parseExecute(t *testing.T, b []byte) executeRequest {
	t.Helper()
	r := mapiprop.NewReader(b)
	var e executeRequest
	e.flags = r.U32()
	e.ropBuffer = r.Bytes(int(r.U32()))
	e.maxRopOut = r.U32()
	e.aux = r.Bytes(int(r.U32()))
	if r.Err() != nil || r.Len() != 0 {
		t.Fatalf("execute body: %v, %d left", r.Err(), r.Len())
	}
	return e
}

func (e executeRequest) bytes() []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, e.flags)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.ropBuffer)))
	b = append(b, e.ropBuffer...)
	b = binary.LittleEndian.AppendUint32(b, e.maxRopOut)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.aux)))
	return append(b, e.aux...)
}

func TestGoldenVectors(t *testing.T) {
	for _, g := range loadGolden(t) {
		t.Run(g.name, func(t *testing.T) {
			switch kind := g.fields["kind"]; kind {
			case "execute-request":
				goldenExecute(t, g)
			case "rops-request":
				reqs := decodeAll(t, g.hex)
				reencode(t, reqs, g.hex)
			case "rops-response":
				reqs := decodeAll(t, g.reqHex)
				resps, err := DecodeResponses(g.hex, reqs, ResponseOptions{})
				if err != nil {
					t.Fatal(err)
				}
				out, err := MarshalResponses(resps, 0)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, g.hex) {
					t.Fatalf("re-encoded % x\nwant        % x", out, g.hex)
				}
				for _, r := range resps {
					if sr, ok := r.(StandardResponse); !ok || sr.Header().ReturnValue != 0 {
						t.Errorf("%s: not a success response", r.RopID())
					}
				}
			case "lz77":
				want := []byte(g.fields["plain"])
				if rep := g.fields["plain-repeat"]; rep != "" {
					n, s, _ := strings.Cut(rep, " ")
					count, _ := strconv.Atoi(n)
					want = bytes.Repeat([]byte(s), count)
				}
				got, err := DecompressLZ77(g.hex, len(want))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("got %q", got)
				}
			default:
				t.Fatalf("unknown kind %q", kind)
			}
		})
	}
}

func decodeAll(t *testing.T, b []byte) []Request {
	t.Helper()
	l, err := DecodeRequests(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l.Requests
}

func reencode(t *testing.T, reqs []Request, want []byte) {
	t.Helper()
	out, err := MarshalRequests(reqs, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Fatalf("re-encoded % x\nwant        % x", out, want)
	}
}

func goldenExecute(t *testing.T, g golden) {
	e := parseExecute(t, g.hex)
	segs, err := ParseExtendedBuffer(e.ropBuffer)
	if err != nil {
		t.Fatal(err)
	}
	var payloads [][]byte
	for _, s := range segs {
		rb, err := ParseROPBuffer(s.Payload)
		if err != nil {
			t.Fatal(err)
		}
		reqs := decodeAll(t, rb.Rops)
		if len(reqs) == 1 {
			if lr, ok := reqs[0].(*LogonRequest); ok {
				if lr.LogonID != 0x0C || lr.OutputHandleIndex != 0 || lr.LogonFlags != LogonFlagPrivate ||
					lr.OpenFlags != 0x0100000C || !strings.HasSuffix(lr.Essdn, "/cn=Recipients/cn=alice01") {
					t.Errorf("logon fields: %+v", lr)
				}
			}
		}
		rops, err := MarshalRequests(reqs, 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ROPBuffer{Rops: rops, Handles: rb.Handles}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, p)
	}
	ext, err := BuildExtendedBuffer(payloads...)
	if err != nil {
		t.Fatal(err)
	}
	e.ropBuffer = ext
	if out := e.bytes(); !bytes.Equal(out, g.hex) {
		t.Fatalf("re-encoded % x\nwant        % x", out, g.hex)
	}
}

// TestGoldenFieldValues checks that the spec examples decode to the values
// the spec text explains, not only that they re-encode.
func TestGoldenFieldValues(t *testing.T) {
	byName := map[string]golden{}
	for _, g := range loadGolden(t) {
		byName[g.name] = g
	}
	mf := decodeAll(t, byName["oxcfold_451_movefolder_request.txt"].hex)[0].(*MoveFolderRequest)
	if mf.InputHandleIndex != 1 || mf.DestHandleIndex != 2 || !mf.WantAsynchronous || !mf.UseUnicode ||
		mf.FolderID.ReplicaID() != 1 || mf.FolderID.GlobalCounter() != 0x0E8EDF36 || mf.NewFolderName != "Folder1" {
		t.Errorf("RopMoveFolder: %+v", mf)
	}
	sp := decodeAll(t, byName["oxcprpt_setproperties_request.txt"].hex)[0].(*SetPropertiesRequest)
	want := []mapiprop.Value{mapiprop.StringValue(mapiprop.PidTagSubjectPrefix, ""), mapiprop.StringValue(mapiprop.PidTagNormalizedSubject, "Hello World")}
	if len(sp.Properties) != 2 || !sp.Properties[0].Equal(want[0]) || !sp.Properties[1].Equal(want[1]) {
		t.Errorf("RopSetProperties: %v", sp.Properties)
	}
	qr := decodeAll(t, byName["oxctabl_4531_queryrows_request.txt"].hex)[0].(*QueryRowsRequest)
	if qr.QueryRowsFlags != QueryRowsAdvance || !qr.ForwardRead || qr.RowCount != 50 {
		t.Errorf("RopQueryRows: %+v", qr)
	}
	sc := decodeAll(t, byName["oxcmsg_481_savechangesmessage_request.txt"].hex)[0].(*SaveChangesMessageRequest)
	if sc.ResponseHandleIndex != 0 || sc.InputHandleIndex != 1 || sc.SaveFlags != 0x0A {
		t.Errorf("RopSaveChangesMessage: %+v", sc)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}
