package oxcmail

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
)

// NamedProps maps named properties (MS-OXCDATA 2.6) to the mailbox's
// property ids (0x8000 and above), the way gromox injects get_propids. The
// MAPI layer implements it over storage.NamedPropIDs. With create, unknown
// names get new ids; without, they map to 0 and the property is left out.
type NamedProps interface {
	IDs(ctx context.Context, names []mp.PropertyName, create bool) ([]uint16, error)
}

// AddressBook returns the permanent address-book entry id (MS-OXCDATA
// 2.2.5.2) of an address that belongs to the organisation, so Outlook shows
// the directory entry instead of a one-off. ok is false for outside
// addresses, and also when the directory cannot answer: a one-off entry id
// is always a valid fallback.
type AddressBook interface {
	EntryID(ctx context.Context, smtpAddress string) (entryID []byte, displayType uint32, ok bool)
}

// Message is a MAPI message object: its properties, its recipient table
// and its attachments.
type Message struct {
	Props       Props
	Recipients  []Props       // rows of the recipient table, in order (PidTagRowid = index)
	Attachments []*Attachment // in order (PidTagAttachNumber = index)
}

// Attachment is one attachment object.
type Attachment struct {
	Props Props
	// Embedded is the attached message for PidTagAttachMethod
	// AttachMethodEmbedded (a message/rfc822 part), else nil.
	Embedded *Message
	// Part is the MIME part the attachment was derived from, or nil for an
	// attachment made through MAPI (or synthesized, like smime.p7m).
	Part *message.Part

	raw []byte // the raw message Part points into
}

// Reader returns the attachment's content: PidTagAttachDataBinary when the
// property is set, else the body of Part with its transfer encoding undone
// (decoded lazily from the raw message, nothing copied up front). For an
// embedded message derived from MIME it is the raw message/rfc822 body.
func (a *Attachment) Reader() io.Reader {
	// PidTagAttachDataBinary, or PidTagAttachDataObject (same id) of an
	// OLE attachment.
	if v, ok := a.Props.m[mp.PidTagAttachDataBinary.ID()]; ok {
		if b, ok := v.AsBytes(); ok {
			return bytes.NewReader(b)
		}
	}
	if a.Part != nil {
		return message.DecodeBody(a.raw, a.Part)
	}
	return bytes.NewReader(nil)
}

// Bytes reads the whole content (see Reader).
func (a *Attachment) Bytes() []byte {
	b, _ := io.ReadAll(a.Reader())
	return b
}

// Props is a set of property values keyed by property id: a property has
// one value whatever type a client asks it in. The zero value is an empty
// set ready to use.
type Props struct {
	m map[uint16]mp.Value
}

// Set stores v, replacing any value with the same property id. Strings are
// made valid UTF-8 without NULs, since MAPI strings cannot carry a NUL.
func (p *Props) Set(v mp.Value) {
	if p.m == nil {
		p.m = make(map[uint16]mp.Value)
	}
	if s, ok := v.Data.(string); ok {
		v.Data = cleanString(s)
	}
	p.m[v.Tag.ID()] = v
}

// Delete removes the property with the given id.
func (p *Props) Delete(id uint16) { delete(p.m, id) }

// Len is the number of properties.
func (p Props) Len() int { return len(p.m) }

// Has reports whether a property with t's id is set.
func (p Props) Has(t mp.Tag) bool {
	_, ok := p.m[t.ID()]
	return ok
}

