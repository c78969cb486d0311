// The dashboard as a person uses it, in headless Chromium (Debian's, driven by playwright-core),
// against a running collector. dashboard_test.py starts the collector with a real scan of the
// test bed and passes:
//   EDUSIGHT_URL            the collector's API and dashboard, e.g. http://127.0.0.1:18380/
//   EDUSIGHT_ADMIN_TOKEN / EDUSIGHT_ADMIN_NAME, EDUSIGHT_VIEWER_TOKEN / EDUSIGHT_VIEWER_NAME
//   EDUSIGHT_AGENT_ID       the agent that scanned
//   EDUSIGHT_ARTIFACTS      where screenshots and the downloaded CSV go
//   EDUSIGHT_CHROMIUM       the browser (default /usr/bin/chromium)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set (run dashboard_test.py)`);
  return v;
};
const BASE = env('EDUSIGHT_URL');
const ADMIN = env('EDUSIGHT_ADMIN_TOKEN');
const ADMIN_NAME = env('EDUSIGHT_ADMIN_NAME');
const VIEWER = env('EDUSIGHT_VIEWER_TOKEN');
const VIEWER_NAME = env('EDUSIGHT_VIEWER_NAME');
const AGENT_ID = env('EDUSIGHT_AGENT_ID');
const ARTIFACTS = env('EDUSIGHT_ARTIFACTS');
const CHROMIUM = env('EDUSIGHT_CHROMIUM', '/usr/bin/chromium');
const TIMEOUT = 20_000;

async function api(path, { token = ADMIN, method = 'GET', body } = {}) {
  const res = await fetch(new URL(`api/v1/${path}`, BASE), {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, json, text };
}

async function apiJson(path, opts) {
  const r = await api(path, opts);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.json;
}

async function until(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

// The page's formatting (dashboards/web/src/ui.js pct): one decimal and a per cent sign.
const pct = (rate) => (rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`);
const int = (text) => Number(text.replace(/[,\s\u00a0]/g, ''));

let browser;
let shot = 0;
const pageErrors = [];

async function newPage() {
  const context = await browser.newContext({
    viewport: { width: 1400, height: 900 },
    locale: 'zh-CN',
    reducedMotion: 'reduce', // charts draw at once
    acceptDownloads: true,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return page;
}

async function screenshot(page, name) {
  shot += 1;
  const path = join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
  return path;
}

async function signIn(page, token) {
  await page.goto(BASE);
  await page.getByLabel(/API 令牌|API token/).fill(token);
  await page.locator('#signin-form button[type=submit]').click();
  await page.locator('[data-metric="systems_total"]').waitFor();
}

async function go(page, hash, ready) {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  await page.locator(ready).first().waitFor();
}

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root in a network namespace: no setuid sandbox; no GPU on the test machines.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const res = await fetch(new URL('healthz', BASE));
  assert.equal(res.status, 200);
});

after(async () => {
  await browser?.close();
});

let admin; // the admin's page, signed in once and used by the tests that follow

test('the dashboard is served without a token, in Chinese, and refuses a wrong token', async () => {
  const res = await fetch(BASE);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.equal((await api('whoami', { token: 'esk_not-a-token' })).status, 401);

  admin = await newPage();
  await admin.goto(BASE);
  assert.equal(await admin.getAttribute('html', 'lang'), 'zh-CN');
  await admin.getByLabel('API 令牌').fill('not-a-token');
  await admin.getByRole('button', { name: '登录' }).click();
  await admin.getByText('令牌无效或已吊销').waitFor();
  await screenshot(admin, 'signin');
});

test('sign in with the admin token: the name and the role are shown', async () => {
  await signIn(admin, ADMIN);
  const who = admin.locator('.session .who');
  assert.match(await who.innerText(), new RegExp(`${ADMIN_NAME}\\s*管理员`));
  assert.equal(await who.getAttribute('data-role'), 'admin');
});

test('the overview shows the numbers of GET /api/v1/overview', async () => {
  const metric = async (name) => (await admin.locator(`[data-metric="${name}"]`).innerText()).trim();
  const figures = (o) => ({
    systems_total: String(o.systems.total),
    dual_non_own: String(o.systems.by_ownership.dual_non_own),
    unregistered: String(o.systems.unregistered),
    zombie: String(o.systems.zombie),
    open_alerts: String(o.alerts.open),
    ipv6_support_rate: pct(o.ipv6.support_rate),
    level2_rate: pct(o.ipv6.links.level2.rate),
    level3_rate: pct(o.ipv6.links.level3.rate),
    agents_online: `${o.agents.online} / ${o.agents.total}`,
  });
  const counts = new Set(['systems_total', 'dual_non_own', 'unregistered', 'zombie', 'open_alerts']);
  // The API's figures before and after the page read them must agree (the collector
  // refreshes its snapshot now and then); a few tries ride out a refresh in between.
  let expected;
  let shown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = figures(await apiJson('overview'));
    await admin.reload();
    await admin.locator('#chart-trend canvas, .chart-card.wide .empty').first().waitFor();
    shown = {};
    for (const name of Object.keys(before)) {
      const text = await metric(name);
      shown[name] = counts.has(name) ? String(int(text)) : text;
    }
    expected = figures(await apiJson('overview'));
    if (JSON.stringify(before) === JSON.stringify(expected)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.deepEqual(shown, expected);

  // A real scan of the test bed: systems of every kind, 双非 ones among them.
  const o = await apiJson('overview');
  const assets = await apiJson('assets?limit=1');
  assert.ok(o.systems.total > 10, `systems: ${o.systems.total}`);
  const classes = Object.values(o.systems.by_ownership).reduce((a, b) => a + b, 0);
  assert.equal(classes, assets.total, 'every host of the registry view has a class');
  assert.ok(o.systems.by_ownership.dual_non_own >= 1);
  assert.ok(o.alerts.open >= 1);
  for (const id of ['chart-ipv6', 'chart-links', 'chart-alerts', 'chart-ownership']) {
    assert.ok((await admin.locator(`#${id} canvas`).count()) > 0, `${id} has no chart`);
  }
  await screenshot(admin, 'overview');
});

