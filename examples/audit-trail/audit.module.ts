// examples/audit-trail/audit.module.ts
import { BeforeApplicationShutdown, Injectable, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { JsonLinesEventSink, SessionModule } from 'nest-session-kit';
import { AUDIT_MIGRATIONS, TypeOrmAuditSink } from 'nest-session-kit/events/typeorm';
import { DataSource } from 'typeorm';

/** The audit table on the app's DataSource; written in the background, flushed before the DataSource closes. */
@Injectable()
export class AuditTrail implements BeforeApplicationShutdown {
  readonly sink: TypeOrmAuditSink;

  constructor(dataSource: DataSource) {
    this.sink = new TypeOrmAuditSink(dataSource, { logger: new Logger('AuditTrail') });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.sink.close();
  }
}

@Module({ providers: [AuditTrail], exports: [AuditTrail] })
export class AuditTrailModule {}

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'better-sqlite3',
      database: ':memory:',
      migrations: AUDIT_MIGRATIONS, // creates nsk_audit_event and its indexes
      migrationsRun: true,
    }),
    SessionModule.forRootAsync({
      isGlobal: true,
      imports: [AuditTrailModule],
      inject: [AuditTrail],
      useFactory: (audit: AuditTrail) => ({
        eventSinks: [new JsonLinesEventSink('-'), audit.sink],
      }),
    }),
  ],
})
export class AppModule {}
