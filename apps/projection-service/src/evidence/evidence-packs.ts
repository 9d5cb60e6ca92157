import { randomUUID } from 'node:crypto';
import { approvalsNeeded, isPartner } from '@app/consortium';
import {
  DomainError,
  EvidencePackCommand,
  EvidencePackEvent,
  evidencePack,
  evidencePackStream,
  PackPeriod,
  PublishedTable,
  Steward,
} from '@app/domain';
import {
  checkpointOf,
  decideAndAppend,
  EventStore,
  LOG_START,
  RangeVerification,
  RecordedEvent,
} from '@app/event-store';
import { Actor } from '@app/platform';
import { ProjectionRuntime } from '../shared/projection-runtime';
import { CaseStudyRequest, checkCaseStudies, composeContents, PackContents } from './pack-contents';
import { canonicalJson, EvidenceSigner, sha256Hex, signatureHolds } from './signing';

/** The schema version of each evidence pack event this code writes and reads. */
export const EVIDENCE_EVENT_SCHEMA_VERSIONS: Record<EvidencePackEvent['type'], number> = {
  EvidencePackComposed: 1,
  EvidencePackApproved: 1,
  EvidencePackDeclined: 1,
  EvidencePackPublished: 1,
};

/** A pack as it stands: what it holds, who approved it, and its publication. */
export interface PackDocument {
  packId: string;
  status: 'composed' | 'declined' | 'published';
  body: string;
  period: PackPeriod;
  composedBy: Steward;
  composedAt: string;
  approvalsNeeded: number;
  approvals: { partner: string; user: string; at: string }[];
  declined: { partner: string; user: string; reason: string; at: string } | null;
  contents: PackContents;
  publication: {
    digest: string;
    signature: string;
    keyId: string;
    publishedAt: string;
    publishedBy: Steward;
    /** Where in the consortium's log the publication sits: the feed's cursor. */
    position: number;
  } | null;
}

/** The part of a pack the signature covers: everything that was approved. */
export function signedPart(doc: PackDocument) {
  const { packId, body, period, composedBy, composedAt, approvals, contents } = doc;
  return { packId, body, period, composedBy, composedAt, approvals, contents };
}

export const packDigest = (doc: PackDocument) => sha256Hex(canonicalJson(signedPart(doc)));

/** Asks a partner's own store what a range of its log digests to now. */
export interface PartnerLogs {
  verify(partner: string, from: number, to: number): Promise<RangeVerification>;
}

export interface PartnerRangeCheck {
  partner: string;
  from: number;
  to: number;
  eventsInPack: number;
  eventsNow: number | null;
  matches: boolean;
  /** Positions whose events no longer match their hashes: altered since they were recorded. */
  altered: number[];
  problem: string | null;
}

export interface PackVerification {
  packId: string;
  intact: boolean;
  digestMatches: boolean;
  signatureValid: boolean;
  keyId: string | null;
  partners: PartnerRangeCheck[];
  checkedAt: string;
}

/**
 * Recomputes a published pack's digest, checks its signature, and asks every partner's store whether the
 * events the pack was computed from are still exactly those: the same digest, and no event altered since.
 * The endpoint and the command-line check both run this.
 */
export async function verifyPack(
  doc: PackDocument,
  publicKeyPem: string,
  logs: PartnerLogs,
  now: Date,
): Promise<PackVerification> {
  const publication = doc.publication;
  const digestMatches = publication !== null && packDigest(doc) === publication.digest;
  const signatureValid =
    publication !== null && signatureHolds(publicKeyPem, publication.digest, publication.signature);
  const partners: PartnerRangeCheck[] = [];
  for (const p of doc.contents.provenance) {
    const base = { partner: p.partner, from: p.from, to: p.to, eventsInPack: p.events };
    try {
      const current = await logs.verify(p.partner, p.from, p.to);
      const matches = current.digest === p.digest && current.altered.length === 0;
      partners.push({
        ...base,
        eventsNow: current.events,
        matches,
        altered: current.altered,
        problem: matches
          ? null
          : current.altered.length
            ? `${current.altered.length} event(s) altered since they were recorded`
            : `the partner's log now digests differently in this range (${current.events} events; the pack was built from ${p.events})`,
      });
    } catch (e) {
      partners.push({ ...base, eventsNow: null, matches: false, altered: [], problem: (e as Error).message });
    }
  }
  return {
    packId: doc.packId,
    intact: digestMatches && signatureValid && partners.every((p) => p.matches),
    digestMatches,
    signatureValid,
    keyId: publication?.keyId ?? null,
    partners,
    checkedAt: now.toISOString(),
  };
}

/** Folds a pack's events into its document. */
export function packDocument(events: RecordedEvent[]): PackDocument | null {
  let doc: PackDocument | null = null;
  for (const e of events) {
    const event = { type: e.type, data: e.data } as EvidencePackEvent<PackContents>;
    switch (event.type) {
      case 'EvidencePackComposed': {
        const d = event.data;
        doc = {
          packId: d.packId,
          status: 'composed',
          body: d.body,
          period: d.period,
          composedBy: d.composedBy,
          composedAt: d.composedAt,
          approvalsNeeded: d.approvalsNeeded,
          approvals: [{ ...d.composedBy, at: d.composedAt }],
          declined: null,
          contents: d.contents,
          publication: null,
        };
        break;
      }
      case 'EvidencePackApproved':
        if (doc) doc.approvals.push({ ...event.data.by, at: event.data.approvedAt });
        break;
      case 'EvidencePackDeclined':
        if (doc) {
          doc.status = 'declined';
          doc.declined = { ...event.data.by, reason: event.data.reason, at: event.data.declinedAt };
        }
        break;
      case 'EvidencePackPublished': {
        const d = event.data;
        if (doc) {
          doc.status = 'published';
          doc.publication = {
            digest: d.digest,
            signature: d.signature,
            keyId: d.keyId,
            publishedAt: d.publishedAt,
            publishedBy: d.by,
            position: e.position,
          };
        }
        break;
      }
      default:
        event satisfies never;
    }
  }
  return doc;
}