test('English by the switch, kept across a reload, and back to Chinese', async () => {
  await admin.locator('#lang-switch').click();
  await admin.locator('a[data-page="overview"]', { hasText: 'Overview' }).waitFor();
  assert.equal(await admin.getAttribute('html', 'lang'), 'en');
  await admin.getByText('Information systems').first().waitFor();
  await screenshot(admin, 'overview-en');
  await admin.reload();
  await admin.locator('a[data-page="systems"]', { hasText: 'Systems' }).waitFor();
  assert.equal(await admin.locator('.session .who').getAttribute('data-role'), 'admin', 'still signed in');
  await admin.locator('#lang-switch').click();
  await admin.locator('a[data-page="overview"]', { hasText: '概览' }).waitFor();
  assert.equal(await admin.getAttribute('html', 'lang'), 'zh-CN');
});

test('the systems view lists the registry, searches and filters by class', async () => {
  await admin.locator('a[data-page="systems"]').click();
  await admin.locator('#systems-results tbody tr[data-name]').first().waitFor();
  const all = await apiJson('assets?limit=50');
  assert.equal(await admin.locator('#systems-results tbody tr[data-name]').count(), all.items.length);
  assert.equal(Number(await admin.locator('.pager-info').getAttribute('data-total')), all.total);
  await screenshot(admin, 'systems');

  await admin.getByRole('searchbox').fill('www');
  await admin.getByRole('button', { name: '筛选' }).click();
  await admin.waitForFunction(() => location.hash.includes('search=www'));
  const found = await apiJson('assets?search=www&limit=50');
  await admin.waitForFunction(
    (n) => document.querySelectorAll('#systems-results tbody tr[data-name]').length === n,
    found.items.length,
  );
  assert.ok(found.items.length >= 1);
  for (const name of await admin.locator('#systems-results tbody tr[data-name]').evaluateAll((rows) => rows.map((r) => r.dataset.name))) {
    assert.ok(found.items.some((a) => a.name === name), name);
  }
  await screenshot(admin, 'systems-search');

  await go(admin, '#/systems?class=dual_non_own', '#systems-results tbody tr');
  const dual = await apiJson('assets?class=dual_non_own&limit=50');
  await admin.waitForFunction(
    (n) => document.querySelectorAll('#systems-results tbody tr[data-name]').length === n,
    dual.items.length,
  );
  assert.equal(await admin.locator('select[name="class"]').inputValue(), 'dual_non_own');
});

test('a finding opens with its evidence and its policy', async () => {
  const list = await apiJson('findings?kind=dns.open_resolver&state=open');
  assert.ok(list.total >= 1, 'the test bed has an open resolver');
  const f = list.items[0];
  await go(admin, '#/findings?kind=dns.open_resolver', `#findings-results tr[data-id="${f.id}"]`);
  await admin.locator(`#findings-results tr[data-id="${f.id}"] button`).click();
  const detail = admin.locator('#findings-results .detail');
  await detail.locator('pre.evidence').waitFor();
  const full = await apiJson(`findings/${f.id}`);
  if (full.policy) {
    for (const tag of full.policy.tags ?? []) await detail.getByText(tag, { exact: true }).first().waitFor();
    if (full.policy.remediation?.zh) await detail.getByText(full.policy.remediation.zh).waitFor();
  }
  await screenshot(admin, 'findings');
});

