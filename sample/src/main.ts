import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.factory';
import { parseConfig, SampleConfig } from './config';

/** Longest wait for a clean stop before giving up: a stuck connection must not keep a stopped server alive. */
const STOP_DEADLINE_MS = 10_000;

/**
 * Starts the sample: parse the environment, build the app, listen, print `listening on http://HOST:PORT`
 * (the one line scripts wait for), and stop cleanly on SIGTERM/SIGINT.
 *
 * Start-up problems end the process with code 1 and one line on stderr, without a stack trace: they are
 * configuration or environment problems for an operator, not bugs.
 */
async function main(): Promise<void> {
  let config: SampleConfig;
  let app: NestExpressApplication;
  try {
    config = parseConfig(process.env);
    app = await createApp(config);
    await app.listen(config.port, config.host);
  } catch (error) {
    process.stderr.write(`sample: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  process.stdout.write(`listening on http://${host}:${port}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      process.stderr.write(`sample: still stopping after ${STOP_DEADLINE_MS} ms (${signal}); exiting\n`);
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    // app.close() stops accepting connections, lets requests in flight finish, then closes the session store,
    // the databases and the security log. Everything we opened is closed by then, so exit explicitly: a
    // third-party handle left open must not keep a stopped server running.
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`sample: error while stopping: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
