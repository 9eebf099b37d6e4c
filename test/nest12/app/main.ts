import 'reflect-metadata';
import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

/**
 * `PLATFORM=fastify` boots the app on `@nestjs/platform-fastify`, otherwise on Express (Nest's default): one source,
 * compiled once, runs the suite on both platforms. Fastify is imported only when asked for, as an app that uses it.
 */
async function create(): Promise<INestApplication> {
  const logger: ('error' | 'warn' | 'log')[] = ['error', 'warn', 'log'];
  if (process.env.PLATFORM === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    return NestFactory.create(AppModule, new FastifyAdapter(), { logger });
  }
  if (process.env.PLATFORM !== undefined && process.env.PLATFORM !== 'express') {
    throw new Error(`PLATFORM must be "express" or "fastify", got "${process.env.PLATFORM}".`);
  }
  return NestFactory.create(AppModule, { logger });
}

async function bootstrap(): Promise<void> {
  const app = await create();
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
  new Logger('Nest12App').log(`listening on ${await app.getUrl()} (${app.getHttpAdapter().getType()})`);
}

void bootstrap();
