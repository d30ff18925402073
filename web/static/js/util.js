// Small DOM helpers. Everything from the server is put in the page as
// text (textContent), never as markup.

export function $(id) { return document.getElementById(id); }

// el builds an element: el('a', {href: x, class: 'y'}, child, 'text', …).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
const ICONS = {
  inbox: 'M3 13l3-8h12l3 8v6H3z M3 13h5l1 2h6l1-2h5',
  drafts: 'M4 20h4L19 9l-4-4L4 16z M13 7l4 4',
  sent: 'M3 11l18-8-7 18-3-7z M11 14l10-11',
  trash: 'M5 7h14 M9 7V4h6v3 M7 7l1 13h8l1-13',
  junk: 'M12 3l10 18H2z M12 10v5 M12 18v.5',
  outbox: 'M3 13l3-8h12l3 8v6H3z M12 15V7 M9 10l3-3 3 3',
  folder: 'M3 6h6l2 2h10v11H3z',
  clip: 'M8 12l6-6a3 3 0 014 4l-8 8a5 5 0 01-7-7l7-7',
  flag: 'M5 21V4 M5 4h12l-2 4 2 4H5',
  reply: 'M10 8L4 13l6 5 M4 13h10a6 6 0 016 6',
  forward: 'M14 8l6 5-6 5 M20 13H10a6 6 0 00-6 6',
  replyall: 'M11 8L5 13l6 5 M7 8l-5 5 5 5 M5 13h9a6 6 0 016 6',
  mail: 'M3 6h18v12H3z M3 7l9 6 9-6',
  download: 'M12 4v11 M7 10l5 5 5-5 M5 20h14',
  logout: 'M10 4H5v16h5 M15 8l4 4-4 4 M19 12H9',
};

// icon returns a small line icon (decorative: hidden from screen readers).
export function icon(name, cls = 'icon') {
  const s = document.createElementNS(SVG, 'svg');
  s.setAttribute('viewBox', '0 0 24 24');
  s.setAttribute('width', '16');
  s.setAttribute('height', '16');
  s.setAttribute('aria-hidden', 'true');
  s.setAttribute('class', cls);
  s.setAttribute('fill', 'none');
  s.setAttribute('stroke', 'currentColor');
  s.setAttribute('stroke-width', '2');
  s.setAttribute('stroke-linecap', 'round');
  s.setAttribute('stroke-linejoin', 'round');
  const p = document.createElementNS(SVG, 'path');
  p.setAttribute('d', ICONS[name] || ICONS.folder);
  s.append(p);
  return s;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const yearFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

// shortDate: the time today, the day this year, the date before.
export function shortDate(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return timeFmt.format(d);
  if (d.getFullYear() === now.getFullYear()) return dayFmt.format(d);
  return yearFmt.format(d);
}

export function longDate(iso) {
  const d = new Date(iso);
  return isNaN(d) ? '' : fullFmt.format(d);
}

export function formatSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// formatAddr shows "Name <addr>", or the address alone.
export function formatAddr(a) {
  if (!a) return '';
  return a.name && a.name !== a.address ? `${a.name} <${a.address}>` : a.address;
}

// linkify puts plain text into parent, web and mail addresses as links
// that open in a new tab without a referrer.
export function linkify(parent, text) {
  const re = /\b(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]])|\b(mailto:[^\s<>"']+)/gi;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) parent.append(document.createTextNode(text.slice(last, m.index)));
    const a = el('a', { href: m[0], target: '_blank', rel: 'noopener noreferrer nofollow' }, m[0]);
    parent.append(a);
    last = m.index + m[0].length;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

let toastTimer = 0;
export function toast(text, isError = false) {
  const t = $('status');
  t.textContent = text;
  t.classList.toggle('error', isError);
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('show'), isError ? 6000 : 3000);
}

// ask shows a confirmation (input false) or a one-line prompt; it resolves
// to false/null when cancelled.
export function ask({ title, text = '', label = '', value = '', ok = 'OK', input = false }) {
  const d = $('ask-dialog');
  $('ask-title').textContent = title;
  $('ask-text').textContent = text;
  $('ask-text').hidden = !text;
  $('ask-label').textContent = label;
  $('ask-label').hidden = !input;
  $('ask-input').hidden = !input;
  $('ask-input').value = value;
  $('ask-ok').textContent = ok;
  return new Promise((resolve) => {
    const done = (result) => {
      $('ask-cancel').removeEventListener('click', cancel);
      d.removeEventListener('close', closed);
      resolve(result);
    };
    const cancel = () => { d.returnValue = 'cancel'; d.close(); };
    const closed = () => {
      if (d.returnValue !== 'ok') return done(input ? null : false);
      done(input ? $('ask-input').value : true);
    };
    $('ask-cancel').addEventListener('click', cancel);
    d.addEventListener('close', closed);
    d.returnValue = '';
    d.showModal();
    if (input) $('ask-input').select(); else $('ask-ok').focus();
  });
}
