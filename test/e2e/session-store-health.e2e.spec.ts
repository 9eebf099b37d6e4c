/**
 * SessionStoreHealthIndicator (nest-session-kit/terminus) in a real Nest app with TerminusModule: the timeout, the
 * circuit state it reports, and its key. The plain up/down answer over HTTP is examples/health/health.spec.ts; the
 * sample's /health on real stores, stopped and paused, is test/integration/faults-under-load.spec.ts.
 */
import { INestApplication } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { SecurityEvent, SessionModule, SessionStore, SessionStoreConnectionError } from '../../lib';
import { DEFAULT_STORE_HEALTH_TIMEOUT_MS, SessionStoreHealthIndicator } from '../../lib/terminus';

describe('SessionStoreHealthIndicator', () => {
  let app: INestApplication;
  let indicator: SessionStoreHealthIndicator;
  let store: SessionStore;
  const events: SecurityEvent[] = [];

  beforeAll(async () => {
    const ref = await Test.createTestingModule({
      imports: [
        SessionModule.forRoot({
          circuitBreaker: { failureThreshold: 2, cooldown: '1m' },
          eventSinks: [{ handle: (e) => void events.push(e) }],
        }),
        TerminusModule,
      ],
      providers: [SessionStoreHealthIndicator],
    }).compile();
    app = ref.createNestApplication({ logger: false });
    await app.init();
    indicator = app.get(SessionStoreHealthIndicator);
    store = app.get(SessionStore);
  });
  afterAll(() => app.close());
  afterEach(() => jest.restoreAllMocks());

  it('reports up under the given key with the ping latency in ms and the circuit state', async () => {
    const result = await indicator.isHealthy('store');
    expect(result).toEqual({ store: { status: 'up', latencyMs: expect.any(Number), circuit: 'closed' } });
    expect(result.store.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('reports down with reason timeout when the store does not answer within timeoutMs, without waiting for it', async () => {
    let answer: () => void = () => undefined;
    jest.spyOn(store, 'ping').mockImplementation(() => new Promise<void>((resolve) => (answer = resolve)));
    const result = await indicator.isHealthy('sessionStore', { timeoutMs: 100 });
    expect(result).toEqual({ sessionStore: { status: 'down', reason: 'timeout', latencyMs: expect.any(Number), circuit: 'closed' } });
    expect(result.sessionStore.latencyMs).toBeGreaterThanOrEqual(95);
    answer();
  });

  it('reports the open circuit, still asks the store, and a successful ping closes the circuit', async () => {
    const ping = jest.spyOn(store, 'ping').mockRejectedValue(new SessionStoreConnectionError('connect ECONNREFUSED'));
    await indicator.isHealthy();
    const down = await indicator.isHealthy();
    expect(down).toEqual({ sessionStore: { status: 'down', reason: 'unreachable', latencyMs: expect.any(Number), circuit: 'open' } });
    ping.mockRestore();
    const up = await indicator.isHealthy();
    expect(up).toEqual({ sessionStore: { status: 'up', latencyMs: expect.any(Number), circuit: 'closed' } });
    // The module emits each change of the circuit as a security event (and logs it).
    const circuit = events.filter((e) => e.type.startsWith('session_store_circuit_'));
    expect(circuit).toEqual([
      expect.objectContaining({ type: 'session_store_circuit_open', level: 'CRITICAL', detail: { failures: 2, cooldownMs: 60_000 } }),
      expect.objectContaining({ type: 'session_store_circuit_closed', level: 'INFO', detail: { openForMs: expect.any(Number) } }),
    ]);
  });

  it('waits 1000 ms by default and refuses a timeout that is not a positive number of ms', async () => {
    expect(DEFAULT_STORE_HEALTH_TIMEOUT_MS).toBe(1000);
    await expect(indicator.isHealthy('sessionStore', { timeoutMs: 0 })).rejects.toThrow(/timeoutMs must be a number of ms > 0/);
  });
});
