import { ConfigurableModuleAsyncOptions, ConfigurableModuleBuilder } from '@nestjs/common';
import type { SessionModuleOptions } from './session.options';

/**
 * The validated options, with defaults filled in ({@link ResolvedSessionOptions}). Internal: the module's own
 * providers inject it; applications inject {@link SESSION_MODULE_OPTIONS} if they need the options at all.
 * @internal
 */
export const RESOLVED_SESSION_OPTIONS = Symbol('nest-session-kit:resolved-options');

export const {
  ConfigurableModuleClass: ConfigurableSessionModule,
  MODULE_OPTIONS_TOKEN: SESSION_MODULE_OPTIONS,
  OPTIONS_TYPE: SESSION_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SESSION_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SessionModuleOptions>({ moduleName: 'Session' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createSessionOptions')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/**
 * Options of `SessionModule.forRootAsync()`: `useFactory` (with `inject` and `imports`), `useClass` or
 * `useExisting` (a {@link SessionOptionsFactory}), and `isGlobal` (default `false`).
 */
export type SessionModuleAsyncOptions = ConfigurableModuleAsyncOptions<SessionModuleOptions, 'createSessionOptions'> & {
  isGlobal?: boolean;
};

/**
 * A class that provides the module's options, for `forRootAsync({ useClass })` or `useExisting`.
 *
 * @example
 * @Injectable()
 * class SessionConfig implements SessionOptionsFactory {
 *   constructor(private readonly config: ConfigService) {}
 *   createSessionOptions(): SessionModuleOptions {
 *     return { idleTimeout: this.config.get('SESSION_IDLE_TIMEOUT', '30m') };
 *   }
 * }
 */
export interface SessionOptionsFactory {
  createSessionOptions(): SessionModuleOptions | Promise<SessionModuleOptions>;
}
