import { harnessState } from './harness-state';

export default async function globalTeardown(): Promise<void> {
  const state = harnessState();
  if (state.kcatPid) {
    try {
      process.kill(state.kcatPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const embedded = (globalThis as { __embeddedPg?: { stop(): Promise<void> } }).__embeddedPg;
  await embedded?.stop();
}
