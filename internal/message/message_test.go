package message

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// partWant describes one part, addressed by its IMAP section number.
type partWant struct {
	path     string // "1.2"
	ctype    string // "type/subtype"
	body     string // exact raw body, unless skipBody
	skipBody bool
	fileName string
	lines    int64
}

type fileWant struct {
	file           string
	subject        string
	fromName       string
	fromAddr       string
	toDisplay      string
	ccDisplay      string
	sentAt         string // RFC 3339, "" for zero
	messageID      string
	inReplyTo      string
	references     []string
	importance     int
	hasAttachments bool
	preview        string
	warnings       []string // substrings, each must appear in some warning; nil means none at all
	parts          []partWant
	attachments    []string // "path filename inline"
}

var fileTests = []fileWant{
	{
		file:       "simple.eml",
		subject:    "Grüße aus München",
		fromName:   "Alice Müller",
		fromAddr:   "alice@example.org",
		toDisplay:  "Bob Smith; Carol, Q.",
		ccDisplay:  "Dave Jones",
		sentAt:     "2024-05-14T09:21:05Z",
		messageID:  "20240514092105.12345@mail.example.org",
		inReplyTo:  "abc.123@example.com",
		references: []string{"root.1@example.com", "abc.123@example.com"},
		importance: 2,
		preview:    "Hallo Bob, viele Grüße aus München. Wir sehen uns nächste Woche. -- Alice",
		parts: []partWant{
			{path: "1", ctype: "text/plain", lines: 7,
				body: "Hallo Bob,\r\n\r\nviele Grüße aus München. Wir sehen uns\r\nnächste Woche.\r\n\r\n-- \r\nAlice\r\n"},
		},
	},
	{
		file:       "alternative.eml",
		subject:    "Schöne Angebote",
		fromName:   "Shop Newsletter",
		fromAddr:   "news@shop.example",
		toDisplay:  "customer@example.com",
		sentAt:     "2024-05-15T12:00:00Z",
		messageID:  "news-2024-05@shop.example",
		importance: 0,
		preview:    "Schöne Angebote für Sie: 20% auf alles, nur heute. Dieser Satz ist absichtlich lang, damit ein weicher Zeilenumbruch entsteht.",
		parts: []partWant{
			{path: "1", ctype: "text/plain", lines: 2, skipBody: true},
			{path: "2", ctype: "text/html", lines: 2,
				body: "PGh0bWw+PGhlYWQ+PHRpdGxlPk5ld3M8L3RpdGxlPjxzdHlsZT5wIHtjb2xvcjogcmVkfTwvc3R5\r\nbGU+PC9oZWFkPjxib2R5PjxwPlNjaMO2bmUgQW5nZWJvdGUgZsO8ciBTaWU8L3A+PC9ib2R5Pjwv\r\naHRtbD4K"},
		},
	},
	{
		file:           "mixed.eml",
		subject:        "Quarterly report",
		fromName:       "Eve Example",
		fromAddr:       "eve@example.com",
		toDisplay:      "Frank",
		sentAt:         "2024-05-16T14:30:00Z",
		messageID:      "report-q2@example.com",
		importance:     1,
		hasAttachments: true,
		preview:        "Hi Frank, the report is attached.",
		parts: []partWant{
			{path: "1", ctype: "multipart/alternative", skipBody: true},
			{path: "1.1", ctype: "text/plain", lines: 3, body: "Hi Frank,\r\n\r\nthe report is attached.\r\n"},
			{path: "1.2", ctype: "multipart/related", skipBody: true},
			{path: "1.2.1", ctype: "text/html", lines: 1, skipBody: true},
			{path: "1.2.2", ctype: "image/png", fileName: "logo.png",
				body: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="},
			{path: "2", ctype: "application/pdf", fileName: "Quartalsbericht Übersicht.pdf", skipBody: true},
			{path: "3", ctype: "text/csv", fileName: "Umsätze.csv", lines: 3, body: "region,q1,q2\r\nnorth,10,12\r\nsouth,7,9\r\n"},
		},
		attachments: []string{"1.2.2 logo.png true", "2 Quartalsbericht Übersicht.pdf false", "3 Umsätze.csv false"},
	},
	{
		file:           "forward.eml",
		subject:        "Fwd: Lunch?",
		fromName:       "Grace",
		fromAddr:       "grace@example.org",
		toDisplay:      "Heidi",
		sentAt:         "2024-05-17T09:00:00Z",
		messageID:      "fwd-1@example.org",
		importance:     1,
		hasAttachments: true,
		preview:        "See below.",
		parts: []partWant{
			{path: "1", ctype: "text/plain", lines: 1, body: "See below.\r\n"},
			{path: "2", ctype: "message/rfc822", fileName: "Lunch.eml", lines: 17, skipBody: true},
			{path: "2.1", ctype: "text/plain", body: "Lunch tomorrow at noon?"},
			{path: "2.2", ctype: "text/html", body: "<p>Lunch tomorrow at noon?</p>"},
			{path: "3", ctype: "message/rfc822", lines: 4, skipBody: true},
			{path: "3.1", ctype: "text/plain", body: "Just text."},
		},
		attachments: []string{"2 Lunch.eml false", "3  false"},
	},
	{
		file:       "groups.eml",
		subject:    "group test",
		fromName:   "Doe, John",
		fromAddr:   "john.doe@example.com",
		toDisplay:  "anna@example.com; Ben B.; solo@example.com",
		sentAt:     "2024-05-18T07:00:00Z",
		messageID:  "groups@example.com",
		importance: 1,
		preview:    "Groups.",
		parts:      []partWant{{path: "1", ctype: "text/plain", lines: 1, body: "Groups.\r\n"}},
	},
	{
		file:           "digest.eml",
		subject:        "Digest, Vol 1, Issue 2",
		fromAddr:       "list@example.com",
		toDisplay:      "subscriber@example.com",
		sentAt:         "2024-05-18T00:00:00Z",
		importance:     1,
		hasAttachments: true,
		parts: []partWant{
			// RFC 2046 §5.1.5: parts of a digest default to message/rfc822.
			{path: "1", ctype: "message/rfc822", lines: 3, body: "From: a@example.com\r\nSubject: first\r\n\r\nFirst message."},
			{path: "1.1", ctype: "text/plain", body: "First message."},
			{path: "2.1", ctype: "text/plain", body: "Second message."},
		},
		attachments: []string{"1  false", "2  false"},
	},
	{
		file:           "dsn.eml",
		subject:        "Undelivered Mail Returned to Sender",
		fromAddr:       "MAILER-DAEMON@mx.example.com",
		toDisplay:      "sender@example.org",
		sentAt:         "2024-05-19T03:04:05Z",
		importance:     1,
		hasAttachments: true,
		preview:        "Your message could not be delivered.",
		parts: []partWant{
			{path: "1", ctype: "text/plain", lines: 1, body: "Your message could not be delivered.\r\n"},
			{path: "2", ctype: "message/delivery-status", skipBody: true},
			{path: "3", ctype: "text/rfc822-headers", lines: 3, skipBody: true},
		},
		attachments: []string{"2  false", "3  false"},
	},
	{
		file:           "bare-lf.eml",
		subject:        "cron output",
		fromName:       "Unix User",
		fromAddr:       "user@host.example",
		toDisplay:      "root@host.example",
		sentAt:         "2024-05-20T01:00:00Z",
		importance:     1,
		hasAttachments: true,
		preview:        "line one line two",
		parts: []partWant{
			{path: "1", ctype: "text/plain", lines: 1, body: "line one\nline two"},
			{path: "2", ctype: "application/octet-stream", fileName: "log.gz", body: "H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA=="},
		},
		attachments: []string{"2 log.gz false"},
	},
	{
		file:       "missing-final-boundary.eml",
		subject:    "truncated",
		fromAddr:   "spammer@example.biz",
		toDisplay:  "victim@example.com",
		sentAt:     "2024-05-20T02:00:00Z",
		importance: 1,
		preview:    "first part",
		warnings:   []string{"missing close delimiter"},
		parts: []partWant{
			{path: "1", ctype: "text/plain", body: "first part"},
			// No delimiter follows, so the final line end is body.
			{path: "2", ctype: "text/html", lines: 1, body: "<p>second part, never closed</p>\r\n"},
		},
	},
	{
		file:       "no-boundary-param.eml",
		subject:    "no boundary parameter",
		fromAddr:   "broken@example.com",
		toDisplay:  "you@example.com",
		importance: 1,
		preview:    "hello",
		warnings:   []string{"without boundary parameter: guessed \"guessme\""},
		parts: []partWant{
			{path: "1", ctype: "text/plain", body: "hello"},
			{path: "2", ctype: "text/plain", body: "world"},
		},
	},
	{
		file:       "wrong-boundary.eml",
		subject:    "wrong boundary parameter",
		fromAddr:   "broken@example.com",
		toDisplay:  "you@example.com",
		importance: 1,
		preview:    "plain",
		warnings:   []string{"\"declared\" not found: guessed \"actual\""},
		parts: []partWant{
			{path: "1", ctype: "text/plain", body: "plain"},
			{path: "2", ctype: "text/html", body: "<b>html</b>"},
		},
	},
	{
		file:       "junk-header.eml",
		subject:    "Grüße hello und mehr",
		fromName:   "Jörg Schäfer",
		fromAddr:   "joerg@example.de",
		toDisplay:  "tlhIngan",
		importance: 1,
		preview:    "Käse und Wurst.",
		warnings:   []string{"malformed header line", "unknown charset \"x-klingon\"", "unparsable Date"},
		parts:      []partWant{{path: "1", ctype: "text/plain", lines: 1, body: "K\xe4se und Wurst.\r\n"}},
	},
	{
		file:       "no-header.eml",
		importance: 1,
		preview:    "Hello there, this message has no header at all.",
		warnings:   []string{"entity without header"},
		parts: []partWant{
			{path: "1", ctype: "text/plain", lines: 2, body: "Hello there,\r\nthis message has no header at all.\r\n"},
		},
	},
	{
		file:       "header-only.eml",
		subject:    "only a header",
		fromAddr:   "a@example.com",
		toDisplay:  "b@example.com",
		importance: 1,
		warnings:   []string{"header not terminated"},
		parts:      []partWant{{path: "1", ctype: "text/plain", body: ""}},
	},
	{
		file:           "nested-unclosed.eml",
		subject:        "nested unclosed",
		fromAddr:       "a@example.com",
		toDisplay:      "b@example.com",
		importance:     1,
		hasAttachments: true,
		preview:        "plain text",
		warnings:       []string{"multipart/alternative: missing close delimiter"},
		parts: []partWant{
			{path: "1", ctype: "multipart/alternative", skipBody: true},
			{path: "1.1", ctype: "text/plain", body: "plain text"},
			// The enclosing boundary ends the unclosed inner multipart.
			{path: "1.2", ctype: "text/html", body: "<i>html</i>"},
			{path: "2", ctype: "image/gif", fileName: "a.gif", body: "R0lGODlhAQABAAAAACw="},
		},
		attachments: []string{"2 a.gif false"},
	},
	{
		file:           "encoded-message.eml",
		subject:        "base64 message/rfc822",
		fromAddr:       "a@example.com",
		toDisplay:      "b@example.com",
		importance:     1,
		hasAttachments: true,
		preview:        "see attachment",
		warnings:       []string{"message/rfc822 part with base64 transfer encoding left unparsed"},
		parts: []partWant{
			{path: "1", ctype: "text/plain", body: "see attachment"},
			{path: "2", ctype: "message/rfc822", body: "RnJvbTogeEBleGFtcGxlLmNvbQ0KU3ViamVjdDogaW5uZXINCg0KYm9keQ0K"},
		},
		attachments: []string{"2  false"},
	},
}

func parsePath(t *testing.T, s string) []int {
	t.Helper()
	var path []int
	for _, f := range strings.Split(s, ".") {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad path %q", s)
		}
		path = append(path, n)
	}
	return path
}

func TestParseFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, tc := range fileTests {
		covered["testdata/"+tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			raw := readTestdata(t, tc.file)
			p := Parse(raw)
			if err := checkInvariants(raw, p); err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", what, got, want)
				}
			}
			check("Subject", p.Subject, tc.subject)
			check("FromName", p.FromName, tc.fromName)
			check("FromAddr", p.FromAddr, tc.fromAddr)
			check("ToDisplay", p.ToDisplay, tc.toDisplay)
			check("CcDisplay", p.CcDisplay, tc.ccDisplay)
			sent := ""
			if !p.SentAt.IsZero() {
				sent = p.SentAt.Format(time.RFC3339)
			}
			check("SentAt", sent, tc.sentAt)
			check("MessageID", p.MessageID, tc.messageID)
			check("InReplyTo", p.InReplyTo, tc.inReplyTo)
			check("References", p.References, tc.references)
			check("Importance", p.Importance, tc.importance)
			check("HasAttachments", p.HasAttachments, tc.hasAttachments)
			check("Preview", p.Preview, tc.preview)
			if tc.warnings == nil && len(p.Warnings) > 0 {
				t.Errorf("unexpected warnings %q", p.Warnings)
			}
			for _, w := range tc.warnings {
				if !slices.ContainsFunc(p.Warnings, func(s string) bool { return strings.Contains(s, w) }) {
					t.Errorf("no warning containing %q in %q", w, p.Warnings)
				}
			}
			for _, pw := range tc.parts {
				part := p.PartByPath(parsePath(t, pw.path))
				if part == nil {
					t.Errorf("part %s missing", pw.path)
					continue
				}
				check("part "+pw.path+" type", part.ContentType(), pw.ctype)
				check("part "+pw.path+" filename", part.FileName(), pw.fileName)
				check("part "+pw.path+" lines", part.Lines, pw.lines)
				if !pw.skipBody {
					check("part "+pw.path+" body", string(raw[part.BodyStart:part.End]), pw.body)
				}
			}
			var atts []string
			for _, a := range Attachments(p) {
				var path []string
				for _, n := range a.Path {
					path = append(path, strconv.Itoa(n))
				}
				atts = append(atts, fmt.Sprintf("%s %s %v", strings.Join(path, "."), a.FileName, a.Inline))
			}
			check("attachments", atts, tc.attachments)
		})
	}
	for _, f := range files {
		if !covered[f] {
			t.Errorf("%s has no table entry", f)
		}
	}
}

