import type { SessionListing } from '../../../lib';
import type { SessionSummary } from '../auth/session-summary';
import type { Cart } from '../cart/cart.service';
import { MAX_QUANTITY } from '../cart/cart.dto';
import { LANGUAGES, THEMES } from '../preferences/preferences.dto';
import type { Preferences } from '../preferences/preferences.service';
import type { PublicUser } from '../users/user.entity';
import type { WizardState } from '../wizard/wizard.service';
import { html, SafeHtml } from './html';

/** What every page needs. */
export interface PageContext {
  /** This response's CSP nonce: the only way a script may run. */
  nonce: string;
  /** The signed-in user; absent on the login page. */
  user?: PublicUser;
  preferences: Preferences;
}

const LANGUAGE_NAMES: Record<Preferences['language'], string> = { en: 'English', fr: 'Français', de: 'Deutsch', es: 'Español' };

/** The page frame: navigation and the sign-out button for a signed-in user, the script with the nonce. */
export function layout(ctx: PageContext, title: string, body: SafeHtml): string {
  const header = ctx.user
    ? html`<header>
  <nav><a href="/account">Account</a><a href="/sessions">Devices</a><a href="/cart">Cart</a><a href="/wizard">Wizard</a></nav>
  <span class="muted">Signed in as <strong data-testid="username">${ctx.user.username}</strong></span>
  <button type="button" data-api="/auth/logout" data-then="/login" data-testid="logout">Sign out</button>
</header>`
    : html`<header><nav><strong>nest-session-kit sample</strong></nav></header>`;
  return html`<!doctype html>
<html lang="${ctx.preferences.language}" data-theme="${ctx.preferences.theme}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · nest-session-kit sample</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" nonce="${ctx.nonce}" defer></script>
</head>
<body>
${header}
<main>
<h1>${title}</h1>
<p id="page-error" class="error" role="alert" hidden></p>
${body}
</main>
</body>
</html>
`.value;
}

/** `/login`. */
export function loginPage(ctx: PageContext): string {
  return layout(
    ctx,
    'Sign in',
    html`<form data-api="/auth/login" data-then="/account" data-testid="login-form">
  <label>Username <input name="username" autocomplete="username" required maxlength="64"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
  <button type="submit">Sign in</button>
  <p class="error" data-error role="alert" hidden></p>
</form>
<p class="muted">Demo accounts: alice / alice-correct-horse-1, bob / bob-correct-horse-1, carol / carol-correct-horse-1.</p>`,
  );
}

