/**
 * Property-based fuzzing of the archive readers a package or index passes through before its contents are trusted:
 * the gzip member splitter (feeds/gzip-members.ts, exact member boundaries for signature checks), the in-memory tar
 * reader (feeds/tar-read.ts) and the initramfs cpio writer/reader (image/cpio.ts, checked against GNU cpio). Inputs
 * are real signed Alpine packages and edits of them; every outcome is a value or the module's typed error.
 */
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { readGzipMember, readGzipMembers } from '../../../src-main/engine/feeds/gzip-members';
import { withLimits } from '../../../src-main/engine/feeds/limits';
import { readTar } from '../../../src-main/engine/feeds/tar-read';
import { readCpio, writeCpio, type CpioEntry } from '../../../src-main/engine/image/cpio';
import { alpineTestdata } from '../../support/alpine-testdata';
import { mutated, outcome, outcomeAsync, params, timeout } from './fuzz';

const GZIP_CODES = ['BAD_GZIP', 'TRUNCATED_FILE', 'DECOMPRESSION_LIMIT', 'APK_V3_UNSUPPORTED'];
/** Real Alpine-signed packages: signature, control and data members. */
const apk = readFileSync(alpineTestdata('official', 'packages', 'noarch', 'busybox-binsh-1.37.0-r30.apk'));
const apk2 = readFileSync(alpineTestdata('official', 'packages', 'noarch', 'alpine-baselayout-3.4.3-r2.apk'));

describe('fuzz: gzip member splitter', () => {
  it(
    'splits concatenated members exactly at their boundaries (real gzip, any level, empty members too)',
    () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 0, max: 9 })), { minLength: 1, maxLength: 5 }), (parts) => {
          const members = parts.map(([data, level]) => gzipSync(data, { level }));
          const got = readGzipMembers(Buffer.concat(members), 'fuzz')!;
          expect(got.map((m) => m.data)).toEqual(parts.map(([data]) => Buffer.from(data)));
          let off = 0;
          got.forEach((m, i) => {
            expect([m.start, m.end]).toEqual([off, off + members[i]!.length]);
            off = m.end;
          });
        }),
        params(300),
      );
    },
    timeout,
  );

  it(
    'a prefix of a real package asks for more (partial) or is TRUNCATED_FILE, never a wrong boundary',
    () => {
      const whole = readGzipMembers(apk, 'apk')!;
      fc.assert(
        fc.property(fc.nat({ max: apk.length }), (cut) => {
          const prefix = apk.subarray(0, cut);
          const partial = readGzipMembers(prefix, 'apk', 3, true);
          if (partial) for (const [i, m] of partial.entries()) expect([m.start, m.end, m.data]).toEqual([whole[i]!.start, whole[i]!.end, whole[i]!.data]);
          outcome(() => readGzipMembers(prefix, 'apk'), GZIP_CODES);
        }),
        params(300),
      );
    },
    timeout,
  );

  it(
    'hostile edits of real packages: members or a typed error, within the inflate bound',
    async () => {
      await withLimits({ indexInflated: 1024 * 1024 }, () => {
        fc.assert(
          fc.property(
            fc.oneof(
              mutated(apk, 4),
              mutated(apk2, 4),
              fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.concat([Buffer.from([0x1f, 0x8b, 8]), b])),
            ),
            (bytes) => {
              const members = outcome(() => readGzipMembers(bytes, 'fuzz'), GZIP_CODES);
              if (members) {
                let off = 0;
                for (const m of members) {
                  expect(m.start).toBe(off);
                  expect(m.end).toBeGreaterThan(m.start);
                  expect(m.end).toBeLessThanOrEqual(bytes.length);
                  expect(m.data.length).toBeLessThanOrEqual(1024 * 1024);
                  off = m.end;
                }
              }
              outcome(() => readGzipMember(bytes, 0, 'fuzz', 64, true), GZIP_CODES);
            },
          ),
          params(400),
        );
      });
    },
    timeout,
  );
});

/** A tar as tar-stream writes it (ustar/PAX), from generated entries. */
async function packTar(
  entries: Array<{ name: string; data: Uint8Array; type: 'file' | 'directory' | 'symlink'; linkname?: string; mode: number }>,
): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) {
    if (e.type === 'file') pack.entry({ name: e.name, mode: e.mode, mtime: new Date(0) }, Buffer.from(e.data));
    else pack.entry({ name: e.name, type: e.type, mode: e.mode, mtime: new Date(0), ...(e.linkname ? { linkname: e.linkname } : {}) });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const tarName = fc.oneof(
  fc.stringMatching(/^[a-z0-9._-]{1,20}(\/[a-z0-9._-]{1,20}){0,3}$/),
  fc.string({ minLength: 1, maxLength: 120 }).filter((s) => !s.includes('\0')),
);
const tarEntry = fc.record({
  name: tarName,
  data: fc.uint8Array({ maxLength: 1500 }),
  type: fc.constantFrom('file' as const, 'directory' as const, 'symlink' as const),
  linkname: fc.option(tarName, { nil: undefined }),
  mode: fc.nat({ max: 0o7777 }),
});

describe('fuzz: tar reader', () => {
  it(
    'reads back every entry tar-stream packs (long and non-ASCII names through PAX)',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(tarEntry, { maxLength: 6 }), async (entries) => {
          const got = await readTar(await packTar(entries), 'fuzz');
          expect(got.map((e) => e.header.name)).toEqual(entries.map((e) => e.name));
          got.forEach((g, i) => {
            if (entries[i]!.type === 'file') expect(g.data).toEqual(Buffer.from(entries[i]!.data));
          });
        }),
        params(200),
      );
    },
    timeout,
  );

  it(
    'hostile edits of real control and signature members: entries or BAD_TAR, never a raw error or a hang',
    async () => {
      const [sig, control] = readGzipMembers(apk, 'apk', 2)!;
      await fc.assert(
        fc.asyncProperty(fc.oneof(mutated(sig!.data, 4), mutated(control!.data, 4), fc.uint8Array({ maxLength: 2048 }).map(Buffer.from)), async (bytes) => {
          const entries = await outcomeAsync(() => readTar(bytes, 'fuzz'), ['BAD_TAR']);
          for (const e of entries ?? []) {
            expect(typeof e.header.name).toBe('string');
            expect(e.data.length).toBeLessThanOrEqual(bytes.length);
          }
        }),
        params(400),
      );
    },
    timeout,
  );
});

