/**
 * A second disk as a rescuer finds one, made with the real tools on the host: a 64 MiB GPT with an ext4 file system
 * whose inode bitmap was destroyed (e2fsck -n reports it: exit 4) and an NTFS volume holding a user's file (mkntfs +
 * ntfscp from the ntfs-3g apt package). For the rescue VM test.
 */
import { execa } from 'execa';
import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const MiB = 1024 * 1024;
export const hasNtfsTools = await execa('mkntfs', ['--version']).then(
  () => true,
  () => false,
);

export const EXT4_FILE = 'family photos index, keep forever';
export const NTFS_FILE = 'tax return 2025';
/** GPT layout of the damaged disk (sectors of 512 bytes). */
const EXT4_START = 2048;
const EXT4_SECTORS = (24 * MiB) / 512;
const NTFS_START = EXT4_START + EXT4_SECTORS + 2048;
const NTFS_SECTORS = (32 * MiB) / 512;

/** A 64 MiB GPT disk: partition 1 ext4 with a zeroed inode bitmap, partition 2 NTFS holding letter.txt. */
export async function damagedDisk(dir: string): Promise<string> {
  const files = join(dir, 'ext4-files');
  await mkdir(join(files, 'home'), { recursive: true });
  await writeFile(join(files, 'home', 'photos.txt'), `${EXT4_FILE}\n`);
  const ext4 = join(dir, 'ext4.img');
  await truncate(ext4, EXT4_SECTORS * 512).catch(async () => {
    await writeFile(ext4, '');
    await truncate(ext4, EXT4_SECTORS * 512);
  });
  await execa('mke2fs', ['-q', '-t', 'ext4', '-b', '4096', '-L', 'DAMAGED', '-d', files, ext4]);
  const { stdout } = await execa('dumpe2fs', [ext4]);
  const bitmap = Number(/Inode bitmap at (\d+)/.exec(stdout)![1]);
  await execa('dd', ['if=/dev/zero', `of=${ext4}`, 'bs=4096', `seek=${bitmap}`, 'count=1', 'conv=notrunc', 'status=none']);
  // The damage is real: a read-only check finds it.
  const check = await execa('e2fsck', ['-fn', ext4], { reject: false });
  if (check.exitCode !== 4) throw new Error(`the damaged ext4 checks as exit ${check.exitCode}, not 4 (uncorrected errors)`);

  const ntfs = join(dir, 'ntfs.img');
  await writeFile(ntfs, '');
  await truncate(ntfs, NTFS_SECTORS * 512);
  await execa('mkntfs', ['-F', '-Q', '-q', '-L', 'WINDOWS', '-p', String(NTFS_START), '-H', '255', '-S', '63', ntfs]);
  await writeFile(join(dir, 'letter.txt'), `${NTFS_FILE}\n`);
  await execa('ntfscp', [ntfs, join(dir, 'letter.txt'), '/letter.txt']);

  const disk = join(dir, 'damaged.img');
  await writeFile(disk, '');
  await truncate(disk, 64 * MiB);
  await execa('sfdisk', ['-q', disk], {
    input: `label: gpt\nstart=${EXT4_START}, size=${EXT4_SECTORS}, type=L, name="data"\nstart=${NTFS_START}, size=${NTFS_SECTORS}, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="windows"\n`,
  });
  for (const [part, start] of [
    [ext4, EXT4_START],
    [ntfs, NTFS_START],
  ] as const) {
    await execa('dd', [`if=${part}`, `of=${disk}`, 'bs=512', `seek=${start}`, 'conv=notrunc,sparse', 'status=none']);
  }
  return disk;
}
