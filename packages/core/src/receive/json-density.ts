/**
 * The fewest body bytes per JSON value a notification collection is read with. Graph's items spend ~20 bytes
 * a value (keys, GUIDs, dates, resource paths; lifecycle items with short ids ~12), while a body built to cost
 * memory packs a value into 2 or 3 bytes (`[[],[],…]`: 14 heap bytes per body byte once parsed). Refusing
 * denser bodies before JSON.parse bounds what parsing any admitted body can cost (BODY_COST_FACTOR).
 */
export const MIN_BYTES_PER_VALUE = 8;

/** What a small body may hold whatever its size (`{"value":[]}` is 3 values in 12 bytes). */
const VALUE_ALLOWANCE = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** `{`, `[`, `,`, `:`: outside strings, each opens a container or separates two values or a key and its value. */
const MARKS = new Uint8Array(256);
for (const c of '{[,:') MARKS[c.charCodeAt(0)] = 1;

/**
 * Counts a JSON text's structural marks outside strings (about one per value or key) in one pass over the
 * bytes, building nothing. Not a validator: JSON.parse still decides whether the text is JSON.
 */
export function structuralMarks(body: Uint8Array): number {
  let marks = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else marks += MARKS[c]!;
  }
  return marks;
}

/** Whether a body holds more values than a notification collection of its size can: then it is not read. */
export function tooDense(body: Uint8Array): { values: number } | undefined {
  const values = structuralMarks(body);
  return values > VALUE_ALLOWANCE + body.length / MIN_BYTES_PER_VALUE ? { values } : undefined;
}
