import { describe, expect, it } from 'vitest';
import { budgetWarnings } from '../../../src-shared/budgets';
import { loadCatalog } from '../../../src-main/engine/catalog/load';
import { resolvePlan } from '../../../src-main/engine/plan/resolve';

const MiB = 1024 * 1024;

describe('Box budgets against what a build produced', () => {
  it('warns above the package maximum, below the minimum, and above the size maximum (mapped bytes)', () => {
    const b = { packages: { max: 14 }, sizeMiB: { min: 12, max: 18 } };
    expect(budgetWarnings('cryptobox', b, { packages: 14, mappedBytes: 18 * MiB })).toEqual([]);
    expect(budgetWarnings('cryptobox', b, { packages: 17, mappedBytes: 4 * MiB })).toEqual([
      'cryptobox resolved to 17 packages, over its budget of at most 14.',
    ]);
    expect(budgetWarnings('cryptobox', b, { packages: 3, mappedBytes: 42.2 * MiB })).toEqual([
      'cryptobox image holds 42.2 MiB of data, over its size budget of 18 MiB.',
    ]);
    expect(budgetWarnings('linbox', { packages: { min: 501 } }, { packages: 120, mappedBytes: 1 })).toEqual([
      'linbox resolved to 120 packages, under its expected minimum of 501.',
    ]);
  });

  it('every composed Box plans its own budgets (atomic, never half-inherited)', async () => {
    const c = await loadCatalog();
    expect(resolvePlan(c, { profile: 'tinybox' }).budgets).toEqual({ packages: { max: 9 }, sizeMiB: { min: 8, max: 12 } });
    expect(resolvePlan(c, { profile: 'linbox' }).budgets.packages).toEqual({ min: 501 });
  });
});
