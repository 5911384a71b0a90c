// `pnpm docs:schemas`: writes the records' JSON Schemas (packages/core/src/schemas/record-schemas.ts) to
// packages/core/schemas, where consumers and registries take them from. packages/core/tests/record-schemas.test.ts
// fails when the files and the code drift apart.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { recordSchemas } from '@graph2kafka/core';
import { parseCommandLine } from './args.ts';

parseCommandLine("pnpm docs:schemas: writes the records' JSON Schemas to packages/core/schemas (no options)", {
  options: {},
});

const dir = path.join('packages', 'core', 'schemas');
mkdirSync(dir, { recursive: true });
const schemas = recordSchemas();
// A schema no longer made (a kind removed) must not linger for consumers to find.
for (const file of readdirSync(dir)) if (!(file in schemas)) rmSync(path.join(dir, file));
for (const [file, schema] of Object.entries(schemas)) {
  const target = path.join(dir, file);
  // With the repository's Prettier settings, so the files pass `prettier --check` as written.
  writeFileSync(target, await format(JSON.stringify(schema), { ...(await resolveConfig(target)), filepath: target }));
}
console.log(`${dir}: ${Object.keys(schemas).join(', ')}`);
