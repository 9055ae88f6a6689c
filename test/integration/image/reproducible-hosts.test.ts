/**
 * Reproducible across build hosts (issue 12, point 3): nothing of the build machine ends up in an image.
 *
 * mkfs.f2fs copies the first line of the host's /proc/version into the F2FS superblocks, so the "other host" is
 * simulated where that string comes from: every filesystem tool runs through a wrapper on PATH that starts it in
 * its own mount namespace with another /proc/version bound over the real one and under `setarch --uname-2.6`
 * (another `uname -r` for anything that asks uname()). The image built that way must be byte-identical to the one
 * built normally, and neither may contain the host's kernel release. FAT volume ids must be the plan-derived ones.
 */
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { whichTool } from '../../../src-main/engine/host-tools';
import { F2FS_VERSION_STRING } from '../../../src-main/engine/image/tools/f2fs';
import { writeFat } from '../../../src-main/engine/image/fat/writer';
import { readF2fsVersions, readFatVolumeId } from '../../support/fs-readers';
import { seedFor } from '../../../src-main/engine/image/reproducible';
import { hashCanonical } from '../../../src-main/engine/plan/canonical';
import type { BuildPlan } from '../../../src-shared/plan';
import { buildFromTestFeed, extractPartition, planFor, readJson, readTable, sharedNexusCache } from '../../support/image-build';

const EPOCH = 1_700_000_000;
const HOST_RELEASE = release();
const HOST_BANNER = readFileSync('/proc/version', 'utf8').split('\n')[0]!;
const FAKE_RELEASE = '9.9.9-otherhost-nexus';
/** Every tool whose output lands in a cryptobox or tinybox image. */
const WRAPPED = ['mkfs.f2fs', 'mkfs.vfat', 'mkfs.erofs', 'veritysetup', 'mmd', 'mcopy', 'objcopy'];

let dir: string;
let fakeBin: string;
let fakeLog: string;
let canFakeHost = false;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-repro-hosts-'));
  fakeBin = join(dir, 'fake-host-bin');
  fakeLog = join(dir, 'fake-host.log');
  await mkdir(fakeBin);
  const banner = join(dir, 'proc-version');
  await writeFile(banner, `Linux version ${FAKE_RELEASE} (someone@elsewhere) (gcc 99) #1 SMP PREEMPT Thu Jan  1 00:00:00 UTC 2099\n`);
  // As root a plain mount namespace will do; a user namespace (-r) would show files owned by other users as
  // 65534 to mkfs.erofs (only our own id is mapped), which is a difference of the wrapper, not of the host.
  const unshare = process.getuid?.() === 0 ? '-m' : '-rm';
  for (const tool of WRAPPED) {
    const real = await whichTool(tool);
    if (!real) continue;
    // $0 inside the inner shell is the fake banner; "$@" the real tool and its arguments.
    await writeFile(
      join(fakeBin, tool),
      `#!/bin/sh\necho ${tool} >> '${fakeLog}'\nexec unshare ${unshare} sh -c 'mount --bind "$0" /proc/version && exec setarch --uname-2.6 "$@"' '${banner}' '${real}' "$@"\n`,
    );
    await chmod(join(fakeBin, tool), 0o755);
  }
  const probe = await execa(
    'unshare',
    [unshare, 'sh', '-c', `mount --bind "$0" /proc/version && setarch --uname-2.6 sh -c 'head -n1 /proc/version; uname -r'`, banner],
    { reject: false },
  );
  canFakeHost = probe.exitCode === 0 && probe.stdout.includes(FAKE_RELEASE) && !probe.stdout.includes(HOST_RELEASE);
  if (!canFakeHost) console.warn(`cannot simulate another build host here (unshare -rm / setarch): ${probe.stderr || probe.stdout}`);
}, 30_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  for (const c of buildCaches) await rm(c, { recursive: true, force: true });
});

let builds = 0;
const buildCaches: string[] = [];

/**
 * A build whose filesystems are all made now, optionally with the fake host's tools first on PATH. Each build
 * gets its own Nexus cache (stage outputs included) under this file's test cache root: packages come from the
 * local test mirror, so that costs little, and no other run of this file can hand it a stage made elsewhere.
 */
async function freshBuild(plan: BuildPlan, fakeHost: boolean) {
  process.env.NEXUS_CACHE_DIR = join(sharedNexusCache('repro-hosts'), `build-${process.pid}-${++builds}`);
  buildCaches.push(process.env.NEXUS_CACHE_DIR);
  await rm(process.env.NEXUS_CACHE_DIR, { recursive: true, force: true });
  const path = process.env.PATH;
  if (fakeHost) process.env.PATH = `${fakeBin}${delimiter}${path}`;
  try {
    const b = await buildFromTestFeed(plan, { sourceDateEpoch: EPOCH });
    expect(b.reused).toEqual([]);
    return b.result;
  } finally {
    process.env.PATH = path;
  }
}

