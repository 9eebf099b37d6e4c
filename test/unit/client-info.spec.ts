import { clientInfoOf } from '../../lib/http/client-info';
import type { HttpRequestLike } from '../../lib/http/http-types';

/** A request whose `req.ip` getter counts its reads (Express derives it through proxy-addr on each one). */
function request(settings: Record<string, unknown> | undefined, ip: string, socketIp = '10.0.0.7') {
  const reads = { ip: 0 };
  const req = {
    headers: { 'user-agent': 'UA' },
    socket: { remoteAddress: socketIp },
    ...(settings === undefined ? {} : { app: { settings } }),
    get ip() {
      reads.ip++;
      return ip;
    },
  };
  return { req: req as unknown as HttpRequestLike, reads };
}

describe('clientInfoOf', () => {
  it("on Express with trust proxy off (its default) reads the socket's address, without deriving req.ip", () => {
    const { req, reads } = request({ 'trust proxy': false }, '10.0.0.7');
    const client = clientInfoOf(req);
    expect(client.ip).toBe('10.0.0.7');
    expect(reads.ip).toBe(0);
  });

  it('asks req.ip once when a proxy is trusted (X-Forwarded-For may name the client), and on other platforms', () => {
    for (const settings of [{ 'trust proxy': 'loopback' }, { 'trust proxy': true }, undefined]) {
      const { req, reads } = request(settings, '198.51.100.9', '127.0.0.1');
      const client = clientInfoOf(req);
      expect([client.ip, client.ip]).toEqual(['198.51.100.9', '198.51.100.9']);
      expect(reads.ip).toBe(1);
    }
  });

  it('falls back to the socket when the platform gives no req.ip, and to "" with neither', () => {
    const bare = { headers: {}, socket: { remoteAddress: '10.0.0.8' } } as unknown as HttpRequestLike;
    expect(clientInfoOf(bare).ip).toBe('10.0.0.8');
    expect(clientInfoOf({ headers: {} } as unknown as HttpRequestLike).ip).toBe('');
    expect(clientInfoOf({ headers: {} } as unknown as HttpRequestLike).userAgent).toBe('');
  });
});
