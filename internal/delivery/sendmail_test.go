package delivery_test

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

func TestParseSendmailArgs(t *testing.T) {
	cases := []struct {
		args []string
		want delivery.SendmailArgs
		err  bool
	}{
		{[]string{"-t", "-i"}, delivery.SendmailArgs{ExtractRecipients: true, IgnoreDots: true}, false},
		{[]string{"-oi", "-f", "<cron@example.com>", "a@x"}, delivery.SendmailArgs{IgnoreDots: true, Sender: "cron@example.com", Recipients: []string{"a@x"}}, false},
		{[]string{"-fcron@example.com", "-FCron Daemon", "a@x", "b@y"}, delivery.SendmailArgs{Sender: "cron@example.com", FullName: "Cron Daemon", Recipients: []string{"a@x", "b@y"}}, false},
		{[]string{"-F", "Jo", "-odi", "-oem", "-bm", "-B", "8BITMIME", "--", "-weird@x"}, delivery.SendmailArgs{FullName: "Jo", Recipients: []string{"-weird@x"}}, false},
		{[]string{"-r", "bounce@example.com", "a@x"}, delivery.SendmailArgs{Sender: "bounce@example.com", Recipients: []string{"a@x"}}, false},
		{[]string{"-f"}, delivery.SendmailArgs{}, true},
		{[]string{"-bs"}, delivery.SendmailArgs{}, true},
		{[]string{"-Z"}, delivery.SendmailArgs{}, true},
	}
	for _, tc := range cases {
		got, err := delivery.ParseSendmailArgs(tc.args)
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v", tc.args, err)
			continue
		}
		if !tc.err && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

func TestReadSendmailMessage(t *testing.T) {
	in := "Subject: x\n\nline\n.\nafter\r\nlast"
	got, err := delivery.ReadSendmailMessage(strings.NewReader(in), false, 0)
	if err != nil || string(got) != "Subject: x\r\n\r\nline\r\n" {
		t.Fatalf("dot ends: %q %v", got, err)
	}
	got, err = delivery.ReadSendmailMessage(strings.NewReader(in), true, 0)
	if err != nil || string(got) != "Subject: x\r\n\r\nline\r\n.\r\nafter\r\nlast\r\n" {
		t.Fatalf("-i: %q %v", got, err)
	}
	long := strings.Repeat("y", 200<<10)
	got, err = delivery.ReadSendmailMessage(strings.NewReader("Subject: x\n\n"+long+"\n"), true, 0)
	if err != nil || !strings.HasSuffix(string(got), long+"\r\n") {
		t.Fatalf("long line: %v", err)
	}
	if _, err := delivery.ReadSendmailMessage(strings.NewReader(long), true, 1000); err == nil {
		t.Fatal("size limit not enforced")
	}
}

// -t: recipients from To/Cc/Bcc (groups and display names understood),
// Bcc removed, From added with -F, the arguments added as well.
func TestPrepareSendmail(t *testing.T) {
	raw := []byte("To: Ann <ann@example.com>, team: b@example.com, c@example.com;\r\nCc: d@example.com\r\nBcc: secret@example.com,\r\n\tother@example.com\r\nSubject: hi\r\n\r\nbody\r\n")
	a := delivery.SendmailArgs{ExtractRecipients: true, FullName: "Jörg", Recipients: []string{"e@example.com, ann@example.com"}}
	sub, err := delivery.PrepareSendmail(raw, a, "www-data", "host.example.com", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"e@example.com", "ann@example.com", "b@example.com", "c@example.com", "d@example.com", "secret@example.com", "other@example.com"}
	if !reflect.DeepEqual(sub.Recipients, want) {
		t.Fatalf("recipients %q", sub.Recipients)
	}
	if sub.Sender != "www-data@host.example.com" {
		t.Fatalf("sender %q", sub.Sender)
	}
	fields := delivery.Header(sub.Raw)
	keys := []string{}
	for _, f := range fields {
		keys = append(keys, f.Key)
	}
	if strings.Join(keys, ",") != "Received,From,Message-ID,Date,To,Cc,Subject" {
		t.Fatalf("fields %v", keys)
	}
	if from := message.ParseAddressList(fields[1].Value); len(from) != 1 || from[0].DisplayName() != "Jörg" || from[0].Addr() != "www-data@host.example.com" {
		t.Fatalf("From %q", fields[1].Value)
	}
	if !strings.HasSuffix(string(sub.Raw), "\r\n\r\nbody\r\n") {
		t.Fatalf("body lost: %q", sub.Raw)
	}
	// Without -t the header's recipients are not used.
	sub, err = delivery.PrepareSendmail(raw, delivery.SendmailArgs{Recipients: []string{"x@example.com"}}, "u", "h.example", time.Now())
	if err != nil || len(sub.Recipients) != 1 {
		t.Fatalf("no -t: %+v %v", sub, err)
	}
	// A bare user name is qualified with the host name.
	sub, err = delivery.PrepareSendmail(raw, delivery.SendmailArgs{Recipients: []string{"root"}}, "u", "h.example", time.Now())
	if err != nil || len(sub.Recipients) != 1 || sub.Recipients[0] != "root@h.example" {
		t.Fatalf("bare name: %+v %v", sub, err)
	}
	if _, err := delivery.PrepareSendmail([]byte("Subject: x\r\n\r\n"), delivery.SendmailArgs{ExtractRecipients: true}, "u", "h", time.Now()); err == nil {
		t.Fatal("no recipients accepted")
	}
	// A message without any header is all body.
	sub, err = delivery.PrepareSendmail([]byte("just text\r\n"), delivery.SendmailArgs{Recipients: []string{"x@example.com"}}, "u", "h.example", time.Now())
	if err != nil || !strings.HasSuffix(string(sub.Raw), "\r\n\r\njust text\r\n") {
		t.Fatalf("headerless: %+v %v", sub, err)
	}
}

// FuzzPrepareSendmail: whatever a local program pipes in, the result is a
// message whose header has no Bcc field, with every -t recipient taken
// from an address that appears in the input, and that parses.
func FuzzPrepareSendmail(f *testing.F) {
	f.Add([]byte("To: a@example.com\r\nBcc: b@example.com\r\n\r\nx\r\n"), true, "Name")
	f.Add([]byte("To: \"q@x\" <a@example.com>, g: ;\r\n"), true, "")
	f.Add([]byte("no header\r\n"), false, "\r\nBcc: x@y")
	f.Add([]byte("Bcc:\r\n\tlong@example.com\r\nTo: x@example.com\r\n\r\n"), true, "")
	f.Fuzz(func(t *testing.T, raw []byte, extract bool, name string) {
		a := delivery.SendmailArgs{ExtractRecipients: extract, FullName: name, Recipients: []string{"arg@example.com"}}
		sub, err := delivery.PrepareSendmail(raw, a, "user", "host.example", time.Unix(0, 0))
		if err != nil {
			t.Fatal(err) // there is always the argument recipient
		}
		for _, f := range delivery.Header(sub.Raw) {
			if strings.EqualFold(f.Key, "Bcc") {
				t.Fatalf("Bcc kept: %q", sub.Raw)
			}
		}
		if sub.Recipients[0] != "arg@example.com" {
			t.Fatalf("recipients %q", sub.Recipients)
		}
		// The address parser may drop quotes, comments and folding, so
		// compare bytes: a recipient is made only of what was piped in.
		for _, r := range sub.Recipients[1:] {
			local, _, ok := delivery.SplitAddress(r)
			if !ok {
				t.Fatalf("recipient %q is not an address", r)
			}
			for i := 0; i < len(local); i++ {
				if bytes.IndexByte(raw, local[i]) < 0 {
					t.Fatalf("recipient %q not from the input", r)
				}
			}
		}
		message.Parse(sub.Raw)
	})
}

// Send resolves, stores locally, queues remote, and bounces unknown local
// recipients; a message where every recipient fails stores nothing.
func TestSendUnit(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	d := delivery.New(delivery.Options{Store: e.Store, Directory: e.Dir, Hostname: "mx.example.com"})
	alice := e.AddUser(t, "alice@example.com", "pw")
	raw := []byte("From: alice@example.com\r\nSubject: s\r\n\r\nb\r\n")
	res, err := d.Send(ctx, &delivery.Outgoing{Sender: "alice@example.com", Raw: raw, Recipients: []delivery.Recipient{{Address: "alice@example.com"}, {Address: "nobody@example.com"}, {Address: "x@remote.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 1 || res.Queued != 1 || res.Failed != 1 || !res.Bounced {
		t.Fatalf("result %+v", res)
	}
	f, _ := e.Store.FolderByRole(ctx, alice.ID, storage.RoleInbox)
	ms, _ := e.Store.ListMessages(ctx, alice.ID, f.ID, storage.ListQuery{Sort: storage.SortUID})
	if len(ms) != 2 || ms[1].Subject != "Undelivered Mail Returned to Sender" {
		t.Fatalf("inbox %+v", ms)
	}
	res, err = d.Send(ctx, &delivery.Outgoing{Sender: "alice@example.com", Raw: raw, Recipients: []delivery.Recipient{{Address: "nobody@example.com"}}})
	if err != nil || !res.AllFailed() || res.Bounced {
		t.Fatalf("all failed: %+v %v", res, err)
	}
	if n, _ := e.Store.BlobCount(ctx); n != 2 {
		t.Fatalf("%d blobs after a message that failed everywhere", n)
	}
}
