/**
 * The pages' script and stylesheet, served from `/assets/` (see `AssetsController`). They live in TypeScript
 * strings so that the compiled sample needs no file copying.
 *
 * The script is the only JavaScript the pages run. It is loaded with the response's CSP nonce, attaches its
 * handlers with `addEventListener` (the CSP forbids inline handlers), and writes server text into the page only
 * through `textContent`, never as HTML.
 *
 * Behaviour is declared in the markup: an element with `data-api="/path"` (a form on submit, a button on
 * click) calls that JSON route with method `data-method` (default POST), a form's fields as the JSON body,
 * the CSRF token from `GET /auth/csrf` in `x-csrf-token` (fetched again after any `/auth/` call, and once more on a
 * 403 `CSRF_REJECTED`, as a role change elsewhere makes it stale); on success it goes to `data-then` or reloads, on
 * failure it shows the error in the nearest `[data-error]` element. With `data-show="NAME"` the answer is shown in
 * the page by the renderer NAME instead (the TOTP enrolment's QR code, the recovery codes), always through
 * `textContent` or an `img.src` data URL, never as HTML. A field marked `data-array` is sent as a one-element list.
 *
 * A 401 `CAPTCHA_REQUIRED` (sign-in after a few failures) is answered by solving its proof-of-work challenge with
 * WebCrypto and sending the request again with the solution in `captcha`; a 429 `TOO_MANY_ATTEMPTS` shows its message,
 * which says how long to wait.
 *
 * A 401 `REAUTH_REQUIRED` with `reauth.method: 'GET'` (a session signed in through an OpenID Provider) navigates to
 * the provider's re-authentication; any other opens the "confirm it is you" dialog; once `/auth/reauth` accepts the password (and code),
 * the action is sent again, once. The passkey script (served after this one) sends its calls through the same
 * `callApi`, published as `window.nskSample.callApi`, so adding a passkey meets the same dialog.
 */
