package rop

import (
	"encoding/binary"
	"fmt"
)

// DecompressLZ77 expands data compressed with LZ77 and the DIRECT2
// encoding (MS-OXCRPC 3.1.4.1.1.2; the same format as "Plain LZ77" in
// MS-XCA 2.3-2.4) into exactly size bytes. A 32-bit little-endian bitmask
// precedes every 32 tokens, read from the most significant bit: 0 is a
// literal byte, 1 a 2-byte match (13-bit offset-1, 3-bit length-3) whose
// length may continue in a shared nibble, a byte, a 16-bit and a 32-bit
// field. The stream ends where the input ends at a token boundary.
//
// size bounds the output, so hostile input cannot make it allocate more;
// any inconsistency is an error, never a panic.
func DecompressLZ77(src []byte, size int) ([]byte, error) {
	if size < 0 {
		return nil, fmt.Errorf("lz77: negative size %d", size)
	}
	out := make([]byte, 0, size)
	in := 0
	var flags uint32
	flagCount := 0
	nibble := -1 // index of the byte whose high nibble is still unused
	for {
		if flagCount == 0 {
			if len(src)-in < 4 {
				break
			}
			flags = binary.LittleEndian.Uint32(src[in:])
			in += 4
			flagCount = 32
		}
		flagCount--
		if flags&(1<<uint(flagCount)) == 0 {
			if in >= len(src) {
				break
			}
			if len(out) >= size {
				return nil, fmt.Errorf("lz77: output exceeds %d bytes", size)
			}
			out = append(out, src[in])
			in++
			continue
		}
		if in >= len(src) {
			break // end of stream marker: a match flag with no input left
		}
		if len(src)-in < 2 {
			return nil, fmt.Errorf("lz77: truncated match at input offset %d", in)
		}
		meta := binary.LittleEndian.Uint16(src[in:])
		in += 2
		offset := int(meta>>3) + 1
		length := int(meta & 7)
		if length == 7 {
			if nibble < 0 {
				if in >= len(src) {
					return nil, fmt.Errorf("lz77: truncated length nibble at input offset %d", in)
				}
				length = int(src[in] & 0x0F)
				nibble = in
				in++
			} else {
				length = int(src[nibble] >> 4)
				nibble = -1
			}
			if length == 15 {
				if in >= len(src) {
					return nil, fmt.Errorf("lz77: truncated length byte at input offset %d", in)
				}
				length = int(src[in])
				in++
				if length == 255 {
					if len(src)-in < 2 {
						return nil, fmt.Errorf("lz77: truncated 16-bit length at input offset %d", in)
					}
					length = int(binary.LittleEndian.Uint16(src[in:]))
					in += 2
					if length == 0 {
						if len(src)-in < 4 {
							return nil, fmt.Errorf("lz77: truncated 32-bit length at input offset %d", in)
						}
						length = int(binary.LittleEndian.Uint32(src[in:]))
						in += 4
					}
					if length < 15+7 {
						return nil, fmt.Errorf("lz77: invalid extended length %d", length)
					}
					length -= 15 + 7
				}
				length += 15
			}
			length += 7
		}
		length += 3
		if offset > len(out) {
			return nil, fmt.Errorf("lz77: match offset %d before start of output (%d bytes)", offset, len(out))
		}
		if length > size-len(out) {
			return nil, fmt.Errorf("lz77: output exceeds %d bytes", size)
		}
		// Byte by byte: matches may overlap their own output.
		start := len(out) - offset
		for i := 0; i < length; i++ {
			out = append(out, out[start+i])
		}
	}
	if len(out) != size {
		return nil, fmt.Errorf("lz77: decompressed %d bytes, header says %d", len(out), size)
	}
	return out, nil
}
