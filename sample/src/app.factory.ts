import { LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { HelmetOptions } from 'helmet';
import { AppModule, AppModuleOptions } from './app.module';
import { cspNonceSource, securityHeaders } from './common/security-headers';
import { StderrLogger } from './common/stderr-logger';
import type { SampleConfig } from './config';

/** Options of {@link createApp}. */
export interface CreateAppOptions extends AppModuleOptions {
  /** Nest's logger. Default: warnings and errors, on stderr. `false` silences it. */
  logger?: LoggerService | LogLevel[] | false;
}

/** Largest JSON body accepted; every request of the app is a few hundred bytes. */
const JSON_BODY_LIMIT = '16kb';

/**
 * Builds and initialises the sample app (not yet listening). `main.ts` and the tests both use it, so the
 * tests exercise the app exactly as it runs.
 *
 * @example
 * const app = await createApp(parseConfig(process.env));
 * await app.listen(3000, '127.0.0.1');
 */
export async function createApp(config: SampleConfig, options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config, { clock: options.clock }), {
    logger: options.logger ?? new StderrLogger({ logLevels: ['error', 'warn'] }),
    // Throw start-up errors to the caller instead of exiting the process from inside Nest, and hold Nest's
    // own log lines until start-up succeeds: a failed start-up is then reported once, by the caller, in one
    // line, rather than also as a stack trace from Nest's exception handler.
    abortOnError: false,
    bufferLogs: true,
    autoFlushLogs: false,
    // Registered below, with a size limit.
    bodyParser: false,
  });
  configureHttp(app, config);
  await app.init();
  app.flushLogs();
  return app;
}

/**
 * Express-level settings: which proxies to believe, security headers (with the CSP nonce and `no-store`), body
 * parsing.
 */
export function configureHttp(app: NestExpressApplication, config: SampleConfig): void {
  // `req.ip` (recorded in sessions and events) believes X-Forwarded-For only from these proxies.
  app.set('trust proxy', config.trustProxy);
  app.use(securityHeaders(helmetOptions(config)));
  app.useBodyParser('json', { limit: JSON_BODY_LIMIT });
  // For the one HTML form post (sign-out, `@CsrfFormRoute()`); every JSON route refuses form bodies with 415.
  app.useBodyParser('urlencoded', { limit: JSON_BODY_LIMIT, extended: false });
}

/** helmet's options for the sample: the CSP (script only by this response's nonce), HSTS, no referrer, COOP, DENY. */
export function helmetOptions(config: SampleConfig): HelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: [cspNonceSource],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        // data: for the TOTP enrolment QR code, which the server sends as a PNG data URL (the script sets it as an
        // <img src>; images cannot run script).
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
        // Only over HTTPS: on a plain-HTTP development host it would send the browser to a port with no TLS.
        upgradeInsecureRequests: config.cookie.secure ? [] : null,
      },
    },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    xFrameOptions: { action: 'deny' },
  };
}