test('an admin acknowledges an alert with a comment', async () => {
  const firing = await until(
    async () => {
      const { items } = await apiJson('alerts?state=firing&limit=100');
      return items.length ? items : null;
    },
    60_000,
    'a firing alert',
  );
  const alert = firing[0];
  await go(admin, '#/alerts', `#alerts-results tr[data-id="${alert.id}"]`);
  await screenshot(admin, 'alerts');
  const row = admin.locator(`#alerts-results tr[data-id="${alert.id}"]`);
  await row.locator('.ack-button').click();
  const comment = 'browser test: 已通知责任单位处理';
  await admin.getByLabel('处理说明（可选）').fill(comment);
  await admin.getByRole('button', { name: '确认告警' }).click();
  const acked = admin.locator(`#alerts-results tr[data-id="${alert.id}"][data-state="acknowledged"]`);
  await acked.waitFor();
  assert.equal(await acked.locator('.ack-by').getAttribute('data-ack-by'), ADMIN_NAME);
  assert.match(await acked.locator('.ack-comment').innerText(), /已通知责任单位处理/);
  assert.equal(await acked.locator('.ack-button').count(), 0);

  const stored = await apiJson(`alerts/${alert.id}`);
  assert.equal(stored.state, 'acknowledged');
  assert.equal(stored.acknowledged_by, ADMIN_NAME);
  assert.equal(stored.ack_comment, comment);
  assert.ok(stored.acknowledged_at);
  await screenshot(admin, 'alerts-acknowledged');
});

test('the agents page shows the agent that scanned', async () => {
  await admin.locator('a[data-page="agents"]').click();
  const row = admin.locator(`#agents-results tr[data-id="${AGENT_ID}"]`);
  await row.waitFor();
  const agents = await apiJson('agents');
  assert.equal(await admin.locator('#agents-results tbody tr[data-id]').count(), agents.total);
  await screenshot(admin, 'agents');
});

// A small CSV reader: quoted fields, doubled quotes, CRLF or LF.
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) rows.push([...row, field]);
  return rows;
}

test('the reports page: units, the CSV for Excel and the printable report', async () => {
  const units = await apiJson('reports/units');
  await admin.locator('a[data-page="reports"]').click();
  await admin.locator('#units-results table').waitFor();
  assert.equal(await admin.locator('#units-results tbody tr[data-unit]').count(), units.units.length);
  await screenshot(admin, 'reports');

  const [download] = await Promise.all([admin.waitForEvent('download'), admin.locator('#download-csv').click()]);
  const file = join(ARTIFACTS, download.suggestedFilename() || 'units.csv');
  await download.saveAs(file);
  console.log(`downloaded: ${file}`);
  const bytes = await readFile(file);
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM');
  const rows = parseCsv(bytes.subarray(3).toString('utf8')).filter((r) => r.some((f) => f !== ''));
  assert.deepEqual(rows[0], [
    '责任单位',
    '系统数',
    '首页IPv6支持率',
    '二级链接IPv6支持率',
    '三级链接IPv6支持率',
    '双非系统',
    '未登记系统',
    '僵尸系统',
    '暴露问题数',
  ]);
  const body = rows.slice(1);
  assert.equal(body.length, units.units.length, 'one row per unit');
  for (const u of units.units.filter((x) => x.owner_unit)) {
    const r = body.find((x) => x[0] === u.owner_unit);
    assert.ok(r, `a row for ${u.owner_unit}`);
    assert.equal(Number(r[1]), u.systems, `systems of ${u.owner_unit}`);
  }

  const [popup] = await Promise.all([admin.waitForEvent('popup'), admin.locator('#open-report').click()]);
  await popup.waitForURL(/^blob:/);
  await popup.waitForLoadState();
  const html = await popup.content();
  assert.match(html, /[\u4e00-\u9fff]/, 'a Chinese report');
  await screenshot(popup, 'compliance-report');
  await popup.close();
});

test('a viewer signs in read-only and cannot acknowledge', async () => {
  const viewer = await newPage();
  await signIn(viewer, VIEWER);
  const who = viewer.locator('.session .who');
  assert.match(await who.innerText(), new RegExp(`${VIEWER_NAME}\\s*只读`));
  await go(viewer, '#/alerts', '#alerts-results table');
  await viewer.locator('.readonly-note').waitFor();
  assert.equal(await viewer.locator('.ack-button').count(), 0);
  await screenshot(viewer, 'alerts-viewer');

  const firing = (await apiJson('alerts?state=firing&limit=1', { token: VIEWER })).items;
  const any = firing[0] ?? (await apiJson('alerts?limit=1', { token: VIEWER })).items[0];
  if (any) assert.equal((await api(`alerts/${any.id}/acknowledge`, { token: VIEWER, method: 'POST', body: {} })).status, 403);

  await viewer.locator('#sign-out').click();
  await viewer.locator('#signin-form').waitFor();
  assert.equal(await viewer.evaluate(() => sessionStorage.getItem('edusight.token')), null);
  await viewer.context().close();
});

test('no script errors on any page', () => {
  assert.deepEqual(pageErrors, []);
});
