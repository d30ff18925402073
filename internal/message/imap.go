package message

import (
	"math"

	"github.com/emersion/go-imap/v2"
)

// IMAPBodyStructure converts p to go-imap's body structure for FETCH
// BODYSTRUCTURE and BODY (RFC 3501 §7.4.2, RFC 9051 §7.5.2). Extended data
// is always filled in; go-imap's writer leaves it out for BODY. A multipart
// without parts gets one empty text/plain part, because the grammar (and
// go-imap's writer) needs at least one. A message/rfc822 part whose content
// was left opaque (encoded, or too deep) gets an empty envelope and body.
func (p *Part) IMAPBodyStructure() imap.BodyStructure {
	return p.imapBodyStructure(0)
}

func (p *Part) imapBodyStructure(depth int) imap.BodyStructure {
	disp := imapDisposition(p.Disposition, p.DispositionParams)
	if p.IsMultipart() {
		bs := &imap.BodyStructureMultiPart{
			Subtype: p.MediaSubtype,
			Extended: &imap.BodyStructureMultiPartExt{
				Params:      p.Params,
				Disposition: disp,
				Language:    p.Language,
				Location:    p.Location,
			},
		}
		if depth <= 2*MaxDepth+2 {
			for _, c := range p.Parts {
				bs.Children = append(bs.Children, c.imapBodyStructure(depth+1))
			}
		}
		if len(bs.Children) == 0 {
			bs.Children = []imap.BodyStructure{emptyTextBodyStructure()}
		}
		return bs
	}
	bs := &imap.BodyStructureSinglePart{
		Type:        p.MediaType,
		Subtype:     p.MediaSubtype,
		Params:      p.Params,
		ID:          p.ContentID,
		Description: p.Description,
		Encoding:    p.Encoding,
		Size:        uint32(min(p.Size, math.MaxUint32)),
		Extended: &imap.BodyStructureSinglePartExt{
			Disposition: disp,
			Language:    p.Language,
			Location:    p.Location,
		},
	}
	switch {
	case p.IsMessage():
		msg := &imap.BodyStructureMessageRFC822{NumLines: p.Lines}
		if sub := p.Embedded(); sub != nil && p.Envelope != nil && depth <= 2*MaxDepth+2 {
			msg.Envelope = p.Envelope.IMAP()
			msg.BodyStructure = sub.imapBodyStructure(depth + 1)
		} else {
			msg.Envelope = &imap.Envelope{}
			msg.BodyStructure = emptyTextBodyStructure()
		}
		bs.MessageRFC822 = msg
	case p.MediaType == "text":
		bs.Text = &imap.BodyStructureText{NumLines: p.Lines}
	}
	return bs
}

func emptyTextBodyStructure() *imap.BodyStructureSinglePart {
	return &imap.BodyStructureSinglePart{
		Type:     "text",
		Subtype:  "plain",
		Params:   map[string]string{"charset": "us-ascii"},
		Encoding: "7bit",
		Text:     &imap.BodyStructureText{},
		Extended: &imap.BodyStructureSinglePartExt{},
	}
}

func imapDisposition(value string, params map[string]string) *imap.BodyStructureDisposition {
	if value == "" {
		return nil
	}
	return &imap.BodyStructureDisposition{Value: value, Params: params}
}

// IMAP converts e to go-imap's envelope. go-imap's writer encodes Subject
// and names itself (RFC 2047, UTF-8), so they are decoded here. Group
// markers become go-imap's markers; an address without a domain or local
// part gets "MISSING_DOMAIN" / "MISSING_MAILBOX" so that it cannot be taken
// for a group marker.
func (e *Envelope) IMAP() *imap.Envelope {
	env := &imap.Envelope{
		Subject:   DecodeHeaderText(e.Subject),
		From:      imapAddresses(e.From),
		Sender:    imapAddresses(e.Sender),
		ReplyTo:   imapAddresses(e.ReplyTo),
		To:        imapAddresses(e.To),
		Cc:        imapAddresses(e.Cc),
		Bcc:       imapAddresses(e.Bcc),
		InReplyTo: ParseMessageIDs(e.InReplyTo),
	}
	if len(env.InReplyTo) == 0 {
		env.InReplyTo = nil
	}
	if t, ok := ParseDate(e.Date); ok {
		env.Date = t
	}
	if ids := ParseMessageIDs(e.MessageID); len(ids) > 0 {
		env.MessageID = ids[0]
	}
	return env
}

func imapAddresses(l []Address) []imap.Address {
	if len(l) == 0 {
		return nil
	}
	out := make([]imap.Address, 0, len(l))
	for _, a := range l {
		switch {
		case a.GroupStart:
			name := a.Name
			if name == "" {
				name = "MISSING_GROUP"
			}
			out = append(out, imap.Address{Mailbox: name})
		case a.GroupEnd:
			out = append(out, imap.Address{})
		default:
			ia := imap.Address{Name: a.DisplayName(), Mailbox: a.Mailbox, Host: a.Host}
			if ia.Mailbox == "" {
				ia.Mailbox = "MISSING_MAILBOX"
			}
			if ia.Host == "" {
				ia.Host = "MISSING_DOMAIN"
			}
			out = append(out, ia)
		}
	}
	return out
}
