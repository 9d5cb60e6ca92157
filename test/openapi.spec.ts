import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RunningConsortium } from '../apps/consortium/src/consortium-runner';
import { openApiDocuments } from '../scripts/openapi-documents';
import { api, startTestConsortium } from './harness/consortium';

type Doc = { paths: Record<string, Record<string, { security: unknown[] }>> };

describe('the API descriptions (OpenAPI)', () => {
  let c: RunningConsortium;
  beforeAll(async () => {
    c = await startTestConsortium('embedded');
  });
  afterAll(() => c?.stop());

  it('are kept in docs/openapi as the services describe themselves (npm run openapi writes them)', async () => {
    for (const [name, doc] of Object.entries(await openApiDocuments())) {
      const kept = JSON.parse(readFileSync(resolve(__dirname, `../docs/openapi/${name}.json`), 'utf8'));
      expect({ name, doc: kept }).toEqual({ name, doc });
    }
  });

  it.each([
    ['partner service', () => c.partners.get('fresh-start')!.url],
    ['projection service', () => c.projection.url],
  ])(
    'the %s serves its description, and every route in it exists and asks for a token where it should',
    async (_, url) => {
      const served = await api(url(), 'GET', '/openapi.json');
      expect(served.status).toBe(200);
      const doc = served.body as unknown as Doc;
      const routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.entries(methods).map(([m, op]) => ({ path, m, op })),
      );
      expect(routes.length).toBeGreaterThan(4);
      for (const { path, m, op } of routes) {
        const concrete = path.replace(/\{(\w+)\}/g, (_x, p: string) =>
          p === 'personRef' ? 'NE-0000000000' : '00000000-0000-4000-8000-000000000000',
        );
        const r = await api(url(), m.toUpperCase(), concrete);
        expect({ path, m, generic404: r.body.detail === 'There is nothing at this address' }).toEqual({
          path,
          m,
          generic404: false,
        });
        if (op.security.length) expect({ path, m, status: r.status }).toEqual({ path, m, status: 401 });
      }
    },
  );
});
