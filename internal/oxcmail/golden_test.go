package oxcmail

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
)

var update = flag.Bool("update", false, "rewrite the .props.golden files from the current output")

// fakeNamedProps is an in-memory NamedProps: ids from 0x8000 in the order
// names are first created, like the store's map.
type fakeNamedProps struct {
	ids   map[mp.PropertyName]uint16
	names map[uint16]mp.PropertyName
	calls int
}

func newFakeNamedProps() *fakeNamedProps {
	return &fakeNamedProps{ids: map[mp.PropertyName]uint16{}, names: map[uint16]mp.PropertyName{}}
}

func (f *fakeNamedProps) IDs(_ context.Context, names []mp.PropertyName, create bool) ([]uint16, error) {
	f.calls++
	out := make([]uint16, len(names))
	for i, n := range names {
		id, ok := f.ids[n]
		if !ok && create {
			id = uint16(0x8000 + len(f.ids))
			f.ids[n] = id
			f.names[id] = n
		}
		out[i] = id
	}
	return out, nil
}

func (f *fakeNamedProps) name(id uint16) string {
	n, ok := f.names[id]
	if !ok {
		return "?"
	}
	if n.Kind == mp.KindName {
		set := n.GUID.String()
		switch n.GUID {
		case mp.PS_INTERNET_HEADERS:
			set = "PS_INTERNET_HEADERS"
		case mp.PS_PUBLIC_STRINGS:
			set = "PS_PUBLIC_STRINGS"
		}
		return fmt.Sprintf("%s:%q", set, n.Name)
	}
	return n.String()
}

// goldenOptions are the fixed facts the golden files are derived with.
func goldenOptions() ToMAPIOptions {
	return ToMAPIOptions{
		DeliveryTime: time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC),
		Read:         true,
		ReceivedBy:   Mailbox{Name: "Bob", Address: "bob@example.com"},
	}
}

func convertFile(t *testing.T, name string, np NamedProps) (*Message, []byte) {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := InetToMAPI(context.Background(), raw, message.Parse(raw), np, goldenOptions())
	if err != nil {
		t.Fatalf("%s: InetToMAPI: %v", name, err)
	}
	return m, raw
}

// TestGolden derives the properties of every testdata/*.eml and compares
// their dump with testdata/*.props.golden. On a mismatch the actual output
// is written beside it as *.props.actual for diffing; -update rewrites the
// golden files.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			np := newFakeNamedProps()
			// A client registered this header name earlier; other
			// unknown X- fields must not create ids.
			np.IDs(context.Background(), []mp.PropertyName{mp.StringName(mp.PS_INTERNET_HEADERS, "x-custom-thing")}, true)
			m, _ := convertFile(t, name, np)
			var buf bytes.Buffer
			Dump(&buf, m, np.name)
			golden := strings.TrimSuffix(name, ".eml") + ".props.golden"
			actual := strings.TrimSuffix(name, ".eml") + ".props.actual"
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				os.Remove(actual)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if !bytes.Equal(want, buf.Bytes()) {
				os.WriteFile(actual, buf.Bytes(), 0o644)
				t.Errorf("%s differs from %s; actual output written to %s\n%s", name, golden, actual, firstDiff(string(want), buf.String()))
				return
			}
			os.Remove(actual)
		})
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n want %s\n  got %s", i+1, w, g)
		}
	}
	return ""
}
