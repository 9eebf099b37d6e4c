// examples/session-check/same-user-agent.ts
import { SessionCheck, SessionModule } from 'nest-session-kit';

/** Ends a session whose user agent changed since sign-in (a stolen cookie replayed from another browser). */
export const sameUserAgent: SessionCheck = {
  name: 'same-user-agent',
  check: ({ session, client }) => (client.userAgent === session.userAgent ? undefined : { action: 'end', reason: 'user_agent_changed' }),
};

export const SessionWithBinding = SessionModule.forRoot({ checks: [sameUserAgent] });
