import type { ClientInfo } from '../core/session-manager';
import type { HttpRequestLike } from './http-types';

/**
 * The client's IP and user agent. The IP is Express's `req.ip`, which only believes `X-Forwarded-For` from
 * proxies the app trusts (`app.set('trust proxy', ...)`); by default it is the socket address, so a client
 * cannot spoof it with a header.
 */
export function clientInfoOf(req: HttpRequestLike): ClientInfo {
  const ua = req.headers['user-agent'];
  return {
    ip: req.ip ?? req.socket?.remoteAddress ?? '',
    userAgent: typeof ua === 'string' ? ua : '',
  };
}
