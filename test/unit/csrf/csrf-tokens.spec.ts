import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CsrfContext, CSRF_TOKEN_LENGTH, CsrfTokens } from '../../../lib/csrf/csrf-tokens';
import { normaliseOrigin, resolveCsrfOptions } from '../../../lib/csrf/csrf.options';
import { checkRequestOrigin, ownOrigins } from '../../../lib/csrf/request-origin';

// The real timingSafeEqual, watched: the token check must go through it (constant time), never through ===.
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});

const session: CsrfContext = { kind: 'session', handle: 'h-1', rolesVersion: 0, aal: 1, stage: 'complete', authenticatedAt: 1000 };

describe('CsrfTokens', () => {
  const tokens = new CsrfTokens([randomBytes(32)]);

  it('issues unpredictable URL-safe tokens, a different one each time, all valid for their context', () => {
    const a = tokens.issue(session);
    const b = tokens.issue(session);
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(a).toHaveLength(CSRF_TOKEN_LENGTH);
    expect(a).not.toBe(b);
    expect(tokens.verify(a, session)).toBe(true);
    expect(tokens.verify(b, { ...session })).toBe(true);
  });

  it('tags salt and length-framed context under HMAC-SHA256, byte for byte (tokens issued before a deploy stay valid)', () => {
    const key = randomBytes(32);
    const salt = randomBytes(16);
    const ctx: CsrfContext = { ...session, handle: 'hé-ü' };
    const tag = createHmac('sha256', key).update(salt).update('7:session;').update('4:hé-ü;1:0;1:1;8:complete;4:1000;').digest();
    const token = Buffer.concat([salt, tag]).toString('base64url');
    expect(new CsrfTokens([key]).verify(token, ctx)).toBe(true);
    const nonce = CsrfTokens.newNonce();
    const nonceTag = createHmac('sha256', key).update(salt).update(`5:nonce;43:${nonce};`).digest();
    expect(new CsrfTokens([key]).verify(Buffer.concat([salt, nonceTag]).toString('base64url'), { kind: 'nonce', nonce })).toBe(true);
  });

  it('binds a token to the session handle and to its privileges (roles version, aal, stage, authentication time)', () => {
    const token = tokens.issue(session);
    expect(tokens.verify(token, { ...session, handle: 'h-2' })).toBe(false); // another session, or a new login
    expect(tokens.verify(token, { ...session, rolesVersion: 1 })).toBe(false); // roles changed
    expect(tokens.verify(token, { ...session, aal: 2 })).toBe(false); // MFA step-up
    expect(tokens.verify(token, { ...session, stage: 'pending' })).toBe(false);
    expect(tokens.verify(token, { ...session, authenticatedAt: 2000 })).toBe(false); // re-authentication
  });

  it('keeps a pre-login token to its nonce, and never lets a nonce pass for a session or a field shift', () => {
    const nonce = CsrfTokens.newNonce();
    expect(CsrfTokens.isNonce(nonce)).toBe(true);
    const token = tokens.issue({ kind: 'nonce', nonce });
    expect(tokens.verify(token, { kind: 'nonce', nonce })).toBe(true);
    expect(tokens.verify(token, { kind: 'nonce', nonce: CsrfTokens.newNonce() })).toBe(false);
    expect(tokens.verify(token, { ...session, handle: nonce })).toBe(false);
    const shifted = tokens.issue({ ...session, handle: 'h-1', rolesVersion: 12 });
    expect(tokens.verify(shifted, { ...session, handle: 'h-11', rolesVersion: 2 })).toBe(false);
  });

  it('refuses tampered, truncated, foreign-key and non-string tokens', () => {
    const token = tokens.issue(session);
    const flipped = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
    expect(tokens.verify(flipped, session)).toBe(false);
    expect(tokens.verify(token.slice(1), session)).toBe(false);
    expect(tokens.verify(`${token}A`, session)).toBe(false);
    expect(tokens.verify(token.replace(/.$/, '='), session)).toBe(false);
    expect(tokens.verify(new CsrfTokens([randomBytes(32)]).issue(session), session)).toBe(false);
    for (const bad of [undefined, null, 42, [token], { token }, '']) expect(tokens.verify(bad, session)).toBe(false);
  });

  it('rotates keys: the first key signs, every key verifies', () => {
    const oldKey = randomBytes(32);
    const issuedBefore = new CsrfTokens([oldKey]).issue(session);
    const rotated = new CsrfTokens([randomBytes(32), oldKey]);
    expect(rotated.verify(issuedBefore, session)).toBe(true);
    expect(new CsrfTokens([randomBytes(32)]).verify(rotated.issue(session), session)).toBe(false);
  });

  it('compares tags with crypto.timingSafeEqual (constant time), never with ===', () => {
    const spy = jest.mocked(timingSafeEqual);
    const token = tokens.issue(session);
    spy.mockClear();
    expect(tokens.verify(token, session)).toBe(true);
    expect(tokens.verify(tokens.issue({ ...session, handle: 'x' }), session)).toBe(false);
    expect(spy).toHaveBeenCalledTimes(2);
  });
});

