package nspi

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/mapiprop"
)

// Address book tags mapiprop does not name (MS-OXPROPS, MS-OXOABK).
const (
	tagOriginalEntryID   mapiprop.Tag = 0x3A120102 // PidTagOriginalEntryId
	tagAddressBookMember mapiprop.Tag = 0x8009000D // PidTagAddressBookMember
	tagTemplateData      mapiprop.Tag = 0x00010102 // PidTagTemplateData
)

// PidTagContainerFlags bits (MS-OXOABK 2.2.2.1).
const (
	abRecipients   int32 = 0x00000001
	abUnmodifiable int32 = 0x00000008
)

// displayTypeACLCapable is DTE_FLAG_ACL_CAPABLE of PidTagDisplayTypeEx
// (MS-OXOABK 2.2.3.11): the object can be granted permissions.
const displayTypeACLCapable uint32 = 0x40000000

// propCtx is how a request wants its values: the code page of PtypString8
// and whether entry IDs are ephemeral (fEphID).
type propCtx struct {
	codePage  uint32
	ephemeral bool
	container uint32
}

// subject is an entry whose properties a row shows.
type subject struct {
	entry directory.Entry
	mid   uint32
}

func displayType(e directory.Entry) uint32 {
	if e.IsGroup {
		return mapiprop.DisplayTypeDistList
	}
	return mapiprop.DisplayTypeMailUser
}

func objectType(e directory.Entry) int32 {
	if e.IsGroup {
		return mapiprop.ObjectTypeDistList
	}
	return mapiprop.ObjectTypeMailUser
}

// entryDN is the ESSDN of an entry: the account's LegacyDN for people with
// an account here; for groups and directory people who never logged in, a
// DN under the same recipients container naming the address in hex, so
// DNToMId finds it again in any later run (MS-OXNSPI 2.2.9.3 leaves the
// DN's form to the server).
func (s *Server) entryDN(e directory.Entry) string {
	if e.AccountID != 0 && !e.IsGroup {
		return s.opts.LegacyDN(&directory.Account{ID: e.AccountID, Address: e.Address})
	}
	return s.dnPrefix + addressDNPrefix + hex.EncodeToString([]byte(strings.ToLower(e.Address)))
}

// addressDNPrefix starts the last component of an address-named DN. Its
// "smtp" is not hexadecimal, so ParseLegacyDN never takes it for an
// account id.
const addressDNPrefix = "smtp-"

// addressFromDN returns the address named by a DN made by entryDN for an
// entry without an account.
func (s *Server) addressFromDN(dn string) (string, bool) {
	p := s.dnPrefix + addressDNPrefix
	if len(dn) <= len(p) || !strings.EqualFold(dn[:len(p)], p) {
		return "", false
	}
	b, err := hex.DecodeString(dn[len(p):])
	if err != nil || len(b) == 0 {
		return "", false
	}
	return string(b), true
}

func (s *Server) entryID(sub subject, pc propCtx) []byte {
	if pc.ephemeral {
		return mapiprop.EphemeralEntryID{ProviderUID: s.opts.ServerGUID, DisplayType: displayType(sub.entry), MId: sub.mid}.Bytes()
	}
	return mapiprop.AddressBookEntryID{DisplayType: displayType(sub.entry), X500DN: s.entryDN(sub.entry)}.Bytes()
}

// objectGUID is a stable GUID for PidTagEmsAbObjectGuid, derived from the
// DN since the directory has no GUID for every entry.
func objectGUID(dn string) []byte {
	sum := sha256.Sum256([]byte(strings.ToLower(dn)))
	g := sum[:16]
	g[7] = g[7]&0x0F | 0x50 // version 5-like, little-endian Data3
	g[8] = g[8]&0x3F | 0x80
	return g
}

// printableName is PidTagAddressBookDisplayNamePrintable: the display
// name when it is printable ASCII, else the account name.
func printableName(e directory.Entry) string {
	n := directory.EntrySortName(e)
	for _, c := range n {
		if c < 0x20 || c > 0x7E {
			local, _, _ := strings.Cut(e.Address, "@")
			return local
		}
	}
	return n
}

func accountName(e directory.Entry) string {
	local, _, _ := strings.Cut(e.Address, "@")
	return local
}

