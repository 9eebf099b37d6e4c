import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { User } from '../users/user.entity';
import { PasskeyCredential } from './passkey.entity';
import { PasskeyStore } from './passkey.store';

/**
 * The passkeys table alone, so that sign-in (AuthModule) can ask "does this account have a passkey?" without
 * importing the passkey routes, which themselves import AuthModule.
 */
@Module({
  imports: [TypeOrmModule.forFeature([PasskeyCredential, User])],
  providers: [PasskeyStore],
  exports: [PasskeyStore],
})
export class PasskeyStoreModule {}
