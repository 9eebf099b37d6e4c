import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TypeOrmAuditSink } from '../../../lib/events/typeorm';

/**
 * The audit trail: security events in the `nsk_audit_event` table of the users database (`DATABASE_URL`), through
 * the library's `TypeOrmAuditSink`. The table comes from the library's migration, run when the database opens
 * (see `AppModule`). A slow or unreachable database never fails or slows a request: events wait in a bounded
 * buffer, and what cannot be kept is counted and reported in the app's log.
 */
@Injectable()
export class AuditTrail implements BeforeApplicationShutdown {
  /** The sink to hand to the session module, and the admin view's query. */
  readonly sink: TypeOrmAuditSink;

  constructor(dataSource: DataSource) {
    this.sink = new TypeOrmAuditSink(dataSource, { logger: new Logger('AuditTrail') });
  }

  /** Writes the last events before TypeORM closes the DataSource (in the shutdown hooks that follow this one). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.sink.close();
  }
}