export const APP_JS = String.raw`'use strict';
(function () {
  // A signed-in page carries its session's token; the login page fetches its pre-login one.
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrfMeta ? csrfMeta.getAttribute('content') : null;

  async function getCsrfToken() {
    if (csrfToken === null) {
      var res = await fetch('/auth/csrf', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
      csrfToken = (await res.json()).token;
    }
    return csrfToken;
  }

  async function send(method, url, body) {
    var headers = { Accept: 'application/json', 'x-csrf-token': await getCsrfToken() };
    var init = { method: method, headers: headers, credentials: 'same-origin' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    var res = await fetch(url, init);
    // Signing in, the second factor and re-authentication change what the token is bound to: the next call
    // fetches a new one.
    if (res.ok && url.indexOf('/auth/') === 0) csrfToken = null;
    var payload = res.status === 204 ? null : await res.json().catch(function () { return null; });
    return { res: res, payload: payload };
  }

  function failure(res, payload) {
    var error = new Error((payload && payload.message) || 'The request failed (' + res.status + ').');
    error.payload = payload;
    return error;
  }

  async function callApi(method, url, body, retried, csrfRetried) {
    var answer = await send(method, url, body);
    var res = answer.res, payload = answer.payload;
    if (res.ok) return payload;
    if (res.status === 403 && payload && payload.code === 'CSRF_REJECTED' && !csrfRetried) {
      // The token went stale (roles changed from another device, a server restart): fetch a new one, once.
      csrfToken = null;
      return callApi(method, url, body, retried, true);
    }
    if (res.status === 401 && payload && (payload.code === 'SESSION_REQUIRED' || payload.code === 'SESSION_EXPIRED')) {
      window.location.assign('/login');
    }
    if (res.status === 401 && payload && payload.code === 'REAUTH_REQUIRED' && payload.reauth &&
        payload.reauth.method === 'GET' && payload.reauth.reason !== 'impersonation') {
      // Signed in through an OpenID Provider: confirming means signing in there again (a navigation, not a form).
      window.location.assign(payload.reauth.path);
    }
    if (res.status === 401 && payload && payload.code === 'REAUTH_REQUIRED' && !retried &&
        payload.reauth && payload.reauth.reason !== 'impersonation' && await confirmIdentity(payload.reauth.path)) {
      return callApi(method, url, body, true);
    }
    throw failure(res, payload);
  }

  /** Opens the "confirm it is you" dialog; resolves true once the server accepted a re-authentication. */
  function confirmIdentity(path) {
    var dialog = document.getElementById('reauth-dialog');
    if (!dialog || typeof dialog.showModal !== 'function') return Promise.resolve(false);
    var form = dialog.querySelector('form');
    var box = form.querySelector('[data-error]');
    form.reset();
    box.hidden = true;
    return new Promise(function (resolve) {
      function finish(ok) {
        form.removeEventListener('submit', onSubmit);
        cancel.removeEventListener('click', onCancel);
        dialog.removeEventListener('cancel', onCancel);
        dialog.removeEventListener('reauthenticated', onDone);
        dialog.close();
        resolve(ok);
      }
      async function onSubmit(event) {
        event.preventDefault();
        var values = formValues(form);
        var body = { password: values.password };
        if (values.code) body.code = values.code;
        var answer = await send('POST', path || '/auth/reauth', body);
        if (answer.res.ok) { finish(true); return; }
        box.textContent = (answer.payload && answer.payload.message) || 'That did not work.';
        box.hidden = false;
      }
      function onCancel(event) { if (event) event.preventDefault(); finish(false); }
      // passkeys.js re-authenticates with a passkey itself, then tells the dialog.
      function onDone() { finish(true); }
      dialog.addEventListener('reauthenticated', onDone);
      var cancel = form.querySelector('[data-reauth-cancel]');
      form.addEventListener('submit', onSubmit);
      cancel.addEventListener('click', onCancel);
      dialog.addEventListener('cancel', onCancel);
      dialog.showModal();
    });
  }

  /** Renderers for "data-show": they put an answer into the page as text (or an image data URL), never as HTML. */
  var renderers = {
    'login': function (payload) {
      if (!payload.mfaRequired) { window.location.assign('/account'); return; }
      document.querySelector('form[data-api="/auth/login"]').hidden = true;
      var mfa = document.querySelector('[data-mfa-form]');
      mfa.hidden = false;
      mfa.querySelector('input[name="code"]').focus();
    },
    'totp-enrolment': function (payload) {
      var box = document.querySelector('[data-totp-enrolment]');
      var img = box.querySelector('[data-totp-qr]');
      if (typeof payload.qrDataUrl === 'string' && payload.qrDataUrl.indexOf('data:image/png;base64,') === 0) img.src = payload.qrDataUrl;
      box.querySelector('[data-totp-secret]').textContent = payload.secret;
      box.hidden = false;
    },
    'recovery-codes': function (payload) {
      document.querySelector('[data-totp-enrolment]').hidden = true;
      var list = document.querySelector('[data-recovery-list]');
      list.textContent = '';
      (payload.recoveryCodes || []).forEach(function (code) {
        var item = document.createElement('li');
        item.textContent = code;
        list.appendChild(item);
      });
      document.querySelector('[data-recovery-codes]').hidden = false;
    },
  };

  function formValues(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      // The token travels in the header; the form field is for posts without script.
      if (!field.name || field.disabled || field.name === '_csrf') return;
      if (field.type === 'checkbox') values[field.name] = field.checked;
      else if (field.hasAttribute('data-array')) values[field.name] = [field.value];
      else if (field.type === 'number') values[field.name] = field.value === '' ? null : Number(field.value);
      else values[field.name] = field.value;
    });
    return values;
  }

  function showError(scope, error) {
    var box = scope.querySelector('[data-error]') || document.getElementById('page-error');
    if (!box) return;
    var lines = [error.message];
    var fields = error.payload && error.payload.errors;
    if (fields) Object.keys(fields).forEach(function (name) { lines.push(name + ': ' + fields[name].join(', ')); });
    box.textContent = lines.join('\n');
    box.hidden = false;
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return (b < 16 ? '0' : '') + b.toString(16); }).join('');
  }

  /**
   * Solves the server's proof-of-work CAPTCHA (ALTCHA: the number n with SHA-256(salt + n) = challenge) with
   * WebCrypto, a batch of hashes at a time, and answers the payload the server verifies (base64 JSON), or null.
   */
  async function solveCaptcha(c) {
    var encoder = new TextEncoder();
    for (var start = 0; start <= c.maxnumber; start += 500) {
      var batch = [];
      for (var n = start; n < start + 500 && n <= c.maxnumber; n++) batch.push(crypto.subtle.digest('SHA-256', encoder.encode(c.salt + n)));
      var digests = await Promise.all(batch);
      for (var i = 0; i < digests.length; i++) {
        if (hex(digests[i]) === c.challenge) {
          return btoa(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: start + i, salt: c.salt, signature: c.signature }));
        }
      }
    }
    return null;
  }

  /**
   * callApi, and once more with a solved CAPTCHA when the answer is 401 CAPTCHA_REQUIRED (sign-in after a few
   * failures): the person sees a short notice, never a puzzle.
   */
  async function callWithCaptcha(scope, method, url, body) {
    try {
      return await callApi(method, url, body);
    } catch (error) {
      var challenge = error.payload && error.payload.code === 'CAPTCHA_REQUIRED' && error.payload.challenge;
      if (!challenge || !body || body.captcha) throw error;
      var notice = scope.querySelector('[data-captcha-status]');
      if (notice) { notice.textContent = 'Checking this browser before signing in…'; notice.hidden = false; }
      try {
        body.captcha = await solveCaptcha(challenge);
      } finally {
        if (notice) notice.hidden = true;
      }
      if (!body.captcha) throw error;
      return callApi(method, url, body);
    }
  }

  async function run(element, body) {
    var scope = element.closest('form, section, main') || document.body;
    var box = scope.querySelector('[data-error]');
    if (box) { box.hidden = true; box.textContent = ''; }
    element.setAttribute('aria-busy', 'true');
    try {
      var payload = await callWithCaptcha(scope, element.dataset.method || 'POST', element.dataset.api, body);
      if (element.dataset.show && renderers[element.dataset.show]) renderers[element.dataset.show](payload || {});
      else if (element.dataset.then) window.location.assign(element.dataset.then);
      else window.location.reload();
    } catch (error) {
      showError(scope, error);
    } finally {
      element.removeAttribute('aria-busy');
    }
  }

  // For the passkey script that follows in this file: its calls get the CSRF header and the re-auth dialog too.
  window.nskSample = Object.freeze({ callApi: callApi });

  document.addEventListener('submit', function (event) {
    var form = event.target.closest('form[data-api]');
    if (!form) return;
    event.preventDefault();
    run(form, formValues(form));
  });

  document.addEventListener('click', function (event) {
    var button = event.target.closest('button[data-api]');
    if (!button) return;
    event.preventDefault();
    run(button, undefined);
  });
})();
`;

