package rop

import (
	"bytes"
	"testing"

	mp "github.com/pochta/pochta/internal/mapiprop"
)

func fuzzRequestContext() *RequestContext {
	return &RequestContext{PublicLogon: func(id uint8) bool { return id&1 == 1 }}
}

// FuzzRopRequestBuffer runs arbitrary bytes through the whole request
// path: RPC_HEADER_EXT segments (with XOR and LZ77), the ROP buffer framing
// and ROP decoding. Whatever decodes must re-encode to a fixed point, and
// the server must be able to answer each decoded ROP.
func FuzzRopRequestBuffer(f *testing.F) {
	for _, g := range loadGolden(f) {
		switch g.fields["kind"] {
		case "execute-request":
			r := mp.NewReader(g.hex)
			r.U32()
			f.Add(r.Bytes(int(r.U32())))
		case "rops-request":
			p, _ := ROPBuffer{Rops: g.hex, Handles: []uint32{EmptyHandle}}.Bytes()
			b, _ := BuildExtendedBuffer(p)
			f.Add(b)
		}
	}
	var reqs []Request
	for _, c := range ropCases() {
		reqs = append(reqs, c.req)
	}
	for i := 0; i < len(reqs); i += 8 {
		end := min(i+8, len(reqs))
		rops, err := MarshalRequests(reqs[i:end], 0)
		if err != nil {
			f.Fatal(err)
		}
		p, _ := ROPBuffer{Rops: rops, Handles: []uint32{1, 2, 3}}.Bytes()
		b, _ := BuildExtendedBuffer(p)
		f.Add(b)
		c := compressLZ77(p)
		xorMagic(c)
		f.Add(segment(HeaderFlagLast|HeaderFlagCompressed|HeaderFlagXorMagic, c, len(p)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		segs, err := ParseExtendedBuffer(data)
		if err != nil {
			return
		}
		ctx := fuzzRequestContext()
		for _, s := range segs {
			rb, err := ParseROPBuffer(s.Payload)
			if err != nil {
				continue
			}
			l, _ := DecodeRequests(rb.Rops, ctx)
			out, err := MarshalRequests(l.Requests, 0)
			if err != nil {
				t.Fatalf("decoded requests do not re-encode: %v", err)
			}
			l2, err := DecodeRequests(out, ctx)
			if err != nil {
				t.Fatalf("re-encoded requests do not decode: %v", err)
			}
			out2, err := MarshalRequests(l2.Requests, 0)
			if err != nil || !bytes.Equal(out, out2) {
				t.Fatalf("re-encoding is not a fixed point: %v", err)
			}
			for i, req := range l.Requests {
				_ = l.Remainder(i)
				if req.RopID() == RopRelease {
					continue
				}
				resp, err := ErrorResponse(req, mp.ErrNotSupported)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := MarshalResponses([]Response{resp}, 0); err != nil {
					t.Fatalf("%s error response: %v", req.RopID(), err)
				}
			}
		}
	})
}

// FuzzRopResponses decodes arbitrary ROP output lists against a fixed set
// of requests, as the test client does with server output.
func FuzzRopResponses(f *testing.F) {
	var reqs []Request
	var resps []Response
	for _, c := range ropCases() {
		if c.cols == nil {
			reqs = append(reqs, c.req)
			resps = append(resps, c.resp)
		}
	}
	for i := 0; i+4 <= len(resps); i += 4 {
		out, err := MarshalResponses(resps[i:i+4], 0)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), out)
	}
	f.Fuzz(func(t *testing.T, start uint8, data []byte) {
		i := int(start) % len(reqs)
		got, err := DecodeResponses(data, reqs[i:], ResponseOptions{Columns: func(Request) []Tag { return tCols }})
		if err != nil {
			return
		}
		if _, err := MarshalResponses(got, 0); err != nil {
			t.Fatalf("decoded responses do not re-encode: %v", err)
		}
	})
}
