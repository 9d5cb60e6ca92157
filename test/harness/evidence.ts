import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { api } from './consortium';

/** A receiver for a statutory body's webhook: answers as told, keeps what it was sent. */
export async function receiver(answers: number[]) {
  const received: { headers: IncomingMessage['headers']; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = answers.length > 1 ? (answers.shift() as number) : answers[0];
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    answers,
    close: () => new Promise((r) => server.close(r)),
  };
}

/**
 * A pack for `body` composed by one partner's steward, approved by every other partner's steward, and published;
 * `stewards` holds a steward's token for each partner. Answers the pack's id.
 */
export async function publishPack(
  projection: string,
  stewards: Record<string, string>,
  composer: string,
  body: string,
  period: { from: string; to: string },
): Promise<string> {
  const composed = await api(projection, 'POST', '/evidence-packs', stewards[composer], { body, period });
  if (composed.status !== 201)
    throw new Error(`composing answered ${composed.status}: ${composed.body.detail}`);
  const packId = composed.body.packId as string;
  for (const [partner, token] of Object.entries(stewards)) {
    if (partner === composer) continue;
    const approved = await api(projection, 'POST', `/evidence-packs/${packId}/approval`, token);
    if (approved.status !== 201) throw new Error(`${partner}'s approval answered ${approved.status}`);
  }
  const published = await api(
    projection,
    'POST',
    `/evidence-packs/${packId}/publication`,
    stewards[composer],
  );
  if (published.status !== 201)
    throw new Error(`publishing answered ${published.status}: ${published.body.detail}`);
  return packId;
}
