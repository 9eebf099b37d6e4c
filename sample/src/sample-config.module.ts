import { DynamicModule, Global, Module } from '@nestjs/common';
import type { SampleConfig } from './config';
import { SAMPLE_CONFIG } from './sample-config.token';

/** Makes the parsed {@link SampleConfig} injectable everywhere as `@Inject(SAMPLE_CONFIG)`. */
@Global()
@Module({})
export class SampleConfigModule {
  /** Provides `config` under {@link SAMPLE_CONFIG}. */
  static register(config: SampleConfig): DynamicModule {
    return { module: SampleConfigModule, providers: [{ provide: SAMPLE_CONFIG, useValue: config }], exports: [SAMPLE_CONFIG] };
  }
}
