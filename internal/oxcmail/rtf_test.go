package oxcmail

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	mp "github.com/pochta/pochta/internal/mapiprop"
)

// lzfuCompress is a straightforward MS-OXRTFCP 3.1.1.1.1 compressor for
// tests: it looks for the longest dictionary match at each position
// (never reading bytes the same reference writes) and ends with the end
// marker reference.
func lzfuCompress(in []byte) []byte {
	var dict [4096]byte
	copy(dict[:], rtfDictionary)
	wpos := len(rtfDictionary)
	var out []byte
	var control byte
	var tokens []byte
	nbits := 0
	flushRun := func() {
		out = append(out, control)
		out = append(out, tokens...)
		control, tokens, nbits = 0, nil, 0
	}
	put := func(c byte) {
		dict[wpos] = c
		wpos = (wpos + 1) % 4096
	}
	for i := 0; i <= len(in); {
		if i == len(in) {
			control |= 1 << nbits
			tokens = append(tokens, byte(wpos>>4), byte(wpos<<4))
			flushRun()
			break
		}
		bestOff, bestLen := 0, 0
		for off := 0; off < 4096; off++ {
			if off == wpos {
				continue
			}
			dist := (wpos - off + 4096) % 4096
			n := 0
			for n < 17 && n < dist && i+n < len(in) && dict[(off+n)%4096] == in[i+n] {
				n++
			}
			if n > bestLen {
				bestOff, bestLen = off, n
			}
		}
		if bestLen >= 2 {
			control |= 1 << nbits
			ref := bestOff<<4 | (bestLen - 2)
			tokens = append(tokens, byte(ref>>8), byte(ref))
			for k := 0; k < bestLen; k++ {
				put(in[i+k])
			}
			i += bestLen
		} else {
			tokens = append(tokens, in[i])
			put(in[i])
			i++
		}
		nbits++
		if nbits == 8 {
			flushRun()
		}
	}
	hdr := make([]byte, 16)
	binary.LittleEndian.PutUint32(hdr[0:], uint32(len(out)+12))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(len(in)))
	binary.LittleEndian.PutUint32(hdr[8:], rtfCompressed)
	return append(hdr, out...)
}

func TestRTFDictionary(t *testing.T) {
	if len(rtfDictionary) != 207 {
		t.Fatalf("initial dictionary is %d bytes, MS-OXRTFCP 3.1.1.3 says 207", len(rtfDictionary))
	}
}

// TestDecompressRTFSpecExample decodes the compressed example of
// MS-OXRTFCP 4.1.
func TestDecompressRTFSpecExample(t *testing.T) {
	comp := []byte{
		0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7, 0xa7,
		0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a, 0xf3, 0x20,
		0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f,
		0xa0,
	}
	got, err := DecompressRTF(comp)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDecompressRTFRoundTrip(t *testing.T) {
	for _, in := range []string{
		"",
		"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n",
		strings.Repeat("abcabcabc ", 500),
		"{\\rtf1\\ansi\\fromhtml1 {\\*\\htmltag64 <html>}}",
	} {
		got, err := DecompressRTF(lzfuCompress([]byte(in)))
		if err != nil || string(got) != in {
			t.Errorf("%q: got %q, %v", in[:min(len(in), 40)], got, err)
		}
		got, err = DecompressRTF(CompressRTF([]byte(in)))
		if err != nil || string(got) != in {
			t.Errorf("uncompressed %q: got %q, %v", in[:min(len(in), 40)], got, err)
		}
	}
	for _, bad := range [][]byte{nil, make([]byte, 15), append(make([]byte, 8), 'X', 'X', 'X', 'X', 0, 0, 0, 0)} {
		if _, err := DecompressRTF(bad); err == nil {
			t.Errorf("%x decompressed", bad)
		}
	}
}

// encapsulated is HTML encapsulated in RTF the way Outlook writes it
// (MS-OXRTFEX 2.1.3.1).
const encapsulated = `{\rtf1\ansi\ansicpg1251\fromhtml1 \fbidis \deff0{\fonttbl
{\f0\fswiss\fcharset204 Arial;}}
{\colortbl\red0\green0\blue0;}
{\*\htmltag19 <html>}
{\*\htmltag34 <head>}
{\*\htmltag41 <meta charset="windows-1251">}
{\*\htmltag41 <style>p \{ color: red; \}</style>}
{\*\htmltag42 </head>}
{\*\htmltag50 <body>}\htmlrtf {\htmlrtf0
{\*\htmltag64 <p>}\htmlrtf {\htmlrtf0 \'cf\'f0\'e8\'e2\'e5\'f2, w\u246?rld \u8212?\htmlrtf\par\htmlrtf0
{\*\htmltag72 </p>}
\htmlrtf }\htmlrtf0 {\*\htmltag58 </body>}
{\*\htmltag27 </html>}}`

func TestRTFToHTML(t *testing.T) {
	html, ok := RTFToHTML([]byte(encapsulated))
	if !ok {
		t.Fatal("not recognised as encapsulated HTML")
	}
	want := `<html><head><meta charset="windows-1251"><style>p { color: red; }</style></head><body><p>Привет, wörld —</p></body></html>`
	if norm := strings.NewReplacer("\r", "", "\n", "").Replace(html); norm != want {
		t.Errorf("got  %q\nwant %q", norm, want)
	}
	if _, ok := RTFToHTML([]byte(`{\rtf1\ansi plain}`)); ok {
		t.Error("plain RTF taken for HTML")
	}
}

func TestRTFToText(t *testing.T) {
	rtf := `{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Arial;}}{\*\generator Msftedit;}\pard Caf\'e9 \b bold\b0\par second\tab line\par {\*\unknown hidden}\u8364?uro \{braces\}\par}`
	if got := RTFToText([]byte(rtf)); got != "Café bold\r\nsecond\tline\r\n€uro {braces}" {
		t.Errorf("got %q", got)
	}
}

// TestRenderFromRTF renders a message whose only body is RTF, as Outlook
// sends when composing in its rich editors.
func TestRenderFromRTF(t *testing.T) {
	m := &Message{}
	m.Props.setBinary(mp.PidTagRtfCompressed, lzfuCompress([]byte(encapsulated)))
	out, p := render(t, m, ToInetOptions{})
	back := rederive(t, out)
	if html := string(back.Props.Binary(mp.PidTagHtml)); !strings.Contains(html, "<p>Привет, wörld —") {
		t.Errorf("html from RTF = %q\n%s", html, out)
	}
	if p.Root.ContentType() != "multipart/alternative" {
		t.Errorf("root %s", p.Root.ContentType())
	}
	wantString(t, back.Props, mp.PidTagBody, "Привет, wörld —")

	m = &Message{}
	m.Props.setBinary(mp.PidTagRtfCompressed, CompressRTF([]byte(`{\rtf1\ansi plain \b text\b0\par}`)))
	out, _ = render(t, m, ToInetOptions{})
	wantString(t, rederive(t, out).Props, mp.PidTagBody, "plain text")

	// PidTagBody wins over RTF: the client keeps them in sync.
	m.Props.setString(mp.PidTagBody, "the body")
	out, _ = render(t, m, ToInetOptions{})
	if b := rederive(t, out).Props.String(mp.PidTagBody); b != "the body" {
		t.Errorf("body %q", b)
	}
	if bytes.Contains(out, []byte("plain text")) {
		t.Error("RTF used although PidTagBody is set")
	}
}
