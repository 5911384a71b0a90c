// Bundles: one self-contained folder per target, with our code and every pure-JS dependency bundled by esbuild,
// and only what must stay a real package (the platform's own runtime library, and the Google SDK that loads
// .proto files at run time, and @platformatic/kafka, which reads its WebAssembly helpers from its own folder) left
// as a pinned dependency for `npm ci` (the deploy bundles) or `npm install` (the CLI's package). The targets: the
// deploy bundles of the two clouds, and the ops CLI as an npm package (`graph2kafka`, with a bin).
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';

export type Platform = 'gcp' | 'azure';
export type Target = Platform | 'cli';
export const TARGETS: readonly Target[] = ['gcp', 'azure', 'cli'];

interface TargetSpec {
  pkg: string;
  description: string;
  /** The module under the package's src/ that the platform (or `node`) loads, and its name in dist/. */
  entry: {
    source: string;
    name: string;
    /** A command run from a shell (`#!`), on whatever Node is on PATH: below this major it says so and exits 2. */
    command?: { requiresNode: number };
  };
  /** Packages installed beside the bundle, resolved from this package's folder. */
  runtime: string[];
  /** Packages neither bundled nor installed: only loaded by features of the other cloud (with a clear error). */
  absent: string[];
  /** Files copied into the bundle as they are, from the package folder (the workspace root's for `/`…). */
  files: Record<string, string>;
  /** What package.json says besides name, version, description, licence, engines and dependencies. */
  manifest: Record<string, unknown>;
  /** Whether a package-lock.json is written: the clouds install from it; npm leaves it out of a packed package. */
  lockfile: boolean;
}

const root = path.resolve(import.meta.dirname, '..', '..');

const SPECS: Record<Target, TargetSpec> = {
  gcp: {
    pkg: 'gcp-fn',
    description:
      'graph2kafka for Cloud Run functions (Google Cloud): graphNotifications, graphLifecycle, subscriptionRenewal.',
    runtime: [
      '@google-cloud/functions-framework',
      '@google-cloud/secret-manager',
      'google-auth-library',
      '@platformatic/kafka',
    ],
    entry: { source: 'index.ts', name: 'index' },
    absent: [],
    files: { 'deploy/.gcloudignore': '.gcloudignore' },
    manifest: {
      private: true,
      main: 'dist/index.js',
      scripts: { start: 'functions-framework --target=graphNotifications' },
    },
    lockfile: true,
  },
  azure: {
    pkg: 'azure-fn',
    description: 'graph2kafka for Azure Functions (Node.js v4 model): notifications, lifecycle, renewal timer.',
    runtime: ['@azure/functions', '@platformatic/kafka'],
    entry: { source: 'index.ts', name: 'index' },
    absent: ['@google-cloud/secret-manager', 'google-auth-library'],
    files: { 'deploy/host.json': 'host.json', 'deploy/.funcignore': '.funcignore' },
    manifest: { private: true, main: 'dist/index.js', scripts: { start: 'func start' } },
    lockfile: true,
  },
  cli: {
    pkg: 'cli',
    description:
      "graph2kafka's ops CLI: pipeline status, Graph subscriptions, dead-letter replay and repair, with the functions' own settings.",
    entry: { source: 'cli.ts', name: 'cli', command: { requiresNode: 22 } },
    // An operator of either cloud: Secret Manager references (sm:…) and Google OAUTHBEARER are read with the
    // GCP functions' packages, loaded only when the settings name them; KAFKA_CLIENT=platformatic as the functions.
    runtime: ['@google-cloud/secret-manager', 'google-auth-library', '@platformatic/kafka'],
    absent: [],
    files: { '/LICENSE': 'LICENSE', 'package-readme.md': 'README.md' },
    manifest: {
      bin: { graph2kafka: 'dist/cli.js' },
      files: ['dist'],
      keywords: ['microsoft-graph', 'kafka', 'change-notifications', 'cli'],
    },
    lockfile: false,
  },
};

