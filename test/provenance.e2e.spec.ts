import { provenanceOf } from '../apps/projection-service/src/evidence/provenance';
import { api, settled, startTestConsortium, tokenFor } from './harness/consortium';

/**
 * Evidence that can be trusted: the hashes travel with the events, so what the projection built its views
 * from digests to exactly what each partner's own store says about the same positions.
 */
describe('provenance of the read models', () => {
  it.each(['real', 'embedded'] as const)(
    'digests each partner’s events as its own store does (%s)',
    async (setting) => {
      const c = await startTestConsortium(setting);
      try {
        const fs = c.partners.get('fresh-start')!.url;
        const w = await tokenFor(c, 'fresh-start', 'worker');
        for (let i = 0; i < 3; i++) {
          const r = await api(fs, 'POST', '/people', w, {
            name: `P ${i}`,
            dateOfBirth: '1980-01-01',
            whatMatters: 'x',
          });
          await api(fs, 'POST', `/people/${r.body.personRef}/journey/contacts`, w, {
            kind: 'visit',
            occurredAt: new Date(Date.now() - 60_000).toISOString(),
            durationMinutes: 5,
          });
        }
        await settled(c);
        const {
          provenance: [fresh],
        } = await provenanceOf(c.projection.dataSource.manager, c.schemaOf('projection'));
        expect(fresh).toMatchObject({ partner: 'fresh-start', events: 6 });
        const store = c.partners.get('fresh-start')!.store;
        const own = await store.verifyRange(fresh.from, fresh.to);
        expect(own).toMatchObject({ events: 6, digest: fresh.digest, altered: [] });
      } finally {
        await c.stop();
      }
    },
  );
});
