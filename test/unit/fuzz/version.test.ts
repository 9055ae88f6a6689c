/**
 * Property-based tests of apk's version ordering (feeds/version.ts): on versions generated from apk's grammar
 * (digits{.digits}[letter]{_suffix[N]}[~hash][-rN]) the order is a total preorder — reflexive, antisymmetric,
 * transitive — consistent with the operators, and monotone in the revision and the numeric parts; arbitrary strings
 * (what a hostile index can put in V: or a dependency) never throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion, satisfies, type VersionOp } from '../../../src-main/engine/feeds/version';
import { params, timeout } from './fuzz';

const num = fc.oneof(fc.nat({ max: 30 }).map(String), fc.stringMatching(/^[0-9]{1,12}$/));
const suffix = fc
  .tuple(fc.constantFrom('alpha', 'beta', 'pre', 'rc', 'cvs', 'svn', 'git', 'hg', 'p'), fc.option(fc.nat({ max: 20250101 })))
  .map(([s, n]) => `_${s}${n ?? ''}`);
const apkVersion = fc
  .record({
    first: fc.nat({ max: 40 }).map(String),
    rest: fc.array(num, { maxLength: 4 }),
    letter: fc.option(fc.constantFrom('a', 'b', 'p', 'z')),
    suffixes: fc.array(suffix, { maxLength: 2 }),
    hash: fc.option(fc.stringMatching(/^[0-9a-f]{1,12}$/)),
    rev: fc.option(fc.nat({ max: 40 })),
  })
  .map(
    (v) =>
      `${v.first}${v.rest.map((d) => `.${d}`).join('')}${v.letter ?? ''}${v.suffixes.join('')}${v.hash ? `~${v.hash}` : ''}${v.rev === null ? '' : `-r${v.rev}`}`,
  );

const ops: VersionOp[] = ['=', '<', '>', '<=', '>=', '~', '>~', '<~'];

describe('fuzz: apk version ordering', () => {
  it(
    'every generated version is valid, and the order is reflexive and antisymmetric',
    () => {
      fc.assert(
        fc.property(apkVersion, apkVersion, (a, b) => {
          expect(isValidVersion(a)).toBe(true);
          expect(compareVersions(a, a)).toBe(0);
          expect(compareVersions(a, b)).toBe(-compareVersions(b, a) || 0);
        }),
        params(1000),
      );
    },
    timeout,
  );

  it(
    'is transitive (sorting three versions gives a consistent order)',
    () => {
      fc.assert(
        fc.property(apkVersion, apkVersion, apkVersion, (a, b, c) => {
          const [x, y, z] = [a, b, c].sort((p, q) => compareVersions(p, q));
          expect(compareVersions(x!, y!)).toBeLessThanOrEqual(0);
          expect(compareVersions(y!, z!)).toBeLessThanOrEqual(0);
          expect(compareVersions(x!, z!)).toBeLessThanOrEqual(0);
        }),
        params(1000),
      );
    },
    timeout,
  );

  it(
    'a higher revision or a higher first number is newer; a pre-release is older than its release',
    () => {
      fc.assert(
        fc.property(
          fc.nat({ max: 99 }),
          fc.array(fc.nat({ max: 99 }), { maxLength: 3 }),
          fc.nat({ max: 50 }),
          fc.integer({ min: 1, max: 50 }),
          (major, rest, r, step) => {
            const base = [major, ...rest].join('.');
            expect(compareVersions(`${base}-r${r + step}`, `${base}-r${r}`)).toBe(1);
            expect(compareVersions(`${major + step}`, `${base}-r${r}`)).toBe(1);
            expect(compareVersions(`${base}_rc${r}`, base)).toBe(-1);
            expect(compareVersions(`${base}_p${r}`, base)).toBe(1);
            expect(compareVersions(`${base}-r${r}`, `${base}.1`)).toBe(-1);
          },
        ),
        params(1000),
      );
    },
    timeout,
  );

  it(
    'the operators agree with the order; "~" matches a version\'s own prefix',
    () => {
      fc.assert(
        fc.property(apkVersion, apkVersion, fc.constantFrom(...ops), (a, b, op) => {
          const c = compareVersions(a, b);
          const expected = { '=': c === 0, '<': c < 0, '>': c > 0, '<=': c <= 0, '>=': c >= 0 } as Record<string, boolean>;
          if (op in expected) expect(satisfies(a, op, b)).toBe(expected[op]);
          else expect(typeof satisfies(a, op, b)).toBe('boolean');
          expect(satisfies(a, '~', a.split('.')[0]!.replace(/[a-z_~-].*$/, ''))).toBe(true);
        }),
        params(1000),
      );
    },
    timeout,
  );

  it(
    'arbitrary strings (as a hostile index or dependency may carry) compare without throwing, antisymmetrically',
    () => {
      const hostile = fc.oneof(
        fc.string({ maxLength: 40 }),
        apkVersion.map((v) => `${v}x`),
        fc.stringMatching(/^[0-9._a-z~-]{0,30}$/),
      );
      fc.assert(
        fc.property(hostile, hostile, fc.constantFrom(...ops, '><' as VersionOp), (a, b, op) => {
          const c = compareVersions(a, b);
          expect([-1, 0, 1]).toContain(c);
          expect(compareVersions(b, a)).toBe(-c || 0);
          expect(typeof satisfies(a, op, b)).toBe('boolean');
          expect(typeof isValidVersion(a)).toBe('boolean');
        }),
        params(1000),
      );
    },
    timeout,
  );
});
