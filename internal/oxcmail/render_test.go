package oxcmail

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
)

// render renders m and checks the result is well-formed: it parses without
// warnings, uses CRLF line ends only, has no line longer than 998 octets
// and no 8-bit octet outside an 8bit message/rfc822 part.
func render(t *testing.T, m *Message, opts ToInetOptions) ([]byte, *message.Parsed) {
	t.Helper()
	out, err := MAPIToInet(m, opts)
	if err != nil {
		t.Fatalf("MAPIToInet: %v", err)
	}
	checkWellFormed(t, out)
	return out, message.Parse(out)
}

func checkWellFormed(t *testing.T, out []byte) {
	t.Helper()
	p := message.Parse(out)
	if len(p.Warnings) > 0 {
		t.Errorf("rendered message has warnings %v:\n%s", p.Warnings, out)
	}
	for i, line := range bytes.Split(out, []byte("\r\n")) {
		if bytes.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(line) > 998 {
			t.Errorf("line %d is %d octets long", i+1, len(line))
		}
	}
	if bytes.IndexFunc(out, func(r rune) bool { return r >= 0x80 }) >= 0 && !bytes.Contains(out, []byte("Content-Transfer-Encoding: 8bit")) {
		t.Errorf("8-bit octets in a 7-bit message:\n%s", out)
	}
}

