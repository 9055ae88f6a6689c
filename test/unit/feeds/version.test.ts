/** Alpine version ordering, from the rules in apk-package(5) (vectors written for Nexus). */
import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion, satisfies } from '../../../src-main/engine/feeds/version';

// [a, b]: a < b
const LESS: Array<[string, string]> = [
  ['1', '2'],
  ['1.0', '1.1'],
  ['1.9', '1.10'],
  ['1.2', '1.2.1'],
  ['1.2.3', '1.2.10'],
  ['2.0', '10.0'],
  ['0.9.9', '1'],
  ['1.0', '1.0a'],
  ['1.0a', '1.0b'],
  ['1.0z', '1.0.1'],
  ['1.2a', '1.2.0'],
  ['1.0_alpha', '1.0_beta'],
  ['1.0_beta', '1.0_pre'],
  ['1.0_pre', '1.0_rc'],
  ['1.0_rc', '1.0'],
  ['1.0', '1.0_cvs'],
  ['1.0_cvs', '1.0_svn'],
  ['1.0_svn', '1.0_git'],
  ['1.0_git', '1.0_hg'],
  ['1.0_hg', '1.0_p'],
  ['1.0_alpha1', '1.0_alpha2'],
  ['1.0_alpha9', '1.0_alpha10'],
  ['1.0_rc1', '1.0_rc2'],
  ['1.0_rc9', '1.0'],
  ['1.0_p1', '1.0_p2'],
  ['1.0_beta', '1.0_beta1'],
  ['1.0_rc1', '1.0.1'],
  ['1.0_p1', '1.0.1'],
  ['1.0_alpha', '1.0-r0'],
  ['1.0_rc3-r5', '1.0-r0'],
  ['1.0-r0', '1.0-r1'],
  ['1.0-r9', '1.0-r10'],
  ['1.0', '1.0-r1'],
  ['1.0-r5', '1.0.1'],
  ['1.0-r99', '1.0a'],
  ['1.0-r1', '1.0_p1'],
  ['1.0_p1-r9', '1.0_p2'],
  ['3.2.0-r22', '3.2.0-r23'],
  ['1.1.24-r10', '1.2.5-r10'],
  ['5.0.17-r0', '5.2.37-r0'],
  ['1.36.1-r29', '1.37.0-r19'],
  ['2.38-r1', '2.38.1-r0'],
  ['0.19.0-r0', '0.19.0-r1'],
  ['20230506-r0', '20240705-r0'],
  ['1.01', '1.1'],
  ['1.001', '1.01'],
  ['1.01', '1.010'],
  ['1.0.0', '1.0.0.0'],
  ['1.2_git20230101', '1.2_git20240101'],
  ['1.2_pre20230101', '1.2'],
  ['1.2_rc1_p1', '1.2_rc2'],
  ['1.2_alpha_beta', '1.2_alpha_p'],
  ['99999999999999999998', '99999999999999999999'],
  ['1.99999999999999999', '1.100000000000000000'],
  ['4.4.3_p1-r0', '4.4.3_p1-r1'],
  ['9.8_p1-r0', '9.9_p1-r0'],
  ['2.4.58-r0', '2.4.62-r0'],
  ['1.0~abc123', '1.0~abc124'],
];

const EQUAL: Array<[string, string]> = [
  ['1.0', '1.0'],
  ['1.0-r0', '1.0-r0'],
  ['1.0_rc1', '1.0_rc1'],
  ['00001', '1'],
  ['1.0a', '1.0a'],
  ['1.2_p1-r3', '1.2_p1-r3'],
  ['1-r0', '1-r00'],
  ['1.0_p01', '1.0_p1'],
  ['20240101', '020240101'],
];

describe('compareVersions', () => {
  it.each(LESS)('%s < %s', (a, b) => {
    expect(compareVersions(a, b)).toBe(-1);
    expect(compareVersions(b, a)).toBe(1);
  });

  it.each(EQUAL)('%s == %s', (a, b) => {
    expect(compareVersions(a, b)).toBe(0);
    expect(compareVersions(b, a)).toBe(0);
  });

  it('sorts a shuffled list into the expected order', () => {
    const expected = [
      '0.9',
      '1.0_alpha',
      '1.0_alpha2',
      '1.0_beta',
      '1.0_pre1',
      '1.0_rc1',
      '1.0',
      '1.0-r1',
      '1.0_p1',
      '1.0a',
      '1.0.1_rc1',
      '1.0.1',
      '1.1',
      '1.10',
      '2',
    ];
    const shuffled = [...expected].sort((a, b) => ((a.length * 7 + a.charCodeAt(a.length - 1)) % 11) - ((b.length * 7 + b.charCodeAt(b.length - 1)) % 11));
    expect(shuffled.sort(compareVersions)).toEqual(expected);
  });

  it('is a total order on random valid versions (antisymmetric and transitive)', () => {
    const parts = ['1', '1.0', '1.0.1', '1.1', '1.1a', '1.0_rc1', '1.0_p2', '1.0-r1', '1.0.1-r2', '2_alpha', '0.99', '1.01'];
    for (const a of parts)
      for (const b of parts) {
        expect(compareVersions(a, b)).toBe(-compareVersions(b, a) || 0);
        for (const c of parts) {
          if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) expect(compareVersions(a, c)).toBeLessThanOrEqual(0);
        }
      }
  });

  it('validates the grammar and falls back to string order for invalid versions', () => {
    for (const v of ['1', '1.2.3', '1.2a', '1.2_rc1', '1.2_p1_git2', '1.2-r0', '1.2~0abc-r1', '20240101']) expect(isValidVersion(v), v).toBe(true);
    for (const v of ['', 'a1', '1..2', '1.2-r', '1.2_foo', '1.2ab', '1.2-rc1', 'v1.0', '1.2-r1-r2']) expect(isValidVersion(v), v).toBe(false);
    expect(compareVersions('abc', 'abd')).toBe(-1);
  });
});

describe('satisfies', () => {
  it.each([
    ['1.2-r0', '=', '1.2-r0', true],
    ['1.2-r1', '=', '1.2-r0', false],
    ['1.2', '<', '1.3', true],
    ['1.3', '<', '1.3', false],
    ['1.3', '<=', '1.3', true],
    ['1.4', '>', '1.3', true],
    ['1.3_rc1', '>=', '1.3', false],
    ['1.3_p1', '>=', '1.3', true],
    ['1.2.3-r4', '~', '1.2', true],
    ['1.2.3-r4', '~', '1.2.3', true],
    ['1.20', '~', '1.2', false],
    ['1.3', '~', '1.2', false],
    ['1.2-r5', '~', '1.2', true],
    ['2.0', '~', '2', true],
    // apk's fuzzy bounds: "greater (less) than, or matching the prefix"; 2.5_rc1 only passes through the prefix.
    ['2.10', '>~', '2.5', true],
    ['2.5_rc1', '>~', '2.5', true],
    ['2.5_rc1', '>=', '2.5', false],
    ['2.4', '>~', '2.5', false],
    ['2.5.3', '<~', '2.5', true],
    ['2.5.3', '<=', '2.5', false],
    ['2.6', '<~', '2.5', false],
    ['2.4', '<~', '2.5', true],
  ] as const)('%s %s %s → %s', (v, op, ref, ok) => {
    expect(satisfies(v, op, ref)).toBe(ok);
  });
});
