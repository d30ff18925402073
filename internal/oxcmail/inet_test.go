package oxcmail

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
)

func derive(t *testing.T, raw string, np NamedProps, opts ToMAPIOptions) *Message {
	t.Helper()
	b := []byte(strings.ReplaceAll(raw, "\n", "\r\n"))
	m, err := InetToMAPI(context.Background(), b, message.Parse(b), np, opts)
	if err != nil {
		t.Fatalf("InetToMAPI: %v", err)
	}
	return m
}

func wantString(t *testing.T, p Props, tag mp.Tag, want string) {
	t.Helper()
	if !p.Has(tag) {
		t.Errorf("%s (%s) missing, want %q", TagName(tag), tag, want)
		return
	}
	if got := p.String(tag); got != want {
		t.Errorf("%s = %q, want %q", TagName(tag), got, want)
	}
}

func wantInt32(t *testing.T, p Props, tag mp.Tag, want int32) {
	t.Helper()
	got, ok := p.Int32(tag)
	if !ok || got != want {
		t.Errorf("%s = %d (set %v), want %d", TagName(tag), got, ok, want)
	}
}

// TestCharsets checks that subjects, names and bodies in legacy charsets
// and encoded-words become the right Unicode strings.
func TestCharsets(t *testing.T) {
	tests := []struct {
		file            string
		subject, sender string
		bodyPrefix      string
		codePage        int32
	}{
		{"testdata/latin1.eml", "Ça va? été", "Renée", "Salut René,\r\n\r\nc'est l'été à Montréal.", 28591},
		{"testdata/cp1251.eml", "Отчёт за май", "Иван", "Здравствуйте!\nОтчёт во вложении.", 1251},
		{"testdata/iso2022jp.eml", "会議のお知らせ", "山田", "こんにちは。\r\n明日の会議は十時からです。", 50220},
		{"testdata/alternative-utf8.eml", "Grüße aus München — Teil 2", "Jürgen Müller", "Hallo Iwan,\n\nviele Grüße — Jürgen", 65001},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			m, _ := convertFile(t, tc.file, nil)
			wantString(t, m.Props, mp.PidTagSubject, tc.subject)
			wantString(t, m.Props, mp.PidTagSentRepresentingName, tc.sender)
			if body := m.Props.String(mp.PidTagBody); !strings.HasPrefix(body, tc.bodyPrefix) {
				t.Errorf("body = %q, want prefix %q", body, tc.bodyPrefix)
			}
			wantInt32(t, m.Props, mp.PidTagInternetCodepage, tc.codePage)
		})
	}
	// The Cyrillic display name of a recipient in UTF-8 base64 words.
	m, _ := convertFile(t, "testdata/alternative-utf8.eml", nil)
	if len(m.Recipients) != 1 {
		t.Fatalf("%d recipients", len(m.Recipients))
	}
	wantString(t, m.Recipients[0], mp.PidTagDisplayName, "Иван Петров")
	// HTML is kept in its charset with that code page.
	html := m.Props.Binary(mp.PidTagHtml)
	if !bytes.Contains(html, []byte("<b>Grüße</b>")) {
		t.Errorf("PidTagHtml = %q", html)
	}
}