func rederive(t *testing.T, raw []byte) *Message {
	t.Helper()
	m, err := InetToMAPI(context.Background(), raw, message.Parse(raw), nil, ToMAPIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sampleMessage is a message as Outlook would build it through MAPI.
func sampleMessage() *Message {
	m := &Message{}
	p := &m.Props
	p.setString(mp.PidTagMessageClass, "IPM.Note")
	p.setString(mp.PidTagSubject, "Re: Grüße aus München — a subject that is long enough to need folding over several lines")
	p.setString(mp.PidTagSentRepresentingName, "Jürgen Müller")
	p.setString(mp.PidTagSentRepresentingAddressType, "SMTP")
	p.setString(mp.PidTagSentRepresentingEmailAddress, "juergen@example.de")
	p.setString(mp.PidTagSenderName, "Jürgen Müller")
	p.setString(mp.PidTagSenderSmtpAddress, "juergen@example.de")
	long := strings.Repeat("0123456789", 120)
	p.setString(mp.PidTagBody, "Hallo,\r\nviele Grüße.\r\n"+long+"\r\nA line with trailing blanks   \r\n.\r\nFrom the start\r\n")
	p.setBinary(mp.PidTagHtml, []byte("<html><body><p>Hallo, viele <b>Grüße</b>.</p><img src=\"cid:logo@pochta\"></body></html>"))
	p.setInt32(mp.PidTagInternetCodepage, 65001)
	p.Set(mp.TimeValue(mp.PidTagClientSubmitTime, time.Date(2024, 6, 2, 10, 11, 12, 0, time.UTC)))
	p.setInt32(mp.PidTagImportance, ImportanceHigh)
	p.setInt32(mp.PidTagSensitivity, SensitivityPrivate)
	p.setInt32(mp.PidTagPriority, PriorityUrgent)
	p.setString(mp.PidTagInternetMessageId, "<new-1@example.de>")
	p.setString(mp.PidTagInReplyToId, "<orig-1@example.com>")
	p.setString(mp.PidTagInternetReferences, "<root-0@example.com> <orig-1@example.com>")
	p.setBool(mp.PidTagReadReceiptRequested, true)
	p.setString(mp.PidTagConversationTopic, "Grüße aus München")
	p.setBinary(mp.PidTagConversationIndex, ConversationIndex(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), "root-0@example.com", 1))
	p.setBinary(mp.PidTagReplyRecipientEntries, FlatEntryList([][]byte{OneOffEntryID("Team Ü", "team@example.de")}))

	rcpt := func(typ int32, name, addr string) Props {
		var r Props
		r.setInt32(mp.PidTagRecipientType, typ)
		r.setString(mp.PidTagDisplayName, name)
		r.setString(mp.PidTagAddressType, "SMTP")
		r.setString(mp.PidTagEmailAddress, addr)
		return r
	}
	m.Recipients = append(m.Recipients,
		rcpt(mp.RecipientTo, "Иван Петров", "ivan@example.ru"),
		rcpt(mp.RecipientTo, `Dave "the" Third, Jr.`, "dave@example.net"),
		rcpt(mp.RecipientCc, "", "carol@example.com"),
		rcpt(mp.RecipientBcc, "Audit", "audit@example.com"))
	// An Exchange recipient without an SMTP address cannot be rendered.
	var ex Props
	ex.setInt32(mp.PidTagRecipientType, mp.RecipientTo)
	ex.setString(mp.PidTagDisplayName, "Unresolved")
	ex.setString(mp.PidTagAddressType, "EX")
	ex.setString(mp.PidTagEmailAddress, "/o=Org/cn=Recipients/cn=unresolved")
	m.Recipients = append(m.Recipients, ex)
	// A recipient known only by its one-off entry id.
	var oo Props
	oo.setInt32(mp.PidTagRecipientType, mp.RecipientCc)
	oo.setBinary(mp.PidTagEntryId, OneOffEntryID("One Off", "oneoff@example.org"))
	m.Recipients = append(m.Recipients, oo)

	pdf := make([]byte, 0, 1024)
	for i := 0; i < 1024; i++ {
		pdf = append(pdf, byte(i*7))
	}
	att := func(name, mime string, data []byte) *Attachment {
		a := &Attachment{}
		a.Props.setInt32(mp.PidTagAttachMethod, mp.AttachMethodByValue)
		a.Props.setString(mp.PidTagAttachLongFilename, name)
		a.Props.setString(mp.PidTagAttachMimeTag, mime)
		a.Props.setBinary(mp.PidTagAttachDataBinary, data)
		return a
	}
	logo := att("logo.png", "image/png", []byte("\x89PNG\r\n\x1a\nfake image"))
	logo.Props.setString(mp.PidTagAttachContentId, "logo@pochta")
	logo.Props.setBool(PidTagAttachmentHidden, true)
	logo.Props.setInt32(mp.PidTagAttachFlags, AttachRenderedInBody)

	inner := &Message{}
	inner.Props.setString(mp.PidTagSubject, "Inner message")
	inner.Props.setString(mp.PidTagSentRepresentingSmtpAddress, "inner@example.org")
	inner.Props.setString(mp.PidTagBody, "inner body")
	inner.Props.Set(mp.TimeValue(mp.PidTagClientSubmitTime, time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)))
	inner.Recipients = []Props{rcpt(mp.RecipientTo, "X", "x@example.org")}
	inner.Attachments = []*Attachment{att("notes.txt", "text/plain", []byte("inner attachment\n"))}
	emb := &Attachment{Embedded: inner}
	emb.Props.setInt32(mp.PidTagAttachMethod, mp.AttachMethodEmbedded)
	emb.Props.setString(mp.PidTagDisplayName, "Inner message")

	m.Attachments = []*Attachment{
		att("Квартальный отчёт за второй квартал две тысячи двадцать четвёртого года.pdf", "application/pdf", pdf),
		logo,
		emb,
		att("data.bin", "", []byte{0, 1, 2, 3, 0xff}),
		att(`we"ird\name.txt`, "text/plain; charset=utf-8", []byte("text ü\r\n")),
	}
	return m
}

