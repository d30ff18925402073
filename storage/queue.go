package storage

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// NewQueueRecipient is one recipient to enqueue.
type NewQueueRecipient struct {
	Address string
	ORcpt   string
	Notify  string
}

// NewQueueMessage is one message to enqueue for remote delivery.
type NewQueueMessage struct {
	Sender     string
	AccountID  int64
	BlobHash   string
	Size       int64
	EnvID      string
	Ret        string
	MessageID  string
	Lifetime   time.Duration
	Recipients []NewQueueRecipient
}

// Enqueue adds a message to the outbound queue; it takes a reference on the blob.
func (tx *Tx) Enqueue(m *NewQueueMessage) (*QueueMessage, error) {
	if len(m.Recipients) == 0 {
		return nil, fmt.Errorf("storage: enqueue without recipients")
	}
	now := time.Now().UTC()
	if m.Lifetime <= 0 {
		m.Lifetime = 5 * 24 * time.Hour
	}
	qm := &QueueMessage{
		Sender: m.Sender, AccountID: m.AccountID, BlobHash: m.BlobHash, Size: m.Size, EnvID: m.EnvID,
		Ret: m.Ret, MessageID: m.MessageID, NextAttemptAt: now, ExpiresAt: now.Add(m.Lifetime), CreatedAt: now,
	}
	for _, r := range m.Recipients {
		qm.Recipients = append(qm.Recipients, QueueRecipient{Address: r.Address, ORcpt: r.ORcpt, Notify: r.Notify, State: RcptPending, UpdatedAt: now})
	}
	if err := tx.db.Create(qm).Error; err != nil {
		return nil, fmt.Errorf("storage: enqueueing: %w", err)
	}
	if err := tx.refBlob(m.BlobHash, 1); err != nil {
		return nil, err
	}
	tx.AfterCommit(tx.s.signalQueue)
	return qm, nil
}

// QueueSignal fires (without blocking) when something was enqueued on this
// node, so queue workers need not poll often.
func (s *Store) QueueSignal() <-chan struct{} { return s.queueSignal() }

// ClaimQueue leases up to n due queue messages (with their pending
// recipients) for lease, so no other worker — on this node or another —
// takes them meanwhile. On PostgreSQL the claim uses FOR UPDATE SKIP LOCKED.
func (s *Store) ClaimQueue(ctx context.Context, n int, lease time.Duration) ([]QueueMessage, error) {
	var out []QueueMessage
	err := s.Write(ctx, func(tx *Tx) error {
		now := time.Now().UTC()
		q := tx.db.Where("next_attempt_at <= ?", now).Order("next_attempt_at").Limit(n)
		if s.driver == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		var ms []QueueMessage
		if err := q.Find(&ms).Error; err != nil {
			return err
		}
		for i := range ms {
			ms[i].NextAttemptAt = now.Add(lease)
			if err := tx.db.Model(&QueueMessage{}).Where("id = ?", ms[i].ID).Update("next_attempt_at", ms[i].NextAttemptAt).Error; err != nil {
				return err
			}
			if err := tx.db.Where("queue_message_id = ? AND state = ?", ms[i].ID, RcptPending).Order("id").Find(&ms[i].Recipients).Error; err != nil {
				return err
			}
		}
		out = ms
		return nil
	})
	return out, err
}

// QueueMessages lists the queue (for admins), oldest first.
func (s *Store) QueueMessages(ctx context.Context, offset, limit int) ([]QueueMessage, error) {
	var ms []QueueMessage
	if limit <= 0 {
		limit = 100
	}
	err := s.readDB(ctx).Preload("Recipients", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).
		Order("id").Offset(offset).Limit(limit).Find(&ms).Error
	if err != nil {
		return nil, fmt.Errorf("storage: listing queue: %w", classify(err))
	}
	return ms, nil
}

// QueueMessage returns one queued message with all its recipients.
func (s *Store) QueueMessage(ctx context.Context, id int64) (*QueueMessage, error) {
	var m QueueMessage
	err := s.readDB(ctx).Preload("Recipients", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).Where("id = ?", id).Take(&m).Error
	if err != nil {
		return nil, notFound(err, "queue message")
	}
	return &m, nil
}

// RecipientResult is the outcome of one delivery attempt for a recipient.
type RecipientResult struct {
	RecipientID int64
	State       string // RcptDelivered, RcptFailed, RcptExpired or RcptPending (temporary failure)
	Code        int
	Error       string
}

