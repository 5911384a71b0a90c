import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

interface HouseFigures {
  package: string;
  upwardImports: number;
  roomCircles: string[][];
  fileCircles: string[][];
  floors: number;
}

/** `pnpm arch --json`: the figures docs/architecture.md quotes, counted from the imports. */
function figures(...packages: string[]): HouseFigures[] {
  const out = execFileSync(process.execPath, [path.join(root, 'scripts/architecture.ts'), '--json', ...packages], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as HouseFigures[];
}

describe('the house: no import runs upward', () => {
  test.each(['core', 'graph-sim'])('%s has no circle of rooms or of files', (pkg) => {
    const [house] = figures(pkg);
    expect(house!.roomCircles).toEqual([]);
    expect(house!.fileCircles).toEqual([]);
    expect(house!.upwardImports).toBe(0);
    expect(house!.floors).toBeGreaterThan(1);
  });

  test('a circle is found where there is one, and counted as imports running upward', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'g2k-arch-'));
    for (const [file, text] of Object.entries({
      'a/x.ts': "import { y } from '../b/y.ts';\nexport const x = () => y;\n",
      'b/y.ts': "import { x } from '../a/x.ts';\nexport const y = () => x;\n",
      'c/z.ts': "import { x } from '../a/x.ts';\nexport const z = x;\n",
    })) {
      mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    const [house] = figures(dir);
    expect(house!.roomCircles).toEqual([['a', 'b']]);
    expect(house!.fileCircles).toEqual([['a/x.ts', 'b/y.ts']]);
    expect(house!.upwardImports).toBe(2);
    // c stands on the circle: two floors.
    expect(house!.floors).toBe(2);
  });
});
