/**
 * HTTPS on loopback under made-up host names, for the tests that need real `Secure` cookies on hosts that share a
 * parent domain (cookie tossing between `app.nsk.test` and `evil.nsk.test`).
 *
 * Why not `*.localhost`: Chromium treats `localhost` as a public suffix, so a sibling cannot even try
 * `Domain=localhost`, and the test would prove nothing. Hosts under `nsk.test` (the reserved `.test` TLD) are
 * mapped to 127.0.0.1 by a Chromium flag, and being neither localhost nor an IP they are secure contexts only over
 * HTTPS: hence TLS, with a certificate made for the run (`selfsigned`, a dev dependency) that the browser is told to
 * accept (`ignoreHTTPSErrors`). What is tested is cookie handling, which needs the connection to be HTTPS, not
 * the certificate to chain to a trusted root.
 */
import { createServer, Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

/** The parent domain of the test hosts: `app.nsk.test`, `evil.nsk.test`... */
export const TEST_DOMAIN = 'nsk.test';

/** The chromium flag (for `launchChromium`'s `extraArgs`) that resolves every `*.nsk.test` name to 127.0.0.1: no DNS, no /etc/hosts edit. */
export const TEST_HOSTS_CHROMIUM_ARG = `--host-resolver-rules=MAP *.${TEST_DOMAIN} 127.0.0.1`;

/** A key and a certificate for `*.nsk.test`, valid for a day. */
export async function testCertificate(): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: 'commonName', value: TEST_DOMAIN }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 24 * 3_600_000),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: `*.${TEST_DOMAIN}` }] }],
  });
  return { key: pems.private, cert: pems.cert };
}

/** An HTTPS server on a free port of 127.0.0.1. */
export interface TlsServer {
  server: Server;
  port: number;
  /** `https://HOST.nsk.test:PORT`. */
  origin(host: string): string;
  close(): Promise<void>;
}

/** Serves `handler` over HTTPS with `credentials` on a free port of 127.0.0.1. */
export function serveTls(
  credentials: { key: string; cert: string },
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TlsServer> {
  const server = createServer(credentials, handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        server,
        port,
        origin: (host) => `https://${host}.${TEST_DOMAIN}:${port}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
