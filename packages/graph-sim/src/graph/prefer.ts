import { resolveZone, UTC_ZONE, type SimZone } from '../time-zones.ts';

/** Graph answers in UTC when it does not know the preferred zone, rather than refusing the request. */
function zoneOrUtc(name: string): SimZone {
  try {
    return resolveZone(name);
  } catch {
    return UTC_ZONE;
  }
}

/** The `Prefer` header preferences graph-sim honours. */
export interface Preferences {
  immutableIds: boolean;
  maxPageSize: number | undefined;
  /** `outlook.timezone`: the zone events' start and end are shown in (a name graph-sim does not know: UTC). */
  timeZone: SimZone;
}

export function parsePrefer(header: string | undefined): Preferences {
  const prefs: Preferences = { immutableIds: false, maxPageSize: undefined, timeZone: UTC_ZONE };
  for (const part of (header ?? '').split(',')) {
    const [rawName, rawValue] = part.split('=');
    const name = rawName?.trim().toLowerCase();
    const value = rawValue?.trim().replace(/^"|"$/g, '');
    if (name === 'idtype' && value?.toLowerCase() === 'immutableid') prefs.immutableIds = true;
    if (name === 'outlook.timezone' && value) prefs.timeZone = zoneOrUtc(value);
    if (name === 'odata.maxpagesize' && value && /^\d+$/.test(value) && Number(value) > 0)
      prefs.maxPageSize = Number(value);
  }
  return prefs;
}

export function preferenceApplied(prefs: Preferences): Record<string, string> {
  const applied: string[] = [];
  if (prefs.immutableIds) applied.push('IdType="ImmutableId"');
  if (prefs.maxPageSize) applied.push(`odata.maxpagesize=${prefs.maxPageSize}`);
  if (prefs.timeZone !== UTC_ZONE) applied.push(`outlook.timezone="${prefs.timeZone.graphName}"`);
  return applied.length ? { 'Preference-Applied': applied.join(', ') } : {};
}
