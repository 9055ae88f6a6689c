/**
 * The in-process FAT writer (src-main/engine/image/fat/) checked by the real tools: fsck.vfat -n finds nothing on
 * FAT16 and FAT32 volumes of several sizes (the boards' real boot partition sizes among them), mtools lists and
 * copies out exactly the files and bytes written with their long names, minfo and file -s read the label and
 * volume id, the empty volume is mkfs.fat 4.2's byte for byte (but the label entry's date), two runs are
 * bit-identical, a file over 64 MiB streams in, and bad input gets a clear NexusError.
 */
import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fatGeometry } from '../../../src-main/engine/image/fat/geometry';
import { writeFat, type FatInput } from '../../../src-main/engine/image/fat/writer';
import { makeVfat } from '../../../src-main/engine/image/tools/vfat';

const MiB = 1024 * 1024;
const EPOCH = 1_700_000_000; // 2023-11-14 22:13:20 UTC
const env = { MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };
let dir: string;

const boardMiB = async (board: string) =>
  Number(/partitionMiB: (\d+)/.exec(await readFile(join(__dirname, '../../../profiles/boards', `${board}.yaml`), 'utf8'))![1]);

/** Real names of Raspberry Pi overlays (the firmware repository's boot/overlays/): many share their first six characters. */
const OVERLAYS = `3dlab-nano-player.dtbo README act-led.dtbo adafruit-st7735r.dtbo adafruit18.dtbo adau1977-adc.dtbo
adau7002-simple.dtbo ads1015.dtbo ads1115.dtbo ads7846.dtbo adv7282m.dtbo adv728x-m.dtbo akkordion-iqdacplus.dtbo
allo-boss-dac-pcm512x-audio.dtbo allo-boss2-dac-audio.dtbo allo-digione.dtbo allo-katana-dac-audio.dtbo
allo-piano-dac-pcm512x-audio.dtbo allo-piano-dac-plus-pcm512x-audio.dtbo anyspi.dtbo apds9960.dtbo applepi-dac.dtbo
arducam-64mp.dtbo arducam-pivariety.dtbo at86rf233.dtbo audioinjector-addons.dtbo audioinjector-bare-i2s.dtbo
audioinjector-isolated-soundcard.dtbo audioinjector-ultra.dtbo audioinjector-wm8731-audio.dtbo audiosense-pi.dtbo
audremap.dtbo balena-fin.dtbo bcm2712d0.dtbo bmp085_i2c-sensor.dtbo camera-mux-2port.dtbo camera-mux-4port.dtbo
cma.dtbo disable-bt-pi5.dtbo disable-bt.dtbo disable-emmc2.dtbo disable-wifi-pi5.dtbo dpi18.dtbo dpi24.dtbo
dwc-otg.dtbo dwc2-pi5.dtbo dwc2.dtbo gpio-charger.dtbo gpio-fan.dtbo gpio-hog.dtbo gpio-ir-tx.dtbo gpio-ir.dtbo
gpio-key.dtbo gpio-led.dtbo gpio-no-bank0-irq.dtbo gpio-no-irq.dtbo gpio-poweroff.dtbo gpio-shutdown.dtbo hat_map.dtb
overlay_map.dtb vc4-kms-v3d-pi5.dtbo vc4-kms-v3d.dtbo vc4-kms-dsi-7inch.dtbo`.split(/\s+/);

/** The Raspberry Pi 5 boot partition's files (profiles/boards/rpi5.yaml), with stand-in bytes. */
function rpi5Files(kernelMiB = 9): FatInput[] {
  return [
    { dest: 'config.txt', data: Buffer.from('arm_64bit=1\nkernel=vmlinuz-rpi\ninitramfs initramfs-rpi followkernel\n') },
    { dest: 'cmdline.txt', data: Buffer.from('console=ttyAMA10,115200 root=PARTLABEL=root rootwait\n') },
    { dest: 'vmlinuz-rpi', data: randomBytes(kernelMiB * MiB + 123) },
    { dest: 'initramfs-rpi', data: randomBytes(3 * MiB + 7) },
    { dest: 'bcm2712-rpi-5-b.dtb', data: randomBytes(78_301) },
    { dest: 'bcm2712d0-rpi-5-b.dtb', data: randomBytes(78_190) },
    ...OVERLAYS.map((n, i) => ({ dest: `overlays/${n}`, data: randomBytes(700 + i * 37) })),
  ];
}

