import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditEvent } from './audit-event.entity';
import { SecurityLog } from './security-log';
import { TypeOrmAuditSink } from './typeorm-audit.sink';

/** Where security events go: the JSON-lines log and the audit table. */
@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent])],
  providers: [SecurityLog, TypeOrmAuditSink],
  exports: [SecurityLog, TypeOrmAuditSink],
})
export class AuditModule {}
