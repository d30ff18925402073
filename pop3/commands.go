package pop3

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/storage"
)

// handler runs one command in the states it is valid in; it returns true to
// end the session.
type handler struct {
	states state
	fn     func(*session, Command) bool
}

// commands is the RFC 1939 / 2449 / 2595 / 5034 command table. It is never
// modified.
var commands = map[string]handler{
	"CAPA": {stateAuthorization | stateTransaction, cmdCAPA},
	"QUIT": {stateAuthorization | stateTransaction, cmdQUIT},
	"STLS": {stateAuthorization, cmdSTLS},
	"USER": {stateAuthorization, cmdUSER},
	"PASS": {stateAuthorization, cmdPASS},
	"APOP": {stateAuthorization, cmdAPOP},
	"AUTH": {stateAuthorization, cmdAUTH},
	"STAT": {stateTransaction, cmdSTAT},
	"LIST": {stateTransaction, cmdLIST},
	"UIDL": {stateTransaction, cmdUIDL},
	"RETR": {stateTransaction, cmdRETR},
	"TOP":  {stateTransaction, cmdTOP},
	"DELE": {stateTransaction, cmdDELE},
	"NOOP": {stateTransaction, cmdNOOP},
	"RSET": {stateTransaction, cmdRSET},
}

// smallMessage is the size up to which a message is read whole (it is one
// blob chunk); larger messages are streamed chunk by chunk.
const smallMessage = 256 << 10

// Read-ahead of small messages: clients RETR one message after the other,
// so fetching the next ones with the same query saves a database round
// trip per message. Bounded by count and bytes.
const (
	readAheadCount = 64
	readAheadBytes = 1 << 20
)

// smallBlob returns the bytes of small message i, from the read-ahead or
// with one query that also fetches the live small messages after it.
func (s *session) smallBlob(i int) ([]byte, error) {
	if data, ok := s.ahead[i]; ok {
		delete(s.ahead, i)
		s.aheadBytes -= int64(len(data))
		return data, nil
	}
	msgs := s.drop.Messages
	idx := []int{i}
	hashes := []string{msgs[i].BlobHash}
	total := msgs[i].Size
	for j := i + 1; j < len(msgs) && len(idx) < readAheadCount; j++ {
		if _, have := s.ahead[j]; have || s.deleted[j] || msgs[j].Size > smallMessage {
			continue
		}
		if total+msgs[j].Size > readAheadBytes {
			break
		}
		idx = append(idx, j)
		hashes = append(hashes, msgs[j].BlobHash)
		total += msgs[j].Size
	}
	got, err := s.srv.opts.Store.ReadSmallBlobs(s.ctx, hashes)
	if err != nil {
		return nil, err
	}
	if s.ahead == nil || s.aheadBytes+total > 2*readAheadBytes {
		// Random access left entries behind: start over rather than grow.
		s.ahead, s.aheadBytes = map[int][]byte{}, 0
	}
	for _, j := range idx[1:] {
		if data, ok := got[msgs[j].BlobHash]; ok {
			s.ahead[j] = data
			s.aheadBytes += int64(len(data))
		}
	}
	if data, ok := got[msgs[i].BlobHash]; ok {
		return data, nil
	}
	// Not a single-chunk blob after all, or gone: let ReadBlob say which.
	return s.srv.opts.Store.ReadBlob(s.ctx, msgs[i].BlobHash)
}

// msgArg resolves a message-number argument to an index into the maildrop,
// answering the client when it names no live message.
func (s *session) msgArg(arg string) (int, bool) {
	n, ok := parseNumber(arg)
	if !ok || n == 0 {
		s.protoError("Invalid message number")
		return 0, false
	}
	if n > len(s.drop.Messages) {
		s.fail("No such message")
		return 0, false
	}
	if s.deleted[n-1] {
		s.fail("Message " + arg + " is deleted")
		return 0, false
	}
	return n - 1, true
}

// uidl is the unique id of a message (RFC 1939 §7): UID and UIDVALIDITY of
// the Inbox, which never change while the message stays there, in
// Dovecot's default form so the ids look familiar.
func (s *session) uidl(b []byte, i int) []byte {
	return fmt.Appendf(b, "%08Xu%08Xv", s.drop.Messages[i].UID, s.drop.UIDValidity)
}

// cmdSTAT — RFC 1939 §5.
func cmdSTAT(s *session, cmd Command) bool {
	if len(cmd.Args) != 0 {
		s.protoError("Syntax: STAT")
		return false
	}
	s.ok(strconv.Itoa(s.liveCount) + " " + strconv.FormatInt(s.liveOctets, 10))
	return false
}

