package imap

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

// fuzzBytes hands out values from fuzz input.
type fuzzBytes struct{ b []byte }

func (f *fuzzBytes) byte() byte {
	if len(f.b) == 0 {
		return 0
	}
	c := f.b[0]
	f.b = f.b[1:]
	return c
}

func (f *fuzzBytes) str(choices ...string) string { return choices[int(f.byte())%len(choices)] }

// FuzzBodySection maps random sections onto random messages through the
// stored part tree: ranges must stay inside the message, header filters
// must end with the empty line, BINARY must not panic on any encoding.
func FuzzBodySection(f *testing.F) {
	f.Add([]byte(richMessage), []byte{0, 0, 0, 0})
	f.Add([]byte(richMessage), []byte{3, 3, 1, 2, 1, 5, 9})
	f.Add([]byte(richMessage), []byte{2, 1, 1, 1, 0, 200, 3})
	f.Add([]byte("Subject: x\r\n\r\nbody"), []byte{1, 2, 1})
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\r\n--a--"), []byte{1, 1, 1, 1, 2})
	f.Add([]byte("no header at all"), []byte{4, 4, 4})
	f.Fuzz(func(t *testing.T, raw, spec []byte) {
		parsed, err := message.Unmarshal(message.Parse(raw).Marshal())
		if err != nil {
			t.Fatalf("stored tree does not decode: %v", err)
		}
		fb := &fuzzBytes{spec}
		sec := &imap.FetchItemBodySection{}
		for range int(fb.byte()) % 4 {
			sec.Part = append(sec.Part, int(fb.byte())%6)
		}
		sec.Specifier = imap.PartSpecifier(fb.str("", "HEADER", "TEXT", "MIME"))
		switch fb.byte() % 3 {
		case 1:
			sec.Specifier, sec.HeaderFields = imap.PartSpecifierHeader, []string{fb.str("Subject", "content-type", "X"), "From"}
		case 2:
			sec.Specifier, sec.HeaderFieldsNot = imap.PartSpecifierHeader, []string{fb.str("Subject", "CONTENT-TYPE")}
		}
		if fb.byte()%2 == 1 {
			sec.Partial = &imap.SectionPartial{Offset: int64(fb.byte()) * 3, Size: int64(fb.byte())}
		}
		size := int64(len(raw))
		sp := bodySpan(parsed, size, sec)
		if sp.start < 0 || sp.start > sp.end || sp.end > size {
			t.Fatalf("section %+v: span %d..%d outside 0..%d", sec, sp.start, sp.end, size)
		}
		data := raw[sp.start:sp.end]
		if sp.filter {
			data = filterHeader(data, sp.fields, sp.not)
			if !bytes.HasSuffix(data, []byte("\r\n")) {
				t.Fatalf("filtered header %q lacks its end", data)
			}
		}
		off, n := partial(int64(len(data)), sec.Partial)
		if off < 0 || n < 0 || off+n > int64(len(data)) {
			t.Fatalf("partial %+v of %d bytes: %d+%d", sec.Partial, len(data), off, n)
		}
		if part, whole, ok := binaryPart(parsed, sec.Part); ok && !whole {
			start, end := min(max(part.BodyStart, 0), size), min(max(part.End, 0), size)
			if start <= end {
				decodePart(part, raw[start:end])
			}
		}
	})
}

// synthetic is a message for the search oracle.
type synthetic struct {
	row  storage.Message
	body string
	to   string
}

// criteriaFrom builds a criteria tree from fuzz bytes.
func criteriaFrom(fb *fuzzBytes, depth int) imap.SearchCriteria {
	var c imap.SearchCriteria
	day := func() time.Time { return time.Date(2024, 1, 1+int(fb.byte())%20, 0, 0, 0, 0, time.UTC) }
	for range 1 + int(fb.byte())%3 {
		switch fb.byte() % 16 {
		case 0:
			a := uint32(fb.byte()%12) + 1
			c.SeqNum = append(c.SeqNum, imap.SeqSet{{Start: a, Stop: a + uint32(fb.byte()%4)}})
		case 1:
			a := imap.UID(fb.byte()%30) + 1
			set := imap.UIDSet{{Start: a, Stop: a + imap.UID(fb.byte()%8)}}
			if fb.byte()%4 == 0 {
				set = imap.UIDSet{{Start: a, Stop: 0}}
			}
			c.UID = append(c.UID, set)
		case 2:
			c.Since = day()
		case 3:
			c.Before = day()
		case 4:
			c.SentSince = day()
		case 5:
			c.SentBefore = day()
		case 6:
			c.Header = append(c.Header, imap.SearchCriteriaHeaderField{Key: fb.str("Subject", "FROM", "To", "Message-ID"), Value: fb.str("", "a", "Re", "@x", "zz", "Ab")})
		case 7:
			c.Body = append(c.Body, fb.str("needle", "hay", "NEEDLE"))
		case 8, 9:
			c.Flag = append(c.Flag, imap.Flag(fb.str(`\Seen`, `\Flagged`, `\Deleted`, "work", `\Recent`, "$Forwarded")))
		case 10, 11:
			c.NotFlag = append(c.NotFlag, imap.Flag(fb.str(`\Seen`, `\Answered`, "WORK", `\Recent`)))
		case 12:
			c.Larger = int64(fb.byte()) * 4
		case 13:
			c.Smaller = int64(fb.byte()) * 4
		case 14:
			if depth < 4 {
				c.Not = append(c.Not, criteriaFrom(fb, depth+1))
			}
		case 15:
			if depth < 4 {
				c.Or = append(c.Or, [2]imap.SearchCriteria{criteriaFrom(fb, depth+1), criteriaFrom(fb, depth+1)})
			}
		}
	}
	return c
}

