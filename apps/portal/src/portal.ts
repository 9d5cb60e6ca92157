import { dirname, join } from 'node:path';
import { Consortium } from '@app/consortium';
import { postgresCheck, ServiceObservability } from '@app/observability';
import {
  Actor,
  checkSchemaName,
  createPool,
  HealthController,
  migrate,
  TokenKeys,
  withObserver,
} from '@app/platform';
import { INestApplication, Logger, Module, Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, NestFactory } from '@nestjs/core';
import cookieParser from 'cookie-parser';
import helmet from 'helmet';
import { PageGuard, sessionMiddleware } from './shared/http-context';
import { PageErrorFilter } from './shared/page-errors';
import { Pages, portalSourceDir } from './shared/pages';
import { PORTAL_RUNTIME, PortalRuntime } from './shared/portal-runtime';
import { Services } from './shared/services';
import { PORTAL_MIGRATIONS } from './sign-in/migrations';
import { Argon2Hasher, PasswordHasher } from './sign-in/passwords';
import { Sessions } from './sign-in/sessions';
import { SESSIONS, SIGN_ON, SignInController, THROTTLE, USERS } from './sign-in/sign-in.controller';
import { SignOnService, signOnOrganisations } from './sign-in/sign-on';
import { SignOnController } from './sign-in/sign-on.controller';
import { DEFAULT_SIGN_IN_LIMITS, SignInLimits, SignInThrottle } from './sign-in/throttle';
import { PortalUsers } from './sign-in/users';
import { STATUTORY_CONTROLLERS } from './statutory/statutory';
import { STEWARD_CONTROLLERS } from './steward/steward';
import { WORKER_CONTROLLERS } from './worker/worker';

export interface PortalOptions {
  consortium: Consortium;
  /** Partner id -> its service's address; read when used. */
  partnerUrls: Record<string, string>;
  projectionUrl: string;
  tokenKeys: TokenKeys;
  /** The portal's own tables (users, sessions) live in this database and schema. */
  databaseUrl: string;
  schema: string;
  port?: number;
  host?: string;
  /** Cookies only over TLS: set wherever the portal is served over HTTPS. */
  secureCookies?: boolean;
  /** Users to add (or whose password to set) at start, e.g. the embedded default's demo users. */
  seedUsers?: { users: Actor[]; password: string };
  passwordHasher?: PasswordHasher;
  /**
   * Where the client secrets the consortium file's `signOn` entries name are looked up (ADR 0009); by
   * default the environment.
   */
  signOnSecrets?: Record<string, string | undefined>;
  /** The portal's address as browsers reach it (behind a proxy, its public https address); by default where it listens. */
  publicUrl?: string;
  /** Failed password sign-ins allowed per user name and per address in a window (5 and 50 in 15 minutes). */
  signInLimits?: SignInLimits;
  /**
   * Which proxies in front of the portal to believe about the client's address (Express's `trust proxy`:
   * a number of hops, addresses or subnets); without it, the address the connection comes from.
   */
  trustProxy?: boolean | number | string;
}

export interface RunningPortal {
  url: string;
  users: PortalUsers;
  stop(): Promise<void>;
}

/**
 * Each capability's page controllers. A new capability (the steward's pages, the statutory body's) adds its
 * list here and its home and links to ROLE_PAGES in shared/navigation.ts.
 */
const CONTROLLERS: Type[] = [
  HealthController,
  SignInController,
  SignOnController,
  ...WORKER_CONTROLLERS,
  ...STEWARD_CONTROLLERS,
  ...STATUTORY_CONTROLLERS,
];

const designSystemDist = join(
  dirname(require.resolve('@scottish-government/design-system/package.json')),
  'dist',
);

/**
 * The portal: server-rendered pages for the consortium's users, a backend-for-frontend that calls the partner
 * services and the projection service as the signed-in user. It keeps only its users and sessions.
 */