// checkInvariants verifies what every consumer relies on: offsets within
// raw and ordered, children inside their parent's body and in order, an
// embedded message spanning its part's body, sizes and line counts
// consistent with the raw bytes, section numbers that resolve, and a
// lossless Marshal round trip.
func checkInvariants(raw []byte, p *Parsed) error {
	if p == nil || p.Root == nil {
		return fmt.Errorf("nil result")
	}
	if p.Root.HeaderStart != 0 || p.Root.End != int64(len(raw)) {
		return fmt.Errorf("root spans [%d,%d), want [0,%d)", p.Root.HeaderStart, p.Root.End, len(raw))
	}
	var errs []string
	var visit func(part *Part, depth int)
	visit = func(part *Part, depth int) {
		if depth > 2*MaxDepth+2 {
			errs = append(errs, "tree deeper than the cap")
			return
		}
		if !(0 <= part.HeaderStart && part.HeaderStart <= part.BodyStart && part.BodyStart <= part.End && part.End <= int64(len(raw))) {
			errs = append(errs, fmt.Sprintf("bad offsets [%d %d %d] of %d", part.HeaderStart, part.BodyStart, part.End, len(raw)))
			return
		}
		if part.Size != part.End-part.BodyStart {
			errs = append(errs, fmt.Sprintf("size %d != %d", part.Size, part.End-part.BodyStart))
		}
		if part.MediaType == "text" || part.IsMessage() {
			if n := int64(bytes.Count(raw[part.BodyStart:part.End], []byte("\n"))); n != part.Lines {
				errs = append(errs, fmt.Sprintf("lines %d != %d", part.Lines, n))
			}
		}
		if part.MediaType == "" || part.MediaSubtype == "" || strings.ToLower(part.ContentType()) != part.ContentType() {
			errs = append(errs, fmt.Sprintf("bad media type %q", part.ContentType()))
		}
		if part.IsMessage() && len(part.Parts) == 1 {
			sub := part.Parts[0]
			if sub.HeaderStart != part.BodyStart || sub.End != part.End {
				errs = append(errs, fmt.Sprintf("embedded message [%d,%d) does not span body [%d,%d)", sub.HeaderStart, sub.End, part.BodyStart, part.End))
			}
			if part.Envelope == nil {
				errs = append(errs, "message part without envelope")
			}
		} else if len(part.Parts) > 0 {
			if !part.IsMultipart() {
				errs = append(errs, fmt.Sprintf("%s has children", part.ContentType()))
			}
			prev := part.BodyStart
			for _, c := range part.Parts {
				if c.HeaderStart < prev || c.End > part.End {
					errs = append(errs, fmt.Sprintf("child [%d,%d) outside parent body [%d,%d) or out of order", c.HeaderStart, c.End, prev, part.End))
				}
				prev = c.End
			}
		}
		for _, c := range part.Parts {
			visit(c, depth+1)
		}
	}
	visit(p.Root, 0)
	if len(errs) > 0 {
		return fmt.Errorf("invariants: %s", strings.Join(errs, "; "))
	}
	var walkErr error
	p.Root.Walk(func(path []int, part *Part) bool {
		if len(path) == 0 || walkErr != nil {
			return true
		}
		got := p.PartByPath(path)
		// A multipart embedded in a message/rfc822 part shares its number.
		if got != part && !(got != nil && got.Embedded() == part) {
			walkErr = fmt.Errorf("PartByPath(%v) does not return the part Walk visited", path)
		}
		return true
	})
	if walkErr != nil {
		return walkErr
	}
	q, err := Unmarshal(p.Marshal())
	if err != nil {
		return fmt.Errorf("unmarshal: %w", err)
	}
	if !reflect.DeepEqual(p, q) {
		return fmt.Errorf("marshal round trip differs:\n%+v\n%+v", p, q)
	}
	return nil
}

