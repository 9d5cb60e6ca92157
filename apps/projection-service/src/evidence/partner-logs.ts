import { RangeVerification } from '@app/event-store';
import { TokenKeys } from '@app/platform';
import { PartnerLogs } from './evidence-packs';

/**
 * Each partner's own store, asked over HTTP (`GET /log/verification`) as the consortium's administrator: the
 * evidence is checked against the partners' records, not against the projection's copy of them.
 */
export class HttpPartnerLogs implements PartnerLogs {
  constructor(
    private readonly urls: Record<string, string>,
    private readonly tokenKeys: TokenKeys,
    private readonly consortiumId: string,
  ) {}

  async verify(partner: string, from: number, to: number): Promise<RangeVerification> {
    const url = this.urls[partner];
    if (!url) throw new Error(`no address is configured for ${partner}'s service`);
    const token = await this.tokenKeys.sign(
      {
        userId: 'evidence-verification',
        name: 'Evidence verification',
        organisation: `${this.consortiumId}-admin`,
        role: 'consortium-admin',
      },
      '5m',
    );
    const res = await fetch(`${url}/log/verification?from=${from}&to=${to}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(30_000),
    }).catch((e: Error) => {
      throw new Error(`${partner}'s service could not be reached (${e.message})`);
    });
    if (!res.ok) throw new Error(`${partner}'s service answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as RangeVerification;
  }
}
