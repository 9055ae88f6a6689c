/** The narrowing helpers used instead of `!`/`as`: they answer null/false exactly when the value is not there. */
import { describe, expect, it } from 'vitest';
import { captures, errnoCode, errorMessage, isRecord, isTuple } from '../../../src-shared/narrow';

describe('narrow', () => {
  it('captures gives the groups of a match, null without a match or when a group took no part', () => {
    expect(captures(/^(\w+)=(\d+)$/.exec('uid=100'), 2)).toEqual(['uid', '100']);
    expect(captures(/^(\w+)=(\d+)$/.exec('uid=x'), 2)).toBeNull();
    expect(captures(/^(a)|(b)$/.exec('a'), 2)).toBeNull();
    expect(captures(/^(a)|(b)$/.exec('a'), 1)).toEqual(['a']);
    expect(captures('x'.match(/(x)(y)?/), 1)).toEqual(['x']);
  });

  it('isTuple checks the length and that no value is missing', () => {
    expect(isTuple(['a', 'b'], 2)).toBe(true);
    expect(isTuple(['a'], 2)).toBe(false);
    expect(isTuple(['a', 'b', 'c'], 2)).toBe(false);
    expect(isTuple([1, undefined], 2)).toBe(false);
    expect(isTuple([0, ''], 2)).toBe(true);
  });

  it('errorMessage reads an Error or anything else thrown', () => {
    expect(errorMessage(new TypeError('bad'))).toBe('bad');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage(42)).toBe('42');
  });

  it('isRecord accepts mappings only; errnoCode reads a string code only', () => {
    expect([{}, { a: 1 }, Object.create(null)].every(isRecord)).toBe(true);
    expect([null, [], 'x', 1, undefined].some(isRecord)).toBe(false);
    expect(errnoCode(Object.assign(new Error('x'), { code: 'ENOSPC' }))).toBe('ENOSPC');
    expect(errnoCode({ code: 28 })).toBeUndefined();
    expect(errnoCode(null)).toBeUndefined();
  });
});