// typed returns v with tag's property ID and the type the request asked
// for, when the value can have it: PtypString8 and PtypString (and
// PtypUnspecified, which gets PtypString) for strings, their multi-valued
// forms for string lists, the value's own type otherwise.
func typed(tag mapiprop.Tag, v mapiprop.Value) (mapiprop.Value, bool) {
	want, have := tag.Type(), v.Tag.Type()
	switch {
	case want == have:
	case want == propTypeUnspecified:
	case have == propTypeString && want == propTypeString8:
		have = want
	case have == propTypeMultipleString && want == propTypeMultipleString8:
		have = want
	default:
		return mapiprop.Value{}, false
	}
	return mapiprop.Value{Tag: tag.WithType(have), Data: v.Data}, true
}

// entryProp computes one property of an entry (MS-OXOABK 2.2). The error
// is ErrNotFound for a property the entry does not have or cannot have in
// the asked type.
func (s *Server) entryProp(ctx context.Context, sub subject, tag mapiprop.Tag, pc propCtx) (mapiprop.Value, mapiprop.ErrorCode) {
	e := sub.entry
	str := func(v string) (mapiprop.Value, mapiprop.ErrorCode) {
		if v == "" {
			return mapiprop.Value{}, mapiprop.ErrNotFound
		}
		return finish(tag, mapiprop.StringValue(tag, v))
	}
	bin := func(b []byte) (mapiprop.Value, mapiprop.ErrorCode) {
		return finish(tag, mapiprop.BinaryValue(tag, b))
	}
	i32 := func(v int32) (mapiprop.Value, mapiprop.ErrorCode) {
		return finish(tag, mapiprop.Int32Value(tag, v))
	}
	person := !e.IsGroup
	switch tag.ID() {
	case mapiprop.PidTagDisplayName.ID():
		return str(directory.EntrySortName(e))
	case mapiprop.PidTagTransmittableDisplayName.ID():
		if !person {
			return mapiprop.Value{}, mapiprop.ErrNotFound
		}
		return str(directory.EntrySortName(e))
	case mapiprop.PidTagAddressBookDisplayNamePrintable.ID():
		return str(printableName(e))
	case mapiprop.PidTagAddressType.ID():
		return str("EX") // MS-OXOABK 2.2.3.13
	case mapiprop.PidTagEmailAddress.ID():
		return str(s.entryDN(e))
	case mapiprop.PidTagSmtpAddress.ID():
		return str(e.Address)
	case mapiprop.PidTagAccount.ID():
		return str(accountName(e))
	case mapiprop.PidTagTitle.ID():
		return str(e.Title)
	case mapiprop.PidTagDepartmentName.ID():
		return str(e.Department)
	case mapiprop.PidTagOfficeLocation.ID():
		return str(e.Office)
	case mapiprop.PidTagCompanyName.ID():
		return str(e.Company)
	case mapiprop.PidTagBusinessTelephoneNumber.ID(), mapiprop.PidTagPrimaryTelephoneNumber.ID():
		return str(e.Phone)
	case mapiprop.PidTagObjectType.ID():
		return i32(objectType(e))
	case mapiprop.PidTagDisplayType.ID():
		return i32(int32(displayType(e)))
	case mapiprop.PidTagDisplayTypeEx.ID():
		return i32(int32(displayType(e) | displayTypeACLCapable))
	case mapiprop.PidTagEntryId.ID(), mapiprop.PidTagRecordKey.ID(), tagOriginalEntryID.ID():
		return bin(s.entryID(sub, pc))
	case mapiprop.PidTagTemplateid.ID():
		return bin(mapiprop.AddressBookEntryID{DisplayType: displayType(e), X500DN: s.entryDN(e)}.Bytes())
	case mapiprop.PidTagSearchKey.ID():
		// MS-OXOABK 2.2.3.6: "EX:" + the DN, upper case, NUL-terminated.
		return bin(append([]byte("EX:"+strings.ToUpper(s.entryDN(e))), 0))
	case mapiprop.PidTagInstanceKey.ID():
		return bin(binary.LittleEndian.AppendUint32(nil, sub.mid))
	case mapiprop.PidTagMappingSignature.ID():
		return bin(mapiprop.ProviderUIDAddressBook[:]) // MS-OXOABK 2.2.3.32
	case mapiprop.PidTagSendRichInfo.ID():
		return finish(tag, mapiprop.BoolValue(tag, true))
	case mapiprop.PidTagEmsAbObjectGuid.ID():
		return bin(objectGUID(s.entryDN(e)))
	case mapiprop.PidTagEmsAbContainerid.ID():
		return i32(int32(pc.container))
	case mapiprop.PidTagEmsAbHomeMdb.ID():
		if !person || e.AccountID == 0 {
			return mapiprop.Value{}, mapiprop.ErrNotFound
		}
		return str(s.opts.HomeMDB)
	case mapiprop.PidTagEmsAbProxyAddresses.ID():
		return finish(tag, mapiprop.Value{Tag: tag.WithType(propTypeMultipleString), Data: s.proxyAddresses(ctx, e)})
	case mapiprop.PidTagEmsAbThumbnailPhoto.ID():
		if !person || s.opts.ThumbnailPhoto == nil {
			return mapiprop.Value{}, mapiprop.ErrNotFound
		}
		photo, err := s.opts.ThumbnailPhoto(ctx, e)
		if err != nil || len(photo) == 0 {
			return mapiprop.Value{}, mapiprop.ErrNotFound
		}
		return bin(photo)
	}
	return mapiprop.Value{}, mapiprop.ErrNotFound
}

