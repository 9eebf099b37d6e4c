import {
  generateHandle,
  generateToken,
  hashToken,
  isWellFormedHandle,
  isWellFormedToken,
  safeEqual,
  TOKEN_LENGTH,
} from '../../lib/core/token';

describe('tokens', () => {
  it('are 256-bit base64url values, unique across 10k draws', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const t = generateToken();
      expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(t, 'base64url')).toHaveLength(32);
      seen.add(t);
    }
    expect(seen.size).toBe(10_000);
    expect(TOKEN_LENGTH).toBe(43);
  });

  it('hash with SHA-256 (known vector) and never equal the token', () => {
    expect(hashToken('abc')).toBe(
      Buffer.from('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'hex').toString('base64url'),
    );
    const t = generateToken();
    expect(hashToken(t)).not.toBe(t);
    expect(hashToken(t)).toHaveLength(43);
  });

  it('reject anything that is not exactly a token shape', () => {
    const t = generateToken();
    expect(isWellFormedToken(t)).toBe(true);
    for (const bad of [
      undefined,
      null,
      42,
      '',
      t.slice(1),
      t + 'A',
      t.slice(0, 42) + '=',
      t.slice(0, 42) + '.',
      '../' + t,
      `${t.slice(0, 40)}%00A`,
      'a'.repeat(4096),
    ]) {
      expect(isWellFormedToken(bad)).toBe(false);
    }
  });

  it('handles are 128-bit, distinct from tokens, and validated', () => {
    const h = generateHandle();
    expect(isWellFormedHandle(h)).toBe(true);
    expect(isWellFormedHandle(generateToken())).toBe(false);
    expect(isWellFormedHandle('x')).toBe(false);
  });

  it('compare in constant time semantics', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});
