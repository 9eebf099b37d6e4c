import { AUTHENTICATION_VOIDED, SECURITY_EVENT_TYPES } from '../../../lib';
import type { SessionSummary } from '../auth/session-summary';
import type { Cart } from '../cart/cart.service';
import type { DeviceListing } from '../devices/device-list.service';
import { MAX_QUANTITY } from '../cart/cart.dto';
import { LANGUAGES, THEMES } from '../preferences/preferences.dto';
import type { Preferences } from '../preferences/preferences.service';
import type { AdminEventView, AdminUserView } from '../admin/admin.service';
import type { SecondFactorMethod } from '../auth/auth.service';
import type { ApiErrorBody } from '../common/api-exception';
import { ROLES, type PublicUser } from '../users/user.entity';
import type { WizardState } from '../wizard/wizard.service';
import type { MetricsSummary } from '../metrics/metrics-dashboard';
import { passkeyReauthButton, passkeySection, passkeySignInButton } from '../passkeys/passkey-views';
import { html, SafeHtml } from './html';

/** What every page needs. */
export interface PageContext {
  /** This response's CSP nonce: the only way a script may run. */
  nonce: string;
  /** The signed-in user; absent on the login page. */
  user?: PublicUser;
  /** On an impersonation session: the admin's username (the banner says who is acting as whom). */
  impersonator?: string;
  /**
   * The CSRF token of the signed-in session: in `<meta name="csrf-token">` for the page script, and in the `_csrf`
   * field of the sign-out form, which also works without script. Absent on the login page (it fetches its
   * pre-login token).
   */
  csrfToken?: string;
  preferences: Preferences;
}

/** What the account page shows about the second factor (read from the account, not the session). */
export interface SecuritySummary {
  totpEnabled: boolean;
  recoveryCodesLeft: number;
}

const LANGUAGE_NAMES: Record<Preferences['language'], string> = { en: 'English', fr: 'Français', de: 'Deutsch', es: 'Español' };
const FACTOR_NAMES: Record<SecondFactorMethod, string> = { totp: 'authenticator app', passkey: 'passkey' };

/** The page frame: navigation and the sign-out button for a signed-in user, the script with the nonce. */
export function layout(ctx: PageContext, title: string, body: SafeHtml): string {
  const header = ctx.user
    ? html`<header>
  <nav><a href="/account">Account</a><a href="/sessions">Devices</a><a href="/cart">Cart</a><a href="/wizard">Wizard</a>${
    ctx.user.roles.includes('admin') ? html`<a href="/admin">Admin</a>` : ''
  }</nav>
  <span class="muted">Signed in as <strong data-testid="username">${ctx.user.username}</strong></span>
  <form class="inline" method="post" action="/auth/logout" data-api="/auth/logout" data-then="/login">${
    ctx.csrfToken === undefined ? '' : html`<input type="hidden" name="_csrf" value="${ctx.csrfToken}">`
  }<button type="submit" data-testid="logout">Sign out</button></form>
</header>
${impersonationBanner(ctx)}`
    : html`<header><nav><strong>nest-session-kit sample</strong></nav></header>`;
  return html`<!doctype html>
<html lang="${ctx.preferences.language}" data-theme="${ctx.preferences.theme}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · nest-session-kit sample</title>${
    ctx.csrfToken === undefined
      ? ''
      : html`
<meta name="csrf-token" content="${ctx.csrfToken}">`
  }
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
${ctx.user && !ctx.impersonator ? reauthDialog() : ''}
</body>
</html>
`.value;
}

/**
 * `/login`: password first; for an account with a second factor, the code form appears in its place. With
 * `oidcProvider` (OIDC configured), a "Sign in with" link to `/auth/oidc/login` (a plain navigation: no script needed).
 */
