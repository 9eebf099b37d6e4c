import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { UsersModule } from '../users/users.module';
import { AdminController, ImpersonationController } from './admin.controller';
import { AdminService } from './admin.service';
import { ImpersonationService } from './impersonation.service';

/** Administration: users and roles, revocation, disabling, impersonation, the audit trail. */
@Module({
  imports: [AuthModule, UsersModule, AuditModule],
  controllers: [AdminController, ImpersonationController],
  providers: [AdminService, ImpersonationService],
  exports: [AdminService],
})
export class AdminModule {}
