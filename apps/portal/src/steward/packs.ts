/** An evidence pack as GET /evidence-packs lists it (its contents left out). */
export interface PackSummary {
  packId: string;
  status: 'composed' | 'declined' | 'published';
  body: string;
  period: { from: string; to: string };
  composedBy: { partner: string; user: string };
  composedAt: string;
  approvalsNeeded: number;
  approvals: { partner: string; user: string; at: string }[];
  declined: { partner: string; user: string; reason: string; at: string } | null;
  publication: { publishedAt: string; digest: string } | null;
}

export const PACK_STATUS: Record<PackSummary['status'], string> = {
  composed: 'Waiting for approval',
  declined: 'Declined',
  published: 'Published',
};
