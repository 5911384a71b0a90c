// `pnpm docs:settings`: writes the README's configuration tables from SETTINGS (packages/core/src/config/
// settings.ts), the one list of what graph2kafka reads. packages/core/tests/settings-doc.test.ts fails when
// they drift apart.
import { readFileSync, writeFileSync } from 'node:fs';
import { format } from 'prettier';
import { SETTING_DOMAINS, settingsTable } from '@graph2kafka/core';
import { parseCommandLine } from './args.ts';

// No options, but `--help` must answer without rewriting the README.
parseCommandLine("pnpm docs:settings: writes the README's configuration tables from SETTINGS (no options)", {
  options: {},
});

const path = 'README.md';
let text = readFileSync(path, 'utf8');
for (const domain of SETTING_DOMAINS) {
  const block = new RegExp(`(<!-- settings:${domain} -->)[\\s\\S]*?(<!-- /settings:${domain} -->)`);
  if (!block.test(text))
    throw new Error(`README.md has no <!-- settings:${domain} --> … <!-- /settings:${domain} --> block`);
  text = text.replace(block, (_m, open: string, close: string) => `${open}\n\n${settingsTable(domain)}\n\n${close}`);
}
writeFileSync(path, await format(text, { filepath: path }));
console.log(`README.md: configuration tables written for ${SETTING_DOMAINS.join(', ')}`);
