import type { ClientInfo } from '../core/session-manager';
import type { HttpRequestLike } from './http-types';

/**
 * The client's IP and user agent, computed only when read (most requests never emit an event or create a
 * session, and Express parses `req.ip` on every access).
 *
 * The IP is Express's `req.ip`, which only believes `X-Forwarded-For` from proxies the app trusts
 * (`app.set('trust proxy', ...)`); by default it is the socket address, so a client cannot spoof it with a header.
 */
export function clientInfoOf(req: HttpRequestLike): ClientInfo {
  let ip: string | undefined;
  return {
    get ip(): string {
      return (ip ??= req.ip ?? req.socket?.remoteAddress ?? '');
    },
    get userAgent(): string {
      const ua = req.headers['user-agent'];
      return typeof ua === 'string' ? ua : '';
    },
  };
}
