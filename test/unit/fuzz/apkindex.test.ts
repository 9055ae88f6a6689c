/**
 * Property-based fuzzing of the APKINDEX reader (feeds/apkindex.ts): Alpine's real signed v3.23.4 main index and
 * edits of it, stanzas assembled from real field values and hostile ones, and unsigned index archives built from
 * them. Every outcome is an index whose packages have a name, a version, safe sizes and decodable dependency fields,
 * or the reader's typed error (signature, truncation, limits) — never a TypeError, a NaN size or a hang.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import tar from 'tar-stream';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  packagesOfScan,
  parseApkIndexBuffer,
  parseApkIndexText,
  readApkIndex,
  scanOf,
  type ApkPackage,
  type RepoRef,
} from '../../../src-main/engine/feeds/apkindex';
import { withLimits } from '../../../src-main/engine/feeds/limits';
import { loadTrustedKeys, type TrustedKeys } from '../../../src-main/engine/feeds/signature';
import { alpineTestdata } from '../../support/alpine-testdata';
import { realIndexV3234 } from '../../support/alpine-real';
import { mutated, outcomeAsync, params, timeout } from './fuzz';

const repo: RepoRef = { name: 'main', branch: 'v3.23', arch: 'x86_64', base: '' };
const READ_CODES = [
  'APK_V3_UNSUPPORTED',
  'UNSIGNED',
  'UNTRUSTED_SIGNATURE',
  'BAD_SIGNATURE',
  'TRUNCATED_FILE',
  'BAD_INDEX',
  'INDEX_TOO_LARGE',
  'DECOMPRESSION_LIMIT',
  'BAD_GZIP',
  'BAD_TAR',
];

/** What every parsed package must look like, whatever the index said. */
function checkPackage(p: ApkPackage): void {
  expect(p.name.length).toBeGreaterThan(0);
  expect(p.version.length).toBeGreaterThan(0);
  for (const n of [p.size, p.installedSize]) expect(Number.isSafeInteger(n) && n >= 0).toBe(true);
  expect(Number.isFinite(p.buildTime)).toBe(true);
  expect(Number.isFinite(p.providerPriority)).toBe(true);
  for (const d of [...p.depends, ...p.installIf]) expect(typeof d.name).toBe('string');
  for (const d of p.provides) expect(typeof d.name).toBe('string');
  expect(typeof JSON.stringify(p)).toBe('string');
  for (const s of [p.description, p.url, p.license, p.maintainer, p.commit, p.origin, p.arch, p.checksum]) expect(typeof s).toBe('string');
}

let stanzas: Array<Record<string, string>>;
let keys: TrustedKeys;
beforeAll(async () => {
  stanzas = [...(await realIndexV3234()).values()];
  keys = await loadTrustedKeys(alpineTestdata('keys'));
});

const letters = ['C', 'P', 'V', 'A', 'S', 'I', 'T', 'U', 'L', 'D', 'o', 'm', 't', 'c', 'p', 'i', 'k', 'F', 'Z', 'q', ''];
const hostileValue = fc.oneof(
  fc.string({ maxLength: 60 }).map((s) => s.replace(/\n/g, ' ')),
  fc.constantFrom('1e20', '-5', 'abc', '', ' 12', '0x10', '9007199254740993', 'NaN', 'Infinity', '=1.0', '!!', 'so:', '>', '  ', 'a=b=c', 'ü-ç-ß', '\u0000'),
  fc.nat().map(String),
);
/** A stanza: real field lines from a real package, with some replaced, dropped, repeated or given hostile values. */
const stanzaText = fc
  .tuple(fc.nat(), fc.array(fc.tuple(fc.constantFrom(...letters), hostileValue), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 3 }))
  .map(([pick, extra, drops]) => {
    const real = stanzas[pick % stanzas.length]!;
    const lines = Object.entries(real).map(([k, v]) => `${k}:${v}`);
    for (const d of drops) lines.splice(d % (lines.length + 1), 1);
    for (const [k, v] of extra) lines.splice(v.length % (lines.length + 1), 0, k ? `${k}:${v}` : v);
    return lines.join('\n');
  });

async function unsignedIndex(text: string): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  pack.entry({ name: 'DESCRIPTION', mtime: new Date(0) }, 'fuzz');
  pack.entry({ name: 'APKINDEX', mtime: new Date(0) }, Buffer.from(text, 'utf8'));
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

