// The compose dialog: new messages, replies, forwards and drafts, with
// attachments and recipient autocomplete.
import { api, ApiError } from './api.js';
import { $, el, formatSize, toast, ask } from './util.js';

let ctx = null;        // the application's hooks: { session, afterChange }
let state = null;      // the message being written
let acTimer = 0;
let acItems = [];
let acIndex = -1;
let acInput = null;
let acSeq = 0;

export function initCompose(appHooks) {
  ctx = appHooks;
  $('compose-form').addEventListener('submit', (e) => { e.preventDefault(); send(); });
  $('compose-save').addEventListener('click', () => saveDraft());
  $('compose-discard').addEventListener('click', () => discard());
  $('compose-close').addEventListener('click', () => closeCompose(true));
  $('compose-dialog').addEventListener('cancel', (e) => { e.preventDefault(); closeCompose(true); });
  $('compose-files').addEventListener('change', (e) => {
    for (const f of e.target.files) addFile(f);
    e.target.value = '';
  });
  for (const id of ['compose-to', 'compose-cc', 'compose-bcc']) {
    const input = $(id);
    input.addEventListener('input', () => scheduleSuggest(input));
    input.addEventListener('keydown', (e) => acKey(e, input));
    input.addEventListener('blur', () => setTimeout(hideSuggestions, 150));
  }
  for (const id of ['compose-to', 'compose-cc', 'compose-bcc', 'compose-subject', 'compose-body']) {
    $(id).addEventListener('input', () => { if (state) state.dirty = true; });
  }
}

export function composeOpen() { return $('compose-dialog').open; }

function fillFrom(selected) {
  const sel = $('compose-from');
  sel.replaceChildren();
  const addrs = ctx.session().addresses || [ctx.session().account.address];
  for (const a of addrs) sel.append(el('option', { value: a, selected: a === selected }, a));
  sel.disabled = addrs.length < 2;
}

// openCompose opens the dialog: empty, or filled from a stored message
// (mode reply, reply-all, forward or draft).
export async function openCompose({ mode = '', ref = 0, to = '' } = {}) {
  if (composeOpen()) {
    if (state && state.dirty && !(await ask({ title: 'Discard the message being written?', ok: 'Discard' }))) return;
    closeCompose(false);
  }
  let form = { from: '', to, cc: '', bcc: '', subject: '', body: '', mode: '', ref: 0, draft: 0, attachments: [] };
  if (mode) {
    try {
      form = await api('GET', `/messages/${ref}/compose?mode=${encodeURIComponent(mode)}`);
    } catch (err) {
      toast(err.message, true);
      return;
    }
  }
  state = { mode: form.mode || '', ref: form.ref || 0, draft: form.draft || 0, kept: form.attachments || [], files: [], dirty: false, busy: false };
  const titles = { '': 'New message', reply: 'Reply', 'reply-all': 'Reply to all', forward: 'Forward' };
  $('compose-title').textContent = mode === 'draft' ? 'Edit draft' : titles[state.mode] || 'New message';
  fillFrom(form.from);
  $('compose-to').value = form.to || '';
  $('compose-cc').value = form.cc || '';
  $('compose-bcc').value = form.bcc || '';
  $('compose-subject').value = form.subject || '';
  $('compose-body').value = form.body || '';
  $('compose-error').hidden = true;
  renderAttachments();
  $('compose-dialog').showModal();
  const body = $('compose-body');
  if (state.mode === 'reply' || state.mode === 'reply-all') {
    body.focus();
    body.setSelectionRange(0, 0);
    body.scrollTop = 0;
  } else {
    $('compose-to').focus();
  }
}

function closeCompose(confirmFirst) {
  const go = () => {
    hideSuggestions();
    $('compose-dialog').close();
    state = null;
  };
  if (confirmFirst && state && state.dirty) {
    ask({ title: 'Close this message?', text: 'Save it as a draft to keep it.', ok: 'Close without saving' }).then((yes) => { if (yes) go(); });
    return;
  }
  go();
}

async function discard() {
  if (state && state.dirty && !(await ask({ title: 'Discard this message?', ok: 'Discard' }))) return;
  closeCompose(false);
}

function addFile(f) {
  const max = ctx.session().max_message_bytes || 0;
  const total = state.files.reduce((n, x) => n + x.size, 0) + state.kept.reduce((n, x) => n + x.size, 0) + f.size;
  if (max && total * 4 / 3 > max) {
    toast(`Attachments may add up to about ${formatSize(Math.floor(max * 3 / 4))}.`, true);
    return;
  }
  state.files.push(f);
  state.dirty = true;
  renderAttachments();
}

function renderAttachments() {
  const list = $('compose-attachments');
  list.replaceChildren();
  const item = (name, size, remove) => el('li', {},
    el('span', { class: 'aname', text: name }), el('span', { class: 'asize', text: formatSize(size) }),
    el('button', { type: 'button', class: 'subtle', 'aria-label': `Remove ${name}`, onclick: remove }, '✕'));
  state.kept.forEach((k, i) => list.append(item(k.name, k.size, () => { state.kept.splice(i, 1); state.dirty = true; renderAttachments(); })));
  state.files.forEach((f, i) => list.append(item(f.name, f.size, () => { state.files.splice(i, 1); state.dirty = true; renderAttachments(); })));
  list.hidden = state.kept.length + state.files.length === 0;
}

