import { isKindName, KIND_NAMES, KINDS, type ChangeType, type KindName, type ResourceKind } from '../kinds/index.ts';
import { ITEM_ID } from '../kinds/mailbox-paths.ts';
import type { ExpansionWindow } from '../model/subscription.ts';

/**
 * One entry of the desired state: what to subscribe to in one tenant, for one kind. Mailbox kinds name
 * mailboxes directly (`users`) and through groups whose members are subscribed (`groups`, read at every
 * reconcile); messages may be limited to mail folders (one subscription per folder).
 */
export interface DesiredEntry {
  /** Where it came from, for messages and reports: `G2K_SUBSCRIPTIONS_FILE subscriptions[2]` or a setting. */
  source: string;
  tenantId: string;
  kind: KindName;
  users: string[];
  groups: string[];
  /** Messages only: folder ids or well-known names (`inbox`, `archive` …); empty: the whole mailbox. */
  folders: string[];
  /**
   * Teams message kinds: the channels (`{team id}/{channel id}`) or chats named, as their targets' folder
   * (`teams/{id}/channels/{id}`, `chats/{id}`), one subscription each; empty: one for the whole tenant.
   */
  containers: string[];
  /**
   * Events only: which calendars of each mailbox — its default one through `/users/{id}/events` (`default`), every
   * calendar it has, found at each timer run (`all`), or these (ids or names). One subscription per calendar.
   */
  calendars: 'default' | 'all' | string[];
  /**
   * Mailbox kinds: room mailboxes too, found through the Places API at each timer run — every room of the tenant
   * (`all`) or the rooms of one room list (its email address).
   */
  rooms?: { list: string | undefined };
  changeTypes: ChangeType[];
  /** `$select` for reads (and delta where the kind allows); absent: the kind's default. */
  select: string | undefined;
  /** Events only: recurring series are also produced as one record per occurrence in this window. */
  expandOccurrences?: ExpansionWindow;
  /** `rich`: Graph sends each item inside its notification, encrypted for our certificate; no read. */
  mode: 'basic' | 'rich';
  /** Rich mode: properties Graph does not send inside notifications (`body`), read beside each item. */
  richRead?: string;
  /** Whether a newly subscribed target's existing items are produced (absent: G2K_SNAPSHOT). */
  snapshot?: boolean;
  /** Hours between the anti-entropy sweep's delta rounds of each target; 0 turns it off (absent: G2K_SWEEP_HOURS). */
  sweepHours?: number;
}

/** The longest sweep interval: a week (a deltaLink Graph keeps for a week or more still resumes). */
export const MAX_SWEEP_HOURS = 168;

/** The longest expansion window: a year and a day ahead, a month back (each series read is bounded by it). */
export const MAX_EXPAND_FUTURE_DAYS = 366;
export const MAX_EXPAND_PAST_DAYS = 31;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SELECT = /^[A-Za-z][A-Za-z0-9_]*(?:,[A-Za-z][A-Za-z0-9_]*)*$/;
const ENTRY_FIELDS = new Set([
  'tenant',
  'kind',
  'users',
  'groups',
  'folders',
  'channels',
  'chats',
  'calendars',
  'rooms',
  'changeTypes',
  'select',
  'expandOccurrences',
  'mode',
  'richRead',
  'snapshot',
  'sweepHours',
]);
/** Channels or chats one entry may name: each is a subscription renewed at least daily. */
const MAX_CONTAINERS = 1_000;
/** Graph subscriptions per mailbox are capped at 1,000 for all apps; an entry never needs that many folders. */
const MAX_FOLDERS = 50;
/** A calendar's name as Outlook allows it: 1..255 characters, no control characters. */
// eslint-disable-next-line no-control-regex
const CALENDAR_REF = /^[^\u0000-\u001f\u007f]{1,255}$/;
const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,255}$/;

/**
 * Parses the desired-state file's text: `{ "subscriptions": [ entry, … ] }` (or the bare list). Every problem is
 * added to `problems`, naming the entry, so a file is fixed in one round.
 */
export function parseDesiredState(
  text: string,
  source: string,
  homeTenantId: string,
  problems: string[],
): DesiredEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    problems.push(`${source} is not valid JSON: ${(err as Error).message}.`);
    return [];
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { subscriptions?: unknown } | null)?.subscriptions;
  if (!Array.isArray(list)) {
    problems.push(`${source} must hold { "subscriptions": [ … ] }: a list of entries (see docs/desired-state.md).`);
    return [];
  }
  return list.flatMap((raw, i) => {
    const entry = parseEntry(raw, `${source} subscriptions[${i}]`, homeTenantId, problems);
    return entry ? [entry] : [];
  });
}

