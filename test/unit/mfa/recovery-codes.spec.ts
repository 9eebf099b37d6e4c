import { createHash } from 'node:crypto';
import { MfaInputError } from '../../../lib/mfa/mfa.errors';
import { RECOVERY_CODE_LENGTH, RecoveryCodes } from '../../../lib/mfa/recovery-codes';

const CODE_SHAPE = /^[0-9a-hjkmnp-tv-z]{5}(-[0-9a-hjkmnp-tv-z]{5}){4}$/;

describe('RecoveryCodes', () => {
  const recovery = new RecoveryCodes();

  it('generates 10 distinct codes of 125 bits by default, with their SHA-256 hashes', () => {
    const { codes, hashes } = recovery.generate();
    expect(codes).toHaveLength(10);
    expect(hashes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    expect(new Set(hashes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(CODE_SHAPE);
    // 25 characters from a 32-character alphabet: 5 bits each. ≥ 112 bits is what makes a plain hash safe at rest.
    expect(RECOVERY_CODE_LENGTH * Math.log2(32)).toBe(125);
    codes.forEach((code, i) => {
      const canonical = code.replace(/-/g, '').toUpperCase();
      expect(hashes[i]).toBe(createHash('sha256').update(canonical).digest('base64url'));
      expect(hashes[i]).not.toContain(canonical);
    });
  });

  it('draws every character of the alphabet, and no other (CSPRNG output, not a fixed pattern)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      for (const code of recovery.generate().codes) for (const c of code.replace(/-/g, '')) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect([...counts.keys()].sort().join('')).toBe('0123456789abcdefghjkmnpqrstvwxyz');
    // 10 000 characters over 32 symbols: each appears about 312 times; a broken draw would be far off.
    for (const [c, n] of counts) expect({ c, plausible: n > 200 && n < 430 }).toEqual({ c, plausible: true });
  });

  it('accepts each code exactly once, and returns the hashes left', () => {
    const { codes, hashes } = recovery.generate();
    let stored = hashes;
    for (const [i, code] of codes.entries()) {
      const result = recovery.consume(code, stored);
      expect(result).toEqual({ ok: true, remaining: hashes.slice(i + 1) });
      if (!result.ok) return;
      expect(recovery.consume(code, result.remaining)).toEqual({ ok: false });
      stored = result.remaining;
    }
    expect(stored).toEqual([]);
    expect(recovery.consume(codes[0], stored)).toEqual({ ok: false });
  });

  it('removes the code that matched, wherever it is in the list', () => {
    const { codes, hashes } = recovery.generate(5);
    expect(recovery.consume(codes[3], hashes)).toEqual({ ok: true, remaining: [hashes[0], hashes[1], hashes[2], hashes[4]] });
  });

  it('normalises what the user typed: case, spaces, dashes, and O/I/L read as 0/1', () => {
    let set = recovery.generate();
    // Find a code with a 0 and a 1 in it to type as O and I/L (most sets have one).
    while (!set.codes.some((c) => c.includes('0') && c.includes('1'))) set = recovery.generate();
    const code = set.codes.find((c) => c.includes('0') && c.includes('1'))!;
    const plain = code.replace(/-/g, '');
    const typed = [
      code.toUpperCase(),
      plain,
      ` ${code} `,
      plain.match(/.{1,5}/g)!.join(' '),
      plain.match(/.{1,4}/g)!.join('-'),
      code.replace(/-/g, ' - '),
      `${code}\n`,
      code.replace(/0/g, 'o').replace(/1/g, 'l'),
      code.replace(/0/g, 'O').replace(/1/g, 'I'),
      code.replace(/1/g, 'i'),
    ];
    for (const variant of typed) {
      expect({ variant, result: recovery.consume(variant, set.hashes).ok }).toEqual({ variant, result: true });
    }
  });

  it('refuses wrong, incomplete or malformed codes without changing anything', () => {
    const { codes, hashes } = recovery.generate();
    const other = recovery.generate().codes[0];
    const code = codes[0];
    for (const wrong of [
      other,
      code.slice(0, -1),
      `${code}a`,
      code.replace(/[0-9a-z]$/, (c) => (c === 'a' ? 'b' : 'a')),
      '',
      '-----',
      code.replace(/[a-z]/, 'u'), // U is not in Crockford's alphabet
      code.replace(/-/g, '_'),
      'x'.repeat(100_000),
      hashes[0], // the stored hash is not a code
    ]) {
      expect({ wrong, result: recovery.consume(wrong, hashes) }).toEqual({ wrong, result: { ok: false } });
    }
    for (const notAString of [undefined, null, 42, [code]]) {
      expect(recovery.consume(notAString as unknown as string, hashes)).toEqual({ ok: false });
    }
    expect(recovery.consume(code, [])).toEqual({ ok: false });
    expect(recovery.consume(code, hashes).ok).toBe(true); // still unused after all that
  });

  it('throws MfaInputError when the stored hashes are not from generate()', () => {
    const { codes, hashes } = recovery.generate(2);
    expect(() => recovery.consume(codes[0], [hashes[0], 'not-a-hash'])).toThrow(MfaInputError);
    expect(() => recovery.consume(codes[0], [hashes[0], hashes[1].slice(1)])).toThrow(/entry 1 is not a SHA-256 base64url hash/);
    expect(() => recovery.consume(codes[0], [codes[1]])).toThrow(MfaInputError);
    expect(() => recovery.consume(codes[0], 'hashes' as unknown as string[])).toThrow(/expected the array of stored hashes/);
  });

  it('generates between 1 and 100 codes on request', () => {
    expect(recovery.generate(1).codes).toHaveLength(1);
    expect(new Set(recovery.generate(100).codes).size).toBe(100);
    for (const bad of [0, -1, 101, 2.5, Number.NaN]) {
      expect(() => recovery.generate(bad)).toThrow(/whole number of codes from 1 to 100/);
    }
  });
});
