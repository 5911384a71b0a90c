// `pnpm build [gcp|azure] [--out DIR]`: the deploy bundles, by default into packages/gcp-fn/bundle and
// packages/azure-fn/bundle (see docs/deploy-*.md). `--out` builds one platform into another folder.
import { parseCommandLine } from '../args.ts';
import { buildBundle, bundleDir, largestInputs, type Platform } from './bundle.ts';

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
const USAGE = `pnpm build [gcp|azure] [--out DIR]: the deploy bundles (both platforms unless one is named)
  --out DIR   build the one platform named into DIR instead of packages/<platform>-fn/bundle`;
const { values, positionals } = parseCommandLine(USAGE, {
  options: { out: { type: 'string' } },
  allowPositionals: true,
});
const unknown = positionals.filter((a) => a !== 'gcp' && a !== 'azure');
if (unknown.length || (values.out && positionals.length !== 1)) {
  console.error(
    `${unknown.length ? `unknown platform ${unknown.join(', ')}` : '--out needs exactly one platform'}\n\n${USAGE}`,
  );
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
