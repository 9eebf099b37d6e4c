import * as mfa from '../../../lib/mfa';

/**
 * `nest-session-kit/mfa` exports what an application calls to build its second factors, and nothing else: a new
 * export is a decision (add it here). The root entry stays free of it (test/unit/public-api.spec.ts lists the root).
 */
describe('nest-session-kit/mfa public API', () => {
  it('exports exactly the runtime values users call', () => {
    // swc (the test transform) keeps type-only re-exports as undefined keys; tsc drops them. Count values only.
    const values = Object.entries(mfa)
      .filter(([, value]) => value !== undefined)
      .map(([name]) => name);
    expect(values.sort()).toEqual(
      [
        'DEFAULT_PASSKEY_TIMEOUT_MS',
        'DEFAULT_RECOVERY_CODE_COUNT',
        'DEFAULT_SECRET_BOX_ENV',
        'DEFAULT_TOTP_DIGITS',
        'DEFAULT_TOTP_PERIOD_MS',
        'DEFAULT_TOTP_WINDOW',
        'MAX_TOTP_WINDOW',
        'MfaInputError',
        'MfaOptionsError',
        'PasskeyService',
        'PasskeyVerificationError',
        'RECOVERY_CODE_LENGTH',
        'RecoveryCodes',
        'SECRET_BOX_KEY_BYTES',
        'SecretBox',
        'SecretBoxOpenError',
        'TOTP_SECRET_BYTES',
        'TotpService',
      ].sort(),
    );
  });

  it('documents its defaults in milliseconds', () => {
    expect(mfa.DEFAULT_TOTP_PERIOD_MS).toBe(30_000);
    expect(mfa.DEFAULT_PASSKEY_TIMEOUT_MS).toBe(300_000);
    expect(mfa.DEFAULT_TOTP_WINDOW).toBe(1);
    expect(mfa.DEFAULT_TOTP_DIGITS).toBe(6);
  });
});
