package mapiprop

import "fmt"

// Sort directions (MS-OXCDATA 2.13.1).
const (
	SortAscending   uint8 = 0x00
	SortDescending  uint8 = 0x01
	SortMaxCategory uint8 = 0x04 // order categories by their maximum value
)

// SortOrder is one sort key (MS-OXCDATA 2.13.1). On the wire PropertyType
// and PropertyId are written as two uint16 fields, which is the tag's
// little-endian encoding. The tag may carry MultiValueInstance.
type SortOrder struct {
	PropTag Tag
	Order   uint8
}

// SortOrderSet is the sort specification of RopSortTable (MS-OXCDATA
// 2.13.2): the first CategorizedCount keys define categories, of which the
// first ExpandedCount start expanded.
type SortOrderSet struct {
	CategorizedCount uint16
	ExpandedCount    uint16
	SortOrders       []SortOrder
}

// SortOrderSet writes s.
func (w *Writer) SortOrderSet(s SortOrderSet) {
	w.U16Len(len(s.SortOrders), "sort order count")
	w.U16(s.CategorizedCount)
	w.U16(s.ExpandedCount)
	for _, o := range s.SortOrders {
		w.U32(uint32(o.PropTag))
		w.U8(o.Order)
	}
}

// SortOrderSet reads a SortOrderSet.
func (r *Reader) SortOrderSet() SortOrderSet {
	n := int(r.U16())
	s := SortOrderSet{CategorizedCount: r.U16(), ExpandedCount: r.U16()}
	if n*5 > r.Len() {
		r.Fail(fmt.Errorf("%w: %d sort orders need %d bytes, %d left", ErrTruncated, n, n*5, r.Len()))
		return SortOrderSet{}
	}
	s.SortOrders = make([]SortOrder, n)
	for i := range s.SortOrders {
		s.SortOrders[i] = SortOrder{PropTag: Tag(r.U32()), Order: r.U8()}
	}
	if r.err == nil && (int(s.CategorizedCount) > n || s.ExpandedCount > s.CategorizedCount) {
		r.Failf("sort order set: %d categories, %d expanded, %d keys", s.CategorizedCount, s.ExpandedCount, n)
	}
	return s
}
