package connlimit

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// chunkReader returns at most n bytes per Read, so the empty line can be
// split across reads.
type chunkReader struct {
	r io.Reader
	n int
}

func (c chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// FuzzReadHead: readHead stops exactly when the request head has ended
// (or the limit is reached), however the bytes are split, and never panics.
func FuzzReadHead(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody"), 1)
	f.Add([]byte("GET / HTTP/1.1\nHost: a\n\n"), 3)
	f.Add([]byte("POST /mapi/emsmdb HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"), 7)
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n"), 2)
	f.Add(bytes.Repeat([]byte("X-A: b\r\n"), 2000), 100)
	f.Add([]byte("\r\n\r\n"), 1)
	f.Add([]byte{}, 1)
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		if chunk <= 0 || chunk > 1<<16 {
			chunk = 1
		}
		const limit = 4096
		err := readHead(chunkReader{bytes.NewReader(data), chunk}, limit)
		prefix := data[:min(len(data), limit)]
		ended := headEnd(prefix)
		switch {
		case ended && err != nil:
			t.Fatalf("head ended but readHead returned %v", err)
		case !ended && len(data) < limit && !errors.Is(err, io.EOF):
			t.Fatalf("no end of head in %q but readHead returned %v", data, err)
		}
	})
}
