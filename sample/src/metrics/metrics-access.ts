import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

/** Headers a proxy adds: a request carrying any of them came through one, wherever the socket connects from. */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip', 'x-forwarded-host', 'x-forwarded-proto'];

const BEARER = /^Bearer ([\x21-\x7e]+)$/;

/** True for an IPv4 or IPv6 loopback address (also the IPv4-mapped form `::ffff:127.x.y.z`). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * Who may read `/metrics`: a request with `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time), or,
 * without a token, a direct request from loopback. "Direct" is decided from the TCP peer (`req.socket`), not from
 * `req.ip`, and a request carrying any forwarding header counts as proxied: behind a reverse proxy on the same host
 * every request arrives from 127.0.0.1, and with `TRUST_PROXY` the client named in `X-Forwarded-For` could itself
 * claim to be 127.0.0.1. Such requests need the token.
 */
export function mayReadMetrics(req: Request, token: string | undefined): boolean {
  const presented = BEARER.exec(req.headers.authorization ?? '')?.[1];
  if (token !== undefined && presented !== undefined) return sameSecret(presented, token);
  if (!isLoopbackAddress(req.socket.remoteAddress)) return false;
  return FORWARDING_HEADERS.every((name) => req.headers[name] === undefined);
}

function sameSecret(a: string, b: string): boolean {
  // Digests first: equal lengths for timingSafeEqual, and nothing learnt from the length of the token.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
