package rop

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"testing"
)

// compressLZ77 is a greedy LZ77+DIRECT2 compressor used only to produce
// test inputs for DecompressLZ77 (the server never compresses its output).
// It follows the encoder of MS-XCA 2.3 / MS-OXCRPC 3.1.4.1.1.2.
func compressLZ77(src []byte) []byte {
	out := make([]byte, 4, len(src)+len(src)/8+8)
	flagPos := 0
	var flags uint64
	flagCount := 0
	nibble := -1
	flag := func(bit uint64) {
		flags = flags<<1 | bit
		flagCount++
		if flagCount == 32 {
			binary.LittleEndian.PutUint32(out[flagPos:], uint32(flags))
			flags, flagCount = 0, 0
			flagPos = len(out)
			out = append(out, 0, 0, 0, 0)
		}
	}
	// Candidate match positions by 3-byte prefix, newest last; only the
	// last few are tried, which keeps the test compressor fast.
	chains := map[[3]byte][]int{}
	remember := func(pos int) {
		if pos+3 > len(src) {
			return
		}
		k := [3]byte(src[pos : pos+3])
		c := append(chains[k], pos)
		if len(c) > 16 {
			c = c[len(c)-16:]
		}
		chains[k] = c
	}
	for i := 0; i < len(src); {
		bestLen, bestOff := 0, 0
		if i+3 <= len(src) {
			for _, j := range chains[[3]byte(src[i:i+3])] {
				if i-j > 8192 {
					continue
				}
				n := 0
				for i+n < len(src) && src[j+n] == src[i+n] {
					n++
				}
				if n > bestLen {
					bestLen, bestOff = n, i-j
				}
			}
		}
		if bestLen < 3 {
			out = append(out, src[i])
			flag(0)
			remember(i)
			i++
			continue
		}
		l := bestLen - 3
		meta := uint16(bestOff-1) << 3
		if l < 7 {
			out = binary.LittleEndian.AppendUint16(out, meta|uint16(l))
		} else {
			out = binary.LittleEndian.AppendUint16(out, meta|7)
			l -= 7
			putNibble := func(v byte) {
				if nibble < 0 {
					nibble = len(out)
					out = append(out, v)
				} else {
					out[nibble] |= v << 4
					nibble = -1
				}
			}
			if l < 15 {
				putNibble(byte(l))
			} else {
				putNibble(15)
				l -= 15
				if l < 255 {
					out = append(out, byte(l))
				} else {
					out = append(out, 255)
					l += 15 + 7
					if l < 1<<16 {
						out = binary.LittleEndian.AppendUint16(out, uint16(l))
					} else {
						out = binary.LittleEndian.AppendUint16(out, 0)
						out = binary.LittleEndian.AppendUint32(out, uint32(l))
					}
				}
			}
		}
		flag(1)
		for k := i; k < i+bestLen; k++ {
			remember(k)
		}
		i += bestLen
	}
	// End marker: the unused flag bits are all ones.
	rest := 32 - flagCount
	flags = flags<<uint(rest) | (1<<uint(rest) - 1)
	binary.LittleEndian.PutUint32(out[flagPos:], uint32(flags))
	return out
}

