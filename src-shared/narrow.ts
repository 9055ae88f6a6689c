/**
 * Small typed narrowing helpers, so that code says what it knows instead of asserting it (`x!`, `as`): a regex's
 * capture groups as a tuple of strings, an array of a known length as a tuple, a thrown value's message.
 */

/** A tuple of `N` values of T (N a small literal). */
export type Tuple<T, N extends number, R extends T[] = []> = R['length'] extends N ? R : Tuple<T, N, [...R, T]>;

/** Whether `items` holds exactly `n` values, none of them undefined. */
export function isTuple<T, N extends number>(items: readonly (T | undefined)[], n: N): items is Tuple<T, N> {
  return items.length === n && items.every((x) => x !== undefined);
}

/**
 * The first `n` capture groups of a match as strings, or null when there is no match or one of those groups did not
 * take part in it.
 */
export function captures<N extends number>(match: RegExpExecArray | RegExpMatchArray | null, n: N): Tuple<string, N> | null {
  if (!match) return null;
  const groups: (string | undefined)[] = match.slice(1, n + 1);
  return isTuple<string, N>(groups, n) ? groups : null;
}

/** Whether a parsed value (JSON, YAML) is a plain mapping of keys to values. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An error's code ("ENOENT", "ENOSPC", "Z_DATA_ERROR"…), if it has a string one. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** The message of anything thrown (an Error's message, otherwise its string form). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
