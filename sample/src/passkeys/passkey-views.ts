import { html, SafeHtml } from '../pages/html';

/** The account page's passkey section: the list is filled by the script from `GET /account/mfa/passkeys`. */
export function passkeySection(): SafeHtml {
  return html`<section data-passkeys data-testid="passkeys">
  <h2>Passkeys</h2>
  <p class="muted" data-passkey-status data-testid="passkey-status"></p>
  <ul data-passkey-list data-testid="passkey-list"></ul>
  <label>Name of the new passkey (optional) <input data-passkey-name maxlength="64" autocomplete="off"></label>
  <button type="button" data-passkey-add data-testid="passkey-add">Add a passkey</button>
  <p class="error" data-passkey-error role="alert" hidden></p>
</section>`;
}

/** The "use a passkey" button of the sign-in's second step (inside the code form, so it shows with it). */
export function passkeySignInButton(): SafeHtml {
  return html`<p><button type="button" data-passkey-signin data-testid="passkey-signin">Use a passkey instead</button></p>
  <p class="error" data-passkey-error role="alert" hidden></p>`;
}

/**
 * The "confirm it is you" dialog's passkey button: the password typed in the dialog and a passkey go to
 * `POST /auth/reauth/passkey`; on success the dialog is told (`reauthenticated` event) and the action is retried.
 */
export function passkeyReauthButton(): SafeHtml {
  return html`<p><button type="button" data-passkey-reauth data-testid="passkey-reauth">Confirm with password and passkey</button></p>`;
}
