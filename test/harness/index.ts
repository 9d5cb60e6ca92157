import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InProcessBus, KafkaBus, MessageBus } from '@app/messaging';
import { harnessState } from './harness-state';

export * from './harness-state';

/** A schema name no other test uses, so suites share one database without seeing each other's rows. */
export function uniqueSchema(prefix: string): string {
  return `t_${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Polls until `probe` returns a value other than undefined, or fails with what was last seen. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 15000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export const databaseUrl = (): string => harnessState().databaseUrl;

/** The bus the suites use: Kafka on the kcat mock cluster where it is here, else the in-process bus. */
export function testBus(consortiumId: string, clientId = 'test'): MessageBus {
  const state = harnessState();
  if (state.brokersFile) {
    const file = state.brokersFile;
    return new KafkaBus({
      clientId,
      consortiumId,
      brokers: () => readFileSync(file, 'utf8').trim().split(','),
    });
  }
  return new InProcessBus(consortiumId);
}
