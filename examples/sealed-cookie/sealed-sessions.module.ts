// examples/sealed-cookie/sealed-sessions.module.ts
import { SessionModule } from 'nest-session-kit';
import { RedisTokenStore } from 'nest-session-kit/redis';

/**
 * Sessions in a sealed cookie: no session storage at all; only logouts are kept, in Redis, where every instance sees
 * them. SESSION_SEAL_KEYS is "kid:key,kid:key", newest first, each key 32 random bytes in base64url
 * (`openssl rand -base64 32 | tr '+/' '-_' | tr -d '='`): the first seals, the others still open older cookies.
 */
export function sealedSessions(env: NodeJS.ProcessEnv = process.env) {
  const keys = (env.SESSION_SEAL_KEYS ?? '').split(',').map((entry) => {
    const [kid, key] = entry.split(':');
    return { kid, key };
  });
  return SessionModule.forRoot({
    sealed: { keys, revocations: new RedisTokenStore({ url: env.REDIS_URL, prefix: env.SEAL_PREFIX ?? '{nsk}:sealed:' }) },
    maxConcurrentSessions: 0, // the server keeps no list of sealed sessions: nothing to count
    idleTimeout: '30m',
    absoluteTimeout: '12h',
  });
}
