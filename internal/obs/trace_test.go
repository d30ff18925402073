package obs

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
)

// Each conversation lists lines in wire order (both directions); want is the
// redacted conversation.
func TestRedactorConversations(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name      string
		lines     []string
		want      []string
		forbidden string
	}{
		{
			name:      "imap login atoms",
			lines:     []string{"a1 LOGIN alice s3cret", "a1 OK LOGIN completed", "a2 SELECT INBOX"},
			want:      []string{"a1 LOGIN alice ***", "a1 OK LOGIN completed", "a2 SELECT INBOX"},
			forbidden: "s3cret",
		},
		{
			name:      "imap login quoted with spaces",
			lines:     []string{`a1 login "alice smith" "pass word \"x\""`, "a1 NO [AUTHENTICATIONFAILED] bad"},
			want:      []string{`a1 login "alice smith" ***`, "a1 NO [AUTHENTICATIONFAILED] bad"},
			forbidden: "pass word",
		},
		{
			name:      "imap login password literal",
			lines:     []string{"a1 LOGIN alice {7}", "+ Ready for literal data", "s3cret!", "a1 OK done", "a2 NOOP"},
			want:      []string{"a1 LOGIN alice ***", "+ Ready for literal data", "***", "a1 OK done", "a2 NOOP"},
			forbidden: "s3cret",
		},
		{
			name:      "imap login non-synchronizing literals for both",
			lines:     []string{"x LOGIN {5+}", "alice {7+}", "s3cret!", "* BYE", "x NO no"},
			want:      []string{"x LOGIN ***", "***", "***", "* BYE", "x NO no"},
			forbidden: "s3cret",
		},
		{
			name:      "imap authenticate with initial response",
			lines:     []string{"a1 AUTHENTICATE PLAIN " + b64("\x00alice\x00s3cret"), "a1 OK Success", "a2 LIST \"\" *"},
			want:      []string{"a1 AUTHENTICATE PLAIN ***", "a1 OK Success", "a2 LIST \"\" *"},
			forbidden: b64("\x00alice\x00s3cret"),
		},
		{
			name:      "imap authenticate with challenge",
			lines:     []string{"a1 AUTHENTICATE PLAIN", "+ ", b64("\x00alice\x00s3cret"), "a1 NO [AUTHENTICATIONFAILED] Invalid credentials", "a2 LOGOUT"},
			want:      []string{"a1 AUTHENTICATE PLAIN", "+ ", "***", "a1 NO [AUTHENTICATIONFAILED] Invalid credentials", "a2 LOGOUT"},
			forbidden: b64("\x00alice\x00s3cret"),
		},
		{
			name:      "imap authenticate cancelled",
			lines:     []string{"a1 AUTHENTICATE PLAIN", "+ ", "*", "a1 BAD cancelled", "a2 NOOP"},
			want:      []string{"a1 AUTHENTICATE PLAIN", "+ ", "***", "a1 BAD cancelled", "a2 NOOP"},
			forbidden: "",
		},
		{
			name:      "smtp auth login",
			lines:     []string{"AUTH LOGIN", "334 VXNlcm5hbWU6", b64("alice"), "334 UGFzc3dvcmQ6", b64("s3cret"), "235 2.7.0 Authentication successful", "MAIL FROM:<alice@example.com>"},
			want:      []string{"AUTH LOGIN", "334 VXNlcm5hbWU6", "***", "334 UGFzc3dvcmQ6", "***", "235 2.7.0 Authentication successful", "MAIL FROM:<alice@example.com>"},
			forbidden: b64("s3cret"),
		},
		{
			name:      "smtp auth plain initial response",
			lines:     []string{"250-AUTH PLAIN LOGIN", "auth plain " + b64("\x00alice\x00s3cret"), "535 5.7.8 bad", "QUIT"},
			want:      []string{"250-AUTH PLAIN LOGIN", "auth plain ***", "535 5.7.8 bad", "QUIT"},
			forbidden: b64("\x00alice\x00s3cret"),
		},
		{
			name:      "pop3 user pass",
			lines:     []string{"USER alice", "+OK", "PASS s3cret with space", "+OK maildrop has 2 messages", "STAT"},
			want:      []string{"USER alice", "+OK", "PASS ***", "+OK maildrop has 2 messages", "STAT"},
			forbidden: "s3cret",
		},
		{
			name:      "pop3 apop",
			lines:     []string{"APOP alice c4c9334bac560ecc979e58001b3e22fb", "+OK"},
			want:      []string{"APOP alice ***", "+OK"},
			forbidden: "c4c9334bac560ecc979e58001b3e22fb",
		},
		{
			name:      "pop3 auth list is not an exchange",
			lines:     []string{"AUTH", "+OK", "PLAIN", ".", "CAPA"},
			want:      []string{"AUTH", "+OK", "PLAIN", ".", "CAPA"},
			forbidden: "",
		},
		{
			name:      "ordinary traffic untouched",
			lines:     []string{"* OK [CAPABILITY IMAP4rev2 AUTH=PLAIN] ready", "EHLO client.example", "250-SIZE 52428800", "a3 FETCH 1 (BODY[])"},
			want:      []string{"* OK [CAPABILITY IMAP4rev2 AUTH=PLAIN] ready", "EHLO client.example", "250-SIZE 52428800", "a3 FETCH 1 (BODY[])"},
			forbidden: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Redactor
			for i, line := range tt.lines {
				got := r.Redact(line)
				if got != tt.want[i] {
					t.Errorf("line %d %q: got %q, want %q", i, line, got, tt.want[i])
				}
				if tt.forbidden != "" && strings.Contains(got, tt.forbidden) {
					t.Errorf("line %d leaks %q", i, tt.forbidden)
				}
			}
		})
	}
}

