package imap

import (
	"fmt"
	"io"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/storage"
)

// Messages up to this size are read whole (one query) to serve their
// sections; larger ones are read chunk by chunk and streamed.
const readWholeLimit = 1 << 20

// fetchBatch is how many messages' rows one query reads.
const fetchBatch = 64

// smallBlob is the size up to which ReadSmallBlobs returns a message's
// bytes (one stored chunk).
const smallBlob = 256 << 10

// Fetch implements FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 3516 BINARY).
// FLAGS, UID and RFC822.SIZE come from memory; the other items from the
// message row (INTERNALDATE), its stored part tree (ENVELOPE,
// BODYSTRUCTURE, section offsets) and its stored bytes.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	targets, err := s.targets(numSet)
	if err != nil || len(targets) == 0 {
		return err
	}
	sel := s.sel
	seenSet, err := s.markSeen(sel, targets, options)
	if err != nil {
		return err
	}
	needParsed := options.Envelope || options.BodyStructure != nil || len(options.BinarySection) > 0 || len(options.BinarySectionSize) > 0
	for _, bs := range options.BodySection {
		if len(bs.Part) > 0 || bs.Specifier != imap.PartSpecifierNone {
			needParsed = true
		}
	}
	needBytes := len(options.BodySection) > 0 || len(options.BinarySection) > 0 || len(options.BinarySectionSize) > 0
	needRow := needParsed || needBytes || options.InternalDate

	for batch := range slices.Chunk(targets, fetchBatch) {
		rows := map[int64]*storage.Message{}
		var blobs map[string][]byte
		if needRow {
			ids := make([]int64, len(batch))
			for i, t := range batch {
				ids[i] = t.id
			}
			ms, err := s.srv.store.MessagesForFetch(s.ctx, s.accountID, sel.folder.ID, ids, needParsed)
			if err != nil {
				return s.fail("reading messages", err)
			}
			var small []string
			for i := range ms {
				rows[ms[i].ID] = &ms[i]
				if needBytes && ms[i].Size <= smallBlob {
					small = append(small, ms[i].BlobHash)
				}
			}
			// One query for the bytes of every small message of the batch.
			if len(small) > 0 {
				if blobs, err = s.srv.store.ReadSmallBlobs(s.ctx, small); err != nil {
					return s.fail("reading messages", err)
				}
			}
		}
		for _, t := range batch {
			var row *storage.Message
			if needRow {
				if row = rows[t.id]; row == nil {
					continue // expunged meanwhile; RFC 9051 §7.5.1 allows leaving it out
				}
			}
			var raw []byte
			if row != nil {
				raw = blobs[row.BlobHash]
			}
			if err := s.fetchOne(w, t, row, raw, options, needParsed, needBytes, seenSet[t.id]); err != nil {
				return err
			}
		}
	}
	return nil
}