function parseEntry(raw: unknown, at: string, homeTenantId: string, problems: string[]): DesiredEntry | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${at} must be an object.`);
    return undefined;
  }
  const e = raw as Record<string, unknown>;
  const before = problems.length;
  const unknown = Object.keys(e).filter((k) => !ENTRY_FIELDS.has(k));
  if (unknown.length)
    problems.push(`${at} has unknown field(s) ${unknown.join(', ')}; allowed: ${[...ENTRY_FIELDS].join(', ')}.`);
  if (!isKindName(e.kind)) {
    problems.push(`${at}: kind must be one of ${KIND_NAMES.join(', ')}, got ${JSON.stringify(e.kind)}.`);
    return undefined;
  }
  const kind = KINDS[e.kind];
  const label = `${at} (${kind.name})`;
  const tenantId = e.tenant === undefined ? homeTenantId : e.tenant;
  if (typeof tenantId !== 'string' || !GUID.test(tenantId))
    problems.push(`${label}: tenant must be a tenant GUID, got ${JSON.stringify(e.tenant)}.`);
  const ids = (field: 'users' | 'groups' | 'folders', shape: RegExp, what: string): string[] => {
    const v = e[field];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string' && shape.test(x))) {
      problems.push(`${label}: ${field} must be a list of ${what}, got ${JSON.stringify(v).slice(0, 200)}.`);
      return [];
    }
    return [...new Set(field === 'folders' ? v : v.map((x) => x.toLowerCase()))];
  };
  const users = ids('users', GUID, 'user object ids (GUIDs)');
  const groups = ids('groups', GUID, 'group object ids (GUIDs)');
  const folders = ids('folders', ITEM_ID, 'mail folder ids or well-known names (inbox, archive …)');
  if (folders.length && kind.name !== 'messages') problems.push(`${label}: folders apply to messages only.`);
  if (folders.length > MAX_FOLDERS) problems.push(`${label}: at most ${MAX_FOLDERS} folders per entry.`);
  const containers = parseContainers(e, kind, label, problems);
  const calendars = parseCalendars(e.calendars, kind.name, label, problems);
  const rooms = parseRooms(e.rooms, label, problems);
  if (kind.scope === 'mailbox' && !users.length && !groups.length && !rooms)
    problems.push(`${label}: name the mailboxes with users, groups and/or rooms.`);
  if (kind.scope === 'tenant' && (users.length || groups.length || e.rooms !== undefined))
    problems.push(
      kind.containers
        ? `${label}: ${kind.name} has no mailboxes: leave out users, groups and rooms, and name ${kind.containers.field} (or none, for the whole tenant).`
        : `${label}: ${kind.name} is tenant-wide: one subscription covers the tenant; leave out users, groups and rooms.`,
    );
  const changeTypes = parseChangeTypes(e.changeTypes, kind.changeTypes, kind.defaultChangeTypes, label, problems);
  if (kind.noSelect && (e.select !== undefined || e.richRead !== undefined))
    problems.push(`${label}: ${kind.name} takes no select or richRead: Graph returns (and sends) whole Teams items.`);
  else if (e.select !== undefined && (typeof e.select !== 'string' || !SELECT.test(e.select)))
    problems.push(`${label}: select must be property names separated by commas, got ${JSON.stringify(e.select)}.`);
  const expandOccurrences = parseExpansion(e.expandOccurrences, kind.name, label, problems);
  const mode = e.mode ?? 'basic';
  if (mode !== 'basic' && mode !== 'rich')
    problems.push(`${label}: mode must be "basic" or "rich", got ${JSON.stringify(e.mode)?.slice(0, 40)}.`);
  else if (mode === 'rich' && !kind.rich)
    problems.push(`${label}: Graph sends no rich notifications for ${kind.name}; use mode "basic".`);
  else if (
    mode === 'rich' &&
    !kind.noSelect &&
    typeof e.select === 'string' &&
    /(^|,)(body|uniqueBody)(,|$)/i.test(e.select)
  )
    problems.push(
      `${label}: Graph refuses body and uniqueBody in a rich notification's select; name them in richRead to have them read beside each item.`,
    );
  if (e.richRead !== undefined && (mode !== 'rich' || typeof e.richRead !== 'string' || !SELECT.test(e.richRead)))
    problems.push(
      `${label}: richRead applies to mode "rich" only and must be property names separated by commas (e.g. "body"), got ${JSON.stringify(e.richRead)?.slice(0, 80)}.`,
    );
  if (e.snapshot !== undefined && typeof e.snapshot !== 'boolean')
    problems.push(`${label}: snapshot must be true or false, got ${JSON.stringify(e.snapshot)?.slice(0, 40)}.`);
  const sweep = e.sweepHours;
  if (
    sweep !== undefined &&
    (typeof sweep !== 'number' || !Number.isInteger(sweep) || sweep < 0 || sweep > MAX_SWEEP_HOURS)
  )
    problems.push(
      `${label}: sweepHours must be a whole number of hours 0..${MAX_SWEEP_HOURS} (0 turns the sweep off), got ${JSON.stringify(sweep)?.slice(0, 40)}.`,
    );
  if (problems.length > before) return undefined;
  return {
    source: at,
    tenantId: (tenantId as string).toLowerCase(),
    kind: kind.name,
    users,
    groups,
    folders,
    containers,
    calendars,
    ...(rooms ? { rooms } : {}),
    changeTypes,
    select: typeof e.select === 'string' ? e.select : undefined,
    ...(expandOccurrences ? { expandOccurrences } : {}),
    mode: mode as DesiredEntry['mode'],
    ...(typeof e.richRead === 'string' ? { richRead: e.richRead } : {}),
    ...(typeof e.snapshot === 'boolean' ? { snapshot: e.snapshot } : {}),
    ...(typeof sweep === 'number' ? { sweepHours: sweep } : {}),
  };
}

