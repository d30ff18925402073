package storage

import "time"

// SetReceivedForTest sets a message's received time, so tests can build a
// mailbox with a known order without sleeping.
func (tx *Tx) SetReceivedForTest(messageID int64, at time.Time) error {
	return tx.db.Model(&Message{}).Where("id = ?", messageID).Update("received_at", at.UTC()).Error
}
