import { Logger } from '@nestjs/common';
import { Admin, ConfigResourceTypes } from 'kafkajs';
import { allTopics, deadLetterTopic } from './cloud-event';

/**
 * The consortium's topics and how they are made. The services create them at start; a topic that exists is
 * left as it is, and where it differs from what is configured the service says so (it never changes a topic
 * itself: adding partitions moves keys between partitions, see docs/deployment.md).
 *
 *   <consortium>.<scale>-scale   the learning events, one topic per scale (person, team, organisation, place),
 *                                keyed by what each event is about (a person's consortium reference, a cycle,
 *                                a team, an issue), so one subject's events stay in order on one partition.
 *                                Kept for ever (retention.ms -1) and never compacted: see learningTopicConfig.
 *   <consortium>.dead-letters    what a consumer could not take, with the reason; kept for a finite time.
 */
export interface TopicSettings {
  /** Partitions of a topic the service creates; the most consumers of one group that can share it. */
  partitions: number;
  /** Copies of each partition; -1 leaves it to the cluster's default.replication.factor. */
  replicationFactor: number;
  /** Copies that must have a write before it is acknowledged; null leaves it to the cluster. */
  minInsyncReplicas: number | null;
  /** How long a dead letter is kept on its topic (the event itself stays on its learning topic). */
  deadLetterRetentionMs: number;
  /**
   * The producer asks the brokers for a producer id and numbers its messages, so a retried send is never
   * written twice. librdkafka's mock cluster (the tests' Kafka) cannot give a producer id, hence off unless
   * configured; the compose file and the Kubernetes manifests turn it on.
   */
  idempotentProducer: boolean;
}

export const DAY_MS = 24 * 3600_000;

export const DEFAULT_TOPIC_SETTINGS: TopicSettings = {
  partitions: 4,
  replicationFactor: -1,
  minInsyncReplicas: null,
  deadLetterRetentionMs: 90 * DAY_MS,
  idempotentProducer: false,
};

/** The environment variables that configure the topics, with what each means (the docs list these). */
export const TOPIC_ENV = {
  KAFKA_PARTITIONS: 'partitions of each topic the services create (default 4)',
  KAFKA_REPLICATION_FACTOR: "copies of each partition (default: the cluster's default.replication.factor)",
  KAFKA_MIN_INSYNC_REPLICAS:
    'copies that must have a write (default 2 where the replication factor is 3 or more)',
  KAFKA_DEAD_LETTER_RETENTION_DAYS: 'how long dead letters are kept (default 90)',
  KAFKA_IDEMPOTENT_PRODUCER: 'true on a real cluster: a retried send is never written twice (default false)',
} as const;

export class TopicSettingsError extends Error {}

/** Topic settings from the environment (TOPIC_ENV); a value that is not usable is an error naming it. */
export function topicSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TopicSettings {
  const int = (name: keyof typeof TOPIC_ENV, min: number): number | undefined => {
    const raw = env[name]?.trim();
    if (!raw) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new TopicSettingsError(
        `${name} "${raw}" is not a whole number of at least ${min}: ${TOPIC_ENV[name]}`,
      );
    return n;
  };
  const replicationFactor = int('KAFKA_REPLICATION_FACTOR', 1) ?? DEFAULT_TOPIC_SETTINGS.replicationFactor;
  const minInsync = int('KAFKA_MIN_INSYNC_REPLICAS', 1) ?? (replicationFactor >= 3 ? 2 : null);
  if (minInsync !== null && replicationFactor > 0 && minInsync > replicationFactor)
    throw new TopicSettingsError(
      `KAFKA_MIN_INSYNC_REPLICAS ${minInsync} is more than KAFKA_REPLICATION_FACTOR ${replicationFactor}: no write could ever be acknowledged`,
    );
  const idempotent = env.KAFKA_IDEMPOTENT_PRODUCER?.trim().toLowerCase();
  if (idempotent && idempotent !== 'true' && idempotent !== 'false')
    throw new TopicSettingsError(`KAFKA_IDEMPOTENT_PRODUCER "${idempotent}" is neither true nor false`);
  const deadLetterDays = int('KAFKA_DEAD_LETTER_RETENTION_DAYS', 1);
  return {
    partitions: int('KAFKA_PARTITIONS', 1) ?? DEFAULT_TOPIC_SETTINGS.partitions,
    replicationFactor,
    minInsyncReplicas: minInsync,
    deadLetterRetentionMs:
      deadLetterDays === undefined ? DEFAULT_TOPIC_SETTINGS.deadLetterRetentionMs : deadLetterDays * DAY_MS,
    idempotentProducer: idempotent === 'true',
  };
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  /** Topic-level configuration, as Kafka names it. */
  configs: Record<string, string>;
}

/**
 * A learning topic. Kept for ever (retention.ms -1): the partners' stores are the system of record, but every
 * consumer builds its views from the topics (a rebuild reads them from the first message), so a topic that
 * dropped old events would give a rebuilt view that silently lacks them. Personal data in the events is sealed
 * under keys per person and kind of record: erasure and the consortium's retention periods destroy keys, which
 * makes every copy on Kafka unreadable too, so keeping the events does not keep personal data readable.
 * Never compacted: compaction keeps only the last message per key, and the key is the subject (a person), so it
 * would delete a person's history.
 */
export function learningTopicConfig(settings: TopicSettings): Record<string, string> {
  return {
    'cleanup.policy': 'delete',
    'retention.ms': '-1',
    'retention.bytes': '-1',
    'unclean.leader.election.enable': 'false',
    ...(settings.minInsyncReplicas === null
      ? {}
      : { 'min.insync.replicas': String(settings.minInsyncReplicas) }),
  };
}

