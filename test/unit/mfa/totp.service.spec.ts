import { createGuardrails, generateSync } from 'otplib';
import { ManualClock } from '../../../lib/core/clock';
import { MfaInputError, MfaOptionsError } from '../../../lib/mfa/mfa.errors';
import { TotpService } from '../../../lib/mfa/totp.service';

/** RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890", here in base32. */
const RFC_SECRET_BASE32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

/** The code an authenticator app shows at `seconds` since the epoch (otplib as the reference, independent of the service). */
function codeAt(secret: string, seconds: number, digits: 6 | 8 = 6, period = 30): string {
  return generateSync({ secret, epoch: seconds, digits, period });
}

describe('TotpService', () => {
  const clock = new ManualClock(0);
  const rfc = new TotpService({ issuer: 'ACME', clock, digits: 8 });

  it('agrees with the RFC 6238 SHA-1 test vectors (8 digits, 30 s steps)', () => {
    const vectors: [seconds: number, code: string, step: number][] = [
      [59, '94287082', 1],
      [1111111109, '07081804', 37037036],
      [1111111111, '14050471', 37037037],
      [1234567890, '89005924', 41152263],
      [2000000000, '69279037', 66666666],
      [20000000000, '65353130', 666666666],
    ];
    for (const [seconds, code, step] of vectors) {
      clock.set(seconds * 1000);
      expect({ seconds, result: rfc.verify(RFC_SECRET_BASE32, code, null) }).toEqual({ seconds, result: { ok: true, step } });
    }
  });

  it('reads the time from the injected clock only', () => {
    clock.set(59_000);
    expect(rfc.currentStep()).toBe(1);
    expect(rfc.verify(RFC_SECRET_BASE32, '94287082', null)).toEqual({ ok: true, step: 1 });
    clock.set(10_000_000_000); // the same code, 115 days later on this clock
    expect(rfc.verify(RFC_SECRET_BASE32, '94287082', null)).toEqual({ ok: false, reason: 'invalid' });
  });

  describe('window (accepted drift, in steps)', () => {
    it('accepts the previous and next step with the default window of 1, and nothing beyond', () => {
      const code = '94287082'; // step 1: 30 s to 59.999 s
      for (const [ms, expected] of [
        [0, { ok: true, step: 1 }], // client one step ahead
        [29_999, { ok: true, step: 1 }],
        [30_000, { ok: true, step: 1 }],
        [59_999, { ok: true, step: 1 }],
        [60_000, { ok: true, step: 1 }], // client one step behind
        [89_999, { ok: true, step: 1 }],
        [90_000, { ok: false, reason: 'invalid' }], // two steps behind
        [120_000, { ok: false, reason: 'invalid' }],
      ] as const) {
        clock.set(ms);
        expect({ ms, result: rfc.verify(RFC_SECRET_BASE32, code, null) }).toEqual({ ms, result: expected });
      }
    });

    it('with window 0 accepts the current step only', () => {
      const strict = new TotpService({ issuer: 'ACME', clock, digits: 8, window: 0 });
      clock.set(59_000);
      expect(strict.verify(RFC_SECRET_BASE32, '94287082', null)).toEqual({ ok: true, step: 1 });
      clock.set(60_000);
      expect(strict.verify(RFC_SECRET_BASE32, '94287082', null)).toEqual({ ok: false, reason: 'invalid' });
      clock.set(29_999);
      expect(strict.verify(RFC_SECRET_BASE32, '94287082', null)).toEqual({ ok: false, reason: 'invalid' });
    });

    it('with window 2 accepts two steps either side', () => {
      const wide = new TotpService({ issuer: 'ACME', clock, digits: 8, window: 2 });
      clock.set(119_999); // step 3
      expect(wide.verify(RFC_SECRET_BASE32, '94287082', null)).toEqual({ ok: true, step: 1 });
      clock.set(120_000); // step 4
      expect(wide.verify(RFC_SECRET_BASE32, '94287082', null)).toEqual({ ok: false, reason: 'invalid' });
    });

    it('counts steps of periodMs (10 s here), and puts the period in the key URI', async () => {
      const fast = new TotpService({ issuer: 'ACME', clock, periodMs: 10_000 });
      const secret = fast.generateSecret();
      clock.set(1_000_000_000);
      const code = codeAt(secret, 1_000_000, 6, 10);
      expect(fast.verify(secret, code, null)).toEqual({ ok: true, step: 100_000 });
      clock.advance(20_000);
      expect(fast.verify(secret, code, null)).toEqual({ ok: false, reason: 'invalid' });
      expect((await fast.enrolment(secret, 'alice')).otpauthUrl).toContain('period=10');
    });
  });

  describe('replay (RFC 6238 §5.2: each code once)', () => {
    it('refuses the same code a second time, in the same step and in the next ones', () => {
      clock.set(45_000);
      const first = rfc.verify(RFC_SECRET_BASE32, '94287082', null);
      expect(first).toEqual({ ok: true, step: 1 });
      const lastUsedStep = first.ok ? first.step : null;
      expect(rfc.verify(RFC_SECRET_BASE32, '94287082', lastUsedStep)).toEqual({ ok: false, reason: 'replayed' });
      clock.set(75_000); // step 2: the code is still inside the window
      expect(rfc.verify(RFC_SECRET_BASE32, '94287082', lastUsedStep)).toEqual({ ok: false, reason: 'replayed' });
      clock.set(95_000); // step 3: outside the window, so it is simply wrong now
      expect(rfc.verify(RFC_SECRET_BASE32, '94287082', lastUsedStep)).toEqual({ ok: false, reason: 'invalid' });
    });

    it('refuses an older code after a newer one was used, and accepts a newer one after an older', () => {
      clock.set(45_000); // step 1; window covers steps 0, 1, 2
      const step0 = codeAt(RFC_SECRET_BASE32, 0, 8);
      const step2 = codeAt(RFC_SECRET_BASE32, 60, 8);
      expect(rfc.verify(RFC_SECRET_BASE32, step2, null)).toEqual({ ok: true, step: 2 }); // a phone running ahead
      expect(rfc.verify(RFC_SECRET_BASE32, '94287082', 2)).toEqual({ ok: false, reason: 'replayed' });
      expect(rfc.verify(RFC_SECRET_BASE32, step0, 2)).toEqual({ ok: false, reason: 'replayed' });
      expect(rfc.verify(RFC_SECRET_BASE32, step0, null)).toEqual({ ok: true, step: 0 });
      expect(rfc.verify(RFC_SECRET_BASE32, '94287082', 0)).toEqual({ ok: true, step: 1 });
    });

    it('handles a lastUsedStep beyond the window (a clock that went back) without throwing', () => {
      clock.set(45_000);
      expect(rfc.verify(RFC_SECRET_BASE32, '94287082', 1_000)).toEqual({ ok: false, reason: 'replayed' });
      expect(rfc.verify(RFC_SECRET_BASE32, '12345678', 1_000)).toEqual({ ok: false, reason: 'invalid' });
    });

    it('still says invalid (not replayed) for a wrong code when a step was used', () => {
      clock.set(45_000);
      const window = [0, 30, 60].map((s) => codeAt(RFC_SECRET_BASE32, s, 8));
      const wrong = ['00000000', '11111111', '22222222'].find((c) => !window.includes(c))!;
      expect(rfc.verify(RFC_SECRET_BASE32, wrong, 1)).toEqual({ ok: false, reason: 'invalid' });
      expect(rfc.verify(RFC_SECRET_BASE32, wrong, null)).toEqual({ ok: false, reason: 'invalid' });
    });
  });

  it('answers malformed for anything but exactly `digits` ASCII digits, before any computation', () => {
    clock.set(59_000);
    for (const code of [
      '',
      '9428708', // 7 digits for an 8-digit service
      '942870820',
      ' 94287082',
      '94287082 ',
      '94287082\n',
      '9428 7082',
      '9428-7082',
      '9428708a',
      '９４２８７０８２', // full-width digits
      '٩٤٢٨٧٠٨٢', // Arabic-Indic digits
      '+9428708',
      '-9428708',
      '9.428708',
      '1e7',
      'x'.repeat(10_000),
    ]) {
      expect({ code, result: rfc.verify(RFC_SECRET_BASE32, code, null) }).toEqual({ code, result: { ok: false, reason: 'malformed' } });
    }
    for (const notAString of [undefined, null, 94287082, ['94287082']]) {
      expect(rfc.verify(RFC_SECRET_BASE32, notAString as unknown as string, null)).toEqual({ ok: false, reason: 'malformed' });
    }
    const six = new TotpService({ issuer: 'ACME', clock });
    expect(six.verify(RFC_SECRET_BASE32, '94287082', null)).toEqual({ ok: false, reason: 'malformed' });
    expect(six.verify(RFC_SECRET_BASE32, '287082', null)).toEqual({ ok: true, step: 1 }); // RFC 4226 truncation: the last 6 digits
  });

  it('generates 160-bit base32 secrets from the CSPRNG, all different', () => {
    const totp = new TotpService({ issuer: 'ACME', clock });
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const secret = totp.generateSecret();
      expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 32 base32 characters = 160 bits exactly
      seen.add(secret);
    }
    expect(seen.size).toBe(1000);
    const secret = totp.generateSecret();
    clock.set(1_700_000_000_000);
    expect(totp.verify(secret, codeAt(secret, 1_700_000_000), null)).toEqual({ ok: true, step: Math.floor(1_700_000_000 / 30) });
  });

  it('enrolment gives the secret, an otpauth key URI and a PNG QR code of it', async () => {
    const totp = new TotpService({ issuer: 'ACME Corp', clock });
    const secret = totp.generateSecret();
    const enrolment = await totp.enrolment(secret, 'alice@example.com');
    expect(enrolment.secret).toBe(secret);
    const url = new URL(enrolment.otpauthUrl);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname)).toBe('/ACME Corp:alice@example.com');
    expect(url.searchParams.get('secret')).toBe(secret);
    expect(url.searchParams.get('issuer')).toBe('ACME Corp');
    expect(enrolment.qrDataUrl).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
    const png = Buffer.from(enrolment.qrDataUrl.slice('data:image/png;base64,'.length), 'base64');
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a'); // the PNG signature
  });

  it('enrolment refuses an unusable secret or account name', async () => {
    const totp = new TotpService({ issuer: 'ACME', clock });
    await expect(totp.enrolment('not base32!', 'alice')).rejects.toThrow(MfaInputError);
    await expect(totp.enrolment(totp.generateSecret(), '')).rejects.toThrow(/accountName/);
    await expect(totp.enrolment(totp.generateSecret(), 'evil:alice')).rejects.toThrow(/may not contain ":"/);
  });

  it('throws MfaInputError for caller bugs: a secret that is not base32, or a bad lastUsedStep', () => {
    clock.set(59_000);
    expect(() => rfc.verify('v1.k1.sealed.value.tag', '94287082', null)).toThrow(/SecretBox.open/);
    expect(() => rfc.verify('GEZDGNBVGY3TQOJQ', '94287082', null)).toThrow(MfaInputError); // 80 bits: too short
    expect(() => rfc.verify('A'.repeat(200), '94287082', null)).toThrow(/64 bytes/); // beyond otplib's limit
    for (const bad of [-1, 1.5, Number.NaN, '1', Infinity]) {
      expect(() => rfc.verify(RFC_SECRET_BASE32, '94287082', bad as number)).toThrow(/lastUsedStep/);
    }
  });

  it('lists every bad option at once, saying how to fix it', () => {
    let error: unknown;
    try {
      new TotpService({ issuer: '', periodMs: 45_000, window: 3, digits: 5 as 6 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MfaOptionsError);
    expect((error as MfaOptionsError).problems).toHaveLength(4);
    expect((error as Error).message).toMatch(/issuer is required/);
    expect((error as Error).message).toMatch(/periodMs .* 45000.*ASVS 5\.0 6\.5\.5/);
    expect((error as Error).message).toMatch(/window must be 0, 1 or 2 steps \(got 3\)/);
    expect((error as Error).message).toMatch(/digits must be 6, 7 or 8 \(got 5\)/);
    expect(() => new TotpService({ issuer: 'A:B' })).toThrow(/issuer may not contain ":"/);
    expect(() => new TotpService({ issuer: 'ACME', periodMs: 1500 })).toThrow(/whole number of seconds/);
    expect(() => new TotpService({ issuer: 'ACME', periodMs: 60_000 })).toThrow(/30000/);
  });

  it('verifies shorter imported secrets only when minSecretBits allows them, with the same rules', () => {
    const legacySecret = 'JBSWY3DPEHPK3PXP'; // 80 bits, as older systems (and the sample's seeded user) have
    const strict = new TotpService({ issuer: 'ACME', clock });
    const legacy = new TotpService({ issuer: 'ACME', clock, minSecretBits: 80 });
    clock.set(1_700_000_000_000);
    const code = generateSync({ secret: legacySecret, epoch: 1_700_000_000, guardrails: createGuardrails({ MIN_SECRET_BYTES: 10 }) });
    expect(() => strict.verify(legacySecret, code, null)).toThrow(/at least 128 bits/);
    const first = legacy.verify(legacySecret, code, null);
    expect(first).toEqual({ ok: true, step: Math.floor(1_700_000_000 / 30) });
    expect(legacy.verify(legacySecret, code, first.ok ? first.step : null)).toEqual({ ok: false, reason: 'replayed' });
    expect(legacy.verify(legacySecret, '000000' === code ? '111111' : '000000', null)).toEqual({ ok: false, reason: 'invalid' });
    expect(() => legacy.verify('JBSWY3DPEHPK', code, null)).toThrow(/at least 80 bits/); // 60 bits
    expect(() => new TotpService({ issuer: 'ACME', minSecretBits: 64 })).toThrow(/minSecretBits must be a whole number from 80 to 160/);
    expect(legacy.generateSecret()).toHaveLength(32); // new secrets stay 160 bits
  });
});
