import { MessageBus, Subscription } from '@app/messaging';
import { DataSource } from 'typeorm';
import { project } from './projector';
import { DERIVED_TABLES, SourcePosition } from './read-models';

/**
 * The projection's place in the consumer group. Each rebuild is a new generation: the derived tables are
 * emptied and a new group (`<group>.g<generation>`) reads every topic from its first message, so the group's
 * old offsets cannot make it skip anything.
 */
export class ProjectionConsumer {
  private subscription: Subscription | null = null;

  constructor(
    private readonly bus: MessageBus,
    private readonly dataSource: DataSource,
    private readonly baseGroupId: string,
    private readonly topics: string[],
  ) {}

  async start(): Promise<void> {
    const [{ generation }] = await this.dataSource.query(
      `SELECT generation FROM ${this.schema}.projection_state`,
    );
    this.subscription = await this.bus.subscribe(
      { groupId: `${this.baseGroupId}.g${generation}`, topics: this.topics, fromBeginning: true },
      (batch) => project(this.dataSource, batch),
    );
  }

  async rebuild(): Promise<void> {
    await this.stop();
    await this.dataSource.transaction(async (em) => {
      await em.query(`TRUNCATE ${DERIVED_TABLES.map((t) => `${this.schema}.${t}`).join(', ')}`);
      await em.query(`UPDATE ${this.schema}.projection_state SET generation = generation + 1`);
    });
    await this.start();
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = null;
  }

  private get schema(): string {
    return this.dataSource.getMetadata(SourcePosition).schema as string;
  }
}