func TestLZ77HandBuiltStream(t *testing.T) {
	// Built by hand following MS-OXCRPC 3.1.4.1.1.2.2: "aaaa" as one
	// literal plus a match of 3 at offset 1, then "bcbcbcbcbcbc" as two
	// literals plus a match of 10 at offset 2 whose length uses the low
	// nibble of a shared byte (10-3-7 = 0), then a match of 11 at offset 2
	// using the high nibble of that byte (11-3-7 = 1).
	// Flags (MSB first): 0 1 0 0 1 1, then the end marker ones.
	src := []byte{
		0xff, 0xff, 0xff, 0x4f, // 0100 1111 … : literal, match, literal, literal, match, match, end
		'a',
		0x00, 0x00, // offset 1, length 3
		'b', 'c',
		0x0f, 0x00, // offset 2 (1<<3), length code 7
		0x10,       // nibble byte: low 0 (length 10), high 1 (length 11)
		0x0f, 0x00, // offset 2, length code 7, uses the high nibble
	}
	want := "aaaa" + "bc" + "bcbcbcbcbc" + "bcbcbcbcbcb"
	got, err := DecompressLZ77(src, len(want))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestLZ77CompressorRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	inputs := [][]byte{
		{},
		[]byte("a"),
		bytes.Repeat([]byte{0}, 70000)[:65535],
		bytes.Repeat([]byte("abcdefghij"), 2000),
		[]byte("The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog."),
	}
	for i := 0; i < 20; i++ {
		b := make([]byte, rng.Intn(5000))
		for j := range b {
			b[j] = byte('a' + rng.Intn(3))
		}
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		c := compressLZ77(in)
		got, err := DecompressLZ77(c, len(in))
		if err != nil {
			t.Fatalf("%d bytes: %v", len(in), err)
		}
		if !bytes.Equal(got, in) {
			t.Fatalf("%d bytes: mismatch", len(in))
		}
	}
}

func TestLZ77Errors(t *testing.T) {
	cases := map[string]struct {
		src  []byte
		size int
	}{
		"offset before start":  {[]byte{0xff, 0xff, 0xff, 0xff, 0x08, 0x00}, 10},
		"output too long":      {compressLZ77([]byte("abcabcabcabc")), 5},
		"output too short":     {compressLZ77([]byte("abc")), 4},
		"truncated match":      {[]byte{0xff, 0xff, 0xff, 0x7f, 'a', 0x00}, 4},
		"truncated nibble":     {[]byte{0xff, 0xff, 0xff, 0x7f, 'a', 0x07, 0x00}, 20},
		"truncated length":     {[]byte{0xff, 0xff, 0xff, 0x7f, 'a', 0x07, 0x00, 0x0f}, 40},
		"bad extended length":  {[]byte{0xff, 0xff, 0xff, 0x7f, 'a', 0x07, 0x00, 0x0f, 0xff, 0x01, 0x00}, 40},
		"negative size":        {nil, -1},
		"literal past size":    {[]byte{0, 0, 0, 0, 'a', 'b'}, 1},
		"huge 32-bit length":   {[]byte{0xff, 0xff, 0xff, 0x7f, 'a', 0x07, 0x00, 0x0f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff}, 100},
		"truncated 32 bit len": {[]byte{0xff, 0xff, 0xff, 0x7f, 'a', 0x07, 0x00, 0x0f, 0xff, 0x00, 0x00, 0xff}, 100},
	}
	for name, c := range cases {
		if _, err := DecompressLZ77(c.src, c.size); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzLZ77 feeds arbitrary bytes to the decompressor (it must not panic or
// exceed the size) and checks compressor output always round-trips.
func FuzzLZ77(f *testing.F) {
	f.Add(unhex(f, "3f000000 6162636465666768696a6b6c6d6e6f707172737475767778797a"), uint16(26), []byte("abc"))
	f.Add(unhex(f, "ffffff1f 616263 1700 0fff 2601"), uint16(300), []byte("abcabcabcabc"))
	f.Add(compressLZ77(bytes.Repeat([]byte("xyz"), 400)), uint16(1200), bytes.Repeat([]byte{7}, 300))
	f.Fuzz(func(t *testing.T, src []byte, size uint16, plain []byte) {
		out, err := DecompressLZ77(src, int(size))
		if err == nil && len(out) != int(size) {
			t.Fatalf("got %d bytes for size %d", len(out), size)
		}
		if len(plain) > 0xFFFF {
			return
		}
		back, err := DecompressLZ77(compressLZ77(plain), len(plain))
		if err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("compressor round trip failed: %v", err)
		}
	})
}