const cpioPath = fc.stringMatching(/^\/?[a-zA-Z0-9._+@-]{1,16}(\/[a-zA-Z0-9._+@ -]{1,16}){0,3}$/);
const cpioEntry: fc.Arbitrary<CpioEntry> = fc.oneof(
  fc.record({
    path: cpioPath,
    type: fc.constant('file' as const),
    mode: fc.nat({ max: 0o7777 }),
    uid: fc.nat({ max: 65535 }),
    gid: fc.nat({ max: 65535 }),
    mtime: fc.nat({ max: 0xffffffff }),
    data: fc.uint8Array({ maxLength: 700 }),
  }),
  fc.record({ path: cpioPath, type: fc.constant('dir' as const), mode: fc.nat({ max: 0o7777 }) }),
  fc.record({ path: cpioPath, type: fc.constant('symlink' as const), mode: fc.constant(0o777), linkTarget: fc.stringMatching(/^[a-z0-9./-]{1,40}$/) }),
);

describe('fuzz: initramfs cpio (newc)', () => {
  it(
    'round trip: names, modes, owners, times and data come back as written',
    () => {
      fc.assert(
        fc.property(fc.array(cpioEntry, { maxLength: 12 }), (entries) => {
          const buf = writeCpio(entries);
          expect(buf.length % 4).toBe(0);
          const back = readCpio(buf);
          expect(back.map((e) => e.path)).toEqual(entries.map((e) => e.path.replace(/^\/+/, '') || '.'));
          back.forEach((b, i) => {
            const e = entries[i]!;
            expect(b.mode & 0o7777).toBe(e.mode & 0o7777);
            expect(b.mtime).toBe(e.mtime ?? 0);
            expect(b.data).toEqual(Buffer.from(e.type === 'symlink' ? e.linkTarget! : e.type === 'file' ? e.data! : []));
          });
        }),
        params(300),
      );
    },
    timeout,
  );

  it(
    'GNU cpio lists exactly the entries the writer wrote (a few runs: one process each)',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(cpioEntry, { minLength: 1, maxLength: 8 }), async (entries) => {
          const r = await execa('cpio', ['-it', '--quiet'], { input: writeCpio(entries), encoding: 'utf8' });
          expect(r.stdout.split('\n')).toEqual(entries.map((e) => e.path.replace(/^\/+/, '') || '.'));
        }),
        params(15),
      );
    },
    timeout,
  );

  it(
    'the writer refuses what newc cannot hold (NUL in a name, fields beyond 32 bits) with a typed error',
    () => {
      const big = fc.oneof(
        fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }),
        fc.constantFrom(NaN, 1.5),
      );
      fc.assert(
        fc.property(cpioEntry, fc.constantFrom('uid', 'gid', 'mtime', 'path'), big, (entry, field, value) => {
          const bad = field === 'path' ? { ...entry, path: `${entry.path}\0x` } : { ...entry, [field]: value };
          expect(() => writeCpio([bad])).toThrow(
            expect.objectContaining({ code: 'CPIO_UNREPRESENTABLE', message: expect.stringContaining(entry.path.replace(/^\/+/, '')) }),
          );
        }),
        params(200),
      );
    },
    timeout,
  );

  it(
    'hostile or truncated archives: entries or BAD_CPIO, never a hang',
    () => {
      const base = writeCpio([
        { path: '/init', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
        { path: '/etc', type: 'dir', mode: 0o755 },
      ]);
      fc.assert(
        fc.property(fc.oneof(mutated(base, 4), fc.uint8Array({ maxLength: 300 }).map(Buffer.from)), (bytes) => {
          const entries = outcome(() => readCpio(bytes), ['BAD_CPIO']);
          for (const e of entries ?? []) expect(e.data.length).toBeLessThanOrEqual(bytes.length);
        }),
        params(500),
      );
    },
    timeout,
  );

  it('regressions found by the fuzzer', () => {
    // A truncated header gave "bad cpio magic at NaN" (an untyped Error); a short name field read past the end.
    expect(() => readCpio(Buffer.from('0707010000000100'))).toThrow(expect.objectContaining({ code: 'BAD_CPIO' }));
    expect(() => readCpio(writeCpio([]).subarray(0, 112))).toThrow(expect.objectContaining({ code: 'BAD_CPIO' }));
    expect(readCpio(writeCpio([]))).toEqual([]);
    // mtime 1.5 or 2^32, a uid of -1 were wrapped silently into the header (another owner or time than the manifest's).
    expect(() => writeCpio([{ path: '/a', type: 'file', mode: 0o644, mtime: 2 ** 32 }])).toThrow(expect.objectContaining({ code: 'CPIO_UNREPRESENTABLE' }));
    expect(() => writeCpio([{ path: '/a', type: 'file', mode: 0o644, uid: -1 }])).toThrow(expect.objectContaining({ code: 'CPIO_UNREPRESENTABLE' }));
    expect(() => writeCpio([{ path: '/a\0b', type: 'dir', mode: 0o755 }])).toThrow(expect.objectContaining({ code: 'CPIO_UNREPRESENTABLE' }));
  });
});
