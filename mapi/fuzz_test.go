package mapi

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/mapi/rop"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// executeSeed builds an Execute body around ROP input bytes.
func executeSeed(payload []byte, flags uint16) []byte {
	framed, _ := rop.BuildExtendedBuffer(payload)
	framed[2] = byte(flags) | framed[2]
	b, _ := (&ExecuteRequest{Flags: 3, RopBuffer: framed, MaxRopOut: 0x5A01}).MarshalBinary()
	return b
}

func FuzzConnectRequest(f *testing.F) {
	seed, _ := (&ConnectRequest{UserDN: "/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=1-alice",
		DefaultCodePage: 1252, LcidSort: 1033, LcidString: 1033}).MarshalBinary()
	f.Add(seed)
	withAux, _ := (&ConnectRequest{UserDN: "/o=x", AuxiliaryBuffer: []byte{0, 0, 4, 0, 4, 0, 4, 0, 8, 0, 1, 2}}).MarshalBinary()
	f.Add(withAux)
	f.Add([]byte{0, 0, 0, 0, 0})
	f.Add([]byte("/o=x\x00\x00\x00\x00\x00\xe4\x04\x00\x00\x09\x04\x00\x00\x09\x04\x00\x00\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var req ConnectRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return
		}
		if len(req.AuxiliaryBuffer) > MaxAuxiliaryBuffer {
			t.Fatalf("auxiliary buffer of %d bytes accepted", len(req.AuxiliaryBuffer))
		}
		out, err := req.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var again ConnectRequest
		if err := again.UnmarshalBinary(out); err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if again.UserDN != req.UserDN || again.Flags != req.Flags || again.DefaultCodePage != req.DefaultCodePage ||
			!bytes.Equal(again.AuxiliaryBuffer, req.AuxiliaryBuffer) {
			t.Fatalf("round trip changed %+v into %+v", req, again)
		}
		ParseLegacyDN(req.UserDN)
	})
}

func FuzzExecuteRequest(f *testing.F) {
	f.Add(mustHex(rulerLogonExecuteHex))
	payload, _ := rop.ROPBuffer{Rops: []byte{0x01, 0x00, 0x00}, Handles: []uint32{1}}.Bytes()
	f.Add(executeSeed(payload, 0))
	f.Add(executeSeed(payload, rop.HeaderFlagXorMagic))
	f.Add(executeSeed(payload, rop.HeaderFlagCompressed))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var req ExecuteRequest
		if err := req.UnmarshalBinary(b); err != nil {
			return
		}
		out, err := req.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("Execute body does not re-encode to itself:\n% x\n% x", b, out)
		}
		// What the transport does next must not panic either.
		if segs, err := rop.ParseExtendedBuffer(req.RopBuffer); err == nil && len(segs) == 1 {
			_, _ = rop.ParseROPBuffer(segs[0].Payload)
		}
	})
}

// rulerLogonExecuteHex is ruler's first Execute body (MAPI.md §5.1,
// VERIFIED there against ruler): RopLogon with LogonId 0x0C.
var rulerLogonExecuteHex = "03000000 72000000 0000 0400 6a00 6a00 6600" +
	"fe0c0001 0c000001 00000000 5600" +
	hex.EncodeToString([]byte("/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=1-alice")) + "00" +
	"ffffffff 015a0000 00000000"

func FuzzAutodiscoverRequest(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="` + NSRequest + `"><Request><EMailAddress>a@example.com</EMailAddress><AcceptableResponseSchema>` + NSOutlookResponse + `</AcceptableResponseSchema></Request></Autodiscover>`))
	f.Add([]byte(`<Autodiscover><Request><LegacyDN>/o=Pochta/cn=x</LegacyDN></Request></Autodiscover>`))
	f.Add([]byte(`<?xml version="1.0" encoding="utf-16"?><Autodiscover/>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><Autodiscover><Request><EMailAddress>&a;</EMailAddress></Request></Autodiscover>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := ParseAutodiscoverRequest(b)
		if err != nil {
			return
		}
		if req.XMLName.Local != "Autodiscover" {
			t.Fatalf("accepted root %q", req.XMLName.Local)
		}
		ParseLegacyDN(req.Request.LegacyDN)
	})
}

func FuzzLegacyDN(f *testing.F) {
	f.Add("/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=1f-alice")
	f.Add("/O=POCHTA/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=A-B")
	f.Add("/o=x/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=-")
	f.Fuzz(func(t *testing.T, dn string) {
		id, ok := ParseLegacyDN(dn)
		if !ok {
			return
		}
		if id <= 0 {
			t.Fatalf("id %d accepted from %q", id, dn)
		}
		// What LegacyDN makes for that id parses back to it.
		again, ok := ParseLegacyDN(LegacyDN(&directory.Account{ID: id, Address: "x@y"}))
		if !ok || again != id {
			t.Fatalf("LegacyDN of %d parses to %d, %v", id, again, ok)
		}
	})
}

