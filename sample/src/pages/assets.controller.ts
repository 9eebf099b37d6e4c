import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../../../lib';
import { PASSKEYS_JS } from '../passkeys/passkey-assets';
import { APP_CSS, APP_JS } from './assets';

/**
 * `/assets/app.js` and `/assets/app.css`. Public (the login page needs them) and the same for everyone, so
 * unlike the rest of the app they may be cached, briefly.
 */
@Public()
@Controller('assets')
export class AssetsController {
  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=300')
  script(): string {
    // The passkey part (sample/src/passkeys) travels in the same file: still one script per page, under the nonce.
    return APP_JS + PASSKEYS_JS;
  }

  @Get('app.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=300')
  stylesheet(): string {
    return APP_CSS;
  }
}
