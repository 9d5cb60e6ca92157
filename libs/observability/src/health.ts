import { Readiness } from '@app/platform';
import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';

/** One thing a service cannot work without, and how to ask whether it answers. */
export interface DependencyCheck {
  /** How /health/ready names it: `postgresql`, `kafka`, `key-store`. */
  name: string;
  check(): Promise<void>;
  /**
   * False for a dependency the service keeps serving without (Kafka: a partner records into its own store and
   * its relay catches up; the projection serves what it has). Its state is reported, but never makes the
   * service unready, so an orchestrator does not take every service out of rotation during a broker outage.
   */
  gatesReadiness?: boolean;
}

const CHECK_TIMEOUT_MS = 3000;

/** A PostgreSQL database (a pool, or TypeORM's data source): one `SELECT 1`. */
export function postgresCheck(
  db: { query(sql: string): Promise<unknown> },
  name = 'postgresql',
): DependencyCheck {
  return { name, check: async () => void (await db.query('SELECT 1')) };
}

/** Kafka: the cluster describes itself to an admin client. The in-process bus has nothing to ask: always up. */
export function busCheck(bus: { ping?(): Promise<void> }): DependencyCheck {
  return { name: 'kafka', check: async () => bus.ping?.(), gatesReadiness: false };
}

/** The consortium key service: a look-up that touches its tables (no person has this reference). */
export function keyStoreCheck(keys: { isErased(personRef: string): Promise<boolean> }): DependencyCheck {
  return { name: 'key-store', check: async () => void (await keys.isErased('HEALTH-0000000000')) };
}

/** Readiness through @nestjs/terminus: every check at once, each bounded in time; 503 names those down. */
@Injectable()
export class TerminusReadiness implements Readiness {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly checks: DependencyCheck[],
    private readonly onDown: (down: string[]) => void,
  ) {}

  async ready(): Promise<{ status: 200 | 503; body: object }> {
    const gating = this.checks.filter((c) => c.gatesReadiness !== false);
    const reported = this.checks.filter((c) => c.gatesReadiness === false);
    const [gated, degraded] = await Promise.all([this.gated(gating), this.report(reported)]);
    if (Object.keys(degraded).length > 0) this.onDown(Object.keys(degraded));
    const body = { ...gated.body, ...(Object.keys(degraded).length > 0 ? { degraded } : {}) };
    return { status: gated.status, body };
  }

  private async gated(checks: DependencyCheck[]): Promise<{ status: 200 | 503; body: object }> {
    try {
      const body = await this.health.check(checks.map((c) => () => this.indicate(c)));
      return { status: 200, body };
    } catch (e) {
      if (!(e instanceof ServiceUnavailableException)) throw e;
      const body = e.getResponse() as { error?: Record<string, unknown> };
      this.onDown(Object.keys(body.error ?? {}));
      return { status: 503, body };
    }
  }

  /** Checks that do not gate readiness: those down, each with its message (`degraded` in the body). */
  private async report(
    checks: DependencyCheck[],
  ): Promise<Record<string, { status: 'down'; message: string }>> {
    const results = await Promise.all(
      checks.map(async (c) => {
        try {
          await withTimeout(c.check(), CHECK_TIMEOUT_MS);
          return null;
        } catch (e) {
          return [c.name, { status: 'down' as const, message: (e as Error)?.message || String(e) }] as const;
        }
      }),
    );
    return Object.fromEntries(results.filter((r) => r !== null));
  }

  private async indicate(c: DependencyCheck): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(c.name);
    try {
      await withTimeout(c.check(), CHECK_TIMEOUT_MS);
      return indicator.up();
    } catch (e) {
      return indicator.down({ message: (e as Error)?.message || String(e) });
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
