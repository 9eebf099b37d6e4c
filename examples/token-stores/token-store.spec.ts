// examples/token-stores/token-store.spec.ts
import { describeTokenStore } from 'nest-session-kit/testing';
import { onRedis } from './shared-backends';

// A store of your own goes where `tokens` is. Keys of this run expire within the hour (the suite's longest deadline).
describeTokenStore(
  'redis, on the session store client',
  async () => {
    const { tokens, close } = await onRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', `{nsk-example-${process.pid}}:`);
    return { store: tokens, cleanup: close };
  },
  { describe, it, beforeAll, afterAll },
);
