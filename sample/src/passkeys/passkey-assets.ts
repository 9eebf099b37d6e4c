/**
 * The pages' passkey script. `/assets/app.js` serves it after `APP_JS`, so pages still load one script, with the
 * response's CSP nonce (same rules: handlers through `addEventListener`, server text into the page only through
 * `textContent`).
 *
 * - On `/account`, `[data-passkey-add]` asks `POST /account/mfa/passkeys/options`, runs `navigator.credentials.create()`
 *   with the JSON options turned into ArrayBuffers, sends the answer to `POST /account/mfa/passkeys` and reloads; the
 *   list `[data-passkey-list]` is filled from `GET /account/mfa/passkeys`, each with a remove button (a `data-api`
 *   button that `app.js` sends, so that re-authentication goes through its dialog).
 * - On `/login`, `[data-passkey-signin]` (in the second-factor step) runs `navigator.credentials.get()` with the
 *   options of `POST /auth/mfa/passkey/options` and sends the answer to `POST /auth/mfa/passkey`, then opens /account.
 * - In the "confirm it is you" dialog, `[data-passkey-reauth]` sends the dialog's password and a passkey answer to
 *   `POST /auth/reauth/passkey`, then fires `reauthenticated` on the dialog so that `app.js` retries the action.
 *
 * Every call goes through `app.js`'s `callApi` (`window.nskSample.callApi`): the CSRF header, and on a 401
 * `REAUTH_REQUIRED` (adding a passkey needs a recent sign-in) the same "confirm it is you" dialog as every other
 * re-authenticated action, after which the call is sent again, once.
 */
export const PASSKEYS_JS = String.raw`'use strict';
(function () {
  function fromB64url(text) {
    var b64 = text.replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer), bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function descriptors(list) {
    return (list || []).map(function (d) { return { type: d.type, id: fromB64url(d.id), transports: d.transports }; });
  }

  function creationOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = fromB64url(json.challenge);
    o.user = Object.assign({}, json.user, { id: fromB64url(json.user.id) });
    o.excludeCredentials = descriptors(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = fromB64url(json.challenge);
    o.allowCredentials = descriptors(json.allowCredentials);
    return o;
  }

  /** The credential as WebAuthn JSON (PublicKeyCredential.toJSON where the browser has it). */
  function credentialJSON(credential) {
    if (typeof credential.toJSON === 'function') return credential.toJSON();
    var r = credential.response, response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      if (r.userHandle) response.userHandle = toB64url(r.userHandle);
    }
    return {
      id: credential.id, rawId: toB64url(credential.rawId), type: credential.type, response: response,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  function call(method, url, body) {
    return window.nskSample.callApi(method, url, body);
  }

  function show(scope, error) {
    var box = scope.querySelector('[data-passkey-error]') || document.getElementById('page-error');
    if (!box) return;
    box.textContent = error && error.message ? error.message : String(error);
    box.hidden = false;
  }

  async function busy(button, scope, work) {
    var box = scope.querySelector('[data-passkey-error]');
    if (box) { box.hidden = true; box.textContent = ''; }
    button.setAttribute('aria-busy', 'true');
    try { await work(); } catch (error) { show(scope, error); } finally { button.removeAttribute('aria-busy'); }
  }

  async function listPasskeys(section) {
    var list = section.querySelector('[data-passkey-list]');
    var passkeys = await call('GET', '/account/mfa/passkeys');
    list.textContent = '';
    passkeys.forEach(function (p) {
      var item = document.createElement('li');
      item.setAttribute('data-testid', 'passkey-item');
      var label = document.createElement('span');
      label.textContent = (p.name || 'Passkey') + ' (added ' + new Date(p.createdAt).toISOString().slice(0, 10) + ') ';
      // Sent by app.js like every data-api button, so that a 401 REAUTH_REQUIRED opens "confirm it is you".
      var remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = 'Remove';
      remove.setAttribute('data-api', '/account/mfa/passkeys/' + encodeURIComponent(p.id));
      remove.setAttribute('data-method', 'DELETE');
      remove.setAttribute('data-testid', 'passkey-remove');
      item.appendChild(label);
      item.appendChild(remove);
      list.appendChild(item);
    });
    var status = section.querySelector('[data-passkey-status]');
    if (status) status.textContent = passkeys.length === 0 ? 'No passkey yet.' : passkeys.length + ' passkey(s).';
  }

  var section = document.querySelector('[data-passkeys]');
  if (section) {
    listPasskeys(section).catch(function (error) { show(section, error); });
    var add = section.querySelector('[data-passkey-add]');
    add.addEventListener('click', function () {
      busy(add, section, async function () {
        var options = await call('POST', '/account/mfa/passkeys/options');
        var credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
        var nameField = section.querySelector('[data-passkey-name]');
        var body = { response: credentialJSON(credential) };
        if (nameField && nameField.value.trim()) body.name = nameField.value.trim();
        await call('POST', '/account/mfa/passkeys', body);
        window.location.reload();
      });
    });
  }

  document.addEventListener('click', function (event) {
    var button = event.target.closest('[data-passkey-reauth]');
    if (!button) return;
    event.preventDefault();
    var dialog = button.closest('dialog');
    var form = button.closest('form');
    var box = form.querySelector('[data-error]');
    button.setAttribute('aria-busy', 'true');
    (async function () {
      try {
        var password = form.querySelector('input[name="password"]').value;
        if (!password) throw new Error('Enter your password first.');
        var options = await call('POST', '/auth/reauth/passkey/options');
        var credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
        await call('POST', '/auth/reauth/passkey', { password: password, response: credentialJSON(credential) });
        dialog.dispatchEvent(new Event('reauthenticated'));
      } catch (error) {
        box.textContent = error && error.message ? error.message : String(error);
        box.hidden = false;
      } finally {
        button.removeAttribute('aria-busy');
      }
    })();
  });

  document.addEventListener('click', function (event) {
    var button = event.target.closest('[data-passkey-signin]');
    if (!button) return;
    event.preventDefault();
    var scope = button.closest('form, section, main') || document.body;
    busy(button, scope, async function () {
      var options = await call('POST', '/auth/mfa/passkey/options');
      var credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
      await call('POST', '/auth/mfa/passkey', { response: credentialJSON(credential) });
      window.location.assign('/account');
    });
  });
})();
`;
