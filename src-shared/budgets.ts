/** A Box's package-count and size budgets (profiles/boxes/*.yaml) checked against what a build really produced. */
import type { BuildPlan } from './plan';

const MiB = 1024 * 1024;

/**
 * Warnings (never errors: a budget is a design target, and a user's fragments may rightly exceed it).
 * packages: the whole resolved closure, every package that goes into the image; size: the image's mapped
 * bytes (what is written to a card), not its apparent size, which includes empty partition space.
 */
export function budgetWarnings(box: string, budgets: BuildPlan['budgets'], actual: { packages: number; mappedBytes: number }): string[] {
  const out: string[] = [];
  const { min, max } = budgets.packages;
  if (max !== undefined && actual.packages > max) out.push(`${box} resolved to ${actual.packages} packages, over its budget of at most ${max}.`);
  if (min !== undefined && actual.packages < min) out.push(`${box} resolved to ${actual.packages} packages, under its expected minimum of ${min}.`);
  const sizeMax = budgets.sizeMiB?.max;
  const mib = actual.mappedBytes / MiB;
  if (sizeMax !== undefined && mib > sizeMax) out.push(`${box} image holds ${mib.toFixed(1)} MiB of data, over its size budget of ${sizeMax} MiB.`);
  return out;
}
