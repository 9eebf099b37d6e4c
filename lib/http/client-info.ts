import type { ClientInfo } from '../core/client-info';
import type { HttpRequestLike } from './http-types';

/**
 * The client's IP and user agent, computed only when read (most requests never emit an event or create a
 * session, and Express and Fastify compute `req.ip` on every access). A class with prototype getters: an object
 * literal with getters would allocate two closures per request.
 *
 * The IP is the platform's `req.ip`, which only believes `X-Forwarded-For` from proxies the app trusts (Express:
 * `app.set('trust proxy', ...)`; Fastify: the adapter's `trustProxy` option); by default it is the socket address,
 * so a client cannot spoof it with a header.
 */
class RequestClientInfo implements ClientInfo {
  private cachedIp: string | undefined;

  constructor(private readonly req: HttpRequestLike) {}

  get ip(): string {
    return (this.cachedIp ??= ipOf(this.req));
  }

  get userAgent(): string {
    const ua = this.req.headers['user-agent'];
    return typeof ua === 'string' ? ua : '';
  }
}

/**
 * `req.ip`, except on Express with `trust proxy` off (its default), where `req.ip` is the socket's address by
 * definition and is read directly: Express derives it through proxy-addr on every access, parsing X-Forwarded-For
 * only to discard it (about 2.5 µs of a guarded `GET /me` in `node bench/run.js profile kit-defended`). Any other
 * `trust proxy` setting, and every other platform, asks the platform.
 */
function ipOf(req: HttpRequestLike): string {
  const settings = (req as { app?: { settings?: Record<string, unknown> } }).app?.settings;
  const socketIp = req.socket?.remoteAddress;
  if (settings !== undefined && settings['trust proxy'] === false && socketIp !== undefined) return socketIp;
  return req.ip ?? socketIp ?? '';
}

/** The client behind a request (lazy; see {@link RequestClientInfo}). */
export function clientInfoOf(req: HttpRequestLike): ClientInfo {
  return new RequestClientInfo(req);
}
