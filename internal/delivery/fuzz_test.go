package delivery_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/internal/testutil/testenv"
)

// FuzzIngest stores arbitrary bytes as mail through the one ingest path and
// reads them back: malformed mail is stored anyway, byte-exact, with a part
// tree that loads, and nothing panics.
func FuzzIngest(f *testing.F) {
	seeds, _ := filepath.Glob("../message/testdata/*.eml")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(sample))
	f.Add([]byte(""))
	f.Add([]byte("\xff\xfe\x00junk\r\n\r\n"))
	f.Add([]byte("Subject: =?x-unknown?B?////?=\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=klingon\r\n\r\n\xe9\xe8\r\n--b"))
	f.Add([]byte(strings.Repeat("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n", 100)))
	e := testenv.New(f)
	acc := e.AddUser(f, "fuzz@example.com", "pw")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw []byte) {
		res, err := e.Deliverer.DeliverLocal(ctx, raw, []int64{acc.ID})
		if err != nil {
			t.Fatalf("ingest refused malformed mail: %v", err)
		}
		m, err := e.Store.MessageByID(ctx, acc.ID, res.Targets[0].MessageID)
		if err != nil {
			t.Fatal(err)
		}
		back, err := e.Store.ReadBlob(ctx, m.BlobHash)
		if err != nil || string(back) != string(raw) {
			t.Fatalf("stored bytes differ: %v", err)
		}
		if _, err := message.Unmarshal(m.Parsed); err != nil {
			t.Fatalf("stored part tree does not load: %v", err)
		}
		if _, err := e.Store.Expunge(ctx, acc.ID, m.FolderID, []int64{m.ID}); err != nil {
			t.Fatal(err)
		}
	})
}
