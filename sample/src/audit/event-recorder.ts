import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { Clock, SecurityEvent, SecurityEventBus, SessionService } from '../../../lib';

/** An event as the app describes it; time, IP and user agent are filled in from the request. */
export type AppEvent = Omit<SecurityEvent, 'time' | 'ip' | 'userAgent'>;

/**
 * Emits the app's own security events (sign-in, second factor, password and admin actions) on the session
 * module's event bus, so they reach the same sinks (JSON-lines log, audit table) as the module's, stamped with
 * the module's clock and the client as the module sees it.
 */
@Injectable()
export class EventRecorder {
  constructor(
    private readonly sessions: SessionService,
    private readonly events: SecurityEventBus,
    private readonly clock: Clock,
  ) {}

  record(req: Request, event: AppEvent): void {
    const client = this.sessions.client(req);
    this.events.emit({ ...event, time: this.clock.now(), ip: client.ip, userAgent: client.userAgent });
  }
}
