package nspi

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/mapiprop"
)

func TestAddressBookLocal(t *testing.T) { addressBookScenario(t, localBook(t)) }

func TestAddressBookLDAP(t *testing.T) { addressBookScenario(t, ldapBook(t)) }

// addressBookScenario is what Outlook and ruler do with an address book,
// against one seeded directory.
func addressBookScenario(t *testing.T, b *book) {
	alice := b.accounts["alice"]
	c := bind(t, b.srv, alice)

	t.Run("GetSpecialTable", func(t *testing.T) {
		var resp GetSpecialTableResponse
		c.do(&GetSpecialTableRequest{Flags: FlagUnicodeStrings, State: stat(0, 0)}, &resp)
		if resp.ErrorCode != 0 || resp.Version == nil || *resp.Version != 1 || len(resp.Rows) != 2 {
			t.Fatalf("response %+v", resp)
		}
		gal, groups := resp.Rows[0], resp.Rows[1]
		eid, _ := valueOf(gal, mapiprop.PidTagEntryId).AsBytes()
		if pe, err := mapiprop.ParseAddressBookEntryID(eid); err != nil || pe.X500DN != "/" || pe.DisplayType != mapiprop.DisplayTypeContainer {
			t.Errorf("GAL entry ID %+v, %v", pe, err)
		}
		if id, _ := valueOf(gal, mapiprop.PidTagEmsAbContainerid).AsInt32(); id != 0 {
			t.Errorf("GAL container id %d", id)
		}
		if v := valueOf(gal, mapiprop.PidTagDisplayName); v.Data != nil {
			t.Errorf("GAL display name %v, want absent", v)
		}
		if name, _ := valueOf(groups, mapiprop.PidTagDisplayName).AsString(); name != "Groups" {
			t.Errorf("groups container name %q", name)
		}
		if flags, _ := valueOf(groups, mapiprop.PidTagContainerFlags).AsInt32(); flags != abRecipients|abUnmodifiable {
			t.Errorf("container flags %#x", flags)
		}
		groupsID, _ := valueOf(groups, mapiprop.PidTagEmsAbContainerid).AsInt32()

		// The groups container lists the group only.
		var rows QueryRowsResponse
		c.do(&QueryRowsRequest{State: stat(uint32(groupsID), MIdBeginningOfTable), RowCount: 10,
			Columns: []mapiprop.Tag{mapiprop.PidTagDisplayName, mapiprop.PidTagDisplayType}}, &rows)
		if rows.ErrorCode != 0 || len(rows.Rows.Rows) != 1 || str(rows.Rows.Rows[0], mapiprop.PidTagDisplayName) != testGroupName ||
			rows.State.TotalRecs != 1 || rows.State.CurrentRec != MIdEndOfTable {
			t.Errorf("groups container rows %+v", rows)
		}
		if dt, _ := rows.Rows.Rows[0].Values[1].AsInt32(); uint32(dt) != mapiprop.DisplayTypeDistList {
			t.Errorf("group display type %d", dt)
		}
	})

	t.Run("QueryRowsWholeGAL", func(t *testing.T) {
		// ruler's walk: QueryRows from the beginning, repeated with the
		// returned STAT until TotalRecs rows are read.
		cols := []mapiprop.Tag{mapiprop.PidTagDisplayName, mapiprop.PidTagSmtpAddress, mapiprop.PidTagEntryId}
		st := stat(0, MIdBeginningOfTable)
		st.TotalRecs = 0xFF
		var names []string
		for range 20 {
			var resp QueryRowsResponse
			c.do(&QueryRowsRequest{State: st, RowCount: 3, Columns: cols}, &resp)
			if resp.ErrorCode != 0 || resp.State == nil || resp.Rows == nil {
				t.Fatalf("QueryRows: %+v", resp)
			}
			if len(resp.Rows.Rows) > 3 {
				t.Fatalf("%d rows for a RowCount of 3", len(resp.Rows.Rows))
			}
			for _, row := range resp.Rows.Rows {
				names = append(names, str(row, mapiprop.PidTagDisplayName))
				eid, _ := row.Values[2].AsBytes()
				pe, err := mapiprop.ParseAddressBookEntryID(eid)
				if err != nil || !strings.HasPrefix(pe.X500DN, "/o=Pochta/") {
					t.Errorf("entry ID %+v, %v", pe, err)
				}
			}
			st = resp.State
			if st.TotalRecs != uint32(len(wantGAL)) || st.NumPos != uint32(len(names)) {
				t.Fatalf("STAT %+v after %d rows", st, len(names))
			}
			if st.CurrentRec == MIdEndOfTable {
				break
			}
		}
		if !slices.Equal(names, wantGAL) {
			t.Fatalf("GAL walk %q, want %q", names, wantGAL)
		}
		// Past the end nothing more comes; from the start again with a
		// Delta the walk resumes in the middle.
		var end QueryRowsResponse
		c.do(&QueryRowsRequest{State: st, RowCount: 3, Columns: cols}, &end)
		if len(end.Rows.Rows) != 0 || end.State.CurrentRec != MIdEndOfTable {
			t.Errorf("past the end: %+v", end)
		}
		mid := stat(0, MIdBeginningOfTable)
		mid.Delta = 4
		var resp QueryRowsResponse
		c.do(&QueryRowsRequest{State: mid, RowCount: 1, Columns: cols}, &resp)
		if got := str(resp.Rows.Rows[0], mapiprop.PidTagDisplayName); got != wantGAL[4] || resp.State.NumPos != 5 {
			t.Errorf("Delta 4 gave %q at %d", got, resp.State.NumPos)
		}
		// RowCount 0 is refused (MS-OXNSPI 3.1.4.1.8).
		c.do(&QueryRowsRequest{State: stat(0, 0), Columns: cols}, &resp)
		if resp.ErrorCode != mapiprop.ErrInvalidParam {
			t.Errorf("RowCount 0: %v", resp.ErrorCode)
		}
	})

	t.Run("ResolveNames", func(t *testing.T) {
		cols := []mapiprop.Tag{mapiprop.PidTagDisplayName, mapiprop.PidTagSmtpAddress, mapiprop.PidTagAddressType,
			mapiprop.PidTagEmailAddress, mapiprop.PidTagEntryId, mapiprop.PidTagObjectType, mapiprop.PidTagSearchKey}
		names := []string{"alice@example.com", "Bob", "Chris", "Nobody Here", "A.Archer@example.com",
			"=SMTP:dora@example.com", "", "chris cole", "=SMTP:nobody@example.com"}
		var resp ResolveNamesResponse
		c.do(&ResolveNamesRequest{Reserved: 0x80000000, State: stat(0, 0), PropertyTags: cols, Names: names}, &resp)
		want := []uint32{MIdResolved, MIdResolved, MIdAmbiguous, MIdUnresolved, MIdResolved, MIdResolved, MIdUnresolved, MIdResolved, MIdUnresolved}
		if resp.ErrorCode != 0 || !slices.Equal(resp.MinimalIDs, want) {
			t.Fatalf("MIds %v (%v), want %v", resp.MinimalIDs, resp.ErrorCode, want)
		}
		var got []string
		for _, row := range resp.Rows.Rows {
			got = append(got, str(row, mapiprop.PidTagSmtpAddress))
		}
		wantRows := []string{"alice@example.com", "bob@example.com", "alice@example.com", "dora@example.com", "chris.cole@example.com"}
		if !slices.Equal(got, wantRows) {
			t.Fatalf("resolved rows %q, want %q", got, wantRows)
		}
		first := resp.Rows.Rows[0]
		if str(first, mapiprop.PidTagAddressType) != "EX" || str(first, mapiprop.PidTagEmailAddress) != testLegacyDN(alice) {
			t.Errorf("alice row: type %q, address %q", str(first, mapiprop.PidTagAddressType), str(first, mapiprop.PidTagEmailAddress))
		}
		if key, _ := valueOf(first.Values, mapiprop.PidTagSearchKey).AsBytes(); string(key) != "EX:"+strings.ToUpper(testLegacyDN(alice))+"\x00" {
			t.Errorf("search key %q", key)
		}
	})

	t.Run("GetMatchesPrefix", func(t *testing.T) {
		cols := []mapiprop.Tag{mapiprop.PidTagDisplayName, mapiprop.PidTagSmtpAddress}
		prefix := func(s string) mapiprop.Restriction {
			return &mapiprop.ContentRestriction{FuzzyLevelLow: mapiprop.FuzzyPrefix, FuzzyLevelHigh: mapiprop.FuzzyIgnoreCase,
				PropTag: mapiprop.PidTagDisplayName, Value: mapiprop.StringValue(mapiprop.PidTagDisplayName, s)}
		}
		var resp GetMatchesResponse
		c.do(&GetMatchesRequest{State: stat(0, 0), Filter: prefix("ch"), RowCount: 50, Columns: cols}, &resp)
		if resp.ErrorCode != 0 || len(resp.MinimalIDs) != 2 || len(resp.Rows.Rows) != 2 ||
			str(resp.Rows.Rows[0], mapiprop.PidTagDisplayName) != "Chris Carter" || str(resp.Rows.Rows[1], mapiprop.PidTagDisplayName) != "Chris Cole" {
			t.Fatalf("prefix ch: %+v", resp)
		}
		chris := resp.MinimalIDs
		// Never more than asked.
		c.do(&GetMatchesRequest{State: stat(0, 0), Filter: prefix("ch"), RowCount: 1, Columns: cols}, &resp)
		if len(resp.MinimalIDs) != 1 || resp.MinimalIDs[0] != chris[0] || len(resp.Rows.Rows) != 1 {
			t.Fatalf("RowCount 1: %+v", resp)
		}
		// The MIds read back through QueryRows' explicit table.
		var rows QueryRowsResponse
		c.do(&QueryRowsRequest{State: stat(0, 0), ExplicitTable: append(chris, 0x7FFF0000), Columns: cols}, &rows)
		if len(rows.Rows.Rows) != 3 || str(rows.Rows.Rows[1], mapiprop.PidTagSmtpAddress) != "chris.cole@example.com" ||
			!rows.Rows.Rows[2].Flagged || !rows.Rows.Rows[2].Values[0].IsError() {
			t.Fatalf("explicit table %+v", rows.Rows)
		}
		// ANR, a compound restriction, and no match.
		anr := &mapiprop.PropertyRestriction{RelOp: mapiprop.RelOpEqual, PropTag: mapiprop.PidTagAnr, Value: mapiprop.StringValue(mapiprop.PidTagAnr, "diaz")}
		c.do(&GetMatchesRequest{State: stat(0, 0), Filter: anr, RowCount: 50, Columns: cols}, &resp)
		if len(resp.MinimalIDs) != 1 || str(resp.Rows.Rows[0], mapiprop.PidTagSmtpAddress) != "dora@example.com" {
			t.Fatalf("ANR diaz: %+v", resp)
		}
		and := &mapiprop.AndRestriction{Restrictions: []mapiprop.Restriction{prefix("chris"),
			&mapiprop.ContentRestriction{FuzzyLevelLow: mapiprop.FuzzySubstring, FuzzyLevelHigh: mapiprop.FuzzyIgnoreCase,
				PropTag: mapiprop.PidTagSmtpAddress, Value: mapiprop.StringValue(mapiprop.PidTagSmtpAddress, "cole")}}}
		c.do(&GetMatchesRequest{State: stat(0, 0), Filter: and, RowCount: 50, Columns: cols}, &resp)
		if len(resp.MinimalIDs) != 1 || str(resp.Rows.Rows[0], mapiprop.PidTagSmtpAddress) != "chris.cole@example.com" {
			t.Fatalf("chris AND cole: %+v", resp)
		}
		sub := &mapiprop.ContentRestriction{FuzzyLevelLow: mapiprop.FuzzySubstring, FuzzyLevelHigh: mapiprop.FuzzyIgnoreCase,
			PropTag: mapiprop.PidTagDepartmentName, Value: mapiprop.StringValue(mapiprop.PidTagDepartmentName, "oper")}
		c.do(&GetMatchesRequest{State: stat(0, 0), Filter: sub, RowCount: 50, Columns: cols}, &resp)
		if len(resp.MinimalIDs) != 1 || str(resp.Rows.Rows[0], mapiprop.PidTagSmtpAddress) != "bob@example.com" {
			t.Fatalf("department substring (a full scan): %+v", resp)
		}
		c.do(&GetMatchesRequest{State: stat(0, 0), Filter: prefix("nobody"), RowCount: 50, Columns: cols}, &resp)
		if resp.ErrorCode != 0 || len(resp.MinimalIDs) != 0 {
			t.Fatalf("no match: %+v", resp)
		}
	})

	t.Run("DistributionListMembers", func(t *testing.T) {
		var resolved ResolveNamesResponse
		c.do(&ResolveNamesRequest{State: stat(0, 0), PropertyTags: []mapiprop.Tag{mapiprop.PidTagEntryId, mapiprop.PidTagDisplayType},
			Names: []string{testGroupAddress}}, &resolved)
		if resolved.MinimalIDs[0] != MIdResolved {
			t.Fatalf("group: %+v", resolved)
		}
		var dn DNToMIdResponse
		eid, _ := resolved.Rows.Rows[0].Values[0].AsBytes()
		pe, _ := mapiprop.ParseAddressBookEntryID(eid)
		c.do(&DNToMIdRequest{Names: []string{pe.X500DN}}, &dn)
		if len(dn.MinimalIDs) != 1 || dn.MinimalIDs[0] < firstEntryMId {
			t.Fatalf("DNToMId of the group's DN %q: %+v", pe.X500DN, dn)
		}
		var resp GetMatchesResponse
		c.do(&GetMatchesRequest{State: stat(uint32(tagAddressBookMember), dn.MinimalIDs[0]), RowCount: 50,
			Columns: []mapiprop.Tag{mapiprop.PidTagSmtpAddress}}, &resp)
		var got []string
		for _, row := range resp.Rows.Rows {
			got = append(got, str(row, mapiprop.PidTagSmtpAddress))
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"alice@example.com", "bob@example.com"}) {
			t.Fatalf("members %q (%+v)", got, resp)
		}
	})

	t.Run("DNToMIdAndGetPropsOfSelf", func(t *testing.T) {
		var dn DNToMIdResponse
		c.do(&DNToMIdRequest{Names: []string{testLegacyDN(alice), "/o=Elsewhere/cn=nobody", strings.ToUpper(testLegacyDN(alice))}}, &dn)
		if len(dn.MinimalIDs) != 3 || dn.MinimalIDs[0] < firstEntryMId || dn.MinimalIDs[1] != 0 || dn.MinimalIDs[2] != dn.MinimalIDs[0] {
			t.Fatalf("DNToMId: %+v", dn)
		}
		tags := []mapiprop.Tag{mapiprop.PidTagDisplayName, mapiprop.PidTagSmtpAddress, mapiprop.PidTagEmailAddress,
			mapiprop.PidTagAccount, mapiprop.PidTagTitle, mapiprop.PidTagDepartmentName, mapiprop.PidTagOfficeLocation,
			mapiprop.PidTagCompanyName, mapiprop.PidTagBusinessTelephoneNumber, mapiprop.PidTagDisplayType,
			mapiprop.PidTagObjectType, mapiprop.PidTagEntryId, mapiprop.PidTagInstanceKey, mapiprop.PidTagEmsAbProxyAddresses,
			mapiprop.PidTagDisplayName.WithType(mapiprop.PtypString8), mapiprop.PidTagEmsAbThumbnailPhoto}
		var resp GetPropsResponse
		c.do(&GetPropsRequest{State: stat(0, dn.MinimalIDs[0]), PropertyTags: tags}, &resp)
		if len(resp.Values) != len(tags) || resp.CodePage != 1252 {
			t.Fatalf("GetProps: %+v", resp)
		}
		want := map[mapiprop.Tag]any{
			mapiprop.PidTagDisplayName: "Alice Archer", mapiprop.PidTagSmtpAddress: "alice@example.com",
			mapiprop.PidTagEmailAddress: testLegacyDN(alice), mapiprop.PidTagAccount: "alice",
			mapiprop.PidTagTitle: "Engineer", mapiprop.PidTagDepartmentName: "R&D", mapiprop.PidTagOfficeLocation: "Room 101",
			mapiprop.PidTagCompanyName: "Example Corp", mapiprop.PidTagBusinessTelephoneNumber: "+1 555 0101",
			mapiprop.PidTagDisplayType: int32(0), mapiprop.PidTagObjectType: int32(6),
			mapiprop.PidTagDisplayName.WithType(mapiprop.PtypString8): "Alice Archer",
		}
		for _, v := range resp.Values {
			if w, ok := want[v.Tag]; ok && v.Data != w {
				t.Errorf("%s = %v, want %v", v.Tag, v.Data, w)
			}
		}
		eid, _ := valueOf(resp.Values, mapiprop.PidTagEntryId).AsBytes()
		if pe, err := mapiprop.ParseAddressBookEntryID(eid); err != nil || pe.X500DN != testLegacyDN(alice) || pe.DisplayType != 0 {
			t.Errorf("entry ID %+v, %v", pe, err)
		}
		if key, _ := valueOf(resp.Values, mapiprop.PidTagInstanceKey).AsBytes(); len(key) != 4 || uint32(key[0]) != dn.MinimalIDs[0]&0xFF {
			t.Errorf("instance key % x", key)
		}
		proxies, _ := valueOf(resp.Values, mapiprop.PidTagEmsAbProxyAddresses).Data.([]string)
		if !slices.Contains(proxies, "SMTP:alice@example.com") || !slices.Contains(proxies, "smtp:a.archer@example.com") {
			t.Errorf("proxy addresses %q", proxies)
		}
		// No photo: a PtypErrorCode value, and the call warns.
		if photo := resp.Values[len(resp.Values)-1]; !photo.IsError() || resp.ErrorCode != mapiprop.ErrWarnWithErrors {
			t.Errorf("photo %v, error code %v", photo, resp.ErrorCode)
		}
		// Ephemeral entry IDs name the session's server and the MId.
		c.do(&GetPropsRequest{Flags: FlagEphID, State: stat(0, dn.MinimalIDs[0]), PropertyTags: []mapiprop.Tag{mapiprop.PidTagEntryId}}, &resp)
		eid, _ = resp.Values[0].AsBytes()
		if ee, err := mapiprop.ParseEphemeralEntryID(eid); err != nil || ee.MId != dn.MinimalIDs[0] || ee.ProviderUID != c.guid {
			t.Errorf("ephemeral entry ID %+v, %v", ee, err)
		}
		// Without tags: what the object has, no errors.
		c.do(&GetPropsRequest{State: stat(0, dn.MinimalIDs[0])}, &resp)
		if resp.ErrorCode != 0 || len(resp.Values) < 15 {
			t.Fatalf("GetProps without tags: %v, %d values", resp.ErrorCode, len(resp.Values))
		}
		for _, v := range resp.Values {
			if v.IsError() {
				t.Errorf("default property %s is an error", v.Tag)
			}
		}
		var list GetPropListResponse
		c.do(&GetPropListRequest{MinimalID: dn.MinimalIDs[0], CodePage: CodePageWinUnicode}, &list)
		if list.ErrorCode != 0 || !slices.Contains(list.PropertyTags, mapiprop.PidTagTitle) || slices.Contains(list.PropertyTags, mapiprop.PidTagEmsAbThumbnailPhoto) {
			t.Errorf("GetPropList %v", list)
		}
		c.do(&GetPropListRequest{MinimalID: 0x7FFF0000}, &list)
		if list.ErrorCode != mapiprop.ErrInvalidObject {
			t.Errorf("GetPropList of nothing: %v", list.ErrorCode)
		}
	})

	t.Run("SeekUpdateCompareResort", func(t *testing.T) {
		cols := []mapiprop.Tag{mapiprop.PidTagDisplayName}
		target := mapiprop.StringValue(mapiprop.PidTagDisplayName, "c")
		var seek SeekEntriesResponse
		c.do(&SeekEntriesRequest{State: stat(0, 0), Target: &target, Columns: cols}, &seek)
		if seek.ErrorCode != 0 || seek.State.NumPos != 2 || len(seek.Rows.Rows) != 1 || str(seek.Rows.Rows[0], mapiprop.PidTagDisplayName) != "Chris Carter" {
			t.Fatalf("SeekEntries c: %+v", seek)
		}
		carter := seek.State.CurrentRec
		// QueryRows from the MId SeekEntries found.
		var rows QueryRowsResponse
		c.do(&QueryRowsRequest{State: seek.State, RowCount: 2, Columns: cols}, &rows)
		if str(rows.Rows.Rows[0], mapiprop.PidTagDisplayName) != "Chris Carter" || str(rows.Rows.Rows[1], mapiprop.PidTagDisplayName) != "Chris Cole" {
			t.Fatalf("rows from the seek: %+v", rows.Rows)
		}
		cole := rows.State.CurrentRec // the next row's MId: Dora
		target = mapiprop.StringValue(mapiprop.PidTagDisplayName, "zz")
		c.do(&SeekEntriesRequest{State: stat(0, 0), Target: &target}, &seek)
		if seek.ErrorCode != mapiprop.ErrNotFound {
			t.Errorf("seek past the end: %v", seek.ErrorCode)
		}

		var upd UpdateStatResponse
		st := stat(0, carter)
		st.Delta, st.NumPos = 3, 2
		c.do(&UpdateStatRequest{State: st, DeltaRequested: true}, &upd)
		if upd.ErrorCode != 0 || upd.State.NumPos != 5 || upd.Delta == nil || *upd.Delta != 3 {
			t.Fatalf("UpdateStat: %+v", upd)
		}
		var props GetPropsResponse
		c.do(&GetPropsRequest{State: upd.State, PropertyTags: cols}, &props)
		if s, _ := props.Values[0].AsString(); s != wantGAL[5] {
			t.Errorf("row after UpdateStat %q, want %q", s, wantGAL[5])
		}
		st.Delta = 100
		c.do(&UpdateStatRequest{State: st}, &upd)
		if upd.State.CurrentRec != MIdEndOfTable || upd.State.NumPos != uint32(len(wantGAL)) || upd.Delta != nil {
			t.Errorf("UpdateStat past the end: %+v", upd)
		}

		var cmp CompareMIdsResponse
		c.do(&CompareMIdsRequest{State: stat(0, 0), MinimalID1: carter, MinimalID2: cole}, &cmp)
		if cmp.ErrorCode != 0 || cmp.Compared >= 0 {
			t.Errorf("CompareMIds(carter, dora) = %+v", cmp)
		}
		c.do(&CompareMIdsRequest{State: stat(0, 0), MinimalID1: cole, MinimalID2: carter}, &cmp)
		if cmp.Compared <= 0 {
			t.Errorf("CompareMIds(dora, carter) = %+v", cmp)
		}
		c.do(&CompareMIdsRequest{State: stat(0, 0), MinimalID1: cole, MinimalID2: 0x7FFF0000}, &cmp)
		if cmp.ErrorCode == 0 {
			t.Errorf("CompareMIds with an unknown MId: %+v", cmp)
		}

		var resort ResortRestrictionResponse
		rs := stat(0, carter)
		c.do(&ResortRestrictionRequest{State: rs, MinimalIDs: []uint32{cole, 0x7FFF0000, carter}}, &resort)
		if !slices.Equal(resort.MinimalIDs, []uint32{carter, cole}) || resort.State.TotalRecs != 2 || resort.State.NumPos != 0 {
			t.Errorf("ResortRestriction: %+v", resort)
		}
	})

	t.Run("ColumnsTemplatesURLs", func(t *testing.T) {
		var cols QueryColumnsResponse
		c.do(&QueryColumnsRequest{MapiFlags: FlagUnicodeProptypes}, &cols)
		if !slices.Contains(cols.Columns, mapiprop.PidTagDisplayName) || !slices.Contains(cols.Columns, mapiprop.PidTagSmtpAddress) {
			t.Errorf("QueryColumns %v", cols.Columns)
		}
		c.do(&QueryColumnsRequest{}, &cols)
		if !slices.Contains(cols.Columns, mapiprop.PidTagDisplayName.WithType(mapiprop.PtypString8)) {
			t.Errorf("8-bit QueryColumns %v", cols.Columns)
		}
		var tpl GetTemplateInfoResponse
		c.do(&GetTemplateInfoRequest{Flags: FlagTemplate, DisplayType: mapiprop.DisplayTypeMailUser, CodePage: 1252, LocaleID: 1033}, &tpl)
		data, _ := valueOf(tpl.Row, tagTemplateData).AsBytes()
		if tpl.ErrorCode != 0 || len(data) < 8 || data[0] != 1 || !bytes.Contains(data, []byte("Display name:\x00")) {
			t.Errorf("template %v % x", tpl.ErrorCode, data)
		}
		c.do(&GetTemplateInfoRequest{Flags: FlagTemplate | FlagScript, CodePage: 1252}, &tpl)
		if tpl.ErrorCode != mapiprop.ErrNotSupported {
			t.Errorf("template with script: %v", tpl.ErrorCode)
		}
		var mb GetMailboxURLResponse
		body, _ := Marshal(&GetMailboxURLRequest{ServerDN: "/o=Pochta"})
		out, _, err := c.srv.Handle(WithRequestBaseURL(context.Background(), "https://127.0.0.1:8443/"), RequestGetMailboxURL, c.acc, c.sess, body)
		if err != nil || Unmarshal(out, &mb) != nil || mb.ServerURL != "https://127.0.0.1:8443/mapi/emsmdb/" {
			t.Errorf("GetMailboxUrl %+v, %v", mb, err)
		}
		var ab GetAddressBookURLResponse
		c.do(&GetAddressBookURLRequest{UserDN: testLegacyDN(alice)}, &ab)
		if ab.ErrorCode == 0 {
			t.Errorf("GetAddressBookUrl without a base URL answered %q", ab.ServerURL)
		}
	})

	t.Run("Unbind", func(t *testing.T) {
		var resp UnbindResponse
		c.do(&UnbindRequest{}, &resp)
		if resp.ErrorCode != mapiprop.ErrUnbindSuccess || !c.sess.Closed() {
			t.Fatalf("Unbind: %+v", resp)
		}
		body, _ := Marshal(&QueryColumnsRequest{})
		if _, _, err := c.srv.Handle(context.Background(), RequestQueryColumns, c.acc, c.sess, body); !errors.Is(err, ErrNoSession) {
			t.Fatalf("request after Unbind: %v", err)
		}
	})
}

