import { generateKeyPairSync } from 'node:crypto';
import { ManualClock } from '../../../lib/core/clock';
import { MfaInputError, MfaOptionsError, PasskeyVerificationError } from '../../../lib/mfa/mfa.errors';
import { PasskeyService } from '../../../lib/mfa/passkey.service';
import type { StoredPasskey } from '../../../lib/mfa/passkey.service';
import { SoftwareAuthenticator } from './software-authenticator';

const RP_ID = 'example.com';
const ORIGIN = 'https://example.com';
const T0 = Date.parse('2026-06-01T12:00:00Z');

describe('PasskeyService', () => {
  let clock: ManualClock;
  let passkeys: PasskeyService;

  beforeEach(() => {
    clock = new ManualClock(T0);
    passkeys = new PasskeyService({ clock });
  });

  /** Registers a fresh software authenticator through the service, as the enrolment route would. */
  async function enrol(
    authenticator = new SoftwareAuthenticator(),
  ): Promise<{ authenticator: SoftwareAuthenticator; passkey: StoredPasskey }> {
    const { challenge, expiresAt } = await passkeys.registrationOptions({
      rpName: 'ACME',
      rpId: RP_ID,
      user: { id: 'u-1', name: 'alice' },
      existing: [],
    });
    const response = authenticator.register({ challenge, origin: ORIGIN, rpId: RP_ID });
    const passkey = await passkeys.verifyRegistration({
      response,
      expectedChallenge: challenge,
      challengeExpiresAt: expiresAt,
      expectedOrigin: ORIGIN,
      expectedRpId: RP_ID,
    });
    return { authenticator, passkey };
  }

  describe('registrationOptions', () => {
    it('asks for a new credential: no attestation, user verification preferred, existing ones excluded', async () => {
      const existing: StoredPasskey[] = [
        { credentialId: 'AQID', publicKey: 'AAAA', counter: 3, transports: ['usb'], createdAt: 0 },
        { credentialId: 'BAUG', publicKey: 'AAAA', counter: 0, createdAt: 0 },
      ];
      const { options, challenge, expiresAt } = await passkeys.registrationOptions({
        rpName: 'ACME',
        rpId: RP_ID,
        user: { id: 'user-42', name: 'alice@example.com', displayName: 'Alice' },
        existing,
      });
      expect(options.rp).toEqual({ name: 'ACME', id: RP_ID });
      expect(options.user).toEqual({ id: Buffer.from('user-42').toString('base64url'), name: 'alice@example.com', displayName: 'Alice' });
      expect(options.attestation).toBe('none');
      expect(options.authenticatorSelection).toMatchObject({ userVerification: 'preferred', residentKey: 'preferred' });
      expect(options.excludeCredentials).toEqual([
        { id: 'AQID', type: 'public-key', transports: ['usb'] },
        { id: 'BAUG', type: 'public-key', transports: undefined },
      ]);
      expect(options.pubKeyCredParams.map((p) => p.alg)).toEqual(expect.arrayContaining([-7, -257]));
      expect(options.timeout).toBe(300_000);
      // The library's challenge, handed back to be kept: 32 random bytes, base64url, a new one each time.
      expect(challenge).toBe(options.challenge);
      expect(Buffer.from(challenge, 'base64url')).toHaveLength(32);
      expect(expiresAt).toBe(T0 + 300_000);
      const again = await passkeys.registrationOptions({
        rpName: 'ACME',
        rpId: RP_ID,
        user: { id: 'user-42', name: 'alice' },
        existing: [],
      });
      expect(again.challenge).not.toBe(challenge);
      expect(again.options.user.displayName).toBe('alice');
    });

    it('asks for user verification outright when configured to require it, with the configured timeout', async () => {
      const strict = new PasskeyService({ clock, userVerification: 'required', timeoutMs: 60_000 });
      const { options, expiresAt } = await strict.registrationOptions({
        rpName: 'ACME',
        rpId: RP_ID,
        user: { id: 'u', name: 'a' },
        existing: [],
      });
      expect(options.authenticatorSelection?.userVerification).toBe('required');
      expect(options.timeout).toBe(60_000);
      expect(expiresAt).toBe(T0 + 60_000);
    });

    it('refuses inputs the ceremony cannot use, saying which', async () => {
      const base = { rpName: 'ACME', rpId: RP_ID, user: { id: 'u', name: 'a' }, existing: [] };
      await expect(passkeys.registrationOptions({ ...base, rpId: '' })).rejects.toThrow(/rpId: expected a non-empty string/);
      await expect(passkeys.registrationOptions({ ...base, user: { id: 'x'.repeat(65), name: 'a' } })).rejects.toThrow(
        /at most 64 bytes \(got 65\)/,
      );
      await expect(passkeys.registrationOptions({ ...base, user: { id: 'u', name: '' } })).rejects.toThrow(MfaInputError);
      await expect(
        passkeys.registrationOptions({
          ...base,
          existing: [{ credentialId: 'not base64url!', publicKey: 'AA', counter: 0, createdAt: 0 }],
        }),
      ).rejects.toThrow(/existing\[0\]: credentialId is not base64url/);
    });
  });

  describe('verifyRegistration', () => {
    it('returns the passkey to store from a genuine response', async () => {
      const authenticator = new SoftwareAuthenticator();
      const { challenge, expiresAt } = await passkeys.registrationOptions({
        rpName: 'ACME',
        rpId: RP_ID,
        user: { id: 'u-1', name: 'alice' },
        existing: [],
      });
      clock.advance(10_000);
      const passkey = await passkeys.verifyRegistration({
        response: authenticator.register({ challenge, origin: ORIGIN, rpId: RP_ID }),
        expectedChallenge: challenge,
        challengeExpiresAt: expiresAt,
        expectedOrigin: [ORIGIN, 'https://www.example.com'],
        expectedRpId: RP_ID,
        name: 'YubiKey',
      });
      expect(passkey).toEqual({
        credentialId: authenticator.id,
        publicKey: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/),
        counter: 0,
        transports: ['usb', 'nfc'],
        createdAt: T0 + 10_000,
        name: 'YubiKey',
      });
    });

    it('throws PasskeyVerificationError for a response that does not match the ceremony', async () => {
      const authenticator = new SoftwareAuthenticator();
      const { challenge, expiresAt } = await passkeys.registrationOptions({
        rpName: 'ACME',
        rpId: RP_ID,
        user: { id: 'u-1', name: 'alice' },
        existing: [],
      });
      const other = await passkeys.registrationOptions({ rpName: 'ACME', rpId: RP_ID, user: { id: 'u-1', name: 'alice' }, existing: [] });
      const expected = { expectedChallenge: challenge, challengeExpiresAt: expiresAt, expectedOrigin: ORIGIN, expectedRpId: RP_ID };
      const forged = authenticator.register({ challenge, origin: ORIGIN, rpId: RP_ID });
      const cases: [string, Parameters<PasskeyService['verifyRegistration']>[0], RegExp][] = [
        [
          'another ceremony’s challenge',
          { ...expected, response: authenticator.register({ ...other, origin: ORIGIN, rpId: RP_ID }) },
          /challenge/,
        ],
        [
          'a phishing origin',
          { ...expected, response: authenticator.register({ challenge, origin: 'https://examp1e.com', rpId: RP_ID }) },
          /origin/,
        ],
        ['another RP ID', { ...expected, response: authenticator.register({ challenge, origin: ORIGIN, rpId: 'evil.com' }) }, /RP ID/],
        [
          'no user presence',
          { ...expected, response: authenticator.register({ challenge, origin: ORIGIN, rpId: RP_ID, flags: { up: false } }) },
          /present/,
        ],
        [
          'an assertion type',
          { ...expected, response: authenticator.register({ challenge, origin: ORIGIN, rpId: RP_ID, type: 'webauthn.get' }) },
          /type/,
        ],
        ['id and rawId differ', { ...expected, response: { ...forged, rawId: 'AAAA' } }, /base64url/],
        [
          'a garbage attestation',
          { ...expected, response: { ...forged, response: { ...forged.response, attestationObject: 'oWNmbXRkbm9uZQ' } } },
          /./,
        ],
        [
          'not JSON client data',
          { ...expected, response: { ...forged, response: { ...forged.response, clientDataJSON: 'bm90IGpzb24' } } },
          /./,
        ],
      ];
      for (const [what, input, detail] of cases) {
        const error = await passkeys.verifyRegistration(input).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect({ what, error: (error as Error)?.name }).toEqual({ what, error: 'PasskeyVerificationError' });
        expect({ what, detail: (error as PasskeyVerificationError).detail }).toEqual({ what, detail: expect.stringMatching(detail) });
        expect((error as Error).message).toMatch(/Store nothing, and let the user start the enrolment again/);
      }
    });

    it('refuses an expired challenge', async () => {
      const authenticator = new SoftwareAuthenticator();
      const { challenge, expiresAt } = await passkeys.registrationOptions({
        rpName: 'ACME',
        rpId: RP_ID,
        user: { id: 'u-1', name: 'alice' },
        existing: [],
      });
      clock.advance(300_000);
      await expect(
        passkeys.verifyRegistration({
          response: authenticator.register({ challenge, origin: ORIGIN, rpId: RP_ID }),
          expectedChallenge: challenge,
          challengeExpiresAt: expiresAt,
          expectedOrigin: ORIGIN,
          expectedRpId: RP_ID,
        }),
      ).rejects.toThrow(/challenge expired 0 ms ago/);
    });

    it('requires user verification only when configured to', async () => {
      const strict = new PasskeyService({ clock, userVerification: 'required' });
      const authenticator = new SoftwareAuthenticator();
      const input = async (service: PasskeyService) => {
        const { challenge } = await service.registrationOptions({
          rpName: 'ACME',
          rpId: RP_ID,
          user: { id: 'u', name: 'a' },
          existing: [],
        });
        return {
          response: authenticator.register({ challenge, origin: ORIGIN, rpId: RP_ID, flags: { uv: false } }),
          expectedChallenge: challenge,
          expectedOrigin: ORIGIN,
          expectedRpId: RP_ID,
        };
      };
      await expect(strict.verifyRegistration(await input(strict))).rejects.toThrow(/verif/);
      await expect(passkeys.verifyRegistration(await input(passkeys))).resolves.toMatchObject({ credentialId: authenticator.id });
    });
  });

  describe('authenticationOptions', () => {
    it('lists the user’s passkeys and prefers user verification', async () => {
      const allow: StoredPasskey[] = [
        { credentialId: 'AQID', publicKey: 'AAAA', counter: 3, transports: ['internal', 'hybrid'], createdAt: 0 },
        { credentialId: 'BAUG', publicKey: 'AAAA', counter: 0, createdAt: 0 },
      ];
      const { options, challenge, expiresAt } = await passkeys.authenticationOptions({ rpId: RP_ID, allow });
      expect(options).toMatchObject({
        rpId: RP_ID,
        userVerification: 'preferred',
        timeout: 300_000,
        allowCredentials: [
          { id: 'AQID', type: 'public-key', transports: ['internal', 'hybrid'] },
          { id: 'BAUG', type: 'public-key' },
        ],
      });
      expect(challenge).toBe(options.challenge);
      expect(Buffer.from(challenge, 'base64url')).toHaveLength(32);
      expect(expiresAt).toBe(T0 + 300_000);
      expect((await passkeys.authenticationOptions({ rpId: RP_ID, allow })).challenge).not.toBe(challenge);
    });

    it('refuses an empty list: a second factor check needs a passkey to check', async () => {
      await expect(passkeys.authenticationOptions({ rpId: RP_ID, allow: [] })).rejects.toThrow(/the user has no passkey/);
      await expect(
        passkeys.authenticationOptions({ rpId: RP_ID, allow: [{ credentialId: 'AQID', publicKey: 'AA', counter: -1, createdAt: 0 }] }),
      ).rejects.toThrow(/allow\[0\]: counter is not a non-negative integer/);
    });
  });

  describe('verifyAuthentication', () => {
    async function ceremony(passkey: StoredPasskey) {
      const { challenge, expiresAt } = await passkeys.authenticationOptions({ rpId: RP_ID, allow: [passkey] });
      return {
        challenge,
        expected: { expectedChallenge: challenge, challengeExpiresAt: expiresAt, expectedOrigin: ORIGIN, expectedRpId: RP_ID, passkey },
      };
    }

    it('accepts a genuine assertion and reports the new counter', async () => {
      const { authenticator, passkey } = await enrol();
      authenticator.counter = 1;
      const { challenge, expected } = await ceremony(passkey);
      const result = await passkeys.verifyAuthentication({
        ...expected,
        response: authenticator.authenticate({ challenge, origin: ORIGIN, rpId: RP_ID }),
      });
      expect(result).toEqual({ ok: true, newCounter: 1, userVerified: true });
    });

    it('accepts authenticators that never count (counter 0 both sides), and reports a missing user verification', async () => {
      const { authenticator, passkey } = await enrol();
      for (let i = 0; i < 2; i++) {
        const { challenge, expected } = await ceremony(passkey);
        const response = authenticator.authenticate({ challenge, origin: ORIGIN, rpId: RP_ID, flags: { uv: false } });
        expect(await passkeys.verifyAuthentication({ ...expected, response })).toEqual({ ok: true, newCounter: 0, userVerified: false });
      }
    });

    it('refuses a counter that did not move forward (a cloned authenticator), but only once the signature verified', async () => {
      const { authenticator, passkey } = await enrol();
      const stored = { ...passkey, counter: 5 };
      for (const counter of [5, 4, 0]) {
        authenticator.counter = counter;
        const { challenge, expected } = await ceremony(stored);
        const result = await passkeys.verifyAuthentication({
          ...expected,
          response: authenticator.authenticate({ challenge, origin: ORIGIN, rpId: RP_ID }),
        });
        expect({ counter, result }).toEqual({
          counter,
          result: {
            ok: false,
            reason: 'counter-regression',
            detail: expect.stringMatching(`signature counter ${counter} is not above the stored 5`),
          },
        });
      }
      // A forged assertion with a low counter is a bad signature, not a clone alarm: it must not get a good passkey disabled.
      authenticator.counter = 1;
      const { challenge, expected } = await ceremony(stored);
      const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const forged = authenticator.authenticate({ challenge, origin: ORIGIN, rpId: RP_ID, signWith: attacker });
      expect(await passkeys.verifyAuthentication({ ...expected, response: forged })).toMatchObject({ ok: false, reason: 'unverified' });
      authenticator.counter = 6;
      const next = await ceremony(stored);
      const ok = await passkeys.verifyAuthentication({
        ...next.expected,
        response: authenticator.authenticate({ challenge: next.challenge, origin: ORIGIN, rpId: RP_ID }),
      });
      expect(ok).toEqual({ ok: true, newCounter: 6, userVerified: true });
    });

    it('refuses forged or mismatched assertions as unverified', async () => {
      const { authenticator, passkey } = await enrol();
      const { challenge, expected } = await ceremony(passkey);
      const other = await ceremony(passkey);
      const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const genuine = authenticator.authenticate({ challenge, origin: ORIGIN, rpId: RP_ID });
      const cases: [string, ReturnType<SoftwareAuthenticator['authenticate']>, RegExp][] = [
        ['signed by another key', authenticator.authenticate({ challenge, origin: ORIGIN, rpId: RP_ID, signWith: attacker }), /signature/],
        [
          'authenticator data changed after signing (counter raised)',
          authenticator.authenticate({
            challenge,
            origin: ORIGIN,
            rpId: RP_ID,
            tamper: (data) => Buffer.concat([data.subarray(0, 33), Buffer.from([0, 0, 0, 9])]),
          }),
          /signature/,
        ],
        [
          'another ceremony’s challenge (a replayed assertion)',
          authenticator.authenticate({ challenge: other.challenge, origin: ORIGIN, rpId: RP_ID }),
          /challenge/,
        ],
        ['a phishing origin', authenticator.authenticate({ challenge, origin: 'https://example.com.evil.io', rpId: RP_ID }), /origin/],
        ['another RP ID', authenticator.authenticate({ challenge, origin: ORIGIN, rpId: 'evil.com' }), /RP ID/],
        ['no user presence', authenticator.authenticate({ challenge, origin: ORIGIN, rpId: RP_ID, flags: { up: false } }), /not present/],
        ['a signature that is not base64url', { ...genuine, response: { ...genuine.response, signature: '***' } }, /signature/],
        ['garbage client data', { ...genuine, response: { ...genuine.response, clientDataJSON: 'e30' } }, /./],
      ];
      for (const [what, response, detail] of cases) {
        const result = await passkeys.verifyAuthentication({ ...expected, response });
        expect({ what, result }).toEqual({ what, result: { ok: false, reason: 'unverified', detail: expect.stringMatching(detail) } });
      }
      // The genuine assertion still passes: nothing above consumed anything (single use is the caller's job).
      expect(await passkeys.verifyAuthentication({ ...expected, response: genuine })).toMatchObject({ ok: true });
    });

    it('refuses an assertion for another credential than the passkey given', async () => {
      const { passkey } = await enrol();
      const stranger = new SoftwareAuthenticator();
      const { challenge, expected } = await ceremony(passkey);
      const result = await passkeys.verifyAuthentication({
        ...expected,
        response: stranger.authenticate({ challenge, origin: ORIGIN, rpId: RP_ID }),
      });
      expect(result).toMatchObject({ ok: false, reason: 'credential-mismatch' });
    });

    it('refuses an expired challenge', async () => {
      const { authenticator, passkey } = await enrol();
      const { challenge, expected } = await ceremony(passkey);
      clock.advance(299_999);
      const response = authenticator.authenticate({ challenge, origin: ORIGIN, rpId: RP_ID });
      expect(await passkeys.verifyAuthentication({ ...expected, response })).toMatchObject({ ok: true });
      clock.advance(1);
      expect(await passkeys.verifyAuthentication({ ...expected, response })).toMatchObject({ ok: false, reason: 'challenge-expired' });
    });

    it('requires user verification when configured to', async () => {
      const strict = new PasskeyService({ clock, userVerification: 'required' });
      const { authenticator, passkey } = await enrol();
      const { challenge, expiresAt, options } = await strict.authenticationOptions({ rpId: RP_ID, allow: [passkey] });
      expect(options.userVerification).toBe('required');
      const response = authenticator.authenticate({ challenge, origin: ORIGIN, rpId: RP_ID, flags: { uv: false } });
      const expected = {
        expectedChallenge: challenge,
        challengeExpiresAt: expiresAt,
        expectedOrigin: ORIGIN,
        expectedRpId: RP_ID,
        passkey,
      };
      expect(await strict.verifyAuthentication({ ...expected, response })).toMatchObject({
        ok: false,
        reason: 'unverified',
        detail: expect.stringMatching(/verif/),
      });
    });

    it('throws MfaInputError for a corrupted stored passkey or a bad expected origin (bugs, not user input)', async () => {
      const { authenticator, passkey } = await enrol();
      const { challenge, expected } = await ceremony(passkey);
      const response = authenticator.authenticate({ challenge, origin: ORIGIN, rpId: RP_ID });
      await expect(
        passkeys.verifyAuthentication({ ...expected, response, passkey: { ...passkey, publicKey: 'not base64url!' } }),
      ).rejects.toThrow(/passkey: publicKey is not base64url/);
      await expect(passkeys.verifyAuthentication({ ...expected, response, passkey: { ...passkey, counter: 1.5 } })).rejects.toThrow(
        MfaInputError,
      );
      await expect(passkeys.verifyAuthentication({ ...expected, response, expectedOrigin: 'example.com' })).rejects.toThrow(
        /expectedOrigin/,
      );
      await expect(passkeys.verifyAuthentication({ ...expected, response, expectedOrigin: [] })).rejects.toThrow(/expectedOrigin/);
      await expect(passkeys.verifyAuthentication({ ...expected, response, expectedChallenge: '' })).rejects.toThrow(/expectedChallenge/);
    });
  });

  it('lists every bad option at once', () => {
    let error: unknown;
    try {
      new PasskeyService({ timeoutMs: 1000, userVerification: 'discouraged' as 'preferred' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MfaOptionsError);
    expect((error as MfaOptionsError).problems).toEqual([
      expect.stringMatching(/timeoutMs must be whole milliseconds from 10000 to 600000 \(got 1000\)/),
      expect.stringMatching(/userVerification must be "preferred" or "required"/),
    ]);
  });
});