// TestRoundTripMAPI renders a MAPI-made message and derives it back: the
// key properties must survive.
func TestRoundTripMAPI(t *testing.T) {
	m := sampleMessage()
	out, parsed := render(t, m, ToInetOptions{Hostname: "mail.example.de", KeepBcc: true})
	back, err := InetToMAPI(context.Background(), out, parsed, nil, ToMAPIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantString(t, back.Props, mp.PidTagSentRepresentingSmtpAddress, "juergen@example.de")
	for _, tag := range []mp.Tag{mp.PidTagSubject, mp.PidTagSentRepresentingName,
		mp.PidTagSenderSmtpAddress, mp.PidTagInternetMessageId, mp.PidTagInReplyToId, mp.PidTagInternetReferences,
		mp.PidTagConversationTopic, mp.PidTagMessageClass} {
		wantString(t, back.Props, tag, m.Props.String(tag))
	}
	if got, want := back.Props.String(mp.PidTagBody), m.Props.String(mp.PidTagBody); got != want {
		t.Errorf("body:\n got %q\nwant %q", got, want)
	}
	if got, want := back.Props.Binary(mp.PidTagHtml), m.Props.Binary(mp.PidTagHtml); !bytes.Equal(got, want) {
		t.Errorf("html:\n got %q\nwant %q", got, want)
	}
	for _, tag := range []mp.Tag{mp.PidTagImportance, mp.PidTagSensitivity, mp.PidTagPriority} {
		want, _ := m.Props.Int32(tag)
		wantInt32(t, back.Props, tag, want)
	}
	for _, tag := range []mp.Tag{mp.PidTagClientSubmitTime} {
		a, _ := m.Props.Get(tag)
		b, ok := back.Props.Get(tag)
		if !ok || !a.Data.(time.Time).Equal(b.Data.(time.Time)) {
			t.Errorf("%s = %v, want %v", TagName(tag), b.Data, a.Data)
		}
	}
	if !bytes.Equal(back.Props.Binary(mp.PidTagConversationIndex), m.Props.Binary(mp.PidTagConversationIndex)) {
		t.Error("conversation index lost")
	}
	if !back.Props.Bool(mp.PidTagReadReceiptRequested) {
		t.Error("read receipt request lost")
	}
	wantString(t, back.Props, mp.PidTagReplyRecipientNames, "Team Ü")

	// Recipients: all with an SMTP address, in order, with types and names.
	type rc struct {
		typ        int32
		name, addr string
	}
	// The header groups them by type: To, then Cc, then Bcc.
	var want []rc
	for _, r := range slices.SortedStableFunc(slices.Values(m.Recipients), func(a, b Props) int {
		ta, _ := a.Int32(mp.PidTagRecipientType)
		tb, _ := b.Int32(mp.PidTagRecipientType)
		return int(ta - tb)
	}) {
		if mb, ok := RecipientMailbox(r); ok {
			typ, _ := r.Int32(mp.PidTagRecipientType)
			name := mb.Name
			if name == "" {
				name = mb.Address
			}
			want = append(want, rc{typ, name, mb.Address})
		}
	}
	var got []rc
	for _, r := range back.Recipients {
		typ, _ := r.Int32(mp.PidTagRecipientType)
		got = append(got, rc{typ, r.String(mp.PidTagDisplayName), r.String(mp.PidTagSmtpAddress)})
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(want) != 5 {
		t.Errorf("recipients:\n got %v\nwant %v", got, want)
	}

	// Attachments: names, bytes, inline-ness and the embedded message.
	if len(back.Attachments) != len(m.Attachments) {
		t.Fatalf("%d attachments, want %d:\n%s", len(back.Attachments), len(m.Attachments), out)
	}
	byName := map[string]*Attachment{}
	for _, a := range back.Attachments {
		byName[a.Props.String(mp.PidTagDisplayName)] = a
	}
	for _, a := range m.Attachments {
		name := a.Props.String(mp.PidTagAttachLongFilename)
		if a.Embedded != nil {
			name = a.Props.String(mp.PidTagDisplayName)
		}
		name = sanitizeFileName(name)
		b := byName[name]
		if b == nil {
			t.Errorf("attachment %q lost; have %v", name, keys(byName))
			continue
		}
		if a.Embedded != nil {
			if b.Embedded == nil {
				t.Errorf("%q is no longer embedded", name)
				continue
			}
			wantString(t, b.Embedded.Props, mp.PidTagSubject, "Inner message")
			wantString(t, b.Embedded.Props, mp.PidTagBody, "inner body")
			if len(b.Embedded.Attachments) != 1 || string(b.Embedded.Attachments[0].Bytes()) != "inner attachment\n" {
				t.Errorf("embedded attachments = %v", b.Embedded.Attachments)
			}
			continue
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%q: data %q, want %q", name, b.Bytes(), a.Bytes())
		}
		if a.Props.Bool(PidTagAttachmentHidden) != b.Props.Bool(PidTagAttachmentHidden) {
			t.Errorf("%q: hidden changed", name)
		}
		if id := a.Props.String(mp.PidTagAttachContentId); id != "" {
			wantString(t, b.Props, mp.PidTagAttachContentId, id)
		}
	}
	wantString(t, byName["data.bin"].Props, mp.PidTagAttachMimeTag, "application/octet-stream")
	wantString(t, byName["we_ird_name.txt"].Props, PidTagTextAttachmentCharset, "utf-8")

	// Without KeepBcc the Bcc recipient is not in the header.
	out2, _ := render(t, m, ToInetOptions{})
	if bytes.Contains(out2, []byte("audit@example.com")) {
		t.Error("Bcc rendered without KeepBcc")
	}
	if got := m.EnvelopeRecipients(); fmt.Sprint(got) != "[ivan@example.ru dave@example.net carol@example.com audit@example.com oneoff@example.org]" {
		t.Errorf("envelope recipients = %v", got)
	}
	if s := m.Sender(); s.Address != "juergen@example.de" {
		t.Errorf("sender = %+v", s)
	}
}

func keys(m map[string]*Attachment) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRoundTripMIME derives every corpus message, renders it and derives
// it again: what a client sees must not change.
func TestRoundTripMIME(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			m, _ := convertFile(t, name, nil)
			out, parsed := render(t, m, ToInetOptions{KeepBcc: true})
			back, err := InetToMAPI(context.Background(), out, parsed, nil, goldenOptions())
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(m.Props.String(mp.PidTagMessageClass), "REPORT.") {
				// A report keeps its class only in the MIME it came
				// as; rendered from MAPI it is a plain message.
				m.Props.Delete(mp.PidTagMessageClass.ID())
				back.Props.Delete(mp.PidTagMessageClass.ID())
			}
			if a, b := summary(m), summary(back); a != b {
				t.Errorf("round trip changed the message:\n before %s\n  after %s\n%s", a, b, out)
			}
		})
	}
}

