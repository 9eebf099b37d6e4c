import { IsObject, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { MAX_PASSWORD_LENGTH } from '../users/password-hasher';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from './webauthn-types';

/**
 * Body of `POST /account/mfa/passkeys`: the browser's `navigator.credentials.create()` answer as JSON
 * (`PublicKeyCredential.toJSON()`), checked in full by the WebAuthn verifier, and an optional label.
 */
export class RegisterPasskeyDto {
  @IsObject()
  response: RegistrationResponseJSON;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  name?: string;
}

/** Body of `POST /auth/mfa/passkey`: the browser's `navigator.credentials.get()` answer as JSON. */
export class PasskeyAssertionDto {
  @IsObject()
  response: AuthenticationResponseJSON;
}

/** Body of `POST /auth/reauth/passkey`: the password and the passkey answer (a full re-authentication). */
export class PasskeyReauthDto {
  @IsString()
  @Length(1, MAX_PASSWORD_LENGTH)
  password: string;

  @IsObject()
  response: AuthenticationResponseJSON;
}
