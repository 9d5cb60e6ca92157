import type { PackDocument } from '../../../projection-service/src/evidence/evidence-packs';

/** An evidence pack as GET /evidence-packs lists it: the projection service's document without its contents. */
export type PackSummary = Omit<PackDocument, 'contents'>;

/** A pack as GET /evidence-packs/{id} answers it, as far as the pages read its contents. */
export type PackWithTables = PackSummary & { contents: { tables: { id: string; title?: string }[] } };

export const PACK_STATUS: Record<PackSummary['status'], string> = {
  composed: 'Waiting for approval',
  declined: 'Declined',
  published: 'Published',
};