export async function startPortal(o: PortalOptions): Promise<RunningPortal> {
  const schema = checkSchemaName(o.schema);
  const pool = createPool(o.databaseUrl, 5);
  const obs = new ServiceObservability('portal').addChecks(postgresCheck(pool));
  let app: INestApplication | undefined;
  try {
    await migrate(pool, schema, 'portal', PORTAL_MIGRATIONS);
    const users = new PortalUsers(pool, schema, o.passwordHasher ?? new Argon2Hasher());
    if (o.seedUsers) await users.upsert(o.seedUsers.users, o.seedUsers.password);
    const sessions = new Sessions(pool, schema);
    let listeningAt = '';
    const signOn = new SignOnService(
      signOnOrganisations(o.consortium, o.signOnSecrets ?? process.env),
      pool,
      schema,
      () => (o.publicUrl ?? listeningAt).replace(/\/$/, ''),
    );
    const runtime: PortalRuntime = {
      consortium: o.consortium,
      partnerUrls: o.partnerUrls,
      projectionUrl: o.projectionUrl,
      tokenKeys: o.tokenKeys,
      pool,
      schema,
      secureCookies: o.secureCookies ?? false,
    };

    @Module({
      controllers: CONTROLLERS,
      providers: [
        { provide: PORTAL_RUNTIME, useValue: runtime },
        { provide: USERS, useValue: users },
        { provide: SESSIONS, useValue: sessions },
        { provide: SIGN_ON, useValue: signOn },
        {
          provide: THROTTLE,
          useValue: new SignInThrottle(pool, schema, o.signInLimits ?? DEFAULT_SIGN_IN_LIMITS),
        },
        Pages,
        Services,
        { provide: APP_GUARD, useClass: PageGuard },
        { provide: APP_FILTER, useClass: PageErrorFilter },
      ],
    })
    class PortalModule {}

    const observer = obs.http();
    app = await NestFactory.create(withObserver(PortalModule, observer) as typeof PortalModule, {
      logger: observer.logger,
      bodyParser: false,
    });
    app.use(observer.middleware);
    const express = await import('express');
    if (o.trustProxy !== undefined) app.getHttpAdapter().getInstance().set('trust proxy', o.trustProxy);
    app.use(
      helmet({
        contentSecurityPolicy: {
          useDefaults: false,
          directives: {
            defaultSrc: ["'self'"],
            // The design system's stylesheet draws its icons as data: images.
            imgSrc: ["'self'", 'data:'],
            scriptSrc: ["'self'"],
            styleSrc: ["'self'"],
            fontSrc: ["'self'"],
            // Sign-out of a signed-on user ends at their provider's end-session page (ADR 0009).
            formAction: ["'self'", () => signOn.formTargets().join(' ')],
            frameAncestors: ["'none'"],
            baseUri: ["'none'"],
            objectSrc: ["'none'"],
            ...(runtime.secureCookies ? { upgradeInsecureRequests: [] } : {}),
          },
        },
        // HSTS only where the portal is served over TLS; over plain http it would be ignored or wrong.
        strictTransportSecurity: runtime.secureCookies,
      }),
    );
    app.use('/static/design-system', express.static(designSystemDist, { maxAge: '1d', fallthrough: false }));
    app.use(
      '/static/portal',
      express.static(join(portalSourceDir(), 'static'), { maxAge: '1h', fallthrough: false }),
    );
    app.use('/favicon.ico', (_req: unknown, res: { status(n: number): { end(): void } }) =>
      res.status(204).end(),
    );
    app.use(cookieParser());
    app.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 }));
    app.use(sessionMiddleware(sessions, runtime.secureCookies));
    // Pages with personal data must not be kept by shared caches or the browser's back-forward cache on disk.
    app.use((_req: unknown, res: { setHeader(n: string, v: string): void }, next: () => void) => {
      res.setHeader('cache-control', 'no-store');
      next();
    });
    await app.listen(o.port ?? 0, o.host ?? '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    const url = `http://${o.host && o.host !== '0.0.0.0' ? o.host : '127.0.0.1'}:${address.port}`;
    listeningAt = url;
    signOn.warmUp();
    new Logger('portal').log(`listening at ${url}`);
    const started = app;
    return {
      url,
      users,
      async stop() {
        await started.close();
        await pool.end();
        await obs.close();
      },
    };
  } catch (e) {
    await app?.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    throw e;
  }
}