func finish(tag mapiprop.Tag, v mapiprop.Value) (mapiprop.Value, mapiprop.ErrorCode) {
	out, ok := typed(tag, v)
	if !ok {
		return mapiprop.Value{}, mapiprop.ErrNotFound
	}
	return out, mapiprop.Success
}

// proxyAddresses is PidTagEmsAbProxyAddresses: "SMTP:" and the primary
// address, then "smtp:" and each alias.
func (s *Server) proxyAddresses(ctx context.Context, e directory.Entry) []string {
	out := []string{"SMTP:" + e.Address}
	if e.IsGroup || e.AccountID == 0 {
		return out
	}
	addrs, err := s.opts.Directory.Addresses(ctx, e.AccountID)
	if err != nil {
		return out
	}
	for _, a := range addrs {
		if !strings.EqualFold(a, e.Address) {
			out = append(out, "smtp:"+a)
		}
	}
	return out
}

// entryRow computes a row over columns; properties an entry lacks are
// PtypNull (unavailable) values, which make the row flagged.
func (s *Server) entryRow(ctx context.Context, sub subject, columns []mapiprop.Tag, pc propCtx) mapiprop.PropertyRow {
	vals := make([]mapiprop.Value, len(columns))
	for i, col := range columns {
		v, ec := s.entryProp(ctx, sub, col, pc)
		switch {
		case ec == mapiprop.ErrNotFound:
			vals[i] = mapiprop.NullValue(col)
		case ec != mapiprop.Success:
			vals[i] = mapiprop.ErrorValue(col, ec)
		default:
			vals[i] = v
		}
	}
	return mapiprop.NewPropertyRow(columns, vals)
}

// errorRow is the row of a MId that names nothing (MS-OXNSPI 3.1.4.1.8).
func errorRow(columns []mapiprop.Tag) mapiprop.PropertyRow {
	vals := make([]mapiprop.Value, len(columns))
	for i, col := range columns {
		vals[i] = mapiprop.ErrorValue(col, mapiprop.ErrNotFound)
	}
	return mapiprop.PropertyRow{Flagged: true, Values: vals}
}

// entryValues computes a property list (GetProps): missing properties are
// PtypErrorCode values carrying ErrNotFound; warn reports whether any is.
func (s *Server) entryValues(ctx context.Context, sub subject, tags []mapiprop.Tag, pc propCtx, skipMissing bool) (vals []mapiprop.Value, warn bool) {
	vals = make([]mapiprop.Value, 0, len(tags))
	for _, t := range tags {
		v, ec := s.entryProp(ctx, sub, t, pc)
		if ec != mapiprop.Success {
			if skipMissing && ec == mapiprop.ErrNotFound {
				continue
			}
			warn = true
			v = mapiprop.ErrorValue(t, ec)
		}
		vals = append(vals, v)
	}
	return vals, warn
}

// stringType is PtypString, or PtypString8 for 8-bit requests.
func stringType(unicode bool) mapiprop.PropType {
	if unicode {
		return propTypeString
	}
	return propTypeString8
}

func withStringType(tags []mapiprop.Tag, unicode bool) []mapiprop.Tag {
	out := make([]mapiprop.Tag, len(tags))
	for i, t := range tags {
		switch t.Type() {
		case propTypeString:
			t = t.WithType(stringType(unicode))
		case propTypeMultipleString:
			if !unicode {
				t = t.WithType(propTypeMultipleString8)
			}
		}
		out[i] = t
	}
	return out
}

// defaultRowColumns are the columns of QueryRows, SeekEntries and
// ResolveNames without columns (MS-OXNSPI 3.1.4.1.8): 8-bit strings.
var defaultRowColumns = []mapiprop.Tag{
	mapiprop.PidTagEmsAbContainerid, mapiprop.PidTagObjectType, mapiprop.PidTagDisplayType,
	mapiprop.PidTagDisplayName.WithType(propTypeString8),
	mapiprop.PidTagPrimaryTelephoneNumber.WithType(propTypeString8),
	mapiprop.PidTagDepartmentName.WithType(propTypeString8),
	mapiprop.PidTagOfficeLocation.WithType(propTypeString8),
}

