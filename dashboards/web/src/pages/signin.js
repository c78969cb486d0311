// Sign-in: an API token, checked with whoami before it is kept.
import { setToken, whoami } from '../api.js';
import { t } from '../i18n.js';
import { h } from '../ui.js';

export function render(main, { onSignedIn }) {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  });
  const message = h('p', { class: 'form-message', role: 'status', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary' }, t('signin.submit'));

  async function submit(ev) {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    button.disabled = true;
    message.className = 'form-message';
    message.textContent = t('signin.checking');
    try {
      const me = await whoami(token);
      setToken(token);
      onSignedIn(me);
    } catch (err) {
      message.className = 'form-message error';
      message.textContent = err.status === 401 ? t('signin.invalid') : t('signin.failed', { msg: err.message });
      button.disabled = false;
      input.select();
    }
  }

  main.append(
    h(
      'section',
      { class: 'signin card' },
      h('h1', {}, t('signin.title')),
      h('p', { class: 'help' }, t('signin.help')),
      h(
        'form',
        { onsubmit: submit, id: 'signin-form' },
        h('label', { for: 'token' }, t('signin.token')),
        input,
        button,
        message,
      ),
    ),
  );
  input.focus();
}
