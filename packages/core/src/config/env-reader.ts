import { readFileSync } from 'node:fs';
import { SecretError } from '../errors.ts';
import { parseReference, unresolvedKeyVaultReference, type SecretSource } from './secrets.ts';
import { SETTINGS, type SettingName } from './settings.ts';

export type Env = Record<string, string | undefined>;

/** Connection strings, keys, SAS tokens, passwords in URLs, PEM blocks: what must never reach a log. */
const SECRET_LIKE =
  /AccountKey=|SharedAccessKey|SharedAccessSignature|[?&]sig=|password=|pwd=|:\/\/[^/\s:@]+:[^/\s@]+@|-----BEGIN|^[A-Za-z0-9+/_~.-]{40,}={0,2}$/i;

/** Text no secret is made of: numbers, GUIDs and their near misses (hex digits and dashes, at most a GUID's length). */
const HARMLESS = /^(?:-?\d{1,12}(?:\.\d{1,6})?|[0-9a-f-]{1,36})$/i;

/**
 * A setting's value for an error message. Configuration errors end up in logs, and any setting can receive a
 * secret pasted into the wrong place (a password into KAFKA_SASL_MECHANISM), so a value is quoted only when no
 * secret looks like it: a number or a GUID-shaped id; a URL shows its scheme, host and path (never its user,
 * password or query); anything else is described by its length only.
 */
export function shown(value: string | undefined): string {
  const v = value ?? '';
  if (SECRET_LIKE.test(v)) return `a value that looks like a secret (${v.length} characters, not shown)`;
  if (HARMLESS.test(v)) return `'${v}'`;
  const url = urlShape(v);
  if (url) return `'${url}'`;
  return `a value of ${v.length} character(s) (not shown: a secret pasted into the wrong setting must not reach the logs)`;
}

/** An http(s) URL without what can hold a secret; undefined for anything else. */
function urlShape(v: string): string | undefined {
  if (!/^https?:\/\//i.test(v)) return undefined;
  try {
    const u = new URL(v);
    return `${u.protocol}//${u.host}${u.pathname}${u.search || u.hash ? '…' : ''}`;
  } catch {
    return undefined;
  }
}

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The environment as every domain's reader sees it: typed accessors that check a value and, instead of throwing,
 * add what is wrong to `problems`, so one ConfigError names every problem of a deployment at once.
 */
export class EnvReader {
  readonly problems: string[] = [];
  readonly env: Env;
  private readonly secrets: SecretSource[];

  constructor(env: Env, secrets: SecretSource[]) {
    this.env = env;
    this.secrets = secrets;
  }

  /** A setting's text, the fallback when unset; unset without a fallback is a problem. */
  text(name: SettingName, fallback?: string): string {
    const value = this.env[name]?.trim();
    if (value) return value;
    if (fallback !== undefined) return fallback;
    this.problems.push(`${name} is not set: ${SETTINGS[name].meaning}.`);
    return '';
  }

  /** A literal value or a secret reference, resolved through the platform's secret source. */
  async secret(name: SettingName, required: boolean): Promise<string> {
    const value = this.env[name]?.trim();
    if (!value) {
      if (required) this.problems.push(`${name} is not set: ${SETTINGS[name].meaning}.`);
      return '';
    }
    // The platform resolves these on the Function App; elsewhere (an operator's CLI) a Key Vault source may.
    const keyVault = unresolvedKeyVaultReference(value) && this.secrets.find((s) => s.scheme === 'keyvault');
    if (unresolvedKeyVaultReference(value) && !keyVault) {
      this.problems.push(
        `${name} is an unresolved Key Vault reference; give the Function App's managed identity "Key Vault Secrets User" on the vault (see docs/deploy-azure.md).`,
      );
      return '';
    }
    if (keyVault) {
      try {
        return await keyVault.resolve(value);
      } catch (err) {
        this.problems.push(`${name}: ${err instanceof SecretError ? err.message : String(err)}`);
        return '';
      }
    }
    const ref = parseReference(value);
    if (!ref) return value;
    const source = this.secrets.find((s) => s.scheme === ref.scheme);
    if (!source) {
      this.problems.push(
        `${name} is a ${ref.scheme}: secret reference, but no ${ref.scheme} secret source is available on this platform.`,
      );
      return '';
    }
    try {
      return await source.resolve(ref.name);
    } catch (err) {
      this.problems.push(`${name}: ${err instanceof SecretError ? err.message : String(err)}`);
      return '';
    }
  }

  url(name: SettingName, fallback: string): string {
    const value = this.text(name, fallback).replace(/\/+$/, '');
    try {
      if (new URL(value).protocol !== 'https:')
        this.problems.push(`${name} must be an https URL, got ${shown(value)}.`);
    } catch {
      this.problems.push(`${name} must be an absolute https URL, got ${shown(value)}.`);
    }
    return value;
  }

  int(name: SettingName, fallback: number, min: number, max: number): number {
    const raw = this.env[name]?.trim();
    if (!raw) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max}, got ${shown(raw)}.`);
      return fallback;
    }
    return n;
  }

  /** The contents of the file a setting names, if it names one. */
  file(name: SettingName): string | undefined {
    const path = this.env[name]?.trim();
    if (!path) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      this.problems.push(
        `${name} names '${path}', which cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}).`,
      );
      return undefined;
    }
  }
}
