// `pnpm build [gcp|azure|cli] [--out DIR]`: the deploy bundles, by default into packages/gcp-fn/bundle and
// packages/azure-fn/bundle (see docs/deploy-*.md), and the ops CLI's npm package into packages/cli/bundle with
// its tarball (`npm pack`). `--out` builds one target into another folder.
import { parseCommandLine } from '../args.ts';
import { buildBundle, bundleDir, largestInputs, packTarball, TARGETS, type Target } from './bundle.ts';

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
const USAGE = `pnpm build [gcp|azure|cli] [--out DIR]: the deploy bundles and the ops CLI's npm package (every target
unless some are named)
  gcp, azure  the deploy bundle, into packages/<platform>-fn/bundle
  cli         the graph2kafka npm package and its tarball (npm pack), into packages/cli/bundle; install it with
              npm install -g packages/cli/bundle/graph2kafka-VERSION.tgz
  --out DIR   build the one target named into DIR instead`;
const { values, positionals } = parseCommandLine(USAGE, {
  options: { out: { type: 'string' } },
  allowPositionals: true,
});
const unknown = positionals.filter((a) => !(TARGETS as readonly string[]).includes(a));
if (unknown.length || (values.out && positionals.length !== 1)) {
  console.error(
    `${unknown.length ? `unknown target ${unknown.join(', ')}` : '--out needs exactly one target'}\n\n${USAGE}`,
  );
  process.exit(2);
}
const targets = positionals.length ? (positionals as Target[]) : TARGETS;

for (const target of targets) {
  const began = Date.now();
  const bundle = await buildBundle(target, values.out ?? bundleDir(target));
  const installs = Object.entries(bundle.dependencies).map(([n, v]) => `${n}@${v}`);
  console.log(
    `${target}: ${bundle.dir} — ${kib(bundle.codeBytes)} of JavaScript, built in ${Date.now() - began} ms; ${target === 'cli' ? 'npm' : 'the platform'} installs ${installs.join(', ')}`,
  );
  console.log(
    `  largest inputs: ${largestInputs(bundle.metafile)
      .map(([n, b]) => `${n} ${kib(b)}`)
      .join(', ')}`,
  );
  if (target === 'cli') {
    const tarball = await packTarball(bundle.dir);
    console.log(`  ${tarball.file}: ${kib(tarball.size)} (${kib(tarball.unpackedSize)} unpacked)`);
  }
}
