/**
 * The house in figures, counted from the imports: `pnpm arch [--json] [package …]` (default: core and graph-sim).
 * Rooms are the top-level folders of a package's `src` (a file at the top is a room of its own); a room's floor
 * is one above the highest room it imports. An import between two rooms that import each other, directly or
 * round a longer circle, runs upward whichever order they are given. `docs/architecture.md` quotes these figures
 * and `infra/tests/architecture.test.ts` holds core and graph-sim to no circle.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface HouseFigures {
  package: string;
  files: number;
  lines: number;
  rooms: number;
  floors: number;
  /** Each room's floor (1: imports no other room). */
  roomFloors: Record<string, number>;
  /** Imports between rooms of one circle (each runs up, read in whichever order). */
  upwardImports: number;
  /** Circles of rooms and of files: each a list of the names in it. */
  roomCircles: string[][];
  fileCircles: string[][];
  /** Names `src/index.ts` exports (none when the package has no index). */
  exportedNames: number;
  largest: Array<{ file: string; lines: number }>;
}

const ROOT = resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out.sort();
}

/** The files of `src` a file imports by relative path (package imports are other houses). */
function importsOf(file: string, known: Set<string>): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const targets: string[] = [];
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;
    const base = resolve(dirname(file), ref.fileName);
    const hit = [base, `${base}.ts`, base.replace(/\.js$/, '.ts'), join(base, 'index.ts')].find((p) => known.has(p));
    if (hit && hit !== file) targets.push(hit);
  }
  return targets;
}

/** Tarjan's strongly connected components; only those of two or more nodes are circles. */
function circles(nodes: string[], edges: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return found;
}

function exportedNames(indexFile: string): number {
  const source = ts.createSourceFile(indexFile, readFileSync(indexFile, 'utf8'), ts.ScriptTarget.Latest);
  let count = 0;
  source.forEachChild((node) => {
    if (ts.isExportDeclaration(node) && node.exportClause && ts.isNamedExports(node.exportClause))
      count += node.exportClause.elements.length;
    else if (ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword))
      count += ts.isVariableStatement(node) ? node.declarationList.declarations.length : 1;
  });
  return count;
}

/** `pkg`: a package's name (its `packages/<pkg>/src` is measured), or a folder of sources given by path. */
export function houseFigures(pkg: string): HouseFigures {
  const src = pkg.includes('/') ? resolve(pkg) : join(ROOT, 'packages', pkg, 'src');
  const files = sourceFiles(src);
  const known = new Set(files);
  const roomOf = (file: string): string => relative(src, file).split('/')[0]!;
  const fileEdges = new Map<string, Set<string>>();
  const roomEdges = new Map<string, Set<string>>();
  const crossing: Array<[string, string]> = [];
  let lines = 0;
  const sizes: Array<{ file: string; lines: number }> = [];
  for (const file of files) {
    const count = readFileSync(file, 'utf8').split('\n').length - 1;
    lines += count;
    sizes.push({ file: relative(ROOT, file), lines: count });
    const targets = importsOf(file, known);
    fileEdges.set(file, new Set(targets));
    for (const target of targets) {
      const [from, to] = [roomOf(file), roomOf(target)];
      if (from === to) continue;
      crossing.push([from, to]);
      if (!roomEdges.has(from)) roomEdges.set(from, new Set());
      roomEdges.get(from)!.add(to);
    }
  }
  const rooms = [...new Set(files.map(roomOf))].sort();
  const roomCircles = circles(rooms, roomEdges);
  const circleOf = new Map<string, number>();
  roomCircles.forEach((c, i) => c.forEach((room) => circleOf.set(room, i)));
  const upwardImports = crossing.filter(
    ([from, to]) => circleOf.has(from) && circleOf.get(from) === circleOf.get(to),
  ).length;
  // Floors over the rooms with each circle taken as one room (a circle has no order of its own).
  const unit = (room: string): string => (circleOf.has(room) ? `circle-${circleOf.get(room)}` : room);
  const floor = new Map<string, number>();
  const floorOf = (u: string, seen: Set<string>): number => {
    if (floor.has(u)) return floor.get(u)!;
    // The condensed graph has no circle; the guard only keeps a malformed one from recursing for ever.
    if (seen.has(u)) return 0;
    seen.add(u);
    let highest = 0;
    for (const room of rooms.filter((r) => unit(r) === u))
      for (const to of roomEdges.get(room) ?? [])
        if (unit(to) !== u) highest = Math.max(highest, floorOf(unit(to), seen));
    floor.set(u, highest + 1);
    return highest + 1;
  };
  const floors = Math.max(0, ...rooms.map((r) => floorOf(unit(r), new Set())));
  const indexFile = join(src, 'index.ts');
  return {
    package: pkg,
    files: files.length,
    lines,
    rooms: rooms.length,
    floors,
    roomFloors: Object.fromEntries(rooms.map((r) => [r, floorOf(unit(r), new Set())])),
    upwardImports,
    roomCircles,
    fileCircles: circles(files, fileEdges).map((c) => c.map((f) => relative(src, f))),
    exportedNames: known.has(indexFile) ? exportedNames(indexFile) : 0,
    largest: sizes.sort((a, b) => b.lines - a.lines).slice(0, 5),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(`pnpm arch [--json] [package | folder …]

The house in figures, counted from the imports of each package's src (default: core and graph-sim): files and
lines, rooms (top-level folders) and floors, imports that run upward (between rooms of one circle), circles of
rooms and of files, the names src/index.ts exports, and the largest files.

  --json    the figures as JSON
  --help    this text`);
    process.exit(0);
  }
  const json = args.includes('--json');
  const named = args.filter((a) => a !== '--json');
  const packages = named.length > 0 ? named : ['core', 'graph-sim'];
  if (json) {
    console.log(JSON.stringify(packages.map(houseFigures), null, 2));
    process.exit(0);
  }
  for (const pkg of packages) {
    const f = houseFigures(pkg);
    console.log(`${f.package}: ${f.files} files, ${f.lines} lines, ${f.rooms} rooms on ${f.floors} floors`);
    console.log(
      `  upward imports ${f.upwardImports}; circles: ${f.roomCircles.length} of rooms, ${f.fileCircles.length} of files`,
    );
    for (const c of f.roomCircles) console.log(`    rooms: ${c.join(' ↔ ')}`);
    for (const c of f.fileCircles) console.log(`    files: ${c.join(' ↔ ')}`);
    for (let floor = f.floors; floor >= 1; floor--) {
      const here = Object.entries(f.roomFloors).filter(([, n]) => n === floor);
      console.log(`  floor ${floor}: ${here.map(([room]) => room).join(', ')}`);
    }
    if (f.exportedNames) console.log(`  index.ts exports ${f.exportedNames} names`);
    console.log(`  largest: ${f.largest.map((l) => `${l.file.split('/src/')[1]} ${l.lines}`).join(', ')}`);
  }
}
