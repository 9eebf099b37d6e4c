// examples/authorization/app.module.ts
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ReAuthGuard, RolesGuard, SessionAuthGuard, SessionModule } from 'nest-session-kit';
import { AdminController } from './admin.controller';

@Module({
  imports: [
    SessionModule.forRoot({
      // An admin passes @Roles('user'); permissions come from roles, never from the client.
      roles: { hierarchy: { admin: ['user'] }, permissions: { admin: ['users:manage'], user: ['cart:write'] } },
      reauth: { maxAge: '5m', path: '/auth/reauth' },
    }),
  ],
  controllers: [AdminController],
  providers: [
    // In this order: a session first, then its roles, then how fresh its authentication is.
    { provide: APP_GUARD, useClass: SessionAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
    { provide: APP_GUARD, useClass: ReAuthGuard },
  ],
})
export class AppModule {}
