/**
 * Real Alpine metadata as verified indexes, for resolving the Boxes against what Alpine really ships:
 * - officially signed index files from `../shared/testdata/alpine/official/` (verified with Alpine's keys);
 * - stanzas copied verbatim from Alpine's current indexes (`test/fixtures/alpine-real/`, see its PROVENANCE.md),
 *   which exist upstream only unsigned here: signed with a test key and read back through the same verifying
 *   reader as any index, so nothing in them is trusted without a signature check.
 */
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ComposePlan } from '../../src-shared/plan';
import { loadTrustedKeys, readApkIndex, resolvePackages, type ApkIndex, type RepoRef } from '../../src-main/engine/feeds';
import { planRequests } from '../../src-main/engine/feeds/stages';
import { alpineTestdata } from './alpine-testdata';
import { buildApkIndex, generateSigningKey } from './apk-repo';

const fixtures = resolve(import.meta.dirname, '..', 'fixtures', 'alpine-real');
const key = generateSigningKey('nexus-real-stanzas.rsa.pub');

/** APKINDEX text → one record per stanza, fields in upstream order (each field appears once per stanza). */
export function parseStanzas(text: string): Array<Record<string, string>> {
  return text
    .split(/\n\s*\n/)
    .map((block) => {
      const rec: Record<string, string> = {};
      for (const line of block.split('\n')) {
        const at = line.indexOf(':');
        if (at === 1) rec[line[0]!] = line.slice(2);
      }
      return rec;
    })
    .filter((r) => r.P);
}

/** Stanzas signed with the test key and read back through the verifying reader. */
export async function stanzaIndex(stanzas: Array<Record<string, string>>, ref: RepoRef, description: string): Promise<ApkIndex> {
  const bytes = await buildApkIndex(stanzas, key, description);
  return readApkIndex(bytes, ref, new Map([[key.pubName, createPublicKey(key.publicPem)]]));
}

/** The copied stanzas of `<branch>/<repo>/<arch>` (test/fixtures/alpine-real). */
export async function realStanzaIndex(branch: string, repo: string, arch: string): Promise<ApkIndex> {
  const text = await readFile(join(fixtures, branch, repo, arch, 'APKINDEX.part'), 'utf8');
  return stanzaIndex(parseStanzas(text), { name: repo, branch, arch, base: '' }, `${branch} ${repo} ${arch} (stanzas copied from Alpine, test-signed)`);
}

/**
 * edge/testing as a tagged repository holding toybox. No copy of an edge/testing index was available to us, so
 * this one stanza is written from the facts (docs/alpine-facts.md: toybox 0.8.13 in edge/testing only, one file
 * /bin/toybox, no scripts; aports' APKBUILD: a default, dynamically linked build, license 0BSD).
 */
export async function edgeTestingToybox(arch: string): Promise<ApkIndex> {
  const stanza = {
    C: 'Q1' + Buffer.alloc(20, 7).toString('base64'),
    P: 'toybox',
    V: '0.8.13-r0',
    A: arch,
    S: '300000',
    I: '700000',
    T: 'A BSD-licensed alternative to busybox',
    U: 'https://landley.net/toybox/',
    L: '0BSD',
    o: 'toybox',
    D: `so:libc.musl-${arch}.so.1`,
    p: 'cmd:toybox=0.8.13-r0',
  };
  return stanzaIndex(
    [stanza],
    { name: 'testing', branch: 'edge', arch, base: '', tag: 'testing' },
    'edge testing (toybox stanza written from facts, test-signed)',
  );
}

/** An index file signed by Alpine, verified with Alpine's own keys. */
export async function officialIndex(file: string, repo: string, branch: string, arch: string): Promise<ApkIndex> {
  const keys = await loadTrustedKeys(alpineTestdata('keys'));
  return readApkIndex(await readFile(alpineTestdata('official', file)), { name: repo, branch, arch, base: '' }, keys);
}

/**
 * The package names Alpine's own indexes give for a plan's requests (x86_64: the signed v3.23.4 main + v3.19.1
 * community indexes, and the v3.24 dinit stanza), sorted: what a replica-feed build must have installed.
 */
export async function realClosureNames(plan: ComposePlan): Promise<string[]> {
  const only = (i: ApkIndex, names: string[]): ApkIndex => ({ ...i, packages: i.packages.filter((p) => names.includes(p.name)) });
  const indexes = [
    await officialIndex('v3.23.4-main-x86_64-APKINDEX.tar.gz', 'main', 'v3.23', 'x86_64'),
    await officialIndex('v3.19.1-community-x86_64-APKINDEX.tar.gz', 'community', 'v3.19', 'x86_64'),
    only(await realStanzaIndex('v3.24', 'community', 'x86_64'), ['dinit']),
  ];
  const real = resolvePackages(indexes, planRequests(plan), { assumeProvided: plan.builderProvides });
  return real.packages.map((p) => p.pkg.name).sort();
}
