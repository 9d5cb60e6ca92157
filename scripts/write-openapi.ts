import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openApiDocuments } from './openapi-documents';

/** `npm run openapi`: writes the services' API descriptions into docs/openapi/. */
openApiDocuments().then((docs) => {
  for (const [name, doc] of Object.entries(docs)) {
    writeFileSync(resolve(__dirname, `../docs/openapi/${name}.json`), `${JSON.stringify(doc, null, 2)}\n`);
  }
  process.stdout.write(`written: ${Object.keys(docs).join(', ')}\n`);
});