func TestPartByPath(t *testing.T) {
	raw := readTestdata(t, "forward.eml")
	p := Parse(raw)
	tests := []struct {
		path []int
		want string // content type, "" for nil
	}{
		{nil, "multipart/mixed"},
		{[]int{1}, "text/plain"},
		{[]int{2}, "message/rfc822"},
		{[]int{2, 1}, "text/plain"},
		{[]int{2, 2}, "text/html"},
		{[]int{2, 3}, ""},
		{[]int{3, 1}, "text/plain"},
		{[]int{3, 2}, ""},
		{[]int{1, 1}, "text/plain"}, // a leaf's only part is itself
		{[]int{1, 2}, ""},
		{[]int{4}, ""},
		{[]int{0}, ""},
		{[]int{-1}, ""},
	}
	for _, tc := range tests {
		got := ""
		if part := p.PartByPath(tc.path); part != nil {
			got = part.ContentType()
		}
		if got != tc.want {
			t.Errorf("PartByPath(%v) = %q, want %q", tc.path, got, tc.want)
		}
	}
	// 2.1 is the embedded message's first part, not the message part.
	if p.PartByPath([]int{2, 1}) != p.Root.Parts[1].Parts[0].Parts[0] {
		t.Error("2.1 is not the first part of the embedded multipart")
	}
	// 3.1 of a non-multipart embedded message is that message's body.
	if p.PartByPath([]int{3, 1}) != p.Root.Parts[2].Parts[0] {
		t.Error("3.1 is not the embedded message's root")
	}

	simple := Parse(readTestdata(t, "simple.eml"))
	if simple.PartByPath([]int{1}) != simple.Root {
		t.Error("section 1 of a non-multipart message is not its body")
	}
	if simple.PartByPath([]int{2}) != nil {
		t.Error("section 2 of a non-multipart message exists")
	}
}

func TestHeaderOffsets(t *testing.T) {
	raw := readTestdata(t, "mixed.eml")
	p := Parse(raw)
	pdf := p.PartByPath([]int{2})
	hdr := pdf.HeaderBytes(raw)
	if !bytes.HasPrefix(hdr, []byte("Content-Type: application/pdf;\r\n name*0*")) || !bytes.HasSuffix(hdr, []byte("\r\n\r\n")) {
		t.Errorf("header of part 2 = %q", hdr)
	}
	fields := ReadHeader(hdr)
	var keys []string
	for _, f := range fields {
		keys = append(keys, f.Key)
	}
	wantKeys := []string{"Content-Type", "Content-Disposition", "Content-Transfer-Encoding", "Content-Description", "Content-MD5"}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("header keys %q, want %q", keys, wantKeys)
	}
	if got := string(fields[0].Raw); got != "Content-Type: application/pdf;\r\n name*0*=utf-8''Quartalsbericht%20;\r\n name*1*=%C3%9Cbersicht.pdf\r\n" {
		t.Errorf("raw field = %q", got)
	}
	if fields[0].Value != "application/pdf; name*0*=utf-8''Quartalsbericht%20; name*1*=%C3%9Cbersicht.pdf" {
		t.Errorf("unfolded value = %q", fields[0].Value)
	}
	if pdf.Description != "Q2 report" || pdf.MD5 != "Q2hlY2sgSW50ZWdyaXR5IQ==" || pdf.Encoding != "base64" {
		t.Errorf("description %q md5 %q encoding %q", pdf.Description, pdf.MD5, pdf.Encoding)
	}
	if pdf.DispositionParams["size"] != "64" {
		t.Errorf("disposition params %v", pdf.DispositionParams)
	}
	if !reflect.DeepEqual(p.Root.Language, []string{"en-US", "de"}) {
		t.Errorf("language %q", p.Root.Language)
	}
	csv := p.PartByPath([]int{3})
	if csv.Location != "http://example.com/umsaetze.csv" {
		t.Errorf("location %q", csv.Location)
	}
	// The epilogue belongs to the root body, after the last part.
	if !bytes.HasSuffix(raw[csv.End:p.Root.End], []byte("Epilogue text that nobody reads.\r\n")) {
		t.Errorf("epilogue %q", raw[csv.End:p.Root.End])
	}
}

