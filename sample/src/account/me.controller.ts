import { Controller, Get } from '@nestjs/common';
import { CurrentSession, SessionView } from '../../../lib';
import type { AccountView } from '../auth/auth.service';
import { toSessionSummary, userOfSession } from '../auth/session-summary';

/** `GET /me`: who is signed in, and the state of their session. */
@Controller('me')
export class MeController {
  /** Answered from the session alone (roles snapshot, username kept at sign-in): no database read per request. */
  @Get()
  me(@CurrentSession() session: SessionView): AccountView {
    return { user: userOfSession(session), session: toSessionSummary(session) };
  }
}
