import { createDecipheriv, randomBytes } from 'node:crypto';
import { MfaOptionsError, SecretBoxOpenError } from '../../../lib/mfa/mfa.errors';
import { SecretBox } from '../../../lib/mfa/secret-box';

const key1 = randomBytes(32);
const key2 = randomBytes(32);
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

/** What `fn` threw (and fails the test if it did not throw). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

/** A copy of `sealed` with one bit flipped in part `index` (decoded, flipped, re-encoded canonically). */
function flipBit(sealed: string, index: number, byte = 0): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index], 'base64url');
  bytes[byte] ^= 0x01;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('SecretBox', () => {
  const box = new SecretBox({ keys: { k1: key1 }, current: 'k1' });

  it('seals to v1.<kid>.<iv>.<ciphertext>.<tag> and opens it again for the same associated data', () => {
    const sealed = box.seal(SECRET, 'user-42');
    expect(sealed).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(sealed).not.toContain(SECRET);
    expect(box.open(sealed, 'user-42')).toBe(SECRET);
    const unicode = 'påsswörd ✓ \u0000 end';
    expect(box.open(box.seal(unicode, 'user-42'), 'user-42')).toBe(unicode);
    expect(box.open(box.seal('', 'user-42'), 'user-42')).toBe('');
  });

  it('is AES-256-GCM with a fresh 96-bit IV per seal', () => {
    const a = box.seal(SECRET, 'user-42');
    const b = box.seal(SECRET, 'user-42');
    expect(a).not.toBe(b);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
    // Decrypt with node:crypto directly: proves the algorithm and layout, independently of open().
    const [, , iv, ciphertext, tag] = a.split('.');
    const decipher = createDecipheriv('aes-256-gcm', key1, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
    decipher.setAAD(Buffer.from('nest-session-kit/mfa SecretBox v1\0k1\0user-42'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    expect(Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString()).toBe(SECRET);
  });

  describe('refuses a tampered value', () => {
    const sealed = box.seal(SECRET, 'user-42');

    it('a flipped bit in the IV, the ciphertext or the tag', () => {
      for (const [part, index] of [
        ['iv', 2],
        ['ciphertext', 3],
        ['tag', 4],
      ] as const) {
        for (const byte of [0, 5, 11]) {
          const error = thrown(() => box.open(flipBit(sealed, index, byte), 'user-42'));
          expect({ part, byte, error: error.name, reason: (error as SecretBoxOpenError).reason }).toEqual({
            part,
            byte,
            error: 'SecretBoxOpenError',
            reason: 'authentication-failed',
          });
        }
      }
    });

    it('a changed version or key id', () => {
      const parts = sealed.split('.');
      expect(thrown(() => box.open(['v2', ...parts.slice(1)].join('.'), 'user-42'))).toMatchObject({ reason: 'malformed' });
      expect(thrown(() => box.open(['v1', 'k9', ...parts.slice(2)].join('.'), 'user-42'))).toMatchObject({ reason: 'unknown-key' });
      // Another configured key id: the key is wrong and the kid is authenticated, so it fails authentication.
      const two = new SecretBox({ keys: { k1: key1, k2: key2 }, current: 'k1' });
      expect(thrown(() => two.open(['v1', 'k2', ...parts.slice(2)].join('.'), 'user-42'))).toMatchObject({
        reason: 'authentication-failed',
      });
    });

    it('truncated, extended, re-encoded or not a sealed value at all', () => {
      const parts = sealed.split('.');
      const cases: [string, string][] = [
        ['tag cut to 12 bytes', [...parts.slice(0, 4), Buffer.from(parts[4], 'base64url').subarray(0, 12).toString('base64url')].join('.')],
        ['IV of 16 bytes', [...parts.slice(0, 2), randomBytes(16).toString('base64url'), ...parts.slice(3)].join('.')],
        [
          'ciphertext cut by one byte',
          [...parts.slice(0, 3), Buffer.from(parts[3], 'base64url').subarray(1).toString('base64url'), parts[4]].join('.'),
        ],
        ['an extra part', `${sealed}.AAAA`],
        ['a part missing', parts.slice(0, 4).join('.')],
        [
          'base64 instead of base64url',
          sealed.replace(/-/g, '+').replace(/_/g, '/') + (sealed.includes('-') || sealed.includes('_') ? '' : '+'),
        ],
        ['padding', `${sealed}==`],
        ['empty', ''],
        ['plaintext', SECRET],
      ];
      for (const [what, value] of cases) {
        const error = thrown(() => box.open(value, 'user-42'));
        expect({ what, error: error.name }).toEqual({ what, error: 'SecretBoxOpenError' });
        expect(['malformed', 'authentication-failed']).toContain((error as SecretBoxOpenError).reason);
      }
      expect(thrown(() => box.open(undefined as unknown as string, 'user-42'))).toMatchObject({ reason: 'malformed' });
    });

    it('a tag re-encoded with different unused bits (Node would decode it to the same bytes)', () => {
      // 16 bytes take 22 base64url characters; the low 4 bits of the last one carry nothing. Node's decoder ignores
      // them, so without the canonical check this edited value would open.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const parts = sealed.split('.');
      const tag = parts[4];
      const edited = tag.slice(0, -1) + alphabet[alphabet.indexOf(tag[21]) ^ 1];
      expect(Buffer.from(edited, 'base64url').equals(Buffer.from(tag, 'base64url'))).toBe(true);
      expect(thrown(() => box.open([...parts.slice(0, 4), edited].join('.'), 'user-42'))).toMatchObject({ reason: 'malformed' });
    });
  });

  it('binds the associated data: a value moved to another user does not open', () => {
    const sealed = box.seal(SECRET, 'user-42');
    for (const other of ['user-43', 'user-4', 'user-42 ', 'USER-42']) {
      expect(thrown(() => box.open(sealed, other))).toMatchObject({ name: 'SecretBoxOpenError', reason: 'authentication-failed' });
    }
    expect(thrown(() => box.open(sealed, 'user-43')).message).toMatch(/another user id/);
    expect(() => box.seal(SECRET, '')).toThrow(/associatedData must be a non-empty string/);
    expect(() => box.open(sealed, undefined as unknown as string)).toThrow(/associatedData/);
  });

  it('rotates keys: new values use the current key, old ones still open until re-sealed', () => {
    const old = box.seal(SECRET, 'user-42');
    const rotated = new SecretBox({ keys: { k2: key2, k1: key1 }, current: 'k2' });
    expect(rotated.open(old, 'user-42')).toBe(SECRET);
    expect(rotated.needsReseal(old)).toBe(true);
    const resealed = rotated.seal(rotated.open(old, 'user-42'), 'user-42');
    expect(resealed.startsWith('v1.k2.')).toBe(true);
    expect(rotated.needsReseal(resealed)).toBe(false);
    expect(box.needsReseal(old)).toBe(false);

    const retired = new SecretBox({ keys: { k2: key2 }, current: 'k2' });
    expect(retired.open(resealed, 'user-42')).toBe(SECRET);
    const error = thrown(() => retired.open(old, 'user-42'));
    expect(error).toBeInstanceOf(SecretBoxOpenError);
    expect(error).toMatchObject({ reason: 'unknown-key' });
    expect(error.message).toMatch(/sealed with key "k1", which is not configured \(known: k2\)\. Add that key back/);
  });

  it('refuses a different key under the same id', () => {
    const sealed = box.seal(SECRET, 'user-42');
    const swapped = new SecretBox({ keys: { k1: key2 }, current: 'k1' });
    expect(thrown(() => swapped.open(sealed, 'user-42'))).toMatchObject({ reason: 'authentication-failed' });
  });

  it('takes keys as Buffers or base64url strings, and copies them', () => {
    const key = randomBytes(32);
    const fromString = new SecretBox({ keys: { a: key.toString('base64url') }, current: 'a' });
    const fromBuffer = new SecretBox({ keys: { a: key }, current: 'a' });
    expect(fromBuffer.open(fromString.seal(SECRET, 'u'), 'u')).toBe(SECRET);
    const sealed = fromBuffer.seal(SECRET, 'u');
    key.fill(0); // the caller wiping its buffer does not change the box's key
    expect(fromBuffer.open(sealed, 'u')).toBe(SECRET);
  });

  it('lists every bad option at once, without echoing key material', () => {
    const secretLooking = randomBytes(16).toString('base64url');
    const error = thrown(
      () =>
        new SecretBox({
          keys: { short: secretLooking, 'bad.id': key1, padded: key1.toString('base64'), ok: key2 },
          current: 'missing',
        }),
    );
    expect(error).toBeInstanceOf(MfaOptionsError);
    const { problems } = error as MfaOptionsError;
    expect(problems).toHaveLength(4);
    expect(error.message).toMatch(/key "short" is 16 bytes; AES-256 needs exactly 32/);
    expect(error.message).toMatch(/key id "bad.id" must be 1-64 characters/);
    expect(error.message).toMatch(/current \("missing"\) must be the id of one of the keys/);
    expect(error.message).not.toContain(secretLooking);
    expect(error.message).not.toContain(key1.toString('base64url'));
    expect(thrown(() => new SecretBox({ keys: {}, current: 'k1' })).message).toMatch(/keys is empty/);
    expect(thrown(() => new SecretBox({ keys: { k1: key1 }, current: 'toString' })).message).toMatch(/current \("toString"\)/);
  });

  describe('fromEnv', () => {
    const b64 = (key: Buffer) => key.toString('base64url');

    it('reads "kid:key,..." newest first: the first key seals, all of them open', () => {
      const older = SecretBox.fromEnv(`k1:${b64(key1)}`);
      const sealedOld = older.seal(SECRET, 'u');
      const box2 = SecretBox.fromEnv(` k2:${b64(key2)} , k1:${b64(key1)} `);
      expect(box2.seal(SECRET, 'u').startsWith('v1.k2.')).toBe(true);
      expect(box2.open(sealedOld, 'u')).toBe(SECRET);
    });

    it('names the variable, and never the key, when the value is missing or malformed', () => {
      const cases: [value: string | undefined, message: RegExp][] = [
        [undefined, /MFA_SECRET_KEYS is not set\. Set MFA_SECRET_KEYS="k2:<32 bytes base64url>,k1:<older key>"/],
        ['   ', /MFA_SECRET_KEYS is not set/],
        [b64(key1), /MFA_SECRET_KEYS: entry 1 is not "kid:key"/],
        [`k1:${b64(key1)},`, /MFA_SECRET_KEYS: entry 2 is not "kid:key"/],
        [`k1:`, /entry 1 is not "kid:key"/],
        [`k1:${b64(key1)},k1:${b64(key2)}`, /MFA_SECRET_KEYS: key id "k1" appears twice/],
        [`k1:${b64(key1).slice(0, 20)}`, /MFA_SECRET_KEYS: key "k1" is 15 bytes; AES-256 needs exactly 32/],
        [`k1:${key1.toString('hex')}`, /MFA_SECRET_KEYS: key "k1" is 48 bytes/],
        [`k1:${key1.toString('base64')}`, /MFA_SECRET_KEYS: key "k1" must be a Buffer or a base64url string/], // padded base64
        [`k 1:${b64(key1)}`, /MFA_SECRET_KEYS: key id "k 1" must be 1-64 characters/],
      ];
      for (const [value, message] of cases) {
        const error = thrown(() => SecretBox.fromEnv(value));
        expect({ value, name: error.name }).toEqual({ value, name: 'MfaOptionsError' });
        expect(error.message).toMatch(message);
        expect(error.message).not.toContain(b64(key1));
        expect(error.message).not.toContain(b64(key1).slice(0, 20));
      }
    });

    it('treats a key id such as __proto__ as a plain id', () => {
      expect(
        SecretBox.fromEnv(`__proto__:${b64(key1)}`)
          .seal(SECRET, 'u')
          .startsWith('v1.__proto__.'),
      ).toBe(true);
    });

    it('uses the variable name it is given', () => {
      expect(() => SecretBox.fromEnv(undefined, 'TOTP_KEYS')).toThrow(/TOTP_KEYS is not set/);
      expect(() => SecretBox.fromEnv('k1:abc', 'TOTP_KEYS')).toThrow(/TOTP_KEYS: key "k1"/);
    });
  });
});
