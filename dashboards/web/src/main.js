// The shell: header with navigation, the user and the language switch; hash routes
// (#/overview, #/systems?search=x...) so the collector serves one index.html.
import './style.css';
import { clearToken, getToken, setUnauthorizedHandler, whoami } from './api.js';
import { disposeCharts } from './charts.js';
import { getLang, setLang, t } from './i18n.js';
import { clear, errorBox, h, loading } from './ui.js';
import * as overview from './pages/overview.js';
import * as systems from './pages/systems.js';
import * as findings from './pages/findings.js';
import * as alerts from './pages/alerts.js';
import * as agents from './pages/agents.js';
import * as reports from './pages/reports.js';
import * as signin from './pages/signin.js';

const PAGES = { overview, systems, findings, alerts, agents, reports };

const state = { me: null };

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, q = ''] = raw.split('?');
  return { page: path || 'overview', params: Object.fromEntries(new URLSearchParams(q)) };
}

// Changes the hash's parameters of the current page (filters, paging) without a new
// history entry per keystroke.
export function setParams(params) {
  const { page } = parseHash();
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null) q.set(k, v);
  const s = q.toString();
  location.hash = `#/${page}${s ? `?${s}` : ''}`;
}

function header() {
  const { page } = parseHash();
  const me = state.me;
  return h(
    'header',
    { class: 'app-header' },
    h('div', { class: 'brand' }, h('strong', {}, t('app.title')), h('span', { class: 'subtitle' }, t('app.subtitle'))),
    me
      ? h(
          'nav',
          { class: 'app-nav', 'aria-label': t('nav.label') },
          Object.keys(PAGES).map((p) =>
            h('a', { href: `#/${p}`, 'aria-current': p === page ? 'page' : null, 'data-page': p }, t(`nav.${p}`)),
          ),
        )
      : null,
    h(
      'div',
      { class: 'session' },
      me
        ? [
            h('span', { class: 'who', 'data-role': me.role }, me.name, ' ', h('span', { class: `badge role-${me.role}` }, t(`role.${me.role}`))),
            h('button', { type: 'button', id: 'sign-out', onclick: signOut }, t('signout')),
          ]
        : null,
      h(
        'button',
        { type: 'button', id: 'lang-switch', lang: getLang() === 'zh' ? 'en' : 'zh-CN', 'aria-label': t('lang.switch.label'), onclick: switchLang },
        t('lang.switch'),
      ),
    ),
  );
}

function switchLang() {
  setLang(getLang() === 'zh' ? 'en' : 'zh');
  render();
}

function signOut() {
  clearToken();
  state.me = null;
  location.hash = '#/signin';
  render();
}

async function signedIn(me) {
  state.me = me;
  const { page } = parseHash();
  if (page === 'signin' || !(page in PAGES)) location.hash = '#/overview';
  else render();
}

let generation = 0;

export async function render() {
  const gen = ++generation;
  disposeCharts();
  document.title = t('app.title');
  const app = clear(document.getElementById('app'));
  const main = h('main', { id: 'view', tabindex: '-1' });
  app.append(header(), main);

  if (!getToken()) {
    state.me = null;
    signin.render(main, { onSignedIn: signedIn });
    return;
  }
  if (!state.me) {
    main.append(loading());
    try {
      state.me = await whoami(getToken());
    } catch (err) {
      if (err.status === 401) {
        clearToken();
        return render();
      }
      if (gen === generation) clear(main).append(errorBox(err));
      return;
    }
    if (gen === generation) render();
    return;
  }
  const { page, params } = parseHash();
  const mod = PAGES[page];
  if (!mod) {
    location.hash = '#/overview';
    return;
  }
  document.title = `${t(`nav.${page}`)} · ${t('app.title')}`;
  // A page's render is async; a newer render() makes its result irrelevant.
  await mod.render(main, { me: state.me, params, setParams, isCurrent: () => gen === generation });
}

setUnauthorizedHandler(() => {
  clearToken();
  state.me = null;
  render();
});

setLang(getLang());
window.addEventListener('hashchange', () => render());
render();
