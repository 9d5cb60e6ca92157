import { Actor, Allow, CurrentActor, forbidden, notFound, Public, parseInput } from '@app/platform';
import { Body, Controller, Get, Header, Inject, Param, Post, Res } from '@nestjs/common';
import { Response } from 'express';
import { z } from 'zod';
import { parsePeriod } from '../place/place.controller';
import { EvidencePacks, PackDocument } from './evidence-packs';
import { PdfPrinter, packHtml, tableCsv } from './pack-formats';

export const EVIDENCE = Symbol('EVIDENCE');
export interface EvidenceRuntime {
  packs: EvidencePacks;
  printer: PdfPrinter;
}

const text = z.string().trim().min(1, 'must not be empty').max(5000, 'must be at most 5000 characters');
export const composeInput = z
  .object({
    body: z.string().min(1, 'name the statutory body the pack is for'),
    period: z.unknown(),
    caseStudies: z
      .array(
        z
          .object({
            personRef: z
              .string()
              .regex(/^[A-Z]{2,4}-[0-9A-HJKMNP-TV-Z]{10}$/, 'is not a consortium reference'),
            situation: text,
            whatWasDone: text,
            whatChangedForThePerson: text,
            systemChanges: z.array(text).max(20).default([]),
            methodChanges: z.array(text).max(20).default([]),
          })
          .strict(),
      )
      .max(10)
      .default([]),
  })
  .strict();
const packIdSchema = z.string().uuid('is not an evidence pack id');
export const declineInput = z.object({ reason: text }).strict();

/**
 * Evidence packs for statutory bodies: a steward composes one for a body and a period, the other partners'
 * stewards approve it (or decline, saying why), and it is published signed. Stewards see every pack; a
 * statutory body sees the packs published to it, in HTML, PDF, CSV per table and JSON, and can have any of
 * them checked against the partners' own records.
 */
@Controller('evidence-packs')
export class EvidencePacksController {
  constructor(@Inject(EVIDENCE) private readonly evidence: EvidenceRuntime) {}

  @Allow('evidence.compose')
  @Post()
  async compose(@Body() body: unknown, @CurrentActor() actor: Actor) {
    const input = parseInput(composeInput, body);
    const period = parsePeriod(input.period, 'request body');
    return this.evidence.packs.compose(actor, { ...input, period });
  }

  @Allow('evidence.read')
  @Get()
  async list(@CurrentActor() actor: Actor) {
    const packs = (await this.evidence.packs.all()).filter((d) => visibleTo(d, actor));
    return packs.map(({ contents: _c, ...summary }) => summary);
  }

  @Public()
  @Get('signing-key')
  signingKey() {
    const { keyId, publicKeyPem } = this.evidence.packs.signer;
    return { algorithm: 'Ed25519', keyId, publicKeyPem };
  }

  @Allow('evidence.read')
  @Get(':packId')
  async get(@Param('packId') id: string, @CurrentActor() actor: Actor) {
    return this.find(id, actor);
  }

  @Allow('evidence.read')
  @Get(':packId/pack.html')
  @Header('content-type', 'text/html; charset=utf-8')
  async html(@Param('packId') id: string, @CurrentActor() actor: Actor) {
    return packHtml(await this.find(id, actor));
  }

  @Allow('evidence.read')
  @Get(':packId/pack.pdf')
  async pdf(@Param('packId') id: string, @CurrentActor() actor: Actor, @Res() res: Response) {
    const doc = await this.find(id, actor);
    const pdf = await this.evidence.printer.print(packHtml(doc));
    res
      .type('application/pdf')
      .set('content-disposition', `attachment; filename="evidence-${doc.body}-${doc.period.to}.pdf"`)
      .send(pdf);
  }

  @Allow('evidence.read')
  @Get(':packId/tables/:table')
  async csv(
    @Param('packId') id: string,
    @Param('table') file: string,
    @CurrentActor() actor: Actor,
    @Res() res: Response,
  ) {
    const doc = await this.find(id, actor);
    const table = doc.contents.tables.find((t) => `${t.id}.csv` === file);
    if (!table)
      throw notFound(
        `This pack has no table "${file}"; its tables are ${doc.contents.tables.map((t) => `${t.id}.csv`).join(', ')}`,
      );
    res
      .type('text/csv; charset=utf-8')
      .set('content-disposition', `attachment; filename="${table.id}-${doc.period.to}.csv"`)
      .send(tableCsv(table));
  }

  @Allow('evidence.read')
  @Get(':packId/verification')
  async verification(@Param('packId') id: string, @CurrentActor() actor: Actor) {
    const doc = await this.find(id, actor);
    if (!doc.publication) throw notFound('This pack is not published yet: only a published pack is signed');
    return this.evidence.packs.verify(doc);
  }

  @Allow('evidence.approve')
  @Post(':packId/approval')
  async approve(@Param('packId') id: string, @CurrentActor() actor: Actor) {
    await this.evidence.packs.approve(actor, parseInput(packIdSchema, id, 'packId'));
    return this.find(id, actor);
  }

  @Allow('evidence.approve')
  @Post(':packId/declination')
  async decline(@Param('packId') id: string, @Body() body: unknown, @CurrentActor() actor: Actor) {
    const { reason } = parseInput(declineInput, body);
    await this.evidence.packs.decline(actor, parseInput(packIdSchema, id, 'packId'), reason);
    return this.find(id, actor);
  }

  @Allow('evidence.publish')
  @Post(':packId/publication')
  async publish(@Param('packId') id: string, @CurrentActor() actor: Actor) {
    await this.evidence.packs.publish(actor, parseInput(packIdSchema, id, 'packId'));
    return this.find(id, actor);
  }

  private async find(id: string, actor: Actor): Promise<PackDocument> {
    const doc = await this.evidence.packs.get(parseInput(packIdSchema, id, 'packId'));
    if (!doc || !visibleTo(doc, actor)) throw notFound(`There is no evidence pack ${id} for you to see`);
    return doc;
  }
}

/** Stewards see every pack; a statutory body only what was published to it. */
function visibleTo(doc: PackDocument, actor: Actor): boolean {
  if (actor.role === 'steward') return true;
  if (actor.role === 'statutory-reader') return doc.status === 'published' && doc.body === actor.organisation;
  throw forbidden('Evidence packs are for stewards and the statutory bodies they are published to');
}
