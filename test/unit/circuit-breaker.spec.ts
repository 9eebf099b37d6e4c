/**
 * The store's circuit breaker (AV-04): the breaker alone on a hand-moved monotonic time, then inside a real
 * SessionManager whose store fails the way a real outage does (SessionStoreConnectionError), and the module's
 * options for it. The real stores under a real outage are in test/integration/faults-under-load.spec.ts.
 */
import {
  CircuitTransition,
  DEFAULT_CIRCUIT_COOLDOWN_MS,
  DEFAULT_CIRCUIT_FAILURE_THRESHOLD,
  SessionStoreCircuitOpenError,
  StoreCircuitBreaker,
} from '../../lib/core/circuit-breaker';
import { ManualClock } from '../../lib/core/clock';
import {
  isStoreConnectionError,
  SessionOptionsError,
  SessionStoreConnectionError,
  SessionStoreUnavailableError,
} from '../../lib/core/errors';
import { SessionManager } from '../../lib/core/session-manager';
import { SecurityEventBus } from '../../lib/events/security-event-bus';
import { resolveSessionOptions } from '../../lib/session.options';
import { InMemorySessionStore } from '../../lib/stores/memory/in-memory-session.store';
import { testPolicy } from '../support/session-policy';

const client = { ip: '198.51.100.4', userAgent: 'UnitTest/1.0' };
const down = () => new SessionStoreConnectionError('connect ECONNREFUSED');

function breaker(failureThreshold = 3, cooldownMs = 1000) {
  let time = 0;
  const changes: CircuitTransition[] = [];
  const b = new StoreCircuitBreaker(
    { failureThreshold, cooldownMs },
    (c) => changes.push(c),
    () => time,
  );
  return { b, changes, advance: (ms: number) => (time += ms) };
}

describe('StoreCircuitBreaker', () => {
  it('opens after failureThreshold connectivity failures in a row, then refuses at once with a connectivity error', () => {
    const { b, changes } = breaker(3);
    b.failed(down());
    b.failed(down());
    expect(b.state).toBe('closed');
    expect(b.refusal()).toBeUndefined();
    b.failed(down());
    expect(b.state).toBe('open');
    expect(changes).toEqual([{ state: 'open', failures: 3, cause: expect.any(SessionStoreConnectionError) }]);
    const refused = b.refusal();
    expect(refused).toBeInstanceOf(SessionStoreCircuitOpenError);
    // Answered like an outage (503), never as "no session": it is a connectivity error.
    expect(isStoreConnectionError(refused)).toBe(true);
    expect(refused!.message).toMatch(/failed 3 times in a row.*circuitBreaker\.cooldownMs/);
  });

  it('never opens on failures separated by successes (one slow request among healthy traffic)', () => {
    const { b, changes } = breaker(3);
    for (let i = 0; i < 50; i++) {
      b.failed(down());
      b.failed(down());
      b.succeeded();
    }
    expect(b.state).toBe('closed');
    expect(changes).toEqual([]);
  });

  it('lets one probe through after the cool-down; a failed probe keeps it open for another cool-down', () => {
    const { b, advance } = breaker(1, 1000);
    b.failed(down());
    advance(999);
    expect(b.refusal()).toBeInstanceOf(SessionStoreCircuitOpenError);
    advance(1);
    expect(b.state).toBe('half-open');
    expect(b.refusal()).toBeUndefined(); // the probe
    expect(b.refusal()).toBeInstanceOf(SessionStoreCircuitOpenError); // everyone else while the probe runs
    b.failed(down());
    expect(b.state).toBe('open');
    advance(500);
    expect(b.refusal()).toBeInstanceOf(SessionStoreCircuitOpenError);
    advance(500);
    expect(b.refusal()).toBeUndefined(); // the next probe
  });

  it('a probe that hangs lets only one more probe through per cool-down, not a crowd', () => {
    const { b, advance } = breaker(1, 1000);
    b.failed(down());
    advance(1000);
    expect(b.refusal()).toBeUndefined();
    let admitted = 0;
    for (let t = 0; t < 3000; t += 10) {
      advance(10);
      if (b.refusal() === undefined) admitted++;
    }
    expect(admitted).toBe(3);
  });

  it('closes on a success and reports how long it was open', () => {
    const { b, changes, advance } = breaker(2, 1000);
    b.failed(down());
    b.failed(down());
    advance(1500);
    expect(b.refusal()).toBeUndefined();
    b.succeeded();
    expect(b.state).toBe('closed');
    expect(changes.at(-1)).toEqual({ state: 'closed', openForMs: 1500 });
    // The count starts again: one more failure does not reopen it.
    b.failed(down());
    expect(b.state).toBe('closed');
  });

  it('refuses settings that cannot work, saying what to give', () => {
    expect(() => new StoreCircuitBreaker({ failureThreshold: 0, cooldownMs: 1000 })).toThrow(
      /failureThreshold must be a whole number >= 1/,
    );
    expect(() => new StoreCircuitBreaker({ failureThreshold: 5, cooldownMs: -1 })).toThrow(/cooldownMs must be a number of ms >= 0/);
  });
});

