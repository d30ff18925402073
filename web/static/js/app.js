// Pochta webmail: sign-in, folders, message list, reading pane, search,
// live updates and keyboard shortcuts. Routes live in the URL fragment:
//   #/f/<folder>[/m/<message>]      a folder (and an open message)
//   #/s/<query>[/m/<message>]       search results
import { api, setCSRF, setUnauthorizedHandler } from './api.js';
import { $, el, icon, shortDate, longDate, formatSize, formatAddr, linkify, toast, ask } from './util.js';
import { initCompose, openCompose, composeOpen } from './compose.js';

const PAGE = 50;
const ROLE_ICONS = { inbox: 'inbox', drafts: 'drafts', sent: 'sent', trash: 'trash', junk: 'junk', outbox: 'outbox' };

const S = {
  session: null,
  folders: [],
  byId: new Map(),
  view: 'folder',      // 'folder' or 'search'
  folder: 0,           // folder shown (or searched)
  query: null,         // URLSearchParams of the search shown
  messages: [],
  total: 0,
  cursor: '',          // search: where the next page starts
  selected: 0,
  current: null,       // the message in the reading pane
  remote: new Set(),   // messages whose remote images the reader allowed
  ownRemovals: new Set(), // messages this page moved or deleted itself
  events: null,
  listSeq: 0,
  openSeq: 0,
};

// ---------- Sign-in ----------