/** systemd-boot on the arm64 VM (profiles/boards/qemu-arm64.yaml). */
function systemdBootFiles(): FatInput[] {
  return [
    { dest: 'EFI/BOOT/BOOTAA64.EFI', data: randomBytes(140_288) },
    { dest: 'loader/loader.conf', data: Buffer.from('timeout 0\ndefault nexus.conf\n') },
    { dest: 'loader/entries/nexus.conf', data: Buffer.from('title Nexus tinybox\nlinux /vmlinuz\ninitrd /initramfs\noptions console=ttyAMA0\n') },
    { dest: 'vmlinuz', data: randomBytes(10 * MiB) },
    { dest: 'initramfs', data: randomBytes(2 * MiB + 1) },
  ];
}

async function fsckClean(img: string): Promise<void> {
  const r = await execa('fsck.vfat', ['-n', img], { reject: false });
  expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
  // fsck.fat -n prints what it would change before the summary line; a clean volume has only the banner and summary.
  expect(r.stdout.trim().split('\n'), r.stdout).toHaveLength(2);
}

/** Every file mtools sees, copied out with its long name: path → sha256. */
async function filesOnVolume(img: string): Promise<Map<string, string>> {
  const out = await mkdtemp(join(dir, 'out-'));
  await execa('mcopy', ['-s', '-n', '-m', '-i', img, '::/*', out], { env });
  const found = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else
        found.set(
          relative(out, p),
          createHash('sha256')
            .update(await readFile(p))
            .digest('hex'),
        );
    }
  };
  await walk(out);
  await rm(out, { recursive: true, force: true });
  return found;
}

const expected = (files: FatInput[]) =>
  new Map(
    files.map((f) => [
      f.dest,
      createHash('sha256')
        .update('data' in f ? f.data : Buffer.alloc(0))
        .digest('hex'),
    ]),
  );
