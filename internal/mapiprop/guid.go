package mapiprop

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// GUID is a GUID in wire byte order: Data1, Data2 and Data3 little-endian,
// Data4 as is (MS-DTYP 2.3.4.2, used throughout MS-OXCDATA).
type GUID [16]byte

// ParseGUID parses "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" (braces optional).
func ParseGUID(s string) (GUID, error) {
	var g GUID
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, fmt.Errorf("mapiprop: malformed GUID %q", s)
	}
	raw, err := hex.DecodeString(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36])
	if err != nil {
		return g, fmt.Errorf("mapiprop: malformed GUID %q: %w", s, err)
	}
	binary.LittleEndian.PutUint32(g[0:], binary.BigEndian.Uint32(raw[0:]))
	binary.LittleEndian.PutUint16(g[4:], binary.BigEndian.Uint16(raw[4:]))
	binary.LittleEndian.PutUint16(g[6:], binary.BigEndian.Uint16(raw[6:]))
	copy(g[8:], raw[8:])
	return g, nil
}

// MustParseGUID is ParseGUID for constants; it panics on a malformed literal.
func MustParseGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// String formats g as "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}".
func (g GUID) String() string {
	return fmt.Sprintf("{%08X-%04X-%04X-%X-%X}",
		binary.LittleEndian.Uint32(g[0:]), binary.LittleEndian.Uint16(g[4:]),
		binary.LittleEndian.Uint16(g[6:]), g[8:10], g[10:16])
}

// IsZero reports whether g is all zero bytes.
func (g GUID) IsZero() bool { return g == GUID{} }

// Property sets (MS-OXPROPS 1.3.2) and provider UIDs (MS-OXCDATA 2.2.4,
// 2.2.5). These are read-only values.
var (
	PS_MAPI                       = MustParseGUID("{00020328-0000-0000-C000-000000000046}")
	PS_PUBLIC_STRINGS             = MustParseGUID("{00020329-0000-0000-C000-000000000046}")
	PS_INTERNET_HEADERS           = MustParseGUID("{00020386-0000-0000-C000-000000000046}")
	PSETID_Appointment            = MustParseGUID("{00062002-0000-0000-C000-000000000046}")
	PSETID_Task                   = MustParseGUID("{00062003-0000-0000-C000-000000000046}")
	PSETID_Address                = MustParseGUID("{00062004-0000-0000-C000-000000000046}")
	PSETID_Common                 = MustParseGUID("{00062008-0000-0000-C000-000000000046}")
	PSETID_Log                    = MustParseGUID("{0006200A-0000-0000-C000-000000000046}")
	PSETID_Note                   = MustParseGUID("{0006200E-0000-0000-C000-000000000046}")
	PSETID_Sharing                = MustParseGUID("{00062040-0000-0000-C000-000000000046}")
	PSETID_PostRss                = MustParseGUID("{00062041-0000-0000-C000-000000000046}")
	PSETID_Meeting                = MustParseGUID("{6ED8DA90-450B-101B-98DA-00AA003F1305}")
	PSETID_Attachment             = MustParseGUID("{96357F7F-59E1-47D0-99A7-46515C183B54}")
	PSETID_AirSync                = MustParseGUID("{71035549-0739-4DCB-9163-00F0580DBBDF}")
	PSETID_Messaging              = MustParseGUID("{41F28F13-83F4-4114-A584-EEDB5A6B0BFF}")
	PSETID_UnifiedMessaging       = MustParseGUID("{4442858E-A9E3-4E80-B900-317A210CC15B}")
	PSETID_CalendarAssistant      = MustParseGUID("{11000E07-B51B-40D6-AF21-CAA85EDAB1D0}")
	PSETID_XmlExtractedEntities   = MustParseGUID("{23239608-685D-4732-9C55-4C95CB4E8E33}")
	PSETID_Report                 = MustParseGUID("{00062013-0000-0000-C000-000000000046}")
	PSETID_Remote                 = MustParseGUID("{00062014-0000-0000-C000-000000000046}")
	ProviderUIDStoreWrap          = MustParseGUID("{10BBA138-E505-1A10-A1BB-08002B2A56C2}") // muidStoreWrap
	ProviderUIDPrivateStore       = MustParseGUID("{C0A19454-7F29-1B10-A587-08002B2A2517}") // pbExchangeProviderPrimaryUserGuid
	ProviderUIDPublicStore        = MustParseGUID("{70FAB278-F7AF-CD11-9BC8-00AA002FC45A}") // pbExchangeProviderPublicGuid
	ProviderUIDOneOff             = MustParseGUID("{A41F2B81-A3BE-1910-9D6E-00DD010F5402}") // MS-OXCDATA 2.2.5.1
	ProviderUIDAddressBook        = MustParseGUID("{C840A7DC-42C0-1A10-B4B9-08002B2FE182}") // GUID_NSPI, MS-OXCDATA 2.2.5.2
	ProviderUIDContactAddressBook = MustParseGUID("{0AAA42FE-C718-101A-E885-0B651C240000}") // Contact Address Book entry IDs, MS-OXCDATA 2.2.5.3
)
