import { createHash } from 'node:crypto';
import { AltchaCaptchaVerifier, AttemptLimiter, AttemptLimiterOptions, InMemoryAttemptCounterStore, ManualClock } from '../../lib';
import { delayAfter } from '../../lib/brute-force/attempt-limiter';
import { neutralise } from '../../lib/brute-force/brute-force.service';

const MIN = 60_000;

function limiter(options: Partial<AttemptLimiterOptions> = {}) {
  const clock = new ManualClock(Date.parse('2026-11-30T08:00:00Z'));
  const store = new InMemoryAttemptCounterStore();
  return { clock, store, limiter: new AttemptLimiter({ store, clock, scope: 'login', ...options }) };
}

async function fail(l: AttemptLimiter, account: string, ip: string) {
  const decision = await l.check({ account, ip });
  if (decision.kind !== 'allow') throw new Error(`expected to be allowed, got ${JSON.stringify(decision)}`);
  return l.failed(decision.state);
}

describe('AttemptLimiter', () => {
  it('refuses bad policy at construction, naming every problem', () => {
    expect(
      () => new AttemptLimiter({ store: new InMemoryAttemptCounterStore(), scope: 'Login!', lockoutThreshold: 101, baseDelayMs: -1 }),
    ).toThrow(/scope is "Login!".*baseDelayMs is -1.*lockoutThreshold is 101: give 1 to 100/);
  });

  it('grows the delay from the third failure: 1 s, 2 s, 4 s ... capped', () => {
    const policy = { baseDelayMs: 1000, maxDelayMs: 30_000, delayAfterFailures: 2 };
    expect([1, 2, 3, 4, 5, 9, 40].map((n) => delayAfter(n, policy))).toEqual([0, 0, 1000, 2000, 4000, 30_000, 30_000]);
    expect(delayAfter(5, { ...policy, baseDelayMs: 0 })).toBe(0);
  });

  it('says inside the delay whether the CAPTCHA step is due too, so the caller can ask for a solution first', async () => {
    const { limiter: l, clock } = limiter({ captchaAfterFailures: 3 });
    await fail(l, 'dave', '192.0.2.7');
    await fail(l, 'dave', '192.0.2.7');
    await fail(l, 'dave', '192.0.2.7');
    expect(await l.check({ account: 'dave', ip: '192.0.2.7' })).toMatchObject({
      kind: 'refuse',
      reason: 'delay',
      retryAfterMs: 1000,
      captchaRequired: true,
    });
    clock.advance(1000);
    expect(await l.check({ account: 'dave', ip: '192.0.2.7' })).toMatchObject({ kind: 'allow', captchaRequired: true });
  });

  it('treats the account name case-insensitively and an unknown account like a known one', async () => {
    const { limiter: l, clock } = limiter({ baseDelayMs: 0 });
    for (const name of ['Alice', ' alice', 'ALICE']) await fail(l, name, '192.0.2.1');
    clock.advance(1);
    const decision = await l.check({ account: 'alice', ip: '192.0.2.9' });
    expect(decision).toMatchObject({ kind: 'allow', captchaRequired: true });
  });

  it('locks for lockoutDurationMs after the threshold, measured from the last failure on the Clock', async () => {
    const { limiter: l, clock } = limiter({ lockoutThreshold: 3, captchaAfterFailures: 0, baseDelayMs: 0 });
    await fail(l, 'bob', '192.0.2.1');
    await fail(l, 'bob', '192.0.2.2');
    const third = await fail(l, 'bob', '192.0.2.3');
    expect(third).toMatchObject({ lockedNow: true, account: 3, retryAfterMs: 15 * MIN });
    clock.advance(5 * MIN);
    expect(await l.check({ account: 'bob', ip: '192.0.2.4' })).toMatchObject({ kind: 'refuse', reason: 'account', retryAfterMs: 10 * MIN });
    clock.advance(10 * MIN);
    expect(await l.check({ account: 'bob', ip: '192.0.2.4' })).toMatchObject({ kind: 'allow' });
  });

  it('holds a known client only by its own failures (BF-03), and a success resets account and client, not the IP', async () => {
    const { limiter: l } = limiter({ lockoutThreshold: 3, captchaAfterFailures: 2, baseDelayMs: 0 });
    const ok = await l.check({ account: 'bob', ip: '198.51.100.1' });
    if (ok.kind !== 'allow') throw new Error('not allowed');
    await l.succeeded(ok.state);
    for (let n = 0; n < 3; n++) await fail(l, 'bob', '203.0.113.9');
    expect(await l.check({ account: 'bob', ip: '203.0.113.9' })).toMatchObject({ kind: 'refuse' });
    const known = await l.check({ account: 'bob', ip: '198.51.100.1' });
    expect(known).toMatchObject({ kind: 'allow', captchaRequired: false });
    if (known.kind !== 'allow') return;
    await l.succeeded(known.state);
    expect(await l.check({ account: 'bob', ip: '192.0.2.77' })).toMatchObject({ kind: 'allow', captchaRequired: false });
    // The attacker's IP still needs a CAPTCHA (its count was not reset) and its client stays locked until it expires.
    expect(await l.check({ account: 'carol', ip: '203.0.113.9' })).toMatchObject({ kind: 'allow', captchaRequired: true });
  });

  it('costs a known client with no failures no write on success', async () => {
    const { store } = limiter();
    const calls: string[] = [];
    const spy = new Proxy(store, {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? (...args: unknown[]) => (calls.push(String(name)), value.apply(target, args)) : value;
      },
    });
    const counted = new AttemptLimiter({ store: spy, clock: new ManualClock(), scope: 'login' });
    for (let n = 0; n < 2; n++) {
      const decision = await counted.check({ account: 'alice', ip: '192.0.2.1' });
      if (decision.kind === 'allow') await counted.succeeded(decision.state);
    }
    // First success from this address: read, then mark the client known. Second: the read alone.
    expect(calls).toEqual(['read', 'reset', 'read']);
  });

  it('counts IPv6 clients by /64, and IPv4-mapped addresses as IPv4', async () => {
    const { limiter: l } = limiter({ captchaAfterFailures: 2, baseDelayMs: 0 });
    await fail(l, 'a', '2001:db8:1:2::1');
    await fail(l, 'b', '2001:db8:1:2:ffff::9');
    expect(await l.check({ account: 'c', ip: '2001:db8:1:2::77' })).toMatchObject({ captchaRequired: true });
    expect(await l.check({ account: 'c', ip: '2001:db8:1:3::1' })).toMatchObject({ captchaRequired: false });
    await fail(l, 'a', '192.0.2.5');
    await fail(l, 'b', '::ffff:192.0.2.5');
    expect(await l.check({ account: 'c', ip: '192.0.2.5' })).toMatchObject({ captchaRequired: true });
  });
});

