import { Consortium } from '@app/consortium';
import { Actor, TokenKeys } from '@app/platform';

/** The demo users of the embedded default: a worker and a steward per partner, a reader per statutory body. */
export function demoUsers(c: Consortium): Actor[] {
  const partnerUsers = c.partners.flatMap((p): Actor[] => [
    {
      userId: `${p.id}-worker`,
      name: `${p.name} Development Support Worker`,
      organisation: p.id,
      role: 'worker',
    },
    { userId: `${p.id}-steward`, name: `${p.name} CEO`, organisation: p.id, role: 'steward' },
  ]);
  const readers = c.statutoryBodies.map(
    (b): Actor => ({
      userId: `${b.id}-reader`,
      name: `${b.name} officer`,
      organisation: b.id,
      role: 'statutory-reader',
    }),
  );
  const admin: Actor = {
    userId: `${c.id}-admin`,
    name: 'Consortium administrator',
    organisation: `${c.id}-admin`,
    role: 'consortium-admin',
  };
  return [...partnerUsers, ...readers, admin];
}

export async function demoTokens(c: Consortium, keys: TokenKeys): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  for (const u of demoUsers(c)) tokens.set(u.userId, await keys.sign(u, '30d'));
  return tokens;
}
