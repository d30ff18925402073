package mapiprop

import "fmt"

// ErrorCode is a MAPI/Exchange status code (MS-OXCDATA 2.4). It is the
// value type of PtypErrorCode properties and of ROP ReturnValue fields, and
// it implements error so handlers can return it directly.
type ErrorCode uint32

// Error codes used by the store and the ROP layer (MS-OXCDATA 2.4).
const (
	Success              ErrorCode = 0x00000000
	ErrUnbindSuccess     ErrorCode = 0x00000001 // NSPI Unbind result
	ErrUnknownUser       ErrorCode = 0x000003EB
	ErrUnknownCodePage   ErrorCode = 0x000003EF
	ErrServerOOM         ErrorCode = 0x000003F0
	ErrLoginPerm         ErrorCode = 0x000003F2
	ErrWrongServer       ErrorCode = 0x00000478
	ErrBufferTooSmall    ErrorCode = 0x0000047D
	ErrRPCFormat         ErrorCode = 0x000004B6
	ErrNullObject        ErrorCode = 0x000004B9
	ErrQuotaExceeded     ErrorCode = 0x000004D9
	ErrDstNullObject     ErrorCode = 0x00000503
	ErrTooManyRecips     ErrorCode = 0x00000505
	ErrMailboxInTransit  ErrorCode = 0x0000050C
	ErrMailboxDisabled   ErrorCode = 0x0000096C
	ErrWarnWithErrors    ErrorCode = 0x00040380
	ErrCallFailed        ErrorCode = 0x80004005 // ecError, MAPI_E_CALL_FAILED
	ErrNotSupported      ErrorCode = 0x80040102 // ecNotSupported, MAPI_E_NO_SUPPORT
	ErrBadCharWidth      ErrorCode = 0x80040103
	ErrStringTooLong     ErrorCode = 0x80040105
	ErrUnknownFlags      ErrorCode = 0x80040106
	ErrInvalidEntryID    ErrorCode = 0x80040107
	ErrInvalidObject     ErrorCode = 0x80040108
	ErrObjectModified    ErrorCode = 0x80040109
	ErrObjectDeleted     ErrorCode = 0x8004010A
	ErrBusy              ErrorCode = 0x8004010B
	ErrNotEnoughDisk     ErrorCode = 0x8004010D
	ErrInsufficientResrc ErrorCode = 0x8004010E
	ErrNotFound          ErrorCode = 0x8004010F
	ErrVersionMismatch   ErrorCode = 0x80040110
	ErrLoginFailure      ErrorCode = 0x80040111
	ErrTooManySessions   ErrorCode = 0x80040112
	ErrUserCancel        ErrorCode = 0x80040113
	ErrUnableToAbort     ErrorCode = 0x80040114
	ErrNetworkError      ErrorCode = 0x80040115
	ErrDiskError         ErrorCode = 0x80040116
	ErrTooComplex        ErrorCode = 0x80040117
	ErrBadColumn         ErrorCode = 0x80040118
	ErrComputed          ErrorCode = 0x8004011A
	ErrCorruptData       ErrorCode = 0x8004011B
	ErrUnknownCPID       ErrorCode = 0x8004011E
	ErrUnknownLCID       ErrorCode = 0x8004011F
	ErrNotInQueue        ErrorCode = 0x80040601
	ErrNotInitialized    ErrorCode = 0x80040605
	ErrTooBig            ErrorCode = 0x80040305
	ErrTableEmpty        ErrorCode = 0x80040402
	ErrTableTooBig       ErrorCode = 0x80040403
	ErrInvalidBookmark   ErrorCode = 0x80040405
	ErrNotMe             ErrorCode = 0x80040502
	ErrCollision         ErrorCode = 0x80040604 // duplicate name
	ErrDuplicateName     ErrorCode = 0x80040604
	ErrNoRecipients      ErrorCode = 0x80040607
	ErrSubmitted         ErrorCode = 0x80040608
	ErrHasFolders        ErrorCode = 0x80040609
	ErrHasMessages       ErrorCode = 0x8004060A
	ErrFolderCycle       ErrorCode = 0x8004060B
	ErrAmbiguousRecip    ErrorCode = 0x80040700
	ErrNotImplemented    ErrorCode = 0x80040FFF
	ErrAccessDenied      ErrorCode = 0x80070005
	ErrMAPIOOM           ErrorCode = 0x8007000E // MAPI_E_NOT_ENOUGH_MEMORY: value too big, use a stream
	ErrInvalidParam      ErrorCode = 0x80070057
)

var errorNames = map[ErrorCode]string{
	Success: "ecSuccess", ErrUnknownUser: "ecUnknownUser", ErrUnknownCodePage: "ecUnknownCodePage",
	ErrServerOOM: "ecServerOOM", ErrLoginPerm: "ecLoginPerm", ErrWrongServer: "ecWrongServer",
	ErrBufferTooSmall: "ecBufferTooSmall", ErrRPCFormat: "ecRpcFormat", ErrNullObject: "ecNullObject",
	ErrQuotaExceeded: "ecQuotaExceeded", ErrDstNullObject: "ecDstNullObject",
	ErrTooManyRecips: "ecTooManyRecips", ErrWarnWithErrors: "ecWarnWithErrors",
	ErrCallFailed: "ecError", ErrNotSupported: "ecNotSupported", ErrInvalidObject: "ecInvalidObject",
	ErrObjectModified: "ecObjectModified", ErrObjectDeleted: "ecObjectDeleted",
	ErrInsufficientResrc: "ecInsufficientResrc", ErrNotFound: "ecNotFound",
	ErrLoginFailure: "ecLoginFailure", ErrUnableToAbort: "ecUnableToAbort",
	ErrNetworkError: "ecRpcFailed", ErrCorruptData: "ecCorruptData", ErrUnknownCPID: "MAPI_E_UNKNOWN_CPID",
	ErrTooBig: "ecTooBig", ErrTableTooBig: "ecTableTooBig", ErrInvalidBookmark: "ecInvalidBookmark",
	ErrDuplicateName: "ecDuplicateName", ErrNotInitialized: "ecNotInitialized",
	ErrNoRecipients: "MAPI_E_NO_RECIPIENTS", ErrNotImplemented: "ecNotImplemented",
	ErrAccessDenied: "ecAccessDenied", ErrMAPIOOM: "ecMAPIOOM", ErrInvalidParam: "ecInvalidParam",
}

func (e ErrorCode) Error() string {
	if n, ok := errorNames[e]; ok {
		return fmt.Sprintf("%s (0x%08X)", n, uint32(e))
	}
	return fmt.Sprintf("MAPI error 0x%08X", uint32(e))
}
