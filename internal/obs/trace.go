package obs

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Redacted replaces authentication data in trace lines.
const Redacted = "***"

type redactState int

const (
	stateCommand      redactState = iota
	stateSASL                     // inside AUTH/AUTHENTICATE: client lines are credentials
	stateLoginLiteral             // IMAP LOGIN sent a literal: everything until the tagged reply
)

// Redactor removes passwords and SASL exchanges from protocol lines of
// IMAP, POP3 and SMTP, seen in order (both directions, or only the client's).
// It recognises:
//
//   - IMAP   tag LOGIN user pass              (RFC 9051 6.2.3; literals too)
//   - IMAP   tag AUTHENTICATE mech [ir]       (RFC 9051 6.2.2, RFC 4959)
//   - SMTP   AUTH mech [ir]                   (RFC 4954)
//   - POP3   PASS pass, APOP user digest, AUTH mech [ir] (RFC 1939, RFC 5034)
//
// After AUTH/AUTHENTICATE every line made only of base64 characters is a
// client response and is replaced; the exchange ends at the first line that
// cannot be base64 and is not a "+ " or "334 " challenge. LOGIN literals are
// followed by their byte counts. It errs on the side of hiding too much. The zero value is ready; one Redactor per connection.
type Redactor struct {
	state redactState
	tag   string // IMAP tag of the LOGIN with a literal
	// For stateLoginLiteral: the server's "+" must come before the
	// literal's bytes (synchronizing literal), and how many literal bytes
	// are still to come.
	awaitContinuation bool
	literalLeft       int
}

var literalAtEnd = regexp.MustCompile(`\{([0-9]+)(\+?)\}$`)

// Redact returns line (without its CRLF) with credentials replaced.
func (r *Redactor) Redact(line string) string {
	switch r.state {
	case stateSASL:
		if isSASLResponse(line) {
			return Redacted
		}
		if strings.HasPrefix(line, "+ ") || strings.HasPrefix(line, "334 ") {
			return line // a server challenge; client data never has a space
		}
		r.state = stateCommand // the exchange is over; line is an ordinary one
	case stateLoginLiteral:
		return r.loginLiteral(line)
	}

	fields := strings.SplitN(line, " ", 4)
	verb := strings.ToUpper(fields[0])
	switch {
	case verb == "PASS" && len(fields) > 1:
		return fields[0] + " " + Redacted
	case verb == "APOP" && len(fields) > 2:
		return fields[0] + " " + fields[1] + " " + Redacted
	case verb == "AUTH" && len(fields) > 1:
		r.state = stateSASL
		if len(fields) > 2 {
			return fields[0] + " " + fields[1] + " " + Redacted
		}
		return line
	}
	if len(fields) < 2 {
		return line
	}
	switch strings.ToUpper(fields[1]) {
	case "AUTHENTICATE":
		if len(fields) < 3 {
			return line
		}
		r.state = stateSASL
		if len(fields) > 3 {
			return fields[0] + " " + fields[1] + " " + fields[2] + " " + Redacted
		}
		return line
	case "LOGIN":
		return r.redactLogin(fields[0], fields[1], strings.SplitN(line, " ", 3))
	}
	return line
}

// redactLogin keeps the user name when it is an atom or a quoted string and
// hides everything after it.
func (r *Redactor) redactLogin(tag, verb string, parts []string) string {
	if len(parts) < 3 {
		return tag + " " + verb
	}
	args := parts[2]
	r.tag = tag
	r.expectLiteral(args) // the password (or the user name) may follow on later lines
	user, ok := firstIMAPString(args)
	if !ok {
		return tag + " " + verb + " " + Redacted
	}
	return tag + " " + verb + " " + user + " " + Redacted
}

// expectLiteral enters stateLoginLiteral when s ends with a literal
// announcement {N} or {N+} (RFC 9051 4.3, RFC 7888), and leaves it otherwise.
func (r *Redactor) expectLiteral(s string) {
	m := literalAtEnd.FindStringSubmatch(s)
	if m == nil {
		r.state = stateCommand
		return
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n > maxTracePartial {
		n = maxTracePartial // absurd sizes: hide a lot rather than overflow
	}
	r.state = stateLoginLiteral
	r.literalLeft = n
	r.awaitContinuation = m[2] == ""
}

// loginLiteral handles a line while LOGIN literals are being sent: the
// server's continuation (or refusal), then the literal bytes, then the
// rest of the command, which may announce the next literal.
func (r *Redactor) loginLiteral(line string) string {
	if r.awaitContinuation {
		if strings.HasPrefix(line, "+") {
			r.awaitContinuation = false
			return line
		}
		if strings.HasPrefix(line, r.tag+" ") || strings.HasPrefix(line, "* ") {
			r.state = stateCommand // refused before the literal was sent
			return line
		}
		// Only the client's side is traced: this line is the literal.
		r.awaitContinuation = false
	}
	if len(line) < r.literalLeft {
		r.literalLeft -= len(line) + 2 // the literal holds a CRLF
		if r.literalLeft < 0 {
			r.literalLeft = 0
		}
		return Redacted
	}
	r.expectLiteral(line[r.literalLeft:])
	return Redacted
}

// firstIMAPString returns the leading atom or quoted string of s; literals
// are not returned (ok false).
func firstIMAPString(s string) (string, bool) {
	if s == "" || s[0] == '{' {
		return "", false
	}
	if s[0] != '"' {
		atom, _, _ := strings.Cut(s, " ")
		return atom, !strings.HasPrefix(atom, "{")
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return s[:i+1], true
		}
	}
	return "", false
}

// isSASLResponse reports whether line could be a client's SASL response:
// base64 (RFC 4648 alphabet), "=" for an empty one, or "*" to cancel.
func isSASLResponse(line string) bool {
	if line == "*" {
		return true
	}
	for i := range len(line) {
		c := line[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// Trace-writer limits: a longer line is cut, a longer partial line is
// logged without waiting for its end.
const (
	maxTraceLine    = 2000
	maxTracePartial = 64 << 10
)

// TraceWriter is an io.Writer for a library's protocol debug output
// (go-imap's imapserver.Options.DebugWriter, go-smtp's Server.Debug): it
// logs each line at LevelTrace with authentication data redacted. Use one
// per connection (the Redactor keeps per-connection state). When log does
// not enable LevelTrace it discards everything cheaply.
type TraceWriter struct {
	log     *slog.Logger
	enabled bool

	mu      sync.Mutex
	redact  Redactor
	partial []byte
}

// NewTraceWriter returns a TraceWriter logging to log; add connection
// attributes (cid, remote address) to log beforehand.
func NewTraceWriter(log *slog.Logger) *TraceWriter {
	return &TraceWriter{log: log, enabled: log.Enabled(context.Background(), LevelTrace)}
}

// Write logs every complete line in p and keeps the rest for the next call.
// It never fails.
func (w *TraceWriter) Write(p []byte) (int, error) {
	if !w.enabled {
		return len(p), nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.emit(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > maxTracePartial {
		w.emit(string(w.partial))
		w.partial = nil
	}
	if len(w.partial) == 0 {
		w.partial = nil // let a large buffer go
	}
	return len(p), nil
}

func (w *TraceWriter) emit(line string) {
	line = strings.TrimSuffix(line, "\r")
	line = w.redact.Redact(line)
	if len(line) > maxTraceLine {
		line = line[:maxTraceLine] + "…"
	}
	w.log.Log(context.Background(), LevelTrace, "trace", slog.String("line", line))
}
