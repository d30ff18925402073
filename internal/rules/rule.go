package rules

import (
	"cmp"
	"slices"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
)

// Rule states (MS-OXORULE 2.2.1.3.1.3, PidTagRuleState).
const (
	StateEnabled         int32 = 0x00000001
	StateError           int32 = 0x00000002
	StateOnlyWhenOOF     int32 = 0x00000004
	StateKeepOOFHistory  int32 = 0x00000008
	StateExitLevel       int32 = 0x00000010
	StateSkipIfSCLIsSafe int32 = 0x00000020
	StateRuleParseError  int32 = 0x00000040
	StateClearOOFHistory int32 = -0x80000000 // 0x80000000
)

// Rule is one server-side rule: its MAPI properties, with the ones that
// drive execution decoded.
type Rule struct {
	ID        int64
	Sequence  int32
	State     int32
	Level     int32
	Name      string
	Provider  string
	Condition mp.Restriction // nil matches every message
	Actions   mp.RuleActions
	// Props are all the rule's stored properties (the MAPI rules table
	// shows them as they are).
	Props oxcmail.Props
}

// Enabled reports whether the rule runs (ST_ENABLED).
func (r *Rule) Enabled() bool { return r.State&StateEnabled != 0 }

// FromProps decodes a rule from its stored property set.
func FromProps(p oxcmail.Props) Rule {
	r := Rule{Props: p}
	if v, ok := p.Get(mp.PidTagRuleId); ok {
		r.ID, _ = v.Data.(int64)
	}
	r.Sequence, _ = p.Int32(mp.PidTagRuleSequence)
	r.State, _ = p.Int32(mp.PidTagRuleState)
	r.Level, _ = p.Int32(mp.PidTagRuleLevel)
	r.Name = p.String(mp.PidTagRuleName)
	r.Provider = p.String(mp.PidTagRuleProvider)
	if v, ok := p.Get(mp.PidTagRuleCondition); ok {
		r.Condition, _ = v.Data.(mp.Restriction)
	}
	if v, ok := p.Get(mp.PidTagRuleActions); ok {
		r.Actions, _ = v.Data.(mp.RuleActions)
	}
	return r
}

// ToProps returns the rule's property set for storing: Props with the
// decoded fields written over it.
func (r *Rule) ToProps() oxcmail.Props {
	p := r.Props.Clone()
	p.Set(mp.Int64Value(mp.PidTagRuleId, r.ID))
	p.Set(mp.Int32Value(mp.PidTagRuleSequence, r.Sequence))
	p.Set(mp.Int32Value(mp.PidTagRuleState, r.State))
	p.Set(mp.Int32Value(mp.PidTagRuleLevel, r.Level))
	if r.Name != "" {
		p.Set(mp.StringValue(mp.PidTagRuleName, r.Name))
	}
	if r.Provider != "" {
		p.Set(mp.StringValue(mp.PidTagRuleProvider, r.Provider))
	}
	if r.Condition != nil {
		p.Set(mp.Value{Tag: mp.PidTagRuleCondition, Data: r.Condition})
	}
	p.Set(mp.Value{Tag: mp.PidTagRuleActions, Data: r.Actions})
	return p
}

// Decode reads a folder's stored rule row, in execution order (ascending
// PidTagRuleSequence, MS-OXORULE 3.2.1.1; ties by id).
func Decode(row []byte) ([]Rule, error) {
	list, err := DecodeList(row)
	if err != nil {
		return nil, err
	}
	out := make([]Rule, 0, len(list))
	for _, p := range list {
		out = append(out, FromProps(p))
	}
	slices.SortStableFunc(out, func(a, b Rule) int {
		return cmp.Or(cmp.Compare(a.Sequence, b.Sequence), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Encode makes the stored row of a folder's rules.
func Encode(rs []Rule) ([]byte, error) {
	list := make([]oxcmail.Props, 0, len(rs))
	for i := range rs {
		list = append(list, rs[i].ToProps())
	}
	return EncodeList(list)
}
