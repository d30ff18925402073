package message

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Encoding of a Parsed for a database column: a version byte, then fields
// in a fixed order as unsigned varints and length-prefixed strings. Offsets
// are stored as deltas (BodyStart-HeaderStart, End-BodyStart), so a small
// message takes few bytes and a decoded Part always has
// HeaderStart <= BodyStart <= End. Bump marshalVersion when the layout
// changes and keep decoding the old one (or reparse from the raw blob).
const marshalVersion = 1

// maxUnmarshalDepth bounds recursion on a corrupt or hostile blob. Parse
// never nests deeper than MaxDepth multipart/message levels, each at most
// two Part levels deep.
const maxUnmarshalDepth = 2*MaxDepth + 4

// Marshal encodes p compactly for storage. Unmarshal(Marshal(p)) yields a
// Parsed equal to p.
func (p *Parsed) Marshal() []byte {
	e := &encoder{buf: make([]byte, 0, 256)}
	e.buf = append(e.buf, marshalVersion)
	e.envelope(&p.Envelope)
	e.str(p.Subject)
	e.str(p.FromName)
	e.str(p.FromAddr)
	e.str(p.ToDisplay)
	e.str(p.CcDisplay)
	if p.SentAt.IsZero() {
		e.uint(0)
	} else {
		e.uint(1)
		e.int(p.SentAt.Unix())
		e.uint(uint64(p.SentAt.Nanosecond()))
	}
	e.str(p.MessageID)
	e.str(p.InReplyTo)
	e.strs(p.References)
	e.bool(p.HasAttachments)
	e.int(int64(p.Importance))
	e.str(p.Preview)
	e.strs(p.Warnings)
	if p.Root == nil {
		e.uint(0)
	} else {
		e.uint(1)
		e.part(p.Root)
	}
	return e.buf
}

type encoder struct{ buf []byte }

func (e *encoder) uint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) int(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }

func (e *encoder) bool(v bool) {
	if v {
		e.uint(1)
	} else {
		e.uint(0)
	}
}

func (e *encoder) str(s string) {
	e.uint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) strs(l []string) {
	e.uint(uint64(len(l)))
	for _, s := range l {
		e.str(s)
	}
}

// params writes a map with sorted keys, so equal maps encode equally.
func (e *encoder) params(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.uint(uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.str(m[k])
	}
}

func (e *encoder) addrs(l []Address) {
	e.uint(uint64(len(l)))
	for _, a := range l {
		var flags uint64
		if a.GroupStart {
			flags |= 1
		}
		if a.GroupEnd {
			flags |= 2
		}
		e.uint(flags)
		e.str(a.Name)
		e.str(a.Mailbox)
		e.str(a.Host)
	}
}

func (e *encoder) envelope(env *Envelope) {
	e.str(env.Date)
	e.str(env.Subject)
	e.str(env.InReplyTo)
	e.str(env.MessageID)
	for _, l := range [][]Address{env.From, env.Sender, env.ReplyTo, env.To, env.Cc, env.Bcc} {
		e.addrs(l)
	}
}

func (e *encoder) part(p *Part) {
	e.uint(uint64(p.HeaderStart))
	e.uint(uint64(p.BodyStart - p.HeaderStart))
	e.uint(uint64(p.End - p.BodyStart))
	e.str(p.MediaType)
	e.str(p.MediaSubtype)
	e.params(p.Params)
	e.str(p.ContentID)
	e.str(p.Description)
	e.str(p.Encoding)
	e.str(p.Disposition)
	e.str(p.Location)
	e.str(p.MD5)
	e.params(p.DispositionParams)
	e.strs(p.Language)
	e.uint(uint64(p.Lines))
	if p.Envelope == nil {
		e.uint(0)
	} else {
		e.uint(1)
		e.envelope(p.Envelope)
	}
	e.uint(uint64(len(p.Parts)))
	for _, c := range p.Parts {
		e.part(c)
	}
}

// ErrCorrupt is returned by Unmarshal for data Marshal did not produce.
var ErrCorrupt = errors.New("message: corrupt parsed structure")

