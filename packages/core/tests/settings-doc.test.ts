import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTING_DOMAINS } from '../src/index.ts';
import { SETTINGS } from '../src/config/config.ts';

const README = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');

/** The rows of one generated block of the README, as [setting, default, meaning] (cell padding ignored). */
function rows(domain: string): string[][] {
  const block = new RegExp(`<!-- settings:${domain} -->([\\s\\S]*?)<!-- /settings:${domain} -->`).exec(README);
  if (!block) throw new Error(`README.md lost its <!-- settings:${domain} --> block; run pnpm docs:settings`);
  return block[1]!
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) =>
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim().replace(/\s+/g, ' ')),
    );
}

describe('the README’s configuration tables', () => {
  it.each(SETTING_DOMAINS)(
    '%s: say what SETTINGS says, in its order (run pnpm docs:settings after a change)',
    (domain) => {
      const expected = Object.entries(SETTINGS)
        .filter(([, spec]) => spec.domain === domain)
        .map(([name, spec]) => [`\`${name}\``, spec.default, spec.meaning]);
      expect(rows(domain)).toEqual(expected);
    },
  );

  it('document every setting once', () => {
    const documented = SETTING_DOMAINS.flatMap((d) => rows(d).map((r) => r[0]!.slice(1, -1)));
    expect(documented.sort()).toEqual(Object.keys(SETTINGS).sort());
  });
});
