import {
  Controller,
  Get,
  INestApplication,
  Inject,
  Logger,
  LoggerService,
  Module,
  Optional,
  Req,
  Res,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { Request, Response } from 'express';
import { AuthGuard, Public, TOKEN_KEYS } from './auth';
import { TokenKeys } from './identity';
import { ProblemMapper, problemFilter } from './problem';

/** What a service's dependencies answer: 200 when every check is up, 503 naming the ones that are down. */
export interface Readiness {
  ready(): Promise<{ status: 200 | 503; body: object }>;
}
export const READINESS = Symbol('READINESS');

/** A service's Prometheus metrics in the text exposition format; a scrape token, when one is set. */
export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
  /** Whether this request may read the metrics (a scrape token in the Authorization header, if one is set). */
  mayScrape(authorization: string | undefined): boolean;
}
export const METRICS = Symbol('METRICS');

/** Liveness (the process answers) and readiness (its database, Kafka and key store answer too). */
@Controller('health')
export class HealthController {
  constructor(@Optional() @Inject(READINESS) private readonly readiness?: Readiness) {}

  @Public()
  @Get()
  health() {
    return { status: 'ok' };
  }

  @Public()
  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Public()
  @Get('ready')
  async ready(@Res() res: Response) {
    const { status, body } = (await this.readiness?.ready()) ?? { status: 200, body: { status: 'ok' } };
    res.status(status).json(body);
  }
}

/** Prometheus scrapes here: no user token, but a scrape token when the service has one (see docs). */
@Controller('metrics')
export class MetricsController {
  constructor(@Optional() @Inject(METRICS) private readonly metrics?: MetricsSource) {}

  @Public()
  @Get()
  async scrape(@Req() req: Request, @Res() res: Response) {
    if (!this.metrics) return void res.status(404).type('text/plain').send('no metrics here\n');
    if (!this.metrics.mayScrape(req.headers.authorization))
      return void res.status(401).type('text/plain').send('send the scrape token as a bearer token\n');
    res
      .status(200)
      .type(this.metrics.contentType)
      .send(await this.metrics.render());
  }
}

/**
 * What a service's observability adds to its HTTP app: a global module (metrics and readiness behind the
 * routes above), a middleware that runs before any other (correlation id, request log, server span), and
 * the logger Nest writes through.
 */
export interface HttpObserver {
  module: unknown;
  middleware: (req: Request, res: Response, next: () => void) => void;
  logger: LoggerService;
}

/** The providers every service's HTTP module needs: the token keys and the guard that checks them. */
export function authProviders(keys: TokenKeys) {
  return [
    { provide: TOKEN_KEYS, useValue: keys },
    { provide: APP_GUARD, useClass: AuthGuard },
  ];
}

/** The service's module beside its observer's (global, so /metrics and /health/ready find what they need). */
export function withObserver(module: unknown, observer: HttpObserver): unknown {
  @Module({ imports: [module as never, observer.module as never] })
  class ObservedModule {}
  return ObservedModule;
}

/** Creates and starts a service's HTTP app on loopback or all interfaces, with problem details for errors. */
export async function listen(
  module: unknown,
  options: {
    port: number;
    host?: string;
    problems?: ProblemMapper[];
    name: string;
    observer?: HttpObserver;
  },
): Promise<{ app: INestApplication; url: string }> {
  const observer = options.observer;
  const app = await NestFactory.create((observer ? withObserver(module, observer) : module) as never, {
    logger:
      observer?.logger ??
      (process.env.HLS_LOG === 'debug' ? ['log', 'error', 'warn', 'debug'] : ['error', 'warn']),
    bodyParser: false,
  });
  if (observer) app.use(observer.middleware);
  const express = await import('express');
  app.use(express.json({ limit: '256kb', strict: true }));
  app.useGlobalFilters(problemFilter(...(options.problems ?? [])));
  await app.listen(options.port, options.host ?? '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://${options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1'}:${address.port}`;
  new Logger(options.name).log(`listening at ${url}`);
  return { app, url };
}
