// examples/memcached-store/app.module.ts
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { SessionAuthGuard, SessionModule } from 'nest-session-kit';
import { MemcachedSessionStore } from 'nest-session-kit/memcached';

@Module({
  imports: [
    SessionModule.forRoot({
      isGlobal: true,
      // Every instance pointed at the same memcached shares the sessions. The module checks at start-up that
      // memcached answers: an unreachable one stops the app with a message naming host:port.
      store: new MemcachedSessionStore({
        server: process.env.MEMCACHED_SERVER ?? '127.0.0.1:11211',
        prefix: 'shop:', // one prefix per application sharing the memcached
      }),
      idleTimeout: '30m',
      absoluteTimeout: '12h',
      // Held exactly: a user's sessions live in one memcached item, written by check-and-set.
      maxConcurrentSessions: 5,
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: SessionAuthGuard }],
})
export class AppModule {}
