/**
 * Refresh-token helpers: the shape (prefix, 256 bits), and the successor sealed under a key derived from the presented
 * token, which only that token opens.
 */
import {
  generateRefreshToken,
  isWellFormedRefreshToken,
  openSuccessor,
  refreshTokenId,
  sealSuccessor,
} from '../../../lib/tokens/refresh-token';

describe('refresh tokens', () => {
  it('are nsk_rt_ and 43 base64url characters, distinct, stored as SHA-256', () => {
    const a = generateRefreshToken();
    const b = generateRefreshToken();
    expect(a).toMatch(/^nsk_rt_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(isWellFormedRefreshToken(a)).toBe(true);
    for (const bad of [undefined, 42, a.slice(1), `${a}x`, a.replace('nsk_rt_', 'nsk_xx_'), `nsk_rt_${'!'.repeat(43)}`]) {
      expect(isWellFormedRefreshToken(bad)).toBe(false);
    }
    expect(refreshTokenId(a)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(refreshTokenId(a)).not.toContain(a.slice(7));
  });

  it('seal the successor so that only the presented token opens it, and tampering is detected', () => {
    const presented = generateRefreshToken();
    const successor = generateRefreshToken();
    const sealed = sealSuccessor(successor, presented);
    expect(sealed).not.toContain(successor.slice(7));
    expect(openSuccessor(sealed, presented)).toBe(successor);
    // Fresh IV each time: two seals of the same successor differ.
    expect(sealSuccessor(successor, presented)).not.toBe(sealed);
    expect(openSuccessor(sealed, generateRefreshToken())).toBeUndefined();
    const bytes = Buffer.from(sealed, 'base64url');
    bytes[20] ^= 1;
    expect(openSuccessor(bytes.toString('base64url'), presented)).toBeUndefined();
    expect(openSuccessor('short', presented)).toBeUndefined();
  });
});
