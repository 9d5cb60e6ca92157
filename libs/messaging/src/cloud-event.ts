import { RecordedEvent, Scale } from '@app/event-store';

/**
 * The envelope on the backbone between organisations: CloudEvents 1.0 (structured JSON mode), with the
 * platform's metadata as extension attributes (lower-case names, as the specification requires).
 */
export interface CloudEvent<D = unknown> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: D;
  partner: string;
  scale: Scale;
  actor: string;
  correlationid: string;
  causationid?: string;
  streamid: string;
  streamversion: number;
  position: number;
  recordedat: string;
  /** The event's hash in its store's chain (hex): evidence names the hashes it was computed from. */
  eventhash?: string;
  /**
   * The W3C trace context of the publish that carried the event (the CloudEvents distributed-tracing
   * extension), so that a consumer's spans continue the trace of the command that recorded it.
   */
  traceparent?: string;
  tracestate?: string;
}

const TYPE_PREFIX = 'scot.hls.';

export function cloudEventType(eventType: string, schemaVersion: number): string {
  return `${TYPE_PREFIX}${eventType}.v${schemaVersion}`;
}

/** Splits `scot.hls.ReferralRequested.v1` into its event type and schema version, or null if not ours. */
export function parseCloudEventType(type: string): { eventType: string; schemaVersion: number } | null {
  const m = /^scot\.hls\.([A-Za-z]+)\.v(\d+)$/.exec(type);
  return m ? { eventType: m[1], schemaVersion: Number(m[2]) } : null;
}

export function toCloudEvent(consortiumId: string, e: RecordedEvent): CloudEvent {
  const ce: CloudEvent = {
    specversion: '1.0',
    id: e.id,
    source: `/consortia/${consortiumId}/partners/${e.metadata.partner}`,
    type: cloudEventType(e.type, e.schemaVersion),
    subject: e.metadata.subject,
    time: e.metadata.occurredAt,
    datacontenttype: 'application/json',
    data: e.data,
    partner: e.metadata.partner,
    scale: e.metadata.scale,
    actor: e.metadata.actor,
    correlationid: e.metadata.correlationId,
    streamid: e.streamId,
    streamversion: e.version,
    position: e.position,
    recordedat: e.recordedAt,
    eventhash: e.hash,
  };
  if (e.metadata.causationId) ce.causationid = e.metadata.causationId;
  if (e.metadata.traceparent) ce.traceparent = e.metadata.traceparent;
  if (e.metadata.tracestate) ce.tracestate = e.metadata.tracestate;
  return ce;
}

const SCALES: readonly Scale[] = ['person', 'team', 'organisation', 'place'];

/** Checks a decoded message is a whole envelope of ours; returns the reason when it is not. */
export function envelopeProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null) return 'the message is not a JSON object';
  const ce = v as Partial<CloudEvent>;
  if (ce.specversion !== '1.0') return 'specversion is not 1.0';
  for (const f of ['id', 'source', 'type', 'subject', 'time', 'partner', 'streamid', 'actor'] as const) {
    if (typeof ce[f] !== 'string' || ce[f] === '') return `attribute "${f}" is missing`;
  }
  if (!parseCloudEventType(ce.type as string)) return `type "${ce.type}" is not a platform event type`;
  if (!SCALES.includes(ce.scale as Scale)) return `scale "${ce.scale}" is not one of ${SCALES.join(', ')}`;
  if (typeof ce.position !== 'number' || typeof ce.streamversion !== 'number') return 'position is missing';
  return null;
}

/** Topics are per scale, so that a consumer interested in one scale reads only that. */
export function topicFor(consortiumId: string, scale: Scale): string {
  return `${consortiumId}.${scale}-scale`;
}

export function allTopics(consortiumId: string): string[] {
  return SCALES.map((s) => topicFor(consortiumId, s));
}

export function deadLetterTopic(consortiumId: string): string {
  return `${consortiumId}.dead-letters`;
}