// fuzzSession is a ROP layer that answers with the request's handle table.
type fuzzSession struct{}

func (fuzzSession) Execute(_ context.Context, in []byte, _ int) ([]byte, error) {
	buf, err := rop.ParseROPBuffer(in)
	if err != nil {
		return nil, err
	}
	return rop.ROPBuffer{Handles: buf.Handles}.Bytes()
}
func (fuzzSession) Close() {}

// FuzzEMSMDBHandler drives the whole request path after authentication:
// header checks, body decoding, the session table and the framing, with
// hostile request types and bodies.
func FuzzEMSMDBHandler(f *testing.F) {
	connect, _ := (&ConnectRequest{UserDN: LegacyDN(&directory.Account{ID: 1, Address: "a@example.com"}), DefaultCodePage: 1252}).MarshalBinary()
	f.Add("Connect", connect, false)
	f.Add("Execute", mustHex(rulerLogonExecuteHex), true)
	f.Add("NotificationWait", []byte{0, 0, 0, 0, 0, 0, 0, 0}, true)
	f.Add("PING", []byte{}, true)
	f.Add("Disconnect", []byte{0, 0, 0, 0}, true)
	f.Add("EXECUTE", []byte{1, 2, 3}, false)
	env := testenv.New(f)
	s, err := New(Options{
		Directory: env.Dir, Store: env.Store,
		NewROPSession: func(context.Context, *directory.Account, ConnectInfo) (ROPSession, error) {
			return fuzzSession{}, nil
		},
		NotificationWaitTimeout: time.Millisecond,
	})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	acc := &directory.Account{ID: 1, Address: "a@example.com"}
	// One live context to aim at.
	sc := s.emsmdb.create(acc, ConnectInfo{})
	sc.setROP(fuzzSession{})
	s.emsmdb.release(sc, true)
	e := echo.New()
	f.Fuzz(func(t *testing.T, reqType string, body []byte, withCookies bool) {
		r := httptest.NewRequest(http.MethodPost, EMSMDBPath, bytes.NewReader(body))
		r.Header.Set(HeaderRequestType, reqType)
		r.Header.Set(HeaderRequestID, "{1}:1")
		r.Header.Set(HeaderClientInfo, "{2}:1")
		r.Header.Set(HeaderClientApplication, "Outlook/16.0.0.0")
		r.Header.Set("Content-Type", ContentType)
		if withCookies {
			s.emsmdb.mu.Lock()
			seq := sc.seq
			s.emsmdb.mu.Unlock()
			r.AddCookie(&http.Cookie{Name: ContextCookie, Value: sc.id})
			r.AddCookie(&http.Cookie{Name: SequenceCookie, Value: seq})
		}
		w := httptest.NewRecorder()
		c := e.NewContext(r, w)
		c.Set(ctxAccount, acc)
		if err := s.emsmdbHandler(c); err != nil {
			t.Fatalf("handler error: %v", err)
		}
		if len(w.Header()[HeaderResponseCode]) == 0 {
			t.Fatal("response without X-ResponseCode")
		}
		if !strings.HasPrefix(w.Body.String(), MetaProcessing+"\r\n") {
			t.Fatalf("body does not start with PROCESSING: %q", w.Body.String())
		}
	})
}

// The ruler seed is a well-formed Execute body holding one RopLogon.
func TestRulerSeed(t *testing.T) {
	var req ExecuteRequest
	if err := req.UnmarshalBinary(mustHex(rulerLogonExecuteHex)); err != nil {
		t.Fatal(err)
	}
	segs, err := rop.ParseExtendedBuffer(req.RopBuffer)
	if err != nil || len(segs) != 1 {
		t.Fatal(err)
	}
	buf, err := rop.ParseROPBuffer(segs[0].Payload)
	if err != nil {
		t.Fatal(err)
	}
	list, err := rop.DecodeRequests(buf.Rops, nil)
	if err != nil || len(list.Requests) != 1 {
		t.Fatal(err)
	}
	logon, ok := list.Requests[0].(*rop.LogonRequest)
	if !ok || logon.LogonID != 0x0C || logon.OpenFlags != 0x0100000C || req.MaxRopOut != 23041 {
		t.Fatalf("%+v %+v", logon, req)
	}
	if id, ok := ParseLegacyDN(logon.Essdn); !ok || id != 1 {
		t.Errorf("Essdn %q", logon.Essdn)
	}
}
