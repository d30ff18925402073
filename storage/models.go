package storage

import "time"

// The gorm models below are the store's schema. Migrations in migrate.go create
// them; the structs are also what queries scan into. Frontends never see them
// through *gorm.DB: they get copies from the Store's methods.

// Mailbox is the store's side of an account: the account id is owned by the
// directory, the rest (counters, quota) by the store.
type Mailbox struct {
	AccountID int64 `gorm:"primaryKey;autoIncrement:false"`
	// GUID identifies the mailbox to MAPI clients (RopLogon MailboxGuid).
	GUID string `gorm:"size:36;not null"`
	// ReplicaGUID is the store's replica GUID (REPLGUID) used in long-term ids.
	ReplicaGUID string `gorm:"size:36;not null"`
	// ChangeNum is the last change number handed out. Every change to a folder
	// or message takes the next one: IMAP MODSEQ and MAPI change number.
	ChangeNum int64 `gorm:"not null;default:0"`
	// GlobCnt is the last 48-bit global counter handed out for MAPI ids.
	GlobCnt    int64 `gorm:"not null;default:0"`
	QuotaBytes int64 `gorm:"not null;default:0"` // 0 = unlimited
	UsedBytes  int64 `gorm:"not null;default:0"`
	CreatedAt  time.Time
}

// Folder roles. Mail roles map to IMAP special-use attributes (RFC 6154).
const (
	RoleRoot           = "root"
	RoleDeferredAction = "deferred-action"
	RoleSpoolerQueue   = "spooler-queue"
	RoleShortcuts      = "shortcuts"
	RoleFinder         = "finder"
	RoleViews          = "views"
	RoleCommonViews    = "common-views"
	RoleSchedule       = "schedule"
	RoleIPMSubtree     = "ipm-subtree"
	RoleInbox          = "inbox"
	RoleOutbox         = "outbox"
	RoleSent           = "sent"
	RoleDeleted        = "trash"
	RoleDrafts         = "drafts"
	RoleJunk           = "junk"
	RoleCalendar       = "calendar"
	RoleContacts       = "contacts"
	RoleTasks          = "tasks"
	RoleNotes          = "notes"
	RoleJournal        = "journal"
	RoleSyncIssues     = "sync-issues"
	RoleConflicts      = "conflicts"
	RoleLocalFailures  = "local-failures"
	RoleServerFailures = "server-failures"
)

