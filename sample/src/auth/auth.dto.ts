import { IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { MAX_PASSWORD_LENGTH } from '../users/password-hasher';

/** Body of `POST /auth/login`. */
export class LoginDto {
  @IsString()
  @Length(1, 64)
  username: string;

  /** Capped so that no one can make the server hash megabytes. */
  @IsString()
  @Length(1, MAX_PASSWORD_LENGTH)
  password: string;

  /** A CAPTCHA solution; accepted now so clients can send it, checked once CAPTCHA protection arrives. */
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  captcha?: string;
}

/** Body of `POST /auth/reauth`. */
export class ReauthDto {
  @IsString()
  @Length(1, MAX_PASSWORD_LENGTH)
  password: string;
}
