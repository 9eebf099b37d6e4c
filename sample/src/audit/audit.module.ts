import { Module } from '@nestjs/common';
import { AuditTrail } from './audit-trail';
import { SecurityLog } from './security-log';

/** Where security events go: the JSON-lines log (`SECURITY_LOG`) and the audit table of the users database. */
@Module({
  providers: [SecurityLog, AuditTrail],
  exports: [SecurityLog, AuditTrail],
})
export class AuditModule {}
