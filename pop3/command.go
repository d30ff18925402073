package pop3

import (
	"errors"
	"strconv"
	"strings"
)

// Limits on client lines. RFC 2449 §4 bounds a command line at 255 octets
// including CRLF, and RFC 1939 §3 an argument at 40 characters; clients in
// the field send longer user names and passwords, so the parser allows some
// slack but stays bounded.
const (
	// MaxLineLength bounds a command line without its CRLF.
	MaxLineLength = 1024
	// MaxSASLLineLength bounds a SASL response line (RFC 5034 §4 lets it be
	// longer than a command).
	MaxSASLLineLength = 8192
	// maxArgLength bounds one argument (user names, message numbers); the
	// PASS argument and AUTH initial responses may be longer.
	maxArgLength = 255
	maxArgs      = 2
)

// Parse errors; their text is what the client is told after "-ERR ".
var (
	errEmptyLine    = errors.New("empty command line")
	errBadKeyword   = errors.New("command keyword must be 3 or 4 letters or digits")
	errTooManyArgs  = errors.New("too many arguments")
	errArgTooLong   = errors.New("argument too long")
	errControlChars = errors.New("control characters are not allowed in commands")
)

// Command is one client command line, parsed.
type Command struct {
	// Name is the keyword in upper case (RFC 1939 §3: keywords are
	// case-insensitive).
	Name string
	// Args are the arguments. PASS has at most one: the rest of the line
	// after one space, spaces included (RFC 1939 §7 allows passwords with
	// spaces).
	Args []string
}

// ParseCommand parses a command line without its line end (RFC 1939 §3): a
// keyword of three or four letters and up to two arguments separated by
// spaces.
func ParseCommand(line []byte) (Command, error) {
	for _, c := range line {
		if c < ' ' && c != '\t' || c == 0x7f {
			return Command{}, errControlChars
		}
	}
	s := string(line)
	if strings.TrimSpace(s) == "" {
		return Command{}, errEmptyLine
	}
	keyword, rest, _ := strings.Cut(s, " ")
	if n := len(keyword); n < 3 || n > 4 {
		return Command{}, errBadKeyword
	}
	for i := 0; i < len(keyword); i++ {
		// RFC 1939 §3 keywords are letters; RFC 6856's UTF8 has a digit.
		c := keyword[i] | 0x20
		if (c < 'a' || c > 'z') && (keyword[i] < '0' || keyword[i] > '9') {
			return Command{}, errBadKeyword
		}
	}
	cmd := Command{Name: strings.ToUpper(keyword)}
	if cmd.Name == "PASS" {
		// The password is the rest of the line, verbatim.
		if rest != "" {
			cmd.Args = []string{rest}
		}
		return cmd, nil
	}
	for _, f := range strings.Fields(rest) {
		if len(cmd.Args) == maxArgs {
			return Command{}, errTooManyArgs
		}
		if len(f) > maxArgLength && cmd.Name != "AUTH" {
			return Command{}, errArgTooLong
		}
		cmd.Args = append(cmd.Args, f)
	}
	return cmd, nil
}

// parseNumber parses a non-negative decimal argument (a message number or
// TOP's line count): digits only, no sign, at most 9 of them.
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
