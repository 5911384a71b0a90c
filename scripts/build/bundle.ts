// Deploy bundles: one self-contained folder per platform, with our code and every pure-JS dependency bundled
// by esbuild, and only what must stay a real package (the platform's own runtime library, and the Google SDK
// that loads .proto files at run time, and @platformatic/kafka, which reads its WebAssembly helpers from its
// own folder) left as a pinned dependency for the platform's `npm ci`.
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';

export type Platform = 'gcp' | 'azure';

interface PlatformSpec {
  pkg: string;
  description: string;
  /** Packages installed beside the bundle, resolved from this package's folder. */
  runtime: string[];
  /** Packages neither bundled nor installed: only loaded by features of the other cloud (with a clear error). */
  absent: string[];
  scripts: Record<string, string>;
  /** Files copied into the bundle as they are, from the package folder. */
  files: Record<string, string>;
}

const root = path.resolve(import.meta.dirname, '..', '..');

const SPECS: Record<Platform, PlatformSpec> = {
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
    absent: [],
    scripts: { start: 'functions-framework --target=graphNotifications' },
    files: { 'deploy/.gcloudignore': '.gcloudignore' },
  },
  azure: {
    pkg: 'azure-fn',
    description: 'graph2kafka for Azure Functions (Node.js v4 model): notifications, lifecycle, renewal timer.',
    runtime: ['@azure/functions', '@platformatic/kafka'],
    absent: ['@google-cloud/secret-manager', 'google-auth-library'],
    scripts: { start: 'func start' },
    files: { 'deploy/host.json': 'host.json', 'deploy/.funcignore': '.funcignore' },
  },
};

export interface BundleResult {
  platform: Platform;
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
 * Builds the bundle of one platform into `outDir` (emptied first). With `lockfile`, npm writes the
 * package-lock.json that the platform's `npm ci` installs from (this asks the npm registry, nothing else).
 */
export async function buildBundle(
  platform: Platform,
  outDir: string,
  opts: { lockfile?: boolean } = {},
): Promise<BundleResult & { metafile: Metafile }> {
  const spec = SPECS[platform];
  const pkgDir = path.join(root, 'packages', spec.pkg);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });

  const result = await build({
    absWorkingDir: root,
    entryPoints: { index: path.join(pkgDir, 'src', 'index.ts') },
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
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
  });

  const dependencies: Record<string, string> = {};
  const resolveFrom = [pkgDir, path.join(root, 'packages', 'core')];
  for (const name of spec.runtime) {
    let version: string | undefined;
    for (const from of resolveFrom) version ??= await installedVersion(name, from).catch(() => undefined);
    if (!version) throw new Error(`${name} is not installed for ${spec.pkg}; run pnpm install first`);
    dependencies[name] = version;
  }
  const manifest = {
    name: `graph2kafka-${platform}`,
    version: (JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string }).version,
    private: true,
    description: spec.description,
    license: 'MIT',
    type: 'module',
    main: 'dist/index.js',
    engines: { node: '>=22 <25' },
    scripts: spec.scripts,
    dependencies,
  };
  await writeFile(path.join(outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const [from, to] of Object.entries(spec.files)) await cp(path.join(pkgDir, from), path.join(outDir, to));
  if (opts.lockfile ?? true)
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

export function bundleDir(platform: Platform): string {
  return path.join(root, 'packages', SPECS[platform].pkg, 'bundle');
}
