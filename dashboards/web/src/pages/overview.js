// 概览: the numbers a security center and the 名录 owners look at first, and their trends.
import { api } from '../api.js';
import { chart, COLORS } from '../charts.js';
import { t } from '../i18n.js';
import { clear, errorBox, fmtTime, h, loading, num, pageHeader, pct, SEVERITIES } from '../ui.js';

const OWNERSHIP = ['own', 'non_own_ip', 'non_own_domain', 'dual_non_own', 'external', 'unknown'];
const IPV6 = ['ready', 'partial', 'unreachable', 'none', 'unknown'];

// A number card; metric names the value for the browser tests, href leads to the details.
function card(metric, label, value, note, href, tone = '') {
  const body = [
    h('span', { class: 'card-label' }, label),
    h('span', { class: 'card-value', 'data-metric': metric }, value),
    note ? h('span', { class: 'card-note' }, note) : null,
  ];
  return href ? h('a', { class: `card metric ${tone}`, href }, body) : h('div', { class: `card metric ${tone}` }, body);
}

function panel(title, id, extraClass = '') {
  const box = h('div', { class: 'chart', id, role: 'img', 'aria-label': title });
  return { box, el: h('section', { class: `card chart-card ${extraClass}` }, h('h2', {}, title), box) };
}

export async function render(main, { isCurrent }) {
  main.append(pageHeader(t('overview.title')), loading());
  let o;
  try {
    o = await api.overview();
  } catch (err) {
    if (isCurrent()) clear(main).append(pageHeader(t('overview.title')), errorBox(err));
    return;
  }
  if (!isCurrent()) return;
  clear(main);

  const { systems, ipv6, alerts, findings, agents } = o;
  const l2 = ipv6.links.level2;
  const l3 = ipv6.links.level3;
  main.append(
    pageHeader(t('overview.title'), h('span', { class: 'as-of' }, t('common.as_of', { time: fmtTime(o.as_of) }))),
    h(
      'div',
      { class: 'cards' },
      card('systems_total', t('overview.systems'), num(systems.total), null, '#/systems'),
      card(
        'ipv6_support_rate',
        t('overview.support_rate'),
        pct(ipv6.support_rate),
        t('overview.support_rate.note', { n: num(ipv6.systems_checked) }),
      ),
      card('level2_rate', t('overview.level2'), pct(l2.rate), t('overview.links.note', { ipv6: num(l2.ipv6), total: num(l2.total) })),
      card('level3_rate', t('overview.level3'), pct(l3.rate), t('overview.links.note', { ipv6: num(l3.ipv6), total: num(l3.total) })),
      card(
        'dual_non_own',
        t('overview.dual_non_own'),
        num(systems.by_ownership.dual_non_own),
        null,
        '#/systems?class=dual_non_own',
        systems.by_ownership.dual_non_own ? 'warn' : '',
      ),
      card('unregistered', t('overview.unregistered'), num(systems.unregistered), null, '#/findings?kind=asset.unregistered', systems.unregistered ? 'warn' : ''),
      card('zombie', t('overview.zombie'), num(systems.zombie), null, '#/findings?kind=asset.zombie', systems.zombie ? 'warn' : ''),
      card(
        'open_alerts',
        t('overview.open_alerts'),
        num(alerts.open),
        t('overview.open_findings', { n: num(findings.open) }),
        '#/alerts',
        alerts.by_severity.critical || alerts.by_severity.high ? 'bad' : '',
      ),
      card(
        'agents_online',
        t('overview.agents_online'),
        `${num(agents.online)} / ${num(agents.total)}`,
        t('overview.agents.note', { n: num(agents.total) }),
        '#/agents',
        agents.total && agents.online < agents.total ? 'warn' : '',
      ),
    ),
  );

  const ipv6Panel = panel(t('overview.chart.ipv6'), 'chart-ipv6');
  const linksPanel = panel(t('overview.chart.links'), 'chart-links');
  const alertsPanel = panel(t('overview.chart.alerts'), 'chart-alerts');
  const ownPanel = panel(t('overview.chart.ownership'), 'chart-ownership');
  const trendPanel = panel(t('overview.chart.trend'), 'chart-trend', 'wide');
  main.append(h('div', { class: 'charts' }, ipv6Panel.el, linksPanel.el, alertsPanel.el, ownPanel.el, trendPanel.el));

  chart(ipv6Panel.box, {
    legend: { bottom: 0 },
    series: [
      {
        type: 'pie',
        radius: ['45%', '70%'],
        center: ['50%', '45%'],
        label: { formatter: '{c}' },
        data: IPV6.map((s) => ({ name: t(`ipv6.${s}`), value: ipv6.by_status[s] ?? 0, itemStyle: { color: COLORS[s] } })).filter(
          (d) => d.value > 0,
        ),
      },
    ],
  });

  const levels = [t('overview.level2.short'), t('overview.level3.short')];
  chart(linksPanel.box, {
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0 },
    grid: { left: 48, right: 16, top: 16, bottom: 48 },
    xAxis: { type: 'category', data: levels, axisLabel: { interval: 0 } },
    yAxis: { type: 'value', minInterval: 1 },
    series: [
      { name: t('overview.links.supported'), type: 'bar', stack: 'links', data: [l2.ipv6, l3.ipv6], itemStyle: { color: COLORS.ready } },
      {
        name: t('overview.links.unsupported'),
        type: 'bar',
        stack: 'links',
        data: [l2.total - l2.ipv6, l3.total - l3.ipv6],
        itemStyle: { color: COLORS.high },
      },
    ],
  });

  chart(alertsPanel.box, {
    tooltip: { trigger: 'axis' },
    grid: { left: 48, right: 16, top: 16, bottom: 32 },
    xAxis: { type: 'category', data: SEVERITIES.map((s) => t(`severity.${s}`)), axisLabel: { interval: 0 } },
    yAxis: { type: 'value', minInterval: 1 },
    series: [
      {
        type: 'bar',
        name: t('overview.open_alerts'),
        data: SEVERITIES.map((s) => ({ value: alerts.by_severity[s] ?? 0, itemStyle: { color: COLORS[s] } })),
        label: { show: true, position: 'top' },
      },
    ],
  });

  chart(ownPanel.box, {
    tooltip: { trigger: 'axis' },
    grid: { left: 112, right: 32, top: 8, bottom: 24 },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', inverse: true, data: OWNERSHIP.map((c) => t(`ownership.${c}`)) },
    series: [
      {
        type: 'bar',
        name: t('overview.count'),
        data: OWNERSHIP.map((c) => ({
          value: systems.by_ownership[c] ?? 0,
          itemStyle: { color: c === 'own' ? COLORS.ready : c === 'dual_non_own' ? COLORS.critical : COLORS.medium },
        })),
        label: { show: true, position: 'right' },
      },
    ],
  });

  const trend = o.trend ?? [];
  if (trend.length === 0) {
    trendPanel.box.replaceWith(h('p', { class: 'empty' }, t('overview.trend.empty')));
  } else {
    const series = (key, label, color) => ({
      name: label,
      type: 'line',
      yAxisIndex: 1,
      data: trend.map((d) => d[key]),
      itemStyle: { color },
      showSymbol: trend.length < 30,
    });
    chart(trendPanel.box, {
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0 },
      grid: { left: 56, right: 56, top: 24, bottom: 56 },
      xAxis: { type: 'category', data: trend.map((d) => d.date) },
      yAxis: [
        { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
        { type: 'value', minInterval: 1 },
      ],
      series: [
        {
          name: t('overview.trend.rate'),
          type: 'line',
          data: trend.map((d) => (d.ipv6_support_rate === null ? null : Math.round(d.ipv6_support_rate * 1000) / 10)),
          itemStyle: { color: COLORS.ready },
          areaStyle: { opacity: 0.08 },
          showSymbol: trend.length < 30,
        },
        series('dual_non_own', t('overview.dual_non_own'), COLORS.critical),
        series('unregistered', t('overview.unregistered'), COLORS.medium),
        series('zombie', t('overview.zombie'), COLORS.info),
        series('open_alerts', t('overview.open_alerts'), COLORS.high),
      ],
    });
  }
}
