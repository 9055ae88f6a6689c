/**
 * Layer merging for Box inheritance and fragments (the rule users read in profiles/README.md):
 * scalars override, lists append (without duplicates), an explicit empty list resets, objects merge by key
 * (except ATOMIC_KEYS such as budgets and target users, which a layer replaces whole).
 */
type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

function listKey(item: Json): string {
  // Services and files are identified by name/path, so a child can redefine one instead of duplicating it.
  if (isObject(item) && typeof item.name === 'string') return `name:${item.name}`;
  if (isObject(item) && typeof item.path === 'string') return `path:${item.path}`;
  return JSON.stringify(item);
}

/** Keys whose value a layer replaces whole: a tier's budgets are its own, never half-inherited. */
export const ATOMIC_KEYS: ReadonlySet<string> = new Set(['budgets', 'users']);

export function mergeValue(base: Json, over: Json): Json {
  if (over === undefined) return base;
  if (Array.isArray(over)) {
    if (over.length === 0 || !Array.isArray(base)) return [...over];
    const out = [...base];
    for (const item of over) {
      const key = listKey(item);
      const i = out.findIndex((x) => listKey(x) === key);
      if (i >= 0) out[i] = mergeValue(out[i], item);
      else out.push(item);
    }
    return out;
  }
  if (isObject(over) && isObject(base)) {
    const out: Record<string, Json> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = ATOMIC_KEYS.has(k) ? v : mergeValue(base[k], v);
    return out;
  }
  return over;
}

/** Merges layers root first: mergeLayers([grandparent, parent, child]). */
export function mergeLayers(layers: ReadonlyArray<Record<string, Json>>): Record<string, Json> {
  return layers.reduce<Record<string, Json>>((acc, layer) => mergeValue(acc, layer) as Record<string, Json>, {});
}
