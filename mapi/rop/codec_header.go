package rop

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// RPC_HEADER_EXT flags (MS-OXCRPC 2.2.2.1).
const (
	HeaderFlagCompressed uint16 = 0x0001
	HeaderFlagXorMagic   uint16 = 0x0002
	HeaderFlagLast       uint16 = 0x0004
)

// HeaderExtSize is the size of an RPC_HEADER_EXT.
const HeaderExtSize = 8

// ErrFraming is wrapped by errors in RPC_HEADER_EXT framing and ROP buffer
// layout.
var ErrFraming = errors.New("rop: bad buffer framing")

// HeaderExt is the RPC_HEADER_EXT that precedes every ROP and auxiliary
// buffer payload (MS-OXCRPC 2.2.2.1).
type HeaderExt struct {
	Version    uint16 // must be 0
	Flags      uint16
	Size       uint16 // payload bytes on the wire (after compression)
	SizeActual uint16 // payload bytes after decompression
}

// Segment is one RPC_HEADER_EXT with its payload, already de-obfuscated
// and decompressed.
type Segment struct {
	Header  HeaderExt
	Payload []byte
}

// ParseExtendedBuffer splits b into RPC_HEADER_EXT segments up to and
// including the one flagged Last, undoing XorMagic obfuscation and LZ77
// compression on the way (MS-OXCRPC 3.1.4.1.1). Bytes after the last
// segment are an error, as is a buffer that ends without a Last flag.
func ParseExtendedBuffer(b []byte) ([]Segment, error) {
	var segs []Segment
	for off := 0; ; {
		if len(b)-off < HeaderExtSize {
			return nil, fmt.Errorf("%w: RPC_HEADER_EXT at offset %d: %d bytes left", ErrFraming, off, len(b)-off)
		}
		h := HeaderExt{
			Version:    binary.LittleEndian.Uint16(b[off:]),
			Flags:      binary.LittleEndian.Uint16(b[off+2:]),
			Size:       binary.LittleEndian.Uint16(b[off+4:]),
			SizeActual: binary.LittleEndian.Uint16(b[off+6:]),
		}
		off += HeaderExtSize
		if h.Version != 0 {
			return nil, fmt.Errorf("%w: RPC_HEADER_EXT version %d", ErrFraming, h.Version)
		}
		if int(h.Size) > len(b)-off {
			return nil, fmt.Errorf("%w: RPC_HEADER_EXT size %d with %d bytes left", ErrFraming, h.Size, len(b)-off)
		}
		payload := append([]byte{}, b[off:off+int(h.Size)]...)
		off += int(h.Size)
		if h.Flags&HeaderFlagXorMagic != 0 {
			xorMagic(payload)
		}
		if h.Flags&HeaderFlagCompressed != 0 {
			out, err := DecompressLZ77(payload, int(h.SizeActual))
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrFraming, err)
			}
			payload = out
		} else if h.Size != h.SizeActual {
			return nil, fmt.Errorf("%w: uncompressed RPC_HEADER_EXT with Size %d and SizeActual %d", ErrFraming, h.Size, h.SizeActual)
		}
		segs = append(segs, Segment{Header: h, Payload: payload})
		if h.Flags&HeaderFlagLast != 0 {
			if off != len(b) {
				return nil, fmt.Errorf("%w: %d bytes after the last RPC_HEADER_EXT", ErrFraming, len(b)-off)
			}
			return segs, nil
		}
	}
}

// BuildExtendedBuffer frames payloads as RPC_HEADER_EXT segments, the last
// one flagged Last. The server never compresses or obfuscates its output.
func BuildExtendedBuffer(payloads ...[]byte) ([]byte, error) {
	if len(payloads) == 0 {
		return nil, fmt.Errorf("%w: no payload", ErrFraming)
	}
	var out []byte
	for i, p := range payloads {
		if len(p) > 0xFFFF {
			return nil, fmt.Errorf("%w: payload of %d bytes exceeds 65535", ErrFraming, len(p))
		}
		flags := uint16(0)
		if i == len(payloads)-1 {
			flags = HeaderFlagLast
		}
		out = binary.LittleEndian.AppendUint16(out, 0)
		out = binary.LittleEndian.AppendUint16(out, flags)
		out = binary.LittleEndian.AppendUint16(out, uint16(len(p)))
		out = binary.LittleEndian.AppendUint16(out, uint16(len(p)))
		out = append(out, p...)
	}
	return out, nil
}

// xorMagic undoes (or applies) the XorMagic obfuscation: every byte XOR
// 0xA5 (MS-OXCRPC 3.1.4.1.1.3).
func xorMagic(b []byte) {
	for i := range b {
		b[i] ^= 0xA5
	}
}

// ROPBuffer is the payload of a ROP input or output segment: RopSize, the
// ROP list and the server object handle table (MS-OXCROPS 2.2.1).
type ROPBuffer struct {
	Rops    []byte
	Handles []uint32
}

// ParseROPBuffer splits a segment payload into the ROP list and the handle
// table.
func ParseROPBuffer(payload []byte) (ROPBuffer, error) {
	if len(payload) < 2 {
		return ROPBuffer{}, fmt.Errorf("%w: ROP buffer of %d bytes", ErrFraming, len(payload))
	}
	size := int(binary.LittleEndian.Uint16(payload))
	if size < 2 || size > len(payload) {
		return ROPBuffer{}, fmt.Errorf("%w: RopSize %d in a buffer of %d bytes", ErrFraming, size, len(payload))
	}
	rest := payload[size:]
	if len(rest)%4 != 0 {
		return ROPBuffer{}, fmt.Errorf("%w: handle table of %d bytes is not a multiple of 4", ErrFraming, len(rest))
	}
	b := ROPBuffer{Rops: append([]byte{}, payload[2:size]...), Handles: make([]uint32, len(rest)/4)}
	for i := range b.Handles {
		b.Handles[i] = binary.LittleEndian.Uint32(rest[4*i:])
	}
	return b, nil
}

// Bytes returns the wire form.
func (b ROPBuffer) Bytes() ([]byte, error) {
	if len(b.Rops)+2 > 0xFFFF {
		return nil, fmt.Errorf("%w: ROP list of %d bytes exceeds RopSize", ErrFraming, len(b.Rops))
	}
	out := make([]byte, 0, 2+len(b.Rops)+4*len(b.Handles))
	out = binary.LittleEndian.AppendUint16(out, uint16(2+len(b.Rops)))
	out = append(out, b.Rops...)
	for _, h := range b.Handles {
		out = binary.LittleEndian.AppendUint32(out, h)
	}
	return out, nil
}

// EmptyHandle is the conventional value of an unused handle table slot.
const EmptyHandle uint32 = 0xFFFFFFFF
