import { RangeVerification } from '@app/event-store';
import { TokenKeys } from '@app/platform';
import { PartnerLogs } from './evidence-packs';

/**
 * Each partner's own store, asked over HTTP (`GET /log/verification`): the evidence is checked against the
 * partners' records, not against the projection's copy of them. `token` gives the bearer token to ask with.
 */
export class HttpPartnerLogs implements PartnerLogs {
  constructor(
    private readonly urls: Record<string, string>,
    private readonly token: () => Promise<string>,
  ) {}

  /** Asks as the consortium's administrator, with a token signed here (the projection service's way). */
  static asAdministrator(urls: Record<string, string>, tokenKeys: TokenKeys, consortiumId: string) {
    const actor = {
      userId: 'evidence-verification',
      name: 'Evidence verification',
      organisation: `${consortiumId}-admin`,
      role: 'consortium-admin' as const,
    };
    return new HttpPartnerLogs(urls, () => tokenKeys.sign(actor, '5m'));
  }

  async verify(partner: string, from: number, to: number): Promise<RangeVerification> {
    const url = this.urls[partner];
    if (!url) throw new Error(`no address is configured for ${partner}'s service`);
    const res = await fetch(`${url}/log/verification?from=${from}&to=${to}`, {
      headers: { authorization: `Bearer ${await this.token()}` },
      signal: AbortSignal.timeout(30_000),
    }).catch((e: Error) => {
      throw new Error(`${partner}'s service could not be reached (${e.message})`);
    });
    if (!res.ok) throw new Error(`${partner}'s service answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as RangeVerification;
  }
}
