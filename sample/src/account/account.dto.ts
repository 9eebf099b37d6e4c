import { IsBoolean, IsOptional, IsString, Length } from 'class-validator';
import { MAX_CODE_LENGTH } from '../auth/auth.dto';
import { MAX_PASSWORD_LENGTH } from '../users/password-hasher';

/** Shortest new password (NIST 800-63B-4 asks for at least 8 with MFA, 15 without; the sample asks 12 of everyone). */
export const MIN_PASSWORD_LENGTH = 12;

/** Body of `POST /account/password`. */
export class ChangePasswordDto {
  @IsString()
  @Length(1, MAX_PASSWORD_LENGTH)
  currentPassword: string;

  /** Length and the common-password list are checked by the service, with messages per field. */
  @IsString()
  @Length(1, MAX_PASSWORD_LENGTH)
  newPassword: string;

  /** End every other session of the account (TE-05). */
  @IsBoolean()
  signOutOthers: boolean;
}

/** Body of `POST /account/mfa/totp/confirm`. */
export class ConfirmTotpDto {
  @IsString()
  @Length(1, MAX_CODE_LENGTH)
  code: string;

  /** End every other session of the account once the second factor is active (TE-05). Default false. */
  @IsOptional()
  @IsBoolean()
  signOutOthers?: boolean;
}

/** Optional body of `DELETE /account/mfa/totp`. */
export class RemoveTotpDto {
  /** End every other session of the account (TE-05). Default false. */
  @IsOptional()
  @IsBoolean()
  signOutOthers?: boolean;
}
