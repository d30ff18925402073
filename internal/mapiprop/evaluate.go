package mapiprop

import (
	"bytes"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Evaluate reports whether the object whose properties getProp returns
// matches res (MS-OXCDATA 2.12 semantics). getProp is called with the tag
// named by the restriction and should return the object's property with
// that ID, whatever its stored type; PtypString and PtypString8 compare
// with each other. A missing property never matches a Content, Property,
// CompareProperties, Bitmask or Size restriction. SubObject restrictions do
// not match (no sub-objects), and Count restrictions act on this one object;
// use an Evaluator for either.
func Evaluate(res Restriction, getProp func(Tag) (Value, bool)) bool {
	e := Evaluator{GetProp: getProp}
	return e.Match(res)
}

// Evaluator evaluates restrictions against a sequence of objects. It keeps
// the per-restriction match counts that Count restrictions need
// (MS-OXCDATA 2.12.12), so use one Evaluator per table scan.
type Evaluator struct {
	// GetProp returns a property of the current object.
	GetProp func(Tag) (Value, bool)
	// SubObjects returns property getters for the recipients
	// (PidTagMessageRecipients) or attachments (PidTagMessageAttachments)
	// of the current object. Nil means the object has none.
	SubObjects func(Tag) []func(Tag) (Value, bool)
	// MemberOfDL decides RELOP_MEMBER_OF_DL: whether the address in the
	// property is a member of the distribution list named by the value.
	// Nil means never.
	MemberOfDL func(prop, dl Value) bool

	counts map[*CountRestriction]uint32
}

// Match evaluates res against the object GetProp describes.
func (e *Evaluator) Match(res Restriction) bool { return e.match(res, 0) }

func (e *Evaluator) get(t Tag) (Value, bool) {
	if e.GetProp == nil {
		return Value{}, false
	}
	v, ok := e.GetProp(t)
	if !ok || v.Tag.Type() == PtypErrorCode || v.Tag.Type() == PtypNull {
		return Value{}, false
	}
	return v, true
}

func (e *Evaluator) match(res Restriction, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch x := res.(type) {
	case *AndRestriction:
		for _, c := range x.Restrictions {
			if !e.match(c, depth+1) {
				return false
			}
		}
		return true
	case *OrRestriction:
		for _, c := range x.Restrictions {
			if e.match(c, depth+1) {
				return true
			}
		}
		return false
	case *NotRestriction:
		return !e.match(x.Restriction, depth+1)
	case *ContentRestriction:
		prop, ok := e.get(x.PropTag)
		if !ok {
			return false
		}
		return anyElement(prop, func(p Value) bool { return contentMatch(x, p) })
	case *PropertyRestriction:
		prop, ok := e.get(x.PropTag)
		if !ok {
			return false
		}
		if x.RelOp == RelOpMemberOfDL {
			return e.MemberOfDL != nil && e.MemberOfDL(prop, x.Value)
		}
		return relopValues(x.RelOp, prop, x.Value)
	case *ComparePropertiesRestriction:
		a, ok1 := e.get(x.PropTag1)
		b, ok2 := e.get(x.PropTag2)
		if !ok1 || !ok2 {
			return false
		}
		return relopValues(x.RelOp, a, b)
	case *BitmaskRestriction:
		prop, ok := e.get(x.PropTag)
		if !ok {
			return false
		}
		var bits uint64
		switch v := prop.Data.(type) {
		case int16:
			bits = uint64(uint16(v))
		case int32:
			bits = uint64(uint32(v))
		case int64:
			bits = uint64(v)
		case bool:
			if v {
				bits = 1
			}
		default:
			return false
		}
		zero := bits&uint64(x.Mask) == 0
		if x.RelOp == BitmaskEqualZero {
			return zero
		}
		return x.RelOp == BitmaskNotEqualZero && !zero
	case *SizeRestriction:
		prop, ok := e.get(x.PropTag)
		if !ok {
			return false
		}
		return relop(x.RelOp, cmpInt(int64(ValueSize(prop)), int64(x.Size)))
	case *ExistRestriction:
		_, ok := e.get(x.PropTag)
		return ok
	case *SubObjectRestriction:
		if e.SubObjects == nil {
			return false
		}
		for _, getter := range e.SubObjects(x.SubObject) {
			sub := Evaluator{GetProp: getter, MemberOfDL: e.MemberOfDL}
			if sub.match(x.Restriction, depth+1) {
				return true
			}
		}
		return false
	case *CommentRestriction:
		// The comment's values are annotations; only the child is evaluated.
		if x.Restriction == nil {
			return true
		}
		return e.match(x.Restriction, depth+1)
	case *CountRestriction:
		if !e.match(x.Restriction, depth+1) {
			return false
		}
		if e.counts == nil {
			e.counts = map[*CountRestriction]uint32{}
		}
		if e.counts[x] >= x.Count {
			return false
		}
		e.counts[x]++
		return true
	}
	return false
}

// anyElement applies f to v, or to each element of a multi-valued v.
func anyElement(v Value, f func(Value) bool) bool {
	if !v.Tag.Type().IsMultiple() {
		return f(v)
	}
	for _, el := range Elements(v) {
		if f(el) {
			return true
		}
	}
	return false
}

// Elements splits a multi-valued value into single values of the base type.
// A single value is returned as a one-element slice.
func Elements(v Value) []Value {
	t := v.Tag.Type()
	if !t.IsMultiple() {
		return []Value{v}
	}
	bt := v.Tag.WithType(t.Base())
	var out []Value
	add := func(d any) { out = append(out, Value{bt, d}) }
	switch d := v.Data.(type) {
	case []int16:
		for _, x := range d {
			add(x)
		}
	case []int32:
		for _, x := range d {
			add(x)
		}
	case []int64:
		for _, x := range d {
			add(x)
		}
	case []float32:
		for _, x := range d {
			add(x)
		}
	case []float64:
		for _, x := range d {
			add(x)
		}
	case []string:
		for _, x := range d {
			add(x)
		}
	case []time.Time:
		for _, x := range d {
			add(x)
		}
	case []GUID:
		for _, x := range d {
			add(x)
		}
	case [][]byte:
		for _, x := range d {
			add(x)
		}
	}
	return out
}

func relop(op uint8, c int) bool {
	switch op {
	case RelOpLessThan:
		return c < 0
	case RelOpLessThanOrEqual:
		return c <= 0
	case RelOpGreaterThan:
		return c > 0
	case RelOpGreaterThanOrEqual:
		return c >= 0
	case RelOpEqual:
		return c == 0
	case RelOpNotEqual:
		return c != 0
	}
	return false
}

// relopValues applies op to prop and target. A multi-valued property
// compared with a single value matches if any element does.
func relopValues(op uint8, prop, target Value) bool {
	if prop.Tag.Type().IsMultiple() && !target.Tag.Type().IsMultiple() {
		return anyElement(prop, func(p Value) bool { return relopValues(op, p, target) })
	}
	if op == RelOpRegex {
		s, ok1 := prop.Data.(string)
		pat, ok2 := target.Data.(string)
		if !ok1 || !ok2 {
			return false
		}
		re, err := regexp.Compile("(?i)" + pat)
		return err == nil && re.MatchString(s)
	}
	c, ok := CompareValues(prop, target)
	return ok && relop(op, c)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CompareValues orders two values the way table sorts and restrictions
// compare them: numbers numerically (integers of any width and floats mix),
// strings case-insensitively (PtypString and PtypString8 mix), binaries and
// GUIDs bytewise, times chronologically, false before true, multi-valued
// values element by element. ok is false when the types do not compare.
func CompareValues(a, b Value) (c int, ok bool) {
	if ai, aok := asInt(a.Data); aok {
		if bi, bok := asInt(b.Data); bok {
			return cmpInt(ai, bi), true
		}
		if bf, bok := asFloat(b.Data); bok {
			return cmpFloat(float64(ai), bf), true
		}
		return 0, false
	}
	if af, aok := asFloat(a.Data); aok {
		if bf, bok := asFloat(b.Data); bok {
			return cmpFloat(af, bf), true
		}
		if bi, bok := asInt(b.Data); bok {
			return cmpFloat(af, float64(bi)), true
		}
		return 0, false
	}
	switch x := a.Data.(type) {
	case string:
		y, ok := b.Data.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(foldCase(x), foldCase(y)), true
	case []byte:
		y, ok := b.Data.([]byte)
		if !ok {
			return 0, false
		}
		return bytes.Compare(x, y), true
	case GUID:
		y, ok := b.Data.(GUID)
		if !ok {
			return 0, false
		}
		return bytes.Compare(x[:], y[:]), true
	case time.Time:
		y, ok := b.Data.(time.Time)
		if !ok {
			return 0, false
		}
		return x.Compare(y), true
	case bool:
		y, ok := b.Data.(bool)
		if !ok {
			return 0, false
		}
		switch {
		case x == y:
			return 0, true
		case !x:
			return -1, true
		}
		return 1, true
	}
	if a.Tag.Type().IsMultiple() && b.Tag.Type().IsMultiple() {
		ae, be := Elements(a), Elements(b)
		for i := 0; i < len(ae) && i < len(be); i++ {
			c, ok := CompareValues(ae[i], be[i])
			if !ok {
				return 0, false
			}
			if c != 0 {
				return c, true
			}
		}
		return cmpInt(int64(len(ae)), int64(len(be))), true
	}
	return 0, false
}

func asInt(d any) (int64, bool) {
	switch v := d.(type) {
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case ErrorCode:
		return int64(v), true
	}
	return 0, false
}

func asFloat(d any) (float64, bool) {
	switch v := d.(type) {
	case float32:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

func foldCase(s string) string { return strings.ToLower(s) }

// ValueSize is the size a Size restriction compares (MS-OXCDATA 2.12.8):
// the byte length of the value as stored by MAPI — UTF-16 code units plus
// terminator for PtypString, bytes plus terminator for PtypString8, the
// byte count for binaries, the fixed width otherwise, summed over the
// elements of a multi-valued property.
func ValueSize(v Value) int {
	switch d := v.Data.(type) {
	case nil:
		return 0
	case int16:
		return 2
	case int32, float32, ErrorCode:
		return 4
	case int64, float64, time.Time:
		return 8
	case bool:
		return 2 // MAPI stores PT_BOOLEAN as an unsigned short
	case GUID:
		return 16
	case []byte:
		return len(d)
	case string:
		if v.Tag.Type().Base() == PtypString8 {
			b, _ := EncodeString8(d, CodePageWindows1252)
			return len(b) + 1
		}
		return UTF16Len(d) + 2
	}
	if v.Tag.Type().IsMultiple() {
		n := 0
		for _, el := range Elements(v) {
			n += ValueSize(el)
		}
		return n
	}
	return v.EncodedSize()
}

func contentMatch(x *ContentRestriction, prop Value) bool {
	target := x.Value
	if target.Tag.Type().IsMultiple() {
		// A multi-valued pattern matches if any of its values does.
		for _, t := range Elements(target) {
			y := *x
			y.Value = t
			if contentMatch(&y, prop) {
				return true
			}
		}
		return false
	}
	mode := x.FuzzyLevelLow & 0x000F
	switch p := prop.Data.(type) {
	case []byte:
		t, ok := target.Data.([]byte)
		if !ok {
			return false
		}
		switch mode {
		case FuzzySubstring:
			return bytes.Contains(p, t)
		case FuzzyPrefix:
			return bytes.HasPrefix(p, t)
		}
		return bytes.Equal(p, t)
	case string:
		t, ok := target.Data.(string)
		if !ok {
			return false
		}
		p, t = normalizeFuzzy(p, x.FuzzyLevelHigh), normalizeFuzzy(t, x.FuzzyLevelHigh)
		switch {
		case x.FuzzyLevelLow&FuzzyPrefixOnAnyWord != 0:
			if strings.HasPrefix(p, t) {
				return true
			}
			for _, w := range strings.FieldsFunc(p, notWordRune) {
				if strings.HasPrefix(w, t) {
					return true
				}
			}
			return false
		case x.FuzzyLevelLow&FuzzyPhraseMatch != 0:
			return phraseMatch(p, t)
		}
		switch mode {
		case FuzzySubstring:
			return strings.Contains(p, t)
		case FuzzyPrefix:
			return strings.HasPrefix(p, t)
		}
		return p == t
	}
	return false
}

func notWordRune(c rune) bool { return !unicode.IsLetter(c) && !unicode.IsDigit(c) }

// phraseMatch reports whether t occurs in p starting and ending at word
// boundaries.
func phraseMatch(p, t string) bool {
	if t == "" {
		return true
	}
	for i := 0; i+len(t) <= len(p); {
		j := strings.Index(p[i:], t)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(t)
		before := start == 0 || notWordRune(lastRune(p[:start]))
		after := end == len(p) || notWordRune([]rune(p[end:])[0])
		if before && after {
			return true
		}
		i = start + 1
	}
	return false
}

func lastRune(s string) rune {
	r := []rune(s)
	return r[len(r)-1]
}

// normalizeFuzzy applies the FuzzyLevelHigh comparison flags: IGNORECASE
// folds case, IGNORENONSPACE drops diacritics, LOOSE does both.
func normalizeFuzzy(s string, high uint16) string {
	if high&(FuzzyIgnoreNonSpace|FuzzyLoose) != 0 {
		s = stripDiacritics(s)
	}
	if high&(FuzzyIgnoreCase|FuzzyLoose) != 0 {
		s = foldCase(s)
	}
	return s
}

// stripDiacritics removes combining marks and maps precomposed Latin
// letters (U+00C0-U+017F) to their base letter. It is a small, dependency
// free approximation of Unicode decomposition that covers Western and
// Central European text.
func stripDiacritics(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, c := range s {
		if unicode.Is(unicode.Mn, c) {
			continue
		}
		if c >= 0xC0 && c <= 0x17F {
			if base := latinBase[c-0xC0]; base != 0 {
				b.WriteByte(base)
				continue
			}
		}
		b.WriteRune(c)
	}
	return b.String()
}

// latinBase maps U+00C0..U+017F to an ASCII base letter (0 = keep).
var latinBase = func() [0x17F - 0xC0 + 1]byte {
	var t [0x17F - 0xC0 + 1]byte
	set := func(from rune, letters string) {
		for i := 0; i < len(letters); i++ {
			if letters[i] != '.' {
				t[from-0xC0+rune(i)] = letters[i]
			}
		}
	}
	set(0xC0, "AAAAAA.CEEEEIIIIDNOOOOO.OUUUUY..aaaaaa.ceeeeiiiidnooooo.ouuuuy.y")
	set(0x100, "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi..JjKk.LlLlLlLlLlNnNnNn...OoOoOo..RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZz.")
	return t
}()
