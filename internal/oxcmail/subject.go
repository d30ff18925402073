package oxcmail

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"time"
	"unicode/utf8"

	mp "github.com/pochta/pochta/internal/mapiprop"
)

// SplitSubject splits a subject into PidTagSubjectPrefix and
// PidTagNormalizedSubject (MS-OXCMAIL 2.2.3.2.6.1): one to three
// characters that are not a colon, a blank or a digit, then a colon and any
// number of blanks. The prefix is those characters plus ": ". Without such
// a prefix, the prefix is "" and the normalized subject is the subject.
func SplitSubject(subject string) (prefix, normalized string) {
	n := 0
	for i, r := range subject {
		if r == ':' {
			if n == 0 {
				break
			}
			rest := strings.TrimLeft(subject[i+1:], " ")
			return subject[:i] + ": ", rest
		}
		if r == ' ' || (r >= '0' && r <= '9') || n == 3 {
			break
		}
		n++
	}
	return "", subject
}

// setSubject sets PidTagSubject, PidTagSubjectPrefix and
// PidTagNormalizedSubject.
func setSubject(p *Props, subject string) {
	prefix, norm := SplitSubject(subject)
	p.setString(mp.PidTagSubject, subject)
	p.setString(mp.PidTagSubjectPrefix, prefix)
	p.setString(mp.PidTagNormalizedSubject, norm)
}

// ConversationIndex builds a PidTagConversationIndex (MS-OXOMSG 2.2.1.3):
// a 22-byte header (0x01, the top 40 bits of the FILETIME t, a GUID) and
// one 5-byte response level per reply. Derived properties must not change
// between derivations, so the GUID is a hash of the thread's root message
// id instead of a random one, and replies (references) carry zero time
// deltas: every message of a thread gets the same GUID and sorts below its
// ancestors.
func ConversationIndex(t time.Time, threadRoot string, replies int) []byte {
	out := make([]byte, 0, 22+5*min(replies, 32))
	out = append(out, 0x01)
	ft := mp.TimeToFileTime(t)
	var tb [8]byte
	binary.BigEndian.PutUint64(tb[:], ft)
	out = append(out, tb[:5]...)
	sum := sha256.Sum256([]byte(threadRoot))
	out = append(out, sum[:16]...)
	for i := 0; i < min(replies, 32); i++ {
		// DC bit 0, 31-bit time delta 0, 4 random bits and a 4-bit
		// sequence count: use the level number so levels differ.
		out = append(out, 0, 0, 0, 0, byte(i&0x0F))
	}
	return out
}

// stripControls removes control characters (other than tab) from a header
// value meant for a MAPI string.
func stripControls(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// truncateRunes keeps at most n runes of s.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
