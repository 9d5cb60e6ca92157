import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

/**
 * A service run on its own, as the distributed deployment runs it (apps/<app>/src/main.ts, configured by the
 * environment), in a child process that a test can SIGKILL and start again at the same address.
 */
export class ChildService {
  private child: ChildProcess | null = null;
  private log = '';
  private partial = '';
  private readonly watches: { pattern: RegExp; lines: string[] }[] = [];
  starts = 0;

  constructor(
    readonly name: string,
    private readonly app: 'partner-service' | 'projection-service',
    private readonly env: Record<string, string>,
  ) {}

  /** Every line the service prints from now on that matches, kept however much else it prints. */
  watch(pattern: RegExp): string[] {
    const lines: string[] = [];
    this.watches.push({ pattern, lines });
    return lines;
  }

  private keepWatched(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) for (const w of this.watches) if (w.pattern.test(line)) w.lines.push(line);
  }

  /** What the service printed lately (its last 20,000 characters). */
  get output(): string {
    return this.log;
  }

  get url(): string {
    return `http://127.0.0.1:${this.env.PORT}`;
  }

  /** Starts the service and resolves once it says it is up (its HTTP API, relay and consumers running). */
  start(timeoutMs = 30000): Promise<void> {
    this.starts++;
    const child = spawn(
      process.execPath,
      [
        require.resolve('ts-node/dist/bin.js'),
        '--swc',
        '-r',
        'tsconfig-paths/register',
        `apps/${this.app}/src/main.ts`,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, HOST: '127.0.0.1', ...this.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    return new Promise((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`${this.name} did not start within ${timeoutMs} ms:\n${this.log.slice(-2000)}`)),
        timeoutMs,
      );
      const take = (chunk: Buffer) => {
        this.log = (this.log + chunk.toString()).slice(-20000);
        this.keepWatched(chunk.toString());
        if (/ is up at /.test(chunk.toString())) {
          clearTimeout(timer);
          done();
        }
      };
      child.stdout?.on('data', take);
      child.stderr?.on('data', take);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (signal !== 'SIGKILL')
          fail(new Error(`${this.name} exited (${code ?? signal}):\n${this.log.slice(-2000)}`));
      });
    });
  }

  /** A clean stop (SIGTERM, as Kubernetes or `docker stop` sends): the service leaves its consumer group. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  /** A stalled process (SIGSTOP): it keeps its connections and transactions and does nothing until resume(). */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** A crash: no shutdown hook runs, nothing is flushed. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}