// summary lists what a reader sees of a message, recursively.
func summary(m *Message) string {
	var sb strings.Builder
	p := m.Props
	fmt.Fprintf(&sb, "class=%s subject=%q from=%q<%s> sender=%s", p.String(mp.PidTagMessageClass), p.String(mp.PidTagSubject),
		p.String(mp.PidTagSentRepresentingName), p.String(mp.PidTagSentRepresentingSmtpAddress), p.String(mp.PidTagSenderSmtpAddress))
	if v, ok := p.Get(mp.PidTagClientSubmitTime); ok {
		fmt.Fprintf(&sb, " date=%s", v.Data.(time.Time).Format(time.RFC3339))
	}
	imp, _ := p.Int32(mp.PidTagImportance)
	sens, _ := p.Int32(mp.PidTagSensitivity)
	fmt.Fprintf(&sb, " imp=%d sens=%d id=%s irt=%s refs=%q topic=%q", imp, sens, p.String(mp.PidTagInternetMessageId),
		p.String(mp.PidTagInReplyToId), p.String(mp.PidTagInternetReferences), p.String(mp.PidTagConversationTopic))
	fmt.Fprintf(&sb, " body=%q html=%q", strings.ReplaceAll(p.String(mp.PidTagBody), "\r\n", "\n"), bytes.ReplaceAll(p.Binary(mp.PidTagHtml), []byte("\r\n"), []byte("\n")))
	fmt.Fprintf(&sb, " replyto=%q rr=%v", p.String(mp.PidTagReplyRecipientNames), p.Bool(mp.PidTagReadReceiptRequested))
	for _, r := range m.Recipients {
		typ, _ := r.Int32(mp.PidTagRecipientType)
		fmt.Fprintf(&sb, " rcpt(%d %q <%s>)", typ, r.String(mp.PidTagDisplayName), r.String(mp.PidTagSmtpAddress))
	}
	for _, a := range m.Attachments {
		if a.Embedded != nil {
			fmt.Fprintf(&sb, " embedded{%s}", summary(a.Embedded))
			continue
		}
		fmt.Fprintf(&sb, " att(%q %s hidden=%v cid=%q %d bytes %x)", a.Props.String(mp.PidTagAttachLongFilename),
			a.Props.String(mp.PidTagAttachMimeTag), a.Props.Bool(PidTagAttachmentHidden),
			a.Props.String(mp.PidTagAttachContentId), len(a.Bytes()), shortHash(a.Bytes()))
	}
	return sb.String()
}