func TestEnvelope(t *testing.T) {
	p := Parse(readTestdata(t, "groups.eml"))
	want := []Address{
		{Name: "Project Team", GroupStart: true},
		{Mailbox: "anna", Host: "example.com"},
		{Name: "Ben B.", Mailbox: "ben", Host: "example.com"},
		{GroupEnd: true},
		{Mailbox: "solo", Host: "example.com"},
	}
	if !reflect.DeepEqual(p.Envelope.To, want) {
		t.Errorf("To = %+v\nwant %+v", p.Envelope.To, want)
	}
	wantCc := []Address{{Name: "undisclosed-recipients", GroupStart: true}, {GroupEnd: true}}
	if !reflect.DeepEqual(p.Envelope.Cc, wantCc) {
		t.Errorf("Cc = %+v", p.Envelope.Cc)
	}

	s := Parse(readTestdata(t, "simple.eml"))
	if s.Envelope.Subject != "=?UTF-8?B?R3LDvMOfZSBhdXMg?= =?UTF-8?B?TcO8bmNoZW4=?=" {
		t.Errorf("envelope subject is not the raw unfolded value: %q", s.Envelope.Subject)
	}
	if s.Envelope.From[0].Name != "=?UTF-8?Q?Alice_M=C3=BCller?=" {
		t.Errorf("envelope name is not raw: %q", s.Envelope.From[0].Name)
	}
	if s.Envelope.MessageID != "<20240514092105.12345@mail.example.org>" || s.Envelope.InReplyTo != "<abc.123@example.com>" {
		t.Errorf("message ids %q %q", s.Envelope.MessageID, s.Envelope.InReplyTo)
	}
	if s.Envelope.Sender != nil || s.Envelope.ReplyTo != nil {
		t.Errorf("absent Sender/Reply-To not empty: %v %v", s.Envelope.Sender, s.Envelope.ReplyTo)
	}

	f := Parse(readTestdata(t, "forward.eml"))
	env := f.PartByPath([]int{2}).Envelope
	if env == nil || env.Subject != "Lunch?" || env.From[0].Addr() != "ivan@example.net" {
		t.Errorf("embedded envelope %+v", env)
	}
}

