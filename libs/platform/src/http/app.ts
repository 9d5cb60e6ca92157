import { Controller, Get, INestApplication, Logger } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { AuthGuard, Public, TOKEN_KEYS } from './auth';
import { TokenKeys } from './identity';
import { ProblemMapper, problemFilter } from './problem';

@Controller('health')
export class HealthController {
  @Public()
  @Get()
  health() {
    return { status: 'ok' };
  }
}

/** The providers every service's HTTP module needs: the token keys and the guard that checks them. */
export function authProviders(keys: TokenKeys) {
  return [
    { provide: TOKEN_KEYS, useValue: keys },
    { provide: APP_GUARD, useClass: AuthGuard },
  ];
}

/** Creates and starts a service's HTTP app on loopback or all interfaces, with problem details for errors. */
export async function listen(
  module: unknown,
  options: { port: number; host?: string; problems?: ProblemMapper[]; name: string },
): Promise<{ app: INestApplication; url: string }> {
  const app = await NestFactory.create(module as never, {
    logger: process.env.HLS_LOG === 'debug' ? ['log', 'error', 'warn', 'debug'] : ['error', 'warn'],
    bodyParser: false,
  });
  const express = await import('express');
  app.use(express.json({ limit: '256kb', strict: true }));
  app.useGlobalFilters(problemFilter(...(options.problems ?? [])));
  await app.listen(options.port, options.host ?? '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://${options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1'}:${address.port}`;
  new Logger(options.name).log(`listening at ${url}`);
  return { app, url };
}