function showLogin(message) {
  closeEvents();
  S.session = null;
  setCSRF('');
  document.body.classList.remove('booting');
  $('app-view').hidden = true;
  $('login-view').hidden = false;
  if (composeOpen()) $('compose-dialog').close();
  const err = $('login-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('login-password').value = '';
  ($('login-user').value ? $('login-password') : $('login-user')).focus();
}

async function login(e) {
  e.preventDefault();
  const btn = $('login-submit');
  const err = $('login-error');
  err.hidden = true;
  btn.disabled = true;
  try {
    const s = await api('POST', '/login', { login: $('login-user').value, password: $('login-password').value });
    await startApp(s);
  } catch (ex) {
    err.textContent = ex.status === 401 ? 'Wrong login or password.' : ex.message;
    err.hidden = false;
    $('login-password').select();
  } finally {
    btn.disabled = false;
  }
}

async function logout() {
  try { await api('POST', '/logout'); } catch { /* gone anyway */ }
  location.hash = '';
  showLogin('');
}

async function startApp(session) {
  S.session = session;
  setCSRF(session.csrf);
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  document.body.classList.remove('booting');
  $('account-name').textContent = session.account.name ? `${session.account.name} <${session.account.address}>` : session.account.address;
  await loadFolders(false);
  openEvents();
  await route();
}

// ---------- Folders ----------

async function loadFolders(background) {
  const res = await api('GET', '/folders', undefined, { background });
  S.folders = res.folders;
  S.byId = new Map(S.folders.map((f) => [f.id, f]));
  renderFolders();
  renderMoveTargets();
  updateTitle();
}

function roleFolder(role) { return S.folders.find((f) => f.role === role); }

function renderFolders() {
  const list = $('folder-list');
  list.replaceChildren();
  for (const f of S.folders) {
    const current = S.view === 'folder' && S.folder === f.id;
    const link = el('a', {
      href: `#/f/${f.id}`, 'aria-current': current ? 'page' : null, dataset: { folderId: f.id },
      'aria-label': f.unread ? `${f.name}, ${f.unread} unread` : f.name,
    }, el('span', { class: 'ficon' }, icon(ROLE_ICONS[f.role] || 'folder')), el('span', { class: 'fname', text: f.name }),
    f.unread ? el('span', { class: 'badge', 'aria-hidden': 'true', text: f.unread }) : null);
    link.addEventListener('click', () => document.querySelector('.app').classList.remove('show-folders'));
    const li = el('li', { class: `depth-${Math.min(f.depth, 3)}` }, link);
    if (!f.role) {
      const b = el('button', {
        type: 'button', class: 'subtle icon-button fmenu', 'aria-label': `Actions for ${f.name}`,
        'aria-haspopup': 'menu', 'aria-expanded': 'false',
      }, '⋯');
      b.addEventListener('click', (e) => { e.stopPropagation(); folderMenu(f, b); });
      li.append(b);
    }
    list.append(li);
  }
}

function renderMoveTargets() {
  for (const [id, label] of [['move-select', 'Move…'], ['copy-select', 'Copy…']]) {
    const sel = $(id);
    sel.replaceChildren(el('option', { value: '' }, label));
    for (const f of S.folders) sel.append(el('option', { value: f.id }, '\u00a0'.repeat(f.depth * 2) + f.name));
  }
}

async function newFolder(parent = null) {
  const title = parent ? `New folder in “${parent.name}”` : 'New folder';
  const name = await ask({ title, label: 'Folder name', input: true, ok: 'Create' });
  if (!name || !name.trim()) return;
  try {
    await api('POST', '/folders', { name: name.trim(), parent: parent ? parent.id : 0 });
    await loadFolders(false);
    toast(`Folder “${name.trim()}” created`);
  } catch (err) {
    toast(err.message, true);
  }
}

async function renameFolder(f) {
  const name = await ask({ title: `Rename “${f.name}”`, label: 'New name', value: f.name, input: true, ok: 'Rename' });
  if (!name || !name.trim() || name.trim() === f.name) return;
  try {
    await api('PATCH', `/folders/${f.id}`, { name: name.trim() });
    await loadFolders(false);
    toast('Folder renamed');
  } catch (err) {
    toast(err.message, true);
  }
}

async function deleteFolder(f) {
  const yes = await ask({ title: `Delete “${f.name}”?`, text: 'The folder, its subfolders and every message in them are deleted for good.', ok: 'Delete' });
  if (!yes) return;
  try {
    await api('DELETE', `/folders/${f.id}`);
    if (S.folder === f.id) location.hash = `#/f/${roleFolder('inbox').id}`;
    await loadFolders(false);
    toast('Folder deleted');
  } catch (err) {
    toast(err.message, true);
  }
}

// folderMenu shows a folder's actions as a menu beside its button; arrow
// keys move, Enter picks, Escape or a click elsewhere closes it.
function folderMenu(f, button) {
  closeMenu();
  const items = [['Rename…', () => renameFolder(f)], ['New subfolder…', () => newFolder(f)], ['Delete…', () => deleteFolder(f)]];
  const menu = el('ul', { id: 'folder-menu', class: 'menu', role: 'menu', 'aria-label': `Actions for ${f.name}` });
  const pick = (fn) => { closeMenu(); button.focus(); fn(); };
  items.forEach(([label, fn]) => menu.append(el('li', { role: 'menuitem', tabindex: '-1', onclick: () => pick(fn) }, label)));
  menu.addEventListener('keydown', (e) => {
    const list = [...menu.children];
    const i = list.indexOf(document.activeElement);
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      list[(i + (e.key === 'ArrowDown' ? 1 : list.length - 1)) % list.length].focus();
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      if (i >= 0) pick(items[i][1]);
    } else if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      closeMenu();
      button.focus();
    }
  });
  document.body.append(menu);
  const r = button.getBoundingClientRect();
  menu.style.left = `${Math.min(r.left, window.innerWidth - 200)}px`;
  menu.style.top = `${r.bottom + 2}px`;
  button.setAttribute('aria-expanded', 'true');
  menu.firstChild.focus();
  setTimeout(() => document.addEventListener('click', closeMenuOutside, true), 0);
}

function closeMenuOutside(e) {
  const menu = $('folder-menu');
  if (menu && !menu.contains(e.target)) closeMenu();
}

function closeMenu() {
  const menu = $('folder-menu');
  if (menu) menu.remove();
  document.removeEventListener('click', closeMenuOutside, true);
  for (const b of document.querySelectorAll('.fmenu[aria-expanded=true]')) b.setAttribute('aria-expanded', 'false');
}

// ---------- Routing ----------