describe('AltchaCaptchaVerifier', () => {
  const solve = (c: Record<string, unknown>): string => {
    for (let n = 0; n <= Number(c.maxnumber); n++) {
      if (
        createHash('sha256')
          .update(`${String(c.salt)}${n}`)
          .digest('hex') === c.challenge
      ) {
        return Buffer.from(
          JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: n, salt: c.salt, signature: c.signature }),
        ).toString('base64');
      }
    }
    throw new Error('unsolvable');
  };

  it('accepts a solution once, only for its context, only before it expires on the Clock', async () => {
    const clock = new ManualClock();
    const verifier = new AltchaCaptchaVerifier({
      store: new InMemoryAttemptCounterStore(),
      clock,
      maxNumber: 1000,
      hmacKey: 'k'.repeat(32),
    });
    const solution = solve(await verifier.createChallenge('login\nalice\n192.0.2.1\nua'));
    expect(await verifier.verify(solution, 'login\nbob\n192.0.2.1\nua')).toBe(false);
    expect(await verifier.verify(solution, 'login\nalice\n192.0.2.1\nua')).toBe(true);
    expect(await verifier.verify(solution, 'login\nalice\n192.0.2.1\nua')).toBe(false);
    const late = solve(await verifier.createChallenge('ctx'));
    clock.advance(5 * MIN);
    expect(await verifier.verify(late, 'ctx')).toBe(false);
  });

  it('refuses a challenge signed with another key, garbage, and a cheaper algorithm', async () => {
    const store = new InMemoryAttemptCounterStore();
    const ours = new AltchaCaptchaVerifier({ store, maxNumber: 1000 });
    const theirs = new AltchaCaptchaVerifier({ store, maxNumber: 1000 });
    expect(await ours.verify(solve(await theirs.createChallenge('ctx')), 'ctx')).toBe(false);
    expect(await ours.verify('not base64 json', 'ctx')).toBe(false);
    const payload = JSON.parse(Buffer.from(solve(await ours.createChallenge('ctx')), 'base64').toString()) as Record<string, unknown>;
    expect(await ours.verify(Buffer.from(JSON.stringify({ ...payload, algorithm: 'SHA-1' })).toString('base64'), 'ctx')).toBe(false);
    expect(() => new AltchaCaptchaVerifier({ store, hmacKey: 'short' })).toThrow(/hmacKey is shorter than 32 characters/);
  });

  it('neutralises what is logged of a typed account name', () => {
    expect(neutralise('alice\r\n{"type":"forged"}\u0000')).toBe('alice??{"type":"forged"}?');
    expect(neutralise('x'.repeat(100))).toHaveLength(64);
  });
});
