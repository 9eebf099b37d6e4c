/** The WebAuthn JSON types of `@simplewebauthn/server` and the library's passkey service, in one import. */
export type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
export { PasskeyService, PasskeyVerificationError } from '../../../lib/mfa';
