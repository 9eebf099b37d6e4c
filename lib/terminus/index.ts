/**
 * `nest-session-kit/terminus`: a `@nestjs/terminus` health indicator for the session store (an optional peer
 * dependency, hence a sub-path): `up` with its latency, `down` when it fails or does not answer within a timeout.
 *
 * @example
 * import { SessionStoreHealthIndicator } from 'nest-session-kit/terminus';
 */
export { SessionStoreHealthIndicator, DEFAULT_STORE_HEALTH_TIMEOUT_MS } from './session-store.health';
export type { SessionStoreHealthOptions, SessionStoreHealthDetails } from './session-store.health';
