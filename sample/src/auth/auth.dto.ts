import { IsBoolean, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { MAX_PASSWORD_LENGTH } from '../users/password-hasher';

/** Longest second-factor input: a recovery code with dashes and spaces is about 30 characters. */
export const MAX_CODE_LENGTH = 64;

/** Body of `POST /auth/login`. */
export class LoginDto {
  @IsString()
  @Length(1, 64)
  username: string;

  /** Capped so that no one can make the server hash megabytes. */
  @IsString()
  @Length(1, MAX_PASSWORD_LENGTH)
  password: string;

  /**
   * A CAPTCHA solution (base64 of the ALTCHA payload JSON), needed after `CAPTCHA_AFTER_FAILURES` failures: the
   * answer to a 401 `CAPTCHA_REQUIRED`'s `challenge`.
   */
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  captcha?: string;

  /** "Remember me": the longer session tier, with a persistent cookie. */
  @IsOptional()
  @IsBoolean()
  remember?: boolean;
}

/** Body of `POST /auth/mfa`: a TOTP code or a recovery code. */
export class MfaCodeDto {
  @IsString()
  @Length(1, MAX_CODE_LENGTH)
  code: string;
}

/** Body of `POST /auth/reauth`: the password, and the second factor when the account has one. */
export class ReauthDto {
  @IsString()
  @Length(1, MAX_PASSWORD_LENGTH)
  password: string;

  @IsOptional()
  @IsString()
  @Length(1, MAX_CODE_LENGTH)
  code?: string;
}