func TestHTMLInLegacyCharset(t *testing.T) {
	m := derive(t, "From: a@example.com\nSubject: x\nContent-Type: text/html; charset=windows-1251\nContent-Transfer-Encoding: base64\n\n"+
		"PHA+z/Do4uXyPC9wPg==\n", nil, ToMAPIOptions{})
	// "<p>Привет</p>" in windows-1251 stays as sent, labelled 1251.
	wantInt32(t, m.Props, mp.PidTagInternetCodepage, 1251)
	if got := m.Props.Binary(mp.PidTagHtml); !bytes.Equal(got, []byte("<p>\xcf\xf0\xe8\xe2\xe5\xf2</p>")) {
		t.Errorf("PidTagHtml = %q", got)
	}
	wantString(t, m.Props, mp.PidTagBody, "Привет")
	// The string form of the HTML property decodes the code page.
	if v, ok := m.Props.Get(mp.PidTagBodyHtml); !ok || v.Data != "<p>Привет</p>" || v.Tag != mp.PidTagBodyHtml {
		t.Errorf("PidTagBodyHtml = %v %v", v, ok)
	}
	// An unknown charset is converted to UTF-8.
	m = derive(t, "Content-Type: text/html; charset=x-unknown\n\n<p>caf\xc3\xa9</p>\n", nil, ToMAPIOptions{})
	wantInt32(t, m.Props, mp.PidTagInternetCodepage, 65001)
	if got := string(m.Props.Binary(mp.PidTagHtml)); got != "<p>café</p>\r\n" {
		t.Errorf("PidTagHtml = %q", got)
	}
}

