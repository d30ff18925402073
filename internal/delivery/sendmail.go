package delivery

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/message"
)

// SendmailArgs is the command line of a sendmail-compatible submission
// (the subset cron, scripts and PHP's mail() use).
type SendmailArgs struct {
	// ExtractRecipients (-t) takes the recipients from To:, Cc: and Bcc:
	// (and drops Bcc: from the message).
	ExtractRecipients bool
	// IgnoreDots (-i, -oi) does not end the message at a line with a
	// single ".".
	IgnoreDots bool
	// Sender (-f) is the envelope sender; "" means the invoking user.
	Sender string
	// FullName (-F) is the display name for a From: field the message lacks.
	FullName string
	// Recipients are the remaining arguments.
	Recipients []string
}

// ParseSendmailArgs reads sendmail's options. Options that make no sense
// here (-bm, -odi, -oem, -v, …) are accepted and ignored, as Postfix does,
// so existing scripts keep working.
func ParseSendmailArgs(args []string) (SendmailArgs, error) {
	var a SendmailArgs
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			a.Recipients = append(a.Recipients, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			a.Recipients = append(a.Recipients, arg)
			continue
		}
		// value returns the option's argument: glued ("-fuser") or next.
		value := func(opt string) (string, error) {
			if len(arg) > len(opt) {
				return arg[len(opt):], nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("sendmail: option %s needs a value", opt)
			}
			i++
			return args[i], nil
		}
		switch {
		case arg == "-t":
			a.ExtractRecipients = true
		case arg == "-i", arg == "-oi":
			a.IgnoreDots = true
		case strings.HasPrefix(arg, "-f"), strings.HasPrefix(arg, "-r"):
			v, err := value(arg[:2])
			if err != nil {
				return a, err
			}
			a.Sender = strings.Trim(strings.TrimSpace(v), "<>")
		case strings.HasPrefix(arg, "-F"):
			v, err := value("-F")
			if err != nil {
				return a, err
			}
			a.FullName = v
		case strings.HasPrefix(arg, "-o"), strings.HasPrefix(arg, "-b"), strings.HasPrefix(arg, "-d"),
			arg == "-v", arg == "-n", arg == "-U", arg == "-m":
			// -bm (deliver, the default), -odb/-odi, -oem, -oX…: nothing to do.
			if arg == "-bs" || arg == "-bd" || arg == "-bp" {
				return a, fmt.Errorf("sendmail: mode %s is not supported", arg)
			}
		case strings.HasPrefix(arg, "-B"), strings.HasPrefix(arg, "-N"), strings.HasPrefix(arg, "-R"), strings.HasPrefix(arg, "-V"), strings.HasPrefix(arg, "-X"), strings.HasPrefix(arg, "-C"), strings.HasPrefix(arg, "-h"), strings.HasPrefix(arg, "-L"):
			// Options with a value we ignore (-B 8BITMIME, -N never, …).
			if len(arg) == 2 {
				i++
			}
		default:
			return a, fmt.Errorf("sendmail: unknown option %s", arg)
		}
	}
	return a, nil
}

// ReadSendmailMessage reads the message from r, turning bare LF line ends
// into CRLF. Without ignoreDots a line with a single "." ends the message
// (sendmail's default). It refuses messages over max bytes.
func ReadSendmailMessage(r io.Reader, ignoreDots bool, max int64) ([]byte, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out bytes.Buffer
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A very long line: keep its pieces together.
			out.Write(line)
			continue
		}
		if len(line) > 0 {
			body := bytes.TrimRight(line, "\r\n")
			if !ignoreDots && string(body) == "." && len(line) > len(body) {
				return out.Bytes(), nil
			}
			out.Write(body)
			if len(line) > len(body) || err == nil {
				out.WriteString("\r\n")
			}
		}
		if max > 0 && int64(out.Len()) > max {
			return nil, fmt.Errorf("sendmail: message larger than %d bytes", max)
		}
		if err == io.EOF {
			if n := out.Len(); n > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\r\n")) {
				out.WriteString("\r\n")
			}
			return out.Bytes(), nil
		}
		if err != nil {
			return nil, fmt.Errorf("sendmail: reading the message: %w", err)
		}
	}
}

// SendmailSubmission is a message prepared for Send.
type SendmailSubmission struct {
	Sender     string
	Recipients []string
	Raw        []byte
}

