/**
 * Moved to `lib/testing` (published as `nest-session-kit/testing`). This re-export only keeps
 * test/integration/redis-outage.spec.ts compiling until its import points at `../../lib/testing`; then delete it.
 */
export { makeRecord, newId } from '../../lib/testing';
