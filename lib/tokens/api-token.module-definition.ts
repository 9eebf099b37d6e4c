import { ConfigurableModuleAsyncOptions, ConfigurableModuleBuilder } from '@nestjs/common';
import type { ApiTokenModuleOptions } from './api-token.options';
import { JwksController } from './jwks.controller';

/** The validated options ({@link ResolvedApiTokenOptions}). Internal. @internal */
export const RESOLVED_API_TOKEN_OPTIONS = Symbol('nest-session-kit:resolved-api-token-options');

/** Extras of `forRoot`/`forRootAsync`: `isGlobal` (default `false`), `jwks` (mount `GET /.well-known/jwks.json`, default `true`). */
export interface ApiTokenModuleExtras {
  isGlobal?: boolean;
  jwks?: boolean;
}

export const { ConfigurableModuleClass: ConfigurableApiTokenModule, MODULE_OPTIONS_TOKEN: API_TOKEN_MODULE_OPTIONS } =
  new ConfigurableModuleBuilder<ApiTokenModuleOptions>({ moduleName: 'ApiToken' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createApiTokenOptions')
    .setExtras<ApiTokenModuleExtras>({ isGlobal: false, jwks: true }, (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      controllers: extras.jwks === false ? [] : [JwksController],
    }))
    .build();

/** Options of `ApiTokenModule.forRootAsync()`: `useFactory` (with `inject`, `imports`), `useClass` or `useExisting`, and the extras. */
export type ApiTokenModuleAsyncOptions = ConfigurableModuleAsyncOptions<ApiTokenModuleOptions, 'createApiTokenOptions'> &
  ApiTokenModuleExtras;

/** A class that provides the module's options, for `forRootAsync({ useClass })` or `useExisting`. */
export interface ApiTokenOptionsFactory {
  createApiTokenOptions(): ApiTokenModuleOptions | Promise<ApiTokenModuleOptions>;
}