describe('csrf options', () => {
  it('fills in defaults and draws a random secret when none is given', () => {
    const problems: string[] = [];
    const a = resolveCsrfOptions(undefined, true, problems);
    const b = resolveCsrfOptions(undefined, true, problems);
    expect(problems).toEqual([]);
    expect(a).toMatchObject({
      generatedSecret: true,
      missingOrigin: 'referer',
      headerName: 'x-csrf-token',
      fieldName: '_csrf',
      cookie: { name: '__Host-csrf', secure: true },
      rejectSimpleContentTypes: true,
    });
    expect(a.secrets[0]).toHaveLength(32);
    expect(a.secrets[0].equals(b.secrets[0])).toBe(false);
    expect(resolveCsrfOptions({}, false, problems).cookie.name).toBe('csrf');
  });

  it('lists every bad setting with its fix', () => {
    const problems: string[] = [];
    resolveCsrfOptions(
      {
        secret: 'short',
        allowedOrigins: ['https://app.example.com/', 'app.example.com', 'https://ok.example.com'],
        missingOrigin: 'sometimes' as never,
        headerName: 'x csrf',
        cookieName: '__Host-csrf',
      },
      false,
      problems,
    );
    expect(problems).toEqual([
      expect.stringContaining('csrf.secret is 5 bytes long: give at least 32 random bytes'),
      expect.stringContaining('csrf.allowedOrigins has "https://app.example.com/"'),
      expect.stringContaining('csrf.allowedOrigins has "app.example.com"'),
      expect.stringContaining('csrf.missingOrigin is "sometimes": use \'referer\''),
      expect.stringContaining('csrf.headerName is "x csrf"'),
      expect.stringContaining('csrf.cookieName "__Host-csrf" has a prefix that needs a Secure cookie'),
    ]);
    const list: string[] = [];
    resolveCsrfOptions({ secret: ['k'.repeat(32), Buffer.alloc(8)] }, true, list);
    expect(list).toEqual([expect.stringContaining('csrf.secret[1] is 8 bytes long')]);
  });

  it('normalises origins as browsers send them', () => {
    expect(normaliseOrigin('https://App.Example.com:443')).toBe('https://app.example.com');
    expect(normaliseOrigin('http://localhost:8080')).toBe('http://localhost:8080');
    for (const bad of ['null', 'ftp://x.example', 'https://x.example/path', 'https://u:p@x.example', 42])
      expect(normaliseOrigin(bad)).toBeUndefined();
  });
});

describe('checkRequestOrigin', () => {
  const options = { allowedOrigins: new Set(['https://admin.example.com']), missingOrigin: 'referer' as const };
  const own = ownOrigins('app.example.com', 'http');

  it("counts the request's own host over its protocol, and over https (a TLS-terminating proxy), as its own", () => {
    expect(own).toEqual(['http://app.example.com', 'https://app.example.com']);
    expect(ownOrigins('app.example.com:443', 'https')).toEqual(['https://app.example.com']);
    expect(ownOrigins(undefined, 'https')).toEqual([]);
  });

  it('refuses Sec-Fetch-Site cross-site, and same-site unless its origin is allowed', () => {
    expect(checkRequestOrigin({ 'sec-fetch-site': 'cross-site', origin: 'https://app.example.com' }, own, options)).toBe('cross_site');
    expect(checkRequestOrigin({ 'sec-fetch-site': 'same-site', origin: 'https://blog.example.com' }, own, options)).toBe('same_site');
    expect(checkRequestOrigin({ 'sec-fetch-site': 'same-site', origin: 'https://admin.example.com' }, own, options)).toBeNull();
    expect(checkRequestOrigin({ 'sec-fetch-site': 'same-origin', origin: 'https://app.example.com' }, own, options)).toBeNull();
  });

  it('requires a present Origin to be own or allowed ("null" and repeated headers included)', () => {
    expect(checkRequestOrigin({ origin: 'https://evil.example' }, own, options)).toBe('origin_not_allowed');
    expect(checkRequestOrigin({ origin: 'null' }, own, options)).toBe('origin_not_allowed');
    expect(checkRequestOrigin({ origin: 'null', 'sec-fetch-site': 'same-site' }, own, options)).toBe('same_site');
    expect(checkRequestOrigin({ origin: 'null', 'sec-fetch-site': 'none' }, own, options)).toBe('origin_not_allowed');
    // A same-origin form post under Referrer-Policy: no-referrer: the browser vouches with Sec-Fetch-Site.
    expect(checkRequestOrigin({ origin: 'null', 'sec-fetch-site': 'same-origin' }, own, options)).toBeNull();
    expect(checkRequestOrigin({ origin: ['https://app.example.com', 'https://app.example.com'] }, own, options)).toBe('origin_not_allowed');
    expect(checkRequestOrigin({ origin: 'http://APP.example.com' }, own, options)).toBeNull();
    expect(checkRequestOrigin({ origin: 'https://admin.example.com' }, own, options)).toBeNull();
  });

  it('applies the missing-Origin policy: referer (default), allow, reject', () => {
    expect(checkRequestOrigin({}, own, options)).toBeNull();
    expect(checkRequestOrigin({ referer: 'https://app.example.com/cart' }, own, options)).toBeNull();
    expect(checkRequestOrigin({ referer: 'https://evil.example/page' }, own, options)).toBe('referer_not_allowed');
    expect(checkRequestOrigin({ referer: 'https://evil.example/page' }, own, { ...options, missingOrigin: 'allow' })).toBeNull();
    expect(checkRequestOrigin({}, own, { ...options, missingOrigin: 'reject' })).toBe('origin_missing');
  });
});
