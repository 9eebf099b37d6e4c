import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { SampleConfig } from '../config';

/** The environment variable that holds the key of the CSRF token HMAC. */
export const CSRF_SECRET_VARIABLE = 'CSRF_SECRET';

/**
 * The key for the session module's `csrf.secret`: `CSRF_SECRET`, or, unset (tests, a first `npm run sample`), a
 * random key for this run, with a warning that names the variable: tokens of open pages then die at a restart
 * (the pages fetch a new one and retry), and a second instance would refuse them.
 */
export function csrfSecretFor(config: SampleConfig, logger = new Logger('Csrf')): string | Buffer {
  if (config.csrf.secret !== undefined) return config.csrf.secret;
  logger.warn(
    `${CSRF_SECRET_VARIABLE} is not set: CSRF tokens are signed with a random key for this run only. ` +
      `Set ${CSRF_SECRET_VARIABLE}="<node -p \\"crypto.randomBytes(32).toString('base64url')\\">", the same on every instance, in production.`,
  );
  return randomBytes(32);
}
