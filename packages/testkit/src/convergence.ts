import type { ReadRecord } from './topic-reader.ts';

/**
 * What a consumer of a compacted topic ends up with: per key the last record (in offset order within its
 * partition), a null value meaning the key is deleted. Also what it takes to judge that against Graph's state.
 */

/** One key of a materialised topic: its last record and how many records it took to get there. */
export interface MaterializedKey {
  key: string;
  topic: string;
  last: ReadRecord;
  /** The last record's JSON value, null for a tombstone. */
  value: Record<string, unknown> | null;
  records: number;
  /** Records of this key that repeated the one before them. */
  duplicates: { exact: number; sameState: number };
}

/** An item as Graph holds it now, under the record key graph2kafka gives it. */
export interface ExpectedItem {
  key: string;
  /** The item as Graph renders it (the fields compared are taken from here). */
  item: Record<string, unknown>;
}

export interface ConvergenceOptions {
  /** The fields compared between the topic's item and Graph's, when Graph's has them. */
  fields?: string[];
  /** The item inside a record's value (default: `event`, `message`, `contact`, `user` or `group`). */
  itemOf?: (value: Record<string, unknown>) => Record<string, unknown> | null | undefined;
  /** How many example keys each category prints. */
  examples?: number;
}

export interface Mismatch {
  key: string;
  detail: string;
}

export interface ConvergenceReport {
  keys: number;
  expected: number;
  records: number;
  /** Graph has the item; the topic has no record, a tombstone, or a value saying it is gone. */
  missing: Mismatch[];
  /** The topic holds a live value for an item Graph no longer has. */
  extra: Mismatch[];
  /** Of `extra`: the last value is a `gone: true` (or confirmed delete) record instead of a tombstone. */
  extraGone: Mismatch[];
  /** Live in both, and the topic's item differs from Graph's in one of the compared fields. */
  stale: Mismatch[];
  /** The last value went out without the item (`enriched: false`) and nothing completed it. */
  unenriched: Mismatch[];
  /** Consecutive records of one key: byte-identical values, and values saying the same about the item. */
  duplicates: { exact: number; sameState: number };
  /** One line per category, with a few example keys each. */
  lines: string[];
}

export const DEFAULT_COMPARED_FIELDS = [
  'subject',
  'displayName',
  'givenName',
  'surname',
  'changeKey',
  'lastModifiedDateTime',
];

const defaultItemOf = (value: Record<string, unknown>) =>
  (value.event ?? value.message ?? value.contact ?? value.user ?? value.group) as
    Record<string, unknown> | null | undefined;

const parse = (r: ReadRecord): Record<string, unknown> | null =>
  r.value === null ? null : (JSON.parse(r.value) as Record<string, unknown>);

/** What a record says about its item, without the envelope that differs between deliveries of the same state. */
function stateOf(value: Record<string, unknown> | null, itemOf: NonNullable<ConvergenceOptions['itemOf']>): string {
  if (value === null) return 'tombstone';
  const item = itemOf(value);
  return JSON.stringify([
    value.changeType,
    value.gone,
    value.enriched,
    value.deleteConfirmed,
    item ? (item.changeKey ?? JSON.stringify(item)) : null,
  ]);
}

/**
 * Per key, the last record of one topic, in the order a consumer reads them: offset order within the key's
 * partition (TopicReader collects partitions interleaved, so they are sorted here).
 */
export function materialize(
  records: ReadRecord[],
  topic = '',
  itemOf: NonNullable<ConvergenceOptions['itemOf']> = defaultItemOf,
): Map<string, MaterializedKey> {
  const ordered = records
    .filter((r) => r.key !== null)
    .slice()
    .sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  const out = new Map<string, MaterializedKey>();
  const lastState = new Map<string, string>();
  for (const r of ordered) {
    const key = r.key!;
    const value = parse(r);
    const state = stateOf(value, itemOf);
    const prev = out.get(key);
    const duplicates = prev?.duplicates ?? { exact: 0, sameState: 0 };
    if (prev && prev.last.value === r.value) duplicates.exact++;
    if (prev && lastState.get(key) === state) duplicates.sameState++;
    lastState.set(key, state);
    out.set(key, { key, topic, last: r, value, records: (prev?.records ?? 0) + 1, duplicates });
  }
  return out;
}

