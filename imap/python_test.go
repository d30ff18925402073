package imap

import (
	"context"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// imaplibScript drives the door with Python's imaplib over implicit TLS
// and STARTTLS. It prints "ok" when every assertion held.
const imaplibScript = `
import imaplib, ssl, sys, time, re

host, tls_port, plain_port, cafile, user, password = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=cafile)

def ok(typ, data, what):
    if typ != 'OK':
        raise SystemExit('%s: %s %r' % (what, typ, data))
    return typ, data

msg = (b'From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: python hello\r\n'
       b'Date: Wed, 06 Mar 2024 12:00:00 +0000\r\nMessage-ID: <py1@example.com>\r\n'
       b'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n'
       b'Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8gZnJvbSBQeXRob24=\r\n')

m = imaplib.IMAP4_SSL(host, int(tls_port), ssl_context=ctx)
caps = m.capabilities
for c in ('IMAP4REV2', 'IMAP4REV1', 'AUTH=PLAIN', 'SASL-IR'):
    assert c in caps, (c, caps)
ok(*m.login(user, password), 'LOGIN')
typ, caps = m.capability()
for c in (b'IDLE', b'UIDPLUS', b'MOVE', b'SPECIAL-USE', b'NAMESPACE', b'LITERAL+', b'CHILDREN', b'LIST-STATUS', b'STATUS=SIZE', b'UNSELECT', b'ENABLE'):
    assert c in caps[0].split(), (c, caps)

typ, data = ok(*m.list(), 'LIST')
names = [re.search(rb'"/" (.*)$', l).group(1).strip(b'"') for l in data]
assert b'INBOX' in names and b'Sent Items' in names and b'Calendar' not in names, names
assert any(b'\\Sent' in l and b'Sent Items' in l for l in data), data
ok(*m.namespace(), 'NAMESPACE')

ok(*m.create('Py/Sub'), 'CREATE')
ok(*m.rename('Py', 'Python'), 'RENAME')
typ, data = ok(*m.list('""', 'Python*'), 'LIST Python*')
assert len(data) == 2 and b'Python/Sub' in data[1], data
ok(*m.subscribe('Python/Sub'), 'SUBSCRIBE')
typ, data = ok(*m.lsub('""', 'Python/*'), 'LSUB')
assert b'Python/Sub' in data[0], data
ok(*m.unsubscribe('Python/Sub'), 'UNSUBSCRIBE')
ok(*m.delete('Python/Sub'), 'DELETE')
ok(*m.delete('Python'), 'DELETE')

typ, data = ok(*m.append('INBOX', '(\\Flagged $Py)', imaplib.Time2Internaldate(time.mktime((2024, 3, 7, 9, 0, 0, 0, 0, 0))), msg), 'APPEND')
assert b'APPENDUID' in data[0], data
typ, data = ok(*m.status('INBOX', '(MESSAGES UNSEEN UIDNEXT SIZE)'), 'STATUS')
assert b'MESSAGES 2' in data[0] and b'SIZE' in data[0], data

typ, data = ok(*m.select('INBOX'), 'SELECT')
assert data[0] == b'2', data
typ, data = ok(*m.fetch('2', '(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)'), 'FETCH')
line = data[0]
assert b'\\Flagged' in line and b'$Py' in line and (b'RFC822.SIZE %d' % len(msg)) in line, line
assert b'"python hello"' in line and b'"base64"' in line, line
typ, data = ok(*m.fetch('2', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)] BINARY.PEEK[1] BODY.PEEK[TEXT]<0.4>)'), 'FETCH sections')
blob = b'|'.join(d[1] for d in data if isinstance(d, tuple))
assert b'Subject: python hello\r\n\r\n' in blob and b'Hello from Python' in blob and b'SGVs' in blob, data

ok(*m.store('2', '+FLAGS', '(\\Seen)'), 'STORE')
typ, data = ok(*m.search(None, 'SEEN', 'FLAGGED', 'SUBJECT', '"python"'), 'SEARCH')
assert data[0] == b'2', data
typ, data = ok(*m.search(None, 'OR', 'BODY', 'Python', 'FROM', 'nobody', 'NOT', 'UNSEEN'), 'SEARCH OR/NOT/BODY')
assert data[0] == b'2', data
typ, data = ok(*m.uid('SEARCH', 'KEYWORD', '$Py'), 'UID SEARCH')
uid = data[0]
assert uid, data

ok(*m.create('PyArchive'), 'CREATE')
typ, data = ok(*m.uid('COPY', uid, 'PyArchive'), 'UID COPY')
typ, data = ok(*m.uid('MOVE', uid, 'PyArchive'), 'UID MOVE')
typ, data = ok(*m.select('PyArchive'), 'SELECT PyArchive')
assert data[0] == b'2', data
ok(*m.store('1', '+FLAGS', '(\\Deleted)'), 'STORE Deleted')
typ, data = ok(*m.expunge(), 'EXPUNGE')
assert data == [b'1'], data
ok(*m.unselect(), 'UNSELECT')

# IDLE in INBOX while a second connection (STARTTLS) appends.
typ, data = ok(*m.select('INBOX'), 'SELECT INBOX')
n = int(data[0])
m.send(b'I1 IDLE\r\n')
assert m.readline().startswith(b'+'), 'no IDLE continuation'
m2 = imaplib.IMAP4(host, int(plain_port))
ok(*m2.starttls(ssl_context=ctx), 'STARTTLS')
ok(*m2.login(user, password), 'LOGIN after STARTTLS')
ok(*m2.append('INBOX', None, None, msg), 'APPEND from the second connection')
line = m.readline()
assert line == b'* %d EXISTS\r\n' % (n + 1), line
m.send(b'DONE\r\n')
line = m.readline()
while not line.startswith(b'I1 '):
    line = m.readline()
assert line.startswith(b'I1 OK'), line
m2.logout()
m.logout()
print('ok')
`

// TestIMAPPythonImaplib drives the door with Python's imaplib over TLS and
// STARTTLS. Without python3 it skips locally and fails in CI.
func TestIMAPPythonImaplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is required in CI")
		}
		t.Skip("SKIPPING: python3 not found; imaplib interoperability is not tested")
	}
	ts := newTestServer(t)
	ts.env.Deliver(t, []byte(plainMessage("first", "delivered by smtp")), ts.accountID)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	leaf := ts.env.TLS.Certificates[0].Leaf
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "imaplib_test.py")
	if err := os.WriteFile(script, []byte(imaplibScript), 0o600); err != nil {
		t.Fatal(err)
	}
	host, tlsPort := splitAddr(t, ts.tlsAddr)
	_, plainPort := splitAddr(t, ts.plainAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, script, host, tlsPort, plainPort, ca, ts.user, testPassword).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("imaplib script failed: %v\n%s", err, out)
	}
}

func splitAddr(t *testing.T, addr string) (string, string) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("bad address %q", addr)
	}
	return addr[:i], addr[i+1:]
}
