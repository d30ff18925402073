package nspi

import (
	"context"
	"encoding/binary"
	"unicode/utf16"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/mapiprop"
)

// bind starts a session (MS-OXNSPI 3.1.4.1.1): no anonymous binds, no
// CP_WINUNICODE (NSPI strings are 8-bit or UTF-16 by type, never a code
// page of 1200). Any other code page is accepted: 8-bit strings in one
// this server cannot convert fall back to Windows-1252.
func (s *Server) bind(_ context.Context, acc *directory.Account, q *BindRequest) (*BindResponse, *Session) {
	switch {
	case q.Flags&FlagAnonymousLogin != 0:
		return &BindResponse{Result: Result{ErrorCode: mapiprop.ErrNotSupported}}, nil
	case q.State != nil && q.State.CodePage == CodePageWinUnicode:
		return &BindResponse{Result: Result{ErrorCode: mapiprop.ErrNotSupported}}, nil
	}
	sess := &Session{srv: s, accountID: acc.ID}
	return &BindResponse{ServerGUID: s.opts.ServerGUID}, sess
}

// getSpecialTable returns the address book hierarchy (MS-OXNSPI 3.1.4.1.3):
// the GAL and, when the directory has groups, the groups container. The
// address creation table is empty: entries are created elsewhere.
func (s *Server) getSpecialTable(ctx context.Context, q *GetSpecialTableRequest) *GetSpecialTableResponse {
	codePage := mapiprop.CodePageWindows1252
	if q.State != nil {
		codePage = q.State.CodePage
	}
	unicode := q.Flags&FlagUnicodeStrings != 0
	resp := &GetSpecialTableResponse{CodePage: codePage}
	if !unicode && codePage == CodePageWinUnicode {
		resp.ErrorCode = mapiprop.ErrNotSupported
		return resp
	}
	var version uint32
	if q.Version != nil {
		version = *q.Version
	}
	version++
	resp.Version = &version
	if q.Flags&FlagCreationTemplates != 0 {
		return resp
	}
	c, err := s.gal.census(ctx)
	if err != nil {
		resp.Version = nil
		resp.ErrorCode = s.errorCode("GetSpecialTable", err)
		return resp
	}
	resp.Rows = [][]mapiprop.Value{s.containerRow(0, unicode)}
	if len(c.groups) > 0 {
		resp.Rows = append(resp.Rows, s.containerRow(groupsContainerMId, unicode))
	}
	return resp
}

// Display template controls and flags (MS-OXOABKT 2.2.2).
const (
	dtctLabel = 0x00000000
	dtctEdit  = 0x00000001
	dtctPage  = 0x00000008
)

// templateControl is one row of a display template.
type templateControl struct {
	x, width, y, height uint32
	kind, flags         uint32
	tag                 mapiprop.Tag
	maxLen              uint32
	text                string
}

// getTemplateInfo returns a minimal display template (MS-OXNSPI 3.1.4.1.11,
// MS-OXOABKT): one "General" page of fields for people or groups, none
// with DT_EDITABLE since the directory is not edited here. Scripts are not
// offered.
func (s *Server) getTemplateInfo(q *GetTemplateInfoRequest) *GetTemplateInfoResponse {
	resp := &GetTemplateInfoResponse{CodePage: q.CodePage}
	if q.Flags&(FlagTemplate|FlagScript) != FlagTemplate {
		resp.ErrorCode = mapiprop.ErrNotSupported
		return resp
	}
	var fields []struct {
		label string
		tag   mapiprop.Tag
	}
	add := func(label string, tag mapiprop.Tag) {
		fields = append(fields, struct {
			label string
			tag   mapiprop.Tag
		}{label, tag})
	}
	add("Display name:", mapiprop.PidTagDisplayName)
	add("E-mail:", mapiprop.PidTagSmtpAddress)
	switch q.DisplayType {
	case mapiprop.DisplayTypeMailUser, mapiprop.DisplayTypeRemoteMailUser:
		add("Title:", mapiprop.PidTagTitle)
		add("Department:", mapiprop.PidTagDepartmentName)
		add("Office:", mapiprop.PidTagOfficeLocation)
		add("Company:", mapiprop.PidTagCompanyName)
		add("Phone:", mapiprop.PidTagBusinessTelephoneNumber)
	case mapiprop.DisplayTypeDistList:
	default:
		resp.ErrorCode = mapiprop.ErrUnknownLCID // no template of that type, as gromox answers
		return resp
	}
	unicode := q.CodePage == CodePageWinUnicode
	controls := []templateControl{{x: 0, width: 300, y: 0, height: 200, kind: dtctPage, text: "General"}}
	for i, f := range fields {
		y := uint32(10 + 22*i)
		tag := f.tag.WithType(stringType(unicode))
		controls = append(controls,
			templateControl{x: 8, width: 90, y: y, height: 12, kind: dtctLabel, text: f.label},
			templateControl{x: 100, width: 190, y: y, height: 12, kind: dtctEdit, tag: tag, maxLen: 256, text: "*"})
	}
	resp.Row = []mapiprop.Value{mapiprop.BinaryValue(tagTemplateData, encodeTemplate(controls, q.CodePage))}
	return resp
}

