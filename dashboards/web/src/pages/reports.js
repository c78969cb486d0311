// 报表: per owner unit, and the two documents the collector makes (CSV for Excel, a
// printable HTML page). Both need the token, so they are fetched and handed over as blobs.
import { api, fetchBlob } from '../api.js';
import { t } from '../i18n.js';
import { clear, errorBox, fmtTime, h, loading, num, pageHeader, pct, saveBlob, table, toast } from '../ui.js';

function rate(part) {
  if (!part) return '—';
  const total = part.checked ?? part.total ?? 0;
  if (!total) return '—';
  return h('span', { title: `${part.ipv6} / ${total}` }, pct(part.rate));
}

function names(list) {
  if (!list || list.length === 0) return '0';
  return h('details', {}, h('summary', {}, num(list.length)), h('ul', { class: 'small mono' }, list.map((n) => h('li', {}, n))));
}

async function downloadCsv(button) {
  button.disabled = true;
  try {
    const { blob, filename } = await fetchBlob('reports/units.csv');
    const name = filename ?? 'edusight-units.csv';
    saveBlob(blob, name);
    toast(t('reports.downloaded', { name }));
  } catch (err) {
    toast(t('common.error', { msg: err.message }), 'error');
  } finally {
    button.disabled = false;
  }
}

async function openHtml(button) {
  button.disabled = true;
  // Opened now, while the click still counts as the user's: a window opened after the
  // fetch would be taken for a pop-up.
  const win = window.open('', '_blank');
  try {
    const { blob } = await fetchBlob('reports/compliance.html');
    const url = URL.createObjectURL(new Blob([blob], { type: 'text/html;charset=utf-8' }));
    if (win) win.location.href = url;
    else saveBlob(blob, 'edusight-compliance.html');
    setTimeout(() => URL.revokeObjectURL(url), 120_000);
  } catch (err) {
    win?.close();
    toast(t('common.error', { msg: err.message }), 'error');
  } finally {
    button.disabled = false;
  }
}

export async function render(main, { isCurrent }) {
  const csv = h('button', { type: 'button', class: 'primary', id: 'download-csv', onclick: (ev) => downloadCsv(ev.currentTarget) }, t('reports.csv'));
  const html = h('button', { type: 'button', id: 'open-report', onclick: (ev) => openHtml(ev.currentTarget) }, t('reports.html'));
  const print = h('button', { type: 'button', onclick: () => window.print() }, t('common.print'));
  const results = h('div', { id: 'units-results' }, loading());
  main.append(pageHeader(t('reports.title'), csv, html, print), h('p', { class: 'help' }, t('reports.help')), results);

  let report;
  try {
    report = await api.units();
  } catch (err) {
    if (isCurrent()) clear(results).append(errorBox(err));
    return;
  }
  if (!isCurrent()) return;
  const columns = [
    [t('reports.unit'), (u) => u.owner_unit || h('span', { class: 'muted' }, t('reports.unit.unknown'))],
    [t('reports.systems'), (u) => num(u.systems), 'num'],
    [t('reports.homepage'), (u) => rate(u.homepage), 'num'],
    [t('reports.level2'), (u) => rate(u.level2), 'num'],
    [t('reports.level3'), (u) => rate(u.level3), 'num'],
    [t('reports.dual_non_own'), (u) => names(u.dual_non_own), 'num'],
    [t('reports.unregistered'), (u) => names(u.unregistered), 'num'],
    [t('reports.zombie'), (u) => names(u.zombie), 'num'],
    [t('reports.exposure'), (u) => num(u.exposure), 'num'],
  ];
  clear(results).append(
    h('p', { class: 'as-of' }, t('common.as_of', { time: fmtTime(report.as_of) })),
    table(columns, report.units, { rowAttrs: (u) => ({ 'data-unit': u.owner_unit }) }),
  );
}
