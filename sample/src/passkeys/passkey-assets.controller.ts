import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../../../lib';
import { PASSKEYS_JS } from './passkey-assets';

/** `/assets/passkeys.js`: public and the same for everyone (the login page needs it), like `/assets/app.js`. */
@Public()
@Controller('assets')
export class PasskeyAssetsController {
  @Get('passkeys.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=300')
  script(): string {
    return PASSKEYS_JS;
  }
}
