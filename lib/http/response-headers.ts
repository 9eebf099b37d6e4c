import type { FastifyReplyLike, HttpResponseLike, NodeResponseLike } from './http-types';

/*
 * Every header the module writes goes through these three functions, so one code path serves Express (and bare Node)
 * and Fastify. The platform is told apart by one property read per call: a Node/Express response has `setHeader`, a
 * Fastify reply has not. No wrapper object is made per request, so Express requests pay nothing else.
 */

function isNodeResponse(res: HttpResponseLike): res is NodeResponseLike {
  return typeof (res as NodeResponseLike).setHeader === 'function';
}

/** True once the status line and headers have gone out: then nothing can be added to them. */
export function headersSent(res: HttpResponseLike): boolean {
  return isNodeResponse(res) ? res.headersSent === true : (res as FastifyReplyLike).raw.headersSent;
}

/** The value of a response header set so far (by anyone), or undefined. */
export function responseHeader(res: HttpResponseLike, name: string): number | string | string[] | undefined {
  return res.getHeader(name);
}

/**
 * Sets a response header, replacing any earlier value. On Fastify, `reply.header('set-cookie', v)` appends to the
 * cookies already set rather than replacing them, so `Set-Cookie` is removed first: the caller passes the whole list
 * (see `appendSetCookie`), as with Node's `setHeader`. The array is copied: Fastify keeps it and appends to it later.
 */
export function setResponseHeader(res: HttpResponseLike, name: string, value: string | readonly string[]): void {
  if (isNodeResponse(res)) {
    res.setHeader(name, value);
    return;
  }
  const reply = res as FastifyReplyLike;
  if (name.length === 10 && name.toLowerCase() === 'set-cookie') reply.removeHeader(name);
  reply.header(name, typeof value === 'string' ? value : [...value]);
}

/**
 * Marks the response `Cache-Control: no-store` unless its headers are already out: every answer that sets or depends
 * on the session, refusals included, must never be stored by a browser or a shared cache.
 */
export function setNoStore(res: HttpResponseLike): void {
  if (isNodeResponse(res)) {
    // Node's setHeader throws once the headers are out: asking it first spares every authenticated request a read of
    // `headersSent`, a property no one else reads at this point (on Express 5's per-request object maps, a runtime
    // lookup: about 2 µs of `GET /me` in `node bench/run.js profile kit-memory`).
    try {
      res.setHeader('Cache-Control', 'no-store');
    } catch (error) {
      if (res.headersSent !== true) throw error;
    }
    return;
  }
  if (!(res as FastifyReplyLike).raw.headersSent) setResponseHeader(res, 'Cache-Control', 'no-store');
}
