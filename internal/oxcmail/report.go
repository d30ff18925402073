package oxcmail

import (
	"bytes"
	"io"
	"strings"

	"github.com/pochta/pochta/internal/message"
)

// maxReportBody bounds how much of a delivery-status or
// disposition-notification part is read.
const maxReportBody = 256 << 10

// dsnRecipient is one per-recipient block of a delivery status
// notification (RFC 3464 §2.3).
type dsnRecipient struct {
	finalRecipient string // the address, without the address type
	action         string // lower case
	status         string
	remoteMTA      string
	diagnostic     string
	displayName    string // X-Display-Name (Exchange)
	supplementary  string // X-Supplementary-Info (Exchange)
}

// dsnReport is a parsed message/delivery-status body.
type dsnReport struct {
	reportingMTA string
	recipients   []dsnRecipient
}

// reportActions ranks DSN actions by severity (MS-OXCMAIL 2.2.3.7.1.1) and
// names the message class suffix each one gives.
var reportActions = map[string]struct {
	severity int
	suffix   string
}{
	"failed":    {5, "NDR"},
	"delayed":   {4, "Delayed"},
	"delivered": {3, "DR"},
	"relayed":   {2, "Relayed"},
	"expanded":  {1, "Expanded"},
}

// parseDSN reads a message/delivery-status body (RFC 3464 §2.1): the
// per-message fields, then per-recipient blocks separated by blank lines.
func parseDSN(body []byte) dsnReport {
	var r dsnReport
	body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
	blocks := bytes.Split(body, []byte("\n\n"))
	first := true
	for _, b := range blocks {
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		fields := message.ReadHeader(append(bytes.TrimLeft(b, "\n"), '\n'))
		get := func(key string) string {
			for _, f := range fields {
				if strings.EqualFold(f.Key, key) {
					return f.Value
				}
			}
			return ""
		}
		if first {
			first = false
			if v := get("Reporting-MTA"); v != "" || get("Final-Recipient") == "" {
				r.reportingMTA = typedValue(v)
				continue
			}
		}
		rc := dsnRecipient{
			finalRecipient: typedValue(get("Final-Recipient")),
			action:         strings.ToLower(strings.TrimSpace(firstWord(get("Action")))),
			status:         firstWord(get("Status")),
			remoteMTA:      typedValue(get("Remote-MTA")),
			diagnostic:     typedValue(get("Diagnostic-Code")),
			displayName:    message.DecodeHeaderText(get("X-Display-Name")),
			supplementary:  get("X-Supplementary-Info"),
		}
		if rc.finalRecipient == "" {
			rc.finalRecipient = typedValue(get("Original-Recipient"))
		}
		if rc.finalRecipient != "" {
			r.recipients = append(r.recipients, rc)
		}
	}
	return r
}

// typedValue strips the type of an RFC 3464 typed field ("rfc822; a@b",
// "dns; host") and any comment.
func typedValue(v string) string {
	if _, after, ok := strings.Cut(v, ";"); ok {
		v = after
	}
	v = strings.TrimSpace(v)
	return strings.Trim(v, "<>")
}

func firstWord(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, " \t("); i >= 0 {
		v = v[:i]
	}
	return v
}

// highestAction returns the most severe action of the report's recipients.
func (r dsnReport) highestAction() string {
	best, sev := "", 0
	for _, rc := range r.recipients {
		if a, ok := reportActions[rc.action]; ok && a.severity > sev {
			best, sev = rc.action, a.severity
		}
	}
	return best
}

// supplementaryInfo is PidTagSupplementaryInfo for a recipient without an
// X-Supplementary-Info field (MS-OXCMAIL 2.2.3.7.1.2):
// "<" [remote-mta " "] "#" status [" " diagnostic-code] ">".
func (rc dsnRecipient) supplementaryInfo() string {
	if rc.supplementary != "" {
		return rc.supplementary
	}
	var sb strings.Builder
	sb.WriteByte('<')
	if rc.remoteMTA != "" {
		sb.WriteString(rc.remoteMTA + " ")
	}
	sb.WriteString("#" + rc.status)
	if rc.diagnostic != "" {
		sb.WriteString(" " + rc.diagnostic)
	}
	sb.WriteByte('>')
	return sb.String()
}

// mdnDisposition returns the disposition type of a
// message/disposition-notification body (RFC 8098 §3.2.6): "displayed",
// "deleted", "dispatched", "processed", …
func mdnDisposition(body []byte) string {
	body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
	if i := bytes.Index(body, []byte("\n\n")); i >= 0 {
		body = body[:i+1]
	}
	for _, f := range message.ReadHeader(append(body, '\n')) {
		if strings.EqualFold(f.Key, "Disposition") {
			_, after, _ := strings.Cut(f.Value, ";")
			return strings.ToLower(firstWord(strings.Split(strings.TrimSpace(after), "/")[0]))
		}
	}
	return ""
}

// readPart decodes at most limit bytes of a part's body.
func readPart(raw []byte, p *message.Part, limit int64) []byte {
	b, _ := io.ReadAll(io.LimitReader(message.DecodeBody(raw, p), limit))
	return b
}