// cmdLIST — RFC 1939 §5. Sizes are the stored octets, which are the
// transmitted ones for mail stored with CRLF line ends (everything that
// came in over SMTP).
func cmdLIST(s *session, cmd Command) bool {
	switch len(cmd.Args) {
	case 0:
		s.ok(strconv.Itoa(s.liveCount) + " messages (" + strconv.FormatInt(s.liveOctets, 10) + " octets)")
		b := s.numScratch[:0]
		for i, m := range s.drop.Messages {
			if s.deleted[i] {
				continue
			}
			b = appendNum(b, int64(i+1))
			b = append(b, ' ')
			b = appendNum(b, m.Size)
			b = append(b, '\r', '\n')
			if len(b) > 16<<10 {
				s.w.Write(b)
				b = b[:0]
			}
		}
		b = append(b, '.', '\r', '\n')
		s.w.Write(b)
		s.numScratch = b[:0]
	case 1:
		i, ok := s.msgArg(cmd.Args[0])
		if ok {
			s.ok(strconv.Itoa(i+1) + " " + strconv.FormatInt(s.drop.Messages[i].Size, 10))
		}
	default:
		s.protoError("Syntax: LIST [msg]")
	}
	return false
}

// cmdUIDL — RFC 1939 §7.
func cmdUIDL(s *session, cmd Command) bool {
	switch len(cmd.Args) {
	case 0:
		s.ok("Unique-ID listing follows")
		b := s.numScratch[:0]
		for i := range s.drop.Messages {
			if s.deleted[i] {
				continue
			}
			b = appendNum(b, int64(i+1))
			b = append(b, ' ')
			b = s.uidl(b, i)
			b = append(b, '\r', '\n')
			if len(b) > 16<<10 {
				s.w.Write(b)
				b = b[:0]
			}
		}
		b = append(b, '.', '\r', '\n')
		s.w.Write(b)
		s.numScratch = b[:0]
	case 1:
		i, ok := s.msgArg(cmd.Args[0])
		if ok {
			s.ok(strconv.Itoa(i+1) + " " + string(s.uidl(nil, i)))
		}
	default:
		s.protoError("Syntax: UIDL [msg]")
	}
	return false
}

// cmdRETR — RFC 1939 §5: the whole message, dot-stuffed.
func cmdRETR(s *session, cmd Command) bool {
	if len(cmd.Args) != 1 {
		s.protoError("Syntax: RETR msg")
		return false
	}
	i, ok := s.msgArg(cmd.Args[0])
	if !ok {
		return false
	}
	if err := s.sendMessage(i, -1); err != nil {
		return errors.Is(err, errStreamBroken)
	}
	s.retrieved[i] = true
	return false
}

// cmdTOP — RFC 1939 §7: the header, the blank line, and the first n lines
// of the body.
func cmdTOP(s *session, cmd Command) bool {
	if len(cmd.Args) != 2 {
		s.protoError("Syntax: TOP msg lines")
		return false
	}
	lines, ok := parseNumber(cmd.Args[1])
	if !ok {
		s.protoError("Invalid number of lines")
		return false
	}
	i, ok := s.msgArg(cmd.Args[0])
	if !ok {
		return false
	}
	err := s.sendMessage(i, lines)
	return errors.Is(err, errStreamBroken)
}

// sendMessage answers RETR (lines < 0) or TOP (lines >= 0) for message i.
// Failures before "+OK" are answered with -ERR and returned; a failure
// while streaming returns errStreamBroken, after which the session cannot
// go on (the client is inside a multi-line answer).
func (s *session) sendMessage(i, lines int) error {
	m := &s.drop.Messages[i]
	var hdrEnd int64 = -1
	if lines >= 0 {
		hdrEnd = s.headerEndFromTree(m.ID)
	}
	if m.Size <= smallMessage {
		data, err := s.smallBlob(i)
		if err != nil {
			s.blobError(err)
			return err
		}
		if lines >= 0 {
			if hdrEnd < 0 || hdrEnd > int64(len(data)) {
				hdrEnd, _ = headerEnd(bytes.NewReader(data))
			}
			data = data[:hdrEnd+bodyLinesLen(data[hdrEnd:], lines)]
		}
		s.okSize(m.Size, lines)
		st := newDotStuffer(s.w)
		st.Write(data)
		if err := st.close(); err != nil {
			return errors.Join(errStreamBroken, err)
		}
		return nil
	}
	br, err := s.srv.opts.Store.OpenBlob(s.ctx, m.BlobHash)
	if err != nil {
		s.blobError(err)
		return err
	}
	var src io.Reader = br
	if lines >= 0 {
		if hdrEnd < 0 || hdrEnd > br.Size() {
			if hdrEnd, err = headerEnd(br); err != nil {
				s.blobError(err)
				return err
			}
			if _, err := br.Seek(0, io.SeekStart); err != nil {
				s.blobError(err)
				return err
			}
		}
		src = io.MultiReader(io.LimitReader(br, hdrEnd), &lineLimiter{r: br, left: lines})
	}
	s.okSize(m.Size, lines)
	st := newDotStuffer(s.w)
	if s.copyScratch == nil {
		s.copyScratch = make([]byte, 32<<10)
	}
	if _, err := io.CopyBuffer(st, src, s.copyScratch); err != nil {
		s.log.Error("streaming a message failed; closing the connection", "message", m.ID, "err", err)
		return errors.Join(errStreamBroken, err)
	}
	if err := st.close(); err != nil {
		return errors.Join(errStreamBroken, err)
	}
	return nil
}