// Unmarshal decodes the output of Marshal. It returns an error, never
// panics, on corrupt input.
func Unmarshal(b []byte) (*Parsed, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrCorrupt)
	}
	if b[0] != marshalVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, b[0])
	}
	d := &decoder{buf: b[1:]}
	p := &Parsed{}
	d.envelope(&p.Envelope)
	p.Subject = d.str()
	p.FromName = d.str()
	p.FromAddr = d.str()
	p.ToDisplay = d.str()
	p.CcDisplay = d.str()
	if d.uint() == 1 {
		sec := d.int()
		nsec := d.uint()
		if nsec >= 1e9 {
			d.fail("nanoseconds out of range")
		}
		p.SentAt = time.Unix(sec, int64(nsec)).UTC()
	}
	p.MessageID = d.str()
	p.InReplyTo = d.str()
	p.References = d.strs()
	p.HasAttachments = d.bool()
	p.Importance = int(d.int())
	p.Preview = d.str()
	p.Warnings = d.strs()
	if d.uint() == 1 {
		p.Root = d.part(0)
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return p, nil
}

type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
	d.buf = nil
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// offset reads an unsigned varint that must fit an int64 offset.
func (d *decoder) offset() int64 {
	v := d.uint()
	if v > 1<<62 {
		d.fail("offset out of range")
		return 0
	}
	return int64(v)
}

func (d *decoder) bool() bool {
	switch d.uint() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bad bool")
	return false
}

func (d *decoder) str() string {
	n := d.uint()
	if n > uint64(len(d.buf)) {
		d.fail("string length")
		return ""
	}
	s := string(d.buf[:n])
	d.buf = d.buf[n:]
	return s
}

// count reads an element count; every element takes at least one byte, so
// a count beyond the remaining input is corrupt (and cannot make us
// allocate without bound).
func (d *decoder) count() int {
	n := d.uint()
	if n > uint64(len(d.buf)) {
		d.fail("count")
		return 0
	}
	return int(n)
}

func (d *decoder) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = d.str()
	}
	return l
}

func (d *decoder) params() map[string]string {
	n := d.count()
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.str()
		m[k] = d.str()
	}
	return m
}

func (d *decoder) addrs() []Address {
	n := d.count()
	if n == 0 {
		return nil
	}
	l := make([]Address, n)
	for i := range l {
		flags := d.uint()
		if flags > 3 {
			d.fail("address flags")
		}
		l[i] = Address{
			GroupStart: flags&1 != 0,
			GroupEnd:   flags&2 != 0,
			Name:       d.str(),
			Mailbox:    d.str(),
			Host:       d.str(),
		}
	}
	return l
}

func (d *decoder) envelope(env *Envelope) {
	env.Date = d.str()
	env.Subject = d.str()
	env.InReplyTo = d.str()
	env.MessageID = d.str()
	for _, l := range []*[]Address{&env.From, &env.Sender, &env.ReplyTo, &env.To, &env.Cc, &env.Bcc} {
		*l = d.addrs()
	}
}

func (d *decoder) part(depth int) *Part {
	if depth > maxUnmarshalDepth {
		d.fail("nesting too deep")
		return nil
	}
	p := &Part{}
	p.HeaderStart = d.offset()
	p.BodyStart = p.HeaderStart + d.offset()
	p.End = p.BodyStart + d.offset()
	if p.End < 0 || p.End > 1<<62 {
		d.fail("offset out of range")
	}
	p.Size = p.End - p.BodyStart
	p.MediaType = d.str()
	p.MediaSubtype = d.str()
	p.Params = d.params()
	p.ContentID = d.str()
	p.Description = d.str()
	p.Encoding = d.str()
	p.Disposition = d.str()
	p.Location = d.str()
	p.MD5 = d.str()
	p.DispositionParams = d.params()
	p.Language = d.strs()
	p.Lines = d.offset()
	if d.uint() == 1 {
		p.Envelope = &Envelope{}
		d.envelope(p.Envelope)
	}
	if n := d.count(); n > 0 {
		p.Parts = make([]*Part, 0, n)
		for range n {
			c := d.part(depth + 1)
			if d.err != nil {
				return nil
			}
			p.Parts = append(p.Parts, c)
		}
	}
	if d.err != nil {
		return nil
	}
	return p
}