export interface ComposeRequest {
  body: string;
  period: PackPeriod;
  caseStudies: CaseStudyRequest[];
}

/**
 * Evidence packs: composed from the read models, approved by the consortium's rule, published signed. Their
 * events live in the consortium's own store (ADR 0007), apart from any partner's.
 */
export class EvidencePacks {
  constructor(
    private readonly runtime: ProjectionRuntime,
    readonly store: EventStore,
    readonly signer: EvidenceSigner,
    private readonly logs: PartnerLogs,
  ) {}

  async compose(actor: Actor, request: ComposeRequest): Promise<{ packId: string }> {
    const { consortium, dataSource, clock } = this.runtime;
    this.mustBePartnerSteward(actor);
    if (!consortium.statutoryBodies.some((b) => b.id === request.body)) {
      throw new DomainError(
        'invalid',
        `there is no statutory body "${request.body}" in this consortium (${consortium.statutoryBodies.map((b) => b.id).join(', ')})`,
        'body',
      );
    }
    const at = clock.now();
    const earlierTables = new Map<string, PublishedTable[]>();
    for (const doc of await this.all()) {
      if (doc.status !== 'published') continue;
      for (const t of doc.contents.tables) earlierTables.set(t.id, [...(earlierTables.get(t.id) ?? []), t]);
    }
    await checkCaseStudies(this.runtime, actor.organisation, request.caseStudies, at);
    const schema = (dataSource.options as { schema: string }).schema;
    // One snapshot: the figures and the provenance they were computed from agree.
    const { contents, remember } = await dataSource.transaction('REPEATABLE READ', (em) =>
      composeContents(em, schema, consortium, {
        ...request,
        composer: actor.organisation,
        earlierTables,
        at,
      }),
    );
    // The blocks digested for this pack are kept for the next (a cache: a failure here costs only time).
    await remember(dataSource).catch(() => undefined);
    const packId = randomUUID();
    await this.run(actor, packId, {
      type: 'ComposeEvidencePack',
      packId,
      body: request.body,
      period: request.period,
      composedBy: stewardOf(actor),
      approvalsNeeded: approvalsNeeded(consortium),
      contents,
      at: at.toISOString(),
    });
    return { packId };
  }

  approve(actor: Actor, packId: string) {
    return this.run(actor, packId, {
      type: 'ApproveEvidencePack',
      packId,
      by: stewardOf(actor),
      at: this.now(),
    });
  }

  decline(actor: Actor, packId: string, reason: string) {
    const command = {
      type: 'DeclineEvidencePack',
      packId,
      by: stewardOf(actor),
      reason,
      at: this.now(),
    } as const;
    return this.run(actor, packId, command);
  }

  async publish(actor: Actor, packId: string) {
    const doc = await this.get(packId);
    if (!doc) throw new DomainError('not-found', `there is no evidence pack ${packId}`);
    const digest = packDigest(doc);
    await this.run(actor, packId, {
      type: 'PublishEvidencePack',
      packId,
      by: stewardOf(actor),
      digest,
      signature: this.signer.sign(digest),
      keyId: this.signer.keyId,
      at: this.now(),
    });
  }

  async get(packId: string): Promise<PackDocument | null> {
    return packDocument(await this.store.readStream(evidencePackStream(packId)));
  }

  /** Every pack, oldest first (a consortium publishes a handful a year: the log is read whole). */
  async all(): Promise<PackDocument[]> {
    const byStream = new Map<string, RecordedEvent[]>();
    for (let at = LOG_START; ; ) {
      const batch = await this.store.readLog(at, 1000);
      if (batch.length === 0) break;
      for (const e of batch) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
      const last = batch[batch.length - 1];
      at = checkpointOf(last);
    }
    return [...byStream.values()].map(packDocument).filter((d): d is PackDocument => d !== null);
  }

  async verify(doc: PackDocument): Promise<PackVerification> {
    return verifyPack(doc, this.signer.publicKeyPem, this.logs, this.runtime.clock.now());
  }

  private now() {
    return this.runtime.clock.now().toISOString();
  }

  /** Packs are the partners' stewards' to compose, approve and publish. */
  private mustBePartnerSteward(actor: Actor): void {
    if (!isPartner(this.runtime.consortium, actor.organisation))
      throw new DomainError(
        'forbidden',
        "Evidence packs are composed and approved by the partners' stewards",
      );
  }

  private async run(actor: Actor, packId: string, command: EvidencePackCommand<PackContents>) {
    this.mustBePartnerSteward(actor);
    const occurredAt = this.now();
    await decideAndAppend(this.store, evidencePack, evidencePackStream(packId), command, {
      schemaVersion: (type) => EVIDENCE_EVENT_SCHEMA_VERSIONS[type],
      metadata: () => ({
        partner: actor.organisation,
        scale: 'place',
        actor: actor.userId,
        correlationId: randomUUID(),
        subject: packId,
        occurredAt,
      }),
    });
  }
}

const stewardOf = (actor: Actor): Steward => ({ partner: actor.organisation, user: actor.userId });
