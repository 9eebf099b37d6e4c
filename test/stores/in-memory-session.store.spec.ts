import { InMemorySessionStore } from '../../lib/stores/memory/in-memory-session.store';
import { describeSessionStore, makeRecord, newId } from '../../lib/testing';

describeSessionStore('memory', async () => ({ store: new InMemorySessionStore() }), { describe, it, beforeAll, afterAll });

describe('InMemorySessionStore specifics', () => {
  it('stays within maxSessions by dropping the least recently used session', async () => {
    const store = new InMemorySessionStore({ maxSessions: 3 });
    const now = Date.now();
    const ids = [newId(), newId(), newId(), newId()];
    for (const id of ids.slice(0, 3)) await store.create(id, makeRecord(now), { now, maxConcurrent: 0 });
    // Touch the first: it becomes the most recently used, so the second is dropped.
    await store.read(ids[0], { now: now + 60_000, idleTimeoutMs: 1_800_000, touchIntervalMs: 1000 });
    await store.create(ids[3], makeRecord(now), { now: now + 60_000, maxConcurrent: 0 });
    expect(store.size).toBe(3);
    expect((await store.read(ids[1], { now, idleTimeoutMs: 1_800_000, touchIntervalMs: 1000 })).status).toBe('missing');
    expect((await store.read(ids[0], { now, idleTimeoutMs: 1_800_000, touchIntervalMs: 1000 })).status).toBe('active');
  });

  it('sweeps expired sessions on writes without any timer', async () => {
    const store = new InMemorySessionStore();
    const now = Date.now();
    for (let i = 0; i < 20; i++) {
      await store.create(newId(), makeRecord(now, { idleExpiresAt: now + 1000 }), { now, maxConcurrent: 0 });
    }
    expect(store.size).toBe(20);
    await store.create(newId(), makeRecord(now + 2000), { now: now + 2000, maxConcurrent: 0 });
    expect(store.size).toBe(1);
  });

  it('rejects an invalid maxSessions with a message naming it', () => {
    expect(() => new InMemorySessionStore({ maxSessions: 0 })).toThrow(/maxSessions/);
  });
});
