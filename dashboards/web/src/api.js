// The one client of the collector's API. The token lives in sessionStorage: it lasts while
// the tab is open and is never written to disk by the page.

const TOKEN_KEY = 'edusight.token';
// Relative, so that a reverse proxy may serve the collector under a path prefix.
const BASE = './api/v1/';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// Called when the collector answers 401 to the stored token (revoked, or the collector's
// data was reset): the app goes back to the sign-in page.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function request(path, { method = 'GET', params, body, token = getToken() } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(BASE + path + query(params), init);
  if (res.status === 401 && token === getToken()) onUnauthorized();
  if (!res.ok) {
    let message = `HTTP ${res.status}`;
    try {
      const j = await res.json();
      if (j && j.error) message = j.error;
    } catch {
      // not JSON: keep the status
    }
    throw new ApiError(res.status, message);
  }
  return res;
}

export async function getJson(path, params) {
  return (await request(path, { params })).json();
}

export async function postJson(path, body) {
  return (await request(path, { method: 'POST', body })).json();
}

// Checks a token before it is kept: whoami answers with the token's name and role.
export async function whoami(token) {
  return (await request('whoami', { token })).json();
}

// Reports need the token too, so they are fetched and handed to the browser as blobs.
export async function fetchBlob(path) {
  const res = await request(path);
  const disposition = res.headers.get('Content-Disposition') ?? '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  return { blob: await res.blob(), filename: m ? decodeURIComponent(m[1]) : null };
}

export const api = {
  overview: () => getJson('overview'),
  assets: (params) => getJson('assets', params),
  findings: (params) => getJson('findings', params),
  finding: (id) => getJson(`findings/${encodeURIComponent(id)}`),
  alerts: (params) => getJson('alerts', params),
  acknowledge: (id, comment) =>
    postJson(`alerts/${encodeURIComponent(id)}/acknowledge`, comment ? { comment } : {}),
  agents: () => getJson('agents'),
  units: () => getJson('reports/units'),
};
