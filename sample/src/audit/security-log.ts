import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createWriteStream, openSync, WriteStream } from 'node:fs';
import { JsonLinesEventSink } from '../../../lib';
import type { SampleConfig } from '../config';
import { SAMPLE_CONFIG } from '../sample-config.token';

/**
 * The JSON-lines security log (`SECURITY_LOG`): a file, appended to, or `-` for stdout.
 *
 * The file is opened here rather than by `JsonLinesEventSink` itself for two reasons: opening synchronously
 * makes a bad path stop start-up with a clear message instead of failing later, and the stream gets an
 * `error` listener, so a full disk is logged instead of crashing the process with an unhandled `error` event.
 */
@Injectable()
export class SecurityLog implements OnApplicationShutdown {
  /** The sink to hand to the session module. */
  readonly sink: JsonLinesEventSink;
  private readonly stream?: WriteStream;
  private readonly logger = new Logger('SecurityLog');

  constructor(@Inject(SAMPLE_CONFIG) config: SampleConfig) {
    if (config.securityLog === '-') {
      this.sink = new JsonLinesEventSink('-');
      return;
    }
    let fd: number;
    try {
      fd = openSync(config.securityLog, 'a', 0o600);
    } catch (error) {
      throw new Error(`SECURITY_LOG: cannot open ${JSON.stringify(config.securityLog)} for appending (${(error as Error).message})`);
    }
    this.stream = createWriteStream(config.securityLog, { fd, flags: 'a' });
    this.stream.on('error', (error) => this.logger.error(`Cannot write the security log: ${error.message}`));
    this.sink = new JsonLinesEventSink(this.stream);
  }

  /** Flushes and closes the log file (stdout stays open). */
  async onApplicationShutdown(): Promise<void> {
    const stream = this.stream;
    if (!stream || stream.closed || stream.destroyed) return;
    await new Promise<void>((resolve) => stream.end(resolve));
  }
}
