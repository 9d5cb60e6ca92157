import { Presets, SingleBar } from 'cli-progress';
import { Io } from './settings';

export interface Progress {
  update(done: number, total?: number, phase?: string): void;
  stop(): void;
}

/**
 * A progress bar on standard error for long work. Where standard error is not a terminal (a log, a pipe) a
 * line is written at each tenth instead, so a job's log still shows that it moves.
 */
export function progressBar(io: Io, label: string, total: number): Progress {
  if (io.tty) {
    const bar = new SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} events | {phase} | {eta_formatted} left`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    );
    bar.start(Math.max(total, 1), 0, { phase: '' });
    return {
      update: (done, t, phase) => {
        if (t !== undefined && t !== bar.getTotal()) bar.setTotal(Math.max(t, 1));
        bar.update(done, { phase: phase ?? '' });
      },
      stop: () => bar.stop(),
    };
  }
  let shownTenth = -1;
  let shownPhase = '';
  return {
    update: (done, t = total, phase = '') => {
      const tenth = t > 0 ? Math.floor((done / t) * 10) : 0;
      if (tenth !== shownTenth || phase !== shownPhase) {
        shownTenth = tenth;
        shownPhase = phase;
        io.err(
          `${label}: ${done.toLocaleString('en-GB')} of ${t.toLocaleString('en-GB')} events${phase ? ` (${phase})` : ''}`,
        );
      }
    },
    stop: () => undefined,
  };
}