/** The layout seed as the rootfs stage derives it (reproducible.ts layoutSeed): the plan without the user's customization, the hash and the outputs. */
function expectedVolumeId(plan: BuildPlan): string {
  // As layoutSeed: the plan without the user's choices, its hash, its outputs and the recipe tag.
  const { customization: _c, planHash: _h, outputs: _o, recipe: _r, ...rest } = plan;
  return seedFor({ ...plan, planHash: hashCanonical(rest) }, EPOCH)
    .hex('fat-volid', 4)
    .toUpperCase();
}

async function partitionFile(image: string, plan: BuildPlan, role: string, out: string): Promise<string> {
  const p = plan.partitions.find((x) => x.role === role);
  if (!p) throw new Error(`${plan.box.name} has no ${role} partition`);
  const table = await readTable(image);
  return extractPartition(image, table.entries[p.index - 1]!, join(dir, out));
}

/** Byte offsets of a string in a file, read in overlapping chunks. */
async function occurrences(path: string, needle: string): Promise<number[]> {
  const n = Buffer.from(needle, 'latin1');
  const fh = await open(path, 'r');
  const hits: number[] = [];
  try {
    const chunk = Buffer.alloc(8 << 20);
    for (let pos = 0; ; pos += chunk.length - n.length) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      if (bytesRead < n.length) break;
      const view = chunk.subarray(0, bytesRead);
      for (let i = view.indexOf(n); i >= 0; i = view.indexOf(n, i + 1)) if (!hits.includes(pos + i)) hits.push(pos + i);
      if (bytesRead < chunk.length) break;
    }
  } finally {
    await fh.close();
  }
  return hits;
}

/** Which partitions of two images differ, and where first (to say what made the difference). */
async function differingPartitions(a: string, b: string, plan: BuildPlan): Promise<string> {
  const out: string[] = [];
  for (const p of plan.partitions) {
    const [x, y] = await Promise.all([
      readFile(await partitionFile(a, plan, p.role, `a-${p.role}`)),
      readFile(await partitionFile(b, plan, p.role, `b-${p.role}`)),
    ]);
    let i = 0;
    while (i < Math.min(x.length, y.length) && x[i] === y[i]) i++;
    if (i < x.length || x.length !== y.length)
      out.push(
        `${p.role} (${p.filesystem}) from byte ${i}: ${JSON.stringify(x.toString('latin1', i, i + 48))} vs ${JSON.stringify(y.toString('latin1', i, i + 48))}`,
      );
  }
  return out.join('; ') || 'outside the partitions (tables)';
}

