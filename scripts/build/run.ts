// `pnpm build [gcp|azure] [--out DIR]`: the deploy bundles, by default into packages/gcp-fn/bundle and
// packages/azure-fn/bundle (see docs/deploy-*.md). `--out` builds one platform into another folder.
import { parseArgs } from 'node:util';
import { buildBundle, bundleDir, largestInputs, type Platform } from './bundle.ts';

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
const { values, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
const unknown = positionals.filter((a) => a !== 'gcp' && a !== 'azure');
if (unknown.length || (values.out && positionals.length !== 1)) {
  console.error('usage: pnpm build [gcp|azure] [--out DIR]   (--out needs exactly one platform)');
  process.exit(2);
}
const platforms = positionals.length ? (positionals as Platform[]) : (['gcp', 'azure'] as const);

for (const platform of platforms) {
  const began = Date.now();
  const bundle = await buildBundle(platform, values.out ?? bundleDir(platform));
  const installs = Object.entries(bundle.dependencies).map(([n, v]) => `${n}@${v}`);
  console.log(
    `${platform}: ${bundle.dir} — ${kib(bundle.codeBytes)} of JavaScript, built in ${Date.now() - began} ms; the platform installs ${installs.join(', ')}`,
  );
  console.log(
    `  largest inputs: ${largestInputs(bundle.metafile)
      .map(([n, b]) => `${n} ${kib(b)}`)
      .join(', ')}`,
  );
}