/**
 * The dead-letter topic: a finite retention, not compacted (its key is the failed message's subject, and two
 * failures of one subject are two letters). A letter that expires has lost nothing: the event it carried is
 * still on its learning topic and in its partner's store, and a rebuild takes it in once the fault is mended.
 */
export function deadLetterTopicConfig(settings: TopicSettings): Record<string, string> {
  return {
    'cleanup.policy': 'delete',
    'retention.ms': String(settings.deadLetterRetentionMs),
    'unclean.leader.election.enable': 'false',
    ...(settings.minInsyncReplicas === null
      ? {}
      : { 'min.insync.replicas': String(settings.minInsyncReplicas) }),
  };
}

/** How the service would create a topic of the consortium's (any other topic: partitions and copies only). */
export function topicSpec(consortiumId: string, topic: string, settings: TopicSettings): TopicSpec {
  const configs = allTopics(consortiumId).includes(topic)
    ? learningTopicConfig(settings)
    : topic === deadLetterTopic(consortiumId)
      ? deadLetterTopicConfig(settings)
      : {};
  return {
    topic,
    numPartitions: settings.partitions,
    replicationFactor: settings.replicationFactor,
    configs,
  };
}

/** Every topic of a consortium, as the services create it. */
export function consortiumTopics(consortiumId: string, settings: TopicSettings): TopicSpec[] {
  return [...allTopics(consortiumId), deadLetterTopic(consortiumId)].map((t) =>
    topicSpec(consortiumId, t, settings),
  );
}

/** What was found of one topic at start. */
export interface TopicCheck {
  topic: string;
  /** true: created now by CreateTopics; false: it was there, or the cluster made it on a metadata request. */
  created: boolean;
  partitions: number;
  /** Where the topic differs from its spec, in words an operator can act on. */
  warnings: string[];
}

/** Where a topic as found differs from its spec (configs only where they could be read). */
export function topicDrift(
  spec: TopicSpec,
  found: { partitions: number; configs: Record<string, string> | null },
): string[] {
  const warnings: string[] = [];
  if (found.partitions !== spec.numPartitions)
    warnings.push(
      `topic ${spec.topic} has ${found.partitions} partitions where ${spec.numPartitions} are configured: ` +
        'the services never change a topic, and adding partitions moves subjects between them ' +
        '(see "Adding partitions" in docs/deployment.md)',
    );
  for (const [name, want] of Object.entries(spec.configs)) {
    const have = found.configs?.[name];
    if (found.configs && have !== undefined && have !== want)
      warnings.push(`topic ${spec.topic} has ${name}=${have} where ${want} is configured`);
  }
  return warnings;
}

const log = new Logger('topics');

/**
 * Creates the topics that are missing (CreateTopics with their partitions, copies and configuration) and checks
 * those that exist: running it again, or on a second instance at the same moment, changes nothing. A cluster
 * that does not take CreateTopics (librdkafka's mock) makes them on the metadata request that follows, with
 * its own partition count, and the check says so if that is not the configured one.
 */
export async function ensureTopicsExist(admin: Admin, specs: TopicSpec[]): Promise<TopicCheck[]> {
  if (specs.length === 0) return [];
  const created = new Set<string>();
  let createdByRequest = true;
  const before = await admin.listTopics().catch(() => null);
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: specs.map((s) => ({
        topic: s.topic,
        numPartitions: s.numPartitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.configs).map(([name, value]) => ({ name, value })),
      })),
    });
  } catch {
    // Topics that exist already are not an error (kafkajs answers false for them); anything else here is a
    // cluster that does not create topics by request: the metadata request below makes them, if it can.
    createdByRequest = false;
  }
  if (createdByRequest && before) for (const s of specs) if (!before.includes(s.topic)) created.add(s.topic);
  const metadata = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
  const configs = await readConfigs(
    admin,
    specs.map((s) => s.topic),
  );
  const checks = specs.map((spec): TopicCheck => {
    const partitions = metadata.topics.find((t) => t.name === spec.topic)?.partitions.length ?? 0;
    return {
      topic: spec.topic,
      created: created.has(spec.topic),
      partitions,
      warnings: topicDrift(spec, { partitions, configs: configs?.get(spec.topic) ?? null }),
    };
  });
  for (const c of checks) for (const w of c.warnings) log.warn(w);
  return checks;
}

/** The topics' configuration as the cluster reports it, or null where it cannot (the mock has no DescribeConfigs). */
async function readConfigs(
  admin: Admin,
  topics: string[],
): Promise<Map<string, Record<string, string>> | null> {
  try {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
    });
    return new Map(
      described.resources.map((r) => [
        r.resourceName,
        Object.fromEntries(r.configEntries.map((c) => [c.configName, c.configValue])),
      ]),
    );
  } catch {
    return null;
  }
}

/** Says which partitions a consumer holds after its group (re)balanced, e.g. "holds 2 partitions: t[0,3]". */
export function describeAssignment(assignment: Record<string, number[]>): string {
  const held = Object.entries(assignment).filter(([, p]) => p.length);
  const count = held.reduce((n, [, p]) => n + p.length, 0);
  const list = held.map(([t, p]) => `${t}[${[...p].sort((x, y) => x - y).join(',')}]`).join(' ');
  return `holds ${count} partition${count === 1 ? '' : 's'}${count ? `: ${list}` : ''}`;
}

export function logAssignment(groupId: string, assignment: Record<string, number[]>): void {
  log.log(`consumer group ${groupId}: this instance ${describeAssignment(assignment)}`);
}

export function logConsumerRestart(groupId: string, error: Error): void {
  log.warn(`consumer group ${groupId}: the consumer stopped (${error.message}); starting it again in 1 s`);
}
