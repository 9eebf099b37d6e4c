import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { JsonLinesEventSink } from '../../../lib';
import type { SampleConfig } from '../config';
import { SAMPLE_CONFIG } from '../sample-config.token';

/**
 * The JSON-lines security log (`SECURITY_LOG`): a file, appended to (created readable by its owner only), or
 * `-` for stdout. A path that cannot be opened stops start-up with a message naming the variable; a later write
 * failure (full disk) is logged, never a crash.
 */
@Injectable()
export class SecurityLog implements OnApplicationShutdown {
  /** The sink to hand to the session module. */
  readonly sink: JsonLinesEventSink;
  private readonly logger = new Logger('SecurityLog');

  constructor(@Inject(SAMPLE_CONFIG) config: SampleConfig) {
    try {
      this.sink = new JsonLinesEventSink(config.securityLog, (error) =>
        this.logger.error(`Cannot write the security log: ${error.message}`),
      );
    } catch (error) {
      throw new Error(`SECURITY_LOG: ${(error as Error).message}`);
    }
  }

  /** Flushes and closes the log file (stdout stays open). */
  async onApplicationShutdown(): Promise<void> {
    await this.sink.close();
  }
}
