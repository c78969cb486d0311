// Small DOM and formatting helpers shared by the pages.
import { getLang, t } from './i18n.js';

// h('a', {href: '#/x', class: 'c'}, 'text', child...): an element. Attributes starting with
// "on" are listeners; null, undefined and false children are skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

const locale = () => (getLang() === 'zh' ? 'zh-CN' : 'en-GB');

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(locale(), {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });
}

// A rate 0..1 as the page shows it: one decimal, e.g. 0.8125 -> "81.3%". The browser tests
// compute the same from the API, so keep the two in step.
export function pct(rate) {
  if (rate === null || rate === undefined || Number.isNaN(Number(rate))) return '—';
  return `${(Number(rate) * 100).toFixed(1)}%`;
}

export function num(n) {
  return n === null || n === undefined ? '—' : Number(n).toLocaleString(locale());
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Number(seconds);
  if (s >= 86400) return t('time.days', { n: Math.floor(s / 86400) });
  if (s >= 3600) return t('time.hours', { n: Math.floor(s / 3600) });
  return t('time.minutes', { n: Math.max(0, Math.floor(s / 60)) });
}

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];

export function severityBadge(sev) {
  return h('span', { class: `badge sev-${sev}` }, t(`severity.${sev}`));
}

export function badge(text, kind = '') {
  return h('span', { class: `badge ${kind}` }, text);
}

// A labelled form control: <label>text <control></label>.
export function field(label, control) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control);
}

export function select(name, options, value) {
  return h(
    'select',
    { name },
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
  );
}

// A table: columns are [header, cell(row) -> node or text, optional class].
export function table(columns, rows, { caption, rowAttrs } = {}) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, columns.map(([head, , cls]) => h('th', { scope: 'col', class: cls }, head)))),
      h(
        'tbody',
        {},
        rows.length === 0
          ? h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, t('common.empty')))
          : rows.map((r) =>
              h('tr', rowAttrs ? rowAttrs(r) : {}, columns.map(([, cell, cls]) => h('td', { class: cls }, cell(r)))),
            ),
      ),
    ),
  );
}

// Previous/next paging under a list; onPage(offset) loads another page.
export function pager({ total, limit, offset }, onPage) {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'pagination' },
    h('button', { type: 'button', disabled: offset <= 0, onclick: () => onPage(Math.max(0, offset - limit)) }, t('common.prev')),
    h('span', { class: 'pager-info', 'data-total': total }, t('common.page', { from, to, total })),
    h('button', { type: 'button', disabled: to >= total, onclick: () => onPage(offset + limit) }, t('common.next')),
  );
}

export function loading() {
  return h('p', { class: 'loading', role: 'status' }, t('common.loading'));
}

export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, t('common.error', { msg: err?.message ?? String(err) }));
}

export function pageHeader(title, ...extra) {
  return h('header', { class: 'page-header' }, h('h1', {}, title), h('div', { class: 'page-actions' }, extra));
}

// The title of a finding or an alert in the current language.
export function localTitle(o) {
  return getLang() === 'zh' && o.title_zh ? o.title_zh : o.title;
}

// A short-lived message for screen readers and eyes.
export function toast(text, kind = 'ok') {
  const box = document.getElementById('toast');
  if (!box) return;
  box.className = `toast ${kind}`;
  box.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    box.className = 'toast';
    box.textContent = '';
  }, 6000);
}

// Saves a blob under a file name through a temporary link.
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
