import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setNoStore } from '../../lib/http/response-headers';
import type { HttpResponseLike } from '../../lib/http/http-types';

/** A real Node response: `use(res)` runs inside the server's handler, then the response ends. */
async function withResponse(use: (res: ServerResponse) => void): Promise<Record<string, string | string[] | undefined>> {
  const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    use(res);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await answer.text();
    return Object.fromEntries(answer.headers.entries());
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('setNoStore', () => {
  it('marks a Node response no-store', async () => {
    const headers = await withResponse((res) => setNoStore(res as unknown as HttpResponseLike));
    expect(headers['cache-control']).toBe('no-store');
  });

  it('does nothing, and throws nothing, once the headers are out', async () => {
    let thrown: unknown;
    const headers = await withResponse((res) => {
      res.writeHead(200, { 'Cache-Control': 'max-age=60' });
      try {
        setNoStore(res as unknown as HttpResponseLike);
      } catch (error) {
        thrown = error;
      }
    });
    expect(thrown).toBeUndefined();
    expect(headers['cache-control']).toBe('max-age=60');
  });

  it('lets any other failure of setHeader through', () => {
    const failing = {
      headersSent: false,
      setHeader: () => {
        throw new TypeError('boom');
      },
      getHeader: () => undefined,
    };
    expect(() => setNoStore(failing as unknown as HttpResponseLike)).toThrow('boom');
  });

  it('sets it on a Fastify reply only while its headers are not out', () => {
    const header = jest.fn();
    const reply = (sent: boolean) => ({ raw: { headersSent: sent }, header, removeHeader: jest.fn(), getHeader: () => undefined });
    setNoStore(reply(true) as unknown as HttpResponseLike);
    expect(header).not.toHaveBeenCalled();
    setNoStore(reply(false) as unknown as HttpResponseLike);
    expect(header).toHaveBeenCalledWith('Cache-Control', 'no-store');
  });
});
