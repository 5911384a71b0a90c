/** The `Prefer` header preferences graph-sim honours. */
export interface Preferences {
  immutableIds: boolean;
  maxPageSize: number | undefined;
}

export function parsePrefer(header: string | undefined): Preferences {
  const prefs: Preferences = { immutableIds: false, maxPageSize: undefined };
  for (const part of (header ?? '').split(',')) {
    const [rawName, rawValue] = part.split('=');
    const name = rawName?.trim().toLowerCase();
    const value = rawValue?.trim().replace(/^"|"$/g, '');
    if (name === 'idtype' && value?.toLowerCase() === 'immutableid') prefs.immutableIds = true;
    if (name === 'odata.maxpagesize' && value && /^\d+$/.test(value) && Number(value) > 0)
      prefs.maxPageSize = Number(value);
  }
  return prefs;
}

export function preferenceApplied(prefs: Preferences): Record<string, string> {
  const applied: string[] = [];
  if (prefs.immutableIds) applied.push('IdType="ImmutableId"');
  if (prefs.maxPageSize) applied.push(`odata.maxpagesize=${prefs.maxPageSize}`);
  return applied.length ? { 'Preference-Applied': applied.join(', ') } : {};
}
