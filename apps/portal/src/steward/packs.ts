import { Actor } from '@app/platform';
import { Response } from 'express';
import type { PackDocument } from '../../../projection-service/src/evidence/evidence-packs';
import { ok, Services } from '../shared/services';

/** An evidence pack as GET /evidence-packs lists it: the projection service's document without its contents. */
export type PackSummary = Omit<PackDocument, 'contents'>;

/** A pack as GET /evidence-packs/{id} answers it, as far as the pages read its contents. */
export type PackWithTables = PackSummary & { contents: { tables: { id: string; title?: string }[] } };

export const PACK_STATUS: Record<PackSummary['status'], string> = {
  composed: 'Waiting for approval',
  declined: 'Declined',
  published: 'Published',
};

/**
 * A pack's file from the projection service (its page, PDF, a table as CSV, its JSON), fetched as the user and
 * passed on byte for byte with its type; `download` makes it an attachment. The printed page keeps its own
 * inline styles under a policy of its own: nothing else loads or runs in it.
 */
export async function sendPackFile(
  services: Services,
  res: Response,
  actor: Actor,
  path: string,
  download: string | null,
): Promise<void> {
  const file = ok(await services.as(actor).projectionFile(path));
  res.status(200).type(file.contentType);
  if (download) res.set('content-disposition', file.disposition ?? `attachment; filename="${download}"`);
  else
    res.set(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'",
    );
  res.send(file.bytes);
}
