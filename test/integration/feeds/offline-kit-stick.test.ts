/**
 * The kit on the stick: a GPT image (as the PC board's images are: an ESP holding the boot files) gets a NEXUS-KIT
 * FAT32 partition with the kit, its checksum and a README, written without any host program (the GPT and the FAT by
 * our own code). Checked with the real tools: sgdisk -v, the partition's name and type, fsck.vfat on the new
 * partition, the kit read back byte for byte with mtools, the image's own partition unchanged, and the same kit on
 * the same image giving the same bytes.
 */
import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageWithKit, KIT_PARTITION_LABEL, type KitOnImage } from '../../../src-main/engine/offline-kit/stick-partition';

const MiB = 1024 * 1024;
const env = { MTOOLS_SKIP_CHECK: '1' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('offline kit on the rescue stick (NEXUS-KIT partition)', () => {
  let dir: string;
  let image: string;
  let kit: string;
  let kitBytes: Buffer;
  let result: KitOnImage;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nexus-kit-stick-'));
    // A small stand-in for a built PC image: GPT, one 34 MiB FAT32 ESP with a "UKI" in it.
    image = join(dir, 'rescue.img');
    await writeFile(image, '');
    await truncate(image, 40 * MiB);
    await execa('sfdisk', ['-q', image], { input: 'label: gpt\nstart=2048, size=69632, type=U, name="ESP"\n' });
    await execa('mkfs.vfat', ['-F', '32', '-n', 'NEXUSESP', '--offset=2048', image, String(34 * 1024)]);
    await writeFile(join(dir, 'BOOTX64.EFI'), randomBytes(512 * 1024));
    await execa('mmd', ['-i', `${image}@@1M`, '::/EFI', '::/EFI/BOOT'], { env });
    await execa('mcopy', ['-i', `${image}@@1M`, join(dir, 'BOOTX64.EFI'), '::/EFI/BOOT/BOOTX64.EFI'], { env });
    kit = join(dir, 'nexus-kit-tinybox-rescue-pc-2026-12-03.tar');
    kitBytes = randomBytes(3 * MiB + 123);
    await writeFile(kit, kitBytes);
    await writeFile(`${kit}.sha256`, `${sha(kitBytes)}  ${kit.replace(/^.*\//, '')}\n`);
    result = await imageWithKit(image, kit, join(dir, 'rescue-with-kit.img'));
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("appends a FAT32 partition named NEXUS-KIT after the image's own; the GPT is valid", async () => {
    expect(result.partition.index).toBe(2);
    const { stdout: verify } = await execa('sgdisk', ['-v', result.image]);
    expect(verify).toMatch(/No problems found/);
    const { stdout: info } = await execa('sgdisk', ['-i', '2', result.image]);
    expect(info).toMatch(new RegExp(`Partition name: '${KIT_PARTITION_LABEL}'`));
    expect(info).toMatch(/EBD0A0A2-B9E5-4433-87C0-68B6B72699C7/); // Microsoft basic data: mounts on every OS
    const part = join(dir, 'kit-part.img');
    await execa('dd', [
      `if=${result.image}`,
      `of=${part}`,
      'bs=512',
      `skip=${result.partition.startSector}`,
      `count=${result.partition.sectors}`,
      'status=none',
    ]);
    await execa('fsck.vfat', ['-n', part]);
    expect((await execa('blkid', ['-o', 'value', '-s', 'LABEL', part])).stdout).toBe(KIT_PARTITION_LABEL);
  });

  it('holds the kit byte for byte, its checksum and a README', async () => {
    const at = `${result.image}@@${result.partition.startSector * 512}`;
    const { stdout: list } = await execa('mdir', ['-b', '-i', at, '::/'], { env });
    expect(list).toMatch(/README\.TXT/);
    await execa('mcopy', ['-i', at, `::/${kit.replace(/^.*\//, '')}`, join(dir, 'back.tar')], { env });
    expect(sha(await readFile(join(dir, 'back.tar')))).toBe(sha(kitBytes));
    await execa('mcopy', ['-i', at, `::/${kit.replace(/^.*\//, '')}.sha256`, join(dir, 'back.sha256')], { env });
    expect(await readFile(join(dir, 'back.sha256'), 'utf8')).toBe(await readFile(`${kit}.sha256`, 'utf8'));
  });

  it("refuses an MBR image (a Raspberry Pi's boot ROM cannot read the GPT sgdisk would make of it), leaving nothing behind", async () => {
    const mbr = join(dir, 'pi.img');
    await writeFile(mbr, '');
    await truncate(mbr, 40 * MiB);
    await execa('sfdisk', ['-q', mbr], { input: 'label: dos\nstart=2048, size=69632, type=c\n' });
    await expect(imageWithKit(mbr, kit, join(dir, 'pi-with-kit.img'))).rejects.toMatchObject({ code: 'KIT_NEEDS_GPT' });
    expect((await execa('ls', ['-a', dir])).stdout).not.toMatch(/pi-with-kit/);
  });

  it("leaves the image's own partition untouched, and writes the new image's checksum", async () => {
    const esp = (f: string) =>
      execa('dd', [`if=${f}`, 'bs=1M', 'skip=1', 'count=34', 'status=none'], { encoding: 'buffer' }).then((r) => sha(Buffer.from(r.stdout)));
    expect(await esp(result.image)).toBe(await esp(image));
    expect(await readFile(result.checksumFile, 'utf8')).toBe(`${sha(await readFile(result.image))}  rescue-with-kit.img\n`);
  });

  it('gives the same stick image for the same kit and image (partition GUID and volume id from the kit), with no host program on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const again = await imageWithKit(image, kit, join(dir, 'rescue-with-kit-again.img'));
      expect(again.sha256).toBe(result.sha256);
    } finally {
      process.env.PATH = path;
    }
    const { stdout } = await execa('sfdisk', ['--json', result.image]);
    const parts = (JSON.parse(stdout) as { partitiontable: { partitions: Array<{ uuid: string; name?: string }> } }).partitiontable.partitions;
    expect(parts.map((p) => p.name)).toEqual(['ESP', KIT_PARTITION_LABEL]);
    expect(parts[1]?.uuid).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  });
});
