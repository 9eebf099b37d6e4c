import { Module } from '@nestjs/common';
import { Clock } from '../../../lib';
import { TotpService } from '../../../lib/mfa';
import { UsersModule } from '../users/users.module';
import { SecondFactorService, TOTP_ISSUER } from './second-factor.service';

/** Second factors: TOTP on the session module's clock (tests move it) and recovery codes. The sealing box comes from UsersModule. */
@Module({
  imports: [UsersModule],
  providers: [
    {
      provide: TotpService,
      useFactory: (clock: Clock) => new TotpService({ issuer: TOTP_ISSUER, clock, minSecretBits: 80 }),
      inject: [Clock],
    },
    SecondFactorService,
  ],
  exports: [SecondFactorService],
})
export class MfaModule {}
