package nspi

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// fuzzRequest decodes arbitrary bytes as one request type: decoding never
// panics, and whatever decodes re-encodes and decodes to the same value.
func fuzzRequest(f *testing.F, requestType string) {
	samples := sampleMessages()
	for _, m := range samples {
		if RequestType(m) == requestType && reflect.TypeOf(m) == reflect.TypeOf(NewRequest(requestType)) {
			b, err := Marshal(m)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add(make([]byte, 45))
	f.Add([]byte{0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRoundTrip(t, NewRequest(requestType), data)
	})
}

func checkRoundTrip(t *testing.T, m Message, data []byte) {
	if err := Unmarshal(data, m); err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		return
	}
	b, err := Marshal(m)
	if err != nil {
		t.Fatalf("decoded %#v but cannot re-encode it: %v", m, err)
	}
	again := reflect.New(reflect.TypeOf(m).Elem()).Interface().(Message)
	if err := Unmarshal(b, again); err != nil {
		t.Fatalf("re-encoded bytes do not decode: %v", err)
	}
	if !reflect.DeepEqual(again, m) {
		t.Fatalf("round trip changed the value:\n%#v\n%#v", m, again)
	}
}

func FuzzBindRequest(f *testing.F)              { fuzzRequest(f, RequestBind) }
func FuzzUnbindRequest(f *testing.F)            { fuzzRequest(f, RequestUnbind) }
func FuzzCompareMIdsRequest(f *testing.F)       { fuzzRequest(f, RequestCompareMIds) }
func FuzzDNToMIdRequest(f *testing.F)           { fuzzRequest(f, RequestDNToMId) }
func FuzzGetMatchesRequest(f *testing.F)        { fuzzRequest(f, RequestGetMatches) }
func FuzzGetPropListRequest(f *testing.F)       { fuzzRequest(f, RequestGetPropList) }
func FuzzGetPropsRequest(f *testing.F)          { fuzzRequest(f, RequestGetProps) }
func FuzzGetSpecialTableRequest(f *testing.F)   { fuzzRequest(f, RequestGetSpecialTable) }
func FuzzGetTemplateInfoRequest(f *testing.F)   { fuzzRequest(f, RequestGetTemplateInfo) }
func FuzzModLinkAttRequest(f *testing.F)        { fuzzRequest(f, RequestModLinkAtt) }
func FuzzModPropsRequest(f *testing.F)          { fuzzRequest(f, RequestModProps) }
func FuzzQueryColumnsRequest(f *testing.F)      { fuzzRequest(f, RequestQueryColumns) }
func FuzzQueryRowsRequest(f *testing.F)         { fuzzRequest(f, RequestQueryRows) }
func FuzzResolveNamesRequest(f *testing.F)      { fuzzRequest(f, RequestResolveNames) }
func FuzzResortRestrictionRequest(f *testing.F) { fuzzRequest(f, RequestResortRestriction) }
func FuzzSeekEntriesRequest(f *testing.F)       { fuzzRequest(f, RequestSeekEntries) }
func FuzzUpdateStatRequest(f *testing.F)        { fuzzRequest(f, RequestUpdateStat) }
func FuzzGetMailboxURLRequest(f *testing.F)     { fuzzRequest(f, RequestGetMailboxURL) }
func FuzzGetAddressBookURLRequest(f *testing.F) { fuzzRequest(f, RequestGetAddressBookURL) }

// FuzzResponses decodes arbitrary bytes as any response (what a client
// reads from a server), with the first byte choosing the type.
func FuzzResponses(f *testing.F) {
	for _, m := range sampleMessages() {
		typ := RequestType(m)
		if reflect.TypeOf(m) != reflect.TypeOf(NewResponse(typ)) {
			continue
		}
		b, err := Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		for i, rt := range RequestTypes {
			if rt == typ {
				f.Add(append([]byte{byte(i)}, b...))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		checkRoundTrip(t, NewResponse(RequestTypes[int(data[0])%len(RequestTypes)]), data[1:])
	})
}

// FuzzHandle sends arbitrary bodies of every request type to a server over
// a seeded directory: no panic, no internal error, and every answer is a
// well-formed response of its type.
func FuzzHandle(f *testing.F) {
	b := localBook(f)
	acc := b.accounts["alice"]
	for _, m := range sampleMessages() {
		typ := RequestType(m)
		if reflect.TypeOf(m) != reflect.TypeOf(NewRequest(typ)) {
			continue
		}
		body, err := Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		for i, rt := range RequestTypes {
			if rt == typ {
				f.Add(append([]byte{byte(i)}, body...))
			}
		}
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		typ := RequestTypes[int(data[0])%len(RequestTypes)]
		_, sess, err := b.srv.Handle(ctx, RequestBind, acc, nil, nil)
		if err != nil || sess == nil {
			t.Fatalf("Bind: %v", err)
		}
		out, _, err := b.srv.Handle(ctx, typ, acc, sess, data[1:])
		switch {
		case errors.Is(err, ErrInvalidBody):
			return
		case err != nil:
			t.Fatalf("%s: %v", typ, err)
		}
		if err := Unmarshal(out, NewResponse(typ)); err != nil {
			t.Fatalf("%s answered an undecodable body: %v", typ, err)
		}
	})
}
