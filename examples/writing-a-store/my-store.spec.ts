// examples/writing-a-store/my-store.spec.ts
import { describeSessionStore } from 'nest-session-kit/testing';
import { MyStore } from './my-store';

// With jest: pass its functions (vitest: the same names; node:test: { describe, it, before, after }).
describeSessionStore(
  'my-store',
  async () => {
    const store = new MyStore();
    await store.connect(); // the suite expects a store that is ready to serve
    return { store, cleanup: () => store.close() };
  },
  { describe, it, beforeAll, afterAll },
);
