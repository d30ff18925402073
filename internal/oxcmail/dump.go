package oxcmail

import (
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	mp "github.com/pochta/pochta/internal/mapiprop"
)

// Dump writes a stable, human-readable listing of m: every property of the
// message, its recipients and attachments (embedded messages nested), one
// per line, sorted by tag. names, when not nil, labels named properties
// (ids 0x8000 and above). Long values are shortened to their length and a
// hash, attachment data is summarised the same way. It exists for golden
// tests and for debugging.
func Dump(w io.Writer, m *Message, names func(id uint16) string) {
	dumpMessage(w, m, names, "")
}

func dumpMessage(w io.Writer, m *Message, names func(uint16) string, indent string) {
	fmt.Fprintf(w, "%smessage:\n", indent)
	dumpProps(w, m.Props, names, indent+"  ")
	for i, r := range m.Recipients {
		fmt.Fprintf(w, "%srecipient %d:\n", indent, i)
		dumpProps(w, r, names, indent+"  ")
	}
	for i, a := range m.Attachments {
		fmt.Fprintf(w, "%sattachment %d:\n", indent, i)
		dumpProps(w, a.Props, names, indent+"  ")
		if a.Embedded != nil {
			dumpMessage(w, a.Embedded, names, indent+"  ")
		} else {
			data := a.Bytes()
			fmt.Fprintf(w, "%s  data: %s\n", indent, summarize(data, 64))
		}
	}
}

func dumpProps(w io.Writer, p Props, names func(uint16) string, indent string) {
	for _, v := range p.Values() {
		name := TagName(v.Tag)
		if v.Tag.IsNamed() && names != nil {
			name = names(v.Tag.ID())
		}
		if name == "" {
			name = "?"
		}
		fmt.Fprintf(w, "%s%s %s = %s\n", indent, v.Tag, name, formatValue(v))
	}
}

// formatValue renders a value on one line.
func formatValue(v mp.Value) string {
	switch d := v.Data.(type) {
	case string:
		if v.Tag == mp.PidTagTransportMessageHeaders.WithType(v.Tag.Type()) || utf8.RuneCountInString(d) > 300 {
			return fmt.Sprintf("%q…(%d bytes, sha256 %s)", truncateRunes(d, 60), len(d), shortHash([]byte(d)))
		}
		return fmt.Sprintf("%q", d)
	case []byte:
		return summarize(d, 96)
	case time.Time:
		return d.UTC().Format(time.RFC3339Nano)
	case []string:
		q := make([]string, len(d))
		for i, s := range d {
			q[i] = fmt.Sprintf("%q", s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case int32:
		return fmt.Sprintf("%d (0x%08X)", d, uint32(d))
	}
	return fmt.Sprintf("%v", v.Data)
}

// summarize prints small binary values in hex, printable ones as text too,
// and large ones as length and hash.
func summarize(b []byte, max int) string {
	if len(b) > max {
		return fmt.Sprintf("%d bytes, sha256 %s", len(b), shortHash(b))
	}
	printable := utf8.Valid(b)
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != 0 {
			printable = false
		}
	}
	if printable && len(b) > 0 {
		return fmt.Sprintf("%x %q", b, b)
	}
	return fmt.Sprintf("%x", b)
}

func shortHash(b []byte) string {
	s := sha256.Sum256(b)
	return fmt.Sprintf("%x", s[:8])
}