/** `channels` (channel messages) or `chats` (chat messages): the containers an entry is limited to. */
function parseContainers(e: Record<string, unknown>, kind: ResourceKind, label: string, problems: string[]): string[] {
  const c = kind.containers;
  for (const field of ['channels', 'chats'] as const)
    if (e[field] !== undefined && c?.field !== field)
      problems.push(`${label}: ${field} apply to ${field === 'channels' ? 'channelMessages' : 'chatMessages'} only.`);
  const v = c ? e[c.field] : undefined;
  if (!c || v === undefined) return [];
  if (!Array.isArray(v) || !v.length || !v.every((x): x is string => typeof x === 'string' && c.shape.test(x))) {
    problems.push(`${label}: ${c.field} must be a list of ${c.what}, got ${JSON.stringify(v).slice(0, 200)}.`);
    return [];
  }
  if (v.length > MAX_CONTAINERS) problems.push(`${label}: at most ${MAX_CONTAINERS} ${c.field} per entry.`);
  return [...new Set(v.map((ref) => c.folderOf(ref)))];
}

/** `calendars`: `"default"` (also when absent), `"all"`, or a list of calendar ids or names; events only. */
function parseCalendars(value: unknown, kind: KindName, label: string, problems: string[]): DesiredEntry['calendars'] {
  if (value === undefined || value === 'default') return 'default';
  if (kind !== 'events') {
    problems.push(`${label}: calendars apply to events only.`);
    return 'default';
  }
  if (value === 'all') return 'all';
  if (
    !Array.isArray(value) ||
    !value.length ||
    !value.every((c): c is string => typeof c === 'string' && CALENDAR_REF.test(c) && c.trim() === c)
  ) {
    problems.push(
      `${label}: calendars must be "default", "all" or a list of calendar ids or names, got ${JSON.stringify(value)?.slice(0, 200)}.`,
    );
    return 'default';
  }
  if (value.length > MAX_FOLDERS) problems.push(`${label}: at most ${MAX_FOLDERS} calendars per entry.`);
  return [...new Set(value)];
}

/** `rooms`: `true` (every room of the tenant) or a room list's email address. */
function parseRooms(value: unknown, label: string, problems: string[]): DesiredEntry['rooms'] {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { list: undefined };
  if (typeof value === 'string' && EMAIL.test(value)) return { list: value.toLowerCase() };
  problems.push(
    `${label}: rooms must be true (every room of the tenant) or a room list's email address, got ${JSON.stringify(value)?.slice(0, 120)}.`,
  );
  return undefined;
}

/** `expandOccurrences`: `{ "futureDays": 90, "pastDays": 0 }` (or just the number of future days), events only. */
export function parseExpansion(
  value: unknown,
  kind: KindName,
  label: string,
  problems: string[],
): ExpansionWindow | undefined {
  if (value === undefined) return undefined;
  if (kind !== 'events') {
    problems.push(`${label}: expandOccurrences applies to events only (recurring series).`);
    return undefined;
  }
  const o = typeof value === 'number' ? { futureDays: value } : value;
  const bad = `${label}: expandOccurrences must be { "futureDays": 1..${MAX_EXPAND_FUTURE_DAYS}, "pastDays": 0..${MAX_EXPAND_PAST_DAYS} } or a number of future days, got ${JSON.stringify(value)?.slice(0, 120)}.`;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    problems.push(bad);
    return undefined;
  }
  const { futureDays, pastDays = 0, ...rest } = o as Record<string, unknown>;
  const inRange = (v: unknown, min: number, max: number): v is number =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  if (
    Object.keys(rest).length ||
    !inRange(futureDays, 1, MAX_EXPAND_FUTURE_DAYS) ||
    !inRange(pastDays, 0, MAX_EXPAND_PAST_DAYS)
  ) {
    problems.push(bad);
    return undefined;
  }
  return { pastDays, futureDays };
}

/** Change types as a list or comma-separated text, checked against what Graph allows for the kind. */
export function parseChangeTypes(
  value: unknown,
  allowed: readonly ChangeType[],
  fallback: readonly ChangeType[],
  label: string,
  problems: string[],
): ChangeType[] {
  if (value === undefined) return [...fallback];
  const list = typeof value === 'string' ? value.split(',').map((c) => c.trim()) : value;
  if (!Array.isArray(list) || !list.length || !list.every((c) => allowed.includes(c as ChangeType))) {
    problems.push(`${label}: changeTypes must list ${allowed.join(', ')} (any of them), got ${JSON.stringify(value)}.`);
    return [...fallback];
  }
  return [...new Set(list as ChangeType[])];
}
