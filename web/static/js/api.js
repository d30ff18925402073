// The webmail's JSON API: every state-changing request carries the
// session's CSRF token; errors are RFC 9457 problem documents.

export class ApiError extends Error {
  constructor(problem, status) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.problem = problem;
    this.status = status;
  }
}

let csrfToken = '';
let onUnauthorized = () => {};

export function setCSRF(token) { csrfToken = token || ''; }
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

// api calls /web/api + path. body is sent as JSON; form (a FormData) as
// multipart. background marks refreshes the page makes on its own, which
// do not keep an idle session alive.
export async function api(method, path, body, { background = false, form = null } = {}) {
  const headers = {};
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken;
  if (background) headers['X-Pochta-Background'] = '1';
  let payload;
  if (form) {
    payload = form;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch('/web/api' + path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  let data = null;
  if (type.includes('json')) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (!res.ok) {
    const err = new ApiError(data || { title: res.statusText, status: res.status }, res.status);
    if (res.status === 401 && path !== '/login') onUnauthorized(err);
    throw err;
  }
  return data;
}
