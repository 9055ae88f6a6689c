/**
 * apk-tools' own solver suite (test/solver/*.test, data in /work/shared/testdata/upstream/apk-tools-solver/)
 * run through our resolver: the `add` cases that build a fresh root (no @INSTALLED, no --force-broken-world,
 * no `-t` virtual). Each case's installed set (name[@tag] version) must equal apk's; an ERROR case must make
 * us throw a NexusError. Cases where we knowingly differ are listed in KNOWN_DISAGREEMENTS with the reason,
 * so a regression on any other case fails, and so does a listed case that starts agreeing (update the list).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NexusError } from '../../../src-shared/errors';
import { parseApkIndexText, type ApkIndex } from '../../../src-main/engine/feeds/apkindex';
import { resolvePackages } from '../../../src-main/engine/feeds/resolver';

/** `shared/` beside the repository clone, as for the Alpine corpus (a missing suite fails, never skips). */
const SUITE = resolve(import.meta.dirname, '..', '..', '..', '..', 'shared', 'testdata', 'upstream', 'apk-tools-solver');

/**
 * Case name → why our result differs from apk's. Empty: installif1/2/3 (libiif and bar have C: values that
 * decode to the same hash) agree because ProviderIndex, like apk, keeps one package per hash in an index.
 */
const KNOWN_DISAGREEMENTS: Record<string, string> = {};
/** The issue's floor is 59 of 61; the per-case checks above it catch any regression anyway. */
const MIN_AGREEING = 61 - Object.keys(KNOWN_DISAGREEMENTS).length;

interface SolverCase {
  name: string;
  world: string[];
  repos: Array<{ file: string; tag?: string }>;
  /** "name[@tag] (version)" lines, or null when apk answers with an error. */
  expected: string[] | null;
  /** apk's install order, for information. */
  order: string[];
}

/** Reads one *.test file; null when it is not a fresh-root `add` case. */
function parseSolverCase(name: string, text: string): SolverCase | null {
  const lines = text.split('\n');
  const args: string[] = [];
  const world: string[] = [];
  const repos: SolverCase['repos'] = [];
  const out: string[] = [];
  let inExpect = false;
  for (const line of lines) {
    if (inExpect) out.push(line);
    else if (line.startsWith('@ARGS ')) args.push(...line.slice(6).split(/\s+/).filter(Boolean));
    else if (line.startsWith('@WORLD ')) world.push(...line.slice(7).split(/\s+/).filter(Boolean));
    else if (line.startsWith('@INSTALLED ')) return null;
    else if (line.startsWith('@REPO @')) {
      const [tag, file] = line.slice(7).split(/\s+/);
      repos.push({ file: file!, tag });
    } else if (line.startsWith('@REPO ') || line.startsWith('@CACHE ')) repos.push({ file: line.split(/\s+/)[1]! });
    else if (line === '@EXPECT') inExpect = true;
  }
  const add = args.indexOf('add');
  if (add < 0) return null;
  // --force-broken-world and -t (a virtual world package) change what the case means for a fresh image.
  if (args.includes('--force-broken-world') || args.includes('-t')) return null;
  const requests = args.slice(add + 1).filter((a) => !a.startsWith('-'));
  const installing = out
    .map((l) => /^\(\d+\/\d+\) Installing (\S+) \((.+)\)$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => `${m[1]} (${m[2]})`);
  const failed = out.some((l) => l.startsWith('ERROR'));
  return { name, world: [...world, ...requests], repos, expected: failed ? null : [...installing].sort(), order: installing };
}

function loadCases(): SolverCase[] {
  return readdirSync(SUITE)
    .filter((f) => f.endsWith('.test'))
    .sort()
    .map((f) => parseSolverCase(f.replace(/\.test$/, ''), readFileSync(join(SUITE, f), 'utf8')))
    .filter((c): c is SolverCase => c !== null);
}

function indexesOf(c: SolverCase): ApkIndex[] {
  return c.repos.map(({ file, tag }) => {
    const repo = { name: file.replace(/\.repo$/, ''), branch: 'test', arch: 'x86_64', base: join(SUITE, file), ...(tag ? { tag } : {}) };
    return { repo, description: '', signer: null, packages: parseApkIndexText(readFileSync(join(SUITE, file), 'utf8'), repo) };
  });
}

interface Outcome {
  agrees: boolean;
  got: string;
  orderAgrees?: boolean;
}

function runCase(c: SolverCase): Outcome {
  try {
    const res = resolvePackages(
      indexesOf(c),
      c.world.map((dep) => ({ dep, from: ['world'] })),
    );
    const label = (p: { name: string; version: string; repo: { tag?: string } }) => `${p.name}${p.repo.tag ? `@${p.repo.tag}` : ''} (${p.version})`;
    const got = res.packages.map((r) => label(r.pkg)).sort();
    const order = res.installOrder.map(label);
    return {
      agrees: c.expected !== null && JSON.stringify(got) === JSON.stringify(c.expected),
      got: got.join(', '),
      orderAgrees: JSON.stringify(order) === JSON.stringify(c.order),
    };
  } catch (e) {
    if (!(e instanceof NexusError)) throw e;
    return { agrees: c.expected === null, got: `${e.code}: ${e.message}` };
  }
}

describe('apk-tools solver suite', () => {
  const cases = loadCases();
  const outcomes = new Map(cases.map((c) => [c.name, runCase(c)]));

  it('has the 61 applicable cases', () => {
    expect(cases).toHaveLength(61);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const o = outcomes.get(name)!;
    const want = c.expected ? c.expected.join(', ') : 'ERROR';
    if (name in KNOWN_DISAGREEMENTS) expect(o.agrees, `${name} now agrees with apk: remove it from KNOWN_DISAGREEMENTS`).toBe(false);
    else expect(o.agrees, `${name}: apk gives ${want}; we give ${o.got}`).toBe(true);
  });

  it(`agrees with apk on at least ${MIN_AGREEING} cases`, () => {
    const table = cases.map((c) => {
      const o = outcomes.get(c.name)!;
      const mark = o.agrees ? (o.orderAgrees === false ? 'ok (other order)' : 'ok') : 'DIFFERS';
      return `${c.name.padEnd(16)} ${mark.padEnd(17)} ${o.agrees ? '' : `apk: ${c.expected?.join(', ') ?? 'ERROR'} | ours: ${o.got}`}`;
    });
    const agreeing = [...outcomes.values()].filter((o) => o.agrees).length;
    process.stdout.write(`apk solver suite: ${agreeing}/${cases.length} agree\n${table.join('\n')}\n`);
    expect(agreeing).toBeGreaterThanOrEqual(MIN_AGREEING);
  });
});