func TestHeaderInjection(t *testing.T) {
	m := &Message{}
	m.Props.setString(mp.PidTagSubject, "hi\r\nBcc: victim@example.com\r\n\r\nbody")
	m.Props.setString(mp.PidTagSentRepresentingName, "Evil\r\nX-Injected: 1")
	m.Props.setString(mp.PidTagSentRepresentingSmtpAddress, "evil@example.com")
	m.Props.setString(mp.PidTagInternetMessageId, "<a@b>\r\nX-Injected: 2")
	m.Props.setString(mp.PidTagInReplyToId, "<x\r\n@y>")
	var r Props
	r.setInt32(mp.PidTagRecipientType, mp.RecipientTo)
	r.setString(mp.PidTagSmtpAddress, "a@b.c\r\nX-Injected: 3")
	r.setString(mp.PidTagDisplayName, "To\r\nX-Injected: 4")
	m.Recipients = []Props{r}
	a := &Attachment{}
	a.Props.setInt32(mp.PidTagAttachMethod, mp.AttachMethodByValue)
	a.Props.setString(mp.PidTagAttachLongFilename, "x\r\nX-Injected: 5.txt")
	a.Props.setString(mp.PidTagAttachMimeTag, "text/plain\r\nX-Injected: 6")
	a.Props.setString(mp.PidTagAttachContentId, "id\r\nX-Injected: 7")
	a.Props.setBinary(mp.PidTagAttachDataBinary, []byte("x"))
	m.Attachments = []*Attachment{a}
	out, parsed := render(t, m, ToInetOptions{})
	for _, f := range message.ReadHeader(out[:parsed.Root.BodyStart]) {
		if strings.EqualFold(f.Key, "X-Injected") || strings.EqualFold(f.Key, "Bcc") {
			t.Errorf("injected field %q:\n%s", f.Raw, out)
		}
	}
	back := rederive(t, out)
	wantString(t, back.Props, mp.PidTagSubject, "hi Bcc: victim@example.com body")
	if len(back.Recipients) != 0 {
		t.Errorf("invalid recipient address rendered: %v", back.Recipients)
	}
	for _, a := range back.Attachments {
		if strings.ContainsAny(a.Props.String(mp.PidTagAttachLongFilename), "\r\n") {
			t.Error("file name with line break")
		}
	}
}

