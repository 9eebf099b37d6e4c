// examples/token-stores/token-store.spec.ts
import { describeTokenStore } from 'nest-session-kit/testing';
import { onRedis } from './shared-backends';

// A store of your own goes where `tokens` is.
describeTokenStore(
  'redis, on the session store client',
  async () => {
    const prefix = `{nsk-example-${process.pid}}:`;
    const { client, tokens, close } = await onRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix);
    const cleanup = async () => {
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*` })) if (keys.length > 0) await client.del(keys);
      await close();
    };
    return { store: tokens, cleanup };
  },
  { describe, it, beforeAll, afterAll },
);
