import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { missingPrerequisites, prerequisitesMessage } from '../src/prerequisites.ts';

/**
 * A machine where everything is present (stand-ins that answer as the real tools do), so that hiding one at a
 * time shows exactly what `pnpm test` says about it — whatever this machine itself has installed.
 */
function toolbox(): NodeJS.ProcessEnv {
  const dir = mkdtempSync(path.join(tmpdir(), 'g2k-prereq-'));
  const tool = (name: string, script: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${script}\n`);
    chmodSync(file, 0o755);
    return file;
  };
  const pg = path.join(dir, 'pg', 'bin');
  mkdirSync(pg, { recursive: true });
  writeFileSync(path.join(pg, 'initdb'), '');
  return {
    PATH: process.env.PATH,
    G2K_KAFKA_JAVA: tool('java', 'echo \'openjdk version "17.0.15" 2025-04-15\' >&2'),
    G2K_KAFKA_MVN: tool('mvn', 'echo "Apache Maven 3.9.9"'),
    // No cached broker jars here, so Maven counts.
    G2K_KAFKA_HOME: path.join(dir, 'kafka'),
    G2K_PG_BIN: pg,
    G2K_SHELLCHECK: tool('shellcheck', 'echo "ShellCheck - shell script analysis tool"'),
  };
}

const hidden = (env: NodeJS.ProcessEnv, name: string): NodeJS.ProcessEnv => ({ ...env, [name]: '/nonexistent/tool' });

describe('pnpm test’s prerequisite check', () => {
  it('finds nothing missing when every prerequisite answers', () => {
    expect(missingPrerequisites(toolbox())).toEqual([]);
  });

  it.each([
    ['G2K_KAFKA_JAVA', 'Java 17+', /apt-get install openjdk-17-jre-headless/],
    ['G2K_KAFKA_MVN', 'Maven', /apt-get install maven/],
    ['G2K_PG_BIN', 'PostgreSQL server', /apt-get install postgresql/],
    ['G2K_SHELLCHECK', 'shellcheck', /apt-get install shellcheck/],
  ])('with %s hidden, names %s alone and how to install it', (variable, name, install) => {
    const missing = missingPrerequisites(hidden(toolbox(), variable));
    expect(missing.map((m) => m.name)).toEqual([name]);
    const message = prerequisitesMessage(missing);
    expect(message).toMatch(/^pnpm test needs one thing this machine lacks \(see the README's Prerequisites\):/);
    expect(message).toContain(`- ${name}, for `);
    expect(message).toMatch(install);
  });

  it('names everything missing in one message', () => {
    let env = toolbox();
    for (const v of ['G2K_KAFKA_JAVA', 'G2K_KAFKA_MVN', 'G2K_PG_BIN', 'G2K_SHELLCHECK']) env = hidden(env, v);
    const missing = missingPrerequisites(env);
    expect(missing.map((m) => m.name)).toEqual(['Java 17+', 'Maven', 'PostgreSQL server', 'shellcheck']);
    expect(prerequisitesMessage(missing)).toMatch(/^pnpm test needs 4 things/);
  });

  it('for a chosen part of the suite, asks only for what the local broker needs', () => {
    const env = hidden(hidden(toolbox(), 'G2K_PG_BIN'), 'G2K_SHELLCHECK');
    expect(missingPrerequisites(env, 'broker')).toEqual([]);
    expect(missingPrerequisites(hidden(env, 'G2K_KAFKA_JAVA'), 'broker').map((m) => m.name)).toEqual(['Java 17+']);
  });

  it('asks for neither Java nor Maven when KAFKA_BROKERS names a Kafka', () => {
    const env = { ...hidden(hidden(toolbox(), 'G2K_KAFKA_JAVA'), 'G2K_KAFKA_MVN'), KAFKA_BROKERS: '127.0.0.1:9092' };
    expect(missingPrerequisites(env)).toEqual([]);
  });
});