/** Minimal styling, with a dark theme for the `dark` preference and for `system` on a dark system. */
export const APP_CSS = String.raw`:root { color-scheme: light dark; --bg: #fff; --fg: #1b1b1b; --muted: #666; --line: #ddd; --accent: #0b5cad; --error: #b00020; }
html[data-theme="dark"] { --bg: #16181b; --fg: #e8e8e8; --muted: #9a9a9a; --line: #333; --accent: #6aa9ff; --error: #ff6b81; }
@media (prefers-color-scheme: dark) { html[data-theme="system"] { --bg: #16181b; --fg: #e8e8e8; --muted: #9a9a9a; --line: #333; --accent: #6aa9ff; --error: #ff6b81; } }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; gap: 1rem; align-items: center; padding: .75rem 1.5rem; border-bottom: 1px solid var(--line); }
header nav { display: flex; gap: 1rem; flex: 1; }
a { color: var(--accent); }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
section { margin: 1.5rem 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.ua { word-break: break-all; font-size: .9em; }
form { display: grid; gap: .5rem; max-width: 28rem; }
form.inline { display: flex; gap: .5rem; max-width: none; align-items: end; }
label { display: grid; gap: .2rem; }
input, select, button { font: inherit; padding: .35rem .5rem; }
button { cursor: pointer; }
[aria-busy="true"] { opacity: .6; pointer-events: none; }
.muted { color: var(--muted); }
.error { color: var(--error); white-space: pre-line; }
.badge { font-size: .8em; padding: .1rem .4rem; border: 1px solid var(--accent); border-radius: .3rem; }
.banner { display: flex; gap: 1rem; align-items: center; padding: .5rem 1.5rem; background: #fff3cd; color: #4d3b00; border-bottom: 1px solid #e0c36b; }
dialog { max-width: 26rem; border: 1px solid var(--line); background: var(--bg); color: var(--fg); }
dialog::backdrop { background: rgba(0, 0, 0, .4); }
img[data-totp-qr] { image-rendering: pixelated; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { color: var(--muted); }
`;
