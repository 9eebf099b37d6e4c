import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { SecurityEvent, SecurityEventSink } from '../../../lib';
import { AuditEvent } from './audit-event.entity';

/** Column sizes of {@link AuditEvent}: longer values are cut, so an oversized header cannot make an insert fail. */
const LIMITS = { ip: 64, userAgent: 512, reason: 128, sessionHandle: 64, userId: 255 } as const;

/**
 * Writes security events into the `sample_audit_events` table.
 *
 * Writes are fire-and-forget for the request: the session module's event bus catches a failed insert and logs
 * it, so a broken audit table never fails a login. Pending inserts are awaited at shutdown so the last
 * events of a run are not lost.
 */
@Injectable()
export class TypeOrmAuditSink implements SecurityEventSink, OnApplicationShutdown {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(@InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>) {}

  handle(event: SecurityEvent): Promise<void> {
    const write = this.events.insert({
      time: event.time,
      type: event.type,
      level: event.level,
      outcome: event.outcome,
      userId: clip(event.userId, LIMITS.userId),
      sessionHandle: clip(event.sessionHandle, LIMITS.sessionHandle),
      ip: clip(event.ip, LIMITS.ip),
      userAgent: clip(event.userAgent, LIMITS.userAgent),
      reason: clip(event.reason, LIMITS.reason),
      detail: event.detail ?? null,
    });
    this.pending.add(write);
    const settle = (): void => {
      this.pending.delete(write);
    };
    write.then(settle, settle);
    return write.then(() => undefined);
  }

  /** Waits for inserts still in flight (their failures were already reported through the event bus). */
  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}

function clip(value: string | undefined, max: number): string | null {
  if (value === undefined) return null;
  return value.length > max ? value.slice(0, max) : value;
}
