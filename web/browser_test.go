package web_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/emersion/go-imap/v2"

	"github.com/pochta/pochta/storage"
)

// One headless Chromium serves every browser test of this binary; each
// test gets its own browser context (cookies, downloads) in it.

var shared struct {
	once    sync.Once
	ctx     context.Context // the browser
	cancel  func()
	dataDir string
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	if shared.dataDir != "" {
		os.RemoveAll(shared.dataDir)
	}
	os.Exit(code)
}

// chromiumPath finds the browser: $POCHTA_CHROMIUM, /usr/bin/chromium, or
// chromium on the PATH.
func chromiumPath() string {
	if p := os.Getenv("POCHTA_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// newTab returns a tab in a fresh browser context of the shared browser.
// Without Chromium the test skips, loudly, and fails when CI=true.
func newTab(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		msg := "Chromium is not installed (apt-get install chromium); the webmail browser tests need it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Log("SKIPPING: " + msg)
		t.Skip(msg)
	}
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "pochta-chromium-")
		if err != nil {
			shared.err = err
			return
		}
		shared.dataDir = dir
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-default-apps", true),
			chromedp.Flag("disable-extensions", true),
			chromedp.Flag("no-default-browser-check", true),
			chromedp.Flag("lang", "en-US"),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1366, 860),
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		shared.ctx = ctx
		shared.cancel = func() { cancelCtx(); cancelAlloc() }
		shared.err = chromedp.Do(ctx) // starts the browser
	})
	if shared.err != nil {
		t.Fatalf("starting Chromium: %v", shared.err)
	}
	tab, cancel := chromedp.NewContext(shared.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return tab
}

// run runs steps with a time limit, failing the test with what was going
// on when a step fails.
func run(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func value[T any](t *testing.T, tab context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitJS waits until a JavaScript expression is true in the page.
func waitJS(t *testing.T, tab context.Context, what, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		// Say what the page showed, and keep a picture of it.
		dctx, dcancel := context.WithTimeout(tab, 5*time.Second)
		defer dcancel()
		state, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`location.hash + ' | ' + document.getElementById('list-title')?.textContent + ' | ' +
			[...document.querySelectorAll('#message-list li .subject')].map(e => e.textContent).join(', ') + ' | ' + (document.getElementById('status')?.textContent || '')`))
		if buf, err := chromedp.Run(dctx, chromedp.CaptureScreenshot()); err == nil {
			os.WriteFile(filepath.Join(screenshotDir(t), "failure-"+t.Name()+".png"), buf, 0o644)
		}
		t.Fatalf("waiting for %s: %v (page: %s)", what, err, state)
	}
}

// screenshotDir is where the tests leave screenshots for people to look
// at: $POCHTA_SCREENSHOTS, or testdata/screenshots (git-ignored).
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("POCHTA_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	// Let transitions (the toast, the drawer) settle so the picture is stable.
	buf := value(t, tab, "screenshot "+name, chromedp.CaptureScreenshot())
	path := filepath.Join(screenshotDir(t), name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// consoleErrors collects the page's uncaught exceptions and console errors.
func consoleErrors(tab context.Context) func() []string {
	var mu sync.Mutex
	var errs []string
	msgs := chromedp.Console(tab)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			// The start-up check for a session answers 401 before sign-in.
			if m.IsException() || (m.Type == "error" && !strings.Contains(m.Text, "status of 401")) {
				mu.Lock()
				errs = append(errs, m.String())
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(errs)
	}
}

func signIn(t *testing.T, h *harness, tab context.Context, login string) {
	t.Helper()
	run(t, tab, "sign in",
		chromedp.Navigate(h.url+"/"),
		chromedp.WaitVisible(chromedp.ID("login-user")),
		chromedp.SendKeys(chromedp.ID("login-user"), login),
		chromedp.SendKeys(chromedp.ID("login-password"), password),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("app-view")),
	)
	waitJS(t, tab, "the folder list", `document.querySelectorAll('#folder-list a').length > 3`)
}

// b64 encodes s as a MIME base64 body (76-character lines).
func b64(s string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	return b.String()
}

// press sends one key as a keydown and a keyup, without the separate
// character event chromedp's KeyEvent adds: a page that handles a
// shortcut on keydown and cancels it stops the character in a real
// browser, but cannot stop that extra event.
func press(key string) chromedp.Action[chromedp.Void] {
	// The browser's own handling (a dialog's Escape) looks at the key code.
	codes := map[string]int64{"Escape": 27, "Enter": 13, "ArrowDown": 40, "ArrowUp": 38}
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			p := input.DispatchKeyEventParams{Type: typ, Key: key, WindowsVirtualKeyCode: codes[key], NativeVirtualKeyCode: codes[key]}
			if codes[key] != 0 {
				p.Code = key
			}
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// clearInput empties a text field (chromedp's SetValue cannot set "").
func clearInput(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).value = ''`, id))
}

// listHas is a JavaScript test that the message list shows a subject.
func listHas(subject string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#message-list li .subject')].some(e => e.textContent === %q)`, subject)
}

