/**
 * The virtual-authenticator helper works in this chromium: a passkey is created and used on a page served from
 * http://localhost with RP ID `localhost`, and @simplewebauthn/server (what lib/mfa's PasskeyService builds on)
 * verifies both ceremonies. The sample's passkey pages will drive the same helper.
 *
 * The page is a blank one from a small HTTP server of this file: the ceremony needs only a secure-context
 * origin, not the sample.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { BrowserSession, launchChromium } from './support/chromium';
import { addVirtualAuthenticator, createCredentialInPage, getCredentialInPage, VirtualAuthenticator } from './support/webauthn';

const RP_ID = 'localhost';

let server: Server;
let origin: string;
let browser: BrowserSession;
let page: Page;
let authenticator: VirtualAuthenticator;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end('<!doctype html><html><head><title>passkey smoke</title><link rel="icon" href="data:,"></head><body></body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${origin}/`);
  authenticator = await addVirtualAuthenticator(page);
});

afterAll(async () => {
  await authenticator?.remove().catch(() => undefined);
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

it('registers a discoverable, user-verified passkey and signs in with it', async () => {
  const registration = await generateRegistrationOptions({
    rpName: 'nest-session-kit browser test',
    rpID: RP_ID,
    userName: 'alice',
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  const created = await createCredentialInPage(page, registration);
  const registered = await verifyRegistrationResponse({
    response: created,
    expectedChallenge: registration.challenge,
    expectedOrigin: origin,
    expectedRPID: RP_ID,
    requireUserVerification: true,
  });
  expect(registered.verified).toBe(true);
  if (!registered.verified) return;
  expect(registered.registrationInfo.userVerified).toBe(true);
  expect(created.response.transports).toContain('internal');

  const held = await authenticator.credentials();
  expect(held).toHaveLength(1);
  expect(held[0]).toMatchObject({ isResidentCredential: true, rpId: RP_ID });

  // Discoverable: no allowCredentials, the authenticator finds the passkey for the RP by itself.
  const login = await generateAuthenticationOptions({ rpID: RP_ID, userVerification: 'required' });
  const asserted = await getCredentialInPage(page, login);
  expect(asserted.id).toBe(registered.registrationInfo.credential.id);
  const authenticated = await verifyAuthenticationResponse({
    response: asserted,
    expectedChallenge: login.challenge,
    expectedOrigin: origin,
    expectedRPID: RP_ID,
    credential: registered.registrationInfo.credential,
    requireUserVerification: true,
  });
  expect(authenticated.verified).toBe(true);
  expect(authenticated.authenticationInfo.userVerified).toBe(true);
});

it('a failed user verification makes the ceremony fail, as a refused fingerprint would', async () => {
  await authenticator.setUserVerified(false);
  try {
    const login = await generateAuthenticationOptions({ rpID: RP_ID, userVerification: 'required' });
    await expect(getCredentialInPage(page, login)).rejects.toThrow(/NotAllowedError|not allowed/i);
  } finally {
    await authenticator.setUserVerified(true);
  }
});
