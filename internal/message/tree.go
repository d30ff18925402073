package message

import "slices"

// Walk visits p and every part below it in depth-first pre-order, including
// the message embedded in a message/rfc822 part. path is the IMAP section
// number of the visited part (RFC 3501 §6.4.5) relative to p: nil for p
// itself, n for the nth child of a multipart. The root of an embedded
// message has its message/rfc822 part's number when it is a multipart (its
// children are numbered below it) and that number plus ".1" otherwise.
// Returning false from fn skips the children of the visited part. fn must
// not keep path; it is reused.
func (p *Part) Walk(fn func(path []int, part *Part) bool) {
	p.walk(nil, fn, 0)
}

func (p *Part) walk(path []int, fn func([]int, *Part) bool, depth int) {
	if !fn(path, p) || depth > 2*MaxDepth+2 {
		return
	}
	if p.IsMessage() && len(p.Parts) == 1 {
		sub := p.Parts[0]
		if sub.IsMultipart() {
			sub.walk(path, fn, depth+1)
		} else {
			sub.walk(append(path, 1), fn, depth+1)
		}
		return
	}
	if p.IsMultipart() {
		for i, c := range p.Parts {
			c.walk(append(path, i+1), fn, depth+1)
		}
	}
}

// PartByPath returns the part named by an IMAP section number (RFC 3501
// §6.4.5): nil or empty for the whole message, [1] for the body of a
// non-multipart message, n for the nth part of a multipart; a number below
// a message/rfc822 part addresses the embedded message's parts. For a path
// ending at a message/rfc822 part, the part itself is returned; its
// embedded message is Parts[0] (for n.HEADER and n.TEXT). It returns nil
// for a path that names no part.
func (p *Parsed) PartByPath(path []int) *Part {
	cur := p.Root
	if cur == nil {
		return nil
	}
	for i, n := range path {
		if i > 0 && cur.IsMessage() {
			if len(cur.Parts) != 1 {
				return nil
			}
			cur = cur.Parts[0]
		}
		if cur.IsMultipart() {
			if n < 1 || n > len(cur.Parts) {
				return nil
			}
			cur = cur.Parts[n-1]
			continue
		}
		if n != 1 {
			return nil
		}
	}
	return cur
}

// Embedded returns the root of the message inside a message/rfc822 part,
// or nil.
func (p *Part) Embedded() *Part {
	if p.IsMessage() && len(p.Parts) == 1 {
		return p.Parts[0]
	}
	return nil
}

// Attachment describes one attachment of a message.
type Attachment struct {
	Part     *Part
	Path     []int  // IMAP section number
	FileName string // decoded, "" when the part names none
	// Inline is set for parts shown inside the HTML body: parts of a
	// multipart/related with a Content-ID or Content-Location, or with
	// Content-Disposition inline there. Other parts are listed as
	// attachments.
	Inline bool
}

// Attachments lists the parts a mail client shows as attachments, in
// order: every part with Content-Disposition attachment, every attached
// message (message/rfc822 parts are not descended into), and every leaf
// that is not a text/plain, text/html or text/enriched body. Direct children
// of a multipart/alternative are renderings of the body, not attachments,
// unless marked as attachment. A non-multipart message whose only part is
// not text counts as one attachment.
func Attachments(p *Parsed) []Attachment {
	if p == nil || p.Root == nil {
		return nil
	}
	var out []Attachment
	var visit func(part *Part, parent *Part, path []int, depth int)
	visit = func(part *Part, parent *Part, path []int, depth int) {
		if depth > 2*MaxDepth+2 {
			return
		}
		if part.IsMultipart() {
			for i, c := range part.Parts {
				visit(c, part, append(path[:len(path):len(path)], i+1), depth+1)
			}
			return
		}
		if !isAttachment(part, parent) {
			return
		}
		out = append(out, Attachment{
			Part:     part,
			Path:     slices.Clone(path),
			FileName: part.FileName(),
			Inline:   isInline(part, parent),
		})
	}
	root := p.Root
	if root.IsMultipart() {
		visit(root, nil, nil, 0)
	} else if isAttachment(root, nil) {
		out = append(out, Attachment{Part: root, Path: []int{1}, FileName: root.FileName()})
	}
	return out
}

// AttachmentParts returns the parts of Attachments.
func AttachmentParts(p *Parsed) []*Part {
	var parts []*Part
	for _, a := range Attachments(p) {
		parts = append(parts, a.Part)
	}
	return parts
}

func isAttachment(part, parent *Part) bool {
	if part.Disposition == "attachment" {
		return true
	}
	if parent != nil && parent.MediaType == "multipart" && parent.MediaSubtype == "alternative" {
		return false
	}
	if part.MediaType == "message" {
		// An encapsulated message; but the top-level message itself is
		// not its own attachment.
		return parent != nil
	}
	if isBodyText(part) {
		return part.FileName() != ""
	}
	return true
}

func isBodyText(part *Part) bool {
	if part.MediaType != "text" {
		return false
	}
	switch part.MediaSubtype {
	case "plain", "html", "enriched":
		return true
	}
	return false
}

func isInline(part, parent *Part) bool {
	if part.Disposition == "attachment" || parent == nil {
		return false
	}
	if parent.MediaSubtype != "related" {
		return false
	}
	return part.ContentID != "" || part.Location != "" || part.Disposition == "inline"
}

// FileName returns the decoded file name of p from the Content-Disposition
// filename or the Content-Type name parameter (RFC 2183, RFC 2231, and the
// RFC 2047 encoded-words that mailers put there despite RFC 2047 §5).
func (p *Part) FileName() string {
	name := p.DispositionParams["filename"]
	if name == "" {
		name = p.Params["name"]
	}
	if name == "" {
		return ""
	}
	return DecodeHeaderText(name)
}
