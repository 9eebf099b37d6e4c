import { IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { MAX_CODE_LENGTH } from '../auth/auth.dto';
import { MAX_PASSWORD_LENGTH } from '../users/password-hasher';

/** Body of `POST /api/auth/token`: the password, and `otp` (a TOTP or recovery code) when the account has TOTP. */
export class TokenRequestDto {
  @IsString()
  @Length(1, 64)
  username: string;

  @IsString()
  @Length(1, MAX_PASSWORD_LENGTH)
  password: string;

  @IsOptional()
  @IsString()
  @Length(1, MAX_CODE_LENGTH)
  otp?: string;

  /** A CAPTCHA solution, once the brute-force defence asks for one (as `POST /auth/login`). */
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  captcha?: string;
}

/** Body of `POST /api/auth/refresh`. */
export class RefreshRequestDto {
  @IsString()
  @MaxLength(128)
  refresh_token: string;
}

/** Body of `POST /api/auth/revoke` (RFC 7009: `token`, an access or refresh token). */
export class RevokeRequestDto {
  @IsString()
  @MaxLength(8192)
  token: string;
}
