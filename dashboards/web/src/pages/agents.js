// 探针: the agents, their heartbeats and what their last heartbeat said.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { badge, clear, duration, errorBox, fmtTime, h, loading, pageHeader, table } from '../ui.js';

export async function render(main, { isCurrent }) {
  const results = h('div', { id: 'agents-results' }, loading());
  main.append(pageHeader(t('agents.title')), results);
  let page;
  try {
    page = await api.agents();
  } catch (err) {
    if (isCurrent()) clear(results).append(errorBox(err));
    return;
  }
  if (!isCurrent()) return;
  const status = (a) => a.status ?? {};
  const columns = [
    [t('agents.id'), (a) => h('span', { class: 'mono' }, a.id)],
    [
      t('agents.online'),
      (a) =>
        a.revoked
          ? badge(t('agents.revoked'), 'bad')
          : a.online
            ? badge(t('agents.online.yes'), 'ok')
            : badge(t('agents.online.no'), 'warn'),
    ],
    [t('agents.last_heartbeat'), (a) => fmtTime(a.last_heartbeat), 'nowrap'],
    [t('agents.address'), (a) => h('span', { class: 'mono small' }, a.address || '—')],
    [t('agents.version'), (a) => status(a).version ?? '—'],
    [t('agents.uptime'), (a) => (status(a).uptime_s === undefined ? '—' : duration(status(a).uptime_s))],
    [
      t('agents.last_scan'),
      (a) => (status(a).last_scan ? h('span', {}, h('span', { class: 'mono small' }, status(a).last_scan), ' ', fmtTime(status(a).last_scan_at)) : '—'),
    ],
    [t('agents.spool'), (a) => (status(a).spool_chunks === undefined ? '—' : t('agents.spool.value', { n: status(a).spool_chunks })), 'num'],
    [t('agents.created_at'), (a) => fmtTime(a.created_at), 'nowrap'],
  ];
  clear(results).append(table(columns, page.items, { rowAttrs: (a) => ({ 'data-id': a.id }) }));
}
