import { createGuardrails, verifySync } from 'otplib';
import { DEFAULT_TOTP_PERIOD_MS, DEFAULT_TOTP_WINDOW, TotpVerifyResult } from '../../../lib/mfa';

/** Base32 characters of a 128-bit secret: `TotpService` refuses anything shorter. */
export const MIN_FULL_SECRET_LENGTH = 26;

/** otplib's defaults refuse secrets under 16 bytes; the contract's demo secret is 10 (`JBSWY3DPEHPK3PXP`, 80 bits). */
const SHORT_SECRET_GUARDRAILS = createGuardrails({ MIN_SECRET_BYTES: 10 });
const PERIOD_S = DEFAULT_TOTP_PERIOD_MS / 1000;

/**
 * TOTP verification for secrets shorter than 128 bits, with exactly `TotpService.verify`'s rules (30 s steps, ±1
 * step, each step accepted once). It exists for one secret: carol's, which the contract (SAMPLE-APP.md, "Seeded
 * users") fixes at 80 bits so that outside tests can compute her codes, and which the library's `TotpService`
 * rightly refuses (NIST 800-63B-4 asks 112 bits or more). Every secret the app generates is 160 bits and goes through
 * `TotpService`. Remove this once the demo secret is replaced or the library takes a minimum-length option.
 */
export function verifyShortSecret(secret: string, code: string, lastUsedStep: number | null, nowMs: number): TotpVerifyResult {
  if (!/^[0-9]{6}$/.test(code)) return { ok: false, reason: 'malformed' };
  const epoch = Math.floor(nowMs / 1000);
  const options = { secret, token: code, epoch, epochTolerance: DEFAULT_TOTP_WINDOW * PERIOD_S, guardrails: SHORT_SECRET_GUARDRAILS };
  const newestStep = Math.floor(epoch / PERIOD_S) + DEFAULT_TOTP_WINDOW;
  if (lastUsedStep === null || lastUsedStep < newestStep) {
    const fresh = verifySync(lastUsedStep === null ? options : { ...options, afterTimeStep: lastUsedStep });
    if (fresh.valid && 'timeStep' in fresh) return { ok: true, step: fresh.timeStep };
    if (lastUsedStep === null) return { ok: false, reason: 'invalid' };
  }
  return verifySync(options).valid ? { ok: false, reason: 'replayed' } : { ok: false, reason: 'invalid' };
}
