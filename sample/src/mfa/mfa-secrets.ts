import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../../lib/mfa';
import type { SampleConfig } from '../config';

/** The environment variable that holds the keys sealing TOTP secrets at rest. */
export const MFA_KEYS_VARIABLE = 'MFA_ENCRYPTION_KEYS';

/**
 * The `SecretBox` that seals TOTP secrets in the users table, from `MFA_ENCRYPTION_KEYS` (`kid:key` pairs, newest
 * first). Unset, as in tests and a first `npm run sample`, a random key is made for this run, with a warning: what
 * it seals does not open after a restart (the seeded account is re-sealed at start-up; other enrolments must be
 * made again), as the contract does for `SESSION_COOKIE_KEYS`.
 */
export function createSecretBox(config: SampleConfig, logger = new Logger('MfaSecrets')): SecretBox {
  if (config.mfa.encryptionKeys !== undefined) return SecretBox.fromEnv(config.mfa.encryptionKeys, MFA_KEYS_VARIABLE);
  logger.warn(
    `${MFA_KEYS_VARIABLE} is not set: TOTP secrets are sealed with a random key for this run only, and enrolments do not survive a restart. ` +
      `Set ${MFA_KEYS_VARIABLE}="k1:<node -p \\"crypto.randomBytes(32).toString('base64url')\\">" in production.`,
  );
  const kid = `run-${randomBytes(4).toString('hex')}`;
  return new SecretBox({ keys: { [kid]: randomBytes(32) }, current: kid });
}
