/**
 * Tool versions in manifest.json: parsed from each stream separately, on the outputs the tools really print
 * (recorded from Debian bookworm's dosfstools 4.2, erofs-utils 1.5, f2fs-tools 1.15, cryptsetup 2.6.1,
 * e2fsprogs 1.47, mtools 4.0.32, binutils 2.40) and on whatever versions are installed here.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { whichTool } from '../../../src-main/engine/host-tools';
import { parseToolVersion, toolVersion, VERSION_QUERIES } from '../../../src-main/engine/image/tools/run';

const MKFS_FAT_USAGE = `Usage: mkfs.vfat [OPTIONS] TARGET [BLOCKS]
Create FAT filesystem in TARGET, which can be a block device or file. Use only
up to BLOCKS 1024 byte blocks if specified. With the -C option, file TARGET will be
created with a size of 1024 bytes times BLOCKS, which must be specified.
`;

/** [tool, stdout, stderr, expected line] as the tools print them. */
const RECORDED: Array<[string, string, string, string]> = [
  ['mkfs.vfat', 'mkfs.fat 4.2 (2021-01-31)\n', MKFS_FAT_USAGE, 'mkfs.fat 4.2 (2021-01-31)'],
  [
    'mkfs.erofs',
    'mkfs.erofs 1.5\n',
    "mkfs.erofs: invalid option -- 'V'\nusage: [options] FILE DIRECTORY\n\n -d#                   set output message level to # (maximum 9)\n",
    'mkfs.erofs 1.5',
  ],
  ['mkfs.erofs', 'mkfs.erofs (erofs-utils) 1.7.1\n', '', 'mkfs.erofs (erofs-utils) 1.7.1'],
  ['mkfs.f2fs', 'mkfs.f2fs 1.15.0 (2022-05-13)\n', '', 'mkfs.f2fs 1.15.0 (2022-05-13)'],
  ['veritysetup', 'veritysetup 2.6.1 flags: UDEV BLKID KEYRING KERNEL_CAPI \n', '', 'veritysetup 2.6.1 flags: UDEV BLKID KEYRING KERNEL_CAPI'],
  ['mke2fs', '', 'mke2fs 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS Library version 1.47.0\n', 'mke2fs 1.47.0 (5-Feb-2023)'],
  ['mcopy', 'mcopy (GNU mtools) 4.0.32\nconfigured with the following options: enable-xdf disable-vold\n', '', 'mcopy (GNU mtools) 4.0.32'],
  [
    'objcopy',
    'GNU objcopy (GNU Binutils for Debian) 2.40\nCopyright (C) 2023 Free Software Foundation, Inc.\n',
    '',
    'GNU objcopy (GNU Binutils for Debian) 2.40',
  ],
];

describe('tool version lines', () => {
  it.each(RECORDED)('%s: %j', (tool, stdout, stderr, line) => {
    expect(parseToolVersion(VERSION_QUERIES[tool]!.names, stdout, stderr)?.line).toBe(line);
  });

  it('mkfs.fat: the usage text is never taken for the version, whichever stream comes first', () => {
    // The old parser took the first line with a digit from the interleaved streams: with stderr first, that was
    // "up to BLOCKS 1024 byte blocks if specified. …".
    const names = VERSION_QUERIES['mkfs.vfat']!.names;
    expect(parseToolVersion(names, MKFS_FAT_USAGE + 'mkfs.fat 4.2 (2021-01-31)\n')?.version).toBe('4.2');
    expect(parseToolVersion(names, MKFS_FAT_USAGE)).toBeNull();
    expect(parseToolVersion(names, '', MKFS_FAT_USAGE, 'mkfs.fat 4.2 (2021-01-31)')?.line).toBe('mkfs.fat 4.2 (2021-01-31)');
  });

  it.each(Object.keys(VERSION_QUERIES))('%s: the installed tool’s real output gives its version line', async (tool) => {
    const bin = await whichTool(tool);
    if (!bin) return; // not installed on this host: nothing to compare
    const q = VERSION_QUERIES[tool]!;
    const r = await execa(bin, q.args, { env: { LC_ALL: 'C' }, reject: false, stdin: 'ignore' });
    const parsed = parseToolVersion(q.names, String(r.stdout), String(r.stderr));
    expect(parsed, `${tool} ${q.args.join(' ')} printed:\n${String(r.stdout)}\n${String(r.stderr)}`).not.toBeNull();
    expect(parsed!.version).toMatch(/^\d+(\.\d+)+/);
    // Asked again (cached per binary), through the function pack.ts uses: the same line, ten times over.
    const lines = await Promise.all(Array.from({ length: 10 }, () => toolVersion(tool)));
    expect(new Set(lines)).toEqual(new Set([parsed!.line]));
  });
});
