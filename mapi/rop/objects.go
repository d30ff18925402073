package rop

import (
	"context"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
)

// Server objects other than tables, messages, attachments and streams
// (which live beside their ROPs), and the property interface the property
// ROPs use on all of them.

// Tags not in mapiprop that the handlers use (MS-OXPROPS).
const (
	pidTagRead mp.Tag = 0x0E69000B
)

// Error codes not in mapiprop (MS-OXCDATA 2.4.1).
const (
	errNotExpanded  mp.ErrorCode = 0x000004F7 // ecNotExpanded
	errNotCollapsed mp.ErrorCode = 0x000004F8 // ecNotCollapsed
)

// logonObj is a logon: the private mailbox (MS-OXCSTOR).
type logonObj struct {
	id        uint8
	flags     uint8
	openFlags uint32
	closed    bool
}

// subscriptionObj is a notification subscription (MS-OXCNOTIF); the
// session follows the store's change feed while one is open (notify.go).
type subscriptionObj struct {
	types     uint8
	wholeStre bool
	folderID  mp.ID
	messageID mp.ID
}

// propObject is an object the property ROPs read and write: the store
// (logon), a folder, a message or an attachment.
type propObject interface {
	// getProps returns every property of the object; full asks for the
	// expensive ones too (a synthesised RTF body).
	getProps(ctx context.Context, s *Session, full bool) (oxcmail.Props, error)
	// setProps sets values and reports those refused.
	setProps(ctx context.Context, s *Session, vals []mp.Value) ([]mp.PropertyProblem, error)
	// deleteProps removes properties and reports those refused.
	deleteProps(ctx context.Context, s *Session, tags []mp.Tag) ([]mp.PropertyProblem, error)
}

// propObjectOf returns the property interface of an object.
func propObjectOf(e *handleEntry) (propObject, bool) {
	switch o := e.obj.(type) {
	case *logonObj:
		return o, true
	case *folderObj:
		return o, true
	case *messageObj:
		return o, true
	case *attachObj:
		return o, true
	}
	return nil, false
}

// ropRegisterNotification accepts a subscription (MS-OXCNOTIF 3.2.5.1).
func (s *Session) ropRegisterNotification(ctx context.Context, x *RegisterNotificationRequest, in *handleEntry, st *execState) (Response, error) {
	switch in.obj.(type) {
	case *logonObj, *folderObj:
	default:
		return nil, mp.ErrNotSupported
	}
	sub := &subscriptionObj{types: x.NotificationTypes, wholeStre: x.WantWholeStore, folderID: x.FolderID, messageID: x.MessageID}
	if err := s.open(st, x.OutputHandleIndex, in, sub); err != nil {
		return nil, err
	}
	return newResp[*RegisterNotificationResponse](x), nil
}
