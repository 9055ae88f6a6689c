/**
 * depmod emulation and module decompression against real kernel modules (a Debian kernel .deb from the test .deb
 * cache or the host's apt cache), compared with the host's kmod `depmod` on the same files.
 */
import { execa } from 'execa';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depmod, moduleInfo } from '../../../src-main/engine/image/depmod';
import { elfSection } from '../../../src-main/engine/image/elf';
import { modinfoValues, moduleBytes, selectModules } from '../../../src-main/engine/image/kernel-modules';
import type { FsEntry, FsManifest } from '../../../src-main/engine/rootfs/entries';

const DIRS = [process.env.NEXUS_TEST_DEBS, join(homedir(), '.cache', 'nexus-test-debs'), '/var/cache/apt/archives'].filter(
  (d): d is string => !!d && existsSync(d),
);
const findDeb = (): string | undefined => {
  for (const d of DIRS) {
    for (const sub of [d, join(d, 'amd64')]) {
      if (!existsSync(sub)) continue;
      const f = readdirSync(sub).find((n) => /^linux-image-[0-9].*amd64.*\.deb$/.test(n) && !/dbg/.test(n));
      if (f) return join(sub, f);
    }
  }
  return undefined;
};
const deb = findDeb();
const hasDepmod = ['/usr/sbin/depmod', '/sbin/depmod'].some((p) => existsSync(p)) && ['/usr/sbin/modinfo', '/sbin/modinfo'].some((p) => existsSync(p));
const WANTED = [
  'drivers/virtio/*.ko',
  'drivers/net/virtio_net.ko',
  'drivers/net/net_failover.ko',
  'net/core/failover.ko',
  'drivers/md/dm-verity.ko',
  'drivers/md/dm-bufio.ko',
  'drivers/md/dm-mod.ko',
  'lib/reed_solomon/reed_solomon.ko',
  'drivers/block/virtio_blk.ko',
  'lib/libcrc32c.ko',
];

let work: string;
let kver: string;
const modules = new Map<string, Buffer>();

describe.skipIf(!deb || !hasDepmod)(`depmod on real modules (${deb ?? 'no Debian kernel .deb found'})`, () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'nexus-depmod-'));
    await execa('sh', [
      '-c',
      `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards ${WANTED.map((w) => `'./lib/modules/*/kernel/${w}'`).join(' ')}`,
      'sh',
      deb!,
      work,
    ]);
    kver = (await readdir(join(work, 'lib/modules')))[0]!;
    const walk = async (d: string): Promise<string[]> =>
      (await readdir(d, { withFileTypes: true }))
        .flatMap((e) => (e.isDirectory() ? [] : [join(d, e.name)]))
        .concat(...(await Promise.all((await readdir(d, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => walk(join(d, e.name))))));
    const root = join(work, 'lib/modules', kver);
    for (const p of await walk(join(root, 'kernel'))) modules.set(p.slice(root.length + 1), await readFile(p));
  }, 60_000);
  afterAll(() => rm(work, { recursive: true, force: true }));

  it("writes the dependencies, aliases and soft dependencies kmod's depmod writes for the same modules", async () => {
    expect(modules.size).toBeGreaterThanOrEqual(6);
    const ours = depmod([...modules].map(([rel, b]) => moduleInfo(rel, b)));
    const { stdout } = await execa('depmod', ['-b', work, '-n', kver]);
    const kmodDep = new Map(
      stdout
        .split('\n')
        .filter((l) => /^kernel\/\S+\.ko:/.test(l))
        .map((l) => [l.split(':')[0]!, new Set(l.split(':')[1]!.trim().split(/\s+/).filter(Boolean))]),
    );
    const ourDep = new Map(
      ours['modules.dep']
        .trim()
        .split('\n')
        .map((l) => [l.split(':')[0]!, l.split(':')[1]!.trim().split(/\s+/).filter(Boolean)]),
    );
    expect([...ourDep.keys()].sort()).toEqual([...kmodDep.keys()].sort());
    for (const [m, deps] of ourDep) expect(new Set(deps), m).toEqual(kmodDep.get(m));
    expect(ourDep.get('kernel/drivers/net/virtio_net.ko')).toEqual(
      expect.arrayContaining(['kernel/drivers/net/net_failover.ko', 'kernel/net/core/failover.ko']),
    );
    // Loading each list from its end never loads a module before its dependencies.
    for (const deps of ourDep.values()) {
      const loaded = new Set<string>();
      for (const d of [...deps].reverse()) {
        for (const dd of ourDep.get(d)!) expect(loaded.has(dd)).toBe(true);
        loaded.add(d);
      }
    }
    const lines = (re: RegExp, text: string) =>
      new Set(
        text
          .split('\n')
          .filter((l) => re.test(l))
          .map((l) => l.replace(/\s+/g, ' ').trim()),
      );
    // `depmod -n` prints modules.symbols too ("alias symbol:…"), which busybox modprobe does not need: left out.
    expect(lines(/^alias (?!symbol:)/, ours['modules.alias'])).toEqual(lines(/^alias (?!symbol:)/, stdout));
    expect(lines(/^softdep /, ours['modules.softdep'])).toEqual(lines(/^softdep /, stdout));
  });

  it("reads each module's own .modinfo section, as kmod's modinfo does (not strings elsewhere in the file)", async () => {
    for (const [rel, b] of modules) {
      const section = elfSection(b, '.modinfo');
      expect(section, rel).not.toBeNull();
      expect(section!.length, rel).toBeLessThan(b.length / 4);
      for (const field of ['alias', 'depends', 'softdep']) {
        const { stdout } = await execa('modinfo', ['-F', field, join(work, 'lib/modules', kver, rel)]);
        expect(modinfoValues(b, field).join('\n'), `${rel} ${field}`).toBe(stdout); // one line per value, as modinfo -F prints them
      }
    }
  });

  it('decompresses .ko.gz (node:zlib) and .ko.xz (liblzma in WebAssembly) modules, and selects through .modinfo without modules.dep', async () => {
    const D = `/lib/modules/${kver}`;
    const m: FsManifest = new Map();
    const xzOf = async (b: Buffer) => Buffer.from((await execa('xz', ['-c'], { input: b, encoding: 'buffer' })).stdout);
    for (const [rel, b] of modules) {
      const xz = rel.endsWith('failover.ko') && !rel.includes('net_');
      const path = `${D}/${rel}${xz ? '.xz' : '.gz'}`;
      const data = xz ? await xzOf(b) : gzipSync(b);
      m.set(path, {
        path,
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: 0,
        size: data.length,
        content: { kind: 'inline', data: new Uint8Array(data) },
        owner: 'linux-virt',
      } satisfies FsEntry);
    }
    for (const [path, e] of m) expect((await moduleBytes(path, e)).equals(modules.get(path.slice(D.length + 1).replace(/\.(gz|xz)$/, ''))!)).toBe(true);
    const sel = await selectModules(m, D, ['virtio_net', 'dm_verity']);
    expect(sel.missing).toEqual([]);
    const names = sel.files.map((f) => f.split('/').pop());
    expect(names.indexOf('failover.ko.xz')).toBeLessThan(names.indexOf('net_failover.ko.gz'));
    expect(names.indexOf('net_failover.ko.gz')).toBeLessThan(names.indexOf('virtio_net.ko.gz'));
    expect(names.indexOf('dm-mod.ko.gz')).toBeLessThan(names.indexOf('dm-verity.ko.gz'));
  });
});
