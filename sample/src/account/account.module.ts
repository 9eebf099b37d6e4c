import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { MeController } from './me.controller';
import { SessionsController } from './sessions.controller';

/** The signed-in user's view of themselves: `/me` and their sessions. */
@Module({ imports: [AuthModule], controllers: [MeController, SessionsController] })
export class AccountModule {}