func TestRenderStructure(t *testing.T) {
	// Text only: a single text/plain part, 7bit when ASCII.
	m := &Message{}
	m.Props.setString(mp.PidTagBody, "plain\nbody")
	out, p := render(t, m, ToInetOptions{Now: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Hostname: "h.example"})
	if p.Root.ContentType() != "text/plain" || p.Root.Encoding != "7bit" {
		t.Errorf("text-only: %s %s", p.Root.ContentType(), p.Root.Encoding)
	}
	if !bytes.Contains(out, []byte("Date: Tue, 02 Jan 2024 03:04:05 +0000\r\n")) || !bytes.Contains(out, []byte("@h.example>\r\n")) {
		t.Errorf("date or generated message id missing:\n%s", out)
	}
	if got := message.TextBody(out, p); got != "plain\r\nbody" {
		t.Errorf("body %q", got)
	}
	// HTML only: multipart/alternative with a generated text part.
	m = &Message{}
	m.Props.Set(mp.StringValue(mp.PidTagBodyHtml, "<p>only <b>html</b></p>"))
	out, p = render(t, m, ToInetOptions{})
	if p.Root.ContentType() != "multipart/alternative" {
		t.Fatalf("html-only root %s", p.Root.ContentType())
	}
	if got := message.TextBody(out, p); got != "only html" {
		t.Errorf("generated text %q", got)
	}
	// An inline attachment without HTML is a regular attachment.
	m = &Message{}
	m.Props.setString(mp.PidTagBody, "b")
	a := &Attachment{}
	a.Props.setInt32(mp.PidTagAttachMethod, mp.AttachMethodByValue)
	a.Props.setString(mp.PidTagAttachContentId, "x@y")
	a.Props.setBool(PidTagAttachmentHidden, true)
	a.Props.setBinary(mp.PidTagAttachDataBinary, []byte("img"))
	m.Attachments = []*Attachment{a}
	_, p = render(t, m, ToInetOptions{})
	if p.Root.ContentType() != "multipart/mixed" || len(message.Attachments(p)) != 1 {
		t.Errorf("inline without html: %s", p.Root.ContentType())
	}
	// HTML in a legacy code page keeps its bytes and charset.
	m = &Message{}
	m.Props.setBinary(mp.PidTagHtml, []byte("<p>\xcf\xf0\xe8\xe2\xe5\xf2</p>"))
	m.Props.setInt32(mp.PidTagInternetCodepage, 1251)
	out, p = render(t, m, ToInetOptions{})
	hp := message.HTMLPart(p)
	if hp == nil || hp.Params["charset"] != "windows-1251" || message.DecodeText(out, hp) != "<p>Привет</p>" {
		t.Errorf("cp1251 html part: %+v\n%s", hp, out)
	}
	if got := message.TextBody(out, p); got != "Привет" {
		t.Errorf("text from cp1251 html %q", got)
	}
}

func TestRenderSMIME(t *testing.T) {
	m, raw := convertFile(t, "testdata/smime-signed.eml", nil)
	out, p := render(t, m, ToInetOptions{})
	orig := message.Parse(raw)
	if p.Root.ContentType() != "multipart/signed" || p.Root.Params["protocol"] != "application/pkcs7-signature" {
		t.Fatalf("root %s:\n%s", p.Root.ContentType(), out)
	}
	// The signed bytes must be exactly the original ones.
	if !bytes.Equal(p.Root.BodyBytes(out), orig.Root.BodyBytes(raw)) {
		t.Errorf("signed body changed:\n%s", out)
	}
	back := rederive(t, out)
	wantString(t, back.Props, mp.PidTagMessageClass, "IPM.Note.SMIME.MultipartSigned")
	wantString(t, back.Props, mp.PidTagSubject, "Signed message")

	// Opaque: application/pkcs7-mime with the right smime-type.
	m = &Message{}
	m.Props.setString(mp.PidTagMessageClass, "IPM.Note.SMIME")
	a := &Attachment{}
	a.Props.setInt32(mp.PidTagAttachMethod, mp.AttachMethodByValue)
	a.Props.setString(mp.PidTagAttachLongFilename, "smime.p7m")
	a.Props.setString(mp.PidTagAttachMimeTag, "application/pkcs7-mime")
	der := []byte{0x30, 0x80, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03, 0xA0, 0x80}
	a.Props.setBinary(mp.PidTagAttachDataBinary, der)
	m.Attachments = []*Attachment{a}
	out, p = render(t, m, ToInetOptions{})
	if p.Root.ContentType() != "application/pkcs7-mime" || p.Root.Params["smime-type"] != "enveloped-data" {
		t.Errorf("opaque root %s %v", p.Root.ContentType(), p.Root.Params)
	}
	if got := readPart(out, p.Root, 1<<20); !bytes.Equal(got, der) {
		t.Errorf("opaque body %x", got)
	}
	// A class that says S/MIME but an attachment that is not: normal
	// rendering.
	a.Props.setString(mp.PidTagAttachMimeTag, "multipart/signed")
	a.Props.setBinary(mp.PidTagAttachDataBinary, []byte("not mime"))
	_, p = render(t, m, ToInetOptions{})
	if p.Root.ContentType() != "multipart/mixed" {
		t.Errorf("bogus S/MIME rendered as %s", p.Root.ContentType())
	}
}

