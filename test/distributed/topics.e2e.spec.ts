import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  allTopics,
  consortiumTopics,
  DAY_MS,
  deadLetterTopic,
  KafkaBus,
  topicSettingsFromEnv,
} from '@app/messaging';
import { Kafka, logLevel } from 'kafkajs';
import { harnessState } from '../harness';

/**
 * The topic design (libs/messaging/src/topics.ts, docs/deployment.md): what the services ask Kafka for, and
 * what they do at start on the kcat mock cluster, which has no CreateTopics: there they make the topics by a
 * metadata request, check them against what is configured, and starting again changes nothing.
 */
describe('topic settings', () => {
  it('default to the cluster’s copies, 4 partitions, 90 days of dead letters, no idempotence (the mock cannot)', () => {
    expect(topicSettingsFromEnv({})).toEqual({
      partitions: 4,
      replicationFactor: -1,
      minInsyncReplicas: null,
      deadLetterRetentionMs: 90 * DAY_MS,
      idempotentProducer: false,
    });
  });

  it('ask two in-sync copies of three, as the compose file and the manifests configure', () => {
    const s = topicSettingsFromEnv({
      KAFKA_REPLICATION_FACTOR: '3',
      KAFKA_PARTITIONS: '12',
      KAFKA_IDEMPOTENT_PRODUCER: 'true',
      KAFKA_DEAD_LETTER_RETENTION_DAYS: '30',
    });
    expect(s).toEqual({
      partitions: 12,
      replicationFactor: 3,
      minInsyncReplicas: 2,
      deadLetterRetentionMs: 30 * DAY_MS,
      idempotentProducer: true,
    });
  });

  it.each([
    [{ KAFKA_PARTITIONS: '0' }, /KAFKA_PARTITIONS "0"/],
    [{ KAFKA_REPLICATION_FACTOR: 'three' }, /KAFKA_REPLICATION_FACTOR "three"/],
    [
      { KAFKA_REPLICATION_FACTOR: '2', KAFKA_MIN_INSYNC_REPLICAS: '3' },
      /no write could ever be acknowledged/,
    ],
    [{ KAFKA_IDEMPOTENT_PRODUCER: 'yes' }, /neither true nor false/],
  ])('refuse a setting that cannot work (%j), naming it', (env, message) => {
    expect(() => topicSettingsFromEnv(env)).toThrow(message);
  });

  it('keep the learning topics for ever, never compacted; dead letters for a finite time', () => {
    const specs = consortiumTopics('ne', topicSettingsFromEnv({ KAFKA_REPLICATION_FACTOR: '3' }));
    expect(specs.map((s) => s.topic)).toEqual([...allTopics('ne'), deadLetterTopic('ne')]);
    for (const s of specs) {
      expect({ topic: s.topic, partitions: s.numPartitions, copies: s.replicationFactor }).toEqual({
        topic: s.topic,
        partitions: 4,
        copies: 3,
      });
      expect(s.configs['cleanup.policy']).toBe('delete');
      expect(s.configs['min.insync.replicas']).toBe('2');
    }
    for (const s of specs.filter((s) => s.topic !== deadLetterTopic('ne')))
      expect(s.configs['retention.ms']).toBe('-1');
    expect(Number(specs.at(-1)?.configs['retention.ms'])).toBe(90 * DAY_MS);
  });
});

const realKafka = harnessState().realKafka;

(realKafka ? describe : describe.skip)('topics made at start, on the kcat mock cluster', () => {
  const consortiumId = `topics-${randomBytes(3).toString('hex')}`;
  const brokersFile = harnessState().brokersFile as string;
  const brokers = () => readFileSync(brokersFile, 'utf8').trim().split(',');
  const topics = [...allTopics(consortiumId), deadLetterTopic(consortiumId)];
  const buses: KafkaBus[] = [];
  const bus = (partitions: number) => {
    const b = new KafkaBus({ clientId: 'topics-test', consortiumId, brokers, topics: { partitions } });
    buses.push(b);
    return b;
  };
  afterAll(async () => {
    for (const b of buses) await b.close();
  });

  async function ends(): Promise<Record<string, number>> {
    const admin = new Kafka({
      clientId: 'topics-test',
      brokers: brokers(),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const out: Record<string, number> = {};
      for (const t of topics)
        out[t] = (await admin.fetchTopicOffsets(t)).reduce((n, p) => n + Number(p.high), 0);
      return out;
    } finally {
      await admin.disconnect();
    }
  }

  it('are made with the configured partitions, and making them again (another instance) changes nothing', async () => {
    const started = Date.now();
    const first = await bus(4).ensureTopics(topics);
    const firstMs = Date.now() - started;
    expect(first.map((c) => [c.topic, c.partitions, c.warnings])).toEqual(topics.map((t) => [t, 4, []]));

    await bus(4).publishRaw([{ topic: topics[0], key: 'NE-1', payload: '{"kept":true}' }]);
    const before = await ends();
    const second = await bus(4).ensureTopics(topics);
    expect(second.map((c) => [c.topic, c.partitions, c.created, c.warnings])).toEqual(
      topics.map((t) => [t, 4, false, []]),
    );
    expect(await ends()).toEqual(before);
    expect(before[topics[0]]).toBe(1);
    console.log(`topics: ${topics.length} made and checked in ${firstMs} ms on the mock cluster`);
  }, 60000);

  it('an existing topic with fewer partitions than configured is left as it is, and the service says so', async () => {
    const checks = await bus(6).ensureTopics(topics);
    for (const c of checks) {
      expect(c.partitions).toBe(4);
      expect(c.warnings).toEqual([
        expect.stringMatching(/has 4 partitions where 6 are configured.*Adding partitions/),
      ]);
    }
  }, 60000);
});