const describeLast = (m: MaterializedKey | undefined): string => {
  if (!m) return 'no record';
  if (m.value === null)
    return `tombstone (${m.last.headers['g2k-source'] ?? '?'}) @${m.last.partition}:${m.last.offset}`;
  const v = m.value;
  return `${String(v.source)} ${String(v.changeType)} enriched=${String(v.enriched)} gone=${String(v.gone)} deleteConfirmed=${String(v.deleteConfirmed)}${v.notEnrichedReason ? ` reason=${JSON.stringify(v.notEnrichedReason)}` : ''} @${m.last.partition}:${m.last.offset} (${m.records} records)`;
};

/**
 * Compares materialised topics with Graph's current items: every item Graph has must be the last value of its
 * key, and every key whose item Graph no longer has must end in a tombstone.
 */
export function compareConvergence(
  topics: Map<string, MaterializedKey>[],
  expected: ExpectedItem[],
  options: ConvergenceOptions = {},
): ConvergenceReport {
  const fields = options.fields ?? DEFAULT_COMPARED_FIELDS;
  const itemOf = options.itemOf ?? defaultItemOf;
  const examples = options.examples ?? 5;
  const merged = new Map<string, MaterializedKey>();
  for (const t of topics) for (const [k, m] of t) merged.set(k, m);
  const want = new Map(expected.map((e) => [e.key, e.item]));
  const report: ConvergenceReport = {
    keys: merged.size,
    expected: want.size,
    records: [...merged.values()].reduce((n, m) => n + m.records, 0),
    missing: [],
    extra: [],
    extraGone: [],
    stale: [],
    unenriched: [],
    duplicates: { exact: 0, sameState: 0 },
    lines: [],
  };
  for (const m of merged.values()) {
    report.duplicates.exact += m.duplicates.exact;
    report.duplicates.sameState += m.duplicates.sameState;
  }

  for (const [key, graphItem] of want) {
    const m = merged.get(key);
    const v = m?.value ?? null;
    if (!m || v === null || v.gone === true || (v.changeType === 'deleted' && v.deleteConfirmed === true)) {
      report.missing.push({ key, detail: describeLast(m) });
      continue;
    }
    const item = itemOf(v);
    if (v.enriched === false || !item) {
      report.unenriched.push({ key, detail: describeLast(m) });
      continue;
    }
    const differ = fields.filter((f) => f in graphItem && JSON.stringify(item[f]) !== JSON.stringify(graphItem[f]));
    if (differ.length)
      report.stale.push({
        key,
        detail: `${differ.map((f) => `${f}: topic ${JSON.stringify(item[f])} ≠ graph ${JSON.stringify(graphItem[f])}`).join(', ')}; last ${describeLast(m)}`,
      });
  }
  for (const [key, m] of merged) {
    if (want.has(key) || m.value === null) continue;
    const v = m.value;
    report.extra.push({ key, detail: describeLast(m) });
    if (v.gone === true || (v.changeType === 'deleted' && v.deleteConfirmed === true))
      report.extraGone.push({ key, detail: describeLast(m) });
    else if (v.enriched === false) report.unenriched.push({ key, detail: describeLast(m) });
  }

  const line = (name: string, list: Mismatch[]) =>
    `${name}: ${list.length}${
      list.length
        ? ` — e.g. ${list
            .slice(0, examples)
            .map((x) => `${x.key} [${x.detail}]`)
            .join('; ')}`
        : ''
    }`;
  report.lines = [
    line('missing (Graph has it; topic has nothing, a tombstone or gone)', report.missing),
    line('extra (live value in the topic for an item Graph no longer has)', report.extra),
    line('  of which the last value is gone:true / a confirmed delete instead of a tombstone', report.extraGone),
    line('stale (topic item differs from Graph’s)', report.stale),
    line('unenriched (last value without its item)', report.unenriched),
  ];
  return report;
}