func TestRenderTooDeep(t *testing.T) {
	m := &Message{}
	a := &Attachment{Embedded: m}
	a.Props.setInt32(mp.PidTagAttachMethod, mp.AttachMethodEmbedded)
	m.Attachments = []*Attachment{a} // a cycle
	if _, err := MAPIToInet(m, ToInetOptions{}); err != ErrTooDeep {
		t.Errorf("err = %v", err)
	}
}

func TestRenderParams(t *testing.T) {
	// RFC 2231 continuations for a long non-ASCII name decode to the name.
	name := strings.Repeat("Ä", 40) + " " + strings.Repeat("x", 50) + ".txt"
	m := &Message{}
	a := &Attachment{}
	a.Props.setInt32(mp.PidTagAttachMethod, mp.AttachMethodByValue)
	a.Props.setString(mp.PidTagAttachLongFilename, name)
	a.Props.setBinary(mp.PidTagAttachDataBinary, []byte("d"))
	m.Attachments = []*Attachment{a}
	out, p := render(t, m, ToInetOptions{})
	atts := message.Attachments(p)
	if len(atts) != 1 || atts[0].FileName != name {
		t.Errorf("attachments %+v:\n%s", atts, out)
	}
	if !bytes.Contains(out, []byte("filename*0*=utf-8''")) {
		t.Errorf("no RFC 2231 continuation:\n%s", out)
	}
}

// TestNonASCIINamesWithSpecials covers display names and file names whose
// encoded-words must not expose ',' or '"' (RFC 2047 §5).
func TestNonASCIINamesWithSpecials(t *testing.T) {
	m := &Message{}
	m.Props.setString(mp.PidTagSentRepresentingName, `Müller, "Jürgen"`)
	m.Props.setString(mp.PidTagSentRepresentingSmtpAddress, "jm@example.de")
	for i, n := range []string{"Åsa, Berg", "Ünal (Team)", `Ölaf "Q" <x>`} {
		var r Props
		r.setInt32(mp.PidTagRecipientType, mp.RecipientTo)
		r.setString(mp.PidTagDisplayName, n)
		r.setString(mp.PidTagSmtpAddress, fmt.Sprintf("r%d@example.se", i))
		m.Recipients = append(m.Recipients, r)
	}
	a := &Attachment{}
	a.Props.setInt32(mp.PidTagAttachMethod, mp.AttachMethodByValue)
	a.Props.setString(mp.PidTagAttachLongFilename, `Bericht, "final" – März.pdf`)
	a.Props.setBinary(mp.PidTagAttachDataBinary, []byte("%PDF"))
	m.Attachments = []*Attachment{a}
	out, _ := render(t, m, ToInetOptions{})
	back := rederive(t, out)
	wantString(t, back.Props, mp.PidTagSentRepresentingName, `Müller, "Jürgen"`)
	if len(back.Recipients) != 3 {
		t.Fatalf("%d recipients:\n%s", len(back.Recipients), out)
	}
	for i, r := range back.Recipients {
		wantString(t, r, mp.PidTagDisplayName, m.Recipients[i].String(mp.PidTagDisplayName))
	}
	wantString(t, back.Attachments[0].Props, mp.PidTagAttachLongFilename, `Bericht, _final_ – März.pdf`)
	// Content-Type name= of old mailers decodes to the same name.
	p := message.Parse(out)
	part := message.Attachments(p)[0].Part
	if got := message.DecodeHeaderText(part.Params["name"]); got != `Bericht, _final_ – März.pdf` {
		t.Errorf("name param %q", got)
	}
}
