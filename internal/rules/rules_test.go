package rules

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
)

func sampleRules(t testing.TB) []Rule {
	mv, err := EncodeMoveCopy(MoveCopy{InThisStore: true, FolderID: mp.MakeID(1, 0x1234)})
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := EncodeForward([][]mp.Value{SMTPRecipient("Dan", "dan@remote.example")})
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := EncodeTag(mp.Int32Value(mp.PidTagImportance, 2))
	return []Rule{
		{ID: 2, Sequence: 2, State: StateEnabled, Name: "forward", Provider: "RuleOrganizer",
			Actions: mp.RuleActions{{Type: mp.ActionForward, Data: fwd}, {Type: mp.ActionReply, Data: EncodeReply(ReplyTemplate{FolderID: mp.MakeID(1, 5), MessageID: mp.MakeID(1, 9)})}}},
		{ID: 1, Sequence: 1, State: StateEnabled | StateExitLevel, Name: "move",
			Condition: &mp.ContentRestriction{FuzzyLevelLow: mp.FuzzySubstring, FuzzyLevelHigh: mp.FuzzyIgnoreCase, PropTag: mp.PidTagSubject, Value: mp.StringValue(mp.PidTagSubject, "report")},
			Actions:   mp.RuleActions{{Type: mp.ActionMove, Data: mv}, {Type: mp.ActionTag, Data: tag}, {Type: mp.ActionMarkAsRead, Data: []byte{}}}},
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	row, err := Encode(sampleRules(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(row)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != 1 || got[1].ID != 2 {
		t.Fatalf("decoded %+v; want rules in sequence order", got)
	}
	want := sampleRules(t)[1]
	if got[0].Name != want.Name || got[0].State != want.State || !reflect.DeepEqual(got[0].Condition, want.Condition) || !reflect.DeepEqual(got[0].Actions, want.Actions) {
		t.Fatalf("rule 1 = %+v, want %+v", got[0], want)
	}
	if got[1].Provider != "RuleOrganizer" {
		t.Fatalf("provider %q", got[1].Provider)
	}
	again, err := Encode(got)
	if err != nil {
		t.Fatal(err)
	}
	if back, _ := Decode(again); len(back) != 2 {
		t.Fatal("second round trip lost rules")
	}
}

func TestDecodeDamagedRow(t *testing.T) {
	row, _ := Encode(sampleRules(t))
	for _, bad := range [][]byte{{}, {0xFF, 0xFF, 0xFF, 0xFF}, row[:len(row)/2]} {
		if _, err := Decode(bad); err == nil {
			t.Fatalf("damaged row %x decoded", bad)
		}
	}
}

func message(subject string) *oxcmail.Message {
	var p oxcmail.Props
	p.Set(mp.StringValue(mp.PidTagSubject, subject))
	return &oxcmail.Message{Props: p}
}

func TestEvaluatePlan(t *testing.T) {
	rs := sampleRules(t)
	row, _ := Encode(rs)
	rs, _ = Decode(row)
	p := Evaluate(rs, message("Monthly Report"), Facts{}, nil)
	if p.MoveTo == nil || p.MoveTo.FolderID.GlobalCounter() != 0x1234 || !p.MarkRead || len(p.Set) != 1 || p.Set[0].Data != int32(2) {
		t.Fatalf("plan %+v", p)
	}
	if len(p.Forwards) != 0 {
		t.Fatal("exit level did not stop the later rule")
	}
	p = Evaluate(rs, message("Lunch"), Facts{}, nil)
	if p.MoveTo != nil || len(p.Forwards) != 1 || len(p.Replies) != 1 || p.Replies[0].Template.MessageID.GlobalCounter() != 9 {
		t.Fatalf("plan %+v", p)
	}
	addr, _, ok := RecipientAddress(p.Forwards[0].Recipients[0])
	if !ok || addr != "dan@remote.example" {
		t.Fatalf("forward recipient %q %v", addr, ok)
	}
	// Only-when-OOF rules wait for the absence.
	rs[1].State |= StateOnlyWhenOOF
	if p := Evaluate(rs, message("Lunch"), Facts{}, nil); len(p.Forwards) != 0 {
		t.Fatal("ST_ONLY_WHEN_OOF rule ran while in the office")
	}
	if p := Evaluate(rs, message("Lunch"), Facts{OOF: true}, nil); len(p.Forwards) != 1 {
		t.Fatal("ST_ONLY_WHEN_OOF rule did not run while out of office")
	}
	// A rule with an unreadable action is skipped whole.
	rs[1].Actions = append(rs[1].Actions, mp.ActionBlock{Type: mp.ActionCopy, Data: []byte{1}})
	if p := Evaluate(rs, message("Lunch"), Facts{OOF: true}, nil); len(p.Forwards) != 0 || len(p.Failed) != 1 {
		t.Fatalf("broken rule half ran: %+v", p)
	}
}

func TestRecipientAddressForms(t *testing.T) {
	oneOff := []mp.Value{mp.BinaryValue(mp.PidTagEntryId, mp.NewSMTPOneOff("X", "x@example.net").Bytes())}
	if a, _, ok := RecipientAddress(oneOff); !ok || a != "x@example.net" {
		t.Fatalf("one-off: %q %v", a, ok)
	}
	ex := []mp.Value{mp.BinaryValue(mp.PidTagEntryId, mp.AddressBookEntryID{X500DN: "/o=Pochta/cn=Recipients/cn=x"}.Bytes())}
	if _, dn, ok := RecipientAddress(ex); ok || dn != "/o=Pochta/cn=Recipients/cn=x" {
		t.Fatalf("address book entry: %q %v", dn, ok)
	}
}

func TestOOFLogCodec(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	log := map[string]time.Time{"ann@example.org": now, "b@example.net": now.Add(-time.Hour)}
	if got := decodeOOFLog(encodeOOFLog(log)); !reflect.DeepEqual(got, log) {
		t.Fatalf("log round trip %v", got)
	}
}

func FuzzDecodeStoredRules(f *testing.F) {
	row, _ := Encode(sampleRules(f))
	f.Add(row)
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := Decode(b)
		if err != nil {
			return
		}
		// What decodes encodes again and decodes to the same rules.
		again, err := Encode(rs)
		if err != nil {
			return
		}
		back, err := Decode(again)
		if err != nil || len(back) != len(rs) {
			t.Fatalf("re-encoded row does not decode: %v", err)
		}
		Evaluate(rs, message("fuzz"), Facts{OOF: true}, nil)
	})
}

func FuzzRuleActions(f *testing.F) {
	for _, r := range sampleRules(f) {
		w := mp.NewWriter()
		w.RuleActions(r.Actions)
		f.Add(w.Bytes())
	}
	f.Add([]byte{1, 0, 9, 0, mp.ActionMove, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		// The path RopModifyRules uses: a PtypRuleAction value in ROP form.
		r := mp.NewReader(b)
		acts := r.RuleActions()
		if r.Err() != nil {
			return
		}
		for _, a := range acts {
			switch a.Type {
			case mp.ActionMove, mp.ActionCopy:
				if m, err := ParseMoveCopy(a.Data); err == nil {
					data, err := EncodeMoveCopy(m)
					if err != nil {
						t.Fatal(err)
					}
					if m2, err := ParseMoveCopy(data); err != nil || m2.FolderID != m.FolderID || !bytes.Equal(m2.FolderEID, m.FolderEID) {
						t.Fatalf("move data does not round-trip: %v", err)
					}
				}
			case mp.ActionForward, mp.ActionDelegate:
				if rc, err := ParseForward(a.Data); err == nil {
					for _, block := range rc {
						RecipientAddress(block)
					}
				}
			case mp.ActionReply, mp.ActionOOFReply:
				if tpl, err := ParseReply(a.Data); err == nil {
					if back, _ := ParseReply(EncodeReply(tpl)); back != tpl {
						t.Fatal("reply data does not round-trip")
					}
				}
			case mp.ActionTag:
				_, _ = ParseTag(a.Data)
			}
		}
		Evaluate([]Rule{{ID: 1, State: StateEnabled, Actions: acts}}, message("x"), Facts{}, nil)
	})
}

func FuzzOOFLog(f *testing.F) {
	f.Add(encodeOOFLog(map[string]time.Time{"ann@example.org": time.Unix(1, 0)}))
	f.Add([]byte{0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		log := decodeOOFLog(b)
		if back := decodeOOFLog(encodeOOFLog(log)); len(back) != len(log) {
			t.Fatalf("%d entries became %d", len(log), len(back))
		}
	})
}