// Get returns the property with t's id in the type t asks for. A
// PtypUnspecified tag gets the stored type. PtypString and PtypString8 are
// interchangeable (the Go value is a string either way; the wire codec
// encodes it in the session's code page), as are their multi-valued forms
// PtypInteger32 is widened for PtypInteger64 (PidTagMessageSize and
// PidTagMessageSizeExtended share an id), and PidTagHtml (binary, in the
// PidTagInternetCodepage code page) and PidTagBodyHtml (string) convert
// into each other. Any other type mismatch is reported as not found.
func (p Props) Get(t mp.Tag) (mp.Value, bool) {
	v, ok := p.m[t.ID()]
	if !ok {
		return mp.Value{}, false
	}
	want, have := t.Type(), v.Tag.Type()
	if want == mp.PtypUnspecified || want == have {
		return v, true
	}
	switch {
	case isString(want) && isString(have):
		return mp.Value{Tag: t, Data: v.Data}, true
	case (want == mp.PtypMultipleString || want == mp.PtypMultipleString8) &&
		(have == mp.PtypMultipleString || have == mp.PtypMultipleString8):
		return mp.Value{Tag: t, Data: v.Data}, true
	case want == mp.PtypInteger64 && have == mp.PtypInteger32:
		return mp.Value{Tag: t, Data: int64(v.Data.(int32))}, true
	case t.ID() == mp.PidTagHtml.ID() && isString(want) && have == mp.PtypBinary:
		// PidTagBodyHtml asked of a PidTagHtml kept in its code page.
		cp, _ := p.Int32(mp.PidTagInternetCodepage)
		b, _ := v.Data.([]byte)
		html, charset := htmlForCodePage(b, uint32(cp))
		return mp.Value{Tag: t, Data: cleanString(decodeCharset(charset, html))}, true
	case t.ID() == mp.PidTagHtml.ID() && want == mp.PtypBinary && isString(have):
		// PidTagHtml asked of a PidTagBodyHtml: UTF-8 (code page 65001).
		s, _ := v.Data.(string)
		return mp.Value{Tag: t, Data: []byte(s)}, true
	}
	return mp.Value{}, false
}

// String returns a string property's value, or "".
func (p Props) String(t mp.Tag) string {
	if v, ok := p.m[t.ID()]; ok {
		if s, ok := v.Data.(string); ok {
			return s
		}
	}
	return ""
}

// Int32 returns a PtypInteger32 property's value.
func (p Props) Int32(t mp.Tag) (int32, bool) {
	if v, ok := p.m[t.ID()]; ok {
		i, ok := v.Data.(int32)
		return i, ok
	}
	return 0, false
}

// Bool returns a PtypBoolean property's value (false when unset).
func (p Props) Bool(t mp.Tag) bool {
	if v, ok := p.m[t.ID()]; ok {
		b, _ := v.Data.(bool)
		return b
	}
	return false
}

// Binary returns a binary property's value, or nil.
func (p Props) Binary(t mp.Tag) []byte {
	if v, ok := p.m[t.ID()]; ok {
		b, _ := v.Data.([]byte)
		return b
	}
	return nil
}

// Values returns all values sorted by tag, the order RopGetPropertiesAll
// and RopGetPropertiesList answer in.
func (p Props) Values() []mp.Value {
	out := make([]mp.Value, 0, len(p.m))
	for _, v := range p.m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b mp.Value) int {
		switch {
		case a.Tag < b.Tag:
			return -1
		case a.Tag > b.Tag:
			return 1
		}
		return 0
	})
	return out
}

// Tags returns the tags of Values.
func (p Props) Tags() []mp.Tag {
	vals := p.Values()
	tags := make([]mp.Tag, len(vals))
	for i, v := range vals {
		tags[i] = v.Tag
	}
	return tags
}

// Clone returns a copy that shares no map with p (values are shared).
func (p Props) Clone() Props {
	var c Props
	for _, v := range p.m {
		c.Set(v)
	}
	return c
}

func isString(t mp.PropType) bool { return t == mp.PtypString || t == mp.PtypString8 }

func (p *Props) setString(t mp.Tag, s string) { p.Set(mp.StringValue(t, s)) }
func (p *Props) setInt32(t mp.Tag, i int32)   { p.Set(mp.Int32Value(t, i)) }
func (p *Props) setBool(t mp.Tag, b bool)     { p.Set(mp.BoolValue(t, b)) }
func (p *Props) setBinary(t mp.Tag, b []byte) { p.Set(mp.BinaryValue(t, b)) }

// cleanString makes s valid UTF-8 without NUL characters.
func cleanString(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
