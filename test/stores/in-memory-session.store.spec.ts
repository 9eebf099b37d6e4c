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

describe('InMemorySessionStore copy-on-write snapshots', () => {
  const options = (now: number) => ({ now, idleTimeoutMs: 1_800_000, touchIntervalMs: 60_000 });

  it('hands out the stored snapshot itself, frozen down to the data, while no touch is due', async () => {
    const store = new InMemorySessionStore();
    const now = Date.now();
    const id = newId();
    await store.create(id, makeRecord(now, { data: { cart: [{ sku: 'A-1' }] } }), { now, maxConcurrent: 0 });
    const first = await store.read(id, options(now + 1));
    const second = await store.read(id, options(now + 2));
    if (first.status !== 'active' || second.status !== 'active') throw new Error('expected active sessions');
    expect(second.record).toBe(first.record);
    expect(Object.isFrozen(first.record)).toBe(true);
    expect(Object.isFrozen(first.record.data)).toBe(true);
    const cart = first.record.data.cart as { sku: string }[];
    expect(Object.isFrozen(cart) && Object.isFrozen(cart[0])).toBe(true);
    expect(() => {
      cart[0].sku = 'B-2';
    }).toThrow(TypeError);
  });

  it('replaces the snapshot on a touch and on a write, and shares the data a touch does not change', async () => {
    const store = new InMemorySessionStore();
    const now = Date.now();
    const id = newId();
    await store.create(id, makeRecord(now, { data: { n: 1 } }), { now, maxConcurrent: 0 });
    const before = await store.read(id, options(now));
    const touched = await store.read(id, options(now + 60_000));
    if (before.status !== 'active' || touched.status !== 'active') throw new Error('expected active sessions');
    expect(touched.record).not.toBe(before.record);
    expect(touched.record.data).toBe(before.record.data);
    expect(before.record.lastSeenAt).toBe(now);
    const written = await store.update(id, 1, { data: { n: 2 } }, now + 60_000);
    if (written.status !== 'ok') throw new Error('expected ok');
    expect(Object.isFrozen(written.record) && Object.isFrozen(written.record.data)).toBe(true);
    expect(touched.record.data).toEqual({ n: 1 });
  });

  it('keeps rotation pointers within maxSessions by forgetting the oldest first', async () => {
    const store = new InMemorySessionStore({ maxSessions: 2 });
    const now = Date.now();
    const ids = [newId(), newId(), newId(), newId()];
    await store.create(ids[0], makeRecord(now), { now, maxConcurrent: 0 });
    for (let i = 0; i < 3; i++) await store.rotate(ids[i], ids[i + 1], { now, graceMs: 0, changes: {} });
    const read = (id: string) => store.read(id, options(now));
    expect(await read(ids[0])).toEqual({ status: 'missing' });
    expect(await read(ids[1])).toEqual({ status: 'tombstone' });
    expect(await read(ids[2])).toEqual({ status: 'tombstone' });
    expect((await read(ids[3])).status).toBe('active');
  });
});
