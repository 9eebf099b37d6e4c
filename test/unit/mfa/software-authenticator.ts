import { createHash, generateKeyPairSync, KeyObject, randomBytes, sign } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

/** A value the library's CBOR encoder takes. */
type Cbor = Parameters<typeof isoCBOR.encode>[0];

/**
 * A WebAuthn authenticator in software (ES256, "none" attestation), so the passkey service can be checked end to
 * end without a browser: it builds the exact bytes a browser and a security key would send (WebAuthn §6.1
 * authenticator data, §6.5 attestation object, §5.8.1 client data), signed with a real P-256 key. CBOR comes
 * from @simplewebauthn/server's own helper. The browser run with Chromium's virtual authenticator comes later.
 */
export class SoftwareAuthenticator {
  readonly credentialId = randomBytes(16);
  readonly privateKey: KeyObject;
  private readonly cosePublicKey: Uint8Array;
  /** The signature counter the next assertion reports (set it to simulate a clone or a counter-less key). */
  counter = 0;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    // RFC 9053 EC2 key: kty 2, alg -7 (ES256), crv 1 (P-256), x, y.
    this.cosePublicKey = isoCBOR.encode(
      new Map<number, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, new Uint8Array(Buffer.from(jwk.x as string, 'base64url'))],
        [-3, new Uint8Array(Buffer.from(jwk.y as string, 'base64url'))],
      ]),
    );
  }

  get id(): string {
    return this.credentialId.toString('base64url');
  }

  /** `navigator.credentials.create()` as JSON. */
  register(input: {
    challenge: string;
    origin: string;
    rpId: string;
    flags?: { up?: boolean; uv?: boolean };
    type?: string;
  }): RegistrationResponseJSON {
    const attestedCredentialData = Buffer.concat([
      Buffer.alloc(16), // AAGUID: zeros, as with "none" attestation
      u16(this.credentialId.length),
      this.credentialId,
      Buffer.from(this.cosePublicKey),
    ]);
    const authData = Buffer.concat([this.authData(input.rpId, input.flags, 0x40), attestedCredentialData]);
    const attestationObject = isoCBOR.encode(
      new Map<string, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', new Uint8Array(authData)],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: clientData(input.type ?? 'webauthn.create', input.challenge, input.origin),
        attestationObject: Buffer.from(attestationObject).toString('base64url'),
        transports: ['usb', 'nfc'],
      },
      clientExtensionResults: {},
    };
  }

  /** `navigator.credentials.get()` as JSON, signed with this authenticator's key (or `signWith`). */
  authenticate(input: {
    challenge: string;
    origin: string;
    rpId: string;
    flags?: { up?: boolean; uv?: boolean };
    signWith?: KeyObject;
    /** Changes the authenticator data after signing (a forgery). */
    tamper?: (authData: Buffer) => Buffer;
  }): AuthenticationResponseJSON {
    const authData = this.authData(input.rpId, input.flags, 0);
    const clientDataJSON = clientData('webauthn.get', input.challenge, input.origin);
    const signed = Buffer.concat([authData, createHash('sha256').update(Buffer.from(clientDataJSON, 'base64url')).digest()]);
    const signature = sign('sha256', signed, input.signWith ?? this.privateKey); // DER, as WebAuthn ES256 expects
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON,
        authenticatorData: (input.tamper ? input.tamper(authData) : authData).toString('base64url'),
        signature: signature.toString('base64url'),
      },
      clientExtensionResults: {},
    };
  }

  private authData(rpId: string, flags: { up?: boolean; uv?: boolean } = {}, extra: number): Buffer {
    const { up = true, uv = true } = flags;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    return Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([(up ? 0x01 : 0) | (uv ? 0x04 : 0) | extra]), counter]);
  }
}

function clientData(type: string, challenge: string, origin: string): string {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false })).toString('base64url');
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