async function head(path: string, bytes: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(bytes);
    await fh.read(b, 0, bytes, 0);
    return b;
  } finally {
    await fh.close();
  }
}
const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-fat-writer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('in-process FAT writer', () => {
  it('makes the empty volume mkfs.fat 4.2 makes, FAT16 and FAT32, at several sizes (boot sector, FSInfo, backup, FATs, root)', async () => {
    const sizes: Array<[number, 'fat16' | 'fat32']> = [
      [16, 'fat16'],
      [64, 'fat16'],
      [300, 'fat16'],
      [40, 'fat32'],
      [await boardMiB('qemu-x86_64'), 'fat32'],
      [await boardMiB('pc'), 'fat32'],
      [await boardMiB('rpi5'), 'fat32'],
      [300, 'fat32'], // over 260 MiB: 4 KiB clusters, 63-sector tracks
    ];
    for (const [mib, fat] of sizes) {
      const ours = join(dir, `empty-${fat}-${mib}.img`);
      const tool = join(dir, `empty-${fat}-${mib}-mkfs.img`);
      await writeFat(ours, [], { sizeBytes: mib * MiB, fat, label: 'NEXUSESP', volumeId: '5eed0042', epoch: EPOCH });
      await execa('mkfs.vfat', ['-C', '-F', fat === 'fat32' ? '32' : '16', '-n', 'NEXUSESP', '--invariant', '-i', '5eed0042', tool, String(mib * 1024)]);
      const g = fatGeometry(mib * MiB, fat);
      const meta = (g.dataStart + (fat === 'fat32' ? g.sectorsPerCluster : 0)) * 512;
      const a = await head(ours, meta);
      const b = await head(tool, meta);
      // mkfs.fat --invariant dates the label entry 2015-03-14; ours carries the build's epoch like every entry.
      const labelAt = (g.dataStart - (fat === 'fat32' ? 0 : (g.rootEntries * 32) / 512)) * 512;
      for (const [from, to] of [
        [14, 20],
        [22, 26],
      ] as const)
        a.copy(b, labelAt + from, labelAt + from, labelAt + to);
      expect(a.equals(b), `${fat} ${mib} MiB`).toBe(true);
      expect((await stat(ours)).size).toBe((await stat(tool)).size);
      await fsckClean(ours);
      await rm(tool);
    }
  });

  it('writes the Raspberry Pi 5 boot partition (256 MiB FAT32, 63 real overlay names) that fsck, mdir and mcopy read exactly', async () => {
    const files = rpi5Files();
    const img = join(dir, 'rpi5.vfat');
    const r = await writeFat(img, files, { sizeBytes: (await boardMiB('rpi5')) * MiB, fat: 'fat32', label: 'NEXUSBOOT', volumeId: 'c0ffee01', epoch: EPOCH });
    await fsckClean(img);
    expect(await filesOnVolume(img)).toEqual(expected(files));
    const listing = (await execa('mdir', ['-/', '-i', img, '::/'], { env })).stdout;
    // Short names with numeric tails, long names next to them, every date the epoch's.
    expect(listing).toMatch(/^BCM271~1 DTB\s+78301 2023-11-14\s+22:13\s+bcm2712-rpi-5-b\.dtb$/m);
    expect(listing).toMatch(/^BCM271~2 DTB\s+78190 2023-11-14\s+22:13\s+bcm2712d0-rpi-5-b\.dtb$/m);
    expect(listing).toMatch(/^CONFIG\s+TXT\s+\d+ 2023-11-14\s+22:13\s+config\.txt$/m);
    expect(listing).toMatch(/^AUDIOI~5 DTB\s+1773 2023-11-14\s+22:13\s+audioinjector-wm8731-audio\.dtbo$/m);
    expect(listing).toMatch(/^README\s+\d+ 2023-11-14/m); // already a valid 8.3 name: no long name
    const dates = [...listing.matchAll(/(\d{4}-\d\d-\d\d)\s+(\d\d:\d\d)/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(new Set(dates)).toEqual(new Set(['2023-11-14 22:13']));
    // Contiguous files: the volume's used part ends where the allocation ended.
    expect(r.usedBytes).toBeLessThan(20 * MiB);
    const minfo = (await execa('minfo', ['-i', img, '::'], { env })).stdout;
    expect(minfo).toMatch(/serial number: C0FFEE01/i);
    expect(minfo).toMatch(/disk\s+label="NEXUSBOOT\s*"/);
    const file = (await execa('file', ['-s', img])).stdout;
    expect(file).toMatch(/FAT \(32 bit\)/);
    expect(file).toMatch(/serial number 0xc0ffee01/);
    expect(file).toMatch(/label: "NEXUSBOOT\s*"/);
  });

  it('holds the same files as the mkfs.vfat + mmd + mcopy path (systemd-boot ESP, FAT32 64 MiB and FAT16 32 MiB)', async () => {
    const files = systemdBootFiles() as Array<{ dest: string; data: Uint8Array }>;
    for (const [fat, mib] of [
      ['fat32', await boardMiB('qemu-arm64')],
      ['fat16', 32],
    ] as const) {
      const ours = join(dir, `sd-${fat}.vfat`);
      const tool = join(dir, `sd-${fat}-tool.vfat`);
      await writeFat(ours, files, { sizeBytes: mib * MiB, fat, label: 'NEXUSESP', volumeId: '0badcafe', epoch: EPOCH });
      await makeVfat(tool, files, {
        sizeBytes: mib * MiB,
        fat,
        label: 'NEXUSESP',
        volumeId: '0badcafe',
        epoch: EPOCH,
        scratch: await mkdtemp(join(dir, 'scratch-')),
      });
      await fsckClean(ours);
      const mine = await filesOnVolume(ours);
      expect(mine).toEqual(expected(files));
      expect(mine).toEqual(await filesOnVolume(tool));
      // The boot sectors agree too (same geometry, label and id).
      expect((await readFile(ours)).subarray(0, 512).equals((await readFile(tool)).subarray(0, 512))).toBe(true);
    }
  });

  it('is reproducible: two runs, and the files given in another order, are bit-identical', async () => {
    const files = [...rpi5Files(2), ...systemdBootFiles()];
    const o = { sizeBytes: 128 * MiB, fat: 'fat32' as const, label: 'NEXUSESP', volumeId: '12345678', epoch: EPOCH };
    await writeFat(join(dir, 'r1.vfat'), files, o);
    await writeFat(join(dir, 'r2.vfat'), [...files].reverse(), o);
    expect(await sha(join(dir, 'r1.vfat'))).toBe(await sha(join(dir, 'r2.vfat')));
    await writeFat(join(dir, 'r3.vfat'), files, { ...o, epoch: EPOCH + 86400 });
    expect(await sha(join(dir, 'r3.vfat'))).not.toBe(await sha(join(dir, 'r1.vfat')));
  });

  it('streams a file over 64 MiB from disk into the 128 MiB ESP, and writes a volume in place inside a disk image', async () => {
    const big = join(dir, 'BOOTX64.EFI');
    const data = randomBytes(80 * MiB + 511);
    await writeFile(big, data);
    const img = join(dir, 'esp-big.vfat');
    await writeFat(img, [{ dest: 'EFI/BOOT/BOOTX64.EFI', sourcePath: big }], {
      sizeBytes: (await boardMiB('pc')) * MiB,
      fat: 'fat32',
      label: 'NEXUSESP',
      volumeId: 'abcdef01',
      epoch: EPOCH,
    });
    await fsckClean(img);
    expect(await filesOnVolume(img)).toEqual(new Map([['EFI/BOOT/BOOTX64.EFI', createHash('sha256').update(data).digest('hex')]]));

    // In place: a 48 MiB FAT32 volume at 1 MiB inside a 50 MiB disk whose bytes are not zero.
    const disk = join(dir, 'disk.img');
    await writeFile(disk, Buffer.alloc(50 * MiB, 0xa5));
    await writeFat(disk, [{ dest: 'README.TXT', data: Buffer.from('kit\n') }], {
      sizeBytes: 48 * MiB,
      fat: 'fat32',
      label: 'NEXUS-KIT',
      volumeId: '00c0ffee',
      epoch: EPOCH,
      offset: MiB,
    });
    const at = `${disk}@@${MiB}`;
    const out = await execa('mtype', ['-i', at, '::/README.TXT'], { env });
    expect(out.stdout).toBe('kit');
    expect((await readFile(disk)).subarray(0, 16).equals(Buffer.alloc(16, 0xa5))).toBe(true);
    const part = join(dir, 'kit-part.vfat');
    await writeFile(part, (await readFile(disk)).subarray(MiB, 49 * MiB));
    await fsckClean(part);
  });

  it('refuses bad input with clear errors', async () => {
    const o = { sizeBytes: 64 * MiB, fat: 'fat32' as const, label: 'NEXUSESP', volumeId: '12345678', epoch: EPOCH };
    const img = join(dir, 'bad.vfat');
    await expect(writeFat(img, [{ dest: `${'a'.repeat(256)}.txt`, data: Buffer.from('x') }], o)).rejects.toMatchObject({
      code: 'FAT_BAD_NAME',
      message: expect.stringMatching(/260 characters \(at most 255\)/),
    });
    await expect(writeFat(img, [{ dest: 'EFI/BOOT/bad:name.efi', data: Buffer.from('x') }], o)).rejects.toMatchObject({ code: 'FAT_BAD_NAME' });
    await expect(writeFat(img, [{ dest: 'vmlinuz', data: randomBytes(70 * MiB) }], o)).rejects.toMatchObject({
      code: 'FAT_VOLUME_FULL',
      message: expect.stringMatching(/need 7\d\.\d MiB .* the 64\.0 MiB volume has 6\d\.\d MiB/),
    });
    for (const label of ['NEXUS.ESP', 'nexusesp', 'NEXUS-BOOT-PARTITION', ' NEXUS'])
      await expect(writeFat(img, [], { ...o, label }), label).rejects.toMatchObject({ code: 'FAT_BAD_LABEL', message: expect.stringContaining(label) });
    await expect(writeFat(img, [], { ...o, sizeBytes: 20 * MiB })).rejects.toMatchObject({
      code: 'FAT_VOLUME_TOO_SMALL',
      hint: expect.stringMatching(/33 MiB/),
    });
    await expect(writeFat(img, [], { ...o, volumeId: 'xyz' })).rejects.toMatchObject({ code: 'FAT_BAD_VOLUME_ID' });
    await expect(
      writeFat(
        img,
        [
          { dest: 'EFI/BOOT/BOOTX64.EFI', data: Buffer.from('a') },
          { dest: 'efi/boot/bootx64.efi', data: Buffer.from('b') },
        ],
        o,
      ),
    ).rejects.toMatchObject({ code: 'FAT_DUPLICATE_NAME' });
    const many = Array.from({ length: 300 }, (_, i) => ({ dest: `overlay-number-${i}.dtbo`, data: Buffer.from('x') }));
    await expect(writeFat(img, many, { ...o, fat: 'fat16' })).rejects.toMatchObject({
      code: 'FAT_DIRECTORY_FULL',
      message: expect.stringMatching(/512 entries/),
    });
    // The same 300 long names fit a FAT16 subdirectory, and fsck accepts the ~1 … ~300 tails.
    await writeFat(
      img,
      many.map((f) => ({ ...f, dest: `overlays/${f.dest}` })),
      { ...o, fat: 'fat16' },
    );
    await fsckClean(img);
    expect((await filesOnVolume(img)).size).toBe(300);
  });
});