describe('reproducible across build hosts', () => {
  let cryptoPlan: BuildPlan;
  let here: Awaited<ReturnType<typeof freshBuild>>;

  beforeAll(async () => {
    cryptoPlan = await planFor('cryptobox', 'qemu-x86_64', join(dir, 'cryptobox-here.img'));
    here = await freshBuild(cryptoPlan, false);
  }, 240_000);

  it('cryptobox: no filesystem holds the build host’s kernel string; F2FS says "nexus-imager" in all four fields', async () => {
    for (const needle of [HOST_RELEASE, HOST_BANNER.slice(0, 60)]) expect(await occurrences(here.image, needle), needle).toEqual([]);
    const state = await partitionFile(here.image, cryptoPlan, 'state', 'state.f2fs');
    expect(await readF2fsVersions(state)).toEqual({
      version: [F2FS_VERSION_STRING, F2FS_VERSION_STRING],
      initVersion: [F2FS_VERSION_STRING, F2FS_VERSION_STRING],
    });
    const fsck = await execa('fsck.f2fs', ['--dry-run', state], { reject: false, all: true });
    expect(fsck.exitCode, String(fsck.all)).toBe(0);
    expect(String(fsck.all)).toContain(`MKFS version\n  "${F2FS_VERSION_STRING}"`);
    expect(String(fsck.all)).not.toMatch(/Invalid SB CRC|Can't find a valid F2FS superblock/);
  });

  it('cryptobox: the ESP volume id is the plan-derived one and fsck.vfat finds nothing to fix', async () => {
    const esp = await partitionFile(here.image, cryptoPlan, 'esp', 'esp.vfat');
    expect(await readFatVolumeId(esp)).toBe(expectedVolumeId(cryptoPlan));
    expect(await readFatVolumeId(esp)).not.toBe('1234ABCD');
    const blkid = await execa('blkid', ['-o', 'value', '-s', 'UUID', esp], { reject: false });
    if (blkid.exitCode === 0) expect(blkid.stdout.trim()).toBe(`${expectedVolumeId(cryptoPlan).slice(0, 4)}-${expectedVolumeId(cryptoPlan).slice(4)}`);
    const fsck = await execa('fsck.vfat', ['-n', esp], { reject: false, all: true });
    expect(fsck.exitCode, String(fsck.all)).toBe(0);
  });

  it('cryptobox: manifest.json names each tool with its version line', async () => {
    const manifest = await readJson<{ tools: Record<string, string> }>(cryptoPlan.outputs.manifest);
    expect(manifest.tools['mkfs.vfat'], 'the boot partition is written in-process').toBeUndefined();
    expect(manifest.tools['mkfs.f2fs'], 'the F2FS state partition is written in-process').toBeUndefined();
    expect(manifest.tools['mkfs.erofs'], 'the EROFS root is written in-process').toBeUndefined();
    expect(manifest.tools.veritysetup, 'the dm-verity tree is written in-process').toBeUndefined();
    expect(manifest.tools.mtools, 'the boot partition is written in-process').toBeUndefined();
    expect(manifest.tools.objcopy, 'the UKI is written in-process').toBeUndefined();
    for (const v of Object.values(manifest.tools)) expect(v).not.toMatch(/BLOCKS|usage|unknown/i);
  });

  it('cryptobox: built again as if on another host (other /proc/version and uname -r), the image is byte-identical', async (ctx) => {
    if (!canFakeHost) ctx.skip();
    await rm(fakeLog, { force: true });
    const plan = await planFor('cryptobox', 'qemu-x86_64', join(dir, 'cryptobox-elsewhere.img'));
    const elsewhere = await freshBuild(plan, true);
    // No wrapped tool may run any more: the log stays absent then.
    const ran = (await readFile(fakeLog, 'utf8').catch(() => '')).split('\n');
    expect(ran, 'the F2FS state partition is written in-process').not.toContain('mkfs.f2fs');
    expect(ran, 'the FAT writer is in-process').not.toContain('mkfs.vfat');
    expect(ran, 'the EROFS root is written in-process').not.toContain('mkfs.erofs');
    expect(await occurrences(elsewhere.image, FAKE_RELEASE)).toEqual([]);
    if (elsewhere.sha256 !== here.sha256) expect.fail(`the images differ: ${await differingPartitions(here.image, elsewhere.image, plan)}`);
  }, 240_000);

  it('tinybox: another plan, another FAT volume id (derived from its plan)', async () => {
    const plan = await planFor('tinybox', 'qemu-x86_64', join(dir, 'tinybox.img'));
    const tiny = await freshBuild(plan, false);
    const esp = await partitionFile(tiny.image, plan, 'esp', 'tiny-esp.vfat');
    expect(await readFatVolumeId(esp)).toBe(expectedVolumeId(plan));
    expect(expectedVolumeId(plan)).not.toBe(expectedVolumeId(cryptoPlan));
    // A customization (host name) keeps the id: it comes from the plan without the user's choices.
    const renamed = await planFor('cryptobox', 'qemu-x86_64', join(dir, 'renamed.img'), { hostname: 'somewhere-else' });
    expect(expectedVolumeId(renamed)).toBe(expectedVolumeId(cryptoPlan));
    expect(await occurrences(tiny.image, HOST_RELEASE)).toEqual([]);
  }, 240_000);
});

describe('FAT volume id', () => {
  it.each(['fat16', 'fat32'] as const)("%s: the given id in the boot sector (and FAT32's backup), fsck.vfat clean", async (fat) => {
    const out = join(dir, `${fat}.vfat`);
    const files = [
      { dest: 'EFI/BOOT/BOOTX64.EFI', data: new Uint8Array(70_000).fill(7) },
      { dest: 'loader/loader.conf', data: new TextEncoder().encode('timeout 0\n') },
    ];
    await writeFat(out, files, {
      sizeBytes: (fat === 'fat32' ? 64 : 32) * 1048576,
      fat,
      label: 'NEXUSESP',
      volumeId: '0badf00d',
      epoch: EPOCH,
    });
    expect(await readFatVolumeId(out)).toBe('0BADF00D');
    const head = Buffer.alloc(7 * 512);
    const fh = await open(out, 'r');
    await fh.read(head, 0, head.length, 0).finally(() => fh.close());
    if (fat === 'fat32') expect(head.readUInt32LE(6 * 512 + 0x43).toString(16)).toBe('badf00d');
    const fsck = await execa('fsck.vfat', ['-n', out], { reject: false, all: true });
    expect(fsck.exitCode, String(fsck.all)).toBe(0);
    expect(String(fsck.all)).not.toMatch(/differ|Dirty|corrupt/i);
  });
});
