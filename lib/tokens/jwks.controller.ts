import { Controller, Get, Header } from '@nestjs/common';
import type { AccessTokenJwk } from './key-ring';
import { Public } from '../decorators/public.decorator';
import { SkipCsrf } from '../csrf/csrf.decorators';
import { ApiTokenService } from './api-token.service';

/** How long verifiers may cache the JWKS (s): short, so a rotation's next key reaches them well before it signs. */
export const JWKS_MAX_AGE_SECONDS = 300;

/**
 * `GET /.well-known/jwks.json`: the public keys that verify access tokens (current, next, retired and still live),
 * public members only. Mounted by `ApiTokenModule.forRoot({ ..., jwks: true })` (the default).
 */
@Controller('.well-known')
export class JwksController {
  constructor(private readonly tokens: ApiTokenService) {}

  @Public()
  @SkipCsrf()
  @Get('jwks.json')
  @Header('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
  jwks(): { keys: AccessTokenJwk[] } {
    return this.tokens.keys.jwks();
  }
}
