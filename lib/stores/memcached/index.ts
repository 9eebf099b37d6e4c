/**
 * `nest-session-kit/memcached`: the memcached session store. A separate entry point so that applications not using
 * memcached never load the `memcache-client` package (an optional peer dependency).
 *
 * @example
 * import { MemcachedSessionStore } from 'nest-session-kit/memcached';
 * // SessionModule awaits store.connect() at start-up: an unreachable memcached stops it with a message naming host:port.
 * SessionModule.forRoot({ store: new MemcachedSessionStore({ server: process.env.MEMCACHED_URL ?? '127.0.0.1:11211' }) });
 */
export {
  DEFAULT_MEMCACHED_COMMAND_TIMEOUT_MS,
  DEFAULT_MEMCACHED_CONNECT_TIMEOUT_MS,
  DEFAULT_MEMCACHED_MAX_CAS_ATTEMPTS,
  DEFAULT_MEMCACHED_MAX_ITEM_BYTES,
  DEFAULT_MEMCACHED_PREFIX,
  DEFAULT_MEMCACHED_SERVER,
  MemcachedSessionStore,
} from './memcached-session.store';
export type { MemcachedSessionStoreOptions } from './memcached-session.store';
export { MemcachedSessionStoreError, MemcachedStoreUnavailableError } from './memcached-session-store.errors';
