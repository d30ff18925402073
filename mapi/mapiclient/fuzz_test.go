package mapiclient

import (
	"bytes"
	"testing"

	"github.com/pochta/pochta/mapi"
)

func FuzzParseFrame(f *testing.F) {
	f.Add([]byte("PROCESSING\r\nDONE\r\nX-ResponseCode: 0\r\nX-ElapsedTime: 2\r\nX-StartTime: Thu, 26 Nov 2026 15:43:13 GMT\r\n\r\n\x00\x00\x00\x00"))
	f.Add([]byte("PROCESSING\r\nPENDING\r\nPENDING\r\nDONE\r\n\r\n"))
	f.Add([]byte("PROCESSING\nDONE\nX-A: b\n\nbody"))
	f.Add([]byte("DONE\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(bytes.NewReader(b), 1<<16)
		if err != nil {
			return
		}
		if !fr.Processing || !fr.Done {
			t.Fatalf("frame accepted without PROCESSING/DONE: %+v", fr)
		}
		if !bytes.HasSuffix(b, fr.Body) {
			t.Fatalf("body % x is not the end of the input", fr.Body)
		}
	})
}

// FuzzResponseBodies feeds server answers to the client-side decoders.
func FuzzResponseBodies(f *testing.F) {
	ok, _ := (&mapi.ConnectResponse{MaxPollingInterval: 60000, RetryCount: 6, RetryDelay: 10000, DisplayName: "Alice"}).MarshalBinary()
	f.Add(ok)
	ex, _ := (&mapi.ExecuteResponse{RopBuffer: []byte{0, 0, 4, 0, 2, 0, 2, 0, 2, 0}}).MarshalBinary()
	f.Add(ex)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c mapi.ConnectResponse
		if c.UnmarshalBinary(b) == nil {
			out, err := c.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var again mapi.ConnectResponse
			if err := again.UnmarshalBinary(out); err != nil || again.DisplayName != c.DisplayName || again.ErrorCode != c.ErrorCode {
				t.Fatalf("Connect response round trip: %v %+v %+v", err, c, again)
			}
		}
		var e mapi.ExecuteResponse
		if e.UnmarshalBinary(b) == nil {
			out, err := e.MarshalBinary()
			if err != nil || !bytes.Equal(out, b) {
				t.Fatalf("Execute response does not re-encode to itself: %v", err)
			}
		}
		var d mapi.DisconnectResponse
		_ = d.UnmarshalBinary(b)
		var n mapi.NotificationWaitResponse
		_ = n.UnmarshalBinary(b)
	})
}
