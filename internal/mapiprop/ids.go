package mapiprop

import (
	"encoding/binary"
	"fmt"
)

// ID is a folder or message identifier, FID or MID (MS-OXCDATA 2.2.1.1,
// 2.2.1.2): a 16-bit replica ID followed by a 48-bit global counter
// (GLOBCNT). On the wire the replica ID is little-endian and the GLOBCNT
// big-endian; ID holds those 8 bytes read as one little-endian uint64, the
// way ROP buffers carry it.
type ID uint64

// MaxGlobalCounter is the largest 48-bit GLOBCNT.
const MaxGlobalCounter = 1<<48 - 1

// MakeID composes an ID from a replica ID and a GLOBCNT (low 48 bits used).
func MakeID(replID uint16, globcnt uint64) ID {
	var b [8]byte
	binary.LittleEndian.PutUint16(b[0:], replID)
	gc := GlobalCounterBytes(globcnt)
	copy(b[2:], gc[:])
	return ID(binary.LittleEndian.Uint64(b[:]))
}

// ReplicaID is the replica ID (REPLID).
func (id ID) ReplicaID() uint16 { return uint16(id) }

// GlobalCounter is the 48-bit GLOBCNT.
func (id ID) GlobalCounter() uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(id))
	return GlobalCounterFromBytes(b[2:8])
}

func (id ID) String() string {
	return fmt.Sprintf("%d-0x%012X", id.ReplicaID(), id.GlobalCounter())
}

// GlobalCounterBytes returns the 6 big-endian bytes of a GLOBCNT.
func GlobalCounterBytes(gc uint64) [6]byte {
	var b [6]byte
	for i := 5; i >= 0; i-- {
		b[i] = byte(gc)
		gc >>= 8
	}
	return b
}

// GlobalCounterFromBytes reads a big-endian GLOBCNT from the first 6 bytes
// of b (fewer bytes are read as given).
func GlobalCounterFromBytes(b []byte) uint64 {
	var gc uint64
	for i := 0; i < len(b) && i < 6; i++ {
		gc = gc<<8 | uint64(b[i])
	}
	return gc
}

// LongTermID is a 24-byte long-term identifier: the replica GUID plus the
// GLOBCNT plus two zero bytes (MS-OXCDATA 2.2.1.3.1). It names an object
// independently of the per-store REPLID mapping.
type LongTermID struct {
	DatabaseGUID  GUID
	GlobalCounter [6]byte
	Pad           uint16
}

// NewLongTermID builds a long-term ID from a replica GUID and a GLOBCNT.
func NewLongTermID(replGUID GUID, globcnt uint64) LongTermID {
	return LongTermID{DatabaseGUID: replGUID, GlobalCounter: GlobalCounterBytes(globcnt)}
}

// Counter returns the GLOBCNT.
func (l LongTermID) Counter() uint64 { return GlobalCounterFromBytes(l.GlobalCounter[:]) }

// LongTermID writes l (24 bytes).
func (w *Writer) LongTermID(l LongTermID) {
	w.GUID(l.DatabaseGUID)
	w.Raw(l.GlobalCounter[:])
	w.U16(l.Pad)
}

// LongTermID reads a 24-byte long-term ID.
func (r *Reader) LongTermID() LongTermID {
	var l LongTermID
	l.DatabaseGUID = r.GUID()
	copy(l.GlobalCounter[:], r.Bytes(6))
	l.Pad = r.U16()
	return l
}

// GID is a global identifier: replica GUID plus GLOBCNT, 22 bytes
// (MS-OXCDATA 2.2.1.3). PidTagSourceKey of store objects is a GID.
type GID struct {
	DatabaseGUID  GUID
	GlobalCounter [6]byte
}

// NewGID builds a GID from a replica GUID and a GLOBCNT.
func NewGID(replGUID GUID, globcnt uint64) GID {
	return GID{DatabaseGUID: replGUID, GlobalCounter: GlobalCounterBytes(globcnt)}
}

// Bytes returns the 22-byte wire form.
func (g GID) Bytes() []byte {
	b := make([]byte, 0, 22)
	b = append(b, g.DatabaseGUID[:]...)
	return append(b, g.GlobalCounter[:]...)
}

// ParseGID parses a 22-byte GID.
func ParseGID(b []byte) (GID, error) {
	var g GID
	if len(b) != 22 {
		return g, fmt.Errorf("%w: GID of %d bytes", ErrMalformed, len(b))
	}
	copy(g.DatabaseGUID[:], b[:16])
	copy(g.GlobalCounter[:], b[16:])
	return g, nil
}

// XID is an external identifier: a namespace GUID and a 1 to 8 byte local
// ID (MS-OXCDATA 2.2.2). PidTagChangeKey is an XID; PidTagPredecessorChangeList
// is a list of size-prefixed XIDs (a PCL).
type XID struct {
	NamespaceGUID GUID
	LocalID       []byte
}

// Bytes returns the wire form (16 + len(LocalID) bytes).
func (x XID) Bytes() []byte {
	return append(append(make([]byte, 0, 16+len(x.LocalID)), x.NamespaceGUID[:]...), x.LocalID...)
}

// ParseXID parses an XID of 17 to 24 bytes.
func ParseXID(b []byte) (XID, error) {
	if len(b) < 17 || len(b) > 24 {
		return XID{}, fmt.Errorf("%w: XID of %d bytes", ErrMalformed, len(b))
	}
	var x XID
	copy(x.NamespaceGUID[:], b[:16])
	x.LocalID = append([]byte{}, b[16:]...)
	return x, nil
}

// EncodePCL builds a PredecessorChangeList: each XID prefixed by its size
// as one byte (MS-OXCFXICS 2.2.2.3).
func EncodePCL(xids []XID) []byte {
	var b []byte
	for _, x := range xids {
		xb := x.Bytes()
		b = append(b, byte(len(xb)))
		b = append(b, xb...)
	}
	return b
}

// DecodePCL parses a PredecessorChangeList.
func DecodePCL(b []byte) ([]XID, error) {
	var out []XID
	for len(b) > 0 {
		n := int(b[0])
		if n+1 > len(b) {
			return nil, fmt.Errorf("%w: PCL entry of %d bytes with %d left", ErrTruncated, n, len(b)-1)
		}
		x, err := ParseXID(b[1 : 1+n])
		if err != nil {
			return nil, err
		}
		out = append(out, x)
		b = b[1+n:]
	}
	return out, nil
}
