import { Writable } from 'node:stream';
import { configureObservability } from '@app/observability';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * Points this process's observability at the test: every JSON log line at `level` or above is parsed into
 * `lines`, every finished span kept in `spans`. Call once, at the top of a test file.
 */
export function captureObservability<L = Record<string, unknown>>(
  level: 'debug' | 'info',
): { lines: L[]; spans: InMemorySpanExporter } {
  const lines: L[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  const spans = new InMemorySpanExporter();
  configureObservability({ logs: { destination: sink, level }, traces: { exporter: spans } });
  return { lines, spans };
}