// oracle evaluates IMAP search criteria on a synthetic message directly
// from RFC 9051 §6.4.4, independently of the mapping under test.
func oracle(c *imap.SearchCriteria, m *synthetic, seq uint32, uidStar uint32) bool {
	fold := strings.ToLower
	has := func(f imap.Flag) bool {
		for _, sf := range systemFlags {
			if strings.EqualFold(string(f), string(sf.flag)) {
				return m.row.Flags&sf.bit != 0
			}
		}
		if strings.EqualFold(string(f), `\Recent`) {
			return false
		}
		return slices.ContainsFunc(strings.Fields(m.row.Keywords), func(k string) bool { return strings.EqualFold(k, string(f)) })
	}
	for _, set := range c.SeqNum {
		if !set.Contains(seq) {
			return false
		}
	}
	for _, set := range c.UID {
		in := false
		for _, r := range set {
			lo, hi := staticRange(uint32(r.Start), uint32(r.Stop), uidStar)
			in = in || m.row.UID >= lo && m.row.UID <= hi
		}
		if !in {
			return false
		}
	}
	if !c.Since.IsZero() && m.row.InternalDate.Before(c.Since) || !c.Before.IsZero() && !m.row.InternalDate.Before(c.Before) {
		return false
	}
	if !c.SentSince.IsZero() && m.row.SentAt.Before(c.SentSince) || !c.SentBefore.IsZero() && !m.row.SentAt.Before(c.SentBefore) {
		return false
	}
	for _, h := range c.Header {
		var v string
		switch strings.ToLower(h.Key) {
		case "subject":
			v = m.row.Subject
		case "from":
			v = m.row.FromName + "\x00" + m.row.FromAddr
		case "to":
			v = m.to
		case "message-id":
			v = m.row.MessageIDHeader
		}
		if h.Value == "" {
			if v == "" && strings.ToLower(h.Key) != "subject" {
				return false
			}
			continue
		}
		if !strings.Contains(fold(v), fold(strings.Trim(h.Value, "<> \t"))) {
			return false
		}
	}
	for _, b := range c.Body {
		if !strings.Contains(fold(m.body), fold(b)) {
			return false
		}
	}
	for _, f := range c.Flag {
		if !has(f) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if has(f) {
			return false
		}
	}
	if c.Larger > 0 && m.row.Size <= c.Larger || c.Smaller > 0 && m.row.Size >= c.Smaller {
		return false
	}
	for i := range c.Not {
		if oracle(&c.Not[i], m, seq, uidStar) {
			return false
		}
	}
	for _, or := range c.Or {
		if !oracle(&or[0], m, seq, uidStar) && !oracle(&or[1], m, seq, uidStar) {
			return false
		}
	}
	return true
}

