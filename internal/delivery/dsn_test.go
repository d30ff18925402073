package delivery

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/internal/message"
)

const original = "Return-Path: <alice@example.com>\r\n" +
	"Received: from x by y; Mon, 02 Mar 2026 10:00:00 +0000\r\n" +
	"From: Alice <alice@example.com>\r\n" +
	"Subject: Plans\r\n" +
	"Message-ID: <plans@example.com>\r\n" +
	"\r\n" +
	"Body text.\r\n"

func sampleDSN() *DSN {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	return &DSN{
		ReportingMTA: "mx.example.com", To: "alice@example.com", EnvID: "env+1=2", ArrivalDate: at, Date: at,
		Recipients: []DSNRecipient{
			{OriginalRecipient: "rfc822;team@example.com", FinalRecipient: "bob@foreign.example", Action: ActionFailed, Status: "5.1.1", RemoteMTA: "mx.foreign.example", Diagnostic: "550 5.1.1 no such user", LastAttempt: at},
			{FinalRecipient: "carol@foreign.example", Action: ActionDelayed, Status: "4.4.1", Diagnostic: "451 4.4.1 connection refused", LastAttempt: at, WillRetryUntil: at.Add(120 * time.Hour)},
		},
		Original: []byte(original),
	}
}

// A DSN is a valid RFC 3464 multipart/report that reads back the same.
func TestDSNRoundTrip(t *testing.T) {
	raw := sampleDSN().Bytes()
	p := message.Parse(raw)
	if p.Root.ContentType() != "multipart/report" || p.Root.Params["report-type"] != "delivery-status" || len(p.Root.Parts) != 3 {
		t.Fatalf("structure %s %v %d", p.Root.ContentType(), p.Root.Params, len(p.Root.Parts))
	}
	if ct := p.Root.Parts[1].ContentType(); ct != "message/delivery-status" {
		t.Fatalf("part 2 is %s", ct)
	}
	if len(p.Warnings) > 0 {
		t.Fatalf("parser warnings %v", p.Warnings)
	}
	rep, err := ParseDSN(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := sampleDSN()
	if rep.ReportingMTA != "mx.example.com" || rep.EnvID != want.EnvID || !rep.ArrivalDate.Equal(want.ArrivalDate) {
		t.Fatalf("per-message %+v", rep)
	}
	if len(rep.Recipients) != 2 {
		t.Fatalf("%d recipients", len(rep.Recipients))
	}
	r0, r1 := rep.Recipients[0], rep.Recipients[1]
	if r0.OriginalRecipient != "rfc822;team@example.com" || r0.FinalRecipient != "bob@foreign.example" || r0.Action != "failed" || r0.Status != "5.1.1" || r0.RemoteMTA != "mx.foreign.example" || r0.Diagnostic != "550 5.1.1 no such user" {
		t.Fatalf("recipient 1 %+v", r0)
	}
	if r1.Action != "delayed" || !r1.WillRetryUntil.Equal(want.Recipients[1].WillRetryUntil) {
		t.Fatalf("recipient 2 %+v", r1)
	}
	// Headers only, without our Return-Path:.
	if rep.OriginalType != "text/rfc822-headers" || !strings.Contains(string(rep.Original), "Subject: Plans") || strings.Contains(string(rep.Original), "Body text") || strings.Contains(string(rep.Original), "Return-Path") {
		t.Fatalf("returned %s %q", rep.OriginalType, rep.Original)
	}
	if !strings.Contains(string(raw), "Subject: Undelivered Mail Returned to Sender\r\n") || !strings.Contains(string(raw), "Auto-Submitted: auto-replied\r\n") {
		t.Errorf("top-level header:\n%s", raw[:400])
	}
	// Original-Envelope-Id is xtext (RFC 3461 §4.4).
	if !strings.Contains(string(raw), "Original-Envelope-Id: env+2B1+3D2\r\n") {
		t.Errorf("ENVID not xtext-encoded")
	}
}

// UTF-8 addresses switch to the RFC 6533 global types.
func TestDSNGlobal(t *testing.T) {
	d := sampleDSN()
	d.Recipients = []DSNRecipient{{FinalRecipient: "jürgen@bücher.example", Action: ActionFailed, Status: "5.1.1"}}
	d.Full = true
	raw := d.Bytes()
	rep, err := ParseDSN(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "Content-Type: message/global-delivery-status") || rep.Recipients[0].FinalRecipient != "jürgen@bücher.example" || rep.OriginalType != "message/global" {
		t.Fatalf("global DSN: %+v %s", rep.Recipients, rep.OriginalType)
	}
}

// A remote server's reply cannot add fields or parts to the report.
func TestDSNInjection(t *testing.T) {
	d := sampleDSN()
	d.Recipients[0].Diagnostic = "550 evil\r\nAction: delivered\r\n\r\nFinal-Recipient: rfc822; forged@x\r\n--" + "boundary"
	d.Recipients[0].RemoteMTA = "mx\r\nX-Evil: 1"
	d.To = "alice@example.com>\r\nBcc: victim@example.com"
	raw := d.Bytes()
	rep, err := ParseDSN(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Recipients) != 2 || rep.Recipients[0].Action != "failed" {
		t.Fatalf("injected: %+v", rep.Recipients)
	}
	for _, f := range message.ReadHeader(raw[:HeaderEnd(raw)]) {
		if f.Key == "Bcc" {
			t.Fatalf("Bcc field injected:\n%s", raw)
		}
	}
	if bytes.Contains(raw, []byte("\r\nX-Evil")) {
		t.Fatalf("header injection:\n%s", raw)
	}
}

func TestXtext(t *testing.T) {
	for _, s := range []string{"", "plain", "a+b=c", "sp ace", "\x00\xff"} {
		got, err := DecodeXtext(EncodeXtext(s))
		if err != nil || got != s {
			t.Errorf("%q: %q %v", s, got, err)
		}
	}
	for _, bad := range []string{"+", "+4", "+ZZ", "a=b", "sp ace", "+-1"} {
		if _, err := DecodeXtext(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestParseDSNRejectsOtherMail(t *testing.T) {
	for _, raw := range []string{"", "Subject: hi\r\n\r\nbody", "Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n"} {
		if _, err := ParseDSN([]byte(raw)); err == nil {
			t.Errorf("%q parsed as a DSN", raw)
		}
	}
}

// FuzzDSN: whatever a remote server answers and whatever the original
// message is, the report parses back with the same recipients, never grows
// extra recipients or top-level fields, and its structure stays intact.
func FuzzDSN(f *testing.F) {
	f.Add("550 5.1.1 no such user", "bob@foreign.example", "rfc822;team@example.com", "mx.foreign.example", []byte(original), "env", false)
	f.Add("451 4.4.1 \r\nAction: delivered", "a@b", "", "", []byte("no header at all"), "", true)
	f.Add("--=_dsn_x\r\n", "jürgen@bücher.example", "utf-8;x@y", "h\x00st", []byte("Subject: x\r\n\r\n--=_dsn_x--\r\n"), "+", true)
	f.Add("", "", "", "", []byte{}, "\xff", false)
	f.Fuzz(func(t *testing.T, diag, rcpt, orcpt, mta string, orig []byte, envid string, full bool) {
		d := &DSN{ReportingMTA: "mx.example.com", To: "sender@example.com", EnvID: envid, Original: orig, Full: full,
			Recipients: []DSNRecipient{{FinalRecipient: rcpt, OriginalRecipient: orcpt, RemoteMTA: mta, Diagnostic: diag, Action: ActionFailed, Status: "5.0.0"}}}
		raw := d.Bytes()
		rep, err := ParseDSN(raw)
		if err != nil {
			t.Fatalf("own DSN does not parse: %v\n%q", err, raw)
		}
		if len(rep.Recipients) != 1 {
			t.Fatalf("%d recipients from one\n%q", len(rep.Recipients), raw)
		}
		r := rep.Recipients[0]
		if r.Action != ActionFailed || r.Status != "5.0.0" {
			t.Fatalf("action/status changed: %+v", r)
		}
		if want := dsnAddress(rcpt); r.FinalRecipient != want {
			t.Fatalf("final recipient %q, want %q", r.FinalRecipient, want)
		}
		if want := dsnText(diag, maxDSNField); r.Diagnostic != want {
			t.Fatalf("diagnostic %q, want %q", r.Diagnostic, want)
		}
		keys := ""
		for _, f := range message.ReadHeader(raw[:HeaderEnd(raw)]) {
			keys += f.Key + ","
		}
		if keys != "From,To,Subject,Date,Message-ID,Auto-Submitted,MIME-Version,Content-Type," {
			t.Fatalf("top-level fields %s", keys)
		}
	})
}

// FuzzXtext: decoding never panics and encoding round-trips.
func FuzzXtext(f *testing.F) {
	for _, s := range []string{"", "a+2Bb", "+", "+zz", "x=y", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, err := DecodeXtext(EncodeXtext(s)); err != nil || got != s {
			t.Fatalf("round trip %q: %q %v", s, got, err)
		}
		if dec, err := DecodeXtext(s); err == nil {
			if again, err := DecodeXtext(EncodeXtext(dec)); err != nil || again != dec {
				t.Fatalf("%q", s)
			}
		}
	})
}
