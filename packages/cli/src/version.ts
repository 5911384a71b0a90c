// The version an operator quotes in a report: the one of the package `graph2kafka` this code came from. Found by
// walking up from this file, so it answers the same from the workspace's sources (the root package.json) and
// from the built bundle, whether in its own folder or installed under node_modules/graph2kafka.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageVersion(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'graph2kafka' && pkg.version) return pkg.version;
    }
    if (path.dirname(dir) === dir) throw new Error(`no package.json of graph2kafka above ${from}`);
  }
}
