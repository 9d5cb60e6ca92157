import { loadConsortium } from '@app/consortium';
import { openApiDocument } from '@app/platform';
import { partnerRoutes } from '../apps/partner-service/src/api-description';
import { PartnerRuntime } from '../apps/partner-service/src/shared/partner-runtime';
import { PROJECTION_ROUTES } from '../apps/projection-service/src/api-description';

/** The API descriptions as the services serve them, for the default consortium's first partner. */
export async function openApiDocuments(): Promise<Record<string, object>> {
  const consortium = loadConsortium();
  const partnerId = consortium.partners[0].id;
  const runtime = { consortium, partnerId } as PartnerRuntime; // the routes need only these two
  return {
    'partner-service': openApiDocument(
      `${consortium.name}: ${partnerId} partner service`,
      '1',
      partnerRoutes(runtime),
    ),
    'projection-service': openApiDocument(`${consortium.name}: projection service`, '1', PROJECTION_ROUTES),
  };
}