// markSeen sets \Seen on the targets a non-peek body fetch reads (RFC 9051
// §6.4.5) and returns the ids whose flags it changed, so their FLAGS are
// sent along.
func (s *session) markSeen(sel *selected, targets []target, options *imap.FetchOptions) (map[int64]bool, error) {
	if sel.readOnly {
		return nil, nil
	}
	peekOnly := true
	for _, bs := range options.BodySection {
		peekOnly = peekOnly && bs.Peek
	}
	for _, bs := range options.BinarySection {
		peekOnly = peekOnly && bs.Peek
	}
	if peekOnly {
		return nil, nil
	}
	var ids []int64
	for _, t := range targets {
		if t.flags&storage.FlagSeen == 0 {
			ids = append(ids, t.id)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	updates, err := s.setFlags(sel.folder.ID, ids, storage.FlagsAdd, storage.FlagSeen, nil, 0)
	if err != nil {
		return nil, s.fail("setting \\Seen", err)
	}
	sel.mb.applyFlags(updates, sel.v)
	changed := make(map[int64]bool, len(updates))
	byID := make(map[int64]storage.FlagUpdate, len(updates))
	for _, u := range updates {
		changed[u.ID] = true
		byID[u.ID] = u
	}
	for i := range targets {
		if u, ok := byID[targets[i].id]; ok {
			targets[i].flags = u.Flags
		}
	}
	return changed, nil
}

// fetched holds what one message's response needs, read before the
// response starts (a failure then costs no half-written response).
type fetched struct {
	row    *storage.Message
	parsed *message.Parsed
	raw    []byte              // the whole message, when small
	blob   *storage.BlobReader // large messages
	binary [][]byte            // decoded BINARY sections, in option order
	sizes  []uint32            // BINARY.SIZE values
}

func (s *session) fetchOne(w *imapserver.FetchWriter, t target, row *storage.Message, raw []byte, options *imap.FetchOptions, needParsed, needBytes, seenChanged bool) error {
	f := &fetched{row: row, raw: raw}
	if needParsed {
		f.parsed = s.partTree(row)
	}
	if needBytes {
		if f.raw == nil {
			if err := s.loadBytes(f, t.size); err != nil {
				return err
			}
		}
		if err := s.prepareBinary(f, options); err != nil {
			return err
		}
	}

	rw := w.CreateMessage(t.seq)
	if options.UID || seenChanged {
		rw.WriteUID(imap.UID(t.uid))
	}
	if options.Flags || seenChanged {
		rw.WriteFlags(imapFlags(t.flags, t.keywords))
	}
	if options.InternalDate {
		rw.WriteInternalDate(row.InternalDate)
	}
	if options.RFC822Size {
		rw.WriteRFC822Size(t.size)
	}
	if options.Envelope {
		rw.WriteEnvelope(f.parsed.Envelope.IMAP())
	}
	if options.BodyStructure != nil {
		rw.WriteBodyStructure(f.parsed.Root.IMAPBodyStructure())
	}
	for _, sec := range options.BodySection {
		if err := s.writeBodySection(rw, f, t.size, sec); err != nil {
			// The response is half written: the connection cannot go on.
			_ = s.conn.NetConn().Close()
			return s.fail("sending a body section", err)
		}
	}
	for i, sec := range options.BinarySection {
		data := f.binary[i]
		off, n := partial(int64(len(data)), sec.Partial)
		wc := rw.WriteBinarySection(sec, n)
		if _, err := wc.Write(data[off : off+n]); err != nil {
			return err
		}
		if err := wc.Close(); err != nil {
			return err
		}
	}
	for i, sec := range options.BinarySectionSize {
		rw.WriteBinarySectionSize(sec, f.sizes[i])
	}
	return rw.Close()
}

// partTree decodes the part tree stored at ingest. A row without a usable
// one (none is written by every path yet) is parsed once here rather than
// failing the FETCH.
func (s *session) partTree(row *storage.Message) *message.Parsed {
	if len(row.Parsed) > 0 {
		p, err := message.Unmarshal(row.Parsed)
		if err == nil && p.Root != nil {
			return p
		}
		s.log.Warn("stored part tree unreadable; parsing the message", "message", row.ID, "err", err)
	}
	raw, err := s.srv.store.ReadBlob(s.ctx, row.BlobHash)
	if err != nil {
		return &message.Parsed{Root: &message.Part{MediaType: "text", MediaSubtype: "plain", End: row.Size, Size: row.Size}}
	}
	return message.Parse(raw)
}

func (s *session) loadBytes(f *fetched, size int64) error {
	var err error
	if size <= readWholeLimit {
		f.raw, err = s.srv.store.ReadBlob(s.ctx, f.row.BlobHash)
	} else {
		f.blob, err = s.srv.store.OpenBlob(s.ctx, f.row.BlobHash)
	}
	if err != nil {
		return s.fail("reading a message", err)
	}
	return nil
}

// bytes returns raw[start:end] of the message.
func (f *fetched) bytes(start, end int64) ([]byte, error) {
	if f.raw != nil || f.blob == nil {
		start = min(start, int64(len(f.raw)))
		end = min(max(end, start), int64(len(f.raw)))
		return f.raw[start:end], nil
	}
	buf := make([]byte, end-start)
	n, err := f.blob.ReadAt(buf, start)
	if err == io.EOF && int64(n) == end-start {
		err = nil
	}
	return buf[:n], err
}

func (s *session) prepareBinary(f *fetched, options *imap.FetchOptions) error {
	decode := func(path []int) ([]byte, error) {
		part, whole, ok := binaryPart(f.parsed, path)
		switch {
		case !ok:
			return nil, nil
		case whole:
			return f.bytes(0, f.row.Size)
		case !part.IsMultipart() && !knownEncoding(part.Encoding):
			return nil, noError(imap.ResponseCodeUnknownCTE, fmt.Sprintf("Cannot decode content transfer encoding %q", part.Encoding))
		}
		body, err := f.bytes(part.BodyStart, part.End)
		if err != nil {
			return nil, s.fail("reading a message", err)
		}
		return decodePart(part, body), nil
	}
	for _, sec := range options.BinarySection {
		data, err := decode(sec.Part)
		if err != nil {
			return err
		}
		f.binary = append(f.binary, data)
	}
	for _, sec := range options.BinarySectionSize {
		data, err := decode(sec.Part)
		if err != nil {
			return err
		}
		f.sizes = append(f.sizes, uint32(min(len(data), 1<<32-1)))
	}
	return nil
}

func (s *session) writeBodySection(rw *imapserver.FetchResponseWriter, f *fetched, size int64, sec *imap.FetchItemBodySection) error {
	sp := bodySpan(f.parsed, size, sec)
	if sp.filter {
		hdr, err := f.bytes(sp.start, sp.end)
		if err != nil {
			return err
		}
		data := filterHeader(hdr, sp.fields, sp.not)
		off, n := partial(int64(len(data)), sec.Partial)
		wc := rw.WriteBodySection(sec, n)
		if _, err := wc.Write(data[off : off+n]); err != nil {
			return err
		}
		return wc.Close()
	}
	off, n := partial(sp.end-sp.start, sec.Partial)
	start := sp.start + off
	wc := rw.WriteBodySection(sec, n)
	if f.blob != nil {
		if _, err := io.Copy(wc, io.NewSectionReader(f.blob, start, n)); err != nil {
			return err
		}
	} else {
		data, _ := f.bytes(start, start+n)
		if _, err := wc.Write(data); err != nil {
			return err
		}
	}
	return wc.Close()
}