function parseRoute() {
  const h = location.hash.replace(/^#\/?/, '');
  const parts = h.split('/');
  const r = { view: 'folder', folder: 0, query: null, message: 0 };
  if (parts[0] === 's') {
    r.view = 'search';
    r.query = new URLSearchParams(decodeURIComponent(parts[1] || ''));
    if (parts[2] === 'm') r.message = Number(parts[3]) || 0;
  } else if (parts[0] === 'f') {
    r.folder = Number(parts[1]) || 0;
    if (parts[2] === 'm') r.message = Number(parts[3]) || 0;
  }
  return r;
}

function listHash() {
  return S.view === 'search' ? `#/s/${encodeURIComponent(S.query.toString())}` : `#/f/${S.folder}`;
}

async function route() {
  if (!S.session) return;
  const r = parseRoute();
  if (r.view === 'folder' && !S.byId.has(r.folder)) {
    const inbox = roleFolder('inbox') || S.folders[0];
    if (!inbox) return;
    history.replaceState(null, '', `#/f/${inbox.id}`);
    r.folder = inbox.id;
  }
  const listChanged = r.view !== S.view || r.folder !== S.folder || (r.view === 'search' && r.query.toString() !== (S.query && S.query.toString()));
  S.view = r.view;
  S.folder = r.view === 'folder' ? r.folder : (r.query.get('folder') ? Number(r.query.get('folder')) : S.folder);
  S.query = r.query;
  if (listChanged) {
    S.messages = [];
    renderFolders();
    updateTitle();
    await loadList(true, false);
  }
  if (r.message) {
    if (!S.current || S.current.id !== r.message) await openMessage(r.message);
  } else {
    closeReader();
  }
}

function updateTitle() {
  let title;
  if (S.view === 'search') {
    title = 'Search results';
  } else {
    const f = S.byId.get(S.folder);
    title = f ? f.name : 'Mail';
  }
  $('list-title').textContent = title;
  const inbox = roleFolder('inbox');
  const unread = inbox ? inbox.unread : 0;
  document.title = (unread ? `(${unread}) ` : '') + title + ' – Pochta';
}

// ---------- Message list ----------

function searchPath(cursor) {
  const p = new URLSearchParams(S.query);
  p.set('limit', PAGE);
  if (cursor) p.set('cursor', cursor);
  return `/search?${p}`;
}

// loadList loads the first page (reset) or the next one. A background
// reload keeps as many messages as were shown.
async function loadList(reset, background) {
  const seq = ++S.listSeq;
  let res;
  try {
    if (S.view === 'search') {
      if (reset) {
        res = await api('GET', searchPath(''), undefined, { background });
      } else {
        res = await api('GET', searchPath(S.cursor), undefined, { background });
      }
    } else {
      const offset = reset ? 0 : S.messages.length;
      const limit = reset && background ? Math.max(PAGE, Math.min(S.messages.length, 200)) : PAGE;
      res = await api('GET', `/folders/${S.folder}/messages?offset=${offset}&limit=${limit}`, undefined, { background });
    }
  } catch (err) {
    if (err.status === 404 && S.view === 'folder') { location.hash = ''; return; }
    if (err.status !== 401) toast(err.message, true);
    return;
  }
  if (seq !== S.listSeq) return;
  S.messages = reset ? res.messages : S.messages.concat(res.messages);
  if (S.view === 'search') {
    S.cursor = res.cursor;
    S.total = -1;
  } else {
    S.total = res.total;
  }
  renderList();
}

function renderList() {
  const list = $('message-list');
  list.replaceChildren();
  const inSearch = S.view === 'search';
  for (const m of S.messages) {
    const folder = S.byId.get(m.folder);
    const sentLike = folder && (folder.role === 'sent' || folder.role === 'drafts' || folder.role === 'outbox');
    const who = sentLike ? (m.to ? `To: ${m.to}` : '(no recipients)') : (m.from_name || m.from_addr || '(unknown sender)');
    const marks = el('span', { class: 'marks' });
    if (m.attachment) marks.append(el('span', { title: 'Has attachments' }, icon('clip')));
    if (m.answered) marks.append(el('span', { title: 'Answered' }, icon('reply')));
    if (m.forwarded) marks.append(el('span', { title: 'Forwarded' }, icon('forward')));
    if (m.flagged) marks.append(el('span', { class: 'flagged', title: 'Flagged' }, icon('flag')));
    if (inSearch && folder) marks.append(el('span', { class: 'folder-tag', text: folder.name }));
    const label = [m.seen ? '' : 'Unread.', m.flagged ? 'Flagged.' : '', who + '.', m.subject || '(no subject)', shortDate(m.date), m.attachment ? 'Has attachments.' : ''].filter(Boolean).join(' ');
    const li = el('li', {
      role: 'option', id: `msg-${m.id}`, 'aria-selected': m.id === S.selected ? 'true' : 'false', 'aria-label': label,
      class: [m.seen ? '' : 'unread', m.deleted ? 'deleted' : ''].join(' ').trim(), dataset: { id: m.id },
      onclick: () => select(m.id, true),
    },
    el('span', { class: 'dot' }),
    el('span', { class: 'from', text: who }),
    el('time', { class: 'date', datetime: m.date, text: shortDate(m.date) }),
    el('span', { class: 'subject', text: m.subject || '(no subject)' }),
    marks,
    el('span', { class: 'preview', text: m.preview }));
    list.append(li);
  }
  if (S.selected) list.setAttribute('aria-activedescendant', `msg-${S.selected}`);
  const more = inSearch ? Boolean(S.cursor) : S.messages.length < S.total;
  $('btn-more').hidden = !more;
  $('list-empty').hidden = S.messages.length > 0;
  $('list-empty').textContent = inSearch ? 'No messages found.' : 'No messages here.';
  $('list-count').textContent = inSearch ? `${S.messages.length}${S.cursor ? '+' : ''} found` : (S.total ? `${S.total} message${S.total === 1 ? '' : 's'}` : '');
}

function select(id, open) {
  S.selected = id;
  for (const li of $('message-list').children) li.setAttribute('aria-selected', Number(li.dataset.id) === id ? 'true' : 'false');
  const li = $(`msg-${id}`);
  if (li) {
    li.scrollIntoView({ block: 'nearest' });
    $('message-list').setAttribute('aria-activedescendant', li.id);
  }
  if (open) location.hash = `${listHash()}/m/${id}`;
}

function step(delta) {
  if (!S.messages.length) return;
  let i = S.messages.findIndex((m) => m.id === S.selected);
  i = i < 0 ? 0 : Math.min(Math.max(i + delta, 0), S.messages.length - 1);
  select(S.messages[i].id, true);
}

// ---------- Reading pane ----------

function closeReader() {
  S.current = null;
  $('reader-message').hidden = true;
  $('reader-empty').hidden = false;
  $('reader-body').replaceChildren();
  document.querySelector('.app').classList.remove('show-message');
}

function setFlagButtons(m) {
  const unread = m.seen ? 'Mark unread' : 'Mark read';
  $('btn-unread').setAttribute('aria-label', unread);
  $('btn-unread').title = `${unread} (u)`;
  const flag = m.flagged ? 'Remove the flag' : 'Flag';
  $('btn-flag').setAttribute('aria-label', flag);
  $('btn-flag').title = `${flag} (s)`;
  $('btn-flag').setAttribute('aria-pressed', m.flagged ? 'true' : 'false');
}

async function openMessage(id) {
  const seq = ++S.openSeq;
  let m;
  try {
    m = await api('GET', `/messages/${id}`);
  } catch (err) {
    if (seq === S.openSeq) {
      if (err.status === 404) { toast('That message is gone.', true); history.replaceState(null, '', listHash()); closeReader(); }
      else if (err.status !== 401) toast(err.message, true);
    }
    return;
  }
  if (seq !== S.openSeq) return;
  S.current = m;
  select(id, false);
  document.querySelector('.app').classList.add('show-message');
  $('reader-empty').hidden = true;
  $('reader-message').hidden = false;
  $('reader-subject').textContent = m.subject || '(no subject)';
  $('reader-from').textContent = m.from.map(formatAddr).join(', ') || m.from_addr;
  $('reader-to').textContent = m.to_list.map(formatAddr).join(', ') || '—';
  const cc = m.cc.map(formatAddr).join(', ');
  $('reader-cc').textContent = cc;
  for (const e of document.querySelectorAll('.cc-row')) e.hidden = !cc;
  $('reader-date').textContent = longDate(m.sent || m.date);
  $('btn-raw').href = m.raw_url;
  $('btn-edit-draft').hidden = m.folder_role !== 'drafts';
  setFlagButtons(m);
  renderAttachmentsOf(m);
  renderBody(m);
  $('reader-thread').hidden = true;
  $('reader').scrollTop = 0;
  if (!m.seen) {
    setFlags([m.id], ['seen'], []);
  }
  loadThread(m);
}

function renderAttachmentsOf(m) {
  const list = $('reader-attachments');
  list.replaceChildren();
  for (const a of m.attachments) {
    list.append(el('li', {},
      el('span', { class: 'aname', text: a.name, title: a.name }),
      el('span', { class: 'asize', text: formatSize(a.size) }),
      el('a', { class: 'button subtle', href: a.url, download: a.name, 'aria-label': `Download ${a.name}` }, 'Download')));
  }
  list.hidden = m.attachments.length === 0;
}

function renderBody(m) {
  const body = $('reader-body');
  body.replaceChildren();
  const remote = S.remote.has(m.id);
  const banner = $('remote-banner');
  banner.hidden = !(m.html && m.remote_images > 0 && !remote);
  $('remote-text').textContent = `${m.remote_images} remote image${m.remote_images === 1 ? ' was' : 's were'} not loaded, to protect your privacy.`;
  if (m.html) {
    const frame = el('iframe', {
      title: 'Message content', sandbox: 'allow-popups allow-popups-to-escape-sandbox',
      referrerpolicy: 'no-referrer', src: m.body_url + (remote ? '?remote=1' : ''),
    });
    frame.addEventListener('load', () => { frame.dataset.loaded = 'true'; });
    body.append(frame);
  } else {
    const pre = el('div', { class: 'plain' });
    linkify(pre, m.text || '');
    if (m.text_truncated) pre.append(el('p', { class: 'muted', text: '[The rest of this long message is not shown; download it to read all of it.]' }));
    body.append(pre);
  }
}

async function loadThread(m) {
  let res;
  try {
    res = await api('GET', `/messages/${m.id}/thread`);
  } catch {
    return;
  }
  if (!S.current || S.current.id !== m.id || res.messages.length < 2) return;
  const list = $('thread-list');
  list.replaceChildren();
  for (const t of res.messages) {
    list.append(el('li', {}, el('a', { href: `${listHash()}/m/${t.id}`, 'aria-current': t.id === m.id ? 'true' : null },
      el('span', { class: 'tfrom', text: t.from_name || t.from_addr }),
      el('span', { class: 'tsubj', text: t.subject || '(no subject)' }),
      el('time', { class: 'tdate', datetime: t.date, text: shortDate(t.date) }))));
  }
  $('thread-title').textContent = `Conversation (${res.messages.length})`;
  $('reader-thread').hidden = false;
}

// ---------- Actions ----------

function target() {
  if (S.current) return S.current;
  return S.messages.find((m) => m.id === S.selected) || null;
}

async function setFlags(ids, add, remove) {
  try {
    const res = await api('POST', '/messages/flags', { ids, add, remove });
    for (const st of res.messages) {
      for (const m of S.messages) if (m.id === st.id) { m.seen = st.seen; m.flagged = st.flagged; }
      if (S.current && S.current.id === st.id) { S.current.seen = st.seen; S.current.flagged = st.flagged; setFlagButtons(S.current); }
    }
    renderList();
    loadFolders(true);
  } catch (err) {
    if (err.status !== 401) toast(err.message, true);
  }
}

function toggleRead() {
  const m = target();
  if (m) setFlags([m.id], m.seen ? [] : ['seen'], m.seen ? ['seen'] : []);
}

function toggleFlag() {
  const m = target();
  if (m) setFlags([m.id], m.flagged ? [] : ['flagged'], m.flagged ? ['flagged'] : []);
}

// afterRemove takes a message out of the list and selects the next one
// without opening it (opening would mark it read).
function afterRemove(id) {
  const i = S.messages.findIndex((m) => m.id === id);
  S.messages = S.messages.filter((m) => m.id !== id);
  if (S.total > 0) S.total--;
  const next = S.messages[Math.min(Math.max(i, 0), S.messages.length - 1)];
  S.selected = next ? next.id : 0;
  renderList();
  history.replaceState(null, '', listHash());
  closeReader();
  if (next) select(next.id, false);
}

async function deleteMessage() {
  const m = target();
  if (!m) return;
  const trash = roleFolder('trash');
  const forGood = trash && m.folder === trash.id;
  if (forGood && !(await ask({ title: 'Delete for good?', text: 'Messages deleted from Deleted Items cannot be brought back.', ok: 'Delete' }))) return;
  S.ownRemovals.add(m.id);
  try {
    await api('POST', '/messages/delete', { ids: [m.id] });
    toast(forGood ? 'Message deleted' : 'Moved to Deleted Items');
    afterRemove(m.id);
    loadFolders(true);
  } catch (err) {
    toast(err.message, true);
  }
}

async function transfer(move, folderId) {
  const m = target();
  if (!m || !folderId) return;
  const dest = S.byId.get(folderId);
  if (move) S.ownRemovals.add(m.id);
  try {
    await api('POST', move ? '/messages/move' : '/messages/copy', { ids: [m.id], folder: folderId });
    toast(`${move ? 'Moved' : 'Copied'} to ${dest ? dest.name : 'the folder'}`);
    if (move && S.view === 'folder') afterRemove(m.id);
    else if (S.view === 'search') loadList(true, true);
    loadFolders(true);
  } catch (err) {
    toast(err.message, true);
  }
}

function compose(mode) {
  const m = target();
  if (mode && !m) return;
  openCompose(mode ? { mode, ref: m.id } : {});
}

// ---------- Search ----------

function runSearch(e) {
  if (e) e.preventDefault();
  const p = new URLSearchParams();
  const put = (k, v) => { if (v && v.trim()) p.set(k, v.trim()); };
  put('q', $('search-input').value);
  put('from', $('search-from').value);
  put('subject', $('search-subject').value);
  put('body', $('search-body').value);
  const since = $('search-since').value;
  const before = $('search-before').value;
  if (since) p.set('since', new Date(`${since}T00:00:00`).toISOString());
  if (before) {
    const d = new Date(`${before}T00:00:00`);
    d.setDate(d.getDate() + 1);
    p.set('before', d.toISOString());
  }
  if ($('search-scope').value === 'folder' && S.folder) p.set('folder', S.folder);
  toggleSearchPanel(false);
  if ([...p.keys()].filter((k) => k !== 'folder').length === 0) {
    location.hash = `#/f/${S.folder || roleFolder('inbox').id}`;
    return;
  }
  location.hash = `#/s/${encodeURIComponent(p.toString())}`;
  $('message-list').focus();
}

function toggleSearchPanel(show) {
  const panel = $('search-panel');
  const open = show === undefined ? panel.hidden : show;
  panel.hidden = !open;
  $('btn-search-options').setAttribute('aria-expanded', open ? 'true' : 'false');
  if (open) $('search-from').focus();
}

function clearSearch() {
  for (const id of ['search-input', 'search-from', 'search-subject', 'search-body', 'search-since', 'search-before']) $(id).value = '';
}

// ---------- Live updates ----------

let refreshTimer = 0;
let pending = { folders: new Set(), tree: false, resync: false };

function openEvents() {
  closeEvents();
  const es = new EventSource('/web/api/events');
  S.events = es;
  es.addEventListener('changes', (e) => {
    let ev;
    try { ev = JSON.parse(e.data); } catch { return; }
    ev.folders.forEach((f) => pending.folders.add(f));
    pending.tree = pending.tree || ev.tree;
    pending.resync = pending.resync || ev.resync;
    for (const fc of ev.flags) {
      for (const m of S.messages) if (m.id === fc.id) Object.assign(m, { seen: fc.seen, flagged: fc.flagged, answered: fc.answered, forwarded: fc.forwarded });
      if (S.current && S.current.id === fc.id) { Object.assign(S.current, { seen: fc.seen, flagged: fc.flagged }); setFlagButtons(S.current); }
    }
    if (S.current && ev.removed.includes(S.current.id) && !S.ownRemovals.has(S.current.id)) {
      toast('The message you were reading was moved or deleted elsewhere.');
      history.replaceState(null, '', listHash());
      closeReader();
    }
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(applyChanges, 150);
  });
  es.addEventListener('expired', () => showLogin('Your session has ended. Please sign in again.'));
  es.addEventListener('bye', () => { /* the server restarts; EventSource reconnects */ });
  es.addEventListener('error', async () => {
    if (es.readyState === EventSource.CLOSED) {
      try { await api('GET', '/session', undefined, { background: true }); openEvents(); } catch { /* 401 shows the sign-in */ }
    }
  });
}

function closeEvents() {
  if (S.events) S.events.close();
  S.events = null;
}

async function applyChanges() {
  const p = pending;
  pending = { folders: new Set(), tree: false, resync: false };
  if (!S.session) return;
  await loadFolders(true);
  const shown = S.view === 'search' || p.resync || p.folders.has(S.folder);
  if (shown) await loadList(true, true);
  else renderList();
}

// ---------- Keyboard ----------

function typing(e) {
  const t = e.target;
  return t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || (t && t.isContentEditable);
}

function onKey(e) {
  if (!S.session || e.ctrlKey || e.metaKey || e.altKey) return;
  if (document.querySelector('dialog[open]')) return;
  if (e.target instanceof Element && e.target.closest('.menu')) return;
  if (e.key === 'Escape') {
    if (!$('search-panel').hidden) { toggleSearchPanel(false); return; }
    if (typing(e)) { e.target.blur(); return; }
    const app = document.querySelector('.app');
    if (app.classList.contains('show-folders')) { app.classList.remove('show-folders'); return; }
    if (S.current) { history.pushState(null, '', listHash()); closeReader(); $('message-list').focus(); }
    return;
  }
  if (typing(e)) return;
  const actions = {
    j: () => step(1), k: () => step(-1), ArrowDown: () => step(1), ArrowUp: () => step(-1),
    r: () => compose('reply'), a: () => compose('reply-all'), f: () => compose('forward'), c: () => compose(''),
    '#': deleteMessage, Delete: deleteMessage, u: toggleRead, s: toggleFlag,
    '/': () => $('search-input').focus(), '?': () => $('help-dialog').showModal(),
  };
  const fn = actions[e.key];
  if (fn) {
    e.preventDefault();
    fn();
  }
}

// ---------- Start ----------

function wire() {
  for (const b of document.querySelectorAll('[data-icon]')) b.prepend(icon(b.dataset.icon));
  $('login-form').addEventListener('submit', login);
  $('btn-logout').addEventListener('click', logout);
  $('btn-compose').addEventListener('click', () => compose(''));
  $('btn-reply').addEventListener('click', () => compose('reply'));
  $('btn-reply-all').addEventListener('click', () => compose('reply-all'));
  $('btn-forward').addEventListener('click', () => compose('forward'));
  $('btn-edit-draft').addEventListener('click', () => { if (S.current) openCompose({ mode: 'draft', ref: S.current.id }); });
  $('btn-delete').addEventListener('click', deleteMessage);
  $('btn-unread').addEventListener('click', toggleRead);
  $('btn-flag').addEventListener('click', toggleFlag);
  $('btn-remote').addEventListener('click', () => { if (S.current) { S.remote.add(S.current.id); renderBody(S.current); } });
  $('btn-back').addEventListener('click', () => { history.pushState(null, '', listHash()); closeReader(); });
  $('btn-more').addEventListener('click', () => loadList(false, false));
  $('btn-new-folder').addEventListener('click', () => newFolder());
  $('move-select').addEventListener('change', (e) => { const v = Number(e.target.value); e.target.value = ''; transfer(true, v); });
  $('copy-select').addEventListener('change', (e) => { const v = Number(e.target.value); e.target.value = ''; transfer(false, v); });
  $('search-form').addEventListener('submit', runSearch);
  $('btn-search-options').addEventListener('click', () => toggleSearchPanel());
  $('btn-search-clear').addEventListener('click', () => { clearSearch(); $('search-from').focus(); });
  $('btn-folders').addEventListener('click', () => {
    const app = document.querySelector('.app');
    const open = !app.classList.contains('show-folders');
    app.classList.toggle('show-folders', open);
    $('btn-folders').setAttribute('aria-expanded', open ? 'true' : 'false');
  });
  $('message-list').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && S.selected) { e.preventDefault(); select(S.selected, true); }
  });
  window.addEventListener('hashchange', () => route());
  document.addEventListener('keydown', onKey);
  setUnauthorizedHandler(() => { if (S.session) showLogin('Your session has ended. Please sign in again.'); });
  initCompose({ session: () => S.session, afterChange: () => { loadFolders(true); loadList(true, true); } });
}

async function boot() {
  wire();
  try {
    const s = await api('GET', '/session');
    await startApp(s);
  } catch {
    showLogin('');
  }
}

boot();
