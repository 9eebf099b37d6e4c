// examples/redis-cluster/app.module.ts
import { Module } from '@nestjs/common';
import { SessionModule } from 'nest-session-kit';
import { sessionStoreFromEnv } from './session-store';

// SessionModule connects the store at start-up (and stops it with a message when no node answers), closes it at shutdown.
@Module({
  imports: [SessionModule.forRootAsync({ useFactory: () => ({ store: sessionStoreFromEnv() }) })],
})
export class AppModule {}
