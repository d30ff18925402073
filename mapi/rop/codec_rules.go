package rop

import "github.com/pochta/pochta/internal/mapiprop"

// Permission ROPs (MS-OXCROPS 2.2.10; MS-OXCPERM) and rule ROPs
// (MS-OXCROPS 2.2.11; MS-OXORULE).

// Row data flags of RopModifyPermissions (MS-OXCPERM 2.2.2) and
// RopModifyRules (MS-OXORULE 2.2.1.3.1).
const (
	RowAdd    uint8 = 0x01
	RowModify uint8 = 0x02
	RowRemove uint8 = 0x04
)

// ModifyPermissions flags (MS-OXCPERM 2.2.2).
const (
	ModifyPermissionsReplaceRows     uint8 = 0x01
	ModifyPermissionsIncludeFreeBusy uint8 = 0x02
)

// ModifyRules flags (MS-OXORULE 2.2.1).
const ModifyRulesReplace uint8 = 0x01

// RowData is one PermissionData or RuleData entry: flags plus property
// values (MS-OXCPERM 2.2.2, MS-OXORULE 2.2.1.3.1).
type RowData struct {
	Flags      uint8
	Properties []mapiprop.Value
}

func putRowData(w *mapiprop.Writer, rows []RowData) {
	w.U16Len(len(rows), "row count")
	for _, row := range rows {
		w.U8(row.Flags)
		w.TaggedValues(row.Properties)
	}
}

func getRowData(r *mapiprop.Reader) []RowData {
	n := int(r.U16())
	if n*3 > r.Len() {
		r.Failf("%d data rows in %d bytes", n, r.Len())
		return nil
	}
	rows := make([]RowData, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		rows = append(rows, RowData{Flags: r.U8(), Properties: r.TaggedValues()})
	}
	return rows
}

// ModifyPermissionsRequest (MS-OXCROPS 2.2.10.1.1).
type ModifyPermissionsRequest struct {
	RequestHeader
	ModifyFlags     uint8
	PermissionsData []RowData
}

func (*ModifyPermissionsRequest) RopID() RopID { return RopModifyPermissions }
func (x *ModifyPermissionsRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.ModifyFlags)
	putRowData(w, x.PermissionsData)
}
func (x *ModifyPermissionsRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.ModifyFlags = r.U8()
	x.PermissionsData = getRowData(r)
}

// ModifyPermissionsResponse (MS-OXCROPS 2.2.10.1.2).
type ModifyPermissionsResponse struct{ ResponseHeader }

func (*ModifyPermissionsResponse) RopID() RopID { return RopModifyPermissions }

// GetPermissionsTable flags (MS-OXCPERM 2.2.1).
const (
	PermissionsTableIncludeFreeBusy uint8 = 0x02
)

// GetPermissionsTableRequest (MS-OXCROPS 2.2.10.2.1).
type GetPermissionsTableRequest struct {
	RequestHeader
	OutputHandleIndex uint8
	TableFlags        uint8
}

func (*GetPermissionsTableRequest) RopID() RopID                 { return RopGetPermissionsTable }
func (x *GetPermissionsTableRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *GetPermissionsTableRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
	w.U8(x.TableFlags)
}
func (x *GetPermissionsTableRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
	x.TableFlags = r.U8()
}

// GetPermissionsTableResponse (MS-OXCROPS 2.2.10.2.2).
type GetPermissionsTableResponse struct{ ResponseHeader }

func (*GetPermissionsTableResponse) RopID() RopID { return RopGetPermissionsTable }

// ModifyRulesRequest (MS-OXCROPS 2.2.11.1.1).
type ModifyRulesRequest struct {
	RequestHeader
	ModifyRulesFlag uint8
	RulesData       []RowData
}

func (*ModifyRulesRequest) RopID() RopID { return RopModifyRules }
func (x *ModifyRulesRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.ModifyRulesFlag)
	putRowData(w, x.RulesData)
}
func (x *ModifyRulesRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.ModifyRulesFlag = r.U8()
	x.RulesData = getRowData(r)
}

// ModifyRulesResponse (MS-OXCROPS 2.2.11.1.2).
type ModifyRulesResponse struct{ ResponseHeader }

func (*ModifyRulesResponse) RopID() RopID { return RopModifyRules }

// GetRulesTable flags (MS-OXORULE 2.2.2.1).
const RulesTableUnicode uint8 = 0x40

// GetRulesTableRequest (MS-OXCROPS 2.2.11.2.1).
type GetRulesTableRequest struct {
	RequestHeader
	OutputHandleIndex uint8
	TableFlags        uint8
}

func (*GetRulesTableRequest) RopID() RopID                 { return RopGetRulesTable }
func (x *GetRulesTableRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *GetRulesTableRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
	w.U8(x.TableFlags)
}
func (x *GetRulesTableRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
	x.TableFlags = r.U8()
}

// GetRulesTableResponse (MS-OXCROPS 2.2.11.2.2).
type GetRulesTableResponse struct{ ResponseHeader }

func (*GetRulesTableResponse) RopID() RopID { return RopGetRulesTable }

// UpdateDeferredActionMessagesRequest (MS-OXCROPS 2.2.11.3.1).
type UpdateDeferredActionMessagesRequest struct {
	RequestHeader
	ServerEntryID []byte
	ClientEntryID []byte
}

func (*UpdateDeferredActionMessagesRequest) RopID() RopID { return RopUpdateDeferredActionMessages }
func (x *UpdateDeferredActionMessagesRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	putSized(w, x.ServerEntryID, "server entry ID")
	putSized(w, x.ClientEntryID, "client entry ID")
}
func (x *UpdateDeferredActionMessagesRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.ServerEntryID = getSized(r)
	x.ClientEntryID = getSized(r)
}

// UpdateDeferredActionMessagesResponse (MS-OXCROPS 2.2.11.3.2).
type UpdateDeferredActionMessagesResponse struct{ ResponseHeader }

func (*UpdateDeferredActionMessagesResponse) RopID() RopID { return RopUpdateDeferredActionMessages }
