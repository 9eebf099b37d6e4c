import type { NextFunction, Request, Response } from 'express';
import helmet, { HelmetOptions } from 'helmet';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Where a directive needs this response's CSP nonce, as `helmet` takes it:
 * `scriptSrc: [cspNonceSource]` gives `script-src 'nonce-…'`.
 */
export function cspNonceSource(_req: IncomingMessage, res: ServerResponse): string {
  return `'nonce-${(res as Response).locals.cspNonce as string}'`;
}

/**
 * The security headers of every response, in one middleware: helmet's headers (`options`), a fresh CSP nonce in
 * `res.locals.cspNonce` and in the policy, and `Cache-Control: no-store` (every response of the app depends on who
 * asks, or must never be replayed from a cache; the static assets opt back in).
 *
 * helmet decides every header and value. It runs once, at start-up, against a recording response: none of its
 * headers depends on the request, only the nonce does, so each response gets the recorded headers with its own nonce
 * spliced into the recorded policy. Run per response, helmet validates every directive value again (a nonce makes the
 * policy dynamic) through a chain of a dozen middlewares: about 10 µs of a `GET /me` that costs about 300 µs of server
 * CPU in the benchmark (`node bench/run.js profile sample`).
 *
 * @param options helmet's options; a directive that needs the nonce names {@link cspNonceSource}, and no other
 *   directive may be a function (its value would be recorded once, not asked per response).
 * @throws Error at start-up when helmet's output cannot be recorded that way (the nonce missing from the policy).
 */
export function securityHeaders(options: Readonly<HelmetOptions>): (req: Request, res: Response, next: NextFunction) => void {
  const recorded = recordHelmet(options);
  return (_req, res, next) => {
    const nonce = nextNonce();
    res.locals.cspNonce = nonce;
    for (const name of recorded.removed) res.removeHeader(name);
    for (const [name, value] of recorded.headers) res.setHeader(name, value);
    res.setHeader(CSP, recorded.policy[0] + nonce + recorded.policy[1]);
    res.setHeader('Cache-Control', 'no-store');
    next();
  };
}

const CSP = 'Content-Security-Policy';

/** Stands for the nonce while helmet writes the policy once (letters only: helmet accepts it in a directive). */
const NONCE_MARK = 'NonceMarkSplicedPerResponse';

interface RecordedHeaders {
  /** Headers helmet removes (`X-Powered-By`), in order. */
  removed: string[];
  /** Every header helmet sets except the policy, in order. */
  headers: [string, string | number | readonly string[]][];
  /** The policy before and after the nonce. */
  policy: [string, string];
}

function recordHelmet(options: Readonly<HelmetOptions>): RecordedHeaders {
  const removed: string[] = [];
  const headers: RecordedHeaders['headers'] = [];
  let policy: [string, string] | undefined;
  const res = {
    locals: { cspNonce: NONCE_MARK },
    setHeader(name: string, value: string | number | readonly string[]) {
      if (name.toLowerCase() === CSP.toLowerCase() && typeof value === 'string') {
        const parts = value.split(NONCE_MARK);
        if (parts.length !== 2)
          throw new Error(
            `securityHeaders: the Content-Security-Policy must name the nonce exactly once (scriptSrc: [cspNonceSource]); helmet wrote: ${value}`,
          );
        policy = [parts[0], parts[1]];
      } else headers.push([name, value]);
      return res;
    },
    removeHeader(name: string) {
      removed.push(name);
    },
  };
  let failure: unknown;
  helmet(options)({ method: 'GET', url: '/', headers: {} } as IncomingMessage, res as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
  if (policy === undefined)
    throw new Error(
      'securityHeaders: helmet wrote no Content-Security-Policy; enable contentSecurityPolicy with scriptSrc: [cspNonceSource].',
    );
  return { removed, headers, policy };
}

/** Random bytes drawn from the CSPRNG in blocks: one native call per 256 nonces instead of one per response. */
const NONCE_BYTES = 16;
let noncePool = Buffer.alloc(0);
let noncePoolOffset = 0;

/** A fresh nonce: 16 CSPRNG bytes, never reused (the pool only batches the calls to the generator), in base64. */
function nextNonce(): string {
  if (noncePoolOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_BYTES * 256);
    noncePoolOffset = 0;
  }
  return noncePool.toString('base64', noncePoolOffset, (noncePoolOffset += NONCE_BYTES));
}