describe('fuzz: APKINDEX reader', () => {
  it(
    'stanzas made of real fields with hostile edits parse into sane packages',
    () => {
      fc.assert(
        fc.property(fc.array(stanzaText, { minLength: 1, maxLength: 6 }), fc.constantFrom('\n\n', '\n\n\n', '\n'), (texts, sep) => {
          const pkgs = parseApkIndexText(texts.join(sep), repo);
          pkgs.forEach(checkPackage);
          expect(parseApkIndexText(texts.join('\n\n'), repo).length).toBeLessThanOrEqual(texts.length);
        }),
        params(300),
      );
    },
    timeout,
  );

  it(
    'real stanzas come back with their real values',
    () => {
      fc.assert(
        fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 20 }), (picks) => {
          const chosen = picks.map((i) => stanzas[i % stanzas.length]!);
          const pkgs = parseApkIndexText(
            chosen
              .map((s) =>
                Object.entries(s)
                  .map(([k, v]) => `${k}:${v}`)
                  .join('\n'),
              )
              .join('\n\n') + '\n',
            repo,
          );
          expect(pkgs.map((p) => [p.name, p.version, p.size, p.installedSize, p.checksum])).toEqual(
            chosen.map((s) => [s.P, s.V, Number(s.S), Number(s.I), s.C]),
          );
          pkgs.forEach(checkPackage);
        }),
        params(100),
      );
    },
    timeout,
  );

  it(
    'the off-thread scan (worker → main thread) rebuilds exactly the packages a direct parse gives',
    () => {
      fc.assert(
        fc.property(fc.array(stanzaText, { minLength: 1, maxLength: 5 }), (texts) => {
          const bytes = Buffer.from(texts.join('\n\n') + '\n', 'utf8');
          const direct = parseApkIndexBuffer(bytes, repo);
          const scan = scanOf(direct);
          if (!scan) return; // a NUL in an identity field: the caller parses on its own thread instead
          const rebuilt = packagesOfScan(structuredClone(scan), bytes.toString('latin1'), repo);
          expect(JSON.parse(JSON.stringify(rebuilt))).toEqual(JSON.parse(JSON.stringify(direct)));
        }),
        params(300),
      );
    },
    timeout,
  );

  it(
    'arbitrary text never throws',
    () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 500 }), (text) => parseApkIndexText(text, repo).forEach(checkPackage)),
        params(500),
      );
    },
    timeout,
  );

  it(
    'unsigned index archives built from hostile stanzas read back (keys null) with sane packages',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(stanzaText, { minLength: 1, maxLength: 4 }), async (texts) => {
          const index = await readApkIndex(await unsignedIndex(texts.join('\n\n') + '\n'), repo, null);
          index.packages.forEach(checkPackage);
        }),
        params(100),
      );
    },
    timeout,
  );

  it(
    "edits of Alpine's real signed index: the real index, or a typed error (signature first, bounded inflation)",
    async () => {
      const real = readFileSync(alpineTestdata('official', 'v3.23.4-main-x86_64-APKINDEX.tar.gz'));
      // Edits land near the member boundaries or anywhere; a mutated body fails its signature before it is inflated.
      await withLimits({ indexInflated: 16 * 1024 * 1024 }, () =>
        fc.assert(
          fc.asyncProperty(mutated(real.subarray(0, 2048), 3), fc.boolean(), async (head, keep) => {
            const bytes = keep ? Buffer.concat([head, real.subarray(2048)]) : head;
            const index = await outcomeAsync(() => readApkIndex(bytes, repo, keys), READ_CODES);
            if (index) {
              // Only edits outside what is signed (the signature member's own gzip header fields, say) may still verify.
              expect(index.signer).toMatch(/^alpine-devel@lists\.alpinelinux\.org-.*\.rsa\.pub$/);
              expect(index.packages.length).toBe(stanzas.length);
            }
          }),
          params(60),
        ),
      );
    },
    timeout,
  );

  it('regressions found by the fuzzer', () => {
    // "t:abc" gave buildTime NaN (and "k:1e400" an Infinity priority) in the package and its JSON (null).
    const [p] = parseApkIndexText('P:a\nV:1.0-r0\nt:abc\nk:1e400\nS:12\nI:1e3\n', repo);
    expect([p!.buildTime, p!.providerPriority, p!.size, p!.installedSize]).toEqual([0, 0, 12, 0]);
    expect(p!.uninstallable).toMatch(/invalid I: size/);
  });
});