export interface BundleResult {
  platform: Target;
  dir: string;
  /** Bytes of the bundled JavaScript (without source maps and licence files). */
  codeBytes: number;
  dependencies: Record<string, string>;
}

async function installedVersion(name: string, from: string): Promise<string> {
  const manifest = path.join(from, 'node_modules', ...name.split('/'), 'package.json');
  return (JSON.parse(await readFile(manifest, 'utf8')) as { version: string }).version;
}

async function codeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile() && entry.name.endsWith('.js'))
      total += (await stat(path.join(entry.parentPath, entry.name))).size;
  return total;
}

/** Lists the input packages of the bundle, largest first: what to look at when the bundle grows. */
export function largestInputs(metafile: Metafile, top = 8): Array<[string, number]> {
  const byPackage = new Map<string, number>();
  for (const [file, input] of Object.entries(metafile.inputs)) {
    const match = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(file);
    const name = match?.[1] ?? 'graph2kafka';
    byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytes);
  }
  return [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top);
}

/**
 * Points the source maps' files at their place in the workspace (`graph2kafka:///packages/core/src/…ts`):
 * esbuild writes them relative to the output folder, which in a stack trace from an installed package reads
 * as a path that exists nowhere (`node_modules/src/cli.ts`).
 */
async function nameSourcesFromRoot(distDir: string): Promise<void> {
  for (const entry of await readdir(distDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.map')) continue;
    const file = path.join(entry.parentPath, entry.name);
    const map = JSON.parse(await readFile(file, 'utf8')) as { sources: string[]; sourceRoot?: string };
    map.sources = map.sources.map((source) =>
      path.relative(root, path.resolve(entry.parentPath, source)).split(path.sep).join('/'),
    );
    map.sourceRoot = 'graph2kafka:///';
    await writeFile(file, JSON.stringify(map));
  }
}

/**
 * The module the platform loads: it turns on source maps, then imports the bundle. Node maps stack traces through
 * the .map files only for modules it loads after that call, and an ES module's static imports all load before
 * its first line runs: hence an entry of its own and a dynamic import. Its exports are the bundle's.
 * process.setSourceMapsEnabled rather than module.setSourceMapsSupport (Node 22.14+): it covers files under
 * node_modules too, where npm installs the CLI, and is in every Node 22.
 */
function sourceMappedEntry(bundle: string, exports: string[], command?: { requiresNode: number }): string {
  const named = exports.filter((e) => e !== 'default');
  return [
    ...(command
      ? [
          '#!/usr/bin/env node',
          // npm only warns about `engines`; an older Node would fail inside the bundle, printing a minified line.
          `if (Number(process.versions.node.split('.')[0]) < ${command.requiresNode}) {`,
          `  console.error(\`graph2kafka needs Node.js ${command.requiresNode} or newer; this is \${process.version} (\${process.execPath})\`);`,
          '  process.exit(2);',
          '}',
        ]
      : []),
    '// Stack traces name our TypeScript (through the .map files beside each chunk), not the minified chunks.',
    'process.setSourceMapsEnabled(true);',
    ...(exports.length
      ? [
          `const bundle = await import('./${bundle}');`,
          ...(named.length ? [`export const { ${named.join(', ')} } = bundle;`] : []),
          ...(exports.includes('default') ? ['export default bundle.default;'] : []),
        ]
      : [`await import('./${bundle}');`]),
    '',
  ].join('\n');
}

/**
 * Builds the bundle of one target into `outDir` (emptied first). With `lockfile` (default: the target's), npm
 * writes the package-lock.json that the platform's `npm ci` installs from (this asks the npm registry, nothing
 * else).
 */
export async function buildBundle(
  platform: Target,
  outDir: string,
  opts: { lockfile?: boolean } = {},
): Promise<BundleResult & { metafile: Metafile }> {
  const spec = SPECS[platform];
  const pkgDir = path.join(root, 'packages', spec.pkg);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });

  const bundleName = `${spec.entry.name}.bundle`;
  const result = await build({
    absWorkingDir: root,
    entryPoints: { [bundleName]: path.join(pkgDir, 'src', spec.entry.source) },
    outdir: path.join(outDir, 'dist'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    // Split chunks keep core's lazy import() lazy: a cold instance parses only the handshake path first.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    conditions: ['@graph2kafka/source'],
    external: [...spec.runtime, ...spec.absent, 'pg-native'],
    // Bundled CommonJS packages call require() for Node built-ins; ESM output has none unless we make one.
    banner: {
      js: "import { createRequire as __g2kRequire } from 'node:module'; const require = __g2kRequire(import.meta.url);",
    },
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    // Lines and names only: the sources are in the repository at the version. With them, the maps were 9.5 MiB,
    // and Node reads a map whole when its chunk loads (+44 MB and +60 ms for the CLI; without, +16 MB, +25 ms).
    sourcesContent: false,
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  await nameSourcesFromRoot(path.join(outDir, 'dist'));
  const bundleFile = path.join(outDir, 'dist', `${bundleName}.js`);
  const bundleOutput = result.metafile.outputs[path.relative(root, bundleFile)];
  if (!bundleOutput) throw new Error(`esbuild did not write ${bundleFile}`);
  const entryFile = path.join(outDir, 'dist', `${spec.entry.name}.js`);
  await writeFile(
    entryFile,
    sourceMappedEntry(`${bundleName}.js`, bundleOutput.exports, spec.entry.command),
    spec.entry.command ? { mode: 0o755 } : {},
  );

  const dependencies: Record<string, string> = {};
  const resolveFrom = [pkgDir, path.join(root, 'packages', 'core')];
  for (const name of spec.runtime) {
    let version: string | undefined;
    for (const from of resolveFrom) version ??= await installedVersion(name, from).catch(() => undefined);
    if (!version) throw new Error(`${name} is not installed for ${spec.pkg}; run pnpm install first`);
    dependencies[name] = version;
  }
  const manifest = {
    name: platform === 'cli' ? 'graph2kafka' : `graph2kafka-${platform}`,
    version: (JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string }).version,
    description: spec.description,
    license: 'MIT',
    type: 'module',
    engines: { node: '>=22 <25' },
    ...spec.manifest,
    dependencies,
  };
  await writeFile(path.join(outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const [from, to] of Object.entries(spec.files))
    await cp(from.startsWith('/') ? path.join(root, from) : path.join(pkgDir, from), path.join(outDir, to));
  if (opts.lockfile ?? spec.lockfile)
    await promisify(execFile)(
      'npm',
      [
        'install',
        '--package-lock-only',
        // Metadata npm has already fetched first: a registry caught mid-publish (a package's new version listed
        // before the dependency it needs) must not fail the build when a consistent answer is at hand.
        '--prefer-offline',
        '--omit=dev',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
      ],
      { cwd: outDir },
    );
  return {
    platform,
    dir: outDir,
    codeBytes: await codeBytes(path.join(outDir, 'dist')),
    dependencies,
    metafile: result.metafile,
  };
}

export function bundleDir(platform: Target): string {
  return path.join(root, 'packages', SPECS[platform].pkg, 'bundle');
}

export interface Tarball {
  file: string;
  /** Bytes of the .tgz, and of what it unpacks to. */
  size: number;
  unpackedSize: number;
  files: string[];
}

/** `npm pack` of a built bundle (the CLI's: what `npm publish` would upload), into the same folder. */
export async function packTarball(dir: string): Promise<Tarball> {
  const { stdout } = await promisify(execFile)(
    'npm',
    ['pack', '--json', '--pack-destination', dir, '--loglevel=error'],
    { cwd: dir },
  );
  const [packed] = JSON.parse(stdout) as Array<{
    filename: string;
    size: number;
    unpackedSize: number;
    files: Array<{ path: string }>;
  }>;
  if (!packed) throw new Error(`npm pack in ${dir} answered nothing: ${stdout}`);
  return {
    file: path.join(dir, packed.filename),
    size: packed.size,
    unpackedSize: packed.unpackedSize,
    files: packed.files.map((f) => f.path),
  };
}
