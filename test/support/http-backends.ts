/**
 * The session stores an HTTP-level spec runs against: the embedded memory store and a Redis store on a key prefix
 * of its own, which `cleanup()` removes (remembered sessions would otherwise keep Redis keys for 90 days).
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import type { SessionStore } from '../../lib';
import { RedisSessionStore } from '../../lib/stores/redis';

/** The shared test Redis (CI starts it; a missing server fails the spec, it is never skipped). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A store for one test, and how to remove what it left behind. */
export interface HttpBackend {
  name: string;
  store(): { store: SessionStore | 'memory'; cleanup(): Promise<void> };
}

/** Memory and Redis; `tag` names the spec in the Redis prefix (`{nsk-<tag>-<random>}:`). */
export function httpBackends(tag: string): HttpBackend[] {
  return [
    { name: 'memory', store: () => ({ store: 'memory', cleanup: async () => undefined }) },
    {
      name: 'redis',
      store: () => {
        const prefix = `{nsk-${tag}-${randomBytes(6).toString('hex')}}:`;
        return { store: new RedisSessionStore({ url: REDIS_URL, prefix }), cleanup: () => deleteKeys(prefix) };
      },
    },
  ];
}

async function deleteKeys(prefix: string): Promise<void> {
  const admin = createClient({ url: REDIS_URL });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    for await (const keys of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await admin.del(keys);
  } finally {
    admin.destroy();
  }
}
