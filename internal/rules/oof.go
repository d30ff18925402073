package rules

import (
	"encoding/binary"
	"strings"
	"time"

	"github.com/pochta/pochta/storage"
)

// maxOOFLog bounds the out-of-office reply log; the oldest entries go
// first (a sender forgotten early gets a second reply, never none).
const maxOOFLog = 4096

// RecordOOFReply decides, inside the delivery's transaction, whether sender
// gets an out-of-office reply now: not if it got one within period (RFC
// 3834 §2). When it does, the reply is logged in the same transaction.
func RecordOOFReply(tx *storage.Tx, accountID int64, sender string, now time.Time, period time.Duration) (bool, error) {
	sender = strings.ToLower(sender)
	raw, _, err := tx.Prop(accountID, storage.ObjectStore, accountID, OOFSentTag)
	if err != nil {
		return false, err
	}
	log := decodeOOFLog(raw)
	if at, ok := log[sender]; ok && now.Sub(at) < period && !at.After(now.Add(period)) {
		return false, nil
	}
	log[sender] = now
	for k, at := range log {
		if now.Sub(at) >= period {
			delete(log, k) // expired: would get a reply again anyway
		}
	}
	for len(log) > maxOOFLog {
		var oldest string
		var ot time.Time
		for k, at := range log {
			if oldest == "" || at.Before(ot) {
				oldest, ot = k, at
			}
		}
		delete(log, oldest)
	}
	return true, tx.SetProps(accountID, storage.ObjectStore, accountID, []storage.PropValue{{Tag: OOFSentTag, Value: encodeOOFLog(log)}})
}

// The log row: repeated (uint16 length, address, int64 unix seconds).
func encodeOOFLog(log map[string]time.Time) []byte {
	b := []byte{}
	for k, at := range log {
		if len(k) > 0xFFFF {
			continue
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(len(k)))
		b = append(b, k...)
		b = binary.LittleEndian.AppendUint64(b, uint64(at.Unix()))
	}
	return b
}

// decodeOOFLog reads the log row; a damaged tail is dropped.
func decodeOOFLog(b []byte) map[string]time.Time {
	log := map[string]time.Time{}
	for len(b) >= 2 {
		n := int(binary.LittleEndian.Uint16(b))
		if len(b) < 2+n+8 {
			break
		}
		k := string(b[2 : 2+n])
		log[k] = time.Unix(int64(binary.LittleEndian.Uint64(b[2+n:])), 0)
		b = b[2+n+8:]
	}
	return log
}
