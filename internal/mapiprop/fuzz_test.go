package mapiprop

import (
	"bytes"
	"testing"
)

// FuzzPropertyValue decodes arbitrary bytes as a TaggedPropertyValue, a
// property row and a recipient row. Whatever decodes must re-encode, and the
// re-encoding must decode to the same encoding (a fixed point).
func FuzzPropertyValue(f *testing.F) {
	for _, v := range everyType() {
		w := NewWriter()
		w.TaggedValue(v)
		f.Add(false, w.Bytes())
		w = NewWriter()
		w.Wide = true
		w.TaggedValue(v)
		f.Add(true, w.Bytes())
	}
	f.Add(false, unhex(f, "01 0a00 0a 0f010480 0000 01"))
	f.Fuzz(func(t *testing.T, wide bool, data []byte) {
		r := NewReader(data)
		r.Wide = wide
		v := r.TaggedValue()
		if r.Err() == nil {
			w := NewWriter()
			w.Wide = wide
			w.TaggedValue(v)
			if err := w.Err(); err != nil {
				t.Fatalf("decoded %v but cannot re-encode: %v", v, err)
			}
			r2 := NewReader(w.Bytes())
			r2.Wide = wide
			v2 := r2.TaggedValue()
			if r2.Err() != nil {
				t.Fatalf("re-encoding does not decode: %v", r2.Err())
			}
			w2 := NewWriter()
			w2.Wide = wide
			w2.TaggedValue(v2)
			if !bytes.Equal(w.Bytes(), w2.Bytes()) {
				t.Fatalf("not a fixed point:\n% x\n% x", w.Bytes(), w2.Bytes())
			}
		}
		cols := []Tag{PidTagSubject, NewTag(0x1000, PtypUnspecified), PidTagMessageFlags}
		r = NewReader(data)
		row := r.PropertyRow(cols)
		if r.Err() == nil {
			w := NewWriter()
			w.PropertyRow(cols, row)
			if err := w.Err(); err != nil {
				t.Fatalf("decoded row %v but cannot re-encode: %v", row, err)
			}
		}
		r = NewReader(data)
		rr := r.RecipientRow(cols)
		if r.Err() == nil {
			w := NewWriter()
			w.RecipientRow(cols, &rr)
			if err := w.Err(); err != nil {
				t.Fatalf("decoded recipient row but cannot re-encode: %v", err)
			}
		}
	})
}

// FuzzRestriction decodes arbitrary bytes as a restriction, checks the
// re-encoding is a fixed point, and evaluates the result against a fixed
// property bag (which must not panic or loop).
func FuzzRestriction(f *testing.F) {
	for _, wide := range []bool{false, true} {
		w := NewWriter()
		w.Wide = wide
		w.Restriction(allRestrictions())
		f.Add(wide, w.Bytes())
	}
	f.Add(false, unhex(f, "03 0100 0100 1f003700 1f003700 7200 6500 0000"))
	f.Add(false, unhex(f, "02 02 02 08 1f003700"))
	bag := message()
	f.Fuzz(func(t *testing.T, wide bool, data []byte) {
		r := NewReader(data)
		r.Wide = wide
		res := r.Restriction()
		if r.Err() != nil {
			return
		}
		w := NewWriter()
		w.Wide = wide
		w.Restriction(res)
		if err := w.Err(); err != nil {
			t.Fatalf("decoded restriction cannot re-encode: %v", err)
		}
		r2 := NewReader(w.Bytes())
		r2.Wide = wide
		res2 := r2.Restriction()
		if r2.Err() != nil {
			t.Fatalf("re-encoding does not decode: %v", r2.Err())
		}
		w2 := NewWriter()
		w2.Wide = wide
		w2.Restriction(res2)
		if !bytes.Equal(w.Bytes(), w2.Bytes()) {
			t.Fatalf("not a fixed point")
		}
		e := Evaluator{GetProp: bag.get, SubObjects: func(Tag) []func(Tag) (Value, bool) {
			return []func(Tag) (Value, bool){bag.get}
		}}
		a, b := e.Match(res), Evaluate(res2, bag.get)
		_, _ = a, b
	})
}