// FuzzSearchMapping maps random criteria trees to the store's conditions
// and evaluates them on synthetic messages; the answer must match a direct
// reading of RFC 9051 (oracle), and the SQL builder must accept the tree.
func FuzzSearchMapping(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3})
	f.Add([]byte{2, 15, 1, 8, 0, 2, 10, 1, 6, 6, 0, 2})
	f.Add([]byte{3, 14, 2, 6, 1, 3, 12, 40, 7, 1})
	f.Add([]byte{1, 1, 5, 3, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		var msgs []synthetic
		uid := uint32(0)
		for i := range 12 {
			uid += uint32(1 + i%3)
			msgs = append(msgs, synthetic{
				row: storage.Message{
					UID: uid, Flags: storage.Flags(i*5) % (storage.FlagForwarded << 1), Keywords: []string{"", "work", "Work other"}[i%3],
					Size: int64(i * 97), InternalDate: time.Date(2024, 1, 1+i, 12, 0, 0, 0, time.UTC),
					SentAt: time.Date(2024, 1, 2+i, 12, 0, 0, 0, time.UTC), Subject: []string{"Re: AB", "hello", ""}[i%3],
					FromName: "Zed", FromAddr: []string{"a@x", "b@y"}[i%2], MessageIDHeader: fmt.Sprintf("%d@x", i),
				},
				body: []string{"some NEEDLE here", "hay only"}[i%2],
				to:   []string{"a@x", ""}[i%2],
			})
		}
		uidStar := msgs[len(msgs)-1].row.UID
		crit := criteriaFrom(&fuzzBytes{in}, 0)
		mapper := &searchMapper{uidStar: uidStar, seqRanges: func(set imap.SeqSet) []storage.UIDRange {
			var out []storage.UIDRange
			for i, m := range msgs {
				if set.Contains(uint32(i + 1)) {
					out = append(out, storage.UIDRange{Start: m.row.UID, Stop: m.row.UID})
				}
			}
			return out
		}}
		cond, err := mapper.cond(&crit, 0)
		if err != nil {
			t.Fatalf("mapping %+v: %v", crit, err)
		}
		if _, err := storage.SearchExact(&cond); err != nil {
			t.Fatalf("SQL for %+v: %v", cond, err)
		}
		var st storage.Store // a zero store folds case like PostgreSQL; no database is touched
		for i := range msgs {
			m := &msgs[i]
			got, err := st.MatchSearch(&cond, &m.row, func(c *storage.SearchCond) (bool, error) {
				e := mapper.exts[c.Ext]
				switch e.kind {
				case extBody:
					return strings.Contains(strings.ToLower(m.body), strings.ToLower(e.value)), nil
				case extAddr:
					return strings.Contains(strings.ToLower(m.to), strings.ToLower(e.value)), nil
				case extHeader:
					if strings.EqualFold(e.field, "to") {
						return m.to != "", nil
					}
					if strings.EqualFold(e.field, "subject") {
						return true, nil // every message has a Subject field, some empty
					}
					return e.value == "" || strings.Contains(strings.ToLower(m.row.MessageIDHeader+m.row.FromAddr), strings.ToLower(e.value)), nil
				}
				return false, fmt.Errorf("unexpected external test %+v", e)
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := oracle(&crit, m, uint32(i+1), uidStar); got != want {
				t.Fatalf("message %d (UID %d): mapped search says %v, RFC says %v\ncriteria %+v\ncondition %+v", i+1, m.row.UID, got, want, crit, cond)
			}
		}
	})
}

// wireFuzz is a running door with one examined folder, shared by the
// iterations of a fuzz worker.
type wireFuzz struct {
	ts     *testServer
	panics atomic.Int64
	conn   *tls.Conn
	r      *bufio.Reader
	tag    int
}

var (
	wireOnce sync.Once
	wire     *wireFuzz
)

type panicCounter struct {
	slog.Handler
	n *atomic.Int64
}

func (h panicCounter) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		h.n.Add(1)
	}
	return nil
}

func (h panicCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicCounter) WithGroup(string) slog.Handler      { return h }

func wireServer(f *testing.F) *wireFuzz {
	wireOnce.Do(func() {
		w := &wireFuzz{}
		// The server outlives the first fuzz function's cleanups: it uses
		// its own environment, closed with the process.
		env := testenv.New(&keepAlive{F: f})
		w.ts = newTestServerEnv(&keepAlive{F: f}, env, func(o *Options) {
			o.Logger = slog.New(panicCounter{Handler: slog.DiscardHandler, n: &w.panics})
		})
		c := w.ts.client(&keepAlive{F: f})
		for _, raw := range []string{richMessage, plainMessage("a", "b"), "Subject: odd\r\nContent-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nzz"} {
			cmd := c.Append("INBOX", int64(len(raw)), &imap.AppendOptions{Flags: []imap.Flag{"work"}})
			cmd.Write([]byte(raw))
			cmd.Close()
			cmd.Wait()
		}
		wire = w
	})
	return wire
}

// keepAlive is a testing.TB whose cleanups never run: the fuzz server
// lives for the whole process.
type keepAlive struct{ *testing.F }

func (k *keepAlive) Cleanup(func()) {}
func (k *keepAlive) TempDir() string {
	return mustTemp()
}

var tempOnce sync.Once
var tempDir string

func mustTemp() string {
	tempOnce.Do(func() {
		var err error
		tempDir, err = os.MkdirTemp("", "pochta-imap-fuzz-")
		if err != nil {
			panic(err)
		}
	})
	return tempDir
}