export function loginPage(ctx: PageContext, oidcProvider?: string): string {
  return layout(
    ctx,
    'Sign in',
    html`<form data-api="/auth/login" data-show="login" data-testid="login-form">
  <label>Username <input name="username" autocomplete="username" required maxlength="64"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
  <label><span><input name="remember" type="checkbox" data-testid="remember"> Keep me signed in on this device</span></label>
  <button type="submit">Sign in</button>
  <p class="muted" data-captcha-status role="status" data-testid="captcha-status" hidden></p>
  <p class="error" data-error role="alert" data-testid="login-error" hidden></p>
</form>
<form data-api="/auth/mfa" data-then="/account" data-mfa-form data-testid="mfa-form" hidden>
  <p>Enter the code from your authenticator app, or one of your recovery codes.</p>
  <label>Code <input name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="64"></label>
  <button type="submit">Verify</button>
  <p class="error" data-error role="alert" hidden></p>
  ${passkeySignInButton()}
</form>
${oidcProvider ? html`<p><a href="/auth/oidc/login" data-testid="oidc-login">Sign in with ${oidcProvider}</a></p>` : ''}
<p class="muted">Demo accounts: alice / alice-correct-horse-1, bob / bob-correct-horse-1, carol / carol-correct-horse-1 (authenticator key JBSWY3DPEHPK3PXP).</p>`,
  );
}

/**
 * The banner of an impersonation session: who is acting as whom, and the way back. Both names are escaped (a
 * username is user-controlled text).
 */
function impersonationBanner(ctx: PageContext): SafeHtml | string {
  if (!ctx.impersonator || !ctx.user) return '';
  return html`<div class="banner" role="status" data-testid="impersonation-banner">
  <span>You (<strong>${ctx.impersonator}</strong>) are impersonating <strong>${ctx.user.username}</strong>.</span>
  <button type="button" data-api="/auth/impersonation/stop" data-then="/admin" data-testid="impersonation-stop">Stop impersonating</button>
</div>`;
}

/**
 * The "confirm it is you" prompt. When a JSON route answers 401 `REAUTH_REQUIRED`, the script opens it, sends the
 * password (and a code when the account has a second factor) to `/auth/reauth`, and retries the action.
 */
function reauthDialog(): SafeHtml {
  return html`<dialog id="reauth-dialog" data-testid="reauth-dialog">
  <form method="dialog" data-reauth>
    <h2>Confirm it is you</h2>
    <p class="muted">This action needs a recent sign-in. Enter your password again.</p>
    <label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
    <label>Authenticator code (if you use one) <input name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="64"></label>
    <p class="error" data-error role="alert" hidden></p>
    <div class="actions"><button type="submit" value="confirm">Confirm</button> <button type="button" data-reauth-cancel>Cancel</button></div>
    ${passkeyReauthButton()}
  </form>
</dialog>`;
}

