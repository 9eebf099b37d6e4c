// examples/csrf/app.module.ts
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { CsrfGuard, SessionAuthGuard, SessionModule } from 'nest-session-kit';
import { ShopController } from './shop.controller';

@Module({
  imports: [
    SessionModule.forRoot({
      csrf: {
        // At least 32 random bytes, the same on every instance (unset: a random key per process, with a warning).
        secret: process.env.CSRF_SECRET,
        // Origins besides the app's own that may send writes (e.g. an admin front end on a sibling host).
        allowedOrigins: ['https://admin.example.com'],
      },
    }),
  ],
  controllers: [ShopController],
  providers: [
    // A session first (it loads the session the CSRF check then reuses), then the CSRF check.
    { provide: APP_GUARD, useClass: SessionAuthGuard },
    { provide: APP_GUARD, useExisting: CsrfGuard },
  ],
})
export class AppModule {}
