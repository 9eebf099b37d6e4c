/**
 * A CDP virtual authenticator in Chromium: a platform passkey provider (CTAP2, internal transport) that keeps
 * discoverable credentials, verifies the user and approves every ceremony without a prompt. The page must be a
 * secure context (http://localhost qualifies) and use RP ID `localhost`.
 *
 * @example
 * const authenticator = await addVirtualAuthenticator(page);
 * // ... the page calls navigator.credentials.create() / get() ...
 * expect(await authenticator.credentials()).toHaveLength(1);
 * await authenticator.remove();
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { CDPSession, Page } from 'playwright-core';

/** Options of the virtual authenticator (CDP `WebAuthn.VirtualAuthenticatorOptions`, the ones we use). */
export interface VirtualAuthenticatorOptions {
  protocol: 'ctap2' | 'u2f';
  ctap2Version?: 'ctap2_0' | 'ctap2_1' | 'ctap2_2';
  transport: 'usb' | 'nfc' | 'ble' | 'cable' | 'hybrid' | 'smart-card' | 'internal';
  hasResidentKey?: boolean;
  hasUserVerification?: boolean;
  isUserVerified?: boolean;
  /** User presence succeeds at once (default true). */
  automaticPresenceSimulation?: boolean;
}

/** A credential the authenticator holds (CDP `WebAuthn.Credential`, binary fields base64). */
export interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  userHandle?: string;
  signCount: number;
}

/** A virtual authenticator attached to one page (it stays across that page's navigations). */
export interface VirtualAuthenticator {
  authenticatorId: string;
  cdp: CDPSession;
  /** The credentials it holds now. */
  credentials(): Promise<VirtualCredential[]>;
  /** Makes the next user verifications succeed or fail (a wrong PIN, a refused fingerprint). */
  setUserVerified(verified: boolean): Promise<void>;
  /** Removes the authenticator and detaches from the page. */
  remove(): Promise<void>;
}

/** A passkey platform authenticator: resident keys and user verification that succeeds. */
export const PLATFORM_PASSKEY: VirtualAuthenticatorOptions = {
  protocol: 'ctap2',
  ctap2Version: 'ctap2_1',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
};

/** Enables the WebAuthn domain on `page` (without the browser's own dialogs) and adds an authenticator. */
export async function addVirtualAuthenticator(
  page: Page,
  overrides: Partial<VirtualAuthenticatorOptions> = {},
): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { ...PLATFORM_PASSKEY, ...overrides } });
  return {
    authenticatorId,
    cdp,
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    setUserVerified: async (isUserVerified) => {
      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified });
    },
    remove: async () => {
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
      await cdp.detach();
    },
  };
}

/** The browser's WebAuthn API, as far as the ceremonies below use it (no DOM library in this project). */
type WebAuthnWindow = {
  PublicKeyCredential: { parseCreationOptionsFromJSON(json: unknown): unknown; parseRequestOptionsFromJSON(json: unknown): unknown };
  navigator: {
    credentials: {
      create(options: unknown): Promise<{ toJSON(): unknown } | null>;
      get(options: unknown): Promise<{ toJSON(): unknown } | null>;
    };
  };
};

/**
 * Runs `navigator.credentials.create()` in the page with options as a server sends them (JSON, e.g. from
 * `generateRegistrationOptions`) and returns the credential as JSON, ready for `verifyRegistrationResponse`.
 */
export function createCredentialInPage(page: Page, options: PublicKeyCredentialCreationOptionsJSON): Promise<RegistrationResponseJSON> {
  return page.evaluate(async (json) => {
    const w = globalThis as unknown as WebAuthnWindow;
    const credential = await w.navigator.credentials.create({ publicKey: w.PublicKeyCredential.parseCreationOptionsFromJSON(json) });
    if (!credential) throw new Error('navigator.credentials.create() returned null');
    return credential.toJSON() as RegistrationResponseJSON;
  }, options);
}

/** Runs `navigator.credentials.get()` in the page; the JSON answer is ready for `verifyAuthenticationResponse`. */
export function getCredentialInPage(page: Page, options: PublicKeyCredentialRequestOptionsJSON): Promise<AuthenticationResponseJSON> {
  return page.evaluate(async (json) => {
    const w = globalThis as unknown as WebAuthnWindow;
    const credential = await w.navigator.credentials.get({ publicKey: w.PublicKeyCredential.parseRequestOptionsFromJSON(json) });
    if (!credential) throw new Error('navigator.credentials.get() returned null');
    return credential.toJSON() as AuthenticationResponseJSON;
  }, options);
}