/** `/account`: who am I, the session, preferences, password, second factor, re-authentication and sign-out everywhere. */
export function accountPage(ctx: PageContext & { user: PublicUser }, session: SessionSummary, security: SecuritySummary): string {
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
    <dt>Signed in</dt><dd>${
      // Voided by session binding (SESSION_BINDING_ACTION=reauth): the next sensitive action asks for the password.
      session.authenticatedAt === AUTHENTICATION_VOIDED
        ? 'Confirm it is you: this session was used from an unfamiliar network or device'
        : time(session.authenticatedAt)
    }</dd>
    <dt>Session started</dt><dd>${time(session.createdAt)}</dd>
    <dt>Ends if idle at</dt><dd>${time(session.idleExpiresAt)}</dd>
    <dt>Ends at the latest</dt><dd>${time(session.absoluteExpiresAt)}</dd>
    <dt>Assurance level</dt><dd data-testid="account-aal">AAL${session.aal}</dd>
    <dt>Session kind</dt><dd>${session.tier === 'remember' ? 'remembered (long-lived)' : 'standard'}</dd>
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
  <h2>Change password</h2>
  <form data-api="/account/password" data-method="POST" data-testid="password-form">
    <label>Current password <input name="currentPassword" type="password" autocomplete="current-password" required maxlength="1024"></label>
    <label>New password (at least 12 characters) <input name="newPassword" type="password" autocomplete="new-password" required minlength="12" maxlength="1024"></label>
    <label><span><input name="signOutOthers" type="checkbox" checked> Sign out my other devices</span></label>
    <button type="submit">Change password</button>
    <p class="error" data-error role="alert" hidden></p>
  </form>
</section>
<section>
  <h2>Two-step verification</h2>
  ${
    security.totpEnabled
      ? html`<p data-testid="totp-status">Authenticator app: <strong>on</strong>. Recovery codes left: ${security.recoveryCodesLeft}.</p>
  <button type="button" data-api="/account/mfa/totp" data-method="DELETE" data-testid="totp-remove">Turn off the authenticator app</button>
  <p class="error" data-error role="alert" hidden></p>`
      : html`<p data-testid="totp-status">Authenticator app: <strong>off</strong>.</p>
  <button type="button" data-api="/account/mfa/totp" data-show="totp-enrolment" data-testid="totp-start">Set up an authenticator app</button>
  <p class="error" data-error role="alert" hidden></p>
  <div data-totp-enrolment hidden>
    <p>Scan this code with your authenticator app, or type the key.</p>
    <img data-totp-qr alt="QR code of the authenticator key" width="200" height="200">
    <p>Key: <code data-totp-secret></code></p>
    <form data-api="/account/mfa/totp/confirm" data-show="recovery-codes" data-testid="totp-confirm-form">
      <label>Code shown by the app <input name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="64"></label>
      <label><span><input name="signOutOthers" type="checkbox"> Sign out my other devices</span></label>
      <button type="submit">Turn on</button>
      <p class="error" data-error role="alert" hidden></p>
    </form>
  </div>
  <div data-recovery-codes hidden>
    <p><strong>Save these recovery codes now.</strong> Each works once if you lose your phone; they are not shown again.</p>
    <ol data-recovery-list data-testid="recovery-codes"></ol>
    <a href="/account">Done</a>
  </div>`
  }
</section>
${passkeySection()}
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

/** The events section's filter on `/admin` (`?userId=&type=`), as validated; `invalid` names what was ignored. */
export interface AdminEventFilter {
  userId?: string;
  type?: string;
  invalid?: string[];
}

/**
 * `/admin`: users with their roles and what an admin can do to each, and the latest security events from the audit
 * table, filtered by user and type through a plain GET form (no script needed). Every value is escaped: user agents,
 * attempted usernames and reasons come from clients.
 */
export function adminPage(
  ctx: PageContext & { user: PublicUser },
  users: AdminUserView[],
  events: AdminEventView[],
  filter: AdminEventFilter = {},
  metrics?: AdminMetrics,
): string {
  const rows = users.map((u) => {
    const id = encodeURIComponent(u.id);
    const self = u.id === ctx.user.id;
    return html`<tr data-testid="admin-user-row">
  <td>${u.username}${self ? html` <span class="badge">you</span>` : ''}</td>
  <td>
    <form class="inline" data-api="/admin/users/${id}/roles" data-method="PUT" data-roles>
      <select name="roles" data-array aria-label="Roles of ${u.username}">${ROLES.map(
        (r) => html`<option value="${r}"${u.roles.includes(r) ? html` selected` : ''}>${r}</option>`,
      )}</select>
      <button type="submit">Save role</button>
      <p class="error" data-error role="alert" hidden></p>
    </form>
  </td>
  <td data-testid="admin-user-mfa">${u.mfaMethods.length > 0 ? u.mfaMethods.map((m) => FACTOR_NAMES[m]).join(', ') : 'none'}</td>
  <td>${u.disabled ? 'disabled' : 'active'}</td>
  <td>
    <button type="button" data-api="/admin/users/${id}/sessions/revoke">Sign out everywhere</button>
    ${
      self
        ? ''
        : u.disabled
          ? html`<button type="button" data-api="/admin/users/${id}/enable">Enable</button>`
          : html`<button type="button" data-api="/admin/users/${id}/disable">Disable</button>`
    }
    ${self || u.roles.includes('admin') || u.disabled ? '' : html`<button type="button" data-api="/admin/users/${id}/impersonate" data-then="/account" data-testid="impersonate">Impersonate</button>`}
  </td>
</tr>`;
  });
  const usernames = new Map(users.map((u) => [u.id, u.username]));
  const eventRows = events.map(
    (e) => html`<tr data-testid="admin-event-row">
  <td>${time(e.time)}</td><td data-testid="admin-event-type">${e.type}</td><td>${e.level}</td><td>${e.outcome}</td><td>${e.reason ?? ''}</td>
  <td data-testid="admin-event-user">${e.userId === undefined ? '' : (usernames.get(e.userId) ?? html`<code>${e.userId}</code>`)}</td>
  <td><code>${e.sessionHandle ?? ''}</code></td><td>${e.ip ?? ''}</td><td data-testid="admin-event-agent">${e.userAgent ?? ''}</td>
  <td><code>${e.detail ? JSON.stringify(e.detail) : ''}</code></td>
</tr>`,
  );
  const userOptions = users.map(
    (u) => html`<option value="${u.id}"${u.id === filter.userId ? html` selected` : ''}>${u.username}</option>`,
  );
  const typeOptions = SECURITY_EVENT_TYPES.map((t) => html`<option value="${t}"${t === filter.type ? html` selected` : ''}>${t}</option>`);
  return layout(
    ctx,
    'Administration',
    html`${metrics ? metricsSection(metrics) : ''}<section>
  <h2>Users</h2>
  <table>
    <thead><tr><th>User</th><th>Role</th><th>Second factor</th><th>Account</th><th></th></tr></thead>
    <tbody>${rows}</tbody>
  </table>
  <p class="error" data-error role="alert" hidden></p>
</section>
<section>
  <h2>Latest security events</h2>
  <form method="get" action="/admin" data-testid="admin-events-filter">
    <label>User <select name="userId"><option value="">all users</option>${userOptions}</select></label>
    <label>Event <select name="type"><option value="">all events</option>${typeOptions}</select></label>
    <button type="submit">Filter</button>
  </form>
  ${filter.invalid?.length ? html`<p class="error" role="alert" data-testid="admin-events-invalid">Ignored an invalid filter: ${filter.invalid.join(', ')}.</p>` : ''}
  <table>
    <thead><tr><th>Time</th><th>Event</th><th>Level</th><th>Outcome</th><th>Reason</th><th>User</th><th>Session</th><th>IP</th><th>User agent</th><th>Detail</th></tr></thead>
    <tbody>${eventRows}</tbody>
  </table>
  ${events.length === 0 ? html`<p data-testid="admin-events-empty">No events.</p>` : ''}
</section>`,
  );
}

/** The `/admin` dashboard's figures: the session module's metrics, and the live sessions of the listed users. */
export interface AdminMetrics {
  summary: MetricsSummary;
  /** Live sessions of the users the page lists (counted in the store at render time, not a metric). */
  sessionsActive: number;
}

const ms = (value: number): string => (value < 10 ? value.toFixed(2) : value.toFixed(1));

/**
 * The metrics dashboard on `/admin`: counts since this instance started (the registry is per process) and store
 * latency per operation. Every value goes through {@link html}, label values included (they are bounded by the
 * library, but escaping stays the default).
 */
function metricsSection({ summary, sessionsActive }: AdminMetrics): SafeHtml {
  const figure = (testid: string, label: string, value: number) =>
    html`<tr data-testid="metric-${testid}"><th scope="row">${label}</th><td>${value}</td></tr>`;
  const latency = summary.storeLatency.map(
    (r) => html`<tr data-testid="metric-latency-row">
  <td>${r.store}</td><td>${r.operation}</td><td>${r.backend}</td><td>${r.count}</td><td>${ms(r.meanMs)}</td><td>${ms(r.p50Ms)}</td><td>${ms(r.p99Ms)}</td>
</tr>`,
  );
  return html`<section data-testid="admin-metrics">
  <h2>Metrics</h2>
  <p>Since this instance started. Prometheus reads them from <code>/metrics</code>.</p>
  <table>
    <tbody>
      ${figure('sessions-active', 'Sessions active (listed users)', sessionsActive)}
      ${figure('sessions-created', 'Sessions created', summary.sessionsCreated)}
      ${figure('sessions-ended', 'Sessions ended', summary.sessionsEnded)}
      ${summary.logins.map(([outcome, count]) => figure(`logins-${outcome}`, `Sign-ins: ${outcome}`, count))}
      ${figure('lockouts', 'Lockouts', summary.lockouts)}
      ${figure('csrf-rejections', 'CSRF rejections', summary.csrfRejections)}
      ${figure('store-errors', 'Store errors', summary.storeErrors)}
    </tbody>
  </table>
  ${
    summary.endedByReason.length > 0
      ? html`<p data-testid="metric-ended-reasons">Ended by reason: ${summary.endedByReason.map(([reason, n], i) => html`${i > 0 ? ', ' : ''}${reason} ${n}`)}</p>`
      : ''
  }
  <h3>Store latency (ms)</h3>
  <table>
    <thead><tr><th>Store</th><th>Operation</th><th>Backend</th><th>Calls</th><th>Mean</th><th>p50</th><th>p99</th></tr></thead>
    <tbody>${latency}</tbody>
  </table>
</section>`;
}

/** Titles of the error pages, by code; anything else by status. The text is always the server's message. */
const ERROR_TITLES: Record<string, string> = {
  INSUFFICIENT_ROLE: 'Not allowed',
  MFA_REQUIRED: 'Two-step verification needed',
};

/**
 * The page a browser gets when a page request fails (403 `INSUFFICIENT_ROLE` on `/admin`, 403 `MFA_REQUIRED`, a
 * store outage): the site's layout and script nonce, the server's message as text, the stable code, and a way on.
 */
export function errorPage(ctx: PageContext, error: ApiErrorBody): string {
  const title =
    ERROR_TITLES[error.code] ?? (error.statusCode >= 500 ? 'Something went wrong' : error.statusCode === 404 ? 'Not found' : 'Not allowed');
  return layout(
    ctx,
    title,
    html`<section data-testid="error-page">
  <p data-testid="error-message">${error.message}</p>
  <p class="muted">Error ${error.statusCode}: <code data-testid="error-code">${error.code}</code></p>
  <p>${ctx.user ? html`<a href="/account">Back to your account</a>` : html`<a href="/login">Sign in</a>`}</p>
</section>`,
  );
}

/**
 * `/sessions`: active devices as a person reads them ("Chrome on Linux", a place, "active 3 minutes ago"), each with a
 * revoke button. User agents and places are attacker-influenced text: escaped (the raw user agent is shown small
 * under the device, for people who want the detail).
 */
export function sessionsPage(ctx: PageContext, sessions: DeviceListing[]): string {
  const rows = sessions.map(
    (s) => html`<tr data-testid="session-row">
  <td class="ua"><span data-testid="device">${s.device}</span>${s.current ? html` <span class="badge">this device</span>` : ''}<br><small class="muted" data-testid="user-agent">${s.userAgent}</small></td>
  <td><span data-testid="place">${s.place ?? 'Unknown place'}</span><br><span class="muted">${s.ip}</span></td>
  <td>${time(s.createdAt)}</td>
  <td><span data-testid="last-active">Active ${s.lastActive}</span><br>${time(s.lastSeenAt)}</td>
  <td><button type="button" data-api="/sessions/${encodeURIComponent(s.handle)}" data-method="DELETE"${s.current ? html` data-then="/login"` : ''} data-testid="revoke">${s.current ? 'Sign out' : 'Revoke'}</button></td>
</tr>`,
  );
  return layout(
    ctx,
    'Your devices',
    html`<section>
  <table>
    <thead><tr><th>Device</th><th>Where</th><th>Signed in</th><th>Last active</th><th></th></tr></thead>
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
