// 问题: findings with filters, and each one's evidence and what the rules made of it.
import { api } from '../api.js';
import { getLang, t } from '../i18n.js';
import {
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
} from '../ui.js';

// The catalog's kinds (shared/finding-catalog.md); the filter matches one kind exactly.
const KINDS = [
  'ipv6.dns.no_aaaa',
  'ipv6.web.unreachable',
  'ipv6.web.content_mismatch',
  'ipv6.web.slow',
  'ipv6.links.low_support',
  'ipv6.dns.ns_no_ipv6',
  'ipv6.mail.mx_no_aaaa',
  'ipv6.readiness',
  'asset.discovered',
  'asset.non_own_ip',
  'asset.non_own_domain',
  'asset.dual_non_own',
  'asset.unregistered',
  'asset.zombie',
  'dns.axfr_allowed',
  'dns.dangling_cname',
  'dns.open_resolver',
  'exposure.ipv6_only_open_port',
  'exposure.risky_service',
  'tls.cert_expired',
  'tls.cert_expiring',
  'tls.hostname_mismatch',
  'tls.weak_protocol',
  'net.rogue_ra',
  'net.rogue_dhcpv6',
  'net.tunnel',
  'net.ipv6_share',
  'agent.selfcheck',
];
const LIMIT = 50;

function list(items) {
  return items && items.length ? h('ul', {}, items.map((x) => h('li', {}, x))) : h('span', { class: 'muted' }, t('common.none'));
}

// The detail of one finding: evidence as JSON, and the policy the rules attached.
export function findingDetail(f) {
  const p = f.policy;
  const lang = getLang();
  return h(
    'div',
    { class: 'detail' },
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'id'),
      h('dd', { class: 'mono small' }, f.id),
      h('dt', {}, t('findings.first_seen')),
      h('dd', {}, fmtTime(f.first_seen)),
      h('dt', {}, t('findings.last_seen')),
      h('dd', {}, fmtTime(f.last_seen)),
      h('dt', {}, t('findings.agent')),
      h('dd', {}, `${f.agent ?? '—'} · ${f.scan ?? ''}`),
    ),
    h('h3', {}, t('findings.policy')),
    p
      ? h(
          'dl',
          { class: 'facts policy' },
          h('dt', {}, t('findings.rules')),
          h('dd', {}, list(p.rules)),
          h('dt', {}, t('findings.alerting')),
          h('dd', {}, list(p.alerting)),
          h('dt', {}, t('findings.tags')),
          h('dd', {}, (p.tags ?? []).length ? p.tags.map((tag) => h('span', { class: 'badge tag' }, tag)) : t('common.none')),
          h('dt', {}, t('findings.remediation')),
          h('dd', { class: 'remediation' }, (lang === 'zh' ? p.remediation?.zh || p.remediation?.en : p.remediation?.en || p.remediation?.zh) || '—'),
          h('dt', {}, t('findings.suppressed')),
          h(
            'dd',
            {},
            list((p.suppressed ?? []).map((s) => t('findings.suppressed.item', { rule: s.rule, reason: s.reason, owner: s.owner, expires: s.expires }))),
          ),
        )
      : h('p', { class: 'muted' }, t('findings.no_policy')),
    h('h3', {}, t('findings.evidence')),
    h('pre', { class: 'evidence' }, JSON.stringify(f.evidence ?? {}, null, 2)),
  );
}

export async function render(main, { params, setParams, isCurrent }) {
  const kind = params.kind ?? '';
  const severity = params.severity ?? '';
  const stateParam = params.state ?? 'open';
  const subject = params.subject ?? '';
  const offset = Number(params.offset ?? 0) || 0;

  const kindSelect = select('kind', [['', t('common.all')], ...KINDS.map((k) => [k, k])], kind);
  const sevSelect = select('severity', [['', t('common.all')], ...SEVERITIES.map((s) => [s, t(`severity.${s}`)])], severity);
  const stateSelect = select('state', [['open', t('state.open')], ['resolved', t('state.resolved')], ['all', t('common.all')]], stateParam);
  const subjectInput = h('input', { type: 'search', name: 'subject', value: subject });
  const form = h(
    'form',
    {
      class: 'filters',
      id: 'findings-filter',
      onsubmit: (ev) => {
        ev.preventDefault();
        setParams({ kind: kindSelect.value, severity: sevSelect.value, state: stateSelect.value, subject: subjectInput.value.trim() });
      },
    },
    field(t('findings.kind'), kindSelect),
    field(t('findings.severity'), sevSelect),
    field(t('findings.state'), stateSelect),
    field(t('findings.subject'), subjectInput),
    h('button', { type: 'submit', class: 'primary' }, t('common.filter')),
    h('button', { type: 'button', onclick: () => setParams({}) }, t('common.reset')),
  );
  for (const s of [kindSelect, sevSelect, stateSelect]) s.addEventListener('change', () => form.requestSubmit());

  const results = h('div', { id: 'findings-results' }, loading());
  main.append(pageHeader(t('findings.title')), form, results);

  let page;
  try {
    page = await api.findings({ kind, severity, subject, state: stateParam === 'all' ? '' : stateParam, limit: LIMIT, offset });
  } catch (err) {
    if (isCurrent()) clear(results).append(errorBox(err));
    return;
  }
  if (!isCurrent()) return;

  // Details open in a row under the finding; fetched one by one, with the policy.
  async function toggle(f, button) {
    const row = button.closest('tr');
    const next = row.nextElementSibling;
    if (next && next.classList.contains('detail-row')) {
      next.remove();
      button.setAttribute('aria-expanded', 'false');
      button.textContent = t('common.details');
      return;
    }
    const cell = h('td', { colspan: row.children.length }, loading());
    row.after(h('tr', { class: 'detail-row' }, cell));
    button.setAttribute('aria-expanded', 'true');
    button.textContent = t('common.hide');
    try {
      clear(cell).append(findingDetail(await api.finding(f.id)));
    } catch (err) {
      clear(cell).append(errorBox(err));
    }
  }

  const columns = [
    [t('alerts.severity'), (f) => severityBadge(f.severity)],
    [t('findings.kind'), (f) => h('span', { class: 'mono small' }, f.kind)],
    [t('findings.subject'), (f) => h('span', { class: 'mono' }, f.subject)],
    [t('findings.title_col'), localTitle],
    [t('findings.state'), (f) => t(`state.${f.state}`)],
    [t('findings.last_seen'), (f) => fmtTime(f.last_seen), 'nowrap'],
    [
      '',
      (f) =>
        h('button', { type: 'button', class: 'link', 'aria-expanded': 'false', onclick: (ev) => toggle(f, ev.currentTarget) }, t('common.details')),
    ],
  ];
  clear(results).append(
    table(columns, page.items, { rowAttrs: (f) => ({ 'data-id': f.id }) }),
    pager(page, (o) => setParams({ kind, severity, state: stateParam, subject, offset: o })),
  );
}
