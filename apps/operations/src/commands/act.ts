import { Command, InvalidArgumentError } from 'commander';
import { GlobalFlags, Io, OperatorError, OpsContext } from '../settings';

/** Wraps a command's work: its context made from the flags and environment, closed after, errors as exit codes. */
export type Act = <A extends unknown[]>(
  work: (ctx: OpsContext, ...args: A) => Promise<number | undefined>,
) => (...args: unknown[]) => Promise<void>;

/**
 * Exit status: 0 done; 1 the command ran and found something wrong (a pack not intact, a chain broken);
 * 2 it could not run (a setting missing, a service unreachable), with a message saying what to do.
 */
export function actWith(io: Io, env: NodeJS.ProcessEnv, setCode: (code: number) => void): Act {
  return (work) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const opts = command.optsWithGlobals() as GlobalFlags;
      const ctx = new OpsContext(opts, io, env);
      try {
        setCode((await work(ctx, ...(args.slice(0, -1) as never))) ?? 0);
      } catch (e) {
        if (e instanceof OperatorError) io.err(`${command.name()}: ${e.message}`);
        else io.err(`${command.name()} failed: ${(e as Error)?.stack ?? e}`);
        setCode(2);
      } finally {
        await ctx.close();
      }
    };
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number above 0 is needed');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a whole number, 0 or above, is needed');
  return n;
}