func valueOf(vals []mapiprop.Value, tag mapiprop.Tag) mapiprop.Value {
	for _, v := range vals {
		if v.Tag.ID() == tag.ID() {
			return v
		}
	}
	return mapiprop.Value{}
}

func TestHandleRefusals(t *testing.T) {
	b := localBook(t)
	alice, bob := b.accounts["alice"], b.accounts["bob"]
	c := bind(t, b.srv, alice)
	ctx := context.Background()
	body, _ := Marshal(&QueryColumnsRequest{})
	if _, _, err := b.srv.Handle(ctx, "Connect", alice, c.sess, body); !errors.Is(err, ErrUnknownRequestType) {
		t.Errorf("Connect: %v", err)
	}
	if _, _, err := b.srv.Handle(ctx, "querycolumns", alice, nil, body); !errors.Is(err, ErrNoSession) {
		t.Errorf("no session: %v", err)
	}
	if _, _, err := b.srv.Handle(ctx, "QUERYCOLUMNS", bob, c.sess, body); !errors.Is(err, ErrWrongUser) {
		t.Errorf("another user's session: %v", err)
	}
	if _, _, err := b.srv.Handle(ctx, RequestQueryRows, alice, c.sess, []byte{1, 2}); !errors.Is(err, ErrInvalidBody) {
		t.Errorf("truncated body: %v", err)
	}
	// ruler sends BIND in capitals; an empty Bind body binds with defaults.
	out, sess, err := b.srv.Handle(ctx, "BIND", alice, nil, nil)
	var resp BindResponse
	if err != nil || sess == nil || Unmarshal(out, &resp) != nil || resp.ErrorCode != 0 || resp.ServerGUID != b.srv.ServerGUID() {
		t.Errorf("lenient Bind: %+v, %v", resp, err)
	}
	for _, q := range []*BindRequest{{Flags: FlagAnonymousLogin}, {State: &STAT{CodePage: CodePageWinUnicode}}} {
		body, _ := Marshal(q)
		out, sess, err := b.srv.Handle(ctx, RequestBind, alice, nil, body)
		if err != nil || sess != nil || Unmarshal(out, &resp) != nil || resp.ErrorCode != mapiprop.ErrNotSupported {
			t.Errorf("Bind %+v: %+v, session %v, %v", q, resp, sess, err)
		}
	}
	var mod ModPropsResponse
	c.do(&ModPropsRequest{State: stat(0, 0)}, &mod)
	if mod.ErrorCode != mapiprop.ErrNotSupported {
		t.Errorf("ModProps: %v", mod.ErrorCode)
	}
	var rows QueryRowsResponse
	c.do(&QueryRowsRequest{State: stat(0x7777, 0), RowCount: 1}, &rows)
	if rows.ErrorCode != mapiprop.ErrInvalidBookmark {
		t.Errorf("QueryRows of an unknown container: %v", rows.ErrorCode)
	}
	c.do(&QueryRowsRequest{State: stat(0, 0), RowCount: 1, Columns: make([]mapiprop.Tag, 101)}, &rows)
	if rows.ErrorCode != mapiprop.ErrTableTooBig {
		t.Errorf("101 columns: %v", rows.ErrorCode)
	}
	// Per-request caps: rows, names, MIds.
	small := bind(t, newServer(t, b.dir, func(o *Options) { o.MaxRowsPerRequest = 3 }), alice)
	small.do(&QueryRowsRequest{State: stat(0, 0), RowCount: 100}, &rows)
	if rows.ErrorCode != 0 || len(rows.Rows.Rows) != 3 || rows.State.NumPos != 3 {
		t.Errorf("capped QueryRows: %v, %d rows", rows.ErrorCode, len(rows.Rows.Rows))
	}
	var res ResolveNamesResponse
	small.do(&ResolveNamesRequest{State: stat(0, 0), Names: []string{"a", "b", "c", "d"}}, &res)
	if res.ErrorCode != mapiprop.ErrTableTooBig {
		t.Errorf("4 names with a cap of 3: %v", res.ErrorCode)
	}
	small.do(&QueryRowsRequest{State: stat(0, 0), ExplicitTable: []uint32{0x11, 0x12, 0x13, 0x14}}, &rows)
	if rows.ErrorCode != mapiprop.ErrTableTooBig {
		t.Errorf("4 explicit MIds with a cap of 3: %v", rows.ErrorCode)
	}
	// Default columns: 8-bit strings in the STAT's code page.
	c.do(&QueryRowsRequest{State: stat(0, 0), RowCount: 1}, &rows)
	if len(rows.Rows.Columns) != len(defaultRowColumns) || rows.Rows.Columns[3] != mapiprop.PidTagDisplayName.WithType(mapiprop.PtypString8) ||
		str(rows.Rows.Rows[0], mapiprop.PidTagDisplayName) != "Alice Archer" {
		t.Errorf("default columns: %+v", rows.Rows)
	}
}

// A directory that cannot answer gives a temporary network error, never
// "not found" or an empty list.
func TestDirectoryOutage(t *testing.T) {
	b := localBook(t)
	srv := newServer(t, failingDirectory{b.dir})
	c := bind(t, srv, b.accounts["alice"])
	var rows QueryRowsResponse
	c.do(&QueryRowsRequest{State: stat(0, 0), RowCount: 5}, &rows)
	if rows.ErrorCode != mapiprop.ErrNetworkError {
		t.Errorf("QueryRows: %v", rows.ErrorCode)
	}
	var res ResolveNamesResponse
	c.do(&ResolveNamesRequest{State: stat(0, 0), Names: []string{"bob"}}, &res)
	if res.ErrorCode != mapiprop.ErrNetworkError || res.MinimalIDs != nil {
		t.Errorf("ResolveNames: %+v", res)
	}
}

type failingDirectory struct{ directory.Directory }

func (failingDirectory) SearchGAL(context.Context, string, int, string) ([]directory.Entry, string, error) {
	return nil, "", directory.ErrUnavailable
}

func (failingDirectory) Resolve(context.Context, string) (*directory.Resolution, error) {
	return nil, directory.ErrUnavailable
}
