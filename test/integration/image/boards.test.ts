/**
 * Board layouts that QEMU cannot boot here (Raspberry Pi 5, VisionFive 2), checked by reading them back:
 * partition table, FAT contents with mtools, config.txt / extlinux.conf, device trees, SPL and FIT in their
 * partitions; plus real boots of tinybox on qemu-riscv64 (OpenSBI + U-Boot reading the same extlinux layout) and on
 * qemu-arm64 (AAVMF UEFI firmware, systemd-boot, a BLS entry), each followed by a login on the serial console.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianTestFeed } from '../../support/debian-test-feed';
import {
  buildFromTestFeed,
  commandOutput,
  consoleSession,
  extractPartition,
  FIRST_COMMANDS,
  planFor,
  readTable,
  sharedNexusCache,
  TEST_USER,
} from '../../support/image-build';

let dir: string;
const MT = { env: { MTOOLS_SKIP_CHECK: '1' } };
const mtype = async (img: string, path: string) => (await execa('mtype', ['-i', img, `::/${path}`], MT)).stdout;
const mlist = async (img: string) => (await execa('mdir', ['-/', '-b', '-i', img, '::/'], MT)).stdout.split('\n').map((l) => l.trim());

beforeAll(async () => {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('boards');
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-boards-'));
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('rpi5', () => {
  it('is an MBR disk with one bootable FAT32 partition holding config.txt, cmdline.txt, kernel, initramfs, DTBs and overlays', async () => {
    const img = join(dir, 'rpi5.img');
    await buildFromTestFeed(await planFor('tinybox', 'rpi5', img));
    const t = await readTable(img);
    expect(t.kind).toBe('mbr');
    expect(t.entries).toEqual([{ type: '0c', startLba: 2048, sizeLba: 256 * 2048, bootable: true }]);
    const boot = await extractPartition(img, t.entries[0]!, join(dir, 'rpi5-boot.img'));
    await execa('fsck.vfat', ['-n', boot]);
    expect((await execa('file', ['-s', boot])).stdout).toMatch(/FAT \(32 bit\)/);
    const files = await mlist(boot);
    for (const f of [
      '::/config.txt',
      '::/cmdline.txt',
      '::/vmlinuz-rpi',
      '::/initramfs-rpi',
      '::/bcm2712-rpi-5-b.dtb',
      '::/bcm2712d0-rpi-5-b.dtb',
      '::/overlays/README',
    ])
      expect(files).toContain(f);
    expect(files.some((f) => /start.*\.elf|fixup|bootcode/i.test(f))).toBe(false);
    const config = await mtype(boot, 'config.txt');
    expect(config).toMatch(/^arm_64bit=1$/m);
    expect(config).toMatch(/^kernel=vmlinuz-rpi$/m);
    expect(config).toMatch(/^initramfs initramfs-rpi followkernel$/m);
    const cmdline = await mtype(boot, 'cmdline.txt');
    expect(cmdline.trim().split('\n')).toHaveLength(1);
    expect(cmdline).toMatch(/console=ttyAMA10,115200/);
    const dtb = await execa('mcopy', ['-i', boot, '::/bcm2712-rpi-5-b.dtb', join(dir, 'pi5.dtb')], MT).then(() => readFile(join(dir, 'pi5.dtb')));
    expect(dtb.readUInt32BE(0)).toBe(0xd00dfeed); // flattened device tree magic
  }, 300_000); // the first run also builds the arm64/riscv64 test feeds
});

describe('visionfive2', () => {
  it('puts the SPL in the 2E54B353 partition, the FIT in partition 2 and extlinux on a bootable FAT with the JH7110 trees', async () => {
    const img = join(dir, 'vf2.img');
    await buildFromTestFeed(await planFor('tinybox', 'visionfive2', img));
    const t = await readTable(img);
    expect(t.kind).toBe('gpt');
    expect(t.entries.map((e) => [e.name, e.type])).toEqual([
      ['spl', '2E54B353-1271-4842-806F-E436D6AF6985'],
      ['uboot', 'BC13C2FF-59E6-4262-A352-B275FD6F7172'],
      ['BOOT', 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7'],
    ]);
    expect(t.entries[2]!.attributes).toBe(4n); // legacy BIOS bootable: what U-Boot's distro boot scans
    const { stdout: v } = await execa('sgdisk', ['-v', img]);
    expect(v).toMatch(/No problems found/);
    // SPL and FIT are byte-identical to Debian's u-boot-starfive files, at the start of their partitions.
    const feed = await debianTestFeed('riscv64');
    const apk = join(
      feed.repoDir('main'),
      (await execa('ls', [feed.repoDir('main')])).stdout.split('\n').find((f) => f.startsWith('u-boot-starfive-'))!,
    );
    const unpacked = join(dir, 'uboot');
    await execa('mkdir', ['-p', unpacked]);
    await execa('tar', ['-xzf', apk, '-C', unpacked], { reject: false }); // three gzip members; tar reads them as one stream
    const imgBytes = await readFile(img);
    for (const [i, f] of [
      [0, 'u-boot-spl.bin.normal.out'],
      [1, 'u-boot.itb'],
    ] as const) {
      const want = await readFile(join(unpacked, 'usr/share/u-boot/starfive_visionfive2', f));
      const start = t.entries[i]!.startLba * 512;
      expect(
        createHash('sha256')
          .update(imgBytes.subarray(start, start + want.length))
          .digest('hex'),
      ).toBe(createHash('sha256').update(want).digest('hex'));
    }
    const boot = await extractPartition(img, t.entries[2]!, join(dir, 'vf2-boot.img'));
    await execa('fsck.vfat', ['-n', boot]);
    const files = await mlist(boot);
    for (const f of [
      '::/extlinux/extlinux.conf',
      '::/vmlinuz',
      '::/initramfs',
      '::/dtbs/starfive/jh7110-starfive-visionfive-2-v1.3b.dtb',
      '::/dtbs/starfive/jh7110-starfive-visionfive-2-v1.2a.dtb',
    ])
      expect(files).toContain(f);
    const ext = await mtype(boot, 'extlinux/extlinux.conf');
    expect(ext).toMatch(/^\tkernel \/vmlinuz$/m);
    expect(ext).toMatch(/^\tinitrd \/initramfs$/m);
    expect(ext).toMatch(/^\tfdtdir \/dtbs$/m);
    expect(ext).toMatch(/^\tappend console=ttyS0,115200/m);
  }, 300_000); // the first run also builds the arm64/riscv64 test feeds
});

describe('tinybox boots in QEMU on the other architectures', () => {
  it.each([
    ['qemu-riscv64', 'OpenSBI and U-Boot from extlinux.conf'],
    ['qemu-arm64', 'UEFI (AAVMF) and systemd-boot'],
  ])(
    '%s: through %s to the marker, then a console login runs the real dinit and BusyBox',
    async (board) => {
      const img = join(dir, `${board}.img`);
      const b = await buildFromTestFeed(await planFor('tinybox', board, img, TEST_USER), { bootTest: true, bootTestSession: consoleSession(FIRST_COMMANDS) });
      expect(b.result.bootTest?.reason).toBeUndefined();
      expect(b.result.bootTest?.passed).toBe(true);
      expect(await readFile(join(dir, `${board}.console.log`), 'utf8')).toMatch(new RegExp(`NEXUS-BOOT-OK box=tinybox board=${board}`));
      expect(commandOutput(b, 'mount').output).toMatch(/^devtmpfs on \/dev type devtmpfs/m);
      expect(commandOutput(b, 'ls /usr/sbin/dinit')).toMatchObject({ output: '/usr/sbin/dinit', status: 0 });
      expect(commandOutput(b, 'dinitctl list').output).toMatch(/^\[\{\+\}\s*\] getty-serial \(pid: \d+\)$/m);
      expect(commandOutput(b, 'id').output).toMatch(/^uid=0\(root\)/);
    },
    400_000,
  );
});