// FinishAttempt records an attempt's outcome. If recipients remain pending,
// the message is scheduled for next; otherwise it leaves the queue (its blob
// reference is dropped). It returns whether the message left the queue.
func (tx *Tx) FinishAttempt(msgID int64, results []RecipientResult, next time.Time, lastErr string) (done bool, err error) {
	now := time.Now().UTC()
	for _, r := range results {
		if err := tx.db.Model(&QueueRecipient{}).Where("id = ? AND queue_message_id = ?", r.RecipientID, msgID).
			Updates(map[string]any{"state": r.State, "last_code": r.Code, "last_error": r.Error, "updated_at": now}).Error; err != nil {
			return false, err
		}
	}
	var pending int64
	if err := tx.db.Model(&QueueRecipient{}).Where("queue_message_id = ? AND state = ?", msgID, RcptPending).Count(&pending).Error; err != nil {
		return false, err
	}
	if pending > 0 {
		return false, tx.db.Model(&QueueMessage{}).Where("id = ?", msgID).Updates(map[string]any{
			"attempts": gorm.Expr("attempts + 1"), "next_attempt_at": next.UTC(), "last_error": lastErr,
		}).Error
	}
	return true, tx.removeQueued(msgID)
}

// MarkDelayNotified records that a delay DSN was sent.
func (tx *Tx) MarkDelayNotified(msgID int64) error {
	return tx.db.Model(&QueueMessage{}).Where("id = ?", msgID).Update("delay_notified", true).Error
}

func (tx *Tx) removeQueued(msgID int64) error {
	var m QueueMessage
	if err := tx.db.Where("id = ?", msgID).Take(&m).Error; err != nil {
		return notFound(err, "queue message")
	}
	if err := tx.db.Where("queue_message_id = ?", msgID).Delete(&QueueRecipient{}).Error; err != nil {
		return err
	}
	if err := tx.db.Delete(&QueueMessage{}, msgID).Error; err != nil {
		return err
	}
	return tx.unrefBlob(m.BlobHash, 1)
}

// DeleteQueued removes a message from the queue (admin action).
func (s *Store) DeleteQueued(ctx context.Context, id int64) error {
	return s.Write(ctx, func(tx *Tx) error { return tx.removeQueued(id) })
}

// RetryQueued makes a queued message due now.
func (s *Store) RetryQueued(ctx context.Context, id int64) error {
	err := s.Write(ctx, func(tx *Tx) error {
		res := tx.db.Model(&QueueMessage{}).Where("id = ?", id).Update("next_attempt_at", time.Now().UTC())
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("storage: queue message %d: %w", id, ErrNotFound)
		}
		return nil
	})
	if err == nil {
		s.signalQueue()
	}
	return err
}

// LogDelivery records delivery outcomes for the message trace.
func (tx *Tx) LogDelivery(entries ...DeliveryLog) error {
	if len(entries) == 0 {
		return nil
	}
	for i := range entries {
		if entries[i].At.IsZero() {
			entries[i].At = time.Now().UTC()
		}
	}
	return tx.db.CreateInBatches(entries, 200).Error
}

// TraceQuery selects delivery log entries; empty fields match anything.
type TraceQuery struct {
	MessageID, Sender, Recipient string
	Since, Until                 time.Time
	Limit                        int
}

// Trace finds delivery log entries, newest first.
func (s *Store) Trace(ctx context.Context, q TraceQuery) ([]DeliveryLog, error) {
	db := s.readDB(ctx).Model(&DeliveryLog{})
	if q.MessageID != "" {
		db = db.Where("message_id = ?", q.MessageID)
	}
	if q.Sender != "" {
		db = db.Where("lower(sender) = lower(?)", q.Sender)
	}
	if q.Recipient != "" {
		db = db.Where("lower(recipient) = lower(?)", q.Recipient)
	}
	if !q.Since.IsZero() {
		db = db.Where("at >= ?", q.Since.UTC())
	}
	if !q.Until.IsZero() {
		db = db.Where("at <= ?", q.Until.UTC())
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	var out []DeliveryLog
	if err := db.Order("at DESC, id DESC").Limit(q.Limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("storage: trace: %w", classify(err))
	}
	return out, nil
}
