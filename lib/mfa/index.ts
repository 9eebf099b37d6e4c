/**
 * `nest-session-kit/mfa`: a framework-free toolkit for second factors: TOTP ({@link TotpService}), encryption of
 * TOTP secrets at rest ({@link SecretBox}), single-use recovery codes ({@link RecoveryCodes}) and passkeys
 * ({@link PasskeyService}). A separate entry point, so that applications without MFA never load its optional peer
 * dependencies: `otplib` and `qrcode` (TOTP), `@simplewebauthn/server` (passkeys).
 *
 * It holds no state: the application stores the sealed secret, the last accepted TOTP step, the recovery-code
 * hashes and the passkeys with the user, and keeps each ceremony's challenge in the session.
 *
 * @example
 * import { RecoveryCodes, SecretBox, TotpService } from 'nest-session-kit/mfa';
 * const totp = new TotpService({ issuer: 'ACME' });
 * const box = SecretBox.fromEnv(process.env.MFA_SECRET_KEYS);
 * const secret = totp.generateSecret();
 * const { qrDataUrl } = await totp.enrolment(secret, user.email);
 * await users.savePendingTotp(user.id, box.seal(secret, user.id));
 */
export {
  DEFAULT_TOTP_DIGITS,
  DEFAULT_TOTP_PERIOD_MS,
  DEFAULT_TOTP_WINDOW,
  MAX_TOTP_WINDOW,
  TOTP_SECRET_BYTES,
  TotpService,
} from './totp.service';
export type { TotpEnrolment, TotpOptions, TotpVerifyResult } from './totp.service';
export { DEFAULT_SECRET_BOX_ENV, SECRET_BOX_KEY_BYTES, SecretBox } from './secret-box';
export type { SecretBoxOptions } from './secret-box';
export { DEFAULT_RECOVERY_CODE_COUNT, RECOVERY_CODE_LENGTH, RecoveryCodes } from './recovery-codes';
export type { RecoveryCodeResult, RecoveryCodeSet } from './recovery-codes';
export { DEFAULT_PASSKEY_TIMEOUT_MS, PasskeyService } from './passkey.service';
export type {
  PasskeyAuthenticationResult,
  PasskeyCeremony,
  PasskeyServiceOptions,
  PasskeyVerifyInput,
  StoredPasskey,
} from './passkey.service';
export { MfaInputError, MfaOptionsError, PasskeyVerificationError, SecretBoxOpenError } from './mfa.errors';
