import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildGatewaySchema, printGatewaySchema } from '../gateway/graphql/build-schema.js';

/**
 * Prints the schema to schema/schema.graphql. With --check, writes nothing and exits 1 when the
 * committed file differs from the built schema.
 */
const target = fileURLToPath(new URL('../schema/schema.graphql', import.meta.url));
const printed = printGatewaySchema(await buildGatewaySchema());

if (process.argv.includes('--check')) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== printed) {
    console.error('schema/schema.graphql is stale: run `npm run schema:print` and commit it');
    process.exit(1);
  }
  console.log('schema/schema.graphql is current');
} else {
  await writeFile(target, printed);
  console.log(`wrote ${target}`);
}