/** `/account`: who am I, the session, preferences, re-authentication and sign-out everywhere. */
export function accountPage(ctx: PageContext & { user: PublicUser }, session: SessionSummary): string {
  const option = (value: string, label: string, selected: boolean): SafeHtml =>
    html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`;
  return layout(
    ctx,
    'Account',
    html`<section>
  <h2>Who am I</h2>
  <dl>
    <dt>Username</dt><dd data-testid="account-username">${ctx.user.username}</dd>
    <dt>User id</dt><dd><code>${ctx.user.id}</code></dd>
    <dt>Roles</dt><dd>${ctx.user.roles.join(', ')}</dd>
    <dt>Signed in</dt><dd>${time(session.authenticatedAt)}</dd>
    <dt>Session started</dt><dd>${time(session.createdAt)}</dd>
    <dt>Ends if idle at</dt><dd>${time(session.idleExpiresAt)}</dd>
    <dt>Ends at the latest</dt><dd>${time(session.absoluteExpiresAt)}</dd>
    <dt>Assurance level</dt><dd>AAL${session.aal}</dd>
  </dl>
</section>
<section>
  <h2>Preferences</h2>
  <form data-api="/preferences" data-method="PUT" data-testid="preferences-form">
    <label>Theme <select name="theme">${THEMES.map((t) => option(t, t, t === ctx.preferences.theme))}</select></label>
    <label>Language <select name="language">${LANGUAGES.map((l) => option(l, LANGUAGE_NAMES[l], l === ctx.preferences.language))}</select></label>
    <button type="submit">Save preferences</button>
    <p class="error" data-error role="alert" hidden></p>
  </form>
</section>
<section>
  <h2>Confirm it is you</h2>
  <p class="muted">Sensitive actions ask for a recent sign-in. Entering your password again starts a fresh session.</p>
  <form data-api="/auth/reauth" data-testid="reauth-form">
    <label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
    <button type="submit">Confirm</button>
    <p class="error" data-error role="alert" hidden></p>
  </form>
</section>
<section>
  <h2>Sign out everywhere</h2>
  <button type="button" data-api="/auth/logout-all" data-then="/login" data-testid="logout-all">Sign out of all devices</button>
  <p class="error" data-error role="alert" hidden></p>
</section>`,
  );
}

/** `/sessions`: active devices, each with a revoke button. User agents are attacker-chosen text: escaped. */
export function sessionsPage(ctx: PageContext, sessions: SessionListing[]): string {
  const rows = sessions.map(
    (s) => html`<tr data-testid="session-row">
  <td class="ua">${s.userAgent || 'Unknown device'}${s.current ? html` <span class="badge">this device</span>` : ''}</td>
  <td>${s.ip}</td>
  <td>${time(s.createdAt)}</td>
  <td>${time(s.lastSeenAt)}</td>
  <td><button type="button" data-api="/sessions/${encodeURIComponent(s.handle)}" data-method="DELETE"${s.current ? html` data-then="/login"` : ''} data-testid="revoke">${s.current ? 'Sign out' : 'Revoke'}</button></td>
</tr>`,
  );
  return layout(
    ctx,
    'Your devices',
    html`<section>
  <table>
    <thead><tr><th>Device</th><th>IP address</th><th>Signed in</th><th>Last active</th><th></th></tr></thead>
    <tbody>${rows}</tbody>
  </table>
  <p class="error" data-error role="alert" hidden></p>
</section>`,
  );
}

/** `/cart`. */
export function cartPage(ctx: PageContext, cart: Cart): string {
  const rows = cart.items.map(
    (line) => html`<tr data-testid="cart-row">
  <td>${line.sku}</td><td>${line.qty}</td>
  <td><button type="button" data-api="/cart/items/${encodeURIComponent(line.sku)}" data-method="DELETE">Remove</button></td>
</tr>`,
  );
  return layout(
    ctx,
    'Cart',
    html`<section>
  ${
    cart.items.length === 0
      ? html`<p class="muted">Your cart is empty.</p>`
      : html`<table>
    <thead><tr><th>Item</th><th>Quantity</th><th></th></tr></thead>
    <tbody>${rows}</tbody>
    <tfoot><tr><th>Total</th><th data-testid="cart-total">${cart.totalQuantity}</th><th></th></tr></tfoot>
  </table>`
  }
  <p class="error" data-error role="alert" hidden></p>
</section>
<section>
  <h2>Add an item</h2>
  <form class="inline" data-api="/cart/items" data-testid="cart-form">
    <label>SKU <input name="sku" required maxlength="64" pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}"></label>
    <label>Quantity <input name="qty" type="number" min="1" max="${MAX_QUANTITY}" value="1" required></label>
    <button type="submit">Add</button>
    <p class="error" data-error role="alert" hidden></p>
  </form>
</section>`,
  );
}

/** `/wizard`: the three steps, filled in with what the session saved. */
export function wizardPage(ctx: PageContext, state: WizardState): string {
  const contact = state.steps[1];
  const address = state.steps[2];
  const status = state.completed
    ? html`<p data-testid="wizard-status"><strong>Done:</strong> you confirmed your details.</p>`
    : html`<p data-testid="wizard-status" class="muted">Step ${state.currentStep} of 3.</p>`;
  return layout(
    ctx,
    'Wizard',
    html`${status}
<section>
  <h2>1. Contact</h2>
  <form data-api="/wizard/steps/1" data-method="PUT" data-testid="wizard-step-1">
    <label>Name <input name="name" value="${contact?.name ?? ''}" maxlength="100"></label>
    <label>Email <input name="email" type="email" value="${contact?.email ?? ''}" maxlength="254"></label>
    <button type="submit">Save step 1</button>
    <p class="error" data-error role="alert" hidden></p>
  </form>
</section>
<section>
  <h2>2. Address</h2>
  <form data-api="/wizard/steps/2" data-method="PUT" data-testid="wizard-step-2">
    <label>Street <input name="street" value="${address?.street ?? ''}" maxlength="200"></label>
    <label>City <input name="city" value="${address?.city ?? ''}" maxlength="100"></label>
    <label>Postal code <input name="postalCode" value="${address?.postalCode ?? ''}" maxlength="10"></label>
    <label>Country (two letters) <input name="country" value="${address?.country ?? ''}" maxlength="2"></label>
    <button type="submit">Save step 2</button>
    <p class="error" data-error role="alert" hidden></p>
  </form>
</section>
<section>
  <h2>3. Confirm</h2>
  <form data-api="/wizard/steps/3" data-method="PUT" data-testid="wizard-step-3">
    <label><span><input name="confirm" type="checkbox"${state.completed ? html` checked` : ''}> These details are correct</span></label>
    <button type="submit">Finish</button>
    <p class="error" data-error role="alert" hidden></p>
  </form>
</section>`,
  );
}

/** A timestamp for people, in UTC (the server does not know the reader's time zone). */
function time(ms: number): SafeHtml {
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 19)} UTC</time>`;
}