// clickMessage opens the message with a subject from the list.
func clickMessage(t *testing.T, tab context.Context, subject string) {
	t.Helper()
	waitJS(t, tab, "message "+subject, listHas(subject))
	run(t, tab, "open "+subject, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`[...document.querySelectorAll('#message-list li')].find(li => li.querySelector('.subject').textContent === %q).click()`, subject)))
	waitJS(t, tab, "reading "+subject, fmt.Sprintf(`document.getElementById('reader-subject').textContent === %q && !document.getElementById('reader-message').hidden`, subject))
}

func clickFolder(t *testing.T, tab context.Context, name string) {
	t.Helper()
	run(t, tab, "open folder "+name, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`[...document.querySelectorAll('#folder-list a')].find(a => a.querySelector('.fname').textContent === %q).click()`, name)))
	waitJS(t, tab, "folder "+name, fmt.Sprintf(`document.getElementById('list-title').textContent === %q`, name))
}

// TestBrowserMailFlow drives the real server in Chromium: sign in, read a
// message that came over SMTP and download its attachment, reply with an
// attachment (the reply reaches Bob's Inbox, seen through IMAP), move and
// delete, search, and watch a new message appear without a reload.
func TestBrowserMailFlow(t *testing.T) {
	tab := newTab(t)
	h := newHarness(t)
	errs := consoleErrors(tab)
	ctx := context.Background()

	agenda := "1. Welcome\n2. Timeline\n3. Budget — €12k\n"
	h.smtpSend("bob@example.com", []string{"alice@example.com"}, `From: Bob Baker <bob@example.com>
To: Alice Archer <alice@example.com>
Subject: Project kickoff
Date: Tue, 04 Mar 2025 09:30:00 +0000
Message-ID: <kickoff-1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Hi Alice,

the kickoff is on Thursday at 10:00 in room 4.12.
The agenda is attached; tell me if anything is missing.

Bob
--b1
Content-Type: text/plain; charset=utf-8; name="agenda.txt"
Content-Disposition: attachment; filename="agenda.txt"
Content-Transfer-Encoding: base64

`+b64(agenda)+`
--b1--
`)
	for i, s := range []struct{ from, subject, body string }{
		{"Carol Clark <carol@example.org>", "Lunch on Friday?", "The new place on the corner has a terrace."},
		{"IT Service Desk <it@example.org>", "Scheduled maintenance this weekend", "Mail stays available; the VPN will be down from 22:00 to 23:00 on Saturday."},
		{"Dana Diaz <dana@example.org>", "Invoice 2025-031", "Please find the invoice for March below."},
	} {
		h.smtpSend("x@example.org", []string{"alice@example.com"}, fmt.Sprintf("From: %s\nTo: alice@example.com\nSubject: %s\nDate: Mon, 03 Mar 2025 1%d:00:00 +0000\n\n%s\n", s.from, s.subject, i, s.body))
	}

	// Sign in and see the Inbox.
	signIn(t, h, tab, "alice@example.com")
	waitJS(t, tab, "the inbox", listHas("Project kickoff")+` && document.querySelectorAll('#message-list li').length === 4`)
	waitJS(t, tab, "the unread count", `[...document.querySelectorAll('#folder-list a')].some(a => a.getAttribute('aria-label') === 'Inbox, 4 unread')`)
	screenshot(t, tab, "inbox.png")

	// Read the message and download its attachment.
	clickMessage(t, tab, "Project kickoff")
	body := value(t, tab, "message text", chromedp.Text(chromedp.ID("reader-body")))
	if !strings.Contains(body, "the kickoff is on Thursday at 10:00 in room 4.12.") {
		t.Fatalf("reading pane: %q", body)
	}
	from := value(t, tab, "sender", chromedp.Text(chromedp.ID("reader-from")))
	if from != "Bob Baker <bob@example.com>" {
		t.Errorf("sender shown as %q", from)
	}
	waitJS(t, tab, "marked read", `!document.querySelector('#message-list li[aria-selected=true]').classList.contains('unread')`)
	screenshot(t, tab, "message.png")

	downloads := t.TempDir()
	bctx := chromedp.FromContext(tab).BrowserContextID
	if _, err := chromedp.CallBrowser(tab, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: bctx, DownloadPath: downloads, EventsEnabled: new(true),
	}); err != nil {
		t.Fatal(err)
	}
	dctx, dcancel := context.WithTimeout(tab, 30*time.Second)
	progress := chromedp.BrowserEvents(dctx, browser.DownloadProgress)
	begun := chromedp.BrowserEvents(dctx, browser.DownloadWillBegin)
	run(t, tab, "download the attachment", chromedp.Click(chromedp.CSS(`#reader-attachments a`)))
	var suggested string
	for ev, err := range begun {
		if err != nil {
			t.Fatalf("no download began: %v", err)
		}
		suggested = ev.SuggestedFilename
		break
	}
	var saved string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download did not finish: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			saved = filepath.Join(downloads, ev.GUID)
			break
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("download canceled")
		}
	}
	dcancel()
	got, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != agenda || suggested != "agenda.txt" {
		t.Errorf("downloaded %q as %q, want %q as agenda.txt", got, suggested, agenda)
	}

	// Reply (the "r" key) with a file attached.
	run(t, tab, "reply with r", press("r"))
	waitJS(t, tab, "the reply form", `document.getElementById('compose-dialog').open && document.getElementById('compose-to').value !== ''`)
	to := value(t, tab, "reply recipient", chromedp.Value(chromedp.ID("compose-to")))
	subj := value(t, tab, "reply subject", chromedp.Value(chromedp.ID("compose-subject")))
	if to != "Bob Baker <bob@example.com>" || subj != "Re: Project kickoff" {
		t.Fatalf("reply form: to %q, subject %q", to, subj)
	}
	notes := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notes, []byte("Bring the slides.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, tab, "write the reply",
		chromedp.SendKeys(chromedp.ID("compose-body"), "Thursday works for me. My notes are attached."),
		chromedp.SetUploadFiles(chromedp.ID("compose-files"), []string{notes}),
	)
	waitJS(t, tab, "the attachment in the form", `[...document.querySelectorAll('#compose-attachments .aname')].some(e => e.textContent === 'notes.txt')`)
	screenshot(t, tab, "compose.png")
	run(t, tab, "send", chromedp.Click(chromedp.ID("compose-send")))
	waitJS(t, tab, "the form to close", `!document.getElementById('compose-dialog').open`)
	waitJS(t, tab, "the answered mark", `document.querySelector('#message-list li[aria-selected=true] .marks [title=Answered]') !== null`)

	// The reply is in Bob's Inbox, seen through IMAP.
	ic := h.imapClient("bob@example.com")
	var env *imap.Envelope
	var bs imap.BodyStructure
	waitFor(t, "the reply in Bob's IMAP Inbox", func() bool {
		if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		msgs, err := ic.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true}}).Collect()
		if err != nil || len(msgs) == 0 {
			return false
		}
		env, bs = msgs[0].Envelope, msgs[0].BodyStructure
		return true
	})
	if env.Subject != "Re: Project kickoff" || len(env.InReplyTo) != 1 || env.InReplyTo[0] != "kickoff-1@example.com" || env.From[0].Addr() != "alice@example.com" {
		t.Errorf("reply envelope: %+v", env)
	}
	var names []string
	bs.Walk(func(path []int, part imap.BodyStructure) bool {
		if sp, ok := part.(*imap.BodyStructureSinglePart); ok && sp.Filename() != "" {
			names = append(names, sp.Filename())
		}
		return true
	})
	if !slices.Equal(names, []string{"notes.txt"}) {
		t.Errorf("reply attachments: %v", names)
	}

	// Move: a new folder, then the message into it.
	run(t, tab, "new folder", chromedp.Click(chromedp.ID("btn-new-folder")))
	waitJS(t, tab, "the folder prompt", `document.getElementById('ask-dialog').open`)
	run(t, tab, "name the folder", chromedp.SendKeys(chromedp.ID("ask-input"), "Projects"), chromedp.Click(chromedp.ID("ask-ok")))
	waitJS(t, tab, "the new folder", `[...document.querySelectorAll('#folder-list .fname')].some(e => e.textContent === 'Projects')`)
	clickMessage(t, tab, "Project kickoff")
	run(t, tab, "move", chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.getElementById('move-select');
		s.value = [...s.options].find(o => o.textContent.trim() === 'Projects').value;
		s.dispatchEvent(new Event('change'));
	})()`))
	waitJS(t, tab, "the message to leave the Inbox", `!(`+listHas("Project kickoff")+`)`)
	clickFolder(t, tab, "Projects")
	clickMessage(t, tab, "Project kickoff")

	// The folder's menu: a subfolder, then a rename.
	run(t, tab, "folder menu", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('#folder-list li')].find(li => li.querySelector('.fname').textContent === 'Projects').querySelector('.fmenu').click()`))
	waitJS(t, tab, "the menu", `document.activeElement?.getAttribute('role') === 'menuitem'`)
	run(t, tab, "down to New subfolder", press("ArrowDown"))
	waitJS(t, tab, "the second item", `document.activeElement?.textContent === 'New subfolder…'`)
	// (CDP types Enter's character as an event of its own, which would
	// submit the prompt that opens; a click picks the item instead.)
	run(t, tab, "new subfolder", chromedp.Evaluate[chromedp.Void](`document.activeElement.click()`))
	waitJS(t, tab, "the folder prompt", `document.getElementById('ask-dialog').open && document.getElementById('ask-title').textContent.includes('Projects')`)
	run(t, tab, "name the subfolder", chromedp.SendKeys(chromedp.ID("ask-input"), "2025"), chromedp.Click(chromedp.ID("ask-ok")))
	waitJS(t, tab, "the subfolder", `[...document.querySelectorAll('#folder-list li.depth-1 .fname')].some(e => e.textContent === '2025')`)
	run(t, tab, "subfolder menu", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('#folder-list li')].find(li => li.querySelector('.fname').textContent === '2025').querySelector('.fmenu').click()`))
	waitJS(t, tab, "the menu", `document.activeElement?.getAttribute('role') === 'menuitem'`)
	run(t, tab, "rename", chromedp.Evaluate[chromedp.Void](`document.activeElement.click()`))
	waitJS(t, tab, "the rename prompt", `document.getElementById('ask-dialog').open`)
	run(t, tab, "new name", clearInput("ask-input"), chromedp.SendKeys(chromedp.ID("ask-input"), "Archive 2025"), chromedp.Click(chromedp.ID("ask-ok")))
	waitJS(t, tab, "the renamed folder", `[...document.querySelectorAll('#folder-list li.depth-1 .fname')].some(e => e.textContent === 'Archive 2025')`)
	waitJS(t, tab, "the message still open", `document.getElementById('reader-subject').textContent === 'Project kickoff'`)

	// Delete ("#"): to Deleted Items, and from there for good.
	run(t, tab, "delete with #", press("#"))
	waitJS(t, tab, "the message to leave Projects", `!(`+listHas("Project kickoff")+`)`)
	clickFolder(t, tab, "Deleted Items")
	clickMessage(t, tab, "Project kickoff")
	run(t, tab, "delete for good", chromedp.Click(chromedp.ID("btn-delete")))
	waitJS(t, tab, "the confirmation", `document.getElementById('ask-dialog').open`)
	run(t, tab, "confirm", chromedp.Click(chromedp.ID("ask-ok")))
	waitJS(t, tab, "Deleted Items to be empty", `document.querySelectorAll('#message-list li').length === 0`)
	trash, err := h.env.Store.FolderByRole(ctx, h.alice.ID, storage.RoleDeleted)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := h.env.Store.FolderStatus(ctx, h.alice.ID, trash.ID); err != nil || st.Messages != 0 {
		t.Errorf("Deleted Items in the store: %+v %v", st, err)
	}

	// Search ("/" focuses the box): body text, across folders.
	clickFolder(t, tab, "Inbox")
	run(t, tab, "search", press("/"))
	waitJS(t, tab, "the search box to have focus", `document.activeElement === document.getElementById('search-input')`)
	run(t, tab, "type the query", chromedp.SendKeys(chromedp.ID("search-input"), "terrace\n"))
	waitJS(t, tab, "search results", `document.getElementById('list-title').textContent === 'Search results' && document.querySelectorAll('#message-list li').length === 1 && `+listHas("Lunch on Friday?"))
	run(t, tab, "clear the search", clearInput("search-input"), chromedp.SendKeys(chromedp.ID("search-input"), "thursday\n"))
	waitJS(t, tab, "the sent reply found in Sent Items", listHas("Re: Project kickoff")+` && document.querySelector('#message-list .folder-tag').textContent === 'Sent Items'`)

	run(t, tab, "search options", chromedp.Click(chromedp.ID("btn-search-options")))
	waitJS(t, tab, "the search panel", `!document.getElementById('search-panel').hidden && document.activeElement.id === 'search-from'`)
	screenshot(t, tab, "search.png")
	run(t, tab, "close the panel", press("Escape"))
	waitJS(t, tab, "the panel to close", `document.getElementById('search-panel').hidden`)

	// Live: mail delivered now appears without a reload.
	clickFolder(t, tab, "Inbox")
	run(t, tab, "mark the page", chromedp.Evaluate[chromedp.Void](`window.__notReloaded = true`))
	h.smtpSend("erin@example.org", []string{"alice@example.com"}, "From: Erin Evans <erin@example.org>\nTo: alice@example.com\nSubject: Fresh news\n\nJust arrived.\n")
	waitJS(t, tab, "the new message to appear", listHas("Fresh news")+` && window.__notReloaded === true`)
	waitJS(t, tab, "the unread count to rise", `[...document.querySelectorAll('#folder-list a')].some(a => a.getAttribute('aria-label') === 'Inbox, 4 unread')`)
	// A change made by another client (IMAP marks it read) shows too.
	ia := h.imapClient("alice@example.com")
	if _, err := ia.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := ia.Store(imap.SeqSetNum(1, 2, 3, 4), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, "the IMAP client's change", `document.querySelectorAll('#message-list li.unread').length === 0 && window.__notReloaded === true`)

	// j and k walk the list; c opens a new message, Escape closes it.
	run(t, tab, "j", press("j"))
	waitJS(t, tab, "the first message", `document.getElementById('reader-subject').textContent === 'Fresh news'`)
	run(t, tab, "j", press("j"))
	waitJS(t, tab, "the second message", `document.getElementById('reader-subject').textContent === 'Invoice 2025-031'`)
	run(t, tab, "k", press("k"))
	waitJS(t, tab, "the first message again", `document.getElementById('reader-subject').textContent === 'Fresh news'`)
	run(t, tab, "c", press("c"))
	waitJS(t, tab, "an empty form", `document.getElementById('compose-dialog').open && document.getElementById('compose-title').textContent === 'New message' && document.getElementById('compose-to').value === ''`)
	run(t, tab, "Escape", press("Escape"))
	waitJS(t, tab, "the form to close", `!document.getElementById('compose-dialog').open`)

	// Another client deletes the message being read: the pane lets go of it.
	// Focus the list first: where the closed dialog hands focus back to is
	// up to the browser, and keys typed into a field are not shortcuts.
	run(t, tab, "focus the list", chromedp.Evaluate[chromedp.Void](`document.getElementById('message-list').focus()`))
	run(t, tab, "open a message", press("j"))
	waitJS(t, tab, "the message", `document.getElementById('reader-subject').textContent === 'Invoice 2025-031'`)
	id := value(t, tab, "its id", chromedp.Evaluate[int64](`Number(document.querySelector('#message-list li[aria-selected=true]').dataset.id)`))
	other := h.client()
	other.mustLogin("alice@example.com")
	other.do("POST", "/web/api/messages/delete", map[string]any{"ids": []int64{id}}, true).mustStatus(t, 200)
	waitJS(t, tab, "the pane to close", `document.getElementById('reader-message').hidden && !(`+listHas("Invoice 2025-031")+`)`)

	if e := errs(); len(e) > 0 {
		t.Errorf("console errors: %v", e)
	}
}

// TestBrowserHostileHTML: scripts, handlers, javascript: links, CSS
// expressions and remote resources in a message run nothing and load
// nothing — a local server standing in for the remote host sees no
// request — until the reader allows remote images, and then only images.
func TestBrowserHostileHTML(t *testing.T) {
	tab := newTab(t)
	h := newHarness(t)
	var mu sync.Mutex
	var seen []string
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, ".png") {
			w.Header().Set("Content-Type", "image/png")
			w.Write(onePixelPNG)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("recorded"))
	}))
	defer remote.Close()
	requests := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
	R := remote.URL
	hostile := fmt.Sprintf(`<!DOCTYPE html><html><head>