func TestDSNReport(t *testing.T) {
	m, _ := convertFile(t, "testdata/dsn-failed.eml", nil)
	wantString(t, m.Props, mp.PidTagMessageClass, "REPORT.IPM.Note.NDR")
	wantString(t, m.Props, PidTagReportingMessageTransferAgent, "mx.example.com")
	// Only the recipients of the most severe action (failed) are listed.
	if len(m.Recipients) != 1 {
		t.Fatalf("%d recipients, want 1", len(m.Recipients))
	}
	r := m.Recipients[0]
	wantString(t, r, mp.PidTagSmtpAddress, "nobody@example.com")
	wantString(t, r, PidTagRemoteMessageTransferAgent, "mx.remote.example")
	wantString(t, r, PidTagSupplementaryInfo, "<mx.remote.example #5.1.1 550 5.1.1 <nobody@example.com>: Recipient address rejected>")
	wantString(t, m.Props, mp.PidTagDisplayTo, "nobody@example.com")
	// The delivery-status part is consumed; the returned message is an
	// embedded message.
	if len(m.Attachments) != 1 || m.Attachments[0].Embedded == nil {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	wantString(t, m.Attachments[0].Embedded.Props, mp.PidTagSubject, "hello")

	// A report with only a delay is REPORT.IPM.Note.Delayed; a delivery
	// report REPORT.IPM.Note.DR.
	for action, class := range map[string]string{"delayed": "REPORT.IPM.Note.Delayed", "delivered": "REPORT.IPM.Note.DR", "relayed": "REPORT.IPM.Note.Relayed"} {
		m := derive(t, "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n\ntext\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b.c\nAction: "+action+"\nStatus: 2.0.0\n--b--\n", nil, ToMAPIOptions{})
		wantString(t, m.Props, mp.PidTagMessageClass, class)
	}
	// A report without a usable delivery-status part stays IPM.Note.
	m = derive(t, "Content-Type: multipart/report; boundary=b\n\n--b\n\ntext\n--b--\n", nil, ToMAPIOptions{})
	wantString(t, m.Props, mp.PidTagMessageClass, "IPM.Note")
}

func TestMDNReport(t *testing.T) {
	m, _ := convertFile(t, "testdata/mdn-displayed.eml", nil)
	wantString(t, m.Props, mp.PidTagMessageClass, "REPORT.IPM.Note.IPNRN")
	m = derive(t, "Content-Type: multipart/report; report-type=disposition-notification; boundary=b\n\n--b\n\nx\n--b\nContent-Type: message/disposition-notification\n\nDisposition: automatic-action/MDN-sent-automatically; deleted\n--b--\n", nil, ToMAPIOptions{})
	wantString(t, m.Props, mp.PidTagMessageClass, "REPORT.IPM.Note.IPNNRN")
}

func TestEmbeddedMessage(t *testing.T) {
	m, _ := convertFile(t, "testdata/forward-embedded.eml", nil)
	if len(m.Attachments) != 1 {
		t.Fatalf("%d attachments", len(m.Attachments))
	}
	a := m.Attachments[0]
	wantInt32(t, a.Props, mp.PidTagAttachMethod, mp.AttachMethodEmbedded)
	wantString(t, a.Props, mp.PidTagDisplayName, "Plans")
	if a.Embedded == nil {
		t.Fatal("no embedded message")
	}
	e := a.Embedded
	wantString(t, e.Props, mp.PidTagSubject, "Plans")
	wantString(t, e.Props, mp.PidTagSentRepresentingSmtpAddress, "ivan@example.net")
	wantString(t, e.Props, mp.PidTagBody, "Plans attached.")
	if e.Props.Has(mp.PidTagMessageDeliveryTime) {
		t.Error("embedded message has a delivery time")
	}
	if len(e.Attachments) != 1 {
		t.Fatalf("embedded has %d attachments", len(e.Attachments))
	}
	wantString(t, e.Attachments[0].Props, mp.PidTagAttachLongFilename, "plans.csv")
	if got := string(e.Attachments[0].Bytes()); got != "day,task\r\nmon,build" {
		t.Errorf("embedded attachment data = %q", got)
	}
	// The attachment of the outer message streams the raw message.
	if got := string(a.Bytes()); !strings.HasPrefix(got, "From: Ivan <ivan@example.net>\r\n") {
		t.Errorf("embedded raw = %q", got)
	}
}

func TestAttachments(t *testing.T) {
	m, raw := convertFile(t, "testdata/related-attachments.eml", nil)
	if len(m.Attachments) != 2 {
		t.Fatalf("%d attachments", len(m.Attachments))
	}
	logo, pdf := m.Attachments[0], m.Attachments[1]
	wantString(t, logo.Props, mp.PidTagAttachContentId, "logo@example.org")
	if !logo.Props.Bool(PidTagAttachmentHidden) {
		t.Error("inline image not hidden")
	}
	wantInt32(t, logo.Props, mp.PidTagAttachFlags, AttachRenderedInBody)
	if !bytes.HasPrefix(logo.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("logo data = %q", logo.Bytes())
	}
	wantString(t, pdf.Props, mp.PidTagAttachLongFilename, "Bericht März.pdf")
	wantString(t, pdf.Props, mp.PidTagAttachExtension, ".pdf")
	wantString(t, pdf.Props, mp.PidTagAttachMimeTag, "application/pdf")
	data := pdf.Bytes()
	wantInt32(t, pdf.Props, mp.PidTagAttachSize, int32(len(data)))
	if !bytes.HasPrefix(data, []byte("%PDF-1.4\n")) || len(data) != 286 {
		t.Errorf("pdf data: %d bytes %q", len(data), data[:min(len(data), 12)])
	}
	if pdf.Part == nil || pdf.Props.Has(mp.PidTagAttachDataBinary) {
		t.Error("MIME attachment data should stream from the part, not be copied into the properties")
	}
	if !m.Props.Bool(mp.PidTagHasAttachments) {
		t.Error("PidTagHasAttachments false")
	}
	flags, _ := m.Props.Int32(mp.PidTagMessageFlags)
	if flags&mp.MessageFlagHasAttach == 0 {
		t.Error("MessageFlagHasAttach missing")
	}
	_ = raw

	// Only an inline image: no paper clip.
	m = derive(t, "Content-Type: multipart/related; boundary=r\n\n--r\nContent-Type: text/html\n\n<img src=\"cid:a\">\n--r\nContent-Type: image/gif\nContent-ID: <a>\n\nGIF89a\n--r--\n", nil, ToMAPIOptions{})
	if m.Props.Bool(mp.PidTagHasAttachments) {
		t.Error("inline-only message has PidTagHasAttachments")
	}
}

func TestDecodedSize(t *testing.T) {
	for _, tc := range []struct{ enc, body string }{
		{"base64", "aGVsbG8gd29ybGQ=\r\n"},
		{"base64", "aGVs\r\nbG8g\r\nd29y\r\nbGQ\r\n"},
		{"base64", "aGVsbG8=\r\nd29ybGQ=\r\n"},
		{"base64", "!!aG Vs*bG8gd29y bGQ==\r\n"},
		{"quoted-printable", "h=C3=A9llo =\r\nworld  \r\nnext\r\n"},
		{"7bit", "plain body\r\n"},
	} {
		raw := []byte("Content-Transfer-Encoding: " + tc.enc + "\r\n\r\n" + tc.body)
		p := message.Parse(raw)
		want := readPart(raw, p.Root, 1<<20)
		if got := decodedSize(raw, p.Root); got != int64(len(want)) {
			t.Errorf("%s %q: decodedSize %d, decoded %d bytes", tc.enc, tc.body, got, len(want))
		}
	}
}

func TestSMIMESigned(t *testing.T) {
	m, raw := convertFile(t, "testdata/smime-signed.eml", nil)
	wantString(t, m.Props, mp.PidTagMessageClass, "IPM.Note.SMIME.MultipartSigned")
	wantString(t, m.Props, mp.PidTagBody, "This text is signed.")
	if len(m.Attachments) != 1 {
		t.Fatalf("%d attachments", len(m.Attachments))
	}
	a := m.Attachments[0]
	wantString(t, a.Props, mp.PidTagAttachLongFilename, "smime.p7m")
	wantString(t, a.Props, mp.PidTagAttachMimeTag, "multipart/signed")
	data := a.Bytes()
	// smime.p7m is the signed entity itself: it parses as the same
	// multipart/signed with the same body bytes the signature covers.
	orig, ent := message.Parse(raw), message.Parse(data)
	if ent.Root.ContentType() != "multipart/signed" || ent.Root.Params["boundary"] != "sig" ||
		!bytes.Equal(ent.Root.BodyBytes(data), orig.Root.BodyBytes(raw)) || len(ent.Warnings) > 0 {
		t.Errorf("smime.p7m = %q (warnings %v)", data, ent.Warnings)
	}
	// Opaque S/MIME.
	m = derive(t, "From: a@example.com\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\nContent-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHA6CAMIA=\n", nil, ToMAPIOptions{})
	wantString(t, m.Props, mp.PidTagMessageClass, "IPM.Note.SMIME")
	if len(m.Attachments) != 1 || !bytes.HasPrefix(m.Attachments[0].Bytes(), []byte{0x30, 0x80, 0x06, 0x09}) {
		t.Errorf("opaque attachment = %+v", m.Attachments)
	}
}

func TestSenderAndOptions(t *testing.T) {
	m, _ := convertFile(t, "testdata/sender-options.eml", nil)
	p := m.Props
	wantString(t, p, mp.PidTagSentRepresentingSmtpAddress, "boss@example.com")
	wantString(t, p, mp.PidTagSenderSmtpAddress, "assistant@example.com")
	wantString(t, p, mp.PidTagSubjectPrefix, "FW: ")
	wantString(t, p, mp.PidTagNormalizedSubject, "Holiday schedule")
	wantString(t, p, mp.PidTagConversationTopic, "Holiday schedule")
	wantInt32(t, p, mp.PidTagSensitivity, SensitivityCompanyConfidential)
	wantInt32(t, p, mp.PidTagImportance, ImportanceLow)
	wantInt32(t, p, PidTagAutoResponseSuppress, 0x11)
	if !p.Bool(mp.PidTagReadReceiptRequested) || !p.Bool(mp.PidTagOriginatorDeliveryReportRequested) {
		t.Error("receipt requests missing")
	}
	if idx := p.Binary(mp.PidTagConversationIndex); len(idx) != 22 || idx[0] != 1 {
		t.Errorf("Thread-Index not decoded: %x", idx)
	}
	eids, err := ParseFlatEntryList(p.Binary(mp.PidTagReplyRecipientEntries))
	if err != nil || len(eids) != 2 {
		t.Fatalf("reply-to entries: %v %d", err, len(eids))
	}
	oo, err := mp.ParseOneOffEntryID(eids[0])
	if err != nil || oo.EmailAddress != "team@example.com" || oo.DisplayName != "Team" {
		t.Errorf("reply-to 0 = %+v %v", oo, err)
	}
	// Bcc is a recipient of type Bcc.
	var bcc int
	for _, r := range m.Recipients {
		if typ, _ := r.Int32(mp.PidTagRecipientType); typ == mp.RecipientBcc {
			bcc++
			wantString(t, r, mp.PidTagSmtpAddress, "audit@example.com")
		}
	}
	if bcc != 1 {
		t.Errorf("%d Bcc recipients", bcc)
	}
}

func TestImportanceOrder(t *testing.T) {
	for hdr, want := range map[string]int32{
		"Importance: low\nX-Priority: 1\n":       ImportanceLow,
		"X-Priority: 2 (High)\n":                 ImportanceHigh,
		"Priority: non-urgent\n":                 ImportanceLow,
		"X-MSMail-Priority: High\n":              ImportanceHigh,
		"":                                       ImportanceNormal,
		"Importance: normal\nPriority: urgent\n": ImportanceNormal,
	} {
		m := derive(t, hdr+"Subject: x\n\nbody\n", nil, ToMAPIOptions{})
		wantInt32(t, m.Props, mp.PidTagImportance, want)
	}
}

func TestOptionsFlags(t *testing.T) {
	raw := "From: a@example.com\nTo: me@example.com\nCc: other@example.com\nReceived: by x; Mon, 03 Jun 2024 10:00:00 +0000\nDate: Mon, 03 Jun 2024 09:00:00 +0000\n\nbody\n"
	m := derive(t, raw, nil, ToMAPIOptions{Unsent: true, ReceivedBy: Mailbox{Address: "ME@example.com"}})
	flags, _ := m.Props.Int32(mp.PidTagMessageFlags)
	if flags&mp.MessageFlagRead != 0 || flags&mp.MessageFlagUnsent == 0 {
		t.Errorf("flags = 0x%x", flags)
	}
	if v, _ := m.Props.Get(mp.PidTagMessageDeliveryTime); !v.Data.(time.Time).Equal(time.Date(2024, 6, 3, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("delivery time from Received = %v", v)
	}
	if !m.Props.Bool(mp.PidTagMessageToMe) || m.Props.Bool(mp.PidTagMessageCcMe) {
		t.Error("to-me flags wrong")
	}
}

// fakeAddressBook knows the organisation's users.
type fakeAddressBook map[string]string

func (ab fakeAddressBook) EntryID(_ context.Context, addr string) ([]byte, uint32, bool) {
	dn, ok := ab[strings.ToLower(addr)]
	if !ok {
		return nil, 0, false
	}
	return mp.AddressBookEntryID{DisplayType: mp.DisplayTypeMailUser, X500DN: dn}.Bytes(), mp.DisplayTypeMailUser, true
}

func TestAddressBookEntryIDs(t *testing.T) {
	ab := fakeAddressBook{"bob@example.com": "/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=bob"}
	m := derive(t, "From: Bob <bob@example.com>\nTo: Bob <BOB@example.com>, x@outside.example\n\nhi\n", nil, ToMAPIOptions{AddressBook: ab})
	if k := mp.ClassifyEntryID(m.Props.Binary(mp.PidTagSenderEntryId)); k != mp.EntryIDAddressBook {
		t.Errorf("sender entry id kind %v", k)
	}
	if k := mp.ClassifyEntryID(m.Recipients[0].Binary(mp.PidTagEntryId)); k != mp.EntryIDAddressBook {
		t.Errorf("local recipient entry id kind %v", k)
	}
	oo, err := mp.ParseOneOffEntryID(m.Recipients[1].Binary(mp.PidTagEntryId))
	if err != nil || oo.EmailAddress != "x@outside.example" || oo.AddressType != "SMTP" {
		t.Errorf("outside recipient one-off = %+v %v", oo, err)
	}
}

func TestNamedPropsBounded(t *testing.T) {
	var sb strings.Builder
	for i := 0; i < 500; i++ {
		sb.WriteString("X-Junk-" + strings.Repeat("a", i%7) + itoa(i) + ": v\n")
	}
	sb.WriteString("X-Mailer: m\nKeywords: a, b\n\nbody\n")
	np := newFakeNamedProps()
	m := derive(t, sb.String(), np, ToMAPIOptions{})
	if len(np.ids) != 2 {
		t.Errorf("created %d named properties, want only X-Mailer and Keywords: %v", len(np.ids), np.ids)
	}
	if np.calls > 2 {
		t.Errorf("%d IDs calls, want at most 2", np.calls)
	}
	var named int
	for _, v := range m.Props.Values() {
		if v.Tag.IsNamed() {
			named++
		}
	}
	if named != 2 {
		t.Errorf("%d named values set", named)
	}
	// Errors of the named property map are returned.
	_, err := InetToMAPI(context.Background(), []byte("X-A: b\n\n"), nil, failingNP{}, ToMAPIOptions{})
	if !errors.Is(err, errNP) {
		t.Errorf("err = %v", err)
	}
}

var errNP = errors.New("store down")

type failingNP struct{}

func (failingNP) IDs(context.Context, []mp.PropertyName, bool) ([]uint16, error) { return nil, errNP }

func TestMalformedNeverFails(t *testing.T) {
	for _, raw := range []string{
		"",
		"\r\n\r\n",
		"garbage without header",
		"From: <<<@@@>>>\nTo: ;;;,,,\nSubject: =?bogus?Q?=FF?=\nDate: yesterday\n\n",
		"Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: message/rfc822\n\n--x--",
		"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n",
		"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n\n\n\n--b--",
		"Subject: \x00\x01\x02 nul\nFrom: \"\x00\" <a@b>\n\n\x00",
	} {
		m, err := InetToMAPI(context.Background(), []byte(raw), nil, newFakeNamedProps(), ToMAPIOptions{})
		if err != nil || m == nil {
			t.Fatalf("%q: %v", raw, err)
		}
		for _, v := range m.Props.Values() {
			if s, ok := v.Data.(string); ok && strings.ContainsRune(s, 0) {
				t.Errorf("%q: %s contains NUL", raw, TagName(v.Tag))
			}
		}
		if _, err := MAPIToInet(m, ToInetOptions{}); err != nil {
			t.Errorf("%q: render: %v", raw, err)
		}
	}
}

func TestSplitSubject(t *testing.T) {
	for _, tc := range []struct{ in, prefix, norm string }{
		{"Re: hello", "Re: ", "hello"},
		{"FW: hi", "FW: ", "hi"},
		{"Fwd:   spaced", "Fwd: ", "spaced"},
		{"AW:x", "AW: ", "x"},
		{"Antw: four letters", "", "Antw: four letters"},
		{"1: numbered", "", "1: numbered"},
		{"R2: digit", "", "R2: digit"},
		{": empty", "", ": empty"},
		{"a b: blank", "", "a b: blank"},
		{"Ответ: кириллица", "", "Ответ: кириллица"},
		{"Отв: кириллица", "Отв: ", "кириллица"},
		{"no prefix", "", "no prefix"},
		{"", "", ""},
	} {
		p, n := SplitSubject(tc.in)
		if p != tc.prefix || n != tc.norm {
			t.Errorf("SplitSubject(%q) = %q, %q; want %q, %q", tc.in, p, n, tc.prefix, tc.norm)
		}
	}
}

func TestPropsGet(t *testing.T) {
	var p Props
	p.Set(mp.StringValue(mp.PidTagSubject, "hi\x00there"))
	p.Set(mp.Int32Value(mp.PidTagMessageSize, 42))
	if v, ok := p.Get(mp.PidTagSubject.WithType(mp.PtypString8)); !ok || v.Tag.Type() != mp.PtypString8 || v.Data != "hithere" {
		t.Errorf("string8 get = %v %v", v, ok)
	}
	if v, ok := p.Get(mp.PidTagMessageSizeExtended); !ok || v.Data != int64(42) {
		t.Errorf("size extended = %v %v", v, ok)
	}
	if v, ok := p.Get(mp.PidTagSubject.WithType(mp.PtypUnspecified)); !ok || v.Tag != mp.PidTagSubject {
		t.Errorf("unspecified = %v", v)
	}
	if _, ok := p.Get(mp.PidTagSubject.WithType(mp.PtypBinary)); ok {
		t.Error("type mismatch answered")
	}
	if _, ok := p.Get(mp.PidTagBody); ok {
		t.Error("missing property answered")
	}
	tags := p.Tags()
	if len(tags) != 2 || tags[0] != mp.PidTagSubject || tags[1] != mp.PidTagMessageSize {
		t.Errorf("tags = %v", tags)
	}
}

func TestFlatEntryList(t *testing.T) {
	in := [][]byte{OneOffEntryID("A", "a@example.com"), {1, 2, 3}, OneOffEntryID("", "bb@example.com")}
	out, err := ParseFlatEntryList(FlatEntryList(in))
	if err != nil || len(out) != 3 {
		t.Fatalf("%v %d", err, len(out))
	}
	for i := range in {
		if !bytes.Equal(in[i], out[i]) {
			t.Errorf("entry %d: %x != %x", i, out[i], in[i])
		}
	}
	for _, bad := range [][]byte{nil, {1, 0, 0, 0}, {5, 0, 0, 0, 4, 0, 0, 0, 9, 9, 9, 9}, {1, 0, 0, 0, 8, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0}} {
		if _, err := ParseFlatEntryList(bad); err == nil {
			t.Errorf("%x parsed", bad)
		}
	}
}

func TestHTMLToText(t *testing.T) {
	for in, want := range map[string]string{
		"<p>one</p><p>two</p>":                                    "one\n\ntwo",
		"a<br>b<br/>c":                                            "a\nb\nc",
		"<b>bold</b> and <i>it</i>":                               "bold and it",
		"x&nbsp;y &amp; z":                                        "x y & z",
		"<script>evil()</script><style>p{}</style>shown":          "shown",
		"<ul><li>a</li><li>b</li></ul>":                           "* a\n* b",
		`<a href="http://x.example/">http://x.example/</a>`:       "http://x.example/",
		`<a href="http://x.example/">site</a>`:                    "site <http://x.example/>",
		`<a href="mailto:a@b.c">write</a>`:                        "write <a@b.c>",
		"<pre>  keep\n  this</pre>":                               "keep\n  this",
		"  lots   of\n\n  space  ":                                "lots of space",
		`<img src="cid:x" alt="Logo">text`:                        "[Logo]text",
		"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr>": "a\tb\nc",
	} {
		if got := HTMLToText(in); got != want {
			t.Errorf("HTMLToText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConversationIndexStable(t *testing.T) {
	raw := "Date: Mon, 03 Jun 2024 09:00:00 +0000\nReferences: <root@x> <mid@x>\nIn-Reply-To: <mid@x>\nMessage-ID: <me@x>\n\nb\n"
	a := derive(t, raw, nil, ToMAPIOptions{}).Props.Binary(mp.PidTagConversationIndex)
	b := derive(t, raw, nil, ToMAPIOptions{}).Props.Binary(mp.PidTagConversationIndex)
	if !bytes.Equal(a, b) || len(a) != 22+2*5 {
		t.Fatalf("index %x / %x", a, b)
	}
	// The thread root (first reference) decides the GUID: the root message
	// itself gets the same GUID.
	root := derive(t, "Date: Sun, 02 Jun 2024 09:00:00 +0000\nMessage-ID: <root@x>\n\nb\n", nil, ToMAPIOptions{}).Props.Binary(mp.PidTagConversationIndex)
	if len(root) != 22 || !bytes.Equal(root[6:22], a[6:22]) {
		t.Errorf("root %x and reply %x do not share the GUID", root, a)
	}
}