// PrepareSendmail turns what sendmail read into a submission: the envelope
// sender (-f, else the local user at hostname), the recipients (arguments,
// plus the header's with -t), Bcc: removed, and From:, Date:, Message-ID:
// and the Received: trace field added as needed.
func PrepareSendmail(raw []byte, a SendmailArgs, localUser, hostname string, now time.Time) (*SendmailSubmission, error) {
	hdrEnd, found := headerEnd(raw)
	header, body := raw[:hdrEnd], raw[hdrEnd:]
	if !found && len(message.ReadHeader(raw)) == 0 {
		// No header at all: it is all body.
		header, body = nil, raw
	}
	fields := message.ReadHeader(header)
	sub := &SendmailSubmission{Sender: a.Sender}
	if sub.Sender == "" {
		sub.Sender = localUser + "@" + hostname
	}
	seen := map[string]bool{}
	add := func(addr string) {
		addr = strings.TrimSpace(addr)
		if addr != "" && !strings.ContainsAny(addr, "@ \t<>\",;:()[]\\") {
			// A bare user name ("root"): qualified with our host name, as
			// sendmail and Postfix ($myorigin) do.
			addr += "@" + hostname
		}
		if _, _, ok := SplitAddress(addr); !ok {
			return // not local@domain: nothing to deliver to
		}
		key := directory.NormalizeAddress(addr)
		if !seen[key] {
			seen[key] = true
			sub.Recipients = append(sub.Recipients, addr)
		}
	}
	for _, r := range a.Recipients {
		// Arguments may be comma-separated lists ("a@x, b@y").
		for _, part := range strings.Split(r, ",") {
			if list := message.ParseAddressList(part); len(list) > 0 {
				for _, ad := range list {
					add(ad.Addr()) // a bare name has no host: add qualifies it
				}
			} else {
				add(part)
			}
		}
	}
	var kept bytes.Buffer
	for _, f := range fields {
		key := strings.ToLower(f.Key)
		if a.ExtractRecipients && (key == "to" || key == "cc" || key == "bcc") {
			for _, ad := range message.ParseAddressList(f.Value) {
				add(ad.Addr())
			}
		}
		if key == "bcc" {
			continue // never shown to the recipients
		}
		kept.Write(f.Raw)
		if !bytes.HasSuffix(f.Raw, []byte("\n")) {
			kept.WriteString("\r\n")
		}
	}
	if len(sub.Recipients) == 0 {
		return nil, errors.New("sendmail: no recipients")
	}
	var out bytes.Buffer
	out.Grow(len(raw) + 512)
	out.WriteString(Received{LocalUser: localUser, By: hostname, With: "local", ID: NewID(), Date: now}.Header())
	if !HasField(fields, "From") {
		from := sub.Sender
		if a.FullName != "" {
			fmt.Fprintf(&out, "From: %s <%s>\r\n", quotePhrase(a.FullName), from)
		} else {
			fmt.Fprintf(&out, "From: %s\r\n", from)
		}
	}
	out.WriteString(MissingOriginHeaders(fields, hostname, now))
	out.Write(kept.Bytes())
	out.WriteString("\r\n")
	out.Write(body)
	sub.Raw = out.Bytes()
	return sub, nil
}

// quotePhrase makes a display name safe for a From: field: a quoted string
// for ASCII, an RFC 2047 word for anything else.
func quotePhrase(name string) string {
	name = dsnText(name, 200)
	if !isASCII(name) {
		return encodeWord(name)
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
}

// encodeWord is a minimal RFC 2047 B-encoded word.
func encodeWord(s string) string {
	return "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
}

// Sendmail reads a message the sendmail way from stdin and submits it
// through Send. localUser names the invoking Unix user.
func (d *Deliverer) Sendmail(ctx context.Context, a SendmailArgs, stdin io.Reader, localUser string, maxBytes int64) (*SendResult, error) {
	raw, err := ReadSendmailMessage(stdin, a.IgnoreDots, maxBytes)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	sub, err := PrepareSendmail(raw, a, localUser, d.hostname(), now)
	if err != nil {
		return nil, err
	}
	out := &Outgoing{Sender: sub.Sender, Raw: sub.Raw, ArrivedAt: now}
	for _, r := range sub.Recipients {
		out.Recipients = append(out.Recipients, Recipient{Address: r})
	}
	return d.Send(ctx, out)
}
