package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pochta/pochta/storage"
)

// Done-when 6: `pochta sendmail -t` (and the binary called as sendmail)
// submits through the ingest path: local recipients from To:/Cc: get the
// message, the Bcc: recipient is queued and the Bcc: field is gone; then
// `pochta queue list|show|retry|delete` manage the queued part.
func TestSendmailAndQueueCommands(t *testing.T) {
	dir := t.TempDir()
	env := append(os.Environ(), "POCHTA_SERVER_HOSTNAME=mx.example.com")
	for _, u := range []string{"alice@example.com", "bob@example.com"} {
		if out, err := runPochta(t, dir, env, "pw\n", "user", "add", u); err != nil {
			t.Fatalf("user add: %v\n%s", err, out)
		}
	}
	msg := "To: alice@example.com\nCc: Bob <bob@example.com>\nBcc: carol@remote.example\nSubject: nightly report\n\nall good\n.\nthe line above is a dot\n"
	out, err := runPochta(t, dir, env, msg, "sendmail", "-t", "-i", "-f", "cron@example.com", "-F", "Cron Daemon")
	if err != nil {
		t.Fatalf("sendmail -t: %v\n%s", err, out)
	}
	// Called through a symlink named sendmail, without -i: "." ends the message.
	link := filepath.Join(dir, "sendmail")
	if err := os.Symlink(pochtaBin, link); err != nil {
		t.Fatal(err)
	}
	cmd := execIn(dir, env, link, "-t")
	cmd.Stdin = strings.NewReader("To: alice@example.com\nSubject: second\n\nshort\n.\nnot read\n")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail symlink: %v\n%s", err, b)
	}
	cmd = execIn(dir, env, link, "alice@example.com")
	cmd.Stdin = strings.NewReader("Subject: third\n\nshort\n.\nnot read\n")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail recipient argument: %v\n%s", err, b)
	}
	// An unknown local recipient only: refused with a non-zero exit.
	if out, err := runPochta(t, dir, env, "To: nobody@example.com\n\nx\n", "sendmail", "-t"); err == nil {
		t.Fatalf("sendmail to nobody succeeded:\n%s", out)
	}

	st, err := storage.Open(context.Background(), storage.Options{Driver: "sqlite", DSN: filepath.Join(dir, "pochta-data", "pochta.db")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	read := func(accountID int64) []string {
		f, err := st.FolderByRole(ctx, accountID, storage.RoleInbox)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := st.ListMessages(ctx, accountID, f.ID, storage.ListQuery{Sort: storage.SortUID})
		var out []string
		for _, m := range ms {
			b, _ := st.ReadBlob(ctx, m.BlobHash)
			out = append(out, string(b))
		}
		return out
	}
	alice, bob := read(1), read(2)
	if len(alice) != 3 || len(bob) != 1 {
		t.Fatalf("alice %d, bob %d messages", len(alice), len(bob))
	}
	first := alice[0]
	for _, want := range []string{"Received: (from local user ", "From: \"Cron Daemon\" <cron@example.com>\r\n", "Message-ID: <", "Date: ", "Subject: nightly report\r\n", "\r\n\r\nall good\r\n.\r\nthe line above is a dot\r\n"} {
		if !strings.Contains(first, want) {
			t.Errorf("message lacks %q:\n%s", want, first)
		}
	}
	if strings.Contains(first, "Bcc") || strings.Contains(first, "carol") {
		t.Errorf("Bcc visible:\n%s", first)
	}
	if !strings.HasSuffix(alice[1], "\r\n\r\nshort\r\n") || !strings.HasSuffix(alice[2], "\r\n\r\nshort\r\n") {
		t.Errorf("a lone dot did not end the message: %q / %q", alice[1], alice[2])
	}
	q, _ := st.QueueMessages(ctx, 0, 10)
	st.Close()
	if len(q) != 1 || q[0].Sender != "cron@example.com" || q[0].Recipients[0].Address != "carol@remote.example" {
		t.Fatalf("queue %+v", q)
	}

	out, err = runPochta(t, dir, env, "", "queue", "list")
	if err != nil || !strings.Contains(out, "cron@example.com") || !strings.Contains(out, "1 queued") {
		t.Fatalf("queue list: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`(?m)^(\d+)\s`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no id in %q", out)
	}
	out, err = runPochta(t, dir, env, "", "queue", "show", id[1])
	if err != nil || !strings.Contains(out, "carol@remote.example") || !strings.Contains(out, "pending") {
		t.Fatalf("queue show: %v\n%s", err, out)
	}
	if out, err := runPochta(t, dir, env, "", "queue", "retry", id[1]); err != nil {
		t.Fatalf("queue retry: %v\n%s", err, out)
	}
	if out, err := runPochta(t, dir, env, "", "queue", "delete", id[1]); err != nil {
		t.Fatalf("queue delete: %v\n%s", err, out)
	}
	out, _ = runPochta(t, dir, env, "", "queue", "list")
	if !strings.Contains(out, "0 queued") {
		t.Fatalf("after delete:\n%s", out)
	}
	if out, err := runPochta(t, dir, env, "", "queue", "show", id[1]); err == nil {
		t.Fatalf("deleted message shown:\n%s", out)
	}
}

func execIn(dir string, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	return cmd
}
