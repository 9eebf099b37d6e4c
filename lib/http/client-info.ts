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
    return (this.cachedIp ??= this.req.ip ?? this.req.socket?.remoteAddress ?? '');
  }

  get userAgent(): string {
    const ua = this.req.headers['user-agent'];
    return typeof ua === 'string' ? ua : '';
  }
}

/** The client behind a request (lazy; see {@link RequestClientInfo}). */
export function clientInfoOf(req: HttpRequestLike): ClientInfo {
  return new RequestClientInfo(req);
}