describe('SessionManager with a circuit breaker', () => {
  function setup(failureThreshold = 3) {
    const store = new InMemorySessionStore();
    let time = 0;
    const b = new StoreCircuitBreaker({ failureThreshold, cooldownMs: 1000 }, undefined, () => time);
    const manager = new SessionManager(
      store,
      new ManualClock(Date.parse('2026-11-30T08:00:00Z')),
      testPolicy({ rotationIntervalMs: Number.POSITIVE_INFINITY }),
      new SecurityEventBus([]),
      [],
      b,
    );
    return { store, manager, breaker: b, advance: (ms: number) => (time += ms) };
  }

  it('stops calling a failing store after the threshold, answers unavailable (fail closed), and recovers through a probe', async () => {
    const { store, manager, advance } = setup(3);
    const { token } = await manager.create({ userId: 'alice', client });
    const read = jest.spyOn(store, 'read').mockRejectedValue(down());
    for (let i = 0; i < 3; i++) await expect(manager.resolve(token, client)).rejects.toBeInstanceOf(SessionStoreUnavailableError);
    expect(read).toHaveBeenCalledTimes(3);
    expect(manager.circuitState).toBe('open');

    const refused = manager.resolve(token, client);
    await expect(refused).rejects.toBeInstanceOf(SessionStoreUnavailableError);
    await expect(refused).rejects.toMatchObject({ cause: expect.any(SessionStoreCircuitOpenError) });
    // Writes are refused the same way: nothing reaches the store while the circuit is open.
    const update = jest.spyOn(store, 'destroyByUser');
    await expect(manager.destroyAllForUser('alice')).rejects.toBeInstanceOf(SessionStoreUnavailableError);
    expect(update).not.toHaveBeenCalled();
    expect(read).toHaveBeenCalledTimes(3);

    read.mockRestore();
    advance(DEFAULT_CIRCUIT_COOLDOWN_MS);
    const outcome = await manager.resolve(token, client);
    expect(outcome.kind).toBe('active');
    expect(manager.circuitState).toBe('closed');
  });

  it('does not count bugs (errors that are not connectivity failures) toward opening', async () => {
    const { store, manager } = setup(2);
    const { token } = await manager.create({ userId: 'alice', client });
    jest.spyOn(store, 'read').mockRejectedValue(new TypeError('a bug'));
    for (let i = 0; i < 5; i++) await expect(manager.resolve(token, client)).rejects.toBeInstanceOf(TypeError);
    expect(manager.circuitState).toBe('closed');
  });

  it('ping always asks the store, even with the circuit open, and its success closes the circuit', async () => {
    const { store, manager } = setup(1);
    const ping = jest.spyOn(store, 'ping').mockRejectedValueOnce(down());
    await expect(manager.ping()).rejects.toBeInstanceOf(SessionStoreUnavailableError);
    expect(manager.circuitState).toBe('open');
    await manager.ping();
    expect(ping).toHaveBeenCalledTimes(2);
    expect(manager.circuitState).toBe('closed');
  });
});

describe('SessionModuleOptions.circuitBreaker', () => {
  it('is on by default with 5 failures and a 1 s cool-down; false turns it off; durations are parsed', () => {
    expect(resolveSessionOptions({}).circuitBreaker).toEqual({
      failureThreshold: DEFAULT_CIRCUIT_FAILURE_THRESHOLD,
      cooldownMs: DEFAULT_CIRCUIT_COOLDOWN_MS,
    });
    expect(DEFAULT_CIRCUIT_FAILURE_THRESHOLD).toBe(5);
    expect(DEFAULT_CIRCUIT_COOLDOWN_MS).toBe(1000);
    expect(resolveSessionOptions({ circuitBreaker: false }).circuitBreaker).toBeUndefined();
    expect(resolveSessionOptions({ circuitBreaker: { failureThreshold: 10, cooldown: '2s' } }).circuitBreaker).toEqual({
      failureThreshold: 10,
      cooldownMs: 2000,
    });
  });

  it('stops start-up on bad numbers, naming each option and what it accepts', () => {
    let error: unknown;
    try {
      resolveSessionOptions({ circuitBreaker: { failureThreshold: 0, cooldown: '2h' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SessionOptionsError);
    expect((error as SessionOptionsError).problems).toEqual([
      expect.stringMatching(/^circuitBreaker\.failureThreshold is 0: give a whole number from 1 to 1000/),
      expect.stringMatching(/^circuitBreaker\.cooldown is "2h": give 10 ms to 1m/),
    ]);
  });
});
