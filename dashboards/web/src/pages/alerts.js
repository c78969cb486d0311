// 告警: alerts by state; an admin acknowledges one with an optional comment.
import { api } from '../api.js';
import { getLang, t } from '../i18n.js';
import {
  badge,
  clear,
  errorBox,
  field,
  fmtTime,
  h,
  loading,
  localTitle,
  pageHeader,
  pager,
  select,
  SEVERITIES,
  severityBadge,
  table,
  toast,
} from '../ui.js';

const STATES = ['active', 'firing', 'acknowledged', 'resolved'];
const LIMIT = 50;

function stateCell(a) {
  return h(
    'div',
    { class: 'alert-state' },
    badge(t(`alert.state.${a.state}`), `state-${a.state}`),
    a.acknowledged_at
      ? h('div', { class: 'small ack-by', 'data-ack-by': a.acknowledged_by }, t('alerts.ack.by', { by: a.acknowledged_by, at: fmtTime(a.acknowledged_at) }))
      : null,
    a.ack_comment ? h('div', { class: 'small ack-comment' }, a.ack_comment) : null,
  );
}

function remediation(a) {
  const r = a.remediation ?? {};
  return (getLang() === 'zh' ? r.zh || r.en : r.en || r.zh) || '';
}

export async function render(main, { me, params, setParams, isCurrent }) {
  const state = params.state ?? 'active';
  const severity = params.severity ?? '';
  const offset = Number(params.offset ?? 0) || 0;
  const admin = me.role === 'admin';

  const stateSelect = select('state', [...STATES.map((s) => [s, t(`alert.state.${s}`)]), ['all', t('common.all')]], state);
  const sevSelect = select('severity', [['', t('common.all')], ...SEVERITIES.map((s) => [s, t(`severity.${s}`)])], severity);
  const form = h(
    'form',
    {
      class: 'filters',
      id: 'alerts-filter',
      onsubmit: (ev) => {
        ev.preventDefault();
        setParams({ state: stateSelect.value, severity: sevSelect.value });
      },
    },
    field(t('alerts.state'), stateSelect),
    field(t('findings.severity'), sevSelect),
    h('button', { type: 'submit', class: 'primary' }, t('common.filter')),
  );
  for (const s of [stateSelect, sevSelect]) s.addEventListener('change', () => form.requestSubmit());

  const results = h('div', { id: 'alerts-results' }, loading());
  main.append(pageHeader(t('alerts.title')));
  if (!admin) main.append(h('p', { class: 'note readonly-note' }, t('alerts.ack.readonly')));
  main.append(form, results);

  async function load() {
    let page;
    try {
      page = await api.alerts({ state: state === 'all' ? '' : state, severity, limit: LIMIT, offset });
    } catch (err) {
      if (isCurrent()) clear(results).append(errorBox(err));
      return;
    }
    if (!isCurrent()) return;
    clear(results).append(
      table(columns, page.items, { rowAttrs: (a) => ({ 'data-id': a.id, 'data-state': a.state }) }),
      pager(page, (o) => setParams({ state, severity, offset: o })),
    );
  }

  // The acknowledgement form opens in a row under the alert.
  function openAck(a, button) {
    const row = button.closest('tr');
    const next = row.nextElementSibling;
    if (next && next.classList.contains('ack-row')) {
      next.remove();
      return;
    }
    const comment = h('textarea', { name: 'comment', rows: 2, maxlength: 1000 });
    const message = h('p', { class: 'form-message', role: 'status' });
    const submit = h('button', { type: 'submit', class: 'primary' }, t('alerts.ack.submit'));
    const ackForm = h(
      'form',
      {
        class: 'ack-form',
        onsubmit: async (ev) => {
          ev.preventDefault();
          submit.disabled = true;
          try {
            const done = await api.acknowledge(a.id, comment.value.trim());
            toast(t('alerts.ack.done', { id: done.id }));
            await load();
          } catch (err) {
            message.className = 'form-message error';
            message.textContent = err.status === 403 ? t('alerts.ack.forbidden') : t('common.error', { msg: err.message });
            submit.disabled = false;
          }
        },
      },
      field(t('alerts.ack.comment'), comment),
      h('div', { class: 'buttons' }, submit, h('button', { type: 'button', onclick: () => ackRow.remove() }, t('alerts.ack.cancel'))),
      message,
    );
    const ackRow = h('tr', { class: 'ack-row' }, h('td', { colspan: row.children.length }, ackForm));
    row.after(ackRow);
    comment.focus();
  }

  const columns = [
    [t('alerts.severity'), (a) => severityBadge(a.severity)],
    [t('alerts.rule'), (a) => h('span', { class: 'mono small' }, a.rule)],
    [t('alerts.subject'), (a) => h('span', { class: 'mono' }, a.subject)],
    [
      t('alerts.title_col'),
      (a) => h('div', {}, localTitle(a), remediation(a) ? h('div', { class: 'small muted' }, remediation(a)) : null),
    ],
    [t('alerts.tags'), (a) => (a.tags ?? []).map((tag) => h('span', { class: 'badge tag' }, tag))],
    [t('alerts.state'), stateCell],
    [t('alerts.first_fired'), (a) => fmtTime(a.first_fired), 'nowrap'],
    [t('alerts.last_fired'), (a) => fmtTime(a.last_fired), 'nowrap'],
    [t('alerts.repeats'), (a) => String(a.repeats ?? 0), 'num'],
    [
      t('alerts.action'),
      (a) =>
        admin && a.state === 'firing'
          ? h('button', { type: 'button', class: 'ack-button', onclick: (ev) => openAck(a, ev.currentTarget) }, t('alerts.ack'))
          : '',
    ],
  ];
  await load();
}