// Folder belongs to one account. ParentID 0 means "no parent" (the root).
type Folder struct {
	ID        int64  `gorm:"primaryKey"`
	AccountID int64  `gorm:"not null;uniqueIndex:folder_name,priority:1;index"`
	ParentID  int64  `gorm:"not null;uniqueIndex:folder_name,priority:2"`
	Name      string `gorm:"not null;uniqueIndex:folder_name,priority:3"`
	Role      string `gorm:"not null;default:''"`
	// ContainerClass is PidTagContainerClass: IPF.Note, IPF.Appointment, …
	ContainerClass string `gorm:"not null;default:''"`
	// GlobCnt is the folder's MAPI id counter (the FID is replica 1 + GlobCnt).
	GlobCnt     int64  `gorm:"not null;uniqueIndex:folder_globcnt,priority:2"`
	GlobAccount int64  `gorm:"not null;uniqueIndex:folder_globcnt,priority:1"`
	UIDValidity uint32 `gorm:"not null"`
	UIDNext     uint32 `gorm:"not null;default:1"`
	// HighestModSeq is the highest change number of anything in the folder,
	// expunges included (RFC 7162 needs it to move on expunge).
	HighestModSeq int64 `gorm:"not null;default:0"`
	ChangeNum     int64 `gorm:"not null;default:0"`
	Subscribed    bool  `gorm:"not null;default:true"`
	// Hidden marks non-IPM system folders clients should not show.
	Hidden    bool `gorm:"not null;default:false"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Message flags, as a bit set so SEARCH and counts run in SQL.
type Flags uint32

const (
	FlagSeen Flags = 1 << iota
	FlagAnswered
	FlagFlagged
	FlagDeleted
	FlagDraft
	// FlagForwarded is $Forwarded in IMAP and the MAPI icon state.
	FlagForwarded
	// FlagAssociated marks MAPI folder-associated (FAI) messages; IMAP never lists them.
	FlagAssociated
)

// Message is one message in one folder. Copies share their blob.
type Message struct {
	ID        int64  `gorm:"primaryKey"`
	AccountID int64  `gorm:"not null;index"`
	FolderID  int64  `gorm:"not null;uniqueIndex:message_uid,priority:1;index:message_date,priority:1"`
	UID       uint32 `gorm:"column:uid;not null;uniqueIndex:message_uid,priority:2"`
	// GlobCnt is the MAPI message id counter (MID = replica 1 + GlobCnt); it
	// stays the same for the message's life in the folder.
	GlobCnt int64 `gorm:"not null;index"`
	// ChangeNum is the IMAP MODSEQ and the MAPI change number.
	ChangeNum    int64     `gorm:"not null;index"`
	Flags        Flags     `gorm:"not null;default:0"`
	Keywords     string    `gorm:"not null;default:''"` // space-separated IMAP keywords
	InternalDate time.Time `gorm:"not null"`
	Size         int64     `gorm:"not null"`
	BlobHash     string    `gorm:"size:64;not null"`
	// Parsed is the serialised MIME part tree (internal/message) so fetches never re-parse.
	Parsed []byte
	// Promoted columns that lists sort and search on.
	MessageClass    string    `gorm:"not null;default:'IPM.Note'"`
	Subject         string    `gorm:"not null;default:''"`
	FromName        string    `gorm:"not null;default:''"`
	FromAddr        string    `gorm:"not null;default:''"`
	ToDisplay       string    `gorm:"not null;default:''"`
	CcDisplay       string    `gorm:"not null;default:''"`
	SentAt          time.Time // indexed with FolderID (migration 2)
	ReceivedAt      time.Time `gorm:"not null;index:message_date,priority:2"`
	HasAttachments  bool      `gorm:"not null;default:false"`
	Importance      int       `gorm:"not null;default:1"`
	MessageIDHeader string    `gorm:"column:message_id_header;not null;default:'';index"`
	Preview         string    `gorm:"not null;default:''"`
	// MIMEFromChange is the change number the stored MIME was rendered from,
	// for messages whose truth is their MAPI properties; 0 = MIME is the truth.
	MIMEFromChange int64 `gorm:"column:mime_from_change;not null;default:0"`
}

// Tombstone remembers an expunged message so IMAP QRESYNC and MAPI ICS can
// tell clients what went away since a given change number.
type Tombstone struct {
	ID        int64  `gorm:"primaryKey"`
	AccountID int64  `gorm:"not null"`
	FolderID  int64  `gorm:"not null;index:tombstone_folder,priority:1"`
	UID       uint32 `gorm:"column:uid;not null"`
	GlobCnt   int64  `gorm:"not null"`
	ChangeNum int64  `gorm:"not null;index:tombstone_folder,priority:2"`
}

// Blob is raw message bytes, content-addressed by SHA-256 and stored once.
// Refs counts the messages and queue entries that name it.
type Blob struct {
	Hash string `gorm:"primaryKey;size:64"`
	Size int64  `gorm:"not null"`
	Refs int64  `gorm:"not null;default:0"`
}

// BlobChunk holds the bytes in fixed-size pieces so a 50 MB message can be
// streamed and read at an offset without loading it whole.
type BlobChunk struct {
	Hash string `gorm:"primaryKey;size:64"`
	Seq  int    `gorm:"primaryKey;autoIncrement:false"`
	Data []byte `gorm:"not null"`
}

// Object kinds for property rows.
const (
	ObjectStore      = 1
	ObjectFolder     = 2
	ObjectMessage    = 3
	ObjectAttachment = 4
	ObjectRecipient  = 5
)

// Property is an opaque MAPI property value that is not derived from MIME.
// The store does not interpret Value; internal/mapiprop does.
type Property struct {
	AccountID  int64  `gorm:"not null;index"`
	ObjectKind int    `gorm:"primaryKey;autoIncrement:false"`
	ObjectID   int64  `gorm:"primaryKey;autoIncrement:false"`
	Tag        uint32 `gorm:"primaryKey;autoIncrement:false"`
	Value      []byte
}

// NamedProp maps a (GUID, LID or name) to a per-store property id ≥ 0x8000
// that never changes once given.
type NamedProp struct {
	AccountID int64  `gorm:"primaryKey;autoIncrement:false;uniqueIndex:named_prop_key,priority:1"`
	PropID    uint16 `gorm:"primaryKey;autoIncrement:false"`
	GUID      string `gorm:"size:36;not null;uniqueIndex:named_prop_key,priority:2"`
	Kind      int    `gorm:"not null;uniqueIndex:named_prop_key,priority:3"` // 0 = LID, 1 = name
	LID       uint32 `gorm:"column:lid;not null;uniqueIndex:named_prop_key,priority:4"`
	Name      string `gorm:"not null;uniqueIndex:named_prop_key,priority:5"`
}

// Queue states of a recipient.
const (
	RcptPending   = "pending"
	RcptDelivered = "delivered"
	RcptFailed    = "failed"
	RcptExpired   = "expired"
)

// QueueMessage is one outbound message with its envelope.
type QueueMessage struct {
	ID            int64            `gorm:"primaryKey"`
	Sender        string           `gorm:"not null"` // "" = null sender (bounces)
	AccountID     int64            `gorm:"not null;default:0"`
	BlobHash      string           `gorm:"size:64;not null"`
	Size          int64            `gorm:"not null"`
	EnvID         string           `gorm:"not null;default:''"`
	Ret           string           `gorm:"not null;default:''"` // RFC 3461 RET: FULL or HDRS
	MessageID     string           `gorm:"not null;default:''"`
	Attempts      int              `gorm:"not null;default:0"`
	NextAttemptAt time.Time        `gorm:"not null;index"`
	ExpiresAt     time.Time        `gorm:"not null"`
	LastError     string           `gorm:"not null;default:''"`
	DelayNotified bool             `gorm:"not null;default:false"`
	CreatedAt     time.Time        `gorm:"not null"`
	Recipients    []QueueRecipient `gorm:"foreignKey:QueueMessageID;constraint:OnDelete:CASCADE"`
}

// QueueRecipient is one recipient of a queued message with its own state.
type QueueRecipient struct {
	ID             int64  `gorm:"primaryKey"`
	QueueMessageID int64  `gorm:"not null;index"`
	Address        string `gorm:"not null"`
	ORcpt          string `gorm:"column:orcpt;not null;default:''"`
	Notify         string `gorm:"not null;default:''"` // RFC 3461 NOTIFY, comma-separated
	State          string `gorm:"not null;default:'pending'"`
	LastError      string `gorm:"not null;default:''"`
	LastCode       int    `gorm:"not null;default:0"`
	UpdatedAt      time.Time
}

// DeliveryLog records every delivery outcome for the message trace.
type DeliveryLog struct {
	ID        int64     `gorm:"primaryKey"`
	At        time.Time `gorm:"not null;index"`
	MessageID string    `gorm:"not null;default:'';index"`
	Sender    string    `gorm:"not null;default:'';index"`
	Recipient string    `gorm:"not null;default:'';index"`
	Outcome   string    `gorm:"not null"` // delivered, queued, relayed, bounced, deferred, failed
	Detail    string    `gorm:"not null;default:''"`
	AccountID int64     `gorm:"not null;default:0"`
}