func TestTraceWriterJoinsChunksAndRedacts(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "trace", "text")
	if err != nil {
		t.Fatal(err)
	}
	w := NewTraceWriter(log.With("cid", "c1"))
	for _, chunk := range []string{"a1 LOG", "IN alice s3c", "ret\r\na1 OK done\r\n", "a2 NO", "OP\r\n"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	out := buf.String()
	if strings.Contains(out, "s3cret") {
		t.Errorf("password in trace: %q", out)
	}
	for _, want := range []string{`line="a1 LOGIN alice ***"`, `line="a1 OK done"`, `line="a2 NOOP"`, "level=TRACE", "cid=c1"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %s: %q", want, out)
		}
	}
}

func TestTraceWriterQuietBelowTrace(t *testing.T) {
	var buf bytes.Buffer
	log, _ := NewLogger(&buf, "debug", "text")
	w := NewTraceWriter(log)
	w.Write([]byte("a1 NOOP\r\n"))
	if buf.Len() != 0 {
		t.Errorf("wrote %q at debug level", buf.String())
	}
}

func TestTraceWriterCutsLongLines(t *testing.T) {
	var buf bytes.Buffer
	log, _ := NewLogger(&buf, "trace", "text")
	w := NewTraceWriter(log)
	w.Write(bytes.Repeat([]byte("x"), maxTracePartial+10))
	w.Write([]byte("\n"))
	if got := strings.Count(buf.String(), "level=TRACE"); got != 2 {
		t.Errorf("%d records, want the partial flushed then its tail", got)
	}
	if len(buf.String()) > 3*maxTraceLine {
		t.Errorf("record not cut: %d bytes", buf.Len())
	}
}

// FuzzRedactor checks that a password never survives redaction whatever its
// bytes, in each protocol's way of sending it, and that no input panics.
func FuzzRedactor(f *testing.F) {
	for _, seed := range []string{"s3cret", "pass word", `q"uo\te`, "{5}", "+OK", "a1 OK", "* BYE", "AUTH", "334 x", "=", "*", "\x00\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		if strings.ContainsAny(pw, "\r\n") || len(pw) < 4 {
			return
		}
		b64 := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + pw))
		plain := base64.StdEncoding.EncodeToString([]byte(pw))
		conversations := []struct {
			lines  []string
			at     int // index of the line carrying the secret
			secret string
		}{
			{[]string{"a1 LOGIN alice " + pw}, 0, pw},
			{[]string{"a1 LOGIN alice {" + strconv.Itoa(len(pw)) + "}", "+ go", pw, "a1 OK"}, 2, pw},
			{[]string{"a1 LOGIN alice {" + strconv.Itoa(len(pw)) + "+}", pw, "a1 OK"}, 1, pw},
			{[]string{"PASS " + pw}, 0, pw},
			{[]string{"AUTH PLAIN " + b64}, 0, b64},
			{[]string{"AUTH PLAIN", "334 ", b64}, 2, b64},
			{[]string{"a1 AUTHENTICATE PLAIN", "+ ", b64}, 2, b64},
			{[]string{"AUTH LOGIN", "334 VXNlcm5hbWU6", "YWxpY2U=", "334 UGFzc3dvcmQ6", plain}, 4, plain},
		}
		for _, conv := range conversations {
			var r Redactor
			for i, line := range conv.lines {
				got := r.Redact(line)
				if i == conv.at && strings.Contains(got, conv.secret) && !strings.Contains(redactedFrame(line, conv.secret), conv.secret) {
					t.Fatalf("conversation %q: line %q leaks as %q", conv.lines, line, got)
				}
			}
		}
		// Arbitrary input must not panic.
		var r Redactor
		r.Redact(pw)
		r.Redact("a " + pw)
	})
}

// redactedFrame is line with the secret replaced by the marker: what may
// remain. If the secret also occurs in it (the password is "LOGIN", or
// " ***"), a leak cannot be told apart and is not reported.
func redactedFrame(line, secret string) string {
	return strings.Replace(line, secret, Redacted, 1)
}
