/**
 * Shared settings of the property-based fuzz tests (fast-check): a fixed seed and a bounded number of runs, so CI is
 * deterministic and every fuzz file stays well under 30 s on a loaded 2-core machine. Longer hunts:
 *   NEXUS_FUZZ_SEED=123 NEXUS_FUZZ_RUNS=20 npx vitest run test/unit/fuzz   (runs = multiplier of each default)
 * A failure prints fast-check's seed and shrunk counterexample; add it as a regression case next to the property.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { NexusError } from '../../../src-shared/errors';

const SEED = Number(process.env.NEXUS_FUZZ_SEED ?? 0x13) | 0;
const FACTOR = Math.max(1, Number(process.env.NEXUS_FUZZ_RUNS ?? 1) || 1);

/** fast-check parameters: the seed, `runs` × NEXUS_FUZZ_RUNS runs, and the shrunk counterexample on failure. */
export function params<T>(runs: number): fc.Parameters<T> {
  return { seed: SEED, numRuns: Math.round(runs * FACTOR) };
}

/** Longer runs (NEXUS_FUZZ_RUNS > 1) need a longer vitest timeout. */
export const timeout = 30_000 * FACTOR;

/**
 * The outcome a parser may have on hostile input: a value, or a NexusError whose code is one of `codes` (with a
 * message and a hint). Anything else — TypeError, RangeError, a raw Error, a stack overflow — fails the property.
 */
export function expectTypedError(err: unknown, codes: readonly string[]): void {
  if (!(err instanceof NexusError)) throw new Error(`not a typed error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err });
  expect(codes, `unexpected code ${err.code}: ${err.message}`).toContain(err.code);
  expect(err.message.length).toBeGreaterThan(0);
  expect(err.hint, `${err.code} without a hint`).toBeTruthy();
}

export function outcome<T>(fn: () => T, codes: readonly string[]): T | undefined {
  try {
    return fn();
  } catch (err) {
    expectTypedError(err, codes);
    return undefined;
  }
}

export async function outcomeAsync<T>(fn: () => Promise<T>, codes: readonly string[]): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    expectTypedError(err, codes);
    return undefined;
  }
}

/** Mutations of real bytes: flips, overwrites, truncations, insertions and duplicated slices, as a damaged or crafted file has. */
export function mutated(base: Buffer, maxEdits = 4): fc.Arbitrary<Buffer> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
    fc.record({ kind: fc.constant('dup' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 1024 }) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: maxEdits }).map((edits) => {
    let b = Buffer.from(base);
    for (const e of edits) {
      const at = b.length ? e.at % (b.length + 1) : 0;
      if (e.kind === 'flip' && at < b.length) b[at] = b[at]! ^ (1 << e.bit);
      else if (e.kind === 'set') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(Math.min(b.length, at + e.bytes.length))]);
      else if (e.kind === 'cut') b = b.subarray(0, at);
      else if (e.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)]);
      else if (e.kind === 'dup') b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + e.len), b.subarray(at)]);
    }
    return b;
  });
}