func TestParseAddressList(t *testing.T) {
	tests := []struct {
		in   string
		want []Address
	}{
		{"", nil},
		{"a@b.example", []Address{{Mailbox: "a", Host: "b.example"}}},
		{`"Smith, J." <j@x.example>, k@y.example`, []Address{{Name: "Smith, J.", Mailbox: "j", Host: "x.example"}, {Mailbox: "k", Host: "y.example"}}},
		{"Joe Q. Public <john.q.public@example.com>", []Address{{Name: "Joe Q. Public", Mailbox: "john.q.public", Host: "example.com"}}},
		{"pete(his account)@silly.test(his host)", []Address{{Name: "his host", Mailbox: "pete", Host: "silly.test"}}},
		{"jdoe@machine.example (John Doe)", []Address{{Name: "John Doe", Mailbox: "jdoe", Host: "machine.example"}}},
		{`"quoted local"@example.com`, []Address{{Mailbox: "quoted local", Host: "example.com"}}},
		{"<@relay.example,@other.example:reply@example.com>", []Address{{Mailbox: "reply", Host: "example.com"}}},
		{"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, Mary <mary@x.test>", []Address{
			{Name: "A Group", GroupStart: true},
			{Name: "Ed Jones", Mailbox: "c", Host: "a.test"},
			{Mailbox: "joe", Host: "where.test"},
			{Name: "John", Mailbox: "jdoe", Host: "one.test"},
			{GroupEnd: true},
			{Name: "Mary", Mailbox: "mary", Host: "x.test"},
		}},
		{"Undisclosed recipients:;", []Address{{Name: "Undisclosed recipients", GroupStart: true}, {GroupEnd: true}}},
		{"Unclosed: a@b.example", []Address{{Name: "Unclosed", GroupStart: true}, {Mailbox: "a", Host: "b.example"}, {GroupEnd: true}}},
		{"=?utf-8?q?J=C3=B6rg?= <j@x.example>", []Address{{Name: "=?utf-8?q?J=C3=B6rg?=", Mailbox: "j", Host: "x.example"}}},
		{"[1.2.3.4] <postmaster@[192.0.2.1]>", []Address{{Name: "1.2.3.4", Mailbox: "postmaster", Host: "[192.0.2.1]"}}},
		{"Forgot Brackets a@b.example", []Address{{Name: "Forgot Brackets", Mailbox: "a", Host: "b.example"}}},
		{"a@b.example c@d.example", []Address{{Mailbox: "a", Host: "b.example"}, {Mailbox: "c", Host: "d.example"}}},
		{"Unterminated <a@b.example", []Address{{Name: "Unterminated", Mailbox: "a", Host: "b.example"}}},
		{"postmaster", []Address{{Mailbox: "postmaster"}}},
		{",,, ;;", nil},
		{"<>", nil},
	}
	for _, tc := range tests {
		got := ParseAddressList(tc.in)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseAddressList(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
}

func TestDecodeHeaderText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"=?UTF-8?B?R3LDvMOfZQ==?=", "Grüße"},
		{"=?iso-8859-1?q?caf=E9?=", "café"},
		{"=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab"},         // RFC 2047 §8: space between words dropped
		{"=?ISO-8859-1?Q?a?= b", "a b"},                         // kept next to plain text
		{"=?ISO-8859-1?Q?a_b?=", "a b"},                         // underscore is space
		{"=?utf-8?B?w6k=?==?utf-8?B?w6k=?=", "éé"},              // adjacent without space
		{"=?utf-8?B?4oK=?= =?utf-8?B?rA==?=", "€"},              // UTF-8 character split across words
		{"=?utf-8*en?q?hello?=", "hello"},                       // RFC 2231 language tag
		{"=?x-unknown?q?ok?=", "ok"},                            // unknown charset: bytes kept
		{"=?x-unknown?q?caf=E9?=", "café"},                      // ... read as Windows-1252 when not UTF-8
		{"=?utf-8?x?bad?=", "=?utf-8?x?bad?="},                  // unknown encoding: left alone
		{"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"},    // no end
		{"caf\xe9", "café"},                                     // raw 8-bit Latin-1
		{"Gr\xc3\xbc\xc3\x9fe", "Grüße"},                        // raw UTF-8
		{"=?windows-1251?B?z/Do4uXy?=", "Привет"},               // via go-message/charset
		{"=?iso-2022-jp?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "こんにちは"}, // stateful charset
		{"=?utf-8?q?a=ZZb?=", "a=ZZb"},                          // malformed escape kept
	}
	for _, tc := range tests {
		if got := DecodeHeaderText(tc.in); got != tc.want {
			t.Errorf("DecodeHeaderText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseContentType(t *testing.T) {
	tests := []struct {
		in       string
		typ, sub string
		params   map[string]string
		ok       bool
	}{
		{"text/plain", "text", "plain", nil, true},
		{`Text/HTML; Charset="UTF-8"`, "text", "html", map[string]string{"charset": "UTF-8"}, true},
		{"multipart/mixed; boundary=abc def", "multipart", "mixed", map[string]string{"boundary": "abc def"}, true},
		{"text/plain; charset=utf-8 format=flowed", "text", "plain", map[string]string{"charset": "utf-8", "format": "flowed"}, true},
		{"text/plain; charset=us-ascii (Plain text)", "text", "plain", map[string]string{"charset": "us-ascii"}, true},
		{"text/plain;; charset=a; charset=b", "text", "plain", map[string]string{"charset": "a"}, true},
		{`application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A`, "application", "x-stuff", map[string]string{"title": "This is ***fun***"}, true},
		{`application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`,
			"application", "x-stuff", map[string]string{"title": "This is even more ***fun*** isn't it!"}, true},
		{`application/pdf; name*1="two.pdf"; name*0="part one "`, "application", "pdf", map[string]string{"name": "part one two.pdf"}, true},
		{`application/pdf; name="fallback.pdf"; name*=iso-8859-1''r%E9sum%E9.pdf`, "application", "pdf", map[string]string{"name": "résumé.pdf"}, true},
		{`application/pdf; name*=x-bogus''%C3%A9.pdf`, "application", "pdf", map[string]string{"name": "é.pdf"}, true},
		{`text/plain; name="unterminated`, "text", "plain", map[string]string{"name": "unterminated"}, true},
		{`text/plain; junk; =bad; good=yes`, "text", "plain", map[string]string{"good": "yes"}, true},
		{"text", "", "", nil, false},
		{"/plain", "", "", nil, false},
		{"; charset=utf-8", "", "", map[string]string{"charset": "utf-8"}, false},
	}
	for _, tc := range tests {
		typ, sub, params, ok := parseContentType(tc.in)
		if typ != tc.typ || sub != tc.sub || ok != tc.ok || !reflect.DeepEqual(params, tc.params) {
			t.Errorf("parseContentType(%q) = %q %q %v %v, want %q %q %v %v", tc.in, typ, sub, params, ok, tc.typ, tc.sub, tc.params, tc.ok)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Tue, 14 May 2024 11:21:05 +0200", "2024-05-14T09:21:05Z"},
		{"14 May 2024 11:21:05 +0200", "2024-05-14T09:21:05Z"},
		{"Tue, 14 May 2024 11:21:05 +0200 (CEST)", "2024-05-14T09:21:05Z"},
		{"Tue,14 May 2024 11:21:05 +0200", "2024-05-14T09:21:05Z"},
		{"Tue, 14 May 2024 11:21:05 GMT", "2024-05-14T11:21:05Z"},
		{"Tue, 14 May 2024 11:21 +0000", "2024-05-14T11:21:00Z"},
		{"Tue May 14 11:21:05 2024", "2024-05-14T11:21:05Z"},
		{"  Tue,   14   May 2024 11:21:05   -0500  ", "2024-05-14T16:21:05Z"},
		{"2024-05-14T11:21:05+02:00", "2024-05-14T09:21:05Z"},
		{"sometime", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got := ""
		if d, ok := ParseDate(tc.in); ok {
			got = d.Format(time.RFC3339)
		}
		if got != tc.want {
			t.Errorf("ParseDate(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseMessageIDs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"<a@b>", []string{"a@b"}},
		{"<a@b> <c@d>\r\n\t<e@f>", []string{"a@b", "c@d", "e@f"}},
		{"(comment) <a@b> junk <c@d>", []string{"a@b", "c@d"}},
		{"a@b", []string{"a@b"}},
		{"<>", nil},
		{"", nil},
	}
	for _, tc := range tests {
		if got := ParseMessageIDs(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseMessageIDs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestImportance(t *testing.T) {
	tests := []struct {
		hdr  string
		want int
	}{
		{"", 1},
		{"Importance: High\r\n", 2},
		{"Importance: low\r\n", 0},
		{"X-Priority: 1 (Highest)\r\n", 2},
		{"X-Priority: 5\r\n", 0},
		{"X-Priority: 3\r\n", 1},
		{"Priority: urgent\r\n", 2},
		{"Priority: non-urgent\r\n", 0},
		{"X-MSMail-Priority: High\r\n", 2},
		{"Importance: normal\r\nX-Priority: 1\r\n", 1}, // Importance wins
	}
	for _, tc := range tests {
		p := Parse([]byte("From: a@b.example\r\n" + tc.hdr + "\r\nbody\r\n"))
		if p.Importance != tc.want {
			t.Errorf("%q: importance %d, want %d", tc.hdr, p.Importance, tc.want)
		}
	}
}

func TestBodies(t *testing.T) {
	raw := readTestdata(t, "alternative.eml")
	p := Parse(raw)
	wantText := "Schöne Angebote für Sie: 20% auf alles, nur heute. Dieser Satz ist absichtlich lang, damit ein weicher Zeilenumbruch entsteht.\r\n"
	if got := TextBody(raw, p); got != wantText {
		t.Errorf("TextBody = %q", got)
	}
	wantHTML := "<html><head><title>News</title><style>p {color: red}</style></head><body><p>Schöne Angebote für Sie</p></body></html>\n"
	if got := HTMLBody(raw, p); got != wantHTML {
		t.Errorf("HTMLBody = %q", got)
	}
	if got, _ := io.ReadAll(TextReader(raw, TextPart(p))); string(got) != wantText {
		t.Errorf("TextReader = %q", got)
	}

	// HTML only: the preview comes from the visible text.
	htmlOnly := "From: a@b.example\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<html><head><title>T</title><style>.x{}</style><script>var a;</script></head>" +
		"<body><p>Hello&nbsp;<b>world</b></p><p>second &amp; last</p></body></html>\r\n"
	hp := Parse([]byte(htmlOnly))
	if hp.Preview != "Hello world second & last" {
		t.Errorf("HTML preview = %q", hp.Preview)
	}
	if TextBody([]byte(htmlOnly), hp) != "" {
		t.Error("text body of an HTML-only message is not empty")
	}

	// An attached text file is not the body.
	mixed := readTestdata(t, "mixed.eml")
	mp := Parse(mixed)
	if TextPart(mp) != mp.PartByPath([]int{1, 1}) || HTMLPart(mp) != mp.PartByPath([]int{1, 2, 1}) {
		t.Error("wrong body parts in mixed.eml")
	}

	// Preview is bounded in runes and collapses white space.
	long := "From: a@b.example\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + strings.Repeat("ü  \r\n\t", 1000)
	lp := Parse([]byte(long))
	// No trailing space is kept, so a cut may leave one rune less.
	if n := len([]rune(lp.Preview)); n != previewRunes && n != previewRunes-1 {
		t.Errorf("preview has %d runes", n)
	}
	if strings.Contains(lp.Preview, "  ") || strings.ContainsAny(lp.Preview, "\r\n\t") {
		t.Errorf("preview not collapsed: %q", lp.Preview[:40])
	}
}

func TestDecodeBody(t *testing.T) {
	payload := make([]byte, 1000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	b64 := base64.StdEncoding.EncodeToString(payload)
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 76 {
		wrapped.WriteString(b64[i:min(i+76, len(b64))] + "\r\n")
	}
	tests := []struct {
		name, enc, body string
		want            string
	}{
		{"base64 wrapped", "base64", wrapped.String(), string(payload)},
		{"base64 upper-case name", "BASE64", wrapped.String(), string(payload)},
		{"base64 junk and spaces", "base64", "aGVs bG8g\r\n!!d29y\tbGQ=\r\n", "hello world"},
		{"base64 padding per line", "base64", "aGk=\r\nISE=\r\n", "hi!!"},
		{"base64 missing padding", "base64", "aGVsbG8", "hello"},
		{"qp", "quoted-printable", "caf=C3=A9 =\r\nna=efve  \r\nend=3D", "café na\xefve\r\nend="},
		{"qp bad escapes", "quoted-printable", "a=ZZb=\r\n=4", "a=ZZb=4"},
		{"qp bare LF", "quoted-printable", "one=\ntwo\nthree", "onetwo\nthree"},
		{"7bit", "7bit", "as is=41\r\n", "as is=41\r\n"},
		{"unknown", "x-uuencode", "begin 644 x\r\n", "begin 644 x\r\n"},
		{"none", "", "raw", "raw"},
	}
	for _, tc := range tests {
		raw := []byte("Content-Transfer-Encoding: " + tc.enc + "\r\n\r\n" + tc.body)
		p := Parse(raw)
		got, err := io.ReadAll(DecodeBody(raw, p.Root))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if string(got) != tc.want {
			t.Errorf("%s: decoded %q, want %q", tc.name, got, tc.want)
		}
	}
	// Reading in tiny pieces gives the same bytes.
	raw := []byte("Content-Transfer-Encoding: base64\r\n\r\n" + wrapped.String())
	p := Parse(raw)
	var out []byte
	r := DecodeBody(raw, p.Root)
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			break
		}
	}
	if !bytes.Equal(out, payload) {
		t.Error("byte-at-a-time base64 decoding differs")
	}
	// A Part that does not match raw (wrong row) cannot make DecodeBody panic.
	bogus := &Part{BodyStart: 10, End: 1 << 40, Encoding: "base64"}
	if _, err := io.ReadAll(DecodeBody([]byte("short"), bogus)); err != nil {
		t.Error(err)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p := Parse(raw)
		b := p.Marshal()
		q, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Errorf("%s: round trip differs", f)
		}
		if !bytes.Equal(q.Marshal(), b) {
			t.Errorf("%s: encoding is not deterministic", f)
		}
		// Every truncation is an error, never a panic or a silent success.
		for i := 0; i < len(b); i++ {
			if _, err := Unmarshal(b[:i]); err == nil {
				t.Fatalf("%s: truncated to %d bytes decodes without error", f, i)
			}
		}
	}
	if _, err := Unmarshal([]byte{99}); err == nil {
		t.Error("unknown version accepted")
	}
}

// nestedMultipart builds depth multiparts inside each other with a text
// part at the bottom.
func nestedMultipart(depth int) []byte {
	var b bytes.Buffer
	b.WriteString("From: deep@example.com\r\nSubject: deep\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i, i+1)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\ndeepest\r\n--b%d--\r\n", depth, depth)
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.Bytes()
}

func TestDeepNesting(t *testing.T) {
	raw := nestedMultipart(100)
	p := Parse(raw)
	if err := checkInvariants(raw, p); err != nil {
		t.Fatal(err)
	}
	depth := 0
	for part := p.Root; len(part.Parts) > 0; part = part.Parts[0] {
		depth++
	}
	if depth != MaxDepth {
		t.Errorf("parsed %d levels, want the cap %d", depth, MaxDepth)
	}
	if !slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.Contains(w, "nesting deeper") }) {
		t.Errorf("no nesting warning: %q", p.Warnings)
	}
	// Below the cap the structure is exact: 30 levels parse completely.
	raw = nestedMultipart(30)
	p = Parse(raw)
	path := slices.Repeat([]int{1}, 32)
	leaf := p.PartByPath(path)
	if leaf == nil || leaf.ContentType() != "text/plain" || string(leaf.BodyBytes(raw)) != "deepest" {
		t.Fatalf("deepest part not found at %v", path)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings for well-formed nesting: %q", p.Warnings)
	}

	// Nested message/rfc822 is capped the same way.
	var b strings.Builder
	for i := 0; i < 80; i++ {
		b.WriteString("Content-Type: message/rfc822\r\n\r\n")
	}
	b.WriteString("Subject: bottom\r\n\r\nbody")
	msgRaw := []byte(b.String())
	if err := checkInvariants(msgRaw, Parse(msgRaw)); err != nil {
		t.Fatal(err)
	}
}

func TestTooManyParts(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("Content-Type: multipart/mixed; boundary=x\r\n\r\n")
	for i := 0; i < MaxParts+50; i++ {
		b.WriteString("--x\r\n\r\np\r\n")
	}
	b.WriteString("--x--\r\n")
	raw := b.Bytes()
	p := Parse(raw)
	if err := checkInvariants(raw, p); err != nil {
		t.Fatal(err)
	}
	if len(p.Root.Parts) >= MaxParts || len(p.Root.Parts) < MaxParts-2 {
		t.Errorf("%d parts kept", len(p.Root.Parts))
	}
	if !slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.Contains(w, "parts") }) {
		t.Errorf("no warning: %q", p.Warnings)
	}
}

// bigAttachment builds a message with a text part and a base64 attachment
// of n bytes, returned with the payload.
func bigAttachment(n int) ([]byte, []byte) {
	payload := make([]byte, n)
	x := uint32(2463534242)
	for i := range payload {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		payload[i] = byte(x)
	}
	enc := base64.StdEncoding.EncodeToString(payload)
	var b bytes.Buffer
	b.Grow(len(enc)*78/76 + 1024)
	b.WriteString("From: Big <big@example.com>\r\nTo: you@example.com\r\nSubject: big file\r\n" +
		"Date: Mon, 20 May 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"big-boundary\"\r\n\r\n" +
		"--big-boundary\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere is the file.\r\n" +
		"--big-boundary\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\n" +
		"Content-Disposition: attachment; filename=\"big.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for i := 0; i < len(enc); i += 76 {
		b.WriteString(enc[i:min(i+76, len(enc))])
		b.WriteString("\r\n")
	}
	b.WriteString("--big-boundary--\r\n")
	return b.Bytes(), payload
}

func TestLargeAttachment(t *testing.T) {
	raw, payload := bigAttachment(50 << 20)
	var before, after runtimeMem
	before.read()
	p := Parse(raw)
	after.read()
	// Parsing must not copy the body: allow far less than its size.
	if alloc := after.total - before.total; alloc > 1<<20 {
		t.Errorf("Parse of a 50 MB message allocated %d bytes", alloc)
	}
	if err := checkInvariants(raw, p); err != nil {
		t.Fatal(err)
	}
	att := AttachmentParts(p)
	if len(att) != 1 || att[0].FileName() != "big.bin" {
		t.Fatalf("attachments %v", att)
	}
	// The line end before the close delimiter belongs to the delimiter.
	if bytes.HasSuffix(att[0].BodyBytes(raw), []byte("\r\n")) {
		t.Error("attachment body ends with the delimiter's line end")
	}
	got, err := io.ReadAll(DecodeBody(raw, att[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Error("decoded attachment differs from the payload")
	}
	if p.Preview != "Here is the file." {
		t.Errorf("preview %q", p.Preview)
	}
}

type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.total = ms.TotalAlloc
}
