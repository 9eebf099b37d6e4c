import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { OidcModuleOptions } from './oidc.options';

/**
 * The builder output of `OidcModule`: `forRoot(options)` and `forRootAsync({ useFactory, useClass, useExisting, imports,
 * inject, isGlobal })` (factory method `createOidcOptions`). `OIDC_MODULE_OPTIONS` is the token of the options as given.
 */
export const { ConfigurableModuleClass: ConfigurableOidcModule, MODULE_OPTIONS_TOKEN: OIDC_MODULE_OPTIONS } =
  new ConfigurableModuleBuilder<OidcModuleOptions>({ moduleName: 'Oidc' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createOidcOptions')
    .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
    .build();
