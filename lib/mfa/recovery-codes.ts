import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { MfaInputError } from './mfa.errors';

/** Codes in a fresh set when no count is given. */
export const DEFAULT_RECOVERY_CODE_COUNT = 10;
/** Characters in a code (without dashes): 25 characters of 5 bits each = 125 bits. */
export const RECOVERY_CODE_LENGTH = 25;

/** Crockford's base32 alphabet: no I, L, O or U, so nothing a user reads off paper is ambiguous. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const GROUP = 5;
const CODE_SHAPE = new RegExp(`^[${ALPHABET}]{${RECOVERY_CODE_LENGTH}}$`);
const HASH_BYTES = 32;
/** Longer input is not a code: refuse it before normalising anything. */
const MAX_INPUT_LENGTH = 200;

/** A fresh set of recovery codes. */
export interface RecoveryCodeSet {
  /** The codes, `xxxxx-xxxxx-xxxxx-xxxxx-xxxxx`. Show them to the user once and never store them. */
  codes: string[];
  /** Their SHA-256 hashes (base64url), in the same order. Store these, and only these. */
  hashes: string[];
}

/** The outcome of {@link RecoveryCodes.consume}: on success, the hashes to store instead of the old list. */
export type RecoveryCodeResult = { ok: true; remaining: string[] } | { ok: false };

/**
 * Single-use recovery codes (NIST "look-up secrets") for when the user has lost their second factor.
 *
 * Each code carries 125 bits from the CSPRNG (`crypto.randomInt`), in Crockford base32. The codes are
 * high-entropy, so a plain SHA-256 is enough at rest, with no salt or slow hash: no search can reach 2^125, and
 * NIST SP 800-63B (rev 3 §5.1.2.2) allows an approved one-way hash for look-up secrets of at least 112 bits. Shorter
 * codes would not be safe that way: with 60-bit codes, the unsalted hashes of a million users (ten million codes)
 * leaked together give up *some* code after about 2^37 guesses, seconds on one GPU.
 *
 * Users type codes back in any case, with or without dashes and spaces; O is read as 0, and I and L as 1.
 *
 * @example
 * const recovery = new RecoveryCodes();
 * const { codes, hashes } = recovery.generate();   // show `codes` once, store `hashes`
 * // later, at login:
 * const result = recovery.consume(typed, user.recoveryHashes);
 * if (result.ok) await users.replaceRecoveryHashes(user.id, user.recoveryHashes, result.remaining); // compare-and-set
 */
export class RecoveryCodes {
  /**
   * Creates `count` distinct codes and their hashes. Generating a new set replaces the old one: store the new
   * hashes in place of the old ones, and tell the user the old codes no longer work.
   *
   * @param count how many codes, 1 to 100. Default 10.
   */
  generate(count = DEFAULT_RECOVERY_CODE_COUNT): RecoveryCodeSet {
    if (!Number.isInteger(count) || count < 1 || count > 100) {
      throw new MfaInputError('count', `expected a whole number of codes from 1 to 100 (got ${String(count)}); leave it unset for 10`);
    }
    const canonical = new Set<string>();
    // A repeat has probability ~count² / 2^126: the loop runs `count` times in practice.
    while (canonical.size < count) {
      let code = '';
      for (let i = 0; i < RECOVERY_CODE_LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
      canonical.add(code);
    }
    const codes = [...canonical];
    return { codes: codes.map(display), hashes: codes.map(hashOf) };
  }

  /**
   * Checks a code the user typed against the stored hashes and, when it matches, returns the list without it.
   * The candidate is compared with every stored hash in constant time, whether or not an earlier one matched.
   *
   * Store `remaining` in place of `hashes` with a compare-and-set (only if the stored list is still `hashes`), so two
   * requests carrying the same code cannot both succeed.
   *
   * @param code what the user typed (case, spaces and dashes do not matter)
   * @param hashes the stored hashes from {@link generate} (or a previous `remaining`)
   * @throws MfaInputError when `hashes` is not a list of hashes from {@link generate}
   */
  consume(code: string, hashes: readonly string[]): RecoveryCodeResult {
    if (!Array.isArray(hashes)) throw new MfaInputError('hashes', 'expected the array of stored hashes from RecoveryCodes.generate()');
    const stored = hashes.map((hash, index) => {
      const bytes = typeof hash === 'string' ? Buffer.from(hash, 'base64url') : undefined;
      if (!bytes || bytes.length !== HASH_BYTES || bytes.toString('base64url') !== hash) {
        throw new MfaInputError('hashes', `entry ${index} is not a SHA-256 base64url hash from RecoveryCodes.generate()`);
      }
      return bytes;
    });
    const canonical = normalise(code);
    if (canonical === undefined) return { ok: false };
    const candidate = createHash('sha256').update(canonical).digest();
    let match = -1;
    stored.forEach((hash, index) => {
      // No early exit: the time taken does not tell which entry matched, or whether one did.
      if (timingSafeEqual(hash, candidate) && match === -1) match = index;
    });
    return match === -1 ? { ok: false } : { ok: true, remaining: hashes.filter((_, index) => index !== match) };
  }
}

/** Canonical form: upper case, no separators, Crockford's look-alikes mapped; undefined if it cannot be a code. */
function normalise(code: unknown): string | undefined {
  if (typeof code !== 'string' || code.length > MAX_INPUT_LENGTH) return undefined;
  const canonical = code
    .replace(/[\s-]+/g, '')
    .toUpperCase()
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  return CODE_SHAPE.test(canonical) ? canonical : undefined;
}

function display(canonical: string): string {
  return (canonical.match(new RegExp(`.{${GROUP}}`, 'g')) as string[]).join('-').toLowerCase();
}

/** SHA-256 of the canonical code, base64url. Unsalted on purpose: see the class comment (125 bits per code). */
function hashOf(canonical: string): string {
  return createHash('sha256').update(canonical).digest('base64url');
}