func (s *session) okSize(size int64, lines int) {
	if lines >= 0 {
		s.ok("Top of message follows")
		return
	}
	s.ok(strconv.FormatInt(size, 10) + " octets")
}

func (s *session) blobError(err error) {
	if errors.Is(err, storage.ErrNotFound) {
		s.fail("Message was removed by another client")
		return
	}
	s.storeError("reading the message", err)
}

// headerEndFromTree returns where the message's header ends according to
// its stored part tree, or -1 when that is not at hand.
func (s *session) headerEndFromTree(id int64) int64 {
	b, err := s.srv.opts.Store.MessageParsed(s.ctx, s.account.ID, id)
	if err != nil || len(b) == 0 {
		return -1
	}
	p, err := message.Unmarshal(b)
	if err != nil || p.Root == nil {
		return -1
	}
	return p.Root.BodyStart
}

// bodyLinesLen is the length of the first n lines of body (the n-th line
// feed included), or of all of it when it has fewer.
func bodyLinesLen(body []byte, n int) int64 {
	off := 0
	for ; n > 0; n-- {
		j := bytes.IndexByte(body[off:], '\n')
		if j < 0 {
			return int64(len(body))
		}
		off += j + 1
	}
	return int64(off)
}

// cmdDELE — RFC 1939 §5: mark only; QUIT applies.
func cmdDELE(s *session, cmd Command) bool {
	if len(cmd.Args) != 1 {
		s.protoError("Syntax: DELE msg")
		return false
	}
	i, ok := s.msgArg(cmd.Args[0])
	if !ok {
		return false
	}
	s.deleted[i] = true
	s.liveCount--
	s.liveOctets -= s.drop.Messages[i].Size
	s.ok("Message " + strconv.Itoa(i+1) + " deleted")
	return false
}

// cmdNOOP — RFC 1939 §5.
func cmdNOOP(s *session, cmd Command) bool {
	if len(cmd.Args) != 0 {
		s.protoError("Syntax: NOOP")
		return false
	}
	s.writeLine("+OK")
	return false
}

// cmdRSET — RFC 1939 §5: unmark every deleted message.
func cmdRSET(s *session, cmd Command) bool {
	if len(cmd.Args) != 0 {
		s.protoError("Syntax: RSET")
		return false
	}
	clear(s.deleted)
	s.liveCount, s.liveOctets = len(s.drop.Messages), 0
	for _, m := range s.drop.Messages {
		s.liveOctets += m.Size
	}
	s.ok("Maildrop has " + strconv.Itoa(s.liveCount) + " messages (" + strconv.FormatInt(s.liveOctets, 10) + " octets)")
	return false
}

// cmdQUIT ends the session. In TRANSACTION it enters UPDATE (RFC 1939 §6):
// the deletions, the \Seen flags and the release of the lease are one store
// transaction, and the answer says whether it committed.
func cmdQUIT(s *session, cmd Command) bool {
	if len(cmd.Args) != 0 {
		s.protoError("Syntax: QUIT")
		return false
	}
	if s.state == stateAuthorization {
		s.ok("Pochta POP3 server signing off")
		return true
	}
	s.state = stateUpdate
	s.stopRenewal()
	u := storage.POP3Update{AccountID: s.account.ID, FolderID: s.drop.FolderID}
	if s.srv.shared {
		u.ReleaseHolder = s.holder
	}
	move := s.srv.opts.DeletePolicy == DeleteMoveToTrash
	if move {
		u.MoveToRole = storage.RoleDeleted
	}
	for i, m := range s.drop.Messages {
		if s.deleted[i] {
			u.Delete = append(u.Delete, m.ID)
		}
		if s.retrieved[i] && !s.srv.opts.NoFlagUpdates && m.Flags&storage.FlagSeen == 0 && (!s.deleted[i] || move) {
			u.Seen = append(u.Seen, m.ID)
		}
	}
	var err error
	if len(u.Seen) > 0 || len(u.Delete) > 0 || u.ReleaseHolder != "" {
		_, err = s.srv.opts.Store.ApplyPOP3Update(s.ctx, u)
	}
	released := err == nil
	s.unlock(&released)
	if err != nil {
		s.log.Error("UPDATE failed", "err", err)
		s.fail("[SYS/TEMP] Some deleted messages were not removed")
		return true
	}
	s.ok("Pochta POP3 server signing off (" + strconv.Itoa(s.liveCount) + " messages left)")
	return true
}
