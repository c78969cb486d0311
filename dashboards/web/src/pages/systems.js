// 信息系统: the living registry, as the collector assembles it from the latest scans.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { badge, clear, errorBox, field, fmtTime, h, loading, num, pageHeader, pager, select, table } from '../ui.js';

const CLASSES = ['own', 'non_own_ip', 'non_own_domain', 'dual_non_own', 'external', 'unknown'];
const LIMIT = 50;

function ipv6Cell(a) {
  const status = a.ipv6_status ?? 'unknown';
  return h(
    'span',
    {},
    badge(t(`ipv6.${status}`), `ipv6-${status}`),
    a.ipv6_score === null || a.ipv6_score === undefined ? null : h('span', { class: 'muted' }, ' ', t('systems.score', { n: a.ipv6_score })),
  );
}

function ownershipCell(a) {
  const c = a.ownership || 'unknown';
  return badge(t(`ownership.${c}`), `own-${c}`);
}

export async function render(main, { params, setParams, isCurrent }) {
  const search = params.search ?? '';
  const cls = params.class ?? '';
  const offset = Number(params.offset ?? 0) || 0;

  const searchInput = h('input', { type: 'search', name: 'search', value: search, placeholder: t('systems.search') });
  const classSelect = select('class', [['', t('common.all')], ...CLASSES.map((c) => [c, t(`ownership.${c}`)])], cls);
  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      id: 'systems-filter',
      onsubmit: (ev) => {
        ev.preventDefault();
        setParams({ search: searchInput.value.trim(), class: classSelect.value });
      },
    },
    field(t('common.search'), searchInput),
    field(t('systems.class'), classSelect),
    h('button', { type: 'submit', class: 'primary' }, t('common.filter')),
    h('button', { type: 'button', onclick: () => setParams({}) }, t('common.reset')),
  );
  classSelect.addEventListener('change', () => form.requestSubmit());

  const results = h('div', { id: 'systems-results' }, loading());
  main.append(pageHeader(t('systems.title')), form, results);

  let page;
  try {
    page = await api.assets({ search, class: cls, limit: LIMIT, offset });
  } catch (err) {
    if (isCurrent()) clear(results).append(errorBox(err));
    return;
  }
  if (!isCurrent()) return;

  const columns = [
    [t('systems.name'), (a) => h('span', { class: 'mono' }, a.name), 'name'],
    [t('systems.addresses'), (a) => h('span', { class: 'mono small' }, (a.addresses ?? []).join(' ') || '—')],
    [t('systems.ownership'), ownershipCell],
    [
      t('systems.registered'),
      (a) => (a.unregistered ? badge(t('systems.registered.no'), 'warn') : a.registered ? t('systems.registered.yes') : '—'),
    ],
    [t('systems.zombie'), (a) => (a.zombie ? badge(t('systems.zombie'), 'bad') : '')],
    [t('systems.owner_unit'), (a) => a.owner_unit || '—'],
    [t('systems.ipv6'), ipv6Cell, 'nowrap'],
    [t('systems.exposure'), (a) => (a.exposure_count ? badge(num(a.exposure_count), 'warn') : '0'), 'num'],
    [t('systems.sources'), (a) => h('span', { class: 'small' }, (a.sources ?? []).join(', '))],
    [t('systems.last_seen'), (a) => fmtTime(a.last_seen), 'nowrap'],
  ];
  clear(results).append(
    table(columns, page.items, { rowAttrs: (a) => ({ 'data-name': a.name }) }),
    pager(page, (o) => setParams({ search, class: cls, offset: o })),
  );
}