function formData() {
  const msg = {
    from: $('compose-from').value, to: $('compose-to').value, cc: $('compose-cc').value, bcc: $('compose-bcc').value,
    subject: $('compose-subject').value, body: $('compose-body').value,
    mode: state.mode, ref: state.ref, draft: state.draft,
    keep: state.kept.map((k) => ({ message: k.message, part: k.part })),
  };
  const fd = new FormData();
  fd.append('message', new Blob([JSON.stringify(msg)], { type: 'application/json' }));
  for (const f of state.files) fd.append('attachment', f, f.name);
  return fd;
}

function showError(err) {
  const box = $('compose-error');
  let text = err.message;
  if (err instanceof ApiError && err.problem.recipients) {
    const bad = err.problem.recipients.filter((r) => r.outcome === 'failed').map((r) => `${r.address}: ${r.diagnostic || r.status}`);
    if (bad.length) text += ' — ' + bad.join('; ');
  }
  box.textContent = text;
  box.hidden = false;
  if (err instanceof ApiError && err.problem.errors) {
    const field = err.problem.errors[0].field;
    const input = $(`compose-${field}`);
    if (input) input.focus();
  }
}

function setBusy(busy) {
  state.busy = busy;
  for (const id of ['compose-send', 'compose-save', 'compose-discard']) $(id).disabled = busy;
}

async function send() {
  if (!state || state.busy) return;
  setBusy(true);
  $('compose-error').hidden = true;
  try {
    const res = await api('POST', '/send', undefined, { form: formData() });
    closeCompose(false);
    const failed = res.recipients.filter((r) => r.outcome === 'failed');
    toast(failed.length ? `Sent, but not to ${failed.map((r) => r.address).join(', ')}` : 'Message sent', failed.length > 0);
    ctx.afterChange();
  } catch (err) {
    if (state) {
      setBusy(false);
      showError(err);
    }
  }
}

async function saveDraft() {
  if (!state || state.busy) return;
  setBusy(true);
  $('compose-error').hidden = true;
  try {
    const res = await api('POST', '/drafts', undefined, { form: formData() });
    // The saved draft now holds the uploaded files: keep them by reference.
    const draft = await api('GET', `/messages/${res.id}/compose?mode=draft`);
    state.draft = res.id;
    state.kept = draft.attachments;
    state.files = [];
    state.dirty = false;
    renderAttachments();
    setBusy(false);
    toast('Draft saved');
    ctx.afterChange();
  } catch (err) {
    if (state) {
      setBusy(false);
      showError(err);
    }
  }
}

// Autocomplete: suggestions for the address being typed (after the last
// comma) from the user's contacts and the directory.

function currentToken(input) {
  const v = input.value;
  const i = v.lastIndexOf(',');
  return v.slice(i + 1).trim();
}

function scheduleSuggest(input) {
  clearTimeout(acTimer);
  const q = currentToken(input);
  if (q.length < 1) { hideSuggestions(); return; }
  acTimer = setTimeout(() => suggest(input, q), 150);
}

async function suggest(input, q) {
  const seq = ++acSeq;
  let res;
  try {
    res = await api('GET', `/recipients?q=${encodeURIComponent(q)}`);
  } catch {
    return;
  }
  if (seq !== acSeq || document.activeElement !== input) return;
  acItems = res.recipients;
  acIndex = acItems.length ? 0 : -1;
  acInput = input;
  renderSuggestions();
}

function renderSuggestions() {
  const list = $('ac-list');
  list.replaceChildren();
  if (!acItems.length || !acInput) { hideSuggestions(); return; }
  acItems.forEach((r, i) => {
    list.append(el('li', {
      id: `ac-${i}`, role: 'option', 'aria-selected': i === acIndex ? 'true' : 'false',
      onmousedown: (e) => { e.preventDefault(); choose(i); },
    }, el('span', { text: r.name || r.address }), el('span', { class: 'ac-addr', text: r.name ? r.address : '' }),
    el('span', { class: 'ac-src', text: r.group ? 'group' : r.source })));
  });
  const rect = acInput.getBoundingClientRect();
  list.style.left = `${rect.left}px`;
  list.style.top = `${rect.bottom + 2}px`;
  list.style.width = `${rect.width}px`;
  // The list lives in the dialog so that it shows above the backdrop.
  list.hidden = false;
  acInput.setAttribute('aria-expanded', 'true');
  acInput.setAttribute('aria-activedescendant', acIndex >= 0 ? `ac-${acIndex}` : '');
}

function hideSuggestions() {
  $('ac-list').hidden = true;
  for (const id of ['compose-to', 'compose-cc', 'compose-bcc']) {
    $(id).setAttribute('aria-expanded', 'false');
    $(id).removeAttribute('aria-activedescendant');
  }
  acItems = [];
  acIndex = -1;
}

function choose(i) {
  const r = acItems[i];
  if (!r || !acInput) return;
  const v = acInput.value;
  const cut = v.lastIndexOf(',');
  const head = cut >= 0 ? v.slice(0, cut + 1) + ' ' : '';
  const name = r.name && r.name !== r.address ? (/[",;:<>@()[\]\\.]/.test(r.name) ? `"${r.name.replace(/["\\]/g, '\\$&')}"` : r.name) + ` <${r.address}>` : r.address;
  acInput.value = head + name + ', ';
  state.dirty = true;
  hideSuggestions();
  acInput.focus();
}

function acKey(e, input) {
  if ($('ac-list').hidden || acInput !== input) return;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    const n = acItems.length;
    acIndex = (acIndex + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
    renderSuggestions();
  } else if (e.key === 'Enter' || e.key === 'Tab') {
    if (acIndex >= 0) {
      e.preventDefault();
      choose(acIndex);
    }
  } else if (e.key === 'Escape') {
    e.preventDefault();
    e.stopPropagation();
    hideSuggestions();
  }
}