// encodeTemplate writes MS-OXOABKT 2.2 template data: Version 1, the
// control count, 36-byte control records and then the strings they point
// to (UTF-16 for CP_WINUNICODE, 8-bit in the code page otherwise).
func encodeTemplate(controls []templateControl, codePage uint32) []byte {
	head := make([]byte, 0, 8+36*len(controls))
	head = binary.LittleEndian.AppendUint32(head, 1)
	head = binary.LittleEndian.AppendUint32(head, uint32(len(controls)))
	var strs []byte
	base := uint32(8 + 36*len(controls))
	for _, c := range controls {
		for _, v := range []uint32{c.x, c.width, c.y, c.height, c.kind, c.flags, uint32(c.tag), c.maxLen} {
			head = binary.LittleEndian.AppendUint32(head, v)
		}
		head = binary.LittleEndian.AppendUint32(head, base+uint32(len(strs)))
		if codePage == CodePageWinUnicode {
			for _, u := range utf16.Encode([]rune(c.text)) {
				strs = binary.LittleEndian.AppendUint16(strs, u)
			}
			strs = append(strs, 0, 0)
		} else {
			strs = append(strs, encodeString8(c.text, codePage)...)
			strs = append(strs, 0)
		}
	}
	return append(head, strs...)
}

// getMailboxURL answers GetMailboxUrl (MS-OXCMAPIHTTP 2.2.5.18): the
// account's EMSMDB endpoint, as Autodiscover names it.
func (s *Server) getMailboxURL(ctx context.Context, acc *directory.Account) *GetMailboxURLResponse {
	resp := &GetMailboxURLResponse{}
	u, err := s.endpointURL(ctx, acc, s.opts.MailboxURL, "/mapi/emsmdb/")
	if err != nil {
		resp.ErrorCode = s.errorCode("GetMailboxUrl", err)
		return resp
	}
	resp.ServerURL = u
	return resp
}

// getAddressBookURL answers GetAddressBookUrl (MS-OXCMAPIHTTP 2.2.5.19).
func (s *Server) getAddressBookURL(ctx context.Context, acc *directory.Account) *GetAddressBookURLResponse {
	resp := &GetAddressBookURLResponse{}
	u, err := s.endpointURL(ctx, acc, s.opts.AddressBookURL, "/mapi/nspi/")
	if err != nil {
		resp.ErrorCode = s.errorCode("GetAddressBookUrl", err)
		return resp
	}
	resp.ServerURL = u
	return resp
}

func (s *Server) endpointURL(ctx context.Context, acc *directory.Account, build func(context.Context, *directory.Account) (string, error), path string) (string, error) {
	if build != nil {
		return build(ctx, acc)
	}
	base := s.baseURL(ctx)
	if base == "" {
		return "", mapiprop.ErrNotFound
	}
	return base + path, nil
}

// queryColumns lists the columns rows can have (MS-OXNSPI 3.1.4.1.5).
func (s *Server) queryColumns(q *QueryColumnsRequest) *QueryColumnsResponse {
	return &QueryColumnsResponse{Columns: withStringType(queryColumnTags, q.MapiFlags&FlagUnicodeProptypes != 0)}
}