// commonTags are the properties of every entry, in GetPropList order.
var commonTags = []mapiprop.Tag{
	mapiprop.PidTagDisplayName, mapiprop.PidTagAddressType, mapiprop.PidTagEmailAddress,
	mapiprop.PidTagAddressBookDisplayNamePrintable, mapiprop.PidTagObjectType, mapiprop.PidTagDisplayType,
	mapiprop.PidTagDisplayTypeEx, mapiprop.PidTagEntryId, mapiprop.PidTagRecordKey, tagOriginalEntryID,
	mapiprop.PidTagSearchKey, mapiprop.PidTagInstanceKey, mapiprop.PidTagMappingSignature,
	mapiprop.PidTagSendRichInfo, mapiprop.PidTagTemplateid, mapiprop.PidTagEmsAbObjectGuid,
	mapiprop.PidTagSmtpAddress, mapiprop.PidTagAccount, mapiprop.PidTagEmsAbProxyAddresses,
}

// personTags are the further properties a person may have.
var personTags = []mapiprop.Tag{
	mapiprop.PidTagTitle, mapiprop.PidTagPrimaryTelephoneNumber, mapiprop.PidTagBusinessTelephoneNumber,
	mapiprop.PidTagCompanyName, mapiprop.PidTagDepartmentName, mapiprop.PidTagOfficeLocation,
	mapiprop.PidTagTransmittableDisplayName, mapiprop.PidTagEmsAbHomeMdb, mapiprop.PidTagEmsAbThumbnailPhoto,
}

// defaultPropTags are GetProps' properties when the request names none.
func defaultPropTags(e directory.Entry, unicode bool) []mapiprop.Tag {
	tags := append([]mapiprop.Tag(nil), commonTags...)
	if !e.IsGroup {
		tags = append(tags, personTags...)
	}
	return withStringType(tags, unicode)
}

// queryColumnTags are the columns QueryColumns offers.
var queryColumnTags = []mapiprop.Tag{
	mapiprop.PidTagDisplayName, mapiprop.PidTagTitle, mapiprop.PidTagBusinessTelephoneNumber,
	mapiprop.PidTagPrimaryTelephoneNumber, mapiprop.PidTagCompanyName, mapiprop.PidTagDepartmentName,
	mapiprop.PidTagOfficeLocation, mapiprop.PidTagAddressType, mapiprop.PidTagSmtpAddress,
	mapiprop.PidTagEmailAddress, mapiprop.PidTagAddressBookDisplayNamePrintable, mapiprop.PidTagAccount,
	mapiprop.PidTagTransmittableDisplayName, mapiprop.PidTagEmsAbProxyAddresses, mapiprop.PidTagObjectType,
	mapiprop.PidTagDisplayType, mapiprop.PidTagDisplayTypeEx, mapiprop.PidTagEntryId, mapiprop.PidTagRecordKey,
	tagOriginalEntryID, mapiprop.PidTagSearchKey, mapiprop.PidTagInstanceKey, mapiprop.PidTagMappingSignature,
	mapiprop.PidTagSendRichInfo, mapiprop.PidTagTemplateid, mapiprop.PidTagEmsAbObjectGuid,
	mapiprop.PidTagEmsAbContainerid,
}

// containerRow is a row of the hierarchy table (GetSpecialTable, MS-OXNSPI
// 3.1.4.1.3): entry ID, container flags, depth, container MId, display
// name (absent for the GAL; clients name it themselves) and IsMaster.
func (s *Server) containerRow(id uint32, unicode bool) []mapiprop.Value {
	var eid []byte
	var name any
	if id == 0 {
		eid = mapiprop.AddressBookEntryID{DisplayType: mapiprop.DisplayTypeContainer, X500DN: "/"}.Bytes()
	} else {
		eid, name = s.groupsEID, s.opts.GroupsContainerName
	}
	return []mapiprop.Value{
		mapiprop.BinaryValue(mapiprop.PidTagEntryId, eid),
		mapiprop.Int32Value(mapiprop.PidTagContainerFlags, abRecipients|abUnmodifiable),
		mapiprop.Int32Value(mapiprop.PidTagDepth, 0),
		mapiprop.Int32Value(mapiprop.PidTagEmsAbContainerid, int32(id)),
		{Tag: mapiprop.PidTagDisplayName.WithType(stringType(unicode)), Data: name},
		mapiprop.BoolValue(mapiprop.PidTagEmsAbIsMaster, false),
	}
}
