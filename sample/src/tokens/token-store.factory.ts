import { InMemoryTokenStore, TokenStore } from '../../../lib';
import type { SampleConfig } from '../config';

/**
 * The token store for the sample's session store (`SESSION_STORE`): the one place that choice is made. Every kind
 * uses the in-memory store for now (one instance; refresh tokens do not survive a restart). Redis (same
 * `REDIS_URL`) and the SQL stores (the session store's DataSource) plug in here.
 */
export function createTokenStore(config: SampleConfig): TokenStore {
  switch (config.sessionStore.kind) {
    case 'memory':
    case 'redis':
    case 'postgres':
    case 'mariadb':
    case 'sqlite':
      return new InMemoryTokenStore();
  }
}