<base href="%[1]s/base/">
<meta http-equiv="refresh" content="0;url=%[1]s/refresh">
<link rel="stylesheet" href="%[1]s/link.css"><link rel="prefetch" href="%[1]s/prefetch">
<style>@import url(%[1]s/import.css); body { background: url(%[1]s/style-bg.png) }</style>
<script src="%[1]s/script.js"></script>
<script>fetch('%[1]s/inline-script'); top.document.title = 'pwned'; parent.postMessage('pwned', '*');</script>
</head>
<body background="%[1]s/body-bg.png" onload="fetch('%[1]s/onload')">
<a id="jslink" href="javascript:fetch('%[1]s/javascript-link')" style="display:block;width:400px;height:120px;background-color:#fcc">Click me</a>
<p style="color:#0a0;width:expression(fetch('%[1]s/expression'));background-image:url(%[1]s/css-bg.png)">Harmless green text.</p>
<img src="%[1]s/remote.png" alt="remote">
<img src="x" onerror="fetch('%[1]s/onerror')">
<img srcset="%[1]s/srcset.png 2x" src="relative.png">
<svg onload="fetch('%[1]s/svg-onload')"><image href="%[1]s/svg-image.png"/></svg>
<iframe src="%[1]s/iframe"></iframe><object data="%[1]s/object"></object><embed src="%[1]s/embed">
<video poster="%[1]s/poster.png" src="%[1]s/video"></video><audio src="%[1]s/audio" autoplay></audio>
<form action="%[1]s/form"><input type="image" src="%[1]s/input.png"><button>Go</button></form>
<details open ontoggle="fetch('%[1]s/ontoggle')"><summary>More</summary>x</details>
<table background="%[1]s/table-bg.png"><tr><td style="background:url(%[1]s/td-bg.png)">cell</td></tr></table>
<div style="behavior:url(%[1]s/behavior.htc)">ie</div>
</body></html>`, R)
	h.smtpSend("mallory@example.net", []string{"alice@example.com"}, "From: Mallory <mallory@example.net>\nTo: alice@example.com\nSubject: Totally normal newsletter\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n"+hostile+"\n")

	signIn(t, h, tab, "alice@example.com")
	clickMessage(t, tab, "Totally normal newsletter")
	waitJS(t, tab, "the message document", `document.querySelector('#reader-body iframe')?.dataset.loaded === 'true'`)
	waitJS(t, tab, "the blocked-images note", `!document.getElementById('remote-banner').hidden`)
	// Click where the javascript: link is (now without its href).
	rect := value(t, tab, "frame position", chromedp.Evaluate[[]float64](`(() => { const r = document.querySelector('#reader-body iframe').getBoundingClientRect(); return [r.left, r.top]; })()`))
	run(t, tab, "click the link", chromedp.MouseClickXY(rect[0]+40, rect[1]+40))
	screenshot(t, tab, "hostile-message.png")
	if got := requests(); len(got) != 0 {
		t.Fatalf("the remote host saw requests before images were allowed: %v", got)
	}

	// The reader allows remote images: only the image loads.
	run(t, tab, "show images", chromedp.Click(chromedp.ID("btn-remote")))
	waitJS(t, tab, "the new document", `document.querySelector('#reader-body iframe')?.dataset.loaded === 'true'`)
	waitFor(t, "the remote image", func() bool { return slices.Contains(requests(), "/remote.png") })
	if got := requests(); !slices.Equal(got, []string{"/remote.png"}) {
		t.Errorf("after allowing images the remote host saw %v, want only /remote.png", got)
	}
	if now := value(t, tab, "title", chromedp.Title()); !strings.HasSuffix(now, "Inbox – Pochta") || strings.Contains(now, "pwned") {
		t.Errorf("a script of the message changed the page title to %q", now)
	}
	loc := value(t, tab, "location", chromedp.Location())
	if !strings.HasPrefix(loc, h.url) {
		t.Errorf("the page navigated to %q", loc)
	}
}

// TestBrowserPhoneWidth: at phone width one pane shows at a time, the
// folders sit in a drawer, and reading and going back work.
func TestBrowserPhoneWidth(t *testing.T) {
	tab := newTab(t)
	h := newHarness(t)
	h.smtpSend("carol@example.org", []string{"alice@example.com"}, "From: Carol Clark <carol@example.org>\nTo: alice@example.com\nSubject: Small screens\n\nReadable on a phone?\n")
	run(t, tab, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	signIn(t, h, tab, "alice@example.com")
	waitJS(t, tab, "the list", listHas("Small screens"))
	if v := value(t, tab, "reader hidden", chromedp.Evaluate[bool](`getComputedStyle(document.getElementById('reader')).display === 'none'`)); !v {
		t.Error("the reading pane shows beside the list at phone width")
	}
	screenshot(t, tab, "phone-inbox.png")
	run(t, tab, "open the drawer", chromedp.Click(chromedp.ID("btn-folders")))
	waitJS(t, tab, "the drawer", `document.querySelector('.app').classList.contains('show-folders') && document.getElementById('btn-folders').getAttribute('aria-expanded') === 'true'`)
	run(t, tab, "close the drawer", chromedp.Click(chromedp.ID("btn-folders")))
	clickMessage(t, tab, "Small screens")
	if v := value(t, tab, "list hidden", chromedp.Evaluate[bool](`getComputedStyle(document.getElementById('list-pane')).display === 'none'`)); !v {
		t.Error("the list shows beside the message at phone width")
	}
	screenshot(t, tab, "phone-message.png")
	run(t, tab, "back", chromedp.Click(chromedp.ID("btn-back")))
	waitJS(t, tab, "the list again", `getComputedStyle(document.getElementById('list-pane')).display !== 'none'`)
	// Every control has an accessible name.
	unnamed := value(t, tab, "unnamed controls", chromedp.Evaluate[[]string](`[...document.querySelectorAll('button, input, select, textarea, a[href]')]
		.filter(e => !e.closest('[hidden]') && e.type !== 'hidden')
		.filter(e => !(e.getAttribute('aria-label') || e.innerText.replace(/[^\p{L}\p{N}]/gu, '') || (e.id && document.querySelector('label[for="' + e.id + '"]'))))
		.map(e => e.outerHTML.slice(0, 80))`))
	if len(unnamed) > 0 {
		t.Errorf("controls without an accessible name: %v", unnamed)
	}
}

// onePixelPNG is a valid 1×1 PNG.
var onePixelPNG = []byte{
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
	0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
	0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
	0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
}