func (w *wireFuzz) send(t *testing.T, command string) string {
	if w.conn == nil {
		conn, err := tls.Dial("tcp", w.ts.tlsAddr, w.ts.env.ClientTLS)
		if err != nil {
			t.Fatal(err)
		}
		w.conn, w.r = conn, bufio.NewReader(conn)
		w.r.ReadString('\n')
		for _, c := range []string{`LOGIN alice@example.com "` + testPassword + `"`, "EXAMINE INBOX"} {
			if l := w.exchange(t, c); !strings.Contains(l, " OK") {
				t.Fatalf("%s: %s", c, l)
			}
		}
	}
	return w.exchange(t, command)
}

func (w *wireFuzz) exchange(t *testing.T, command string) string {
	w.tag++
	tag := fmt.Sprintf("z%d", w.tag)
	w.conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := w.conn.Write([]byte(tag + " " + command + "\r\n")); err != nil {
		w.conn = nil
		return ""
	}
	for {
		l, err := w.r.ReadString('\n')
		if err != nil {
			w.conn.Close()
			w.conn = nil
			return ""
		}
		if strings.HasPrefix(l, tag+" ") {
			return l
		}
		if n := literalSize(l); n > 0 {
			buf := make([]byte, n)
			if _, err := io.ReadFull(w.r, buf); err != nil {
				w.conn = nil
				return ""
			}
		}
	}
}

// literalSize returns n for a line ending in a literal announcement {n}.
func literalSize(l string) int {
	l = strings.TrimRight(l, "\r\n")
	if !strings.HasSuffix(l, "}") {
		return 0
	}
	i := strings.LastIndexByte(l, '{')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(l[i+1 : len(l)-1])
	if err != nil {
		return 0
	}
	return n
}

// wireCommand keeps fuzz input on one line, away from literals and with
// its quotes closed: go-imap's decoder would otherwise wait for more input
// (until its 30-second command timeout), which tests nothing of ours.
func wireCommand(in string) string {
	out := strings.Map(func(r rune) rune {
		switch r {
		case '\r', '\n', '{', '}', '\\':
			return ' '
		}
		return r
	}, in)
	if strings.Count(out, `"`)%2 == 1 {
		out += `"`
	}
	return out
}

func fuzzWire(f *testing.F, prefix string, seeds []string) {
	for _, s := range seeds {
		f.Add(s)
	}
	w := wireServer(f)
	f.Fuzz(func(t *testing.T, in string) {
		before := w.panics.Load()
		done := w.send(t, prefix+wireCommand(in))
		if w.panics.Load() != before {
			t.Fatalf("the server panicked on %q", prefix+in)
		}
		// go-imap itself answers some syntax errors (a sequence number 0)
		// with "NO [SERVERBUG] Internal server error"; ours say "logged".
		if strings.Contains(done, "SERVERBUG") && strings.Contains(done, "logged") {
			t.Fatalf("%q: %s", prefix+in, done)
		}
	})
}

// FuzzSearchWire sends fuzzed SEARCH commands through go-imap's parser to
// the mapping, the SQL and the row checks, over a real connection.
func FuzzSearchWire(f *testing.F) {
	fuzzWire(f, "UID SEARCH ", []string{
		"ALL", "OR FROM bob SUBJECT lunch", "NOT (BODY needle) UNSEEN", "HEADER X-Custom world LARGER 10",
		"1:* SINCE 1-Jan-2024 BEFORE 1-Jan-2030", "RETURN (MIN MAX COUNT) KEYWORD work", "TO carol CC dave BCC x TEXT hello",
		"UID 2:* NOT UID 1", "OR OR SEEN FLAGGED NOT DELETED", "SENTON 4-Mar-2024", "CHARSET UTF-8 SUBJECT Grüße",
	})
}

// FuzzFetchWire sends fuzzed FETCH item lists (sections, partials,
// BINARY) to the section mapping over a real connection.
func FuzzFetchWire(f *testing.F) {
	fuzzWire(f, "FETCH 1:* ", []string{
		"(BODY.PEEK[])", "(BODY.PEEK[1.MIME] BODY.PEEK[3.HEADER.FIELDS (SUBJECT)])", "(BINARY.PEEK[2]<1.3> BINARY.SIZE[1])",
		"(BODY.PEEK[3.1]<0.5> ENVELOPE BODYSTRUCTURE)", "FULL", "(BODY.PEEK[HEADER.FIELDS.NOT (FROM TO)] RFC822.SIZE)",
		"(BINARY.PEEK[1])", "(BODY.PEEK[9.9.9.TEXT])", "(UID FLAGS INTERNALDATE)",
	})
}
